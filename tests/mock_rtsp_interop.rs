//! Real third-party RTSP clients against the mock camera: ffprobe lists the right streams over
//! TCP and UDP, ffmpeg decodes seconds of video without errors, with digest auth, and wrong
//! credentials are refused.
//!
//! The peers come from Debian's ffmpeg (`scripts/install-test-deps.sh`). Where CI runs
//! (`CAMLINK_REQUIRE_PEERS` set) a missing peer fails the test; elsewhere it is skipped with a note.

use std::process::Command;
use std::time::Duration;

use camlink::mock::{AudioCodec, MockCamera, ProfileConfig, VideoCodec};

fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("-version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CAMLINK_REQUIRE_PEERS").is_none(),
            "{tool} is missing but CAMLINK_REQUIRE_PEERS is set: scripts/install-test-deps.sh should have installed it"
        );
        eprintln!("{tool} not installed: test skipped");
    }
    found
}

/// Runs a peer in a blocking thread with a time bound.
async fn run(cmd: &str, args: Vec<String>) -> std::process::Output {
    let cmd = cmd.to_string();
    let fut = tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .arg("60")
            .arg(&cmd)
            .args(&args)
            .output()
            .expect("run peer")
    });
    tokio::time::timeout(Duration::from_secs(90), fut)
        .await
        .expect("peer finished")
        .expect("join")
}

async fn ffprobe_streams(url: &str, transport: &str) -> Vec<String> {
    let out = run(
        "ffprobe",
        vec![
            "-v".into(),
            "error".into(),
            "-rtsp_transport".into(),
            transport.into(),
            "-show_entries".into(),
            "stream=codec_name,width,height,sample_rate".into(),
            "-of".into(),
            "compact".into(),
            url.into(),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "ffprobe {transport} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("stream|"))
        .map(str::to_string)
        .collect()
}

fn creds_url(url: &str, user: &str, pass: &str) -> String {
    url.replacen("rtsp://", &format!("rtsp://{user}:{pass}@"), 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffprobe_lists_h264_streams_over_tcp_and_udp() {
    if !have("ffprobe") {
        return;
    }
    let cam = MockCamera::builder()
        .credentials("admin", "secret")
        .start()
        .await
        .unwrap();
    let url = creds_url(&cam.rtsp_url("main"), "admin", "secret");
    for transport in ["tcp", "udp"] {
        let streams = ffprobe_streams(&url, transport).await;
        assert!(
            streams.iter().any(|s| s.contains("codec_name=h264")
                && s.contains("width=640")
                && s.contains("height=360")),
            "{transport}: {streams:?}"
        );
    }
    let sub = creds_url(&cam.rtsp_url("sub"), "admin", "secret");
    let streams = ffprobe_streams(&sub, "tcp").await;
    assert!(
        streams.iter().any(|s| s.contains("width=320")),
        "{streams:?}"
    );

    // Wrong password: refused.
    let bad = creds_url(&cam.rtsp_url("main"), "admin", "nope");
    let out = run(
        "ffprobe",
        vec![
            "-v".into(),
            "error".into(),
            "-rtsp_transport".into(),
            "tcp".into(),
            bad,
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_decodes_h264_without_errors() {
    if !have("ffmpeg") {
        return;
    }
    let cam = MockCamera::builder()
        .no_auth()
        .profiles(vec![
            ProfileConfig::new("main", VideoCodec::H264, 640, 360).with_audio(AudioCodec::Pcmu),
        ])
        .start()
        .await
        .unwrap();
    for transport in ["tcp", "udp"] {
        let out = run(
            "ffmpeg",
            vec![
                "-hide_banner".into(),
                "-nostdin".into(),
                "-xerror".into(),
                "-rtsp_transport".into(),
                transport.into(),
                "-i".into(),
                cam.rtsp_url("main"),
                "-t".into(),
                "3".into(),
                "-map".into(),
                "0:v".into(),
                "-f".into(),
                "null".into(),
                "-".into(),
            ],
        )
        .await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "ffmpeg {transport}: {err}");
        // About 3 s at 25 fps.
        let frames: u32 = err
            .rsplit("frame=")
            .next()
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            (60..=90).contains(&frames),
            "{transport}: {frames} frames\n{err}"
        );
    }
}

/// Every codec the mock streams, checked with ffprobe (streams listed) and ffmpeg (seconds
/// decoded with `-xerror`, audio and video).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_probes_and_decodes() {
    if !have("ffmpeg") || !have("ffprobe") {
        return;
    }
    let cam = MockCamera::builder()
        .no_auth()
        .profiles(vec![
            ProfileConfig::new("h265aac", VideoCodec::H265, 640, 360).with_audio(AudioCodec::Aac),
            ProfileConfig::new("mjpegpcma", VideoCodec::Jpeg, 320, 180)
                .with_audio(AudioCodec::Pcma),
            ProfileConfig::new("h264pcmu", VideoCodec::H264, 320, 180)
                .with_audio(AudioCodec::Pcmu)
                .with_metadata(),
        ])
        .start()
        .await
        .unwrap();
    let expect = [
        ("h265aac", vec!["codec_name=hevc", "codec_name=aac"]),
        ("mjpegpcma", vec!["codec_name=mjpeg", "codec_name=pcm_alaw"]),
        ("h264pcmu", vec!["codec_name=h264", "codec_name=pcm_mulaw"]),
    ];
    for (token, codecs) in expect {
        let url = cam.rtsp_url(token);
        for transport in ["tcp", "udp"] {
            let streams = ffprobe_streams(&url, transport).await;
            for c in &codecs {
                assert!(
                    streams.iter().any(|s| s.contains(c)),
                    "{token} {transport}: {c} not in {streams:?}"
                );
            }
        }
        let out = run(
            "ffmpeg",
            vec![
                "-hide_banner".into(),
                "-nostdin".into(),
                "-xerror".into(),
                "-rtsp_transport".into(),
                "tcp".into(),
                "-i".into(),
                url.clone(),
                "-t".into(),
                "2".into(),
                "-map".into(),
                "0:v".into(),
                "-map".into(),
                "0:a".into(),
                "-f".into(),
                "null".into(),
                "-".into(),
            ],
        )
        .await;
        assert!(
            out.status.success(),
            "ffmpeg {token}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
