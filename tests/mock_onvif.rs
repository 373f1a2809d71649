//! The mock camera's ONVIF side, driven with camlink's pure SOAP core over a raw HTTP/1.1
//! connection (so these tests do not depend on the ONVIF client), and parsed with camlink's
//! typed parsers: the values are checked, and so are authentication and faults.

use std::time::Duration;

use camlink::ErrorKind;
use camlink::auth::{Credentials, HttpAuth, PasswordType, UsernameToken};
use camlink::mock::{AuthScheme, Fault, MockCamera};
use camlink::onvif::{Call, device, events, imaging, media, media2, ptz, soap};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// One HTTP/1.1 exchange on a new connection.
async fn http(url: &str, method: &str, headers: &[(&str, String)], body: &[u8]) -> Answer {
    let u = url::Url::parse(url).unwrap();
    let addr = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        u.path(),
        u.host_str().unwrap(),
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("mock answered in time")
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Posts a call with a UsernameToken made at `created` (camera time) and parses the answer.
async fn soap_call(
    url: &str,
    call: &Call,
    creds: Option<(&Credentials, i64)>,
) -> camlink::Result<camlink::onvif::xml::Element> {
    let token = creds.map(|(c, t)| UsernameToken::generate(c, t, PasswordType::Digest));
    let envelope = soap::build_request(&call.body, token.as_ref(), None);
    let a = http(
        url,
        "POST",
        &[("Content-Type", soap::content_type(&call.action))],
        envelope.as_bytes(),
    )
    .await;
    soap::parse_http_response(a.status, &a.body)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn device_media_and_auth() {
    let cam = MockCamera::builder()
        .credentials("admin", "Pa55:w@rd")
        .start()
        .await
        .unwrap();
    let url = cam.device_service_url();
    let creds = Credentials::new("admin", "Pa55:w@rd");

    // GetSystemDateAndTime needs no credentials.
    let el = soap_call(&url, &device::get_system_date_and_time(), None)
        .await
        .unwrap();
    let t = device::parse_system_date_and_time(&el).unwrap();
    assert!(t.utc_unix.unwrap().abs_diff(now()) <= 2, "{t:?}");

    // Everything else does.
    let err = soap_call(&url, &device::get_device_information(), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");
    let wrong = Credentials::new("admin", "wrong");
    let err = soap_call(
        &url,
        &device::get_device_information(),
        Some((&wrong, now())),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");

    let el = soap_call(
        &url,
        &device::get_device_information(),
        Some((&creds, now())),
    )
    .await
    .unwrap();
    let info = device::parse_device_information(&el).unwrap();
    assert_eq!(info.manufacturer, "camlink");
    assert_eq!(info.model, "MockCam 1");

    let el = soap_call(&url, &device::get_services(true), Some((&creds, now())))
        .await
        .unwrap();
    let services = device::parse_services(&el).unwrap();
    assert_eq!(services.len(), 6);
    let http_port = cam.ports().http;
    assert!(
        services
            .iter()
            .all(|s| s.xaddr.contains(&format!("127.0.0.1:{http_port}")))
    );

    let el = soap_call(
        &url,
        &device::get_network_protocols(),
        Some((&creds, now())),
    )
    .await
    .unwrap();
    let protos = device::parse_network_protocols(&el).unwrap();
    assert_eq!(
        device::protocol_port(&protos, "RTSP"),
        Some(cam.ports().rtsp)
    );

    let el = soap_call(&url, &media::get_profiles(), Some((&creds, now())))
        .await
        .unwrap();
    let profiles = media::parse_profiles(&el).unwrap();
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[0].token, "main");
    let call = media::get_stream_uri("sub", media::StreamTransport::RtspTcp);
    let el = soap_call(&url, &call, Some((&creds, now()))).await.unwrap();
    let uri = media::parse_stream_uri(&el).unwrap();
    assert_eq!(uri.uri, cam.rtsp_url("sub"));

    let el = soap_call(&url, &media2::get_profiles(), Some((&creds, now())))
        .await
        .unwrap();
    let p2 = media2::parse_profiles(&el).unwrap();
    assert_eq!(p2.len(), 2);

    // A replayed nonce is refused.
    let token = UsernameToken::generate(&creds, now(), PasswordType::Digest);
    let env = soap::build_request(&device::get_hostname().body, Some(&token), None);
    let ct = soap::content_type(&device::get_hostname().action);
    let first = http(
        &url,
        "POST",
        &[("Content-Type", ct.clone())],
        env.as_bytes(),
    )
    .await;
    assert_eq!(first.status, 200);
    let again = http(&url, "POST", &[("Content-Type", ct)], env.as_bytes()).await;
    assert_eq!(
        soap::parse_http_response(again.status, &again.body)
            .unwrap_err()
            .kind(),
        &ErrorKind::Unauthorized
    );
    cam.shutdown().await;
}

#[tokio::test]
async fn clock_skew_is_reported_as_such() {
    let cam = MockCamera::builder()
        .credentials("admin", "admin")
        .clock_offset(7200)
        .start()
        .await
        .unwrap();
    let url = cam.device_service_url();
    let creds = Credentials::new("admin", "admin");
    let err = soap_call(
        &url,
        &device::get_device_information(),
        Some((&creds, now())),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ClockSkew, "{err}");
    // With the camera's time (read unauthenticated), the same call works.
    let el = soap_call(&url, &device::get_system_date_and_time(), None)
        .await
        .unwrap();
    let camera_time = device::parse_system_date_and_time(&el)
        .unwrap()
        .utc_unix
        .unwrap();
    assert!((camera_time - now() - 7200).abs() <= 2);
    soap_call(
        &url,
        &device::get_device_information(),
        Some((&creds, camera_time)),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn http_digest_only_camera() {
    let cam = MockCamera::builder()
        .credentials("admin", "secret")
        .auth_schemes(&[AuthScheme::DigestMd5])
        .start()
        .await
        .unwrap();
    let url = cam.device_service_url();
    let call = device::get_device_information();
    let env = soap::build_request(&call.body, None, None);
    let ct = soap::content_type(&call.action);
    let first = http(
        &url,
        "POST",
        &[("Content-Type", ct.clone())],
        env.as_bytes(),
    )
    .await;
    assert_eq!(first.status, 401);
    let mut auth = HttpAuth::new(Some(Credentials::new("admin", "secret")));
    auth.on_unauthorized(first.header("WWW-Authenticate"))
        .unwrap();
    let h = auth
        .authorization("POST", "/onvif/device_service", env.as_bytes())
        .unwrap();
    let ok = http(
        &url,
        "POST",
        &[("Content-Type", ct.clone()), ("Authorization", h)],
        env.as_bytes(),
    )
    .await;
    let el = soap::parse_http_response(ok.status, &ok.body).unwrap();
    assert_eq!(
        device::parse_device_information(&el).unwrap().model,
        "MockCam 1"
    );
    // A UsernameToken is not accepted by this camera.
    let creds = Credentials::new("admin", "secret");
    let e = soap_call(&url, &call, Some((&creds, now())))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unauthorized);
}

#[tokio::test]
async fn ptz_moves_presets_and_imaging() {
    let cam = MockCamera::builder().no_auth().start().await.unwrap();
    let url = cam
        .device_service_url()
        .replace("device_service", "ptz_service");
    let v = ptz::PtzVector {
        pan_tilt: Some((0.5, 0.0)),
        zoom: None,
    };
    let call = ptz::continuous_move("main", v, Some(Duration::from_millis(400)));
    soap_call(&url, &call, None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let el = soap_call(&url, &ptz::get_status("main"), None)
        .await
        .unwrap();
    let st = ptz::parse_status(&el).unwrap();
    let (pan, _) = st.position.and_then(|p| p.pan_tilt).unwrap();
    assert!((pan - 0.2).abs() < 0.03, "pan {pan}");
    assert!((cam.ptz_position().0 - pan).abs() < 1e-3);

    let el = soap_call(&url, &ptz::set_preset("main", Some("door"), None), None)
        .await
        .unwrap();
    let token = ptz::parse_set_preset(&el).unwrap();
    soap_call(&url, &ptz::goto_home_position("main", None), None)
        .await
        .unwrap();
    assert_eq!(cam.ptz_position(), (0.0, 0.0, 0.0));
    soap_call(&url, &ptz::goto_preset("main", &token, None), None)
        .await
        .unwrap();
    assert!((cam.ptz_position().0 - pan).abs() < 1e-3);
    let el = soap_call(&url, &ptz::get_presets("main"), None)
        .await
        .unwrap();
    assert_eq!(ptz::parse_presets(&el).unwrap().len(), 1);
    let e = soap_call(&url, &ptz::get_status("nope"), None)
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::SoapFault { .. }), "{e}");

    let img = cam
        .device_service_url()
        .replace("device_service", "imaging_service");
    let el = soap_call(&img, &imaging::get_imaging_settings("VideoSource_1"), None)
        .await
        .unwrap();
    let s = imaging::parse_imaging_settings(&el).unwrap();
    assert_eq!(s.brightness, Some(50.0));
}

#[tokio::test]
async fn events_pull_point_receives_motion_and_dies_on_reboot() {
    let cam = MockCamera::builder().no_auth().start().await.unwrap();
    let url = cam
        .device_service_url()
        .replace("device_service", "events_service");
    let el = soap_call(
        &url,
        &events::create_pull_point_subscription(Duration::from_secs(30)),
        None,
    )
    .await
    .unwrap();
    let sub = events::parse_create_pull_point_subscription(&el).unwrap();
    let addr = sub.address.clone();
    cam.trigger_motion(true);
    let el = soap_call(
        &addr,
        &events::pull_messages(Duration::from_secs(2), 10),
        None,
    )
    .await
    .unwrap();
    let pulled = events::parse_pull_messages(&el).unwrap();
    // The subscription starts with the current state (Initialized, no motion), then the change.
    assert_eq!(pulled.messages.len(), 2, "{:?}", pulled.messages);
    let init = &pulled.messages[0];
    assert_eq!(
        init.property_operation,
        Some(events::PropertyOperation::Initialized)
    );
    assert!(
        init.data
            .iter()
            .any(|(k, v)| k == "IsMotion" && v == "false"),
        "{init:?}"
    );
    let n = &pulled.messages[1];
    assert_eq!(
        n.property_operation,
        Some(events::PropertyOperation::Changed)
    );
    assert!(
        n.topic.ends_with("CellMotionDetector/Motion"),
        "{}",
        n.topic
    );
    assert!(
        n.data.iter().any(|(k, v)| k == "IsMotion" && v == "true"),
        "{n:?}"
    );

    // A pull that waits is woken by the event.
    let waiter = tokio::spawn({
        let addr = addr.clone();
        async move {
            soap_call(
                &addr,
                &events::pull_messages(Duration::from_secs(5), 10),
                None,
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    cam.trigger_motion(false);
    let el = tokio::time::timeout(Duration::from_secs(3), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(events::parse_pull_messages(&el).unwrap().messages.len(), 1);

    cam.reboot(Duration::from_millis(300)).await;
    let e = soap_call(
        &addr,
        &events::pull_messages(Duration::from_secs(1), 10),
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::SoapFault { .. }), "{e}");
}

#[tokio::test]
async fn faults_and_fixture_replay() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/cameras/replay_device_info"
    );
    let cam = MockCamera::builder()
        .no_auth()
        .fixture(dir)
        .unwrap()
        .start()
        .await
        .unwrap();
    let url = cam.device_service_url();
    let call = device::get_device_information();
    let env = soap::build_request(&call.body, None, None);
    let a = http(
        &url,
        "POST",
        &[("Content-Type", soap::content_type(&call.action))],
        env.as_bytes(),
    )
    .await;
    let expected = std::fs::read(format!("{dir}/onvif/device/GetDeviceInformation.xml")).unwrap();
    assert_eq!(
        a.body, expected,
        "the replayed answer is the fixture's bytes"
    );

    cam.set_fault(Fault::SoapFault {
        operation: "GetProfiles".into(),
    });
    let e = soap_call(&url, &media::get_profiles(), None)
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::SoapFault { .. }), "{e}");
    cam.clear_faults();
    soap_call(&url, &media::get_profiles(), None).await.unwrap();
}

#[tokio::test]
async fn snapshot_is_a_jpeg_behind_digest() {
    let cam = MockCamera::builder()
        .credentials("admin", "pw")
        .start()
        .await
        .unwrap();
    let url = cam.snapshot_url("main");
    let first = http(&url, "GET", &[], b"").await;
    assert_eq!(first.status, 401);
    let mut auth = HttpAuth::new(Some(Credentials::new("admin", "pw")));
    auth.on_unauthorized(first.header("WWW-Authenticate"))
        .unwrap();
    let path = url::Url::parse(&url).unwrap().path().to_string();
    let h = auth.authorization("GET", &path, b"").unwrap();
    let ok = http(&url, "GET", &[("Authorization", h)], b"").await;
    assert_eq!(ok.status, 200);
    assert_eq!(&ok.body[..2], &[0xff, 0xd8]);
    assert_eq!(ok.header("Content-Type"), vec!["image/jpeg"]);
}
