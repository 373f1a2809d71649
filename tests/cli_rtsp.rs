//! `camlink describe` and `camlink play` end to end against the mock camera: the JSON shapes of
//! issue 8 with their values checked, both transports, `--out` read back by ffprobe, and a wrong
//! password reported as such without showing it.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{PASSWORD, assert_no_password, camlink, json_of};

use camlink::mock::{AudioCodec, MockCamera, ProfileConfig, VideoCodec};

async fn camera() -> MockCamera {
    MockCamera::builder()
        .credentials("admin", PASSWORD)
        .profiles(vec![
            ProfileConfig::new("main", VideoCodec::H264, 640, 360).with_audio(AudioCodec::Pcmu),
            ProfileConfig::new("hevc", VideoCodec::H265, 640, 360).with_audio(AudioCodec::Aac),
        ])
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_lists_streams_with_absolute_controls() {
    let cam = camera().await;
    let url = cam.rtsp_url("main");
    let v = json_of(&camlink(&["describe", &url, "--user", "admin", "--json"]).await);
    let streams = v["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2, "{v}");
    assert_eq!(streams[0]["media"], "video");
    assert_eq!(streams[0]["encoding"], "H264");
    assert_eq!(streams[0]["payload_type"], 96);
    assert_eq!(streams[0]["clock_rate"], 90000);
    assert_eq!(streams[0]["control"], format!("{url}/trackID=1"));
    assert!(
        streams[0]["fmtp"]["sprop-parameter-sets"].is_string(),
        "{v}"
    );
    assert_eq!(streams[1]["media"], "audio");
    assert_eq!(streams[1]["encoding"], "PCMU");
    assert_eq!(streams[1]["payload_type"], 0);
    assert_eq!(streams[1]["clock_rate"], 8000);
    assert_eq!(streams[1]["channels"], 1);

    let v = json_of(
        &camlink(&[
            "describe",
            &cam.rtsp_url("hevc"),
            "--user",
            "admin",
            "--json",
        ])
        .await,
    );
    assert_eq!(v["streams"][0]["encoding"], "H265");
    assert_eq!(v["streams"][1]["encoding"], "MPEG4-GENERIC");
    assert_eq!(v["streams"][1]["clock_rate"], 16000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_counts_frames_over_tcp_and_udp() {
    let cam = camera().await;
    for transport in ["tcp", "udp"] {
        let out = camlink(&[
            "play",
            &cam.rtsp_url("main"),
            "--user",
            "admin",
            "--json",
            "--transport",
            transport,
            "--duration",
            "2",
        ])
        .await;
        let v = json_of(&out);
        assert_eq!(v["transport"], transport, "{v}");
        let video = &v["streams"][0];
        assert_eq!(video["media"], "video");
        assert_eq!(video["codec"], "h264");
        let frames = video["frames"].as_u64().unwrap();
        assert!(
            (35..=60).contains(&frames),
            "{transport}: {frames} frames in 2 s at 25 fps"
        );
        assert!(video["key_frames"].as_u64().unwrap() >= 1);
        assert!(video["bytes"].as_u64().unwrap() > 10_000);
        assert_eq!(video["lost_packets"], 0);
        let audio = &v["streams"][1];
        assert_eq!(audio["codec"], "pcmu");
        assert!(audio["frames"].as_u64().unwrap() >= 70, "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_out_writes_an_elementary_stream_ffprobe_reads() {
    let cam = camera().await;
    let dir = std::env::temp_dir().join(format!("camlink-play-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (profile, ext, codec) in [("main", "h264", "h264"), ("hevc", "h265", "hevc")] {
        let file = dir.join(format!("out.{ext}"));
        let v = json_of(
            &camlink(&[
                "play",
                &cam.rtsp_url(profile),
                "--user",
                "admin",
                "--json",
                "--frames",
                "30",
                "--out",
                file.to_str().unwrap(),
            ])
            .await,
        );
        assert_eq!(v["streams"][0]["frames"], 30, "{v}");
        let probe = std::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name,width,height",
                "-of",
                "csv=p=0",
            ])
            .arg(&file)
            .output();
        let Ok(probe) = probe else {
            assert!(
                std::env::var_os("CAMLINK_REQUIRE_PEERS").is_none(),
                "ffprobe missing"
            );
            eprintln!("ffprobe not installed: --out not checked");
            return;
        };
        let text = String::from_utf8_lossy(&probe.stdout);
        assert_eq!(
            text.trim(),
            format!("{codec},640,360"),
            "{}",
            String::from_utf8_lossy(&probe.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_unauthorized() {
    let cam = camera().await;
    let out = cli_support::camlink_with(
        &["play", &cam.rtsp_url("main"), "--user", "admin", "--json"],
        Some("not-the-password-9q"),
        std::time::Duration::from_secs(60),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error[unauthorized]"), "{err}");
    assert!(!err.contains("not-the-password-9q"));
    assert_no_password(&out);
}
