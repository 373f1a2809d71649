//! Record a camera's H.264 video into an MP4 file that ffprobe, ffmpeg and players accept.
//!
//! ```text
//! cargo run --example record --features mock -- --out clip.mp4          # from a mock camera
//! CAMLINK_PASSWORD=... cargo run --example record --features mock -- \
//!     --url rtsp://192.0.2.10/Streaming/Channels/101 --user admin --out clip.mp4 [--seconds 10]
//! ```
//!
//! The MP4 boxes are written by the `mp4` crate; camlink hands it access units in AVCC
//! (length-prefixed) form, which is what an `avc1` track stores.

use std::path::{Path, PathBuf};
use std::time::Duration;

use camlink::auth::Credentials;
use camlink::codec::nal::NalFormat;
use camlink::codec::sps::h264_dimensions;
use camlink::mock::MockCamera;
use camlink::rtsp::client::{Item, Session, SessionOptions};
use camlink::rtsp::sdp::Codec;
use camlink::{Error, ErrorKind};

fn mp4_err(e: mp4::Error) -> Error {
    Error::new(ErrorKind::Io, format!("MP4 writer: {e}"))
}

/// Records `how_long` of the first H.264 stream of `url` into `out`; returns the number of
/// frames written.
pub async fn record(
    url: &str,
    credentials: Credentials,
    out: &Path,
    how_long: Duration,
) -> camlink::Result<u64> {
    // Recording needs no frame the moment it arrives: with read coalescing the session wakes
    // about five times a second instead of once per frame, for less CPU per camera.
    let options = SessionOptions::new()
        .credentials(credentials)
        .nal_format(NalFormat::LengthPrefixed)
        .read_coalescing(Duration::from_millis(200));
    let mut session = Session::describe(url, options).await?;
    let (index, sps, pps) = session
        .streams()
        .iter()
        .find_map(|s| match &s.codec {
            Codec::H264(p) => Some((s.index, p.sps.first().cloned(), p.pps.first().cloned())),
            _ => None,
        })
        .ok_or_else(|| Error::new(ErrorKind::Unsupported, "the stream has no H.264 video"))?;
    let (Some(sps), Some(pps)) = (sps, pps) else {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "the camera sends no SPS/PPS in its SDP (in-band parameter sets are not handled by this example)",
        ));
    };
    let (width, height) =
        h264_dimensions(&sps).ok_or_else(|| Error::new(ErrorKind::Malformed, "unreadable SPS"))?;
    session.setup(index).await?;
    session.play().await?;

    let file = std::fs::File::create(out).map_err(|e| Error::io(e, "creating the MP4 file"))?;
    let config = mp4::Mp4Config {
        major_brand: "isom".parse().map_err(mp4_err)?,
        minor_version: 512,
        compatible_brands: ["isom", "iso2", "avc1", "mp41"]
            .iter()
            .map(|b| b.parse())
            .collect::<Result<_, _>>()
            .map_err(mp4_err)?,
        timescale: 1000,
    };
    let mut writer =
        mp4::Mp4Writer::write_start(std::io::BufWriter::new(file), &config).map_err(mp4_err)?;
    writer
        .add_track(&mp4::TrackConfig {
            track_type: mp4::TrackType::Video,
            timescale: 90_000,
            language: "und".into(),
            media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
                width: width as u16,
                height: height as u16,
                seq_param_set: sps,
                pic_param_set: pps,
            }),
        })
        .map_err(mp4_err)?;

    // A sample's duration is the gap to the next one, so each frame waits for its successor.
    let mut pending: Option<(i64, bool, bytes::Bytes)> = None;
    let (mut first_ts, mut written) = (None, 0u64);
    let deadline = tokio::time::Instant::now() + how_long;
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline, session.next()).await {
        let Item::Video(f) = item? else { continue };
        if f.stream != index {
            continue;
        }
        // Start at a key frame: players need one first.
        if pending.is_none() && !f.frame.keyframe {
            continue;
        }
        let t0 = *first_ts.get_or_insert(f.frame.timestamp);
        if let Some((ts, sync, bytes)) = pending.take() {
            let sample = mp4::Mp4Sample {
                start_time: (ts - t0) as u64,
                duration: (f.frame.timestamp - ts).clamp(1, 90_000) as u32,
                rendering_offset: 0,
                is_sync: sync,
                bytes,
            };
            writer.write_sample(1, &sample).map_err(mp4_err)?;
            written += 1;
        }
        pending = Some((
            f.frame.timestamp,
            f.frame.keyframe,
            f.frame.payload.to_bytes(),
        ));
    }
    writer.write_end().map_err(mp4_err)?;
    session.teardown().await?;
    println!(
        "{written} frames ({width}x{height}) written to {}",
        out.display()
    );
    Ok(written)
}

/// The value after `flag` on the command line.
fn arg(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1).cloned()
}

#[tokio::main]
async fn main() -> camlink::Result<()> {
    let out = arg("--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("camlink-record.mp4"));
    let seconds: f64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let how_long = Duration::from_secs_f64(seconds.clamp(0.5, 3600.0));
    if let Some(url) = arg("--url") {
        let user = arg("--user").unwrap_or_else(|| "admin".into());
        let password = std::env::var("CAMLINK_PASSWORD").unwrap_or_default();
        record(&url, Credentials::new(user, password), &out, how_long).await?;
        return Ok(());
    }
    let camera = MockCamera::builder()
        .credentials("admin", "example-password")
        .start()
        .await?;
    record(
        &camera.rtsp_url("main"),
        Credentials::new("admin", "example-password"),
        &out,
        how_long,
    )
    .await?;
    camera.shutdown().await;
    Ok(())
}
