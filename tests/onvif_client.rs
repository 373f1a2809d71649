//! OnvifClient against small canned HTTP servers on 127.0.0.1 that check what camlink sends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use camlink::ErrorKind;
use camlink::auth::Credentials;
use camlink::auth::DigestAlgorithm;
use camlink::auth::server::{DigestServer, UsernameTokenVerifier};
use camlink::onvif::client::{OnvifClient, OnvifOptions};
use camlink::onvif::media::StreamTransport;
use camlink::onvif::policy::AuthMode;
use camlink::onvif::soap::{self, ns};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Req {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn operation(&self) -> String {
        soap::parse_request(self.body.as_bytes())
            .map(|r| r.operation().to_string())
            .unwrap_or_default()
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn ok(body_xml: &str) -> Resp {
    Resp {
        status: 200,
        headers: vec![(
            "Content-Type".into(),
            "application/soap+xml; charset=utf-8".into(),
        )],
        body: soap::build_response(body_xml).into_bytes(),
    }
}

fn fault(status: u16, code: &str, sub: Option<&str>, reason: &str) -> Resp {
    Resp {
        status,
        headers: vec![("Content-Type".into(), "application/soap+xml".into())],
        body: soap::build_fault(code, sub, reason).into_bytes(),
    }
}

type Handler = Arc<dyn Fn(&Req) -> Option<Resp> + Send + Sync>;

/// Serves HTTP/1.1 with keep-alive on 127.0.0.1:0; `None` from the handler means "never answer".
async fn serve(handler: Handler) -> (String, Arc<Mutex<Vec<Req>>>) {
    serve_with(handler, None).await
}

async fn serve_with(
    handler: Handler,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (String, Arc<Mutex<Vec<Req>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let log = log2.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(sock).await {
                            connection(s, handler, log).await;
                        }
                    }
                    None => connection(sock, handler, log).await,
                }
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), log)
}

async fn connection<S>(sock: S, handler: Handler, log: Arc<Mutex<Vec<Req>>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (r, mut w) = tokio::io::split(sock);
    let mut r = BufReader::new(r);
    for _ in 0..1000 {
        let mut line = String::new();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len.min(1 << 20)];
        if r.read_exact(&mut body).await.is_err() {
            return;
        }
        let req = Req {
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        log.lock().unwrap().push(req.clone());
        let Some(resp) = handler(&req) else {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        };
        if resp.status == 0 {
            // Close without answering, as a camera does with a connection it dropped while idle.
            return;
        }
        let mut out = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
            resp.status,
            resp.body.len()
        );
        for (n, v) in &resp.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&resp.body);
        if w.write_all(&bytes).await.is_err() || w.flush().await.is_err() {
            return;
        }
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sdt(unix: i64) -> String {
    let p = camlink::datetime::to_parts(unix);
    format!(
        r#"<tds:GetSystemDateAndTimeResponse xmlns:tds="{}" xmlns:tt="{}"><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:UTCDateTime><tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}</tt:Minute><tt:Second>{}</tt:Second></tt:Time><tt:Date><tt:Year>{}</tt:Year><tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"#,
        ns::TDS,
        ns::TT,
        p.hour,
        p.minute,
        p.second,
        p.year,
        p.month,
        p.day
    )
}

fn device_info() -> String {
    format!(
        r#"<tds:GetDeviceInformationResponse xmlns:tds="{}"><tds:Manufacturer>Acme Vision</tds:Manufacturer><tds:Model>AV-IPC2142H</tds:Model><tds:FirmwareVersion>V5.7.3</tds:FirmwareVersion><tds:SerialNumber>X1</tds:SerialNumber><tds:HardwareId>88</tds:HardwareId></tds:GetDeviceInformationResponse>"#,
        ns::TDS
    )
}

/// A camera behind NAT: reports 192.168.1.64 with a doubled port; Media2 and PTZ; its clock is
/// `skew` seconds ahead; checks UsernameTokens (password "secret", ±60 s window).
fn nat_camera(skew: i64) -> Handler {
    let verifier = Arc::new(Mutex::new(UsernameTokenVerifier::new(Duration::from_secs(
        60,
    ))));
    Arc::new(move |req: &Req| {
        let parsed = soap::parse_request(req.body.as_bytes()).ok()?;
        let op = parsed.operation().to_string();
        if op == "GetSystemDateAndTime" {
            return Some(ok(&sdt(now() + skew)));
        }
        let Some(tok) = parsed.token.as_ref() else {
            return Some(fault(
                400,
                "Sender",
                Some("NotAuthorized"),
                "Sender not authorized",
            ));
        };
        match verifier.lock().unwrap().verify(
            &tok.as_received(),
            |u| (u == "admin").then(|| "secret".to_string()),
            now() + skew,
        ) {
            Ok(_) => {}
            Err(camlink::auth::server::Rejection::ClockSkew) => {
                return Some(fault(
                    400,
                    "Sender",
                    Some("NotAuthorized"),
                    "WS-Security timestamp expired",
                ));
            }
            Err(_) => {
                return Some(fault(
                    400,
                    "Sender",
                    Some("NotAuthorized"),
                    "Sender not authorized",
                ));
            }
        }
        let body = match op.as_str() {
            "GetDeviceInformation" => device_info(),
            "GetServices" => format!(
                concat!(
                    r#"<tds:GetServicesResponse xmlns:tds="{tds}">"#,
                    r#"<tds:Service><tds:Namespace>{tds}</tds:Namespace><tds:XAddr>http://192.168.1.64:8106:8106/onvif/device_service</tds:XAddr></tds:Service>"#,
                    r#"<tds:Service><tds:Namespace>{tr2}</tds:Namespace><tds:XAddr>http://192.168.1.64:8106:8106/onvif/media2</tds:XAddr></tds:Service>"#,
                    r#"<tds:Service><tds:Namespace>{trt}</tds:Namespace><tds:XAddr>http://192.168.1.64/onvif/media</tds:XAddr></tds:Service>"#,
                    r#"<tds:Service><tds:Namespace>{ptz}</tds:Namespace><tds:XAddr>http://192.168.1.64/onvif/ptz</tds:XAddr></tds:Service>"#,
                    r#"<tds:Service><tds:Namespace>{tev}</tds:Namespace><tds:XAddr>http://192.168.1.64/onvif/events</tds:XAddr></tds:Service>"#,
                    r#"</tds:GetServicesResponse>"#
                ),
                tds = ns::TDS,
                tr2 = ns::TR2,
                trt = ns::TRT,
                ptz = ns::TPTZ,
                tev = ns::TEV
            ),
            "GetCapabilities" => format!(
                r#"<tds:GetCapabilitiesResponse xmlns:tds="{}"><tds:Capabilities/></tds:GetCapabilitiesResponse>"#,
                ns::TDS
            ),
            "GetProfiles" if req.path == "/onvif/media2" => format!(
                r#"<tr2:GetProfilesResponse xmlns:tr2="{}" xmlns:tt="{}"><tr2:Profiles token="main" fixed="true"><tr2:Name>Main</tr2:Name><tr2:Configurations><tr2:VideoEncoder token="ve0" GovLength="50" Profile="Main"><tt:Name>ve0</tt:Name><tt:Encoding>H265</tt:Encoding><tt:Resolution><tt:Width>2560</tt:Width><tt:Height>1440</tt:Height></tt:Resolution></tr2:VideoEncoder></tr2:Configurations></tr2:Profiles></tr2:GetProfilesResponse>"#,
                ns::TR2,
                ns::TT
            ),
            "GetStreamUri" if req.path == "/onvif/media2" => format!(
                r#"<tr2:GetStreamUriResponse xmlns:tr2="{}"><tr2:Uri>rtsp://192.168.1.64:554/Streaming/Channels/101</tr2:Uri></tr2:GetStreamUriResponse>"#,
                ns::TR2
            ),
            "GetStatus" => format!(
                r#"<tptz:GetStatusResponse xmlns:tptz="{}" xmlns:tt="{}"><tptz:PTZStatus><tt:MoveStatus><tt:PanTilt>IDLE</tt:PanTilt></tt:MoveStatus></tptz:PTZStatus></tptz:GetStatusResponse>"#,
                ns::TPTZ,
                ns::TT
            ),
            "ContinuousMove" => format!(
                r#"<tptz:ContinuousMoveResponse xmlns:tptz="{}"/>"#,
                ns::TPTZ
            ),
            _ => {
                return Some(fault(
                    500,
                    "Receiver",
                    Some("ActionNotSupported"),
                    "Optional Action Not Implemented",
                ));
            }
        };
        Some(ok(&body))
    })
}

fn opts(password: &str) -> OnvifOptions {
    OnvifOptions {
        credentials: Some(Credentials::new("admin", password)),
        timeout: Duration::from_secs(3),
        ..OnvifOptions::default()
    }
}

#[tokio::test]
async fn nat_camera_uris_are_rewritten_and_media2_preferred() {
    let (addr, log) = serve(nat_camera(0)).await;
    let cam = OnvifClient::connect(
        &addr,
        OnvifOptions {
            rtsp_port: Some(10554),
            ..opts("secret")
        },
    )
    .await
    .unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let services = cam.services().await.unwrap();
    assert_eq!(
        services.media2.as_deref(),
        Some(format!("http://127.0.0.1:{port}/onvif/media2").as_str())
    );
    assert_eq!(
        services.ptz.as_deref(),
        Some(format!("http://127.0.0.1:{port}/onvif/ptz").as_str())
    );

    let info = cam.device_information().await.unwrap();
    assert_eq!(
        (info.manufacturer.as_str(), info.model.as_str()),
        ("Acme Vision", "AV-IPC2142H")
    );

    let profiles = cam.profiles().await.unwrap();
    assert_eq!(profiles[0].token, "main");
    let enc = profiles[0].video_encoder.as_ref().unwrap();
    assert_eq!(enc.encoding, camlink::onvif::media::VideoEncoding::H265);
    let uri = cam
        .stream_uri("main", StreamTransport::RtspTcp)
        .await
        .unwrap();
    assert_eq!(uri.uri, "rtsp://127.0.0.1:10554/Streaming/Channels/101");

    cam.continuous_move(
        "main",
        camlink::onvif::ptz::PtzVector::pan_tilt(0.5, 0.0),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        cam.ptz_status("main")
            .await
            .unwrap()
            .pan_tilt_status
            .as_deref(),
        Some("IDLE")
    );

    // Every request carried the SOAP action in Content-Type, and the clock call went without a token.
    let log = log.lock().unwrap();
    for r in log.iter() {
        let ct = r.header("content-type").unwrap();
        assert!(
            ct.starts_with("application/soap+xml; charset=utf-8; action=\""),
            "{ct}"
        );
        assert!(ct.contains(&r.operation()), "{ct} for {}", r.operation());
    }
    let sdt_req = log
        .iter()
        .find(|r| r.operation() == "GetSystemDateAndTime")
        .unwrap();
    assert!(!sdt_req.body.contains("UsernameToken"));
    assert!(
        log.iter()
            .any(|r| r.path == "/onvif/media2" && r.operation() == "GetStreamUri")
    );
}

#[tokio::test]
async fn clock_skew_is_corrected_by_a_resync() {
    // The camera runs an hour ahead; a client that never read its clock gets "timestamp expired",
    // re-reads the clock once and succeeds.
    let (addr, log) = serve(nat_camera(3600)).await;
    let cam = OnvifClient::new(&addr, opts("secret")).unwrap();
    assert_eq!(cam.clock_offset(), 0);
    let info = cam.device_information().await.unwrap();
    assert_eq!(info.model, "AV-IPC2142H");
    assert!(
        (cam.clock_offset() - 3600).abs() <= 2,
        "offset {}",
        cam.clock_offset()
    );
    let ops: Vec<String> = log.lock().unwrap().iter().map(Req::operation).collect();
    assert_eq!(
        ops,
        [
            "GetDeviceInformation",
            "GetSystemDateAndTime",
            "GetDeviceInformation"
        ]
    );
}

#[tokio::test]
async fn wrong_password_is_unauthorized() {
    let (addr, _log) = serve(nat_camera(0)).await;
    let cam = OnvifClient::new(&addr, opts("wrong")).unwrap();
    let err = cam.device_information().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");
    assert!(!err.to_string().contains("wrong"), "password leaked: {err}");
}

/// A camera that wants HTTP Digest and no WS-Security.
fn digest_camera() -> Handler {
    let server = Arc::new(Mutex::new(DigestServer::new(
        "IP Camera",
        vec![DigestAlgorithm::Md5],
    )));
    Arc::new(move |req: &Req| {
        let mut s = server.lock().unwrap();
        let verdict = s.verify(
            "POST",
            req.header("authorization"),
            req.body.as_bytes(),
            |u| (u == "admin").then(|| "secret".to_string()),
            Instant::now(),
        );
        if verdict.is_err() {
            let challenges = s.challenges(Instant::now(), false);
            let mut headers: Vec<(String, String)> = challenges
                .into_iter()
                .map(|c| ("WWW-Authenticate".to_string(), c))
                .collect();
            headers.push(("Content-Type".into(), "text/html".into()));
            return Some(Resp {
                status: 401,
                headers,
                body: b"<html><body>401 Unauthorized</body></html>".to_vec(),
            });
        }
        Some(ok(&device_info()))
    })
}

#[tokio::test]
async fn digest_is_chosen_when_the_camera_asks_for_it() {
    let (addr, log) = serve(digest_camera()).await;
    let cam = OnvifClient::new(&addr, opts("secret")).unwrap();
    assert_eq!(
        cam.device_information().await.unwrap().manufacturer,
        "Acme Vision"
    );
    assert_eq!(cam.device_information().await.unwrap().model, "AV-IPC2142H");
    let log = log.lock().unwrap().clone();
    assert!(
        log[0].body.contains("UsernameToken"),
        "auto mode starts with WS-Security"
    );
    assert!(log[0].header("authorization").is_none());
    let last = log.last().unwrap();
    assert!(last.header("authorization").unwrap().starts_with("Digest "));
    assert!(
        !last.body.contains("UsernameToken"),
        "after the 401 only digest is sent"
    );
    assert_eq!(log.len(), 3, "one 401 round, then digest straight away");

    // Wrong password with digest: unauthorized, not an endless loop.
    let (addr, _log) = serve(digest_camera()).await;
    let cam = OnvifClient::new(&addr, opts("nope")).unwrap();
    assert_eq!(
        cam.device_information().await.unwrap_err().kind(),
        &ErrorKind::Unauthorized
    );

    // Forced UsernameToken never answers a digest challenge.
    let (addr, _log) = serve(digest_camera()).await;
    let cam = OnvifClient::new(
        &addr,
        OnvifOptions {
            auth: AuthMode::UsernameToken,
            ..opts("secret")
        },
    )
    .unwrap();
    assert_eq!(
        cam.device_information().await.unwrap_err().kind(),
        &ErrorKind::Unauthorized
    );
}

#[tokio::test]
async fn non_soap_answers_are_clear_errors() {
    let (addr, _) = serve(Arc::new(|_: &Req| {
        Some(Resp {
            status: 500,
            headers: vec![],
            body: vec![],
        })
    }))
    .await;
    let cam = OnvifClient::new(&addr, opts("secret")).unwrap();
    assert_eq!(
        cam.device_information().await.unwrap_err().kind(),
        &ErrorKind::HttpStatus(500)
    );

    let (addr, _) = serve(Arc::new(|_: &Req| {
        Some(Resp {
            status: 401,
            headers: vec![],
            body: b"<html>401</html>".to_vec(),
        })
    }))
    .await;
    let cam = OnvifClient::new(&addr, opts("secret")).unwrap();
    assert_eq!(
        cam.device_information().await.unwrap_err().kind(),
        &ErrorKind::Unauthorized
    );

    let big = vec![b'x'; camlink::onvif::xml::MAX_DOCUMENT_BYTES + 10];
    let (addr, _) = serve(Arc::new(move |_: &Req| {
        Some(Resp {
            status: 200,
            headers: vec![],
            body: big.clone(),
        })
    }))
    .await;
    let cam = OnvifClient::new(&addr, opts("secret")).unwrap();
    assert_eq!(
        cam.device_information().await.unwrap_err().kind(),
        &ErrorKind::LimitExceeded
    );
}

#[tokio::test]
async fn silent_camera_times_out() {
    let (addr, _) = serve(Arc::new(|_: &Req| None)).await;
    let cam = OnvifClient::new(
        &addr,
        OnvifOptions {
            timeout: Duration::from_millis(300),
            ..opts("secret")
        },
    )
    .unwrap();
    let t0 = Instant::now();
    let err = cam.device_information().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Timeout, "{err}");
    assert!(t0.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn unreachable_camera() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let cam = OnvifClient::new(&format!("127.0.0.1:{port}"), opts("secret")).unwrap();
    assert_eq!(
        cam.device_information().await.unwrap_err().kind(),
        &ErrorKind::Unreachable
    );
}

#[test]
fn client_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let cam = OnvifClient::new("127.0.0.1:9", opts("x")).unwrap();
    assert_send(&cam.device_information());
    assert_send(&cam.profiles());
    let mut stream = cam.subscribe();
    assert_send(&stream.next());
}

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/onvif");
    let cert = CertificateDer::from_pem_file(dir.join("selfsigned_camera_cert.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("selfsigned_camera_key.pem")).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

const FIXTURE_FP: &str = "CD:FB:96:23:59:E2:E1:21:9D:2E:FC:2A:A1:1B:B3:DF:B8:8E:71:4F:55:35:86:CB:65:7C:E5:DC:F4:15:6B:8B";

#[tokio::test]
async fn https_self_signed_camera_needs_a_pin() {
    use camlink::onvif::tls::{TlsPolicy, fingerprint_hex, parse_fingerprint};
    let (addr, _) = serve_with(nat_camera(0), Some(tls_acceptor())).await;
    let url = format!("https://{addr}/onvif/device_service");

    // Default: verification on, the self-signed certificate is refused, its fingerprint is shown.
    let cam = OnvifClient::new(&url, opts("secret")).unwrap();
    let err = cam.device_information().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TlsCertificate, "{err}");
    let seen = cam.tls_fingerprint_seen().expect("fingerprint seen");
    assert_eq!(fingerprint_hex(&seen), FIXTURE_FP);

    // Trust on first use: pin what was seen.
    let pinned = OnvifOptions {
        tls: TlsPolicy::PinnedSha256(seen),
        ..opts("secret")
    };
    let cam = OnvifClient::new(&url, pinned).unwrap();
    assert_eq!(cam.device_information().await.unwrap().model, "AV-IPC2142H");

    // Another pin: refused.
    let mut other = parse_fingerprint(FIXTURE_FP).unwrap();
    other[31] ^= 0xFF;
    let cam = OnvifClient::new(
        &url,
        OnvifOptions {
            tls: TlsPolicy::PinnedSha256(other),
            ..opts("secret")
        },
    )
    .unwrap();
    assert_eq!(
        cam.device_information().await.unwrap_err().kind(),
        &ErrorKind::TlsCertificate
    );

    // The escape hatch.
    let cam = OnvifClient::new(
        &url,
        OnvifOptions {
            tls: TlsPolicy::DangerAcceptAnyCertificate,
            ..opts("secret")
        },
    )
    .unwrap();
    assert_eq!(
        cam.device_information().await.unwrap().manufacturer,
        "Acme Vision"
    );
}

/// An event service: each pull point serves `per_sub` motion events, then dies (as after a
/// reboot). Renew is not supported. Counts subscriptions.
fn event_camera(per_sub: usize) -> (Handler, Arc<Mutex<usize>>) {
    let subs = Arc::new(Mutex::new(0usize));
    let pulled = Arc::new(Mutex::new(std::collections::HashMap::<String, usize>::new()));
    let subs2 = subs.clone();
    let h: Handler = Arc::new(move |req: &Req| {
        let parsed = soap::parse_request(req.body.as_bytes()).ok()?;
        let op = parsed.operation().to_string();
        let base = format!("http://10.0.0.9{}", "");
        let body = match op.as_str() {
            "GetSystemDateAndTime" => sdt(now()),
            "GetServices" => format!(
                r#"<tds:GetServicesResponse xmlns:tds="{}"><tds:Service><tds:Namespace>{}</tds:Namespace><tds:XAddr>{base}/onvif/events</tds:XAddr></tds:Service></tds:GetServicesResponse>"#,
                ns::TDS,
                ns::TEV
            ),
            "CreatePullPointSubscription" => {
                let mut n = subs2.lock().unwrap();
                *n += 1;
                format!(
                    concat!(
                        r#"<tev:CreatePullPointSubscriptionResponse xmlns:tev="{tev}" xmlns:wsa="{wsa}" xmlns:wsnt="{wsnt}">"#,
                        r#"<tev:SubscriptionReference><wsa:Address>{base}/onvif/sub/{n}</wsa:Address>"#,
                        r#"<wsa:ReferenceParameters><v:Id xmlns:v="urn:vendor">{n}</v:Id></wsa:ReferenceParameters></tev:SubscriptionReference>"#,
                        r#"<wsnt:CurrentTime>{c}</wsnt:CurrentTime><wsnt:TerminationTime>{t}</wsnt:TerminationTime>"#,
                        r#"</tev:CreatePullPointSubscriptionResponse>"#
                    ),
                    tev = ns::TEV,
                    wsa = ns::WSA,
                    wsnt = ns::WSNT,
                    base = base,
                    n = *n,
                    c = camlink::datetime::format_utc(now()),
                    t = camlink::datetime::format_utc(now() + 600)
                )
            }
            "PullMessages" => {
                // The reference parameter must be echoed in the header.
                let header = parsed.envelope.header.as_ref()?;
                let id = header.child("urn:vendor", "Id")?.text.clone();
                assert!(
                    req.path.ends_with(&format!("/onvif/sub/{id}")),
                    "{} vs {id}",
                    req.path
                );
                let mut p = pulled.lock().unwrap();
                let count = p.entry(id.to_string()).or_default();
                if *count >= per_sub {
                    return Some(fault(
                        400,
                        "Sender",
                        Some("InvalidArgVal"),
                        "unknown subscription",
                    ));
                }
                *count += 1;
                format!(
                    concat!(
                        r#"<tev:PullMessagesResponse xmlns:tev="{tev}" xmlns:wsnt="{wsnt}" xmlns:tt="{tt}" xmlns:tns1="http://www.onvif.org/ver10/topics">"#,
                        r#"<tev:CurrentTime>{c}</tev:CurrentTime><tev:TerminationTime>{t}</tev:TerminationTime>"#,
                        r#"<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">tns1:RuleEngine/CellMotionDetector/Motion</wsnt:Topic>"#,
                        r#"<wsnt:Message><tt:Message UtcTime="{c}" PropertyOperation="Changed"><tt:Source><tt:SimpleItem Name="VideoSourceConfigurationToken" Value="vsc{id}"/></tt:Source>"#,
                        r#"<tt:Data><tt:SimpleItem Name="IsMotion" Value="true"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage></tev:PullMessagesResponse>"#
                    ),
                    tev = ns::TEV,
                    wsnt = ns::WSNT,
                    tt = ns::TT,
                    id = id,
                    c = camlink::datetime::format_utc(now()),
                    t = camlink::datetime::format_utc(now() + 600)
                )
            }
            "Unsubscribe" => format!(r#"<wsnt:UnsubscribeResponse xmlns:wsnt="{}"/>"#, ns::WSNT),
            _ => return Some(fault(500, "Receiver", Some("ActionNotSupported"), "no")),
        };
        Some(ok(&body))
    });
    (h, subs)
}

#[tokio::test]
async fn event_stream_resubscribes_after_a_dead_pull_point() {
    let (handler, subs) = event_camera(2);
    let (addr, log) = serve(handler).await;
    let cam = OnvifClient::connect(&addr, opts("secret")).await.unwrap();
    let mut stream = cam.subscribe().with_wait(Duration::from_secs(1));
    let mut seen = Vec::new();
    for _ in 0..5 {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event in time")
            .expect("stream open")
            .expect("no error");
        assert_eq!(n.topic_path(), "RuleEngine/CellMotionDetector/Motion");
        assert_eq!(n.data_value("IsMotion"), Some("true"));
        assert_eq!(
            n.property_operation,
            Some(camlink::onvif::events::PropertyOperation::Changed)
        );
        seen.push(n.source[0].1.clone());
    }
    assert_eq!(
        seen,
        ["vsc1", "vsc1", "vsc2", "vsc2", "vsc3"],
        "two events per pull point, then a new one"
    );
    assert_eq!(*subs.lock().unwrap(), 3);
    // Subscription requests went to the rewritten address with WS-Addressing headers.
    let port = addr.rsplit(':').next().unwrap();
    let log = log.lock().unwrap().clone();
    let pull = log
        .iter()
        .find(|r| r.operation() == "PullMessages")
        .unwrap();
    assert!(
        pull.body
            .contains(&format!("http://127.0.0.1:{port}/onvif/sub/1")),
        "wsa:To rewritten"
    );
    assert!(pull.body.contains("PullMessagesRequest"), "wsa:Action");
    stream.close().await.unwrap();
}

#[tokio::test]
async fn snapshot_with_digest() {
    let server = Arc::new(Mutex::new(DigestServer::new(
        "snap",
        vec![DigestAlgorithm::Md5],
    )));
    let (addr, _) = serve(Arc::new(move |req: &Req| {
        let mut s = server.lock().unwrap();
        match s.verify(
            "GET",
            req.header("authorization"),
            b"",
            |u| (u == "admin").then(|| "secret".into()),
            Instant::now(),
        ) {
            Ok(_) => Some(Resp {
                status: 200,
                headers: vec![("Content-Type".into(), "image/jpeg".into())],
                body: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9],
            }),
            Err(_) => Some(Resp {
                status: 401,
                headers: s
                    .challenges(Instant::now(), false)
                    .into_iter()
                    .map(|c| ("WWW-Authenticate".to_string(), c))
                    .collect(),
                body: vec![],
            }),
        }
    }))
    .await;
    let cam = OnvifClient::new(&addr, opts("secret")).unwrap();
    let snap = cam
        .fetch_snapshot(&format!("http://{addr}/onvif-http/snapshot?Profile_1"))
        .await
        .unwrap();
    assert!(snap.is_jpeg());
    assert_eq!(snap.data.len(), 9);
    assert_eq!(snap.content_type.as_deref(), Some("image/jpeg"));
    let cam = OnvifClient::new(&addr, opts("bad")).unwrap();
    let err = cam
        .fetch_snapshot(&format!("http://{addr}/snap.jpg"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized);
}

/// Drops the first request of each operation without answering, then behaves.
fn flaky_camera() -> Handler {
    let seen = Arc::new(Mutex::new(std::collections::HashSet::<String>::new()));
    Arc::new(move |req: &Req| {
        let op = req.operation();
        if seen.lock().unwrap().insert(op.clone()) {
            return Some(Resp {
                status: 0,
                headers: vec![],
                body: vec![],
            });
        }
        match op.as_str() {
            "GetDeviceInformation" => Some(ok(&device_info())),
            _ => Some(ok(&format!(
                r#"<tds:SystemRebootResponse xmlns:tds="{}"><tds:Message>bye</tds:Message></tds:SystemRebootResponse>"#,
                ns::TDS
            ))),
        }
    })
}

#[tokio::test]
async fn closed_connection_is_retried_once_for_idempotent_calls_only() {
    let (addr, log) = serve(flaky_camera()).await;
    let cam = OnvifClient::new(
        &addr,
        OnvifOptions {
            auth: AuthMode::UsernameToken,
            ..opts("secret")
        },
    )
    .unwrap();
    assert_eq!(cam.device_information().await.unwrap().model, "AV-IPC2142H");
    let err = cam.system_reboot().await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Io,
        "a reboot is never sent twice: {err}"
    );
    let ops: Vec<String> = log.lock().unwrap().iter().map(Req::operation).collect();
    assert_eq!(
        ops,
        [
            "GetDeviceInformation",
            "GetDeviceInformation",
            "SystemReboot"
        ]
    );
}

#[tokio::test]
async fn clock_read_with_credentials_when_the_camera_demands_them() {
    // Some cameras refuse even GetSystemDateAndTime without a token.
    let strict = nat_camera(0);
    let (addr, log) = serve(Arc::new(move |req: &Req| {
        let parsed = soap::parse_request(req.body.as_bytes()).ok()?;
        if parsed.operation() == "GetSystemDateAndTime" && parsed.token.is_none() {
            return Some(fault(
                400,
                "Sender",
                Some("NotAuthorized"),
                "Sender not authorized",
            ));
        }
        strict(req)
    }))
    .await;
    let cam = OnvifClient::new(&addr, opts("secret")).unwrap();
    let t = cam.sync_clock().await.unwrap();
    assert!(t.utc_unix.is_some());
    let with_token: Vec<bool> = log
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.body.contains("UsernameToken"))
        .collect();
    assert_eq!(
        with_token,
        [false, true],
        "anonymous first, then with credentials"
    );
}

#[tokio::test]
async fn renew_uses_the_camera_clock() {
    // Camera clock one hour ahead; its subscriptions end 10 s after creation (camera time), so
    // the stream renews before pulling, with an absolute time in the camera's clock.
    let skew = 3600;
    let renewals = Arc::new(Mutex::new(Vec::<i64>::new()));
    let r2 = renewals.clone();
    let (addr, _log) = serve(Arc::new(move |req: &Req| {
        let parsed = soap::parse_request(req.body.as_bytes()).ok()?;
        let cam_now = now() + skew;
        let t = camlink::datetime::format_utc;
        let body = match parsed.operation() {
            "GetSystemDateAndTime" => sdt(cam_now),
            "GetServices" => format!(
                r#"<tds:GetServicesResponse xmlns:tds="{}"><tds:Service><tds:Namespace>{}</tds:Namespace><tds:XAddr>http://10.0.0.9/onvif/events</tds:XAddr></tds:Service></tds:GetServicesResponse>"#,
                ns::TDS, ns::TEV
            ),
            "CreatePullPointSubscription" => format!(
                r#"<tev:CreatePullPointSubscriptionResponse xmlns:tev="{}" xmlns:wsa="{}" xmlns:wsnt="{}"><tev:SubscriptionReference><wsa:Address>http://10.0.0.9/onvif/sub</wsa:Address></tev:SubscriptionReference><wsnt:CurrentTime>{}</wsnt:CurrentTime><wsnt:TerminationTime>{}</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>"#,
                ns::TEV, ns::WSA, ns::WSNT, t(cam_now), t(cam_now + 10)
            ),
            "Renew" => {
                let want = parsed.envelope.body.child_text(ns::WSNT, "TerminationTime")?;
                let want = camlink::datetime::parse_datetime(want)?;
                r2.lock().unwrap().push(want - cam_now);
                format!(
                    r#"<wsnt:RenewResponse xmlns:wsnt="{}"><wsnt:TerminationTime>{}</wsnt:TerminationTime></wsnt:RenewResponse>"#,
                    ns::WSNT, t(want)
                )
            }
            "PullMessages" => format!(
                r#"<tev:PullMessagesResponse xmlns:tev="{}" xmlns:wsnt="{}" xmlns:tt="{}"><tev:CurrentTime>{}</tev:CurrentTime><wsnt:NotificationMessage><wsnt:Topic>tns1:Device/Trigger/DigitalInput</wsnt:Topic><wsnt:Message><tt:Message UtcTime="{}"><tt:Data><tt:SimpleItem Name="LogicalState" Value="true"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage></tev:PullMessagesResponse>"#,
                ns::TEV, ns::WSNT, ns::TT, t(cam_now), t(cam_now)
            ),
            _ => return Some(fault(500, "Receiver", Some("ActionNotSupported"), "no")),
        };
        Some(ok(&body))
    }))
    .await;
    let cam = OnvifClient::connect(&addr, opts("secret")).await.unwrap();
    let mut stream = cam.subscribe().with_lifetime(Duration::from_secs(60));
    let n = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(n.topic_path(), "Device/Trigger/DigitalInput");
    assert_eq!(
        n.utc_time.map(|u| (u - now() - skew).abs() <= 2),
        Some(true)
    );
    let r = renewals.lock().unwrap().clone();
    assert_eq!(r.len(), 1, "renewed once before the first pull");
    assert!(
        (r[0] - 60).abs() <= 2,
        "asked for camera-now + 60 s, got +{} s",
        r[0]
    );
}

#[tokio::test]
async fn clock_skew_resync_happens_once() {
    // A camera whose check fails whatever the clock says: one re-sync, then ClockSkew.
    let (addr, log) = serve(Arc::new(|req: &Req| {
        if req.operation() == "GetSystemDateAndTime" {
            return Some(ok(&sdt(now())));
        }
        Some(fault(
            400,
            "Sender",
            Some("NotAuthorized"),
            "WS-Security timestamp expired",
        ))
    }))
    .await;
    let cam = OnvifClient::new(&addr, opts("secret")).unwrap();
    let err = cam.device_information().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ClockSkew, "{err}");
    let ops: Vec<String> = log.lock().unwrap().iter().map(Req::operation).collect();
    assert_eq!(
        ops,
        [
            "GetDeviceInformation",
            "GetSystemDateAndTime",
            "GetDeviceInformation"
        ]
    );
}
