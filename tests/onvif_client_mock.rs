//! The ONVIF client against the mock camera: the whole walk a VMS does (clock, identity,
//! services, profiles, stream and snapshot URIs, snapshot, PTZ, events), and the camera quirks
//! the mock reproduces from its fixtures (clock two hours ahead, digest only, internal address
//! behind NAT), wrong credentials, and HTTPS with a pinned certificate.

use std::time::Duration;

use camlink::ErrorKind;
use camlink::auth::Credentials;
use camlink::mock::MockCamera;
use camlink::onvif::client::{OnvifClient, OnvifOptions};
use camlink::onvif::media::{StreamTransport, VideoEncoding};
use camlink::onvif::ptz::PtzVector;
use camlink::onvif::tls::{TlsPolicy, parse_fingerprint};

fn fixture(name: &str) -> String {
    format!("{}/fixtures/cameras/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A mock camera made from a fixture folder, and a client connected to it as admin/admin.
async fn fixture_camera(name: &str, mut o: OnvifOptions) -> (MockCamera, OnvifClient) {
    let cam = MockCamera::builder()
        .fixture(fixture(name))
        .unwrap()
        .start()
        .await
        .unwrap();
    if o.rtsp_port == Some(0) {
        o.rtsp_port = Some(cam.ports().rtsp);
    }
    let client = OnvifClient::connect(&cam.device_service_url(), o)
        .await
        .unwrap();
    (cam, client)
}

/// The error of connecting and reading the device information (whichever step fails).
async fn first_error(url: &str, o: OnvifOptions) -> camlink::Error {
    match OnvifClient::connect(url, o).await {
        Ok(c) => c.device_information().await.unwrap_err(),
        Err(e) => e,
    }
}

fn opts(user: &str, pass: &str) -> OnvifOptions {
    OnvifOptions {
        credentials: Some(Credentials::new(user, pass)),
        timeout: Duration::from_secs(5),
        ..OnvifOptions::default()
    }
}

#[tokio::test]
async fn full_walk_against_the_mock() {
    let cam = MockCamera::builder()
        .credentials("admin", "w@lk:Pass")
        .start()
        .await
        .unwrap();
    let client = OnvifClient::connect(&cam.device_service_url(), opts("admin", "w@lk:Pass"))
        .await
        .unwrap();
    assert!(client.clock_offset().abs() <= 2);

    let info = client.device_information().await.unwrap();
    assert_eq!(
        (info.manufacturer.as_str(), info.model.as_str()),
        ("camlink", "MockCam 1")
    );
    assert_eq!(info.serial_number, "CLM-0001");

    let services = client.services().await.unwrap();
    assert!(format!("{services:?}").contains("media2"), "{services:?}");

    let profiles = client.profiles().await.unwrap();
    let tokens: Vec<&str> = profiles.iter().map(|p| p.token.as_str()).collect();
    assert_eq!(tokens, ["main", "sub"]);
    let main = profiles[0].video_encoder.as_ref().expect("video encoder");
    assert_eq!(main.encoding, VideoEncoding::H264);
    let r = main.resolution.as_ref().expect("resolution");
    assert_eq!((r.width, r.height), (640, 360));

    let uri = client
        .stream_uri("main", StreamTransport::RtspTcp)
        .await
        .unwrap();
    assert_eq!(uri.uri, cam.rtsp_url("main"));
    let snap = client.snapshot("sub").await.unwrap();
    assert!(snap.is_jpeg());

    // PTZ: a continuous move changes the simulated position.
    let v = PtzVector {
        pan_tilt: Some((-0.5, 0.5)),
        zoom: None,
    };
    client
        .continuous_move("main", v, Some(Duration::from_millis(300)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (pan, tilt, _) = cam.ptz_position();
    assert!(
        (pan + 0.15).abs() < 0.05 && (tilt - 0.15).abs() < 0.05,
        "{pan} {tilt}"
    );
    let status = client.ptz_status("main").await.unwrap();
    let (sp, _) = status.position.and_then(|p| p.pan_tilt).expect("position");
    assert!((sp - pan).abs() < 1e-3);

    // Events: the subscription starts with the current motion state, then gets changes.
    cam.trigger_motion(true);
    let mut events = client.subscribe().with_wait(Duration::from_secs(1));
    let first = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event in time")
        .expect("stream open")
        .expect("event");
    assert!(
        first.topic.ends_with("CellMotionDetector/Motion"),
        "{}",
        first.topic
    );
    assert!(
        first
            .data
            .iter()
            .any(|(k, v)| k == "IsMotion" && v == "true"),
        "{first:?}"
    );
    cam.trigger_motion(false);
    let second = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("a second event in time")
        .expect("stream open")
        .expect("event");
    assert!(
        second
            .data
            .iter()
            .any(|(k, v)| k == "IsMotion" && v == "false"),
        "{second:?}"
    );
}

#[tokio::test]
async fn camera_clock_two_hours_ahead_is_corrected() {
    let (_cam, client) = fixture_camera("clock_2h_ahead", opts("admin", "admin")).await;
    let offset = client.clock_offset();
    assert!((offset - 7200).abs() <= 2, "{offset}");
    let info = client.device_information().await.unwrap();
    assert_eq!(info.model, "Skewed-Clock-Cam");
}

#[tokio::test]
async fn digest_only_camera() {
    let (_cam, client) = fixture_camera("digest_only", opts("admin", "admin")).await;
    let info = client.device_information().await.unwrap();
    assert_eq!(info.model, "Digest-Only-Cam");
    assert_eq!(client.profiles().await.unwrap().len(), 2);
}

#[tokio::test]
async fn internal_address_behind_nat_is_rewritten() {
    let mut o = opts("admin", "admin");
    o.rtsp_port = Some(0); // the mock's RTSP port, filled in by fixture_camera
    let (cam, client) = fixture_camera("nat_internal_ip_in_uris", o).await;
    // The camera says rtsp://192.168.1.64:554/main; we reach it where we connected.
    let uri = client
        .stream_uri("main", StreamTransport::RtspTcp)
        .await
        .unwrap();
    assert_eq!(uri.uri, cam.rtsp_url("main"));
    // Snapshot URIs come back as http://192.168.1.64:80/...: rewritten, the download works.
    let snap = client.snapshot("main").await.unwrap();
    assert!(snap.is_jpeg());
}

#[tokio::test]
async fn wrong_password_is_unauthorized_and_never_shown() {
    let cam = MockCamera::builder()
        .credentials("admin", "right")
        .start()
        .await
        .unwrap();
    let err = first_error(&cam.device_service_url(), opts("admin", "Wr0ng-Pa55")).await;
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");
    assert!(!format!("{err} {err:?}").contains("Wr0ng-Pa55"));
}

#[tokio::test]
async fn https_with_a_pinned_certificate() {
    let cam = MockCamera::builder()
        .credentials("admin", "tls")
        .start()
        .await
        .unwrap();
    let url = cam.https_device_service_url().expect("https");
    // Verification on by default: the self-signed certificate is refused.
    let err = first_error(&url, opts("admin", "tls")).await;
    assert_eq!(err.kind(), &ErrorKind::TlsCertificate, "{err}");
    // Pinned to the camera's fingerprint: accepted.
    let mut o = opts("admin", "tls");
    o.tls = TlsPolicy::PinnedSha256(parse_fingerprint(cam.https_fingerprint().unwrap()).unwrap());
    let client = OnvifClient::connect(&url, o).await.unwrap();
    assert_eq!(
        client.device_information().await.unwrap().manufacturer,
        "camlink"
    );
    // Pinned to another fingerprint: refused.
    let mut o = opts("admin", "tls");
    o.tls = TlsPolicy::PinnedSha256([7u8; 32]);
    let err = first_error(&url, o).await;
    assert_eq!(err.kind(), &ErrorKind::TlsCertificate, "{err}");
}

#[tokio::test]
async fn event_stream_survives_a_cancelled_pull_and_works_as_a_stream() {
    use futures_core::Stream;
    let cam = MockCamera::builder()
        .credentials("admin", "ev")
        .start()
        .await
        .unwrap();
    let client = OnvifClient::connect(&cam.device_service_url(), opts("admin", "ev"))
        .await
        .unwrap();
    let mut events = client.subscribe().with_wait(Duration::from_secs(2));
    // The first item is the Initialized state.
    let first = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap();
    assert!(first.unwrap().is_ok());
    let address = events.subscription().expect("subscribed").address.clone();
    // A pull cancelled halfway (nothing happens for 300 ms) keeps the subscription.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), events.next())
            .await
            .is_err()
    );
    assert_eq!(
        events.subscription().map(|s| s.address.clone()),
        Some(address.clone())
    );
    // The camera still answers the abandoned pull when its wait ends; an event it handed to
    // that pull would be lost, so trigger after it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    cam.trigger_motion(true);
    let n = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        n.data.iter().any(|(k, v)| k == "IsMotion" && v == "true"),
        "{n:?}"
    );
    assert_eq!(
        events.subscription().map(|s| s.address.clone()),
        Some(address)
    );

    // The same as a futures Stream.
    let mut stream = Box::pin(events.into_stream());
    cam.trigger_motion(false);
    let n = tokio::time::timeout(
        Duration::from_secs(5),
        std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert!(
        n.data.iter().any(|(k, v)| k == "IsMotion" && v == "false"),
        "{n:?}"
    );
}
