//! `camlink info | profiles | snapshot | ptz | events` end to end against the mock camera:
//! the binary runs with `--json`, its output is parsed and the values checked against what the
//! mock was configured with. Credentials never appear in the output.
#![cfg(feature = "cli")]

mod cli_support;

use camlink::mock::MockCamera;
use cli_support::{PASSWORD, assert_keys, assert_no_password, camlink, camlink_with, json_of};
use std::time::Duration;

async fn camera(clock_offset: i64) -> MockCamera {
    MockCamera::builder()
        .credentials("admin", PASSWORD)
        .clock_offset(clock_offset)
        .start()
        .await
        .expect("mock camera")
}

#[tokio::test(flavor = "multi_thread")]
async fn info_reports_identity_clock_offset_and_services() {
    let cam = camera(7200).await;
    let url = cam.device_service_url();
    let v = json_of(&camlink(&["--json", "info", &url, "--user", "admin"]).await);
    assert_keys(
        &v,
        &[
            "manufacturer",
            "model",
            "firmware_version",
            "serial_number",
            "hardware_id",
            "clock_offset_seconds",
            "services",
        ],
    );
    let id = &cam.config().identity;
    assert_eq!(v["manufacturer"], id.manufacturer.as_str());
    assert_eq!(v["model"], id.model.as_str());
    assert_eq!(v["firmware_version"], id.firmware_version.as_str());
    assert_eq!(v["serial_number"], id.serial_number.as_str());
    assert_eq!(v["hardware_id"], id.hardware_id.as_str());
    let offset = v["clock_offset_seconds"].as_i64().expect("a number");
    assert!((7198..=7202).contains(&offset), "offset {offset}");
    let protocols = v["network_protocols"].as_array().expect("protocols");
    let rtsp = protocols
        .iter()
        .find(|p| p["name"] == "RTSP")
        .unwrap_or_else(|| panic!("RTSP listed: {v}"));
    assert_eq!(rtsp["ports"][0], cam.ports().rtsp, "{v}");
    let services = v["services"].as_array().expect("services");
    let device = services
        .iter()
        .find(|s| s["namespace"] == "http://www.onvif.org/ver10/device/wsdl")
        .expect("the device service is listed");
    assert_eq!(device["xaddr"], url.as_str());
    assert!(device["version"].is_string(), "{device}");
    assert_keys(device, &["namespace", "xaddr", "version"]);
    for ns in [
        "http://www.onvif.org/ver10/media/wsdl",
        "http://www.onvif.org/ver20/ptz/wsdl",
        "http://www.onvif.org/ver10/events/wsdl",
    ] {
        assert!(
            services.iter().any(|s| s["namespace"] == ns),
            "{ns} missing: {services:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn info_human_output_and_host_port_form() {
    let cam = camera(0).await;
    // `host:port` instead of the full URL.
    let hostport = format!("127.0.0.1:{}", cam.ports().http);
    let out = camlink(&["info", &hostport, "-u", "admin"]).await;
    assert_no_password(&out);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&cam.config().identity.model), "{text}");
    assert!(text.contains("in step with this machine"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn profiles_list_codecs_sizes_and_uris() {
    let cam = camera(0).await;
    let url = cam.device_service_url();
    let v = json_of(&camlink(&["profiles", "--json", &url, "--user", "admin"]).await);
    let list = v.as_array().expect("an array");
    let cfg = &cam.config().profiles;
    assert_eq!(list.len(), cfg.len());
    for (p, want) in list.iter().zip(cfg) {
        assert_keys(
            p,
            &[
                "token",
                "name",
                "video",
                "audio",
                "stream_uri",
                "snapshot_uri",
            ],
        );
        assert_keys(&p["video"], &["encoding", "width", "height", "framerate"]);
        assert_eq!(p["token"], want.token.as_str());
        assert_eq!(p["name"], want.name.as_str());
        assert_eq!(p["video"]["encoding"], "H264");
        assert_eq!(p["video"]["width"], want.width);
        assert_eq!(p["video"]["height"], want.height);
        assert_eq!(p["video"]["framerate"].as_f64(), Some(f64::from(want.fps)));
        assert_eq!(p["stream_uri"], cam.rtsp_url(&want.token).as_str());
        assert_eq!(p["snapshot_uri"], cam.snapshot_url(&want.token).as_str());
        assert_eq!(p["audio"].is_null(), want.audio.is_none(), "{p}");
    }
    assert_eq!(list[0]["audio"]["encoding"], "PCMU");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_is_unauthorized_and_never_shown() {
    let cam = camera(0).await;
    let url = cam.device_service_url();
    let wrong = "not-the-Pa55word-0c1d";
    let out = camlink_with(
        &["--json", "info", &url, "--user", "admin"],
        Some(wrong),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error[unauthorized]: "), "{stderr}");
    for text in [&stderr, &String::from_utf8_lossy(&out.stdout)] {
        assert!(!text.contains(wrong), "password shown: {text}");
    }
    assert!(out.stdout.is_empty(), "nothing on stdout on error");

    // The same with the password in the URL's user-info.
    let with_userinfo = url.replace("http://", &format!("http://admin:{wrong}@"));
    let out = camlink_with(&["profiles", &with_userinfo], None, Duration::from_secs(60)).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error[unauthorized]: "), "{stderr}");
    assert!(!stderr.contains(wrong), "password shown: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn password_in_the_url_is_used() {
    let cam = camera(0).await;
    let url = cam
        .device_service_url()
        .replace("http://", &format!("http://admin:{PASSWORD}@"));
    let v = json_of(&camlink_with(&["--json", "info", &url], None, Duration::from_secs(60)).await);
    assert_eq!(v["model"], cam.config().identity.model.as_str());
    assert!(
        !v["device_url"].as_str().unwrap().contains('@'),
        "user-info stripped: {v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_a_pinned_certificate() {
    let cam = camera(0).await;
    let url = cam.https_device_service_url().expect("HTTPS on");
    let fp = cam.https_fingerprint().expect("fingerprint").to_string();
    let v = json_of(&camlink(&["--json", "info", &url, "-u", "admin", "--pin", &fp]).await);
    assert_eq!(v["model"], cam.config().identity.model.as_str());
    // Without the pin, the self-signed certificate is refused.
    let out = camlink(&["--json", "info", &url, "-u", "admin"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error[tls_certificate]: "), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_writes_a_jpeg_file() {
    let cam = camera(0).await;
    let url = cam.device_service_url();
    let dir = std::env::temp_dir().join(format!("camlink-cli-snapshot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sub.jpg");
    let file_s = file.to_str().unwrap();
    let v = json_of(
        &camlink(&[
            "--json",
            "snapshot",
            &url,
            "-u",
            "admin",
            "--profile",
            "sub",
            "-o",
            file_s,
        ])
        .await,
    );
    assert_eq!(v["profile"], "sub");
    assert_eq!(v["jpeg"], true);
    assert_eq!(v["snapshot_uri"], cam.snapshot_url("sub").as_str());
    let bytes = std::fs::read(&file).expect("the file was written");
    assert_eq!(v["bytes"].as_u64(), Some(bytes.len() as u64));
    assert!(bytes.starts_with(&[0xFF, 0xD8]), "JPEG start of image");
    assert!(bytes.ends_with(&[0xFF, 0xD9]), "JPEG end of image");

    // An unknown profile is a clear error naming the ones that exist.
    let out = camlink(&[
        "snapshot",
        &url,
        "-u",
        "admin",
        "--profile",
        "nope",
        "-o",
        file_s,
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error[invalid_input]: "), "{stderr}");
    assert!(stderr.contains("main"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn ptz_move_changes_the_position() {
    let cam = camera(0).await;
    let url = cam.device_service_url();
    let before = cam.ptz_position();
    let v = json_of(&camlink(&["--json", "ptz", &url, "-u", "admin", "status"]).await);
    assert_eq!(v["profile"], "main");
    assert!(
        (v["position"]["pan"].as_f64().unwrap() - before.0).abs() < 1e-6,
        "{v}"
    );

    let v = json_of(
        &camlink(&[
            "--json",
            "ptz",
            &url,
            "-u",
            "admin",
            "move",
            "--pan",
            "0.5",
            "--tilt",
            "-0.5",
            "--duration",
            "0.6",
        ])
        .await,
    );
    let after = cam.ptz_position();
    assert!(
        after.0 > before.0 + 0.05,
        "pan moved right: {before:?} -> {after:?}"
    );
    assert!(
        after.1 < before.1 - 0.05,
        "tilt moved down: {before:?} -> {after:?}"
    );
    assert!((after.2 - before.2).abs() < 1e-6, "zoom unchanged");
    // The position printed is the camera's position after the move.
    assert!(
        (v["position"]["pan"].as_f64().unwrap() - after.0).abs() < 1e-3,
        "{v}"
    );
    assert!(
        (v["position"]["tilt"].as_f64().unwrap() - after.1).abs() < 1e-3,
        "{v}"
    );
    assert_eq!(v["move"]["velocity"]["pan"], 0.5);

    // Stopped: the position stays put.
    std::thread::sleep(Duration::from_millis(300));
    let still = cam.ptz_position();
    assert!((still.0 - after.0).abs() < 1e-6, "{after:?} -> {still:?}");

    // Home brings it back to the middle.
    let v = json_of(&camlink(&["--json", "ptz", &url, "-u", "admin", "home"]).await);
    assert!(v["position"].is_object(), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ptz_presets_and_goto() {
    use camlink::auth::Credentials;
    use camlink::onvif::client::{OnvifClient, OnvifOptions};
    use camlink::onvif::ptz::PtzVector;
    let cam = camera(0).await;
    let url = cam.device_service_url();
    // A preset stored with the library at pan 0.4 / tilt 0.2, then the head moved back home.
    let options = OnvifOptions {
        credentials: Some(Credentials::new("admin", PASSWORD)),
        ..OnvifOptions::default()
    };
    let client = OnvifClient::connect(&url, options).await.unwrap();
    let at = PtzVector {
        pan_tilt: Some((0.4, 0.2)),
        zoom: Some(0.0),
    };
    client.absolute_move("main", at, None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let token = client.set_preset("main", Some("door"), None).await.unwrap();
    client.goto_home_position("main").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        cam.ptz_position().0.abs() < 0.05,
        "{:?}",
        cam.ptz_position()
    );

    let v = json_of(&camlink(&["--json", "ptz", &url, "-u", "admin", "presets"]).await);
    let presets = v.as_array().expect("an array");
    let p = presets
        .iter()
        .find(|p| p["token"] == token.as_str())
        .unwrap_or_else(|| panic!("preset {token} not listed: {v}"));
    assert_eq!(p["name"], "door");

    json_of(&camlink(&["--json", "ptz", &url, "-u", "admin", "goto", &token]).await);
    // The mock head moves at a finite speed: wait (bounded) for it to arrive.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (pan, tilt, _) = cam.ptz_position();
        if (pan - 0.4).abs() < 0.02 && (tilt - 0.2).abs() < 0.02 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not reach the preset: {:?}",
            cam.ptz_position()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A bad speed is refused before anything is sent.
    let out = camlink(&["ptz", &url, "-u", "admin", "move", "--pan", "3"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error[invalid_input]: "));
}

#[tokio::test(flavor = "multi_thread")]
async fn events_prints_a_triggered_motion_event() {
    let cam = std::sync::Arc::new(camera(0).await);
    let url = cam.device_service_url();
    // Keep raising motion while the command listens (it subscribes at some point after start).
    let trigger = {
        let cam = cam.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                cam.trigger_motion(true);
            }
        })
    };
    let started = std::time::Instant::now();
    let out = camlink(&[
        "--json",
        "events",
        &url,
        "-u",
        "admin",
        "--duration",
        "30",
        "--count",
        "3",
    ])
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "--count 3 ends early: {:?}",
        started.elapsed()
    );
    trigger.abort();
    assert!(out.status.success(), "{out:?}");
    assert_no_password(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line not JSON ({e}): {l}")))
        .collect();
    let motion = lines
        .iter()
        .find(|v| {
            v["topic"].as_str().unwrap_or("").contains("Motion") && v["data"]["IsMotion"] == "true"
        })
        .unwrap_or_else(|| panic!("no motion event in: {stdout}"));
    assert_keys(motion, &["time", "topic", "source", "data"]);
    assert!(motion["time"].as_str().unwrap().ends_with('Z'), "{motion}");
    assert_eq!(motion["source"]["Rule"], "MotionDetectorRule");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_camera_that_never_answers_times_out() {
    // Accepts connections and reads nothing back: every request must hit its timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
            if held.len() > 64 {
                break;
            }
        }
    });
    let started = std::time::Instant::now();
    let out = camlink(&[
        "info",
        &format!("127.0.0.1:{port}"),
        "-u",
        "admin",
        "--timeout",
        "1",
    ])
    .await;
    holder.abort();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error[timeout]: "), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_port_is_a_clear_error() {
    let port = cli_support::closed_port();
    let out = camlink(&["profiles", &format!("127.0.0.1:{port}"), "--timeout", "2"]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error[unreachable]: ") || stderr.starts_with("error[io]: "),
        "{stderr}"
    );
    assert!(
        stderr.contains(&port.to_string()),
        "names the peer: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn human_output_of_each_command() {
    let cam = camera(0).await;
    let url = cam.device_service_url();
    let text = |out: std::process::Output| {
        assert_no_password(&out);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let t = text(camlink(&["profiles", &url, "-u", "admin"]).await);
    assert!(t.contains("H264 640x360"), "{t}");
    assert!(t.contains(&cam.rtsp_url("sub")), "{t}");
    let t = text(camlink(&["ptz", &url, "-u", "admin", "status"]).await);
    assert!(
        t.starts_with("main: pan 0.000 tilt 0.000 zoom 0.000"),
        "{t}"
    );
    let file = std::env::temp_dir().join(format!("camlink-cli-human-{}.jpg", std::process::id()));
    let t = text(
        camlink(&[
            "snapshot",
            &url,
            "-u",
            "admin",
            "-o",
            file.to_str().unwrap(),
        ])
        .await,
    );
    assert!(t.starts_with("saved "), "{t}");
    let _ = std::fs::remove_file(&file);
    let p = cam.ports();
    let t = text(
        camlink(&[
            "ports",
            "127.0.0.1",
            "--ports",
            &format!("{},{}", p.http, p.https.unwrap()),
        ])
        .await,
    );
    assert!(
        t.contains(&format!(
            "control (ONVIF): {}",
            cam.https_device_service_url().unwrap()
        )),
        "{t}"
    );
    assert!(t.contains("warning: port"), "plain HTTP flagged: {t}");
    let t = text(
        camlink(&[
            "discover",
            "--target",
            &format!("127.0.0.1:{}", p.discovery.unwrap()),
            "--timeout",
            "1",
        ])
        .await,
    );
    assert!(t.contains(&format!("device service: {url}")), "{t}");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_stops_cleanly_on_ctrl_c() {
    use tokio::io::AsyncBufReadExt;
    let cam = camera(0).await;
    let url = cam.device_service_url();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_camlink"))
        .args(["events", &url, "-u", "admin", "--duration", "60"])
        .env("CAMLINK_PASSWORD", PASSWORD)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
        .await
        .expect("camlink events started")
        .unwrap()
        .unwrap_or_default();
    assert!(first.starts_with("listening for 60 s"), "{first}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("stopped after Ctrl-C")
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let rest = stderr.next_line().await.unwrap().unwrap_or_default();
    // The summary line is printed after the unsubscribe (the mock starts each subscription with
    // the current motion state, so the count is 0 or 1 here).
    assert!(rest == "0 event(s)" || rest == "1 event(s)", "{rest:?}");
}

/// A mock camera made from one of our fixture folders (`fixtures/cameras/<name>`).
async fn fixture_camera(name: &str) -> MockCamera {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/cameras")
        .join(name);
    MockCamera::builder()
        .fixture(&dir)
        .expect("fixture")
        .credentials("admin", PASSWORD)
        .start()
        .await
        .expect("mock camera")
}

#[tokio::test(flavor = "multi_thread")]
async fn camera_behind_nat_gets_usable_uris_with_rtsp_port_override() {
    let cam = fixture_camera("nat_internal_ip_in_uris").await;
    let url = cam.device_service_url();
    let v = json_of(&camlink(&["--json", "info", &url, "-u", "admin"]).await);
    let device = &v["services"][0];
    assert_eq!(device["xaddr"], url.as_str(), "{v}");
    assert!(
        device["reported_xaddr"]
            .as_str()
            .unwrap()
            .contains("192.168.1.64"),
        "{v}"
    );
    // The camera says rtsp://192.168.1.64:554/...; the forwarded RTSP port is given by hand.
    let rtsp_port = cam.ports().rtsp.to_string();
    let v = json_of(
        &camlink(&[
            "--json",
            "profiles",
            &url,
            "-u",
            "admin",
            "--rtsp-port",
            &rtsp_port,
        ])
        .await,
    );
    assert_eq!(v[0]["stream_uri"], cam.rtsp_url("main").as_str(), "{v}");
    assert_eq!(
        v[0]["snapshot_uri"],
        cam.snapshot_url("main").as_str(),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn quirky_cameras_from_fixtures() {
    // Clock two hours ahead, WS-UsernameToken only: the offset is learnt and used.
    let cam = fixture_camera("clock_2h_ahead").await;
    let v = json_of(&camlink(&["--json", "info", &cam.device_service_url(), "-u", "admin"]).await);
    assert_eq!(v["model"], "Skewed-Clock-Cam");
    let offset = v["clock_offset_seconds"].as_i64().unwrap();
    assert!((7198..=7202).contains(&offset), "{offset}");
    // HTTP Digest only.
    let cam = fixture_camera("digest_only").await;
    let v = json_of(
        &camlink(&[
            "--json",
            "profiles",
            &cam.device_service_url(),
            "-u",
            "admin",
        ])
        .await,
    );
    assert_eq!(v[0]["stream_uri"], cam.rtsp_url("main").as_str());
    // A replayed GetDeviceInformation answer (with an escaped `&`).
    let cam = fixture_camera("replay_device_info").await;
    let v = json_of(&camlink(&["--json", "info", &cam.device_service_url(), "-u", "admin"]).await);
    assert_eq!(v["manufacturer"], "Replayed Vendor");
    assert_eq!(v["model"], "RP-100 & Co");
}

#[tokio::test(flavor = "multi_thread")]
async fn password_from_another_environment_variable() {
    let cam = camera(0).await;
    let url = cam.device_service_url();
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_camlink"))
            .args([
                "--json",
                "info",
                &url,
                "-u",
                "admin",
                "--password-env",
                "SITE_7_CAM_PW",
            ])
            .env_remove("CAMLINK_PASSWORD")
            .env("SITE_7_CAM_PW", PASSWORD)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("finished")
    .unwrap();
    let v = json_of(&out);
    assert_eq!(v["model"], cam.config().identity.model.as_str());
    // Without it, the camera refuses: the variable really is where the password came from.
    let out = camlink_with(
        &[
            "--json",
            "info",
            &url,
            "-u",
            "admin",
            "--password-env",
            "SITE_7_CAM_PW",
        ],
        Some(PASSWORD),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[unauthorized]"));
}
