//! mDNS browsing against a fake responder on 127.0.0.1, and merging with WS-Discovery results.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use camlink::discovery::dns::{Message, RData, Record, RecordType};
use camlink::discovery::mdns::{self, BrowseOptions};
use camlink::discovery::merge::merge_by_address;
use camlink::discovery::probe::{self, DiscoveryOptions};
use camlink::discovery::responder::{Responder, ResponderConfig};
use camlink::discovery::ws_discovery::{Endpoint, QualifiedName};
use tokio::net::UdpSocket;

fn rec(name: &str, rtype: RecordType, data: RData) -> Record {
    Record {
        name: name.into(),
        rtype,
        class: 1,
        cache_flush: true,
        ttl: 120,
        data,
    }
}

/// Answers PTR queries for `_rtsp._tcp.local` in one packet and `_onvif._tcp.local` in two
/// (PTR first, then SRV/TXT/A), like responders that split their answers.
async fn fake_mdns() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 9000];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let Ok(q) = Message::parse(&buf[..n]) else {
                continue;
            };
            for question in &q.questions {
                let replies: Vec<Message> = match question.name.as_str() {
                    "_rtsp._tcp.local" => vec![Message {
                        response: true,
                        answers: vec![rec(
                            "_rtsp._tcp.local",
                            RecordType::Ptr,
                            RData::Ptr("Lobby Camera._rtsp._tcp.local".into()),
                        )],
                        additionals: vec![
                            rec(
                                "Lobby Camera._rtsp._tcp.local",
                                RecordType::Srv,
                                RData::Srv {
                                    priority: 0,
                                    weight: 0,
                                    port: 8554,
                                    target: "lobby.local".into(),
                                },
                            ),
                            rec(
                                "Lobby Camera._rtsp._tcp.local",
                                RecordType::Txt,
                                RData::Txt(vec![b"path=/h264".to_vec()]),
                            ),
                            rec("lobby.local", RecordType::A, RData::A(Ipv4Addr::LOCALHOST)),
                        ],
                        ..Message::default()
                    }],
                    "_onvif._tcp.local" => vec![
                        Message {
                            response: true,
                            answers: vec![rec(
                                "_onvif._tcp.local",
                                RecordType::Ptr,
                                RData::Ptr("Lobby Camera._onvif._tcp.local".into()),
                            )],
                            ..Message::default()
                        },
                        Message {
                            response: true,
                            answers: vec![
                                rec(
                                    "Lobby Camera._onvif._tcp.local",
                                    RecordType::Srv,
                                    RData::Srv {
                                        priority: 0,
                                        weight: 0,
                                        port: 8080,
                                        target: "lobby.local".into(),
                                    },
                                ),
                                rec("lobby.local", RecordType::A, RData::A(Ipv4Addr::LOCALHOST)),
                            ],
                            ..Message::default()
                        },
                    ],
                    _ => vec![],
                };
                for r in replies {
                    let _ = sock.send_to(&r.encode(), from).await;
                }
            }
        }
    });
    (addr, task)
}

#[tokio::test]
async fn browse_finds_services_from_a_loopback_responder() {
    let (addr, task) = fake_mdns().await;
    let opts = BrowseOptions {
        multicast: false,
        targets: vec![addr],
        timeout: Duration::from_millis(800),
        ..BrowseOptions::default()
    };
    let started = Instant::now();
    let mut rx = mdns::browse(opts).await.unwrap();
    let mut found = Vec::new();
    while let Some(s) = rx.recv().await {
        found.push(s);
    }
    task.abort();
    assert!(started.elapsed() < Duration::from_secs(3));
    found.sort_by(|a, b| a.service_type.cmp(&b.service_type));
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].service_type, "_onvif._tcp.local");
    assert_eq!(found[0].port, 8080);
    assert_eq!(found[1].instance, "Lobby Camera._rtsp._tcp.local");
    assert_eq!(found[1].port, 8554);
    assert_eq!(
        found[1].txt,
        vec![("path".to_string(), "/h264".to_string())]
    );
    assert_eq!(found[1].addresses, vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
}

#[tokio::test]
async fn mdns_and_ws_discovery_results_merge_by_address() {
    let (mdns_addr, task) = fake_mdns().await;
    let mut cfg = ResponderConfig::new(Endpoint {
        address: "urn:uuid:00000000-0000-4000-8000-0000000000aa".into(),
        types: vec![
            QualifiedName::network_video_transmitter(),
            QualifiedName::device(),
        ],
        scopes: vec!["onvif://www.onvif.org/name/Lobby".into()],
        xaddrs: vec!["http://127.0.0.1:8080/onvif/device_service".into()],
        metadata_version: Some(1),
    });
    cfg.bind = "127.0.0.1:0".parse().unwrap();
    let responder = Responder::start(cfg).await.unwrap();
    let ws = probe::discover_all(DiscoveryOptions {
        timeout: Duration::from_millis(600),
        ..DiscoveryOptions::unicast([responder.local_addr()])
    });
    let mdns_found = async {
        let mut rx = mdns::browse(BrowseOptions {
            multicast: false,
            targets: vec![mdns_addr],
            timeout: Duration::from_millis(600),
            ..BrowseOptions::default()
        })
        .await
        .unwrap();
        let mut v = Vec::new();
        while let Some(s) = rx.recv().await {
            v.push(s);
        }
        v
    };
    let (ws, mdns_found) = tokio::join!(ws, mdns_found);
    task.abort();
    responder.stop().await;
    let merged = merge_by_address(&ws.unwrap(), &mdns_found);
    assert_eq!(merged.len(), 1, "{merged:#?}");
    assert_eq!(merged[0].address, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(merged[0].ws_discovery.len(), 1);
    assert_eq!(merged[0].mdns.len(), 2);
}
