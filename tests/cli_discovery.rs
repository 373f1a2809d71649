//! `camlink discover` and `camlink ports` end to end against the mock camera, on loopback only.
#![cfg(feature = "cli")]

mod cli_support;

use camlink::mock::MockCamera;
use cli_support::{PASSWORD, assert_keys, camlink, closed_port, json_of};

#[tokio::test(flavor = "multi_thread")]
async fn discover_with_a_unicast_target_finds_the_mock() {
    let cam = MockCamera::builder()
        .credentials("admin", PASSWORD)
        .start()
        .await
        .unwrap();
    let target = format!("127.0.0.1:{}", cam.ports().discovery.expect("responder"));
    let v = json_of(
        &camlink(&[
            "discover",
            "--json",
            "--target",
            &target,
            "--timeout",
            "1.5",
        ])
        .await,
    );
    let found = v.as_array().expect("an array");
    assert_eq!(found.len(), 1, "{v}");
    let d = &found[0];
    assert_keys(d, &["endpoint", "xaddrs", "scopes", "name", "hardware"]);
    assert!(
        d["endpoint"].as_str().unwrap().starts_with("urn:uuid:"),
        "{d}"
    );
    assert_eq!(d["xaddrs"][0], cam.device_service_url().as_str());
    assert_eq!(d["hardware"], cam.config().identity.model.as_str());
    assert_eq!(d["name"], "camlink");
    assert!(
        d["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "onvif://www.onvif.org/Profile/Streaming"),
        "{d}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_target_without_port_uses_port_flag_and_finds_legacy_cameras() {
    let cam = MockCamera::builder()
        .discovery_legacy_only(true)
        .start()
        .await
        .unwrap();
    let port = cam.ports().discovery.unwrap().to_string();
    let v = json_of(
        &camlink(&[
            "--json",
            "discover",
            "--target",
            "127.0.0.1",
            "--port",
            &port,
            "--timeout",
            "1.5",
        ])
        .await,
    );
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["xaddrs"][0], cam.device_service_url().as_str());
    assert_eq!(v[0]["legacy_form"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_finds_nothing_on_a_silent_port() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = silent.local_addr().unwrap().to_string();
    let started = std::time::Instant::now();
    let v = json_of(
        &camlink(&[
            "--json",
            "discover",
            "--target",
            &target,
            "--timeout",
            "0.5",
        ])
        .await,
    );
    assert_eq!(v, serde_json::json!([]));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread")]
async fn ports_identifies_onvif_rtsp_https_and_closed() {
    let cam = MockCamera::builder()
        .credentials("admin", PASSWORD)
        .start()
        .await
        .unwrap();
    let p = cam.ports();
    let https = p.https.expect("https");
    let rtsps = p.rtsps.expect("rtsps");
    let closed = closed_port();
    let list = format!("{},{},{},{},{}", p.http, https, p.rtsp, rtsps, closed);
    let started = std::time::Instant::now();
    let v = json_of(&camlink(&["--json", "ports", "127.0.0.1", "--ports", &list]).await);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let ports = v.as_array().expect("an array");
    assert_eq!(ports.len(), 5, "{v}");
    for p in ports {
        assert_keys(p, &["port", "open", "service", "url"]);
    }
    let get = |port: u16| {
        ports
            .iter()
            .find(|x| x["port"] == port)
            .unwrap_or_else(|| panic!("port {port} missing: {v}"))
    };
    let http = get(p.http);
    assert_eq!(http["open"], true);
    assert_eq!(http["service"], "onvif");
    assert_eq!(http["url"], cam.device_service_url().as_str());
    assert_eq!(http["tls"], false);
    // Plain ONVIF while HTTPS is offered: flagged.
    assert!(
        http["risks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains(&https.to_string())),
        "{http}"
    );
    let tls = get(https);
    assert_eq!(tls["open"], true);
    assert_eq!(tls["service"], "onvif");
    assert_eq!(tls["tls"], true);
    assert_eq!(tls["url"], cam.https_device_service_url().unwrap().as_str());
    assert_eq!(tls["tls_sha256"], cam.https_fingerprint().unwrap());
    let rtsp = get(p.rtsp);
    assert_eq!(rtsp["open"], true);
    assert_eq!(rtsp["service"], "rtsp");
    assert!(
        rtsp["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("rtsp://127.0.0.1:{}", p.rtsp)),
        "{rtsp}"
    );
    // RTSPS: RTSP over TLS, with the camera's certificate.
    let rtsps_r = get(rtsps);
    assert_eq!(rtsps_r["open"], true);
    assert_eq!(rtsps_r["service"], "rtsp", "{rtsps_r}");
    assert_eq!(rtsps_r["tls"], true);
    assert_eq!(rtsps_r["tls_sha256"], cam.https_fingerprint().unwrap());
    let c = get(closed);
    assert_eq!(c["open"], false);
    assert!(c["service"].is_null(), "closed port: service null: {c}");
    assert!(c["url"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn ports_rejects_a_bad_list() {
    let out = camlink(&["ports", "127.0.0.1", "--ports", "80,abc"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error[invalid_input]: "), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_command_line_is_invalid_input_with_exit_1() {
    for args in [
        &["info"][..],
        &["ptz", "127.0.0.1:9", "move", "--pan", "fast"][..],
        &["discover", "--interface", "not-an-address"][..],
    ] {
        let out = camlink(args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error[invalid_input]: "), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    // --help is not an error.
    let out = camlink(&["ports", "--help"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--ports <LIST>"));
}
