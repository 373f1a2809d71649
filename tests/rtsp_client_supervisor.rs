//! The supervised session: recovers from a mock camera reboot with a discontinuity marker, and
//! reports its health while retrying.

#![cfg(feature = "mock")]

use std::sync::Arc;
use std::time::Duration;

use camlink::ErrorKind;
use camlink::auth::Credentials;
use camlink::mock::{MockCamera, ProfileConfig, VideoCodec};
use camlink::rtsp::client::{
    Event, Health, Item, SessionOptions, Supervisor, SupervisorOptions, Timeouts,
};

fn opts() -> SessionOptions {
    SessionOptions::new()
        .credentials(Credentials::new("admin", "secret"))
        .timeouts(Timeouts {
            connect: Duration::from_secs(1),
            response: Duration::from_secs(2),
            first_packet: Duration::from_secs(2),
            no_data: Duration::from_secs(2),
            ..Timeouts::default()
        })
}

fn sup_opts() -> SupervisorOptions {
    SupervisorOptions {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(800),
        stall_after: Duration::from_millis(500),
        ..SupervisorOptions::default()
    }
}

#[tokio::test]
async fn recovers_from_a_reboot_with_a_discontinuity() {
    let cam = Arc::new(
        MockCamera::builder()
            .credentials("admin", "secret")
            .profiles(vec![ProfileConfig::new("main", VideoCodec::H264, 160, 120)])
            .start()
            .await
            .unwrap(),
    );
    let mut sup = Supervisor::new(&cam.rtsp_url("main"), opts(), sup_opts());
    let health = sup.health();
    let mut log: Vec<String> = Vec::new();
    let mut video_before = 0;
    let mut video_after = 0;
    let mut discontinuity = false;
    let mut rebooted = false;
    tokio::time::timeout(Duration::from_secs(30), async {
        while video_after < 10 {
            let ev = sup.next().await.expect("supervisor never ends by itself");
            match ev {
                Event::Health(h) => log.push(format!("{h:?}")),
                Event::Item(Item::Discontinuity { error }) => {
                    assert!(rebooted);
                    log.push(format!("Discontinuity({:?})", error.kind()));
                    discontinuity = true;
                }
                Event::Item(Item::Video(_)) => {
                    if discontinuity {
                        video_after += 1;
                    } else {
                        video_before += 1;
                    }
                    if video_before == 10 && !rebooted {
                        rebooted = true;
                        let c = cam.clone();
                        tokio::spawn(async move { c.reboot(Duration::from_millis(1500)).await });
                    }
                }
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no recovery; events: {log:?}"));
    assert!(log[0].starts_with("Connecting"), "{log:?}");
    assert_eq!(log[1], "Playing", "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("Retrying")), "{log:?}");
    assert_eq!(log.iter().filter(|l| *l == "Playing").count(), 2, "{log:?}");
    assert_eq!(*health.borrow(), Health::Playing);
    sup.stop().await;
    assert!(sup.next().await.is_none());
}

#[tokio::test]
async fn unreachable_camera_is_retried_with_growing_delays() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut sup = Supervisor::new(&format!("rtsp://127.0.0.1:{port}/x"), opts(), sup_opts());
    let mut retries = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while retries.len() < 4 {
            if let Some(Event::Health(Health::Retrying {
                attempt,
                delay,
                kind,
                ..
            })) = sup.next().await
            {
                assert_eq!(kind, ErrorKind::Unreachable);
                retries.push((attempt, delay));
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        retries.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    // 100 ms doubling, ±20 %: the 4th delay (800 ms nominal) exceeds the 1st (100 ms nominal).
    assert!(retries[3].1 > retries[0].1 * 4, "{retries:?}");
}

#[tokio::test]
async fn a_silent_camera_is_reported_stalled_then_retried() {
    use camlink::mock::Fault;
    let cam = MockCamera::builder()
        .credentials("admin", "secret")
        .profiles(vec![ProfileConfig::new("main", VideoCodec::H264, 160, 120)])
        .start()
        .await
        .unwrap();
    let mut sup = Supervisor::new(&cam.rtsp_url("main"), opts(), sup_opts());
    let mut log = Vec::new();
    let mut video = 0;
    let mut resumed = 0;
    let mut silenced = false;
    tokio::time::timeout(Duration::from_secs(30), async {
        while resumed < 5 {
            match sup.next().await.unwrap() {
                Event::Health(h) => {
                    if matches!(h, Health::Retrying { .. }) && silenced {
                        // The camera speaks again for the next session.
                        cam.clear_faults();
                    }
                    log.push(h);
                }
                Event::Item(Item::Video(_)) => {
                    video += 1;
                    if video == 5 {
                        cam.set_fault(Fault::StopRtp);
                        silenced = true;
                    }
                    if log.iter().any(|h| matches!(h, Health::Retrying { .. })) {
                        resumed += 1;
                    }
                }
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{log:?}"));
    let stalled = log
        .iter()
        .position(|h| *h == Health::Stalled)
        .expect("stalled");
    let retry = log
        .iter()
        .position(|h| {
            matches!(
                h,
                Health::Retrying {
                    kind: ErrorKind::Timeout,
                    ..
                }
            )
        })
        .expect("retrying after a timeout");
    assert!(stalled < retry, "{log:?}");
    assert_eq!(log.last(), Some(&Health::Playing), "{log:?}");
}
