//! Secret hygiene: the tour and every CLI command, run with a distinctive password under
//! `RUST_LOG=trace`, never show the password, its digest HA1, its Basic encoding, or URL
//! user-info, on stdout or stderr (logs included), whether the password is right or wrong.
#![cfg(feature = "cli")]

mod cli_support;

use std::process::Output;
use std::time::Duration;

use base64::Engine as _;
use camlink::mock::MockCamera;

const SECRET: &str = "Zq9-h7giene_S3cret!x";
const WRONG: &str = "Wr0ng-h7giene_S3cret!y";

/// Every form a leaked password could take.
fn forms(password: &str) -> Vec<String> {
    let realm = "camlink MockCam 1";
    let ha1 = format!("{:x}", md5::compute(format!("admin:{realm}:{password}")));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("admin:{password}"));
    let pct: String = password
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![password.to_string(), ha1, basic, pct]
}

fn assert_clean(what: &str, out: &Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        for secret in forms(SECRET).iter().chain(forms(WRONG).iter()) {
            assert!(
                !text.contains(secret.as_str()),
                "{what}: {stream} shows {secret:?}:\n{text}"
            );
        }
    }
}

async fn run(args: &[&str], password: &str) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_camlink"));
    cmd.args(args).env("RUST_LOG", "trace").kill_on_drop(true);
    if password.is_empty() {
        cmd.env_remove("CAMLINK_PASSWORD");
    } else {
        cmd.env("CAMLINK_PASSWORD", password);
    }
    tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("finished in time")
        .expect("run camlink")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_the_password() {
    let cam = MockCamera::builder()
        .credentials("admin", SECRET)
        .start()
        .await
        .unwrap();
    let device = cam.device_service_url();
    let rtsp = cam.rtsp_url("main");
    let snap = std::env::temp_dir().join(format!("camlink-hygiene-{}.jpg", std::process::id()));
    let target = format!("127.0.0.1:{}", cam.ports().discovery.unwrap());
    let ports = format!("{},{}", cam.ports().http, cam.ports().rtsp);
    let commands: Vec<Vec<&str>> = vec![
        vec!["info", &device, "--user", "admin"],
        vec!["profiles", &device, "--user", "admin", "--json"],
        vec![
            "snapshot",
            &device,
            "--user",
            "admin",
            "-o",
            snap.to_str().unwrap(),
        ],
        vec!["ptz", &device, "--user", "admin", "status"],
        vec!["events", &device, "--user", "admin", "--duration", "1"],
        vec!["describe", &rtsp, "--user", "admin"],
        vec!["play", &rtsp, "--user", "admin", "--duration", "1"],
        vec!["discover", "--target", &target, "--timeout", "1"],
        vec!["ports", "127.0.0.1", "--ports", &ports],
    ];
    for args in &commands {
        let ok = run(args, SECRET).await;
        assert_clean(&format!("{args:?}"), &ok);
        assert!(
            ok.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        if args.contains(&"--user") {
            let bad = run(args, WRONG).await;
            assert_clean(&format!("{args:?} (wrong password)"), &bad);
            assert_eq!(
                bad.status.code(),
                Some(1),
                "{args:?} accepted a wrong password"
            );
        }
    }
    // A password in the URL is used but never echoed either.
    let with_userinfo = device.replacen(
        "http://",
        &format!("http://admin:{}@", "Zq9-h7giene_S3cret%21x"),
        1,
    );
    let out = run(&["info", &with_userinfo], "").await;
    assert_clean("info with user-info", &out);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&snap);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tour_does_not_show_the_password() {
    // target/debug/deps/<this test> → target/debug/examples/tour (cargo test builds examples).
    let exe = std::env::current_exe().unwrap();
    let tour = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/tour");
    if !tour.exists() {
        panic!("{} not built", tour.display());
    }
    // The tour saves its snapshot under the temporary directory: a directory of this run's
    // own, removed afterwards, so that test runs leave no file behind.
    let tmp = std::env::temp_dir().join(format!("camlink-tour-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = tokio::process::Command::new(&tour);
    cmd.env("TMPDIR", &tmp)
        .env("CAMLINK_PASSWORD", SECRET)
        .env("RUST_LOG", "trace")
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("tour finished in time")
        .expect("run tour");
    let saved = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("tour finished"));
    assert_eq!(saved, 1, "the tour saves one snapshot");
    assert_clean("tour", &out);
}
