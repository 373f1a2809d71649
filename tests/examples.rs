//! The examples are documentation that must keep working: each example file is compiled here
//! as a module and its main function is run against a mock camera, with its result checked.
//! (`cargo test` also builds them as examples; `.ci/run` runs them as a user would.)
#![cfg(feature = "mock")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use camlink::auth::Credentials;
use camlink::discovery::probe::DiscoveryOptions;
use camlink::mock::MockCamera;

#[path = "../examples/discover.rs"]
#[allow(dead_code)]
mod discover;
#[path = "../examples/events.rs"]
#[allow(dead_code)]
mod events;
#[path = "../examples/onvif_info.rs"]
#[allow(dead_code)]
mod onvif_info;
#[path = "../examples/ptz.rs"]
#[allow(dead_code)]
mod ptz;
#[path = "../examples/snapshot.rs"]
#[allow(dead_code)]
mod snapshot;

const PASSWORD: &str = "examples-test-password";

async fn camera() -> MockCamera {
    MockCamera::builder()
        .credentials("admin", PASSWORD)
        .clock_offset(-3600)
        .start()
        .await
        .unwrap()
}

fn creds() -> Credentials {
    Credentials::new("admin", PASSWORD)
}

#[tokio::test(flavor = "multi_thread")]
async fn onvif_info_example() {
    let cam = camera().await;
    let s = onvif_info::show(&cam.device_service_url(), creds())
        .await
        .unwrap();
    assert_eq!(s.model, cam.config().identity.model);
    assert!((s.clock_offset + 3600).abs() <= 2, "{}", s.clock_offset);
    assert_eq!(
        s.stream_uris,
        vec![cam.rtsp_url("main"), cam.rtsp_url("sub")]
    );
    // A wrong password is an error the example passes on, not a panic.
    let e = onvif_info::show(&cam.device_service_url(), Credentials::new("admin", "nope"))
        .await
        .err()
        .expect("refused");
    assert_eq!(e.kind(), &camlink::ErrorKind::Unauthorized);
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_example() {
    let cam = camera().await;
    let out = std::env::temp_dir().join(format!("camlink-example-{}.jpg", std::process::id()));
    let n = snapshot::save_snapshot(&cam.device_service_url(), creds(), &out)
        .await
        .unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.len(), n);
    assert!(bytes.starts_with(&[0xFF, 0xD8]), "a JPEG");
    let _ = std::fs::remove_file(&out);
}

#[tokio::test(flavor = "multi_thread")]
async fn ptz_example() {
    let cam = camera().await;
    let before = cam.ptz_position();
    let m = ptz::pan_right(
        &cam.device_service_url(),
        creds(),
        Duration::from_millis(400),
    )
    .await
    .unwrap();
    let after = cam.ptz_position();
    assert!(after.0 > before.0 + 0.05, "{before:?} -> {after:?}");
    assert_eq!(m.pan_before, Some(before.0));
    let reported = m.pan_after.expect("the mock reports its position");
    assert!((reported - after.0).abs() < 1e-3, "{reported} vs {after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_example() {
    let cam = Arc::new(camera().await);
    let walker = {
        let cam = cam.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                cam.trigger_motion(true);
            }
        })
    };
    let seen = events::watch_events(
        &cam.device_service_url(),
        creds(),
        Duration::from_secs(10),
        2,
    )
    .await
    .unwrap();
    walker.abort();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter()
            .any(|n| n.topic_path().contains("Motion") && n.data_value("IsMotion") == Some("true")),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_example() {
    let cam = camera().await;
    let target = SocketAddr::new(cam.bind_addr(), cam.ports().discovery.unwrap());
    let found = discover::find_cameras(DiscoveryOptions {
        timeout: Duration::from_millis(800),
        ..DiscoveryOptions::unicast([target])
    })
    .await
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].endpoint.xaddrs, vec![cam.device_service_url()]);
    let p = cam.ports();
    let control = discover::check_ports(found[0].host(), vec![p.http, p.rtsp])
        .await
        .unwrap();
    assert_eq!(control, Some(cam.device_service_url()));
}
