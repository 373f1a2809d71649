//! The `play` and `record` examples, compiled here as modules and run against a mock camera:
//! frames counted per stream, and an MP4 that ffprobe reads with the right codec, size and frames.
#![cfg(feature = "mock")]

use std::time::Duration;

use camlink::auth::Credentials;
use camlink::mock::MockCamera;

#[path = "../examples/play.rs"]
#[allow(dead_code)]
mod play;
#[path = "../examples/record.rs"]
#[allow(dead_code)]
mod record;

const PASSWORD: &str = "media-example-password";

async fn camera() -> MockCamera {
    MockCamera::builder()
        .credentials("admin", PASSWORD)
        .start()
        .await
        .unwrap()
}

fn creds() -> Credentials {
    Credentials::new("admin", PASSWORD)
}

#[tokio::test(flavor = "multi_thread")]
async fn play_example_counts_frames_over_tcp_and_udp() {
    let cam = camera().await;
    for udp in [false, true] {
        let counts = play::play(&cam.rtsp_url("main"), creds(), udp, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(counts[0].codec, "h264");
        assert!(
            (35..=60).contains(&counts[0].frames),
            "udp={udp}: {counts:?}"
        );
        assert!(counts[0].key_frames >= 1);
        assert_eq!(counts[1].codec, "pcmu");
        assert!(counts[1].frames >= 70, "{counts:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn record_example_writes_an_mp4_ffprobe_reads() {
    let cam = camera().await;
    let out = std::env::temp_dir().join(format!("camlink-record-{}.mp4", std::process::id()));
    let frames = record::record(&cam.rtsp_url("main"), creds(), &out, Duration::from_secs(2))
        .await
        .unwrap();
    assert!((30..=55).contains(&frames), "{frames}");
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(&out)
        .output();
    match probe {
        Ok(p) => {
            let text = String::from_utf8_lossy(&p.stdout);
            assert_eq!(
                text.trim(),
                format!("h264,640,360,{frames}"),
                "{}",
                String::from_utf8_lossy(&p.stderr)
            );
        }
        Err(_) => {
            assert!(
                std::env::var_os("CAMLINK_REQUIRE_PEERS").is_none(),
                "ffprobe missing"
            );
            eprintln!("ffprobe not installed: MP4 not checked");
        }
    }
    let _ = std::fs::remove_file(&out);
}
