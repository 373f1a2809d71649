//! The RTSP client against each fault of the mock camera, with the outcome documented in
//! `camlink::rtsp::client` (module docs, "Outcomes under faults").

#![cfg(feature = "mock")]

use std::time::Duration;

use camlink::ErrorKind;
use camlink::auth::Credentials;
use camlink::mock::{AudioCodec, Fault, MockCamera, ProfileConfig, VideoCodec};
use camlink::rtsp::client::{Item, Session, SessionOptions, Timeouts, TransportMode};

const LIMIT: Duration = Duration::from_secs(20);

fn opts() -> SessionOptions {
    SessionOptions::new()
        .credentials(Credentials::new("admin", "secret"))
        .timeouts(Timeouts {
            response: Duration::from_secs(2),
            first_packet: Duration::from_secs(2),
            no_data: Duration::from_secs(2),
            ..Timeouts::default()
        })
}

async fn camera() -> MockCamera {
    MockCamera::builder()
        .credentials("admin", "secret")
        .profiles(vec![
            ProfileConfig::new("main", VideoCodec::H264, 320, 240).with_audio(AudioCodec::Pcmu),
        ])
        .unpaced(true)
        .start()
        .await
        .expect("mock camera")
}

/// A camera paced in real time: over UDP an unpaced one could overflow the socket buffer on a
/// loaded machine, which would be real loss.
async fn paced_camera() -> MockCamera {
    MockCamera::builder()
        .credentials("admin", "secret")
        .profiles(vec![
            ProfileConfig::new("main", VideoCodec::H264, 320, 240).with_audio(AudioCodec::Pcmu),
        ])
        .start()
        .await
        .expect("mock camera")
}

#[derive(Debug, Default)]
struct Run {
    frames: usize,
    loss: u64,
    loss_before: u64,
    error: Option<camlink::Error>,
    ended: bool,
}

/// Reads until `frames` frames, an error or the end.
async fn run(s: &mut Session, frames: usize) -> Run {
    let mut r = Run::default();
    tokio::time::timeout(LIMIT, async {
        while r.frames < frames {
            match s.next().await {
                None => {
                    r.ended = true;
                    break;
                }
                Some(Err(e)) => {
                    r.error = Some(e);
                    // After an error the stream ends.
                    r.ended = s.next().await.is_none();
                    break;
                }
                Some(Ok(Item::Loss { packets, .. })) => r.loss += packets,
                Some(Ok(i)) => {
                    if let Some(f) = i.frame() {
                        r.frames += 1;
                        r.loss_before += f.frame.loss_before;
                    }
                }
            }
        }
    })
    .await
    .expect("bounded");
    r
}

#[tokio::test]
async fn refused_connections_are_io_errors() {
    let cam = camera().await;
    cam.set_fault(Fault::RefuseConnections);
    let e = Session::describe(&cam.rtsp_url("main"), opts())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Io, "{e}");
    assert!(e.to_string().contains("127.0.0.1"), "no peer in {e}");
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = Session::describe(&format!("rtsp://127.0.0.1:{port}/x"), opts())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unreachable, "{e}");
}

#[tokio::test]
async fn dropped_connections_are_io_errors() {
    let cam = camera().await;
    cam.set_fault(Fault::DropConnections);
    let e = Session::describe(&cam.rtsp_url("main"), opts())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Io, "{e}");
}

#[tokio::test]
async fn stalled_camera_times_out() {
    let cam = camera().await;
    cam.set_fault(Fault::Stall);
    let e = Session::describe(&cam.rtsp_url("main"), opts())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Timeout, "{e}");
    assert_eq!(e.method(), Some("OPTIONS"), "{e}");
}

#[tokio::test]
async fn slow_answers_within_the_timeout_work_and_beyond_it_time_out() {
    let cam = camera().await;
    cam.set_fault(Fault::SlowAnswers(Duration::from_millis(300)));
    let mut s = Session::open(&cam.rtsp_url("main"), opts()).await.unwrap();
    assert_eq!(run(&mut s, 5).await.frames, 5);
    cam.set_fault(Fault::SlowAnswers(Duration::from_secs(3)));
    let e = Session::describe(&cam.rtsp_url("main"), opts())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn close_mid_stream_gives_frames_then_one_io_error() {
    let cam = camera().await;
    cam.set_fault(Fault::CloseMidStream { after_packets: 200 });
    let mut s = Session::open(&cam.rtsp_url("main"), opts()).await.unwrap();
    let r = run(&mut s, 100_000).await;
    assert!(r.frames > 5, "{r:?}");
    assert_eq!(
        r.error.as_ref().map(|e| e.kind().clone()),
        Some(ErrorKind::Io),
        "{r:?}"
    );
    assert!(r.ended, "the stream goes on after the error");
}

#[tokio::test]
async fn packet_loss_is_reported() {
    let cam = camera().await;
    cam.set_fault(Fault::PacketLoss(0.05));
    let mut s = Session::open(&cam.rtsp_url("main"), opts()).await.unwrap();
    let r = run(&mut s, 300).await;
    assert!(r.error.is_none(), "{r:?}");
    assert!(r.loss > 0, "{r:?}");
    assert_eq!(
        r.loss, r.loss_before,
        "Loss items and Frame::loss_before disagree"
    );
}

#[tokio::test]
async fn reordering_over_udp_is_repaired() {
    let cam = paced_camera().await;
    cam.set_fault(Fault::PacketReorder(0.1));
    let mut s = Session::open(&cam.rtsp_url("main"), opts().transport(TransportMode::Udp))
        .await
        .unwrap();
    let r = run(&mut s, 150).await;
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.loss, 0, "{r:?}");
}

#[tokio::test]
async fn reordering_over_tcp_is_reported_as_loss() {
    let cam = camera().await;
    cam.set_fault(Fault::PacketReorder(0.05));
    let mut s = Session::open(&cam.rtsp_url("main"), opts()).await.unwrap();
    let r = run(&mut s, 300).await;
    assert!(r.error.is_none(), "{r:?}");
    assert!(r.loss > 0, "{r:?}");
}

#[tokio::test]
async fn duplicates_are_dropped_silently() {
    for transport in [TransportMode::Tcp, TransportMode::Udp] {
        let cam = if transport == TransportMode::Udp {
            paced_camera().await
        } else {
            camera().await
        };
        cam.set_fault(Fault::PacketDuplicate(0.1));
        let mut s = Session::open(&cam.rtsp_url("main"), opts().transport(transport))
            .await
            .unwrap();
        let r = run(&mut s, 150).await;
        assert!(r.error.is_none(), "{transport:?}: {r:?}");
        assert_eq!(r.loss, 0, "{transport:?}: {r:?}");
    }
}

#[tokio::test]
async fn stopped_rtp_times_out() {
    let cam = camera().await;
    let mut s = Session::open(&cam.rtsp_url("main"), opts()).await.unwrap();
    assert_eq!(run(&mut s, 5).await.frames, 5);
    cam.set_fault(Fault::StopRtp);
    let r = run(&mut s, 100_000).await;
    assert_eq!(r.error.map(|e| e.kind().clone()), Some(ErrorKind::Timeout));
}

#[tokio::test]
async fn early_session_expiry_ends_in_a_timeout() {
    let cam = camera().await;
    cam.set_fault(Fault::ExpireSessionEarly(Duration::from_millis(500)));
    // Receiver reports over TCP count as activity for the mock: make them rare.
    let mut s = Session::open(
        &cam.rtsp_url("main"),
        opts().receiver_report_interval(Duration::from_secs(60)),
    )
    .await
    .unwrap();
    let r = run(&mut s, 100_000).await;
    assert_eq!(r.error.map(|e| e.kind().clone()), Some(ErrorKind::Timeout));
}

#[tokio::test]
async fn unauthorized_forever_is_unauthorized() {
    let cam = camera().await;
    cam.set_fault(Fault::Unauthorized);
    let e = Session::describe(&cam.rtsp_url("main"), opts())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unauthorized, "{e}");
}

#[tokio::test]
async fn rotating_nonces_are_followed() {
    let cam = camera().await;
    cam.set_fault(Fault::RotateNonce);
    let mut s = Session::open(&cam.rtsp_url("main"), opts()).await.unwrap();
    let r = run(&mut s, 20).await;
    assert_eq!(r.frames, 20, "{r:?}");
    s.teardown().await.unwrap();
}

#[tokio::test]
async fn changing_session_ids_are_followed() {
    let cam = camera().await;
    cam.set_fault(Fault::ChangeSessionId);
    let mut s = Session::describe(&cam.rtsp_url("main"), opts())
        .await
        .unwrap();
    s.setup(0).await.unwrap();
    let first = s.session_id().unwrap().to_owned();
    s.setup(1).await.unwrap();
    assert_ne!(s.session_id().unwrap(), first);
    s.play().await.unwrap();
    assert_eq!(run(&mut s, 20).await.frames, 20);
}

#[tokio::test]
async fn malformed_sdp_is_refused() {
    let cam = camera().await;
    cam.set_fault(Fault::MalformedSdp);
    let e = Session::open(&cam.rtsp_url("main"), opts())
        .await
        .unwrap_err();
    // The lenient SDP parser keeps the broken media line; no codec is usable in it.
    assert_eq!(e.kind(), &ErrorKind::Unsupported, "{e}");
}

#[tokio::test]
async fn reboot_breaks_the_session_and_a_new_one_plays() {
    // Paced: an unpaced mock keeps streaming on connections of before the reboot.
    let cam = MockCamera::builder()
        .credentials("admin", "secret")
        .profiles(vec![ProfileConfig::new("main", VideoCodec::H264, 320, 240)])
        .start()
        .await
        .unwrap();
    let mut s = Session::open(&cam.rtsp_url("main"), opts()).await.unwrap();
    assert_eq!(run(&mut s, 5).await.frames, 5);
    cam.reboot(Duration::from_millis(300)).await;
    let r = run(&mut s, 100_000).await;
    assert_eq!(
        r.error.as_ref().map(|e| e.kind().clone()),
        Some(ErrorKind::Io),
        "{r:?}"
    );
    let mut s = Session::open(&cam.rtsp_url("main"), opts()).await.unwrap();
    assert_eq!(run(&mut s, 5).await.frames, 5);
}
