//! WS-Discovery end to end on loopback: responders, unicast search, spoofing, floods, sweep,
//! Hello/Bye. Only 127.0.0.1 and free ports are used.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use camlink::discovery::probe::{self, DiscoveryOptions, ListenOptions};
use camlink::discovery::responder::{Responder, ResponderConfig};
use camlink::discovery::ws_discovery::{
    self, Dialect, Endpoint, MessageKind, ProbeForm, QualifiedName,
};
use tokio::net::UdpSocket;

fn camera(n: u32) -> Endpoint {
    Endpoint {
        address: format!("urn:uuid:00000000-0000-4000-8000-{n:012}"),
        types: vec![
            QualifiedName::network_video_transmitter(),
            QualifiedName::device(),
        ],
        scopes: vec![
            format!("onvif://www.onvif.org/name/Camera%20{n}"),
            format!("onvif://www.onvif.org/hardware/MOCK-{n}"),
            "onvif://www.onvif.org/Profile/Streaming".into(),
            "onvif://www.onvif.org/Profile/T".into(),
        ],
        xaddrs: vec![format!(
            "http://127.0.0.1:{}/onvif/device_service",
            8000 + n
        )],
        metadata_version: Some(1),
    }
}

fn loopback0() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn responder(n: u32, legacy_only: bool) -> Responder {
    let mut cfg = ResponderConfig::new(camera(n));
    cfg.bind = loopback0();
    cfg.legacy_only = legacy_only;
    Responder::start(cfg).await.unwrap()
}

fn quick(targets: Vec<SocketAddr>) -> DiscoveryOptions {
    DiscoveryOptions {
        timeout: Duration::from_millis(1200),
        ..DiscoveryOptions::unicast(targets)
    }
}

#[tokio::test]
async fn several_responders_are_all_found_including_a_legacy_only_one() {
    let r1 = responder(1, false).await;
    let r2 = responder(2, false).await;
    let r3 = responder(3, true).await;
    let targets = vec![r1.local_addr(), r2.local_addr(), r3.local_addr()];
    let started = Instant::now();
    let mut found = probe::discover_all(quick(targets)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    found.sort_by(|a, b| a.endpoint.address.cmp(&b.endpoint.address));
    assert_eq!(found.len(), 3, "{found:#?}");
    for (i, d) in found.iter().enumerate() {
        let n = i as u32 + 1;
        assert_eq!(d.endpoint, camera(n));
        assert_eq!(
            d.scopes.name.as_deref(),
            Some(format!("Camera {n}").as_str())
        );
        assert_eq!(
            d.scopes.hardware.as_deref(),
            Some(format!("MOCK-{n}").as_str())
        );
        assert_eq!(d.scopes.profiles, vec!["S", "T"]);
    }
    assert_eq!(found[2].form, ProbeForm::Legacy, "the legacy-only camera");
    assert_eq!(found[2].from, r3.local_addr());
    r1.stop().await;
    r2.stop().await;
    r3.stop().await;
}

#[tokio::test]
async fn a_legacy_only_camera_is_missed_by_the_standard_form_alone() {
    // The reason both forms are sent: this camera stays silent for the standard probe.
    let r = responder(4, true).await;
    let opts = DiscoveryOptions {
        forms: vec![ProbeForm::Standard],
        timeout: Duration::from_millis(600),
        ..quick(vec![r.local_addr()])
    };
    assert!(probe::discover_all(opts).await.unwrap().is_empty());
}

/// A fake device: for each probe received, sends what `answers` builds from the probe's
/// MessageID.
async fn fake_device(
    answers: impl Fn(&str) -> Vec<String> + Send + 'static,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let sock = UdpSocket::bind(loopback0()).await.unwrap();
    let addr = sock.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let Ok(m) = ws_discovery::parse(&buf[..n]) else {
                continue;
            };
            let Some(id) = m.message_id else { continue };
            for a in answers(&id) {
                let _ = sock.send_to(a.as_bytes(), from).await;
            }
        }
    });
    (addr, task)
}

#[tokio::test]
async fn spoofed_matches_with_a_foreign_relates_to_are_ignored() {
    let (addr, task) = fake_device(|id| {
        vec![
            // Relates to a probe we never sent.
            ws_discovery::build_probe_matches(
                Dialect::default(),
                "urn:uuid:s1",
                "urn:uuid:99999999-9999-4999-8999-999999999999",
                &[camera(66)],
                None,
            ),
            // No RelatesTo at all (a Hello dressed as an answer).
            ws_discovery::build_hello(Dialect::default(), "urn:uuid:s2", &camera(67), None),
            // The genuine answer.
            ws_discovery::build_probe_matches(
                Dialect::default(),
                "urn:uuid:s3",
                id,
                &[camera(5)],
                None,
            ),
        ]
    })
    .await;
    let found = probe::discover_all(quick(vec![addr])).await.unwrap();
    task.abort();
    let addrs: Vec<&str> = found.iter().map(|d| d.endpoint.address.as_str()).collect();
    assert_eq!(addrs, vec![camera(5).address.as_str()]);
}

#[tokio::test]
async fn a_flood_of_answers_stays_bounded() {
    // 300 distinct devices answer each probe (and each probe is sent 3 times in 2 forms); only
    // max_results are kept, and the search still ends on time.
    let (addr, task) = fake_device(|id| {
        (0..300)
            .map(|i| {
                ws_discovery::build_probe_matches(
                    Dialect::default(),
                    "urn:uuid:f",
                    id,
                    &[camera(1000 + i)],
                    None,
                )
            })
            .collect()
    })
    .await;
    let opts = DiscoveryOptions {
        max_results: 50,
        ..quick(vec![addr])
    };
    let started = Instant::now();
    let found = probe::discover_all(opts).await.unwrap();
    task.abort();
    assert_eq!(found.len(), 50);
    assert!(started.elapsed() < Duration::from_secs(3));
    let mut unique: Vec<&str> = found.iter().map(|d| d.endpoint.address.as_str()).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 50, "each device once");
}

#[tokio::test]
async fn sweep_finds_a_responder_on_loopback() {
    let r = responder(7, false).await;
    let opts = DiscoveryOptions {
        port: r.local_addr().port(),
        timeout: Duration::from_millis(800),
        ..DiscoveryOptions::default()
    };
    let mut rx = probe::sweep("127.0.0.1".parse().unwrap(), 32, opts)
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .expect("one device");
    assert_eq!(first.endpoint.address, camera(7).address);
    // The stream ends by itself at the timeout.
    let end = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap();
    assert!(end.is_none());
    r.stop().await;
}

#[tokio::test]
async fn hello_and_bye_are_heard() {
    let (addr, mut rx) = probe::listen(ListenOptions {
        bind: loopback0(),
        multicast_interfaces: vec![],
    })
    .await
    .unwrap();
    let mut cfg = ResponderConfig::new(camera(8));
    cfg.bind = loopback0();
    cfg.announce_to = Some(addr);
    let r = Responder::start(cfg).await.unwrap();
    let hello = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hello.kind, MessageKind::Hello);
    assert_eq!(hello.endpoint, camera(8));
    r.stop().await;
    let bye = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bye.kind, MessageKind::Bye);
    assert_eq!(bye.endpoint.address, camera(8).address);
    // One instance, messages counted in order.
    let (h, b) = (hello.app_sequence.unwrap(), bye.app_sequence.unwrap());
    assert_eq!(h.instance_id, b.instance_id);
    assert!(h.message_number < b.message_number);
}
