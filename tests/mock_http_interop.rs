//! curl and GStreamer against the mock camera: `curl --digest` fetches the snapshot and a SOAP
//! answer; GStreamer's rtspsrc receives and decodes H.264 over TCP and UDP with digest auth.
//! Where CI runs (`CAMLINK_REQUIRE_PEERS` set) a missing peer fails the test; elsewhere it is skipped.

use std::process::Command;
use std::time::Duration;

use camlink::mock::MockCamera;
use camlink::onvif::{device, soap};

fn have(tool: &str, arg: &str) -> bool {
    let found = Command::new(tool).arg(arg).output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CAMLINK_REQUIRE_PEERS").is_none(),
            "{tool} missing but CAMLINK_REQUIRE_PEERS is set"
        );
        eprintln!("{tool} not installed: test skipped");
    }
    found
}

async fn run(args: Vec<String>) -> std::process::Output {
    let fut = tokio::task::spawn_blocking(move || Command::new("timeout").args(&args).output());
    tokio::time::timeout(Duration::from_secs(90), fut)
        .await
        .expect("peer finished")
        .expect("join")
        .expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_digest_fetches_snapshot_and_soap() {
    if !have("curl", "--version") {
        return;
    }
    let cam = MockCamera::builder()
        .credentials("admin", "s3cr3t")
        .start()
        .await
        .unwrap();
    let out = run(vec![
        "30".into(),
        "curl".into(),
        "-sS".into(),
        "--digest".into(),
        "-u".into(),
        "admin:s3cr3t".into(),
        "-w".into(),
        "%{http_code} %{content_type}".into(),
        "-o".into(),
        "/dev/null".into(),
        cam.snapshot_url("main"),
    ])
    .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200 image/jpeg",
        "{out:?}"
    );

    let call = device::get_device_information();
    let env = soap::build_request(&call.body, None, None);
    let out = run(vec![
        "30".into(),
        "curl".into(),
        "-sS".into(),
        "--digest".into(),
        "-u".into(),
        "admin:s3cr3t".into(),
        "-H".into(),
        format!("Content-Type: {}", soap::content_type(&call.action)),
        "--data-binary".into(),
        env,
        cam.device_service_url(),
    ])
    .await;
    let body = out.stdout;
    let el = soap::parse_http_response(200, &body).expect("SOAP answer");
    assert_eq!(
        device::parse_device_information(&el).unwrap().manufacturer,
        "camlink"
    );

    let out = run(vec![
        "30".into(),
        "curl".into(),
        "-sS".into(),
        "--digest".into(),
        "-u".into(),
        "admin:wrong".into(),
        "-w".into(),
        "%{http_code}".into(),
        "-o".into(),
        "/dev/null".into(),
        cam.snapshot_url("main"),
    ])
    .await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
}

/// Whether the only errors gst-launch reported come from rtspsrc's own shutdown after EOS:
/// going to NULL it sends PAUSE, and the CLOSE that follows at once flushes the connection
/// under that request in flight ("Could not send message", `gst_rtspsrc_pause` /
/// `gst_rtspsrc_try_send`), a race inside GStreamer that depends on how fast the server
/// answers (about one run in six here, against any server). Only after EOS, i.e. after the
/// frames the test asks for came through.
fn shutdown_race_only(stdout: &str, stderr: &str) -> bool {
    let all = format!("{stdout}\n{stderr}");
    let Some(eos) = all.find("Got EOS from element") else {
        return false;
    };
    let errors: Vec<&str> = all
        .lines()
        .filter(|l| l.starts_with("ERROR") || l.contains("gstrtspsrc.c"))
        .collect();
    !errors.is_empty()
        && all[..eos].lines().all(|l| !l.starts_with("ERROR"))
        && errors.iter().all(|l| {
            l.contains("Could not write to resource")
                || l.contains("gst_rtspsrc_try_send")
                || l.contains("gst_rtspsrc_pause")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_rtspsrc_receives_h264_over_tcp_and_udp() {
    if !have("gst-launch-1.0", "--version") {
        return;
    }
    let cam = MockCamera::builder()
        .credentials("admin", "gst-pw")
        .start()
        .await
        .unwrap();
    for protocols in ["tcp", "udp"] {
        let pipeline = format!(
            "rtspsrc location={} user-id=admin user-pw=gst-pw protocols={protocols} latency=0 ! rtph264depay ! h264parse ! avdec_h264 ! identity eos-after=30 ! fakesink",
            cam.rtsp_url("main")
        );
        let mut args = vec!["60".to_string(), "gst-launch-1.0".to_string()];
        args.extend(pipeline.split(' ').map(str::to_string));
        let out = run(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || shutdown_race_only(&stdout, &stderr),
            "rtspsrc {protocols}: {stdout}\n{stderr}"
        );
        if !out.status.success() {
            eprintln!("rtspsrc {protocols}: GStreamer's shutdown race, after EOS");
        }
        // `identity eos-after=30` ends the stream once 30 frames came through the decoder.
        assert!(
            stdout.contains("Got EOS from element"),
            "rtspsrc {protocols}: no EOS, so not 30 frames: {stdout}\n{stderr}"
        );
    }
}
