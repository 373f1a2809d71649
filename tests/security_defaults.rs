//! The secure choice is the default, end to end: TLS certificates are verified unless pinned
//! or explicitly disabled, Basic never crosses a plain connection unless the caller allows it
//! (and then a warning is logged), the mock camera refuses unauthenticated requests, and XML
//! entities in a SOAP answer are never expanded (no external entity, no billion laughs).
//!
//! Unit tests cover the pure parts (scheme choice: SHA-256 digest over MD5 over Basic in
//! `auth`; the XML reader in `onvif::xml`); these check what a user of the clients sees.

#![cfg(feature = "mock")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use camlink::ErrorKind;
use camlink::auth::Credentials;
use camlink::mock::{AuthScheme, MockCamera};
use camlink::onvif::client::{OnvifClient, OnvifOptions};
use camlink::onvif::tls::TlsPolicy;
use camlink::rtsp::client::{Item, Session, SessionOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(20);

fn rtsp_opts(user: &str, pass: &str) -> SessionOptions {
    SessionOptions::new().credentials(Credentials::new(user, pass))
}

async fn first_frame(s: &mut Session) {
    tokio::time::timeout(LIMIT, async {
        loop {
            match s.next().await {
                Some(Ok(Item::Video(_))) => return,
                Some(Ok(_)) => {}
                other => panic!("no video frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a frame in time");
}

#[tokio::test]
async fn the_mock_camera_refuses_unauthenticated_requests_by_default() {
    let cam = MockCamera::builder().start().await.expect("mock");

    // ONVIF: anything but the calls ONVIF leaves open (the clock) needs credentials.
    let anonymous = OnvifClient::new(&cam.device_service_url(), OnvifOptions::default()).unwrap();
    anonymous
        .system_date_and_time()
        .await
        .expect("GetSystemDateAndTime is open by the ONVIF spec");
    let err = anonymous.profiles().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");

    // RTSP.
    let err = Session::describe(&cam.rtsp_url("main"), SessionOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");

    // Snapshots, over plain HTTP.
    let mut s = tokio::net::TcpStream::connect((cam.bind_addr(), cam.ports().http))
        .await
        .unwrap();
    let url = url::Url::parse(&cam.snapshot_url("main")).unwrap();
    s.write_all(
        format!(
            "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            url.path()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(LIMIT, s.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

    // The same requests with the default credentials work: the refusals above were about auth.
    let mut s = Session::open(&cam.rtsp_url("main"), rtsp_opts("admin", "admin"))
        .await
        .expect("with credentials");
    first_frame(&mut s).await;
}

#[tokio::test]
async fn rtsps_certificates_are_verified_unless_pinned_or_disabled() {
    let cam = MockCamera::builder()
        .credentials("admin", "secret")
        .rtsps_port(Some(0))
        .start()
        .await
        .expect("mock");
    let url = cam.rtsps_url("main").expect("rtsps enabled");

    // Default: the mock's self-signed certificate is refused.
    let err = Session::describe(&url, rtsp_opts("admin", "secret"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TlsCertificate, "{err}");

    // Pinned to what the camera presents: accepted, and frames flow.
    let seen = Session::describe(
        &url,
        rtsp_opts("admin", "secret").tls(TlsPolicy::DangerAcceptAnyCertificate),
    )
    .await
    .expect("any certificate")
    .tls_fingerprint()
    .expect("fingerprint");
    let mut s = Session::open(
        &url,
        rtsp_opts("admin", "secret").tls(TlsPolicy::PinnedSha256(seen)),
    )
    .await
    .expect("pinned");
    first_frame(&mut s).await;

    // Another pin: refused.
    let mut other = seen;
    other[0] ^= 0xFF;
    let err = Session::describe(
        &url,
        rtsp_opts("admin", "secret").tls(TlsPolicy::PinnedSha256(other)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TlsCertificate, "{err}");
}

/// A `tracing` writer that keeps what is logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn basic_is_not_sent_over_plain_rtsp_unless_allowed_and_then_with_a_warning() {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    // A current-thread runtime, so the subscriber set for this thread sees the client's logs.
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cam = MockCamera::builder()
            .credentials("admin", "secret")
            .auth_schemes(&[AuthScheme::Basic])
            .start()
            .await
            .expect("mock");

        // Default: the camera offers only Basic over plain RTSP: the client refuses to send it.
        let err = Session::describe(&cam.rtsp_url("main"), rtsp_opts("admin", "secret"))
            .await
            .unwrap_err();
        // Not a wrong password: a policy refusal, which says how to lift it.
        assert_eq!(err.kind(), &ErrorKind::Unsupported, "{err}");
        assert!(err.to_string().contains("allow Basic"), "{err}");
        assert!(
            !String::from_utf8_lossy(&log.0.lock().unwrap()).contains("Basic credentials"),
            "nothing was sent, so nothing to warn about"
        );

        // Allowed by the caller: it plays, and the log says the password went in the clear.
        let mut s = Session::open(
            &cam.rtsp_url("main"),
            rtsp_opts("admin", "secret").basic_over_plaintext(true),
        )
        .await
        .expect("Basic allowed");
        first_frame(&mut s).await;
    });
    let logged = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    assert!(
        logged.contains("WARN") && logged.contains("Basic credentials over an unencrypted"),
        "{logged}"
    );
    assert!(!logged.contains("secret"), "{logged}");
}

/// An HTTP server on loopback that answers every request with `body` as a SOAP answer.
async fn soap_server(body: String) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body.as_bytes()).await;
            });
        }
    });
    addr
}

fn device_information(manufacturer: &str, doctype: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
{doctype}
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">
<env:Body><tds:GetDeviceInformationResponse>
<tds:Manufacturer>{manufacturer}</tds:Manufacturer><tds:Model>M</tds:Model>
<tds:FirmwareVersion>1</tds:FirmwareVersion><tds:SerialNumber>S</tds:SerialNumber>
<tds:HardwareId>H</tds:HardwareId>
</tds:GetDeviceInformationResponse></env:Body></env:Envelope>"#
    )
}

#[tokio::test]
async fn soap_answers_never_expand_external_entities() {
    let secret_file = std::env::temp_dir().join(format!("camlink-xxe-{}", std::process::id()));
    std::fs::write(&secret_file, "TOP-SECRET-FILE-CONTENT").unwrap();
    let doctype = format!(
        r#"<!DOCTYPE env:Envelope [<!ENTITY xxe SYSTEM "file://{}">]>"#,
        secret_file.display()
    );
    let addr = soap_server(device_information("&xxe;", &doctype)).await;
    let cam = OnvifClient::new(&format!("http://{addr}"), OnvifOptions::default()).unwrap();
    let result = cam.device_information().await;
    let _ = std::fs::remove_file(&secret_file);
    // Either the answer parses with the entity left out, or it is refused; the file's content
    // never appears.
    match result {
        Ok(info) => assert!(
            !info.manufacturer.contains("TOP-SECRET"),
            "{}",
            info.manufacturer
        ),
        Err(e) => assert!(!e.to_string().contains("TOP-SECRET"), "{e}"),
    }
}

#[tokio::test]
async fn soap_answers_never_expand_entity_bombs() {
    let mut doctype =
        String::from(r#"<!DOCTYPE env:Envelope [<!ENTITY lol0 "lollollollollollollollollollol">"#);
    for i in 1..10 {
        let prev = format!("&lol{};", i - 1);
        doctype.push_str(&format!(r#"<!ENTITY lol{i} "{}">"#, prev.repeat(10)));
    }
    doctype.push_str("]>");
    let addr = soap_server(device_information("&lol9;", &doctype)).await;
    let cam = OnvifClient::new(&format!("http://{addr}"), OnvifOptions::default()).unwrap();
    // Expanded, this would be 3 * 10^10 bytes; it must come back at once and small.
    let result = tokio::time::timeout(Duration::from_secs(5), cam.device_information())
        .await
        .expect("no expansion work");
    match result {
        Ok(info) => assert!(info.manufacturer.len() < 100, "{}", info.manufacturer.len()),
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::Malformed | ErrorKind::LimitExceeded),
            "{e}"
        ),
    }
}
