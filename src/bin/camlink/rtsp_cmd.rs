//! `camlink describe URL` and `camlink play URL`: what a stream offers, and playing it.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use camlink::codec::nal::NalFormat;
use camlink::onvif::tls::{TlsPolicy, parse_fingerprint};
use camlink::rtsp::client::{Item, MediaKind, Session, SessionOptions, StreamInfo, TransportMode};
use camlink::rtsp::sdp::Codec;
use camlink::{Error, Result};

use super::device::{DeviceArgs, MAX_DURATION, MAX_REQUEST_TIMEOUT, print_json, seconds};

/// Options of `camlink describe`.
#[derive(clap::Args, Debug)]
pub struct DescribeArgs {
    /// The stream: `rtsp://host[:port]/path` (or `rtsps://`), credentials as for devices.
    #[command(flatten)]
    stream: DeviceArgs,
}

/// Options of `camlink play`.
#[derive(clap::Args, Debug)]
pub struct PlayArgs {
    /// The stream: `rtsp://host[:port]/path` (or `rtsps://`), credentials as for devices.
    #[command(flatten)]
    stream: DeviceArgs,
    /// RTP transport: interleaved in the RTSP connection, UDP, or UDP falling back to TCP.
    #[arg(long, value_enum, default_value = "tcp")]
    transport: Transport,
    /// Play for this many seconds (default 5, unless --frames is given).
    #[arg(long, value_name = "S", conflicts_with = "frames")]
    duration: Option<f64>,
    /// Stop after this many video frames (or frames of the first stream without video).
    #[arg(long, value_name = "N")]
    frames: Option<u64>,
    /// Write the first video stream to this file as an Annex B elementary stream (.h264/.h265).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<std::path::PathBuf>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum Transport {
    Tcp,
    Udp,
    Auto,
}

/// Most frames `--frames` may ask for, and how long a `--frames` run may last at most.
const MAX_FRAMES: u64 = 10_000_000;

fn session_options(args: &DeviceArgs) -> Result<(String, SessionOptions)> {
    let (url, creds) = args.credentials()?;
    let timeout = seconds(args.timeout, "--timeout", MAX_REQUEST_TIMEOUT)?;
    let t = camlink::rtsp::client::Timeouts {
        connect: timeout,
        response: timeout,
        ..Default::default()
    };
    let mut o = SessionOptions::new().timeouts(t);
    if let Some(c) = creds {
        o = o.credentials(c);
    }
    o = match (&args.pin, args.insecure) {
        (Some(fp), _) => o.tls(TlsPolicy::PinnedSha256(parse_fingerprint(fp)?)),
        (None, true) => o.tls(TlsPolicy::DangerAcceptAnyCertificate),
        (None, false) => o,
    };
    Ok((url, o))
}

fn media_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Metadata => "application",
        MediaKind::Other => "other",
    }
}

fn stream_json(s: &StreamInfo) -> serde_json::Value {
    let rtpmap = s.media.rtpmap();
    let mut v = serde_json::json!({
        "index": s.index,
        "media": media_name(s.kind),
        "encoding": rtpmap.as_ref().map(|r| r.encoding.clone()),
        "codec": s.codec.name(),
        "payload_type": s.payload_type,
        "clock_rate": s.clock_rate,
        "channels": rtpmap.as_ref().and_then(|r| r.channels),
        "control": s.control.as_str(),
        "backchannel": s.backchannel,
    });
    if let Some(f) = s.media.fmtp() {
        let params: serde_json::Map<String, serde_json::Value> = f
            .params
            .iter()
            .map(|(k, val)| (k.clone(), serde_json::Value::String(val.clone())))
            .collect();
        v["fmtp"] = serde_json::Value::Object(params);
    }
    v
}

/// `camlink describe URL`.
pub async fn describe(args: DescribeArgs, json: bool) -> Result<()> {
    let (url, opts) = session_options(&args.stream)?;
    let session = Session::describe(&url, opts).await?;
    if json {
        let streams: Vec<_> = session.streams().iter().map(stream_json).collect();
        print_json(
            &serde_json::json!({ "url": camlink::redact::redact_url_str(&url), "server": session.server(), "streams": streams }),
        );
    } else {
        if let Some(s) = session.server() {
            println!("server: {s}");
        }
        for s in session.streams() {
            println!(
                "#{} {:<11} {:<14} pt {:<4} {} Hz  {}",
                s.index,
                media_name(s.kind),
                s.codec.name(),
                s.payload_type.map(|p| p.to_string()).unwrap_or_default(),
                s.clock_rate,
                s.control
            );
        }
    }
    let _ = session.teardown().await;
    Ok(())
}

#[derive(Default)]
struct Stats {
    frames: u64,
    key_frames: u64,
    bytes: u64,
    lost: u64,
}

/// The parameter sets from the SDP, in Annex B, to start an elementary stream file with.
fn annexb_header(codec: &Codec) -> Vec<u8> {
    let sets: Vec<&Vec<u8>> = match codec {
        Codec::H264(p) => p.sps.iter().chain(&p.pps).collect(),
        Codec::H265(p) => p.vps.iter().chain(&p.sps).chain(&p.pps).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for s in sets {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(s);
    }
    out
}

/// `camlink play URL`.
pub async fn play(args: PlayArgs, json: bool) -> Result<()> {
    let (url, mut opts) = session_options(&args.stream)?;
    opts = opts
        .transport(match args.transport {
            Transport::Tcp => TransportMode::Tcp,
            Transport::Udp => TransportMode::Udp,
            Transport::Auto => TransportMode::Auto,
        })
        .nal_format(NalFormat::AnnexB);
    let limit = match (args.duration, args.frames) {
        (_, Some(n)) if n == 0 || n > MAX_FRAMES => {
            return Err(Error::invalid_input(format!(
                "--frames must be within 1..={MAX_FRAMES}"
            )));
        }
        (_, Some(_)) => MAX_DURATION,
        (Some(d), None) => seconds(d, "--duration", MAX_DURATION)?,
        (None, None) => Duration::from_secs(5),
    };
    let mut session = Session::describe(&url, opts).await?;
    let streams: Vec<StreamInfo> = session.streams().to_vec();
    let video = streams.iter().position(|s| s.kind == MediaKind::Video);
    let counted = video.unwrap_or(0);
    let mut out = match (&args.out, video) {
        (Some(path), Some(v)) => {
            let mut f = std::fs::File::create(path)
                .map_err(|e| Error::io(e, format!("cannot create {}", path.display())))?;
            f.write_all(&annexb_header(&streams[v].codec))
                .map_err(|e| Error::io(e, "writing the output file"))?;
            Some(f)
        }
        (Some(_), None) => {
            return Err(Error::new(
                camlink::ErrorKind::Unsupported,
                "--out: the stream has no video",
            ));
        }
        _ => None,
    };
    session.setup_all().await?;
    session.play().await?;
    let transport = session.transport();
    let mut stats: Vec<Stats> = streams.iter().map(|_| Stats::default()).collect();
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + limit;
    let live = !json && std::io::stderr().is_terminal();
    let mut next_status = Instant::now();
    loop {
        let item = match tokio::time::timeout_at(deadline, session.next()).await {
            Err(_) | Ok(None) => break,
            Ok(Some(item)) => item?,
        };
        match &item {
            Item::Loss { stream, packets } => {
                if let Some(s) = stats.get_mut(*stream) {
                    s.lost += packets;
                }
            }
            other => {
                if let Some(f) = other.frame() {
                    if let Some(s) = stats.get_mut(f.stream) {
                        s.frames += 1;
                        s.key_frames += u64::from(f.frame.keyframe);
                        s.bytes += f.frame.payload.len() as u64;
                    }
                    if Some(f.stream) == video
                        && let Some(file) = out.as_mut()
                    {
                        f.frame
                            .payload
                            .write_to(file)
                            .map_err(|e| Error::io(e, "writing the output file"))?;
                    }
                }
            }
        }
        if args
            .frames
            .is_some_and(|n| stats.get(counted).is_some_and(|s| s.frames >= n))
        {
            break;
        }
        if live && Instant::now() >= next_status {
            next_status = Instant::now() + Duration::from_millis(500);
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let s = &stats[counted];
            eprint!(
                "\r{} frames  {:.1} fps  {:.0} kbit/s  {} lost   ",
                s.frames,
                s.frames as f64 / secs,
                s.bytes as f64 * 8.0 / secs / 1000.0,
                stats.iter().map(|s| s.lost).sum::<u64>()
            );
        }
    }
    if live {
        eprintln!();
    }
    let _ = session.teardown().await;
    let transport = match transport {
        Some(camlink::rtsp::headers::LowerTransport::Udp) => "udp",
        _ => "tcp",
    };
    if json {
        let list: Vec<_> = streams
            .iter()
            .zip(&stats)
            .map(|(s, st)| {
                serde_json::json!({
                    "index": s.index,
                    "media": media_name(s.kind),
                    "codec": s.codec.name(),
                    "frames": st.frames,
                    "key_frames": st.key_frames,
                    "bytes": st.bytes,
                    "lost_packets": st.lost,
                })
            })
            .collect();
        print_json(&serde_json::json!({ "transport": transport, "streams": list }));
    } else {
        println!(
            "transport {transport}, {:.1} s",
            started.elapsed().as_secs_f64()
        );
        for (s, st) in streams.iter().zip(&stats) {
            println!(
                "#{} {:<11} {:<14} {:>6} frames ({} key)  {:>9} bytes  {} packets lost",
                s.index,
                media_name(s.kind),
                s.codec.name(),
                st.frames,
                st.key_frames,
                st.bytes,
                st.lost
            );
        }
    }
    Ok(())
}
