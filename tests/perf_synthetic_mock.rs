//! The mock camera streams the synthetic H.264 stream (`ProfileConfig::with_synthetic`), paced
//! and unpaced, over TCP and UDP, and the client gets back exactly its access units.
#![cfg(feature = "mock")]

use std::time::{Duration, Instant};

use camlink::codec::nal::NalFormat;
use camlink::mock::synthetic::SyntheticH264;
use camlink::mock::{MockCamera, ProfileConfig, VideoCodec};
use camlink::rtsp::client::{Item, Session, SessionOptions, TransportMode};

const BITRATE: u32 = 4_000_000;

async fn play(transport: TransportMode, unpaced: bool, frames: usize) {
    let cam = MockCamera::builder()
        .no_auth()
        .unpaced(unpaced)
        .profiles(vec![
            ProfileConfig::new("synth", VideoCodec::H264, 640, 360).with_synthetic(BITRATE),
        ])
        .start()
        .await
        .unwrap();
    let opts = SessionOptions::new()
        .transport(transport)
        .nal_format(NalFormat::LengthPrefixed);
    let mut session = Session::open(&cam.rtsp_url("synth"), opts).await.unwrap();
    let want = SyntheticH264::new(BITRATE);
    let started = Instant::now();
    let mut got = 0usize;
    let mut first_ts = None;
    while got < frames {
        let item = tokio::time::timeout(Duration::from_secs(10), session.next())
            .await
            .expect("a frame within 10 s")
            .expect("the stream goes on")
            .unwrap();
        let Item::Video(f) = item else { continue };
        // The mock loops one keyframe interval; frame n of it is access unit n % gop.
        let ts0 = *first_ts.get_or_insert(f.frame.timestamp);
        let n = ((f.frame.timestamp - ts0) / 3600) as u64 % u64::from(want.gop);
        let au = want.access_unit(n);
        assert_eq!(f.frame.keyframe, au.keyframe, "frame {got}");
        assert_eq!(
            f.frame.payload.len(),
            au.to_format(NalFormat::LengthPrefixed).len(),
            "frame {got}"
        );
        assert_eq!(
            &f.frame.payload.to_vec()[..],
            &au.to_format(NalFormat::LengthPrefixed)[..],
            "frame {got}"
        );
        assert_eq!(f.frame.loss_before, 0, "frame {got}");
        got += 1;
    }
    let elapsed = started.elapsed();
    if !unpaced {
        // Paced at 25 fps: `frames` frames take about frames/25 s (the first comes at once).
        let min = Duration::from_millis((frames as u64 - 1) * 40 * 8 / 10);
        assert!(elapsed >= min, "{elapsed:?} for {frames} paced frames");
    }
    session.teardown().await.ok();
    cam.shutdown().await;
}

#[tokio::test]
async fn synthetic_stream_over_tcp_unpaced() {
    // More than one keyframe interval: the loop restarts with an IDR.
    play(TransportMode::Tcp, true, 120).await;
}

#[tokio::test]
async fn synthetic_stream_over_tcp_paced() {
    play(TransportMode::Tcp, false, 8).await;
}

#[tokio::test]
async fn synthetic_stream_over_udp_paced() {
    play(TransportMode::Udp, false, 8).await;
}

#[tokio::test]
async fn synthetic_profile_validation() {
    let mut p = ProfileConfig::new("bad", VideoCodec::H264, 640, 360).with_synthetic(BITRATE);
    p.video = VideoCodec::Jpeg;
    let r = MockCamera::builder()
        .no_auth()
        .profiles(vec![p])
        .start()
        .await;
    assert!(r.is_err());
    let p = ProfileConfig::new("low", VideoCodec::H264, 640, 360).with_synthetic(1);
    let r = MockCamera::builder()
        .no_auth()
        .profiles(vec![p])
        .start()
        .await;
    assert!(r.is_err());
}

#[tokio::test]
async fn synthetic_stream_over_udp_unpaced() {
    play(TransportMode::Udp, true, 20).await;
}
