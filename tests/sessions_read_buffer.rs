//! `SessionOptions::read_buffer`: the per-connection read reserve a VMS lowers to save memory
//! with many sessions (measured by `scripts/bench-sessions.sh`). Any value, however small or
//! large, plays the same frames as the default.
#![cfg(feature = "mock")]

use std::time::Duration;

use camlink::mock::MockCamera;
use camlink::rtsp::client::{Item, Session, SessionOptions, TransportMode};

/// The first `n` video frames (payload and RTP timestamp) of a fresh TCP session.
async fn first_frames(url: &str, read_buffer: Option<usize>, n: usize) -> Vec<(Vec<u8>, i64)> {
    let mut opts = SessionOptions::new().transport(TransportMode::Tcp);
    if let Some(b) = read_buffer {
        opts = opts.read_buffer(b);
    }
    let mut s = Session::open(url, opts).await.expect("open");
    let mut frames = Vec::new();
    let mut first_ts = None;
    while frames.len() < n {
        let item = tokio::time::timeout(Duration::from_secs(10), s.next())
            .await
            .expect("a frame within 10 s")
            .expect("stream ended")
            .expect("no error");
        match item {
            Item::Video(f) => {
                let t0 = *first_ts.get_or_insert(f.frame.timestamp);
                frames.push((f.frame.payload.to_vec(), f.frame.timestamp - t0));
            }
            Item::Loss { packets, .. } => panic!("lost {packets} packets on loopback"),
            _ => {}
        }
    }
    frames
}

#[tokio::test]
async fn tiny_and_huge_read_buffers_play_the_same_frames_as_the_default() {
    let cam = MockCamera::builder().no_auth().start().await.expect("mock");
    let url = cam.rtsp_url("main");
    let n = 30;
    let default = first_frames(&url, None, n).await;
    // 1 byte is raised to MIN_READ_CHUNK (4 KiB), usize::MAX lowered to MAX_READ_CHUNK.
    let tiny = first_frames(&url, Some(1), n).await;
    let huge = first_frames(&url, Some(usize::MAX), n).await;
    assert_eq!(default.len(), n);
    assert!(default.iter().all(|(p, _)| !p.is_empty()));
    assert_eq!(tiny, default, "4 KiB reads: the same frames");
    assert_eq!(huge, default, "16 MiB reserve: the same frames");
    cam.shutdown().await;
}
