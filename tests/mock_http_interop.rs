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
        let mut args = vec![
            "60".to_string(),
            "gst-launch-1.0".to_string(),
            "-q".to_string(),
        ];
        args.extend(pipeline.split(' ').map(str::to_string));
        let out = run(args).await;
        assert!(
            out.status.success(),
            "rtspsrc {protocols}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
