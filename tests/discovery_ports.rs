//! The port probe against in-test servers on 127.0.0.1: an ONVIF-ish HTTP server, an RTSP-ish
//! server, TLS servers, a silent port and a closed port.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use camlink::discovery::ports::{self, PortProbeOptions, Risk, Service};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

const SOAP_ANSWER: &str = r#"<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><SOAP-ENV:Body><tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;

/// Reads one request (head and Content-Length body, bounded).
async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while buf.len() < 65536 {
        let Ok(n) = s.read(&mut chunk).await else {
            break;
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// An ONVIF-ish web server: SOAP at /onvif/device_service, Basic challenge at `/`.
async fn onvif_http<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, onvif: bool) {
    let req = read_request(&mut s).await;
    let reply = if req.starts_with("OPTIONS * RTSP") {
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    } else if onvif && req.starts_with("POST /onvif/device_service ") {
        format!(
            "HTTP/1.1 200 OK\r\nServer: FakeCam-Web\r\nContent-Type: application/soap+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{SOAP_ANSWER}",
            SOAP_ANSWER.len()
        )
    } else if req.starts_with("GET / ") {
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"FakeCam\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    };
    let _ = s.write_all(reply.as_bytes()).await;
    let _ = s.shutdown().await;
}

async fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

async fn spawn_http(onvif: bool) -> u16 {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(onvif_http(s, onvif));
        }
    });
    port
}

async fn spawn_rtsp() -> u16 {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let req = read_request(&mut s).await;
                let reply = if req.contains("RTSP/1.0") {
                    "RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: FakeCam RTSP/1.0\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
                } else {
                    "RTSP/1.0 400 Bad Request\r\nCSeq: 0\r\n\r\n"
                };
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

/// A TLS server (self-signed certificate) serving the ONVIF-ish site; returns the port and the
/// certificate's DER.
async fn spawn_tls(onvif: bool) -> (u16, Vec<u8>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_der = ck.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        ck.signing_key.serialize_der(),
    ));
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert_der.clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let (l, port) = listener().await;
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(Ok(tls)) =
                    tokio::time::timeout(Duration::from_secs(2), acceptor.accept(s)).await
                {
                    onvif_http(tls, onvif).await;
                }
            });
        }
    });
    (port, cert_der.to_vec())
}

/// Accepts connections and never says anything.
async fn spawn_silent() -> u16 {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            if held.len() < 64 {
                held.push(s);
            }
        }
    });
    port
}

async fn closed_port() -> u16 {
    let (l, port) = listener().await;
    drop(l);
    port
}

#[tokio::test]
async fn identifies_onvif_rtsp_tls_silent_and_closed_ports() {
    let onvif = spawn_http(true).await;
    let web = spawn_http(false).await;
    let rtsp = spawn_rtsp().await;
    let (onvif_tls, cert) = spawn_tls(true).await;
    let (https, _) = spawn_tls(false).await;
    let silent = spawn_silent().await;
    let closed = closed_port().await;

    let opts = PortProbeOptions {
        ports: vec![onvif, web, rtsp, onvif_tls, https, silent, closed],
        connect_timeout: Duration::from_millis(500),
        io_timeout: Duration::from_millis(400),
        port_timeout: Duration::from_secs(3),
        concurrency: 4,
    };
    let host: IpAddr = "127.0.0.1".parse().unwrap();
    let started = Instant::now();
    let report = ports::probe_ports(host, &opts).await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");

    let by_port = |p: u16| report.ports.iter().find(|r| r.port == p).unwrap();
    let r = by_port(onvif);
    assert!(r.open);
    assert_eq!(r.service, Some(Service::Onvif), "{r:?}");
    assert_eq!(
        r.url.as_deref(),
        Some(format!("http://127.0.0.1:{onvif}/onvif/device_service").as_str())
    );
    assert!(!r.tls);
    assert!(r.auth_schemes.iter().any(|s| s == "Basic"), "{r:?}");
    assert_eq!(r.server.as_deref(), Some("FakeCam-Web"));

    let r = by_port(web);
    assert_eq!(r.service, Some(Service::Http), "{r:?}");
    assert_eq!(
        r.url.as_deref(),
        Some(format!("http://127.0.0.1:{web}/").as_str())
    );

    let r = by_port(rtsp);
    assert_eq!(r.service, Some(Service::Rtsp), "{r:?}");
    assert_eq!(r.server.as_deref(), Some("FakeCam RTSP/1.0"));
    assert_eq!(
        r.url.as_deref(),
        Some(format!("rtsp://127.0.0.1:{rtsp}/").as_str())
    );

    let r = by_port(onvif_tls);
    assert_eq!(r.service, Some(Service::Onvif), "{r:?}");
    assert!(r.tls);
    assert_eq!(
        r.url.as_deref(),
        Some(format!("https://127.0.0.1:{onvif_tls}/onvif/device_service").as_str())
    );
    assert_eq!(
        r.tls_sha256.as_deref(),
        Some(ports::fingerprint(&cert).as_str())
    );

    let r = by_port(https);
    assert_eq!(r.service, Some(Service::Https), "{r:?}");
    assert_eq!(
        r.url.as_deref(),
        Some(format!("https://127.0.0.1:{https}/").as_str())
    );

    let r = by_port(silent);
    assert!(r.open);
    assert_eq!(r.service, Some(Service::Unknown), "{r:?}");
    assert_eq!(r.url, None);

    let r = by_port(closed);
    assert!(!r.open);
    assert_eq!(r.service, None);

    assert_eq!(
        report.control_url.as_deref(),
        Some(format!("https://127.0.0.1:{onvif_tls}/onvif/device_service").as_str())
    );
    assert_eq!(
        report.media_url.as_deref(),
        Some(format!("rtsp://127.0.0.1:{rtsp}/").as_str())
    );
    assert!(
        report.risks.contains(&Risk::PlainHttpWhereHttpsAvailable {
            port: onvif,
            tls_port: onvif_tls
        }),
        "{:?}",
        report.risks
    );
    assert!(
        report
            .risks
            .contains(&Risk::BasicAuthOnPlainText { port: onvif })
    );
    assert!(
        !report
            .risks
            .iter()
            .any(|r| matches!(r, Risk::BasicAuthOnPlainText { port } if *port == onvif_tls))
    );
}

#[tokio::test]
async fn closed_ports_are_reported_quickly() {
    let mut ports_list = Vec::new();
    for _ in 0..12 {
        ports_list.push(closed_port().await);
    }
    let opts = PortProbeOptions {
        ports: ports_list.clone(),
        ..PortProbeOptions::default()
    };
    let started = Instant::now();
    let report = ports::probe_ports("127.0.0.1".parse().unwrap(), &opts)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.ports.len(), 12);
    assert!(report.ports.iter().all(|p| !p.open && p.service.is_none()));
    assert_eq!(
        report.ports.iter().map(|p| p.port).collect::<Vec<_>>(),
        ports_list
    );
    assert!(report.control_url.is_none() && report.media_url.is_none());
}

#[tokio::test]
async fn invalid_options_are_refused() {
    let host: IpAddr = "127.0.0.1".parse().unwrap();
    let none = PortProbeOptions {
        ports: vec![],
        ..PortProbeOptions::default()
    };
    assert_eq!(
        ports::probe_ports(host, &none).await.unwrap_err().kind(),
        &camlink::ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn ipv6_loopback_urls_are_bracketed() {
    let Ok(l) = TcpListener::bind("[::1]:0").await else {
        eprintln!("SKIPPED: no IPv6 loopback here");
        return;
    };
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = read_request(&mut s).await;
            let _ = s
                .write_all(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: V6Cam\r\n\r\n")
                .await;
        }
    });
    let opts = PortProbeOptions {
        ports: vec![port],
        ..PortProbeOptions::default()
    };
    let report = ports::probe_ports("::1".parse().unwrap(), &opts)
        .await
        .unwrap();
    assert_eq!(report.ports[0].service, Some(Service::Rtsp));
    assert_eq!(
        report.media_url.as_deref(),
        Some(format!("rtsp://[::1]:{port}/").as_str())
    );
}

#[tokio::test]
async fn host_names_and_bracketed_addresses_are_accepted() {
    let rtsp = spawn_rtsp().await;
    let opts = PortProbeOptions {
        ports: vec![rtsp],
        ..PortProbeOptions::default()
    };
    for host in ["127.0.0.1", " 127.0.0.1 "] {
        let r = ports::probe_host(host, &opts).await.unwrap();
        assert_eq!(r.ports[0].service, Some(Service::Rtsp), "{host}");
    }
    let e = ports::probe_host("", &opts).await.unwrap_err();
    assert_eq!(e.kind(), &camlink::ErrorKind::InvalidInput);
    // `localhost` resolves to loopback only.
    if let Ok(r) = ports::probe_host("localhost", &opts).await {
        assert!(r.host.is_loopback());
    }
}

/// Some RTSP servers drop `OPTIONS *` (they want a URL) but answer anything else with an RTSP
/// status line: still RTSP, not HTTP.
#[tokio::test]
async fn rtsp_server_that_ignores_options_star_is_still_rtsp() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let req = read_request(&mut s).await;
                if req.starts_with("OPTIONS * ") {
                    return; // closes without a word
                }
                let _ = s
                    .write_all(b"RTSP/1.0 400 Bad Request\r\nCSeq: 0\r\nServer: PickyRTSP\r\n\r\n")
                    .await;
            });
        }
    });
    let opts = PortProbeOptions {
        ports: vec![port],
        io_timeout: Duration::from_millis(400),
        ..PortProbeOptions::default()
    };
    let r = ports::probe_ports("127.0.0.1".parse().unwrap(), &opts)
        .await
        .unwrap();
    assert_eq!(r.ports[0].service, Some(Service::Rtsp), "{:?}", r.ports[0]);
    assert_eq!(r.ports[0].server.as_deref(), Some("PickyRTSP"));
    assert_eq!(
        r.ports[0].url.as_deref(),
        Some(format!("rtsp://127.0.0.1:{port}/").as_str())
    );
}
