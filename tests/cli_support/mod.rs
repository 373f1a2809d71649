//! Running the `camlink` binary from the CLI tests: bounded in time, output captured.
#![allow(dead_code)] // each test file uses a part

use std::process::Output;
use std::time::Duration;

/// The password the test cameras accept; it must never appear in any output.
pub const PASSWORD: &str = "cli-Pa55-word-7f3e";

/// Runs `camlink ARGS` with `CAMLINK_PASSWORD=password`, killing it after `limit`.
pub async fn camlink_with(args: &[&str], password: Option<&str>, limit: Duration) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_camlink"));
    cmd.args(args)
        .kill_on_drop(true)
        .env_remove("CAMLINK_PASSWORD");
    if let Some(p) = password {
        cmd.env("CAMLINK_PASSWORD", p);
    }
    tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("camlink {args:?} did not finish within {limit:?}"))
        .expect("run camlink")
}

/// Runs `camlink ARGS` with the test password, within 60 s.
pub async fn camlink(args: &[&str]) -> Output {
    camlink_with(args, Some(PASSWORD), Duration::from_secs(60)).await
}

/// Asserts success and parses stdout as one JSON value; also checks the password is nowhere.
pub fn json_of(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    assert_no_password(out);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// The password appears neither on stdout nor on stderr.
pub fn assert_no_password(out: &Output) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(PASSWORD),
            "the password appears on {name}: {text}"
        );
    }
}

/// A loopback TCP port with nothing listening on it (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// Asserts that `v` is an object with every key of the issue-8 contract (extra keys are fine).
pub fn assert_keys(v: &serde_json::Value, keys: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    for k in keys {
        assert!(obj.contains_key(*k), "key {k:?} missing from {v}");
    }
}
