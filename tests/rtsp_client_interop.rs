//! The RTSP client against real servers written by others (see `../shared/PEERS.md`):
//! GStreamer's gst-rtsp-server (digest auth, every codec, TCP and UDP) and VLC 3.0's RTSP
//! server (UDP only, Basic auth, a 401 without CSeq, both tracks on payload type 96).
//! Frame counts, codecs and RTP timestamp steps are checked against what the servers send.
//!
//! Servers bind 127.0.0.1 only and are killed at the end of each test. A missing peer fails the
//! test when `CAMLINK_REQUIRE_PEERS` is set (CI) and skips it with a note otherwise.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use camlink::ErrorKind;
use camlink::auth::Credentials;
use camlink::codec::FrameInfo;
use camlink::rtsp::client::{Item, Session, SessionOptions, TransportMode};
use camlink::rtsp::sdp::Codec;

fn missing(what: &str) {
    assert!(
        std::env::var_os("CAMLINK_REQUIRE_PEERS").is_none(),
        "{what} is missing but CAMLINK_REQUIRE_PEERS is set"
    );
    eprintln!("{what} not available: test skipped");
}

/// A peer process, killed (and reaped) on drop.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn shared_dir() -> PathBuf {
    std::env::var_os("CAMLINK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Starts gst_rtsp_server.py and waits for its ready line.
fn gst_server(extra: &[&str]) -> Option<(Peer, String)> {
    let script = shared_dir().join("peers/gst_rtsp_server.py");
    if !script.exists() || !std::path::Path::new("/usr/bin/python3").exists() {
        missing("gst_rtsp_server.py (../shared/peers)");
        return None;
    }
    let port = free_port();
    let rtp_lo = 30000 + (port % 300) * 100;
    let mut child = Command::new("/usr/bin/python3")
        .arg(&script)
        .args(["--port", &port.to_string(), "--address", "127.0.0.1"])
        .args(["--rtp-ports", &format!("{rtp_lo}-{}", rtp_lo + 99)])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let out = child.stdout.take()?;
    let peer = Peer(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("ready on") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(20)).is_err() {
        missing("a working gst-rtsp-server (python3-gi, GstRtspServer)");
        return None;
    }
    Some((peer, format!("rtsp://127.0.0.1:{port}")))
}

#[derive(Debug, Default)]
struct Counts {
    video: usize,
    audio: usize,
    keyframes: usize,
    loss: u64,
    video_steps: Vec<i64>,
    audio_steps: Vec<i64>,
    video_infos: Vec<FrameInfo>,
    audio_infos: Vec<FrameInfo>,
}

async fn play(s: &mut Session, video: usize, audio: usize) -> Counts {
    let mut c = Counts::default();
    let mut last_v = None;
    let mut last_a = None;
    let r = tokio::time::timeout(Duration::from_secs(30), async {
        while c.video < video || c.audio < audio {
            match s.next().await.expect("stream ended").expect("item") {
                Item::Video(f) => {
                    c.video += 1;
                    c.keyframes += usize::from(f.frame.keyframe);
                    if let Some(l) = last_v {
                        c.video_steps.push(f.frame.timestamp - l);
                    }
                    last_v = Some(f.frame.timestamp);
                    c.video_infos.push(f.frame.info);
                }
                Item::Audio(f) => {
                    c.audio += 1;
                    if let Some(l) = last_a {
                        c.audio_steps.push(f.frame.timestamp - l);
                    }
                    last_a = Some(f.frame.timestamp);
                    c.audio_infos.push(f.frame.info);
                }
                Item::Loss { packets, .. } => c.loss += packets,
                _ => {}
            }
        }
    })
    .await;
    assert!(r.is_ok(), "timed out: {c:?}");
    c
}

/// Most steps are exactly `step` (one dropped frame or a late joiner may differ once).
fn steady(steps: &[i64], step: i64) -> bool {
    let good = steps.iter().filter(|s| **s == step).count();
    good * 10 >= steps.len() * 9
}

#[tokio::test]
async fn gstreamer_every_codec_with_digest_over_tcp_and_udp() {
    let Some((_peer, base)) = gst_server(&["--user", "admin", "--password", "secret"]) else {
        return;
    };
    let creds = Credentials::new("admin", "secret");
    // mount, transport, video frames, audio frames
    let cases = [
        ("h264", TransportMode::Tcp, 50, 0),
        ("h264", TransportMode::Udp, 50, 0),
        ("h265", TransportMode::Tcp, 25, 0),
        ("mjpeg", TransportMode::Udp, 25, 0),
        ("aac", TransportMode::Tcp, 0, 40),
        ("pcmu", TransportMode::Udp, 0, 40),
        ("h264_aac", TransportMode::Udp, 25, 20),
        ("h264_pcmu", TransportMode::Tcp, 25, 20),
    ];
    for (mount, transport, video, audio) in cases {
        let url = format!("{base}/{mount}");
        let opts = SessionOptions::new()
            .credentials(creds.clone())
            .transport(transport);
        let mut s = Session::open(&url, opts)
            .await
            .unwrap_or_else(|e| panic!("{mount} {transport:?}: {e}"));
        let codecs: Vec<&Codec> = s.streams().iter().map(|i| &i.codec).collect();
        match mount {
            "h264" => assert!(matches!(codecs[..], [Codec::H264(_)])),
            "h265" => assert!(matches!(codecs[..], [Codec::H265(_)])),
            "mjpeg" => assert!(matches!(codecs[..], [Codec::Jpeg])),
            "aac" => assert!(matches!(codecs[..], [Codec::Aac(_)])),
            "pcmu" => assert!(matches!(codecs[..], [Codec::Pcmu])),
            "h264_aac" => assert!(matches!(codecs[..], [Codec::H264(_), Codec::Aac(_)])),
            "h264_pcmu" => assert!(matches!(codecs[..], [Codec::H264(_), Codec::Pcmu])),
            _ => unreachable!(),
        }
        let c = play(&mut s, video, audio).await;
        let what = format!("{mount} {transport:?}: {c:?}");
        assert_eq!(c.loss, 0, "{what}");
        if video > 0 {
            // 25 fps on a 90 kHz clock.
            assert!(steady(&c.video_steps, 3600), "{what}");
            let ok = c.video_infos.iter().all(|i| match mount {
                "mjpeg" => matches!(
                    i,
                    FrameInfo::Jpeg {
                        width: 640,
                        height: 360
                    }
                ),
                "h265" => matches!(i, FrameInfo::H265 { .. }),
                _ => matches!(i, FrameInfo::H264 { .. }),
            });
            assert!(ok, "{what}");
            if video >= 50 {
                // GOP of 25 frames.
                assert!(c.keyframes >= 1, "{what}");
            }
        }
        if audio > 0 {
            if mount.ends_with("aac") {
                assert!(c.audio_infos.iter().all(|i| *i == FrameInfo::Aac), "{what}");
                assert!(steady(&c.audio_steps, 1024), "{what}");
            } else {
                assert!(
                    c.audio_infos
                        .iter()
                        .all(|i| matches!(i, FrameInfo::G711 { .. })),
                    "{what}"
                );
            }
        }
        s.teardown().await.unwrap();
    }
    let e = Session::describe(
        &format!("{base}/h264"),
        SessionOptions::new().credentials(Credentials::new("admin", "bad")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unauthorized, "{e}");
}

/// A 60 s H.264 + AAC file readable by `nobody` (VLC refuses to run as root).
fn vlc_media(dir: &std::path::Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(dir).ok()?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).ok()?;
    let file = dir.join("test-h264-aac-60s.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-nostdin"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"])
        .args([
            "-t",
            "60",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
        ])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        .arg(&file)
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).ok()?;
    Some(file)
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn vlc_udp_only_basic_auth_and_shared_payload_type() {
    if Command::new("cvlc").arg("--version").output().is_err()
        || Command::new("setpriv").arg("--version").output().is_err()
    {
        missing("cvlc / setpriv");
        return;
    }
    let tmp = TempDir(std::env::temp_dir().join(format!("camlink-vlc-{}", std::process::id())));
    let Some(media) = vlc_media(&tmp.0) else {
        missing("ffmpeg (to make VLC's media)");
        return;
    };
    let port = free_port();
    let url = format!("rtsp://127.0.0.1:{port}/test");
    let child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["env", "HOME=/tmp", "cvlc", "-q"])
        .arg(&media)
        .arg("--loop")
        .arg("--sout")
        .arg(format!("#rtp{{sdp={url}}}"))
        .args([
            "--sout-keep",
            "--sout-rtsp-user",
            "admin",
            "--sout-rtsp-pwd",
            "secret",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        missing("cvlc");
        return;
    };
    let _peer = Peer(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "VLC never listened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let opts = || {
        SessionOptions::new()
            .credentials(Credentials::new("admin", "secret"))
            .basic_over_plaintext(true)
    };
    // Basic only, on plain RTSP: refused unless allowed.
    let e = Session::describe(
        &url,
        SessionOptions::new().credentials(Credentials::new("admin", "secret")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unsupported, "{e}");
    // Wrong password (its 401 has no CSeq).
    let e = Session::describe(
        &url,
        SessionOptions::new()
            .credentials(Credentials::new("admin", "bad"))
            .basic_over_plaintext(true),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unauthorized, "{e}");
    // No interleaved TCP.
    let e = Session::open(&url, opts().transport(TransportMode::Tcp))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::RtspStatus(461), "{e}");
    // Auto: UDP.
    let mut s = Session::open(&url, opts().transport(TransportMode::Auto))
        .await
        .unwrap();
    let codecs: Vec<&Codec> = s.streams().iter().map(|i| &i.codec).collect();
    assert!(
        matches!(
            codecs[..],
            [Codec::H264(_), Codec::Aac(_)] | [Codec::Aac(_), Codec::H264(_)]
        ),
        "{codecs:?}"
    );
    // Both tracks on payload type 96.
    assert!(s.streams().iter().all(|i| i.payload_type == Some(96)));
    let c = play(&mut s, 50, 40).await;
    assert_eq!(c.loss, 0, "{c:?}");
    assert!(steady(&c.video_steps, 3600), "{c:?}");
    assert!(c.keyframes >= 1, "{c:?}");
    assert!(c.audio_infos.iter().all(|i| *i == FrameInfo::Aac), "{c:?}");
    s.teardown().await.unwrap();
}
