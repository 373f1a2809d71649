//! The client's SDP → stream → depacketizer wiring over every DESCRIBE answer and SDP of the
//! real-camera captures (`CAMLINK_REAL_CAPTURES`): each camera offers a video stream camlink
//! can receive, and every stream with a known codec gets a depacketizer configured from it.

mod common;

use camlink::codec::nal::NalFormat;
use camlink::rtsp::client::{MediaKind, StreamInfo, depacketizer_for};
use camlink::rtsp::message::Response;
use camlink::rtsp::sdp::{Codec, SessionDescription};

#[test]
fn every_captured_sdp_wires_to_depacketizers() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let base = url::Url::parse("rtsp://192.0.2.1/live/").unwrap();
    let mut cameras = 0;
    for f in common::capture_files(&dir, "rtsp") {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains("describe") && !name.contains("sdp") {
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        let body = match Response::parse(&bytes) {
            Ok(r) if !r.body.is_empty() => r.body.to_vec(),
            _ => match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                Some(i) if bytes.starts_with(b"RTSP/") => bytes[i + 4..].to_vec(),
                _ => bytes.clone(),
            },
        };
        let sdp = SessionDescription::parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let streams: Vec<StreamInfo> = sdp
            .media
            .iter()
            .enumerate()
            .map(|(i, m)| StreamInfo::from_media(i, m, &base).unwrap())
            .collect();
        assert!(
            streams
                .iter()
                .any(|s| s.kind == MediaKind::Video && s.is_supported()),
            "{name}: no receivable video stream in {streams:#?}"
        );
        for s in &streams {
            let d = depacketizer_for(s, NalFormat::AnnexB);
            match &s.codec {
                Codec::Other(_) => assert!(d.is_err(), "{name} #{}", s.index),
                _ => {
                    let d = d.unwrap_or_else(|e| panic!("{name} #{}: {e}", s.index));
                    assert!(d.clock_rate() > 0, "{name} #{}", s.index);
                }
            }
        }
        cameras += 1;
    }
    assert!(cameras >= 15, "only {cameras} SDPs found");
}
