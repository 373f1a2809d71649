//! The port probe against the mock camera (its ONVIF, HTTPS, RTSP and RTSPS ports identified, a
//! closed port reported closed, risky exposure flagged, all within a bounded time), and replay
//! fixtures built at run time from real-camera captures (they answer exactly those bytes).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use camlink::discovery::ports::{PortProbeOptions, Risk, Service, probe_ports};
use camlink::mock::MockCamera;
use camlink::onvif::{device, soap};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn free_closed_port() -> u16 {
    // Bind and drop: nothing listens there afterwards.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn port_probe_identifies_the_mock() {
    let cam = MockCamera::builder()
        .credentials("admin", "probe")
        .start()
        .await
        .unwrap();
    let p = cam.ports();
    let closed = free_closed_port();
    let opts = PortProbeOptions {
        ports: vec![p.http, p.https.unwrap(), p.rtsp, p.rtsps.unwrap(), closed],
        ..PortProbeOptions::default()
    };
    let t0 = Instant::now();
    let report = probe_ports(IpAddr::V4(Ipv4Addr::LOCALHOST), &opts)
        .await
        .unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "took {:?}",
        t0.elapsed()
    );
    let by_port = |port: u16| report.ports.iter().find(|r| r.port == port).unwrap();
    assert_eq!(by_port(p.http).service, Some(Service::Onvif), "{report:#?}");
    assert_eq!(
        by_port(p.http).url.as_deref(),
        Some(cam.device_service_url().as_str())
    );
    let https = by_port(p.https.unwrap());
    assert_eq!(https.service, Some(Service::Onvif), "{report:#?}");
    assert!(https.tls);
    let fp = https
        .tls_sha256
        .as_deref()
        .unwrap()
        .to_ascii_uppercase()
        .replace(':', "");
    assert_eq!(fp, cam.https_fingerprint().unwrap().replace(':', ""));
    assert_eq!(by_port(p.rtsp).service, Some(Service::Rtsp), "{report:#?}");
    assert_eq!(
        by_port(p.rtsps.unwrap()).service,
        Some(Service::Rtsp),
        "{report:#?}"
    );
    assert!(!by_port(closed).open);
    // Plain HTTP and RTSP next to their TLS twins are flagged.
    assert!(
        report
            .risks
            .iter()
            .any(|r| matches!(r, Risk::PlainHttpWhereHttpsAvailable { .. })),
        "{:?}",
        report.risks
    );
    assert!(
        report
            .risks
            .iter()
            .any(|r| matches!(r, Risk::PlainRtspWhereRtspsAvailable { .. })),
        "{:?}",
        report.risks
    );
}

async fn raw_exchange(addr: (&str, u16), request: &[u8]) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
    out
}

#[tokio::test]
async fn replay_fixture_from_real_captures_answers_those_bytes() {
    let Some(captures) = common::real_captures() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("camlink-replay-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("onvif/device")).unwrap();
    std::fs::create_dir_all(dir.join("rtsp")).unwrap();
    let info = std::fs::read(captures.join("onvif/axis_M2025-LE_device_GetDeviceInformation.xml"))
        .unwrap();
    std::fs::write(dir.join("onvif/device/GetDeviceInformation.xml"), &info).unwrap();
    let describe = std::fs::read(captures.join("rtsp/dahua_describe_h264_aac_onvif.txt")).unwrap();
    std::fs::write(dir.join("rtsp/describe.txt"), &describe).unwrap();
    std::fs::write(dir.join("camera.toml"), "auth = [\"none\"]\n").unwrap();
    let cam = MockCamera::builder()
        .fixture(&dir)
        .unwrap()
        .start()
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    // ONVIF: the body of the answer is the captured file, byte for byte.
    let call = device::get_device_information();
    let env = soap::build_request(&call.body, None, None);
    let req = format!(
        "POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{env}",
        soap::content_type(&call.action),
        env.len()
    );
    let answer = raw_exchange(("127.0.0.1", cam.ports().http), req.as_bytes()).await;
    let body_at = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(&answer[body_at..], &info[..]);
    let el = soap::parse_http_response(200, &answer[body_at..]).unwrap();
    assert_eq!(
        device::parse_device_information(&el).unwrap().model,
        "M2025-LE"
    );

    // RTSP: the captured DESCRIBE response comes back as it is, with our CSeq.
    let req = format!(
        "DESCRIBE {} RTSP/1.0\r\nCSeq: 9\r\n\r\n",
        cam.rtsp_url("main")
    );
    let answer = raw_exchange(("127.0.0.1", cam.ports().rtsp), req.as_bytes()).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.contains("CSeq: 9\r\n"), "{text}");
    let strip = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("cseq:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&text), strip(&String::from_utf8_lossy(&describe)));
}

#[tokio::test]
async fn probe_by_name_prefers_ipv4() {
    // `localhost` may resolve to ::1 first; the mock listens on 127.0.0.1 only.
    let cam = MockCamera::builder().no_auth().start().await.unwrap();
    let opts = PortProbeOptions {
        ports: vec![cam.ports().rtsp],
        ..PortProbeOptions::default()
    };
    let report = camlink::discovery::ports::probe_host("localhost", &opts)
        .await
        .unwrap();
    assert_eq!(report.host, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(report.ports[0].service, Some(Service::Rtsp), "{report:#?}");
}
