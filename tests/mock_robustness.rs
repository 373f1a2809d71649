//! The mock camera's own robustness, found by the fault matrix and the soak: liveness kept by
//! UDP RTCP, and a stalled camera letting go of the connections its clients closed.

#![cfg(feature = "mock")]

use std::time::{Duration, Instant};

use camlink::ErrorKind;
use camlink::auth::Credentials;
use camlink::mock::{Fault, MockCamera, ProfileConfig, VideoCodec};
use camlink::rtsp::client::{Item, Session, SessionOptions, Timeouts, TransportMode};

fn opts() -> SessionOptions {
    SessionOptions::new()
        .credentials(Credentials::new("admin", "secret"))
        .timeouts(Timeouts {
            connect: Duration::from_secs(1),
            response: Duration::from_millis(1500),
            first_packet: Duration::from_millis(1500),
            no_data: Duration::from_millis(1500),
            teardown: Duration::from_millis(500),
        })
}

async fn camera(timeout: Duration) -> MockCamera {
    MockCamera::builder()
        .credentials("admin", "secret")
        .profiles(vec![ProfileConfig::new("main", VideoCodec::H264, 160, 120)])
        .discovery_port(None)
        .session_timeout(timeout)
        .start()
        .await
        .expect("mock camera")
}

/// Not a fault but the liveness the faults are judged against: over UDP, RTCP receiver
/// reports keep a session alive (RFC 2326 §12.37; cameras count them), without keepalive
/// requests, beyond several session timeouts.
#[tokio::test]
async fn udp_receiver_reports_keep_a_mock_session_alive() {
    let cam = camera(Duration::from_secs(1)).await;
    let opts = opts()
        .transport(TransportMode::Udp)
        .keepalive(camlink::rtsp::session::KeepaliveMethod::None)
        .receiver_report_interval(Duration::from_millis(250));
    let mut s = Session::open(&cam.rtsp_url("main"), opts).await.unwrap();
    let started = Instant::now();
    // 100 frames at 25 a second: 4 s, four session timeouts.
    let mut frames = 0;
    while frames < 100 {
        let item = tokio::time::timeout(Duration::from_secs(10), s.next())
            .await
            .expect("bounded");
        match item {
            Some(Ok(Item::Video(_))) => frames += 1,
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("after {:?} and {frames} frames: {e}", started.elapsed()),
            None => panic!("ended after {frames} frames"),
        }
    }
}

/// Connections to a local TCP port (not listening ones), from /proc/net/tcp{,6}.
fn connections_on_port(port: u16) -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|t| t.lines().skip(1).map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local_port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            local_port == Some(port) && f.get(3) != Some(&"0A")
        })
        .count()
}

/// A stalled camera never answers, but lets go of each connection its client closed: a client
/// retrying against it does not pile up sockets on the camera (RTSP and HTTP).
#[tokio::test]
async fn a_stalled_mock_lets_go_of_connections_the_client_closed() {
    use tokio::io::AsyncWriteExt as _;
    let cam = camera(Duration::from_secs(60)).await;
    cam.set_fault(Fault::Stall);
    let url = cam.rtsp_url("main");
    let opts = opts().timeouts(Timeouts {
        response: Duration::from_millis(300),
        ..opts().timeouts
    });
    for _ in 0..5 {
        let e = Session::describe(&url, opts.clone()).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Timeout, "{e}");
        let mut c = tokio::net::TcpStream::connect(("127.0.0.1", cam.ports().http))
            .await
            .unwrap();
        c.write_all(b"GET /onvif/device_service HTTP/1.1\r\nHost: cam\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (rtsp, http) = (cam.ports().rtsp, cam.ports().http);
    let deadline = Instant::now() + Duration::from_secs(2);
    while (connections_on_port(rtsp) + connections_on_port(http)) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(connections_on_port(rtsp), 0, "RTSP connections kept");
    assert_eq!(connections_on_port(http), 0, "HTTP connections kept");
}
