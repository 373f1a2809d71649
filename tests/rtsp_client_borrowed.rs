//! The client's in-place path for H.264 over TCP (RTP parsed and depacketized where it lies
//! in the read buffer) under packet loss, duplication and reordering: every frame that comes
//! out is exactly an access unit of the stream, and the losses come out as loss reports. The
//! frames refer to the read buffer (zero-copy): they come in pieces.
#![cfg(feature = "mock")]

use std::time::Duration;

use camlink::codec::nal::NalFormat;
use camlink::mock::synthetic::SyntheticH264;
use camlink::mock::{Fault, MockCamera, ProfileConfig, VideoCodec};
use camlink::rtsp::client::{Item, Session, SessionOptions, TransportMode};

const BITRATE: u32 = 4_000_000;

#[tokio::test]
async fn tcp_h264_with_loss_duplicates_and_reordering_gives_whole_frames_and_loss_reports() {
    let cam = MockCamera::builder()
        .no_auth()
        .unpaced(true)
        .profiles(vec![
            ProfileConfig::new("synth", VideoCodec::H264, 640, 360).with_synthetic(BITRATE),
        ])
        .fault(Fault::PacketLoss(0.01))
        .fault(Fault::PacketDuplicate(0.01))
        .fault(Fault::PacketReorder(0.01))
        .start()
        .await
        .unwrap();
    let opts = SessionOptions::new()
        .transport(TransportMode::Tcp)
        .nal_format(NalFormat::LengthPrefixed);
    let mut session = Session::open(&cam.rtsp_url("synth"), opts).await.unwrap();
    let want = SyntheticH264::new(BITRATE);
    // The mock loops one keyframe interval: every frame is one of its access units.
    let aus: Vec<Vec<u8>> = (0..u64::from(want.gop))
        .map(|n| want.access_unit(n).to_format(NalFormat::LengthPrefixed))
        .collect();
    let (mut frames, mut lost, mut loss_before, mut pieces) = (0usize, 0u64, 0u64, 0usize);
    while frames < 150 {
        let item = tokio::time::timeout(Duration::from_secs(10), session.next())
            .await
            .expect("an item within 10 s")
            .expect("the stream goes on")
            .unwrap();
        match item {
            Item::Video(f) => {
                pieces += f.frame.payload.chunk_count();
                let p = &f.frame.payload.to_vec()[..];
                // A loss right before an access unit's first packet cannot be told from a loss
                // between units (documented on `Frame::loss_before`): such a frame may lack its
                // leading NAL units (e.g. the SPS/PPS packet before an IDR slice), so it is a
                // tail of an access unit. Any other frame is a whole one.
                let whole = aus.iter().any(|au| au[..] == *p);
                let tail = f.frame.loss_before > 0 && aus.iter().any(|au| au.ends_with(p));
                assert!(
                    whole || tail,
                    "frame {frames} ({} bytes, loss_before {}) is no access unit of the stream",
                    p.len(),
                    f.frame.loss_before
                );
                loss_before += f.frame.loss_before;
                frames += 1;
            }
            Item::Loss { packets, .. } => lost += packets,
            _ => {}
        }
    }
    // 1 % of the roughly 2 000 packets of 150 frames are dropped: some loss is reported, and
    // the Loss items add up to the frames' loss_before.
    assert!(lost > 0, "no loss reported");
    // Frames of about a dozen packets each: several pieces per frame, not one copied buffer
    // (a frame whose start was copied out before a wait still refers to the rest).
    assert!(pieces > 5 * frames, "{pieces} pieces for {frames} frames");
    assert_eq!(
        lost, loss_before,
        "Loss items match the frames' loss_before"
    );
    session.teardown().await.ok();
    cam.shutdown().await;
}
