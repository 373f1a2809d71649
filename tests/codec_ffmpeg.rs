//! Interop with ffmpeg (a third-party packetizer, encoder and decoder), loopback only:
//! - JPEG files made by ffmpeg go through our RFC 2435 packetizer and depacketizer, and ffmpeg
//!   decodes the rebuilt JFIF to exactly the same pixels as the original;
//! - ffmpeg's own RTP packetizers (H.264, H.265, MJPEG) send to a UDP socket on 127.0.0.1, our
//!   depacketizers rebuild the frames, and ffmpeg decodes them to the same pixels as the source.

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;

use camlink::codec::aac::{AacDepacketizer, AuHeaderLayout};
use camlink::codec::h264::H264Depacketizer;
use camlink::codec::h265::H265Depacketizer;
use camlink::codec::jpeg::{JpegDepacketizer, JpegPacketizer};
use camlink::codec::nal::NalFormat;
use camlink::codec::{Depacketizer, Frame, FrameInfo, Packetizer, PacketizerConfig};
use camlink::rtp::{ReorderBuffer, RtpPacket};

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

/// A path in the temporary directory whose file is removed when the value is dropped, also when
/// an assertion fails first.
struct TempFile(PathBuf);

impl std::ops::Deref for TempFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempFile {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tmp(name: &str) -> TempFile {
    TempFile(std::env::temp_dir().join(format!("camlink-jpeg-{}-{name}", std::process::id())))
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
        std::fs::write(&dst, frame.payload.to_bytes()).unwrap();
        let a = decode(ff, &src);
        let b = decode(ff, &dst);
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
    let mut tx = JpegPacketizer::new(PacketizerConfig::new(26, 9)).unwrap();
    let err = tx.packetize(&jpeg, 0, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), &camlink::ErrorKind::Unsupported);
}

/// Runs ffmpeg sending `input` (copied, not re-encoded) as RTP to a loopback UDP socket and
/// returns the packets received, in arrival order.
fn ffmpeg_rtp(ff: &str, input: &Path) -> Vec<Bytes> {
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rtcp = UdpSocket::bind("127.0.0.1:0").unwrap();
    rtp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let url = format!(
        "rtp://127.0.0.1:{}?rtcpport={}&pkt_size=1200",
        rtp.local_addr().unwrap().port(),
        rtcp.local_addr().unwrap().port()
    );
    let mut child = Command::new(ff)
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-re",
            "-i",
        ])
        .arg(input)
        .args(["-c", "copy", "-f", "rtp", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut packets = Vec::new();
    let mut buf = vec![0u8; 65_536];
    let mut exited = false;
    while Instant::now() < deadline {
        match rtp.recv(&mut buf) {
            Ok(n) => packets.push(Bytes::copy_from_slice(&buf[..n])),
            Err(_) if exited => break,
            Err(_) => {}
        }
        if !exited && child.try_wait().unwrap().is_some() {
            exited = true;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    packets
}

/// Packets → reorder buffer → depacketizer → frames.
fn depacketize(d: &mut dyn Depacketizer, packets: Vec<Bytes>) -> Vec<Frame> {
    let now = Instant::now();
    let mut rb = ReorderBuffer::new(32, Duration::from_millis(200));
    let mut frames = Vec::new();
    for p in packets {
        rb.push(RtpPacket::parse(p).expect("ffmpeg's RTP parses"), now);
        while let Some(r) = rb.pop(now) {
            d.push(&r.packet).expect("ffmpeg's payload accepted");
            frames.extend(std::iter::from_fn(|| d.pull()));
        }
    }
    while let Some(r) = rb.pop(now + Duration::from_secs(1)) {
        d.push(&r.packet).expect("ffmpeg's payload accepted");
    }
    d.flush();
    frames.extend(std::iter::from_fn(|| d.pull()));
    frames
}

fn md5_of_decoded(ff: &str, file: &Path, format: &str) -> String {
    let out = run(
        ff,
        &[
            "-f",
            format,
            "-i",
            file.to_str().unwrap(),
            "-f",
            "framemd5",
            "-",
        ],
    );
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap_or("").trim().to_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Encodes `frames` frames of a test pattern with `codec_args` into `format`, sends them through
/// ffmpeg's RTP packetizer, depacketizes with `d`, and compares decoded pixels.
fn ffmpeg_interop(
    name: &str,
    frames: u32,
    codec_args: &[&str],
    format: &str,
    d: &mut dyn Depacketizer,
) -> Vec<Frame> {
    let Some(ff) = ffmpeg() else {
        return Vec::new();
    };
    let src = tmp(&format!("{name}-src.{format}"));
    let dst = tmp(&format!("{name}-dst.{format}"));
    let mut args = vec![
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-frames:v",
    ];
    let n = frames.to_string();
    args.push(&n);
    args.extend_from_slice(codec_args);
    args.extend_from_slice(&["-f", format, src.to_str().unwrap()]);
    run(ff, &args);
    let packets = ffmpeg_rtp(ff, &src);
    assert!(!packets.is_empty(), "{name}: no RTP received");
    let got = depacketize(d, packets);
    let bytes: Vec<u8> = got.iter().flat_map(|f| f.payload.to_vec()).collect();
    std::fs::write(&dst, &bytes).unwrap();
    let (a, b) = (
        md5_of_decoded(ff, &src, format),
        md5_of_decoded(ff, &dst, format),
    );
    assert_eq!(got.len() as u32, frames, "{name}: frame count");
    assert!(
        got.iter().all(|f| f.loss_before == 0),
        "{name}: loss on loopback"
    );
    assert_eq!(
        a.split(' ').filter(|m| m.len() == 32).count() as u32,
        frames,
        "{name}: source decodes"
    );
    assert_eq!(a, b, "{name}: decoded frames differ");
    got
}

#[test]
fn ffmpeg_h264_rtp_depacketizes_to_the_same_pictures() {
    let mut d = H264Depacketizer::new(NalFormat::AnnexB);
    let got = ffmpeg_interop(
        "h264",
        50,
        &[
            "-c:v", "libx264", "-g", "25", "-bf", "0", "-pix_fmt", "yuv420p", "-b:v", "1M",
        ],
        "h264",
        &mut d,
    );
    if !got.is_empty() {
        assert_eq!(got.iter().filter(|f| f.keyframe).count(), 2);
        assert!(d.sps().is_some() && d.pps().is_some());
    }
}

#[test]
fn ffmpeg_h265_rtp_depacketizes_to_the_same_pictures() {
    let mut d = H265Depacketizer::new(NalFormat::AnnexB);
    let got = ffmpeg_interop(
        "h265",
        30,
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "keyint=15:bframes=0:log-level=error",
            "-pix_fmt",
            "yuv420p",
            "-b:v",
            "1M",
        ],
        "hevc",
        &mut d,
    );
    if !got.is_empty() {
        assert_eq!(got.iter().filter(|f| f.keyframe).count(), 2);
        assert!(d.vps().is_some() && d.sps().is_some() && d.pps().is_some());
    }
}

#[test]
fn ffmpeg_mjpeg_rtp_depacketizes_to_the_same_pictures() {
    let mut d = JpegDepacketizer::new();
    ffmpeg_interop(
        "mjpeg",
        10,
        &[
            "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-huffman", "default", "-q:v", "5",
        ],
        "mjpeg",
        &mut d,
    );
}

/// The raw AUs of an ADTS file.
fn adts_frames(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(h) = data.get(pos..pos + 7) {
        assert_eq!((h[0], h[1] & 0xf0), (0xff, 0xf0), "ADTS sync at {pos}");
        let header = if h[1] & 1 == 1 { 7 } else { 9 };
        let len = (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        out.push(&data[pos + header..pos + len]);
        pos += len;
    }
    out
}

#[test]
fn ffmpeg_aac_rtp_depacketizes_to_the_same_access_units() {
    let Some(ff) = ffmpeg() else { return };
    // In MP4 (ffmpeg's RTP muxer wants the AudioSpecificConfig out of band), and the same AUs
    // as ADTS for reference.
    let src = tmp("aac-src.m4a");
    let reference = tmp("aac-ref.aac");
    run(
        ff,
        &[
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:sample_rate=48000",
            "-t",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-f",
            "mp4",
            src.to_str().unwrap(),
        ],
    );
    run(
        ff,
        &[
            "-y",
            "-i",
            src.to_str().unwrap(),
            "-c",
            "copy",
            "-f",
            "adts",
            reference.to_str().unwrap(),
        ],
    );
    let data = std::fs::read(&reference).unwrap();
    let want = adts_frames(&data);
    let packets = ffmpeg_rtp(ff, &src);
    // AU headers sent (16 bits each in AAC-hbr): ffmpeg's muxer does not send its last
    // buffered AU, so the sent count, not the file's, is what must come out.
    let sent: usize = packets
        .iter()
        .map(|p| RtpPacket::parse(p.clone()).unwrap())
        .map(|p| usize::from(u16::from_be_bytes([p.payload()[0], p.payload()[1]])) / 16)
        .sum();
    let mut d = AacDepacketizer::new(48_000, AuHeaderLayout::AAC_HBR).unwrap();
    let got = depacketize(&mut d, packets);
    assert!(
        want.len() > 40 && sent + 1 >= want.len(),
        "{sent} of {} sent",
        want.len()
    );
    assert_eq!(got.len(), sent);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(&g.payload.to_vec()[..], *w, "AU {i}");
    }
    // Timestamps advance 1024 samples per AU, also for AUs that shared a packet.
    assert!(
        got.windows(2)
            .all(|p| p[1].timestamp - p[0].timestamp == 1024)
    );
}
