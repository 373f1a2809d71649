//! Third-party ONVIF clients against the mock camera: onvif-zeep and onvif-zeep-async
//! (WSDL-driven, WS-UsernameToken) and onvif-python (HTTP digest) read the device information,
//! the profiles and their stream URIs; the stream URI they get plays in ffprobe; wrong
//! credentials are refused by each of them.
//!
//! The clients live in virtual environments made by `scripts/install-test-deps.sh` under
//! `CAMLINK_PEERS_DIR` (default `~/.cache/camlink-peers`). Where CI runs (`CAMLINK_REQUIRE_PEERS` set) a missing
//! client fails the test; elsewhere it is skipped with a note.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use camlink::mock::MockCamera;

fn peers_dir() -> PathBuf {
    match std::env::var_os("CAMLINK_PEERS_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/camlink-peers")
        }
    }
}

fn python(venv: &str) -> Option<PathBuf> {
    let p = peers_dir().join(venv).join("bin/python");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CAMLINK_REQUIRE_PEERS").is_none(),
        "{} is missing but CAMLINK_REQUIRE_PEERS is set: scripts/install-test-deps.sh should have made it",
        p.display()
    );
    eprintln!("{} not installed: test skipped", p.display());
    None
}

async fn check(
    venv: &str,
    lib: &str,
    port: u16,
    user: &str,
    password: &str,
) -> Option<serde_json::Value> {
    let py = python(venv)?;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/peers/onvif_client_check.py"
    );
    let args: Vec<String> = vec![
        "60".into(),
        py.display().to_string(),
        script.into(),
        lib.into(),
        "127.0.0.1".into(),
        port.to_string(),
        user.into(),
        password.into(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new("timeout").args(&args).output())
        .await
        .expect("join")
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or("").to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
        panic!(
            "{lib}: no JSON answer\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Some(v)
}

async fn run_client(venv: &str, lib: &str) {
    let cam = MockCamera::builder()
        .credentials("operator", "Corr3ct-Horse")
        .start()
        .await
        .unwrap();
    let port = cam.ports().http;
    let Some(v) = check(venv, lib, port, "operator", "Corr3ct-Horse").await else {
        return;
    };
    assert!(v.get("error").is_none(), "{lib}: {v}");
    assert_eq!(v["manufacturer"], "camlink", "{lib}: {v}");
    assert_eq!(v["model"], "MockCam 1", "{lib}: {v}");
    assert_eq!(
        v["profiles"],
        serde_json::json!(["main", "sub"]),
        "{lib}: {v}"
    );
    let uris = v["stream_uris"].as_array().expect("uris");
    assert_eq!(uris[0], cam.rtsp_url("main").as_str(), "{lib}: {v}");

    // The URI the client got plays (ffprobe, with the same credentials).
    let uri = uris[0]
        .as_str()
        .unwrap()
        .replacen("rtsp://", "rtsp://operator:Corr3ct-Horse@", 1);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .args([
                "30",
                "ffprobe",
                "-v",
                "error",
                "-rtsp_transport",
                "tcp",
                "-show_entries",
                "stream=codec_name",
                "-of",
                "csv=p=0",
                &uri,
            ])
            .output()
    })
    .await
    .unwrap()
    .expect("ffprobe");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("h264"),
        "{lib}: ffprobe {:?}",
        out
    );

    // Wrong credentials are refused.
    let v = check(venv, lib, port, "operator", "wrong-horse")
        .await
        .unwrap();
    let err = v["error"].as_str().unwrap_or_default().to_string();
    assert!(!err.is_empty(), "{lib} accepted a wrong password: {v}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    cam.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onvif_zeep_reads_the_mock() {
    run_client("venv-onvif", "zeep").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onvif_zeep_async_reads_the_mock() {
    run_client("venv-onvif-async", "zeep-async").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onvif_python_with_http_digest_reads_the_mock() {
    run_client("venv-onvif-python", "python").await;
}
