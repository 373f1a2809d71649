//! Interop: JPEG files made by ffmpeg go through our RFC 2435 packetizer and depacketizer, and
//! ffmpeg decodes the rebuilt JFIF to exactly the same pixels as the original.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use camlink::codec::jpeg::{JpegDepacketizer, JpegPacketizer};
use camlink::codec::{Depacketizer, FrameInfo, Packetizer, PacketizerConfig};
use camlink::rtp::RtpPacket;

/// ffmpeg, required where CI runs (CAMLINK_REAL_CAPTURES set), optional on a developer machine.
fn ffmpeg() -> Option<&'static str> {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CAMLINK_REAL_CAPTURES").is_none(),
            "ffmpeg is required in CI (scripts/install-test-deps.sh)"
        );
        eprintln!("ffmpeg not found: JPEG interop test skipped");
        return None;
    }
    Some("ffmpeg")
}

fn run(ffmpeg: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn decode(ffmpeg: &str, jpeg: &Path) -> Vec<u8> {
    run(
        ffmpeg,
        &[
            "-i",
            jpeg.to_str().unwrap(),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv444p",
            "-",
        ],
    )
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("camlink-jpeg-{}-{name}", std::process::id()))
}

#[test]
fn ffmpeg_jpeg_survives_rtp_and_decodes_identically() {
    let Some(ff) = ffmpeg() else { return };
    for (pix, size) in [("yuvj420p", "320x240"), ("yuvj420p", "176x144")] {
        let src = tmp(&format!("{size}-in.jpg"));
        let dst = tmp(&format!("{size}-out.jpg"));
        run(
            ff,
            &[
                "-y",
                "-f",
                "lavfi",
                "-i",
                &format!("testsrc2=size={size}:rate=1"),
                "-frames:v",
                "1",
                "-pix_fmt",
                pix,
                "-huffman",
                "default",
                "-q:v",
                "4",
                "-f",
                "mjpeg",
                src.to_str().unwrap(),
            ],
        );
        let jpeg = std::fs::read(&src).unwrap();
        let mut tx = JpegPacketizer::new(PacketizerConfig::new(26, 9).mtu(1400)).unwrap();
        let mut packets = Vec::new();
        tx.packetize(&jpeg, 1234, &mut packets).unwrap();
        assert!(packets.len() > 1, "{pix}: expected a multi-packet frame");
        let mut rx = JpegDepacketizer::new();
        for p in packets {
            rx.push(&RtpPacket::parse(p).unwrap()).unwrap();
        }
        let frame = rx.pull().expect("a JPEG frame");
        let (w, h) = size.split_once('x').unwrap();
        assert_eq!(
            frame.info,
            FrameInfo::Jpeg {
                width: w.parse().unwrap(),
                height: h.parse().unwrap()
            }
        );
        std::fs::write(&dst, &frame.payload).unwrap();
        let a = decode(ff, &src);
        let b = decode(ff, &dst);
        let _ = (std::fs::remove_file(&src), std::fs::remove_file(&dst));
        assert!(!a.is_empty());
        assert!(a == b, "{pix}: decoded pixels differ");
    }
}

#[test]
fn ffmpeg_422_layout_rfc2435_cannot_carry_is_refused_not_mangled() {
    let Some(ff) = ffmpeg() else { return };
    // ffmpeg writes 4:2:2 as Y 2x2 + chroma 1x2, a layout RFC 2435 has no type for.
    let src = tmp("422.jpg");
    run(
        ff,
        &[
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=176x144:rate=1",
            "-frames:v",
            "1",
            "-pix_fmt",
            "yuvj422p",
            "-huffman",
            "default",
            "-f",
            "mjpeg",
            src.to_str().unwrap(),
        ],
    );
    let jpeg = std::fs::read(&src).unwrap();
    let _ = std::fs::remove_file(&src);
    let mut tx = JpegPacketizer::new(PacketizerConfig::new(26, 9)).unwrap();
    let err = tx.packetize(&jpeg, 0, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), &camlink::ErrorKind::Unsupported);
}
