//! Multicast WS-Discovery for real, inside a private network namespace that holds only `lo`
//! (created here with `ip netns`, removed afterwards). Nothing leaves the machine: the group
//! 239.255.255.250 is routed to `lo` of that namespace only. Skipped, with a note, when
//! `ip netns add` is not permitted (not root).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use camlink::discovery::probe::{self, DiscoveryOptions, ListenOptions};
use camlink::discovery::responder::{Responder, ResponderConfig};
use camlink::discovery::ws_discovery::{self, Endpoint, MessageKind, ProbeForm, QualifiedName};

/// Set in the child process that runs inside the namespace.
const INNER_ENV: &str = "CAMLINK_DISCOVERY_NETNS_INNER";

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {args:?} failed");
}

/// Creates a namespace holding only `lo` (multicast routed to it), runs the ignored test
/// `inner` of this binary inside it, removes the namespace. `false` when namespaces are not
/// permitted (the caller skips).
fn run_in_netns(inner: &str, extra_env: &[(&str, String)]) -> bool {
    let name = format!("camlink-disc-{}-{inner}", std::process::id());
    // Interface names are short; namespace names are not limited that way, but keep them tidy.
    let added = Command::new("ip")
        .args(["netns", "add", &name])
        .stderr(Stdio::null())
        .status();
    if !matches!(added, Ok(s) if s.success()) {
        eprintln!("SKIPPED: `ip netns add` is not permitted here; {inner} did not run");
        return false;
    }
    let ns = Netns(name);
    ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
    ip(&["-n", &ns.0, "link", "set", "lo", "multicast", "on"]);
    ip(&["-n", &ns.0, "route", "add", "224.0.0.0/4", "dev", "lo"]);

    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.0])
        .arg(exe)
        .args(["--exact", inner, "--ignored", "--nocapture"])
        .env(INNER_ENV, &ns.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{inner} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{inner} failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "{inner} did not run:\n{stdout}\n{stderr}"
    );
    true
}

#[test]
fn multicast_discovery_in_a_private_network_namespace() {
    if std::env::var_os(INNER_ENV).is_some() {
        return;
    }
    run_in_netns("inner_multicast", &[]);
}

#[test]
fn mdns_multicast_browse_in_a_private_network_namespace() {
    if std::env::var_os(INNER_ENV).is_some() {
        return;
    }
    run_in_netns("inner_mdns_multicast", &[]);
}

/// The python client of onvif-python (`ONVIFDiscovery`, see ../shared/PEERS.md section 6.3),
/// from `$PEERS_DIR` (default `~/.cache/camlink-peers`).
fn onvif_python() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("PEERS_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".cache/camlink-peers"))
        })?;
    let py = dir.join("venv-onvif-python/bin/python");
    py.is_file().then_some(py)
}

#[test]
fn onvif_python_discovers_our_responder() {
    if std::env::var_os(INNER_ENV).is_some() {
        return;
    }
    let Some(py) = onvif_python() else {
        assert!(
            std::env::var_os("CAMLINK_REQUIRE_PEERS").is_none(),
            "onvif-python peer missing (PEERS_DIR/venv-onvif-python)"
        );
        eprintln!("SKIPPED: onvif-python peer not installed (see ../shared/PEERS.md 6.3)");
        return;
    };
    run_in_netns(
        "inner_onvif_python",
        &[("CAMLINK_ONVIF_PYTHON", py.display().to_string())],
    );
}

fn camera(n: u32) -> Endpoint {
    Endpoint {
        address: format!("urn:uuid:00000000-0000-4000-8000-{n:012}"),
        types: vec![
            QualifiedName::network_video_transmitter(),
            QualifiedName::device(),
        ],
        scopes: vec![format!("onvif://www.onvif.org/name/Netns{n}")],
        xaddrs: vec![format!(
            "http://127.0.0.1:{}/onvif/device_service",
            9000 + n
        )],
        metadata_version: Some(1),
    }
}

#[tokio::test]
#[ignore = "runs inside the namespace created by multicast_discovery_in_a_private_network_namespace"]
async fn inner_multicast() {
    if std::env::var_os(INNER_ENV).is_none() {
        eprintln!("not inside the test namespace: nothing sent");
        return;
    }
    // Safety net: never multicast where there is more than loopback.
    let ifaces = camlink::discovery::ipv4_interfaces().unwrap();
    assert_eq!(
        ifaces,
        vec![Ipv4Addr::LOCALHOST],
        "not an isolated namespace"
    );

    let any: SocketAddr = "0.0.0.0:3702".parse().unwrap();
    let group = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(239, 255, 255, 250)), 3702);
    let (_, mut announcements) = probe::listen(ListenOptions {
        bind: any,
        multicast_interfaces: vec![Ipv4Addr::LOCALHOST],
    })
    .await
    .unwrap();

    let mut responders = Vec::new();
    for (n, legacy_only) in [(1, false), (2, true)] {
        let mut cfg = ResponderConfig::multicast(camera(n), Ipv4Addr::LOCALHOST);
        assert_eq!((cfg.bind, cfg.announce_to), (any, Some(group)));
        cfg.legacy_only = legacy_only;
        responders.push(Responder::start(cfg).await.unwrap());
    }
    let mut hellos = Vec::new();
    while hellos.len() < 2 {
        let a = tokio::time::timeout(Duration::from_secs(3), announcements.recv())
            .await
            .expect("Hello in time")
            .unwrap();
        assert_eq!(a.kind, MessageKind::Hello);
        hellos.push(a.endpoint.address);
    }
    hellos.sort();
    assert_eq!(hellos, vec![camera(1).address, camera(2).address]);

    // A device whose firmware multicasts its ProbeMatches instead of answering the sender.
    let shouter = {
        let sock = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )
        .unwrap();
        sock.set_reuse_address(true).unwrap();
        sock.bind(&any.into()).unwrap();
        sock.set_nonblocking(true).unwrap();
        let sock = tokio::net::UdpSocket::from_std(sock.into()).unwrap();
        sock.join_multicast_v4(Ipv4Addr::new(239, 255, 255, 250), Ipv4Addr::LOCALHOST)
            .unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok((n, _)) = sock.recv_from(&mut buf).await {
                let Ok(m) = ws_discovery::parse(&buf[..n]) else {
                    continue;
                };
                let (MessageKind::Probe, Some(id)) = (m.kind, m.message_id) else {
                    continue;
                };
                let reply = ws_discovery::build_probe_matches(
                    m.dialect,
                    "urn:uuid:shout",
                    &id,
                    &[camera(3)],
                    None,
                );
                let _ = sock.send_to(reply.as_bytes(), group).await;
            }
        })
    };

    // Default options: multicast from every interface (here: lo), both forms, port 3702.
    let mut found = probe::discover_all(DiscoveryOptions {
        timeout: Duration::from_millis(1500),
        ..DiscoveryOptions::default()
    })
    .await
    .unwrap();
    // Without the group listener, that device goes unseen.
    let without = probe::discover_all(DiscoveryOptions {
        timeout: Duration::from_millis(800),
        catch_multicast_replies: false,
        ..DiscoveryOptions::default()
    })
    .await
    .unwrap();
    assert_eq!(without.len(), 2, "{without:#?}");
    assert!(!without.iter().any(|d| d.endpoint == camera(3)));
    shouter.abort();
    found.sort_by(|a, b| a.endpoint.address.cmp(&b.endpoint.address));
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!(found[0].endpoint, camera(1));
    assert_eq!(found[1].endpoint, camera(2));
    assert_eq!(
        found[2].endpoint,
        camera(3),
        "the answer multicast to the group"
    );
    assert_eq!(found[1].form, ProbeForm::Legacy);
    assert_eq!(found[1].scopes.name.as_deref(), Some("Netns2"));

    let first = responders.remove(0);
    first.stop().await;
    let bye = loop {
        let a = tokio::time::timeout(Duration::from_secs(3), announcements.recv())
            .await
            .expect("Bye in time")
            .unwrap();
        if a.kind == MessageKind::Bye {
            break a;
        }
    };
    assert_eq!(bye.endpoint.address, camera(1).address);
}

#[tokio::test]
#[ignore = "runs inside the namespace created by onvif_python_discovers_our_responder"]
async fn inner_onvif_python() {
    let (Some(_), Some(py)) = (
        std::env::var_os(INNER_ENV),
        std::env::var_os("CAMLINK_ONVIF_PYTHON"),
    ) else {
        eprintln!("not inside the test namespace: nothing sent");
        return;
    };
    let ifaces = camlink::discovery::ipv4_interfaces().unwrap();
    assert_eq!(
        ifaces,
        vec![Ipv4Addr::LOCALHOST],
        "not an isolated namespace"
    );

    let mut cfg = ResponderConfig::new(camera(7));
    cfg.bind = "0.0.0.0:3702".parse().unwrap();
    cfg.multicast_interface = Some(Ipv4Addr::LOCALHOST);
    let responder = Responder::start(cfg).await.unwrap();
    let script = "import json\n\
from onvif import ONVIFDiscovery\n\
devices = ONVIFDiscovery(timeout=2, interface='127.0.0.1').discover()\n\
print('RESULT ' + json.dumps([{'epr': d['epr'], 'xaddrs': d['xaddrs'], 'scopes': d['scopes'], 'types': d['types']} for d in devices]))\n";
    let out = tokio::time::timeout(
        Duration::from_secs(40),
        tokio::process::Command::new(py)
            .args(["-c", script])
            .output(),
    )
    .await
    .expect("onvif-python finished in time")
    .unwrap();
    responder.stop().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "no result: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let cam = camera(7);
    assert!(line.contains(&cam.address), "{line}");
    assert!(line.contains(&cam.xaddrs[0]), "{line}");
    assert!(line.contains("onvif://www.onvif.org/name/Netns7"), "{line}");
    assert!(line.contains("tds:Device"), "{line}");
}

#[tokio::test]
#[ignore = "runs inside the namespace created by mdns_multicast_browse_in_a_private_network_namespace"]
async fn inner_mdns_multicast() {
    use camlink::discovery::dns::{Message, RData, Record, RecordType};
    use camlink::discovery::mdns::{self, BrowseOptions};

    if std::env::var_os(INNER_ENV).is_none() {
        eprintln!("not inside the test namespace: nothing sent");
        return;
    }
    let ifaces = camlink::discovery::ipv4_interfaces().unwrap();
    assert_eq!(
        ifaces,
        vec![Ipv4Addr::LOCALHOST],
        "not an isolated namespace"
    );

    // A responder on 224.0.0.251:5353 that answers "legacy unicast" queries (RFC 6762 6.7:
    // a query from a port other than 5353 gets a unicast answer).
    let sock = tokio::net::UdpSocket::bind("0.0.0.0:5353").await.unwrap();
    sock.join_multicast_v4(Ipv4Addr::new(224, 0, 0, 251), Ipv4Addr::LOCALHOST)
        .unwrap();
    let responder = tokio::spawn(async move {
        let mut buf = vec![0u8; 9000];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let Ok(q) = Message::parse(&buf[..n]) else {
                continue;
            };
            if q.response
                || !q
                    .questions
                    .iter()
                    .any(|x| x.name == "_axis-video._tcp.local")
            {
                continue;
            }
            let rec = |name: &str, rtype, data| Record {
                name: name.to_string(),
                rtype,
                class: 1,
                cache_flush: false,
                ttl: 120,
                data,
            };
            let answer = Message {
                id: q.id,
                response: true,
                answers: vec![rec(
                    "_axis-video._tcp.local",
                    RecordType::Ptr,
                    RData::Ptr("AXIS M1065-L - ACCC8E000001._axis-video._tcp.local".into()),
                )],
                additionals: vec![
                    rec(
                        "AXIS M1065-L - ACCC8E000001._axis-video._tcp.local",
                        RecordType::Srv,
                        RData::Srv {
                            priority: 0,
                            weight: 0,
                            port: 80,
                            target: "axis-accc8e000001.local".into(),
                        },
                    ),
                    rec(
                        "AXIS M1065-L - ACCC8E000001._axis-video._tcp.local",
                        RecordType::Txt,
                        RData::Txt(vec![b"macaddress=ACCC8E000001".to_vec()]),
                    ),
                    rec(
                        "axis-accc8e000001.local",
                        RecordType::A,
                        RData::A(Ipv4Addr::LOCALHOST),
                    ),
                ],
                ..Message::default()
            };
            let _ = sock.send_to(&answer.encode(), from).await;
        }
    });
    let mut rx = mdns::browse(BrowseOptions {
        timeout: Duration::from_millis(1200),
        ..BrowseOptions::default()
    })
    .await
    .unwrap();
    let mut found = Vec::new();
    while let Some(s) = rx.recv().await {
        found.push(s);
    }
    responder.abort();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].instance,
        "AXIS M1065-L - ACCC8E000001._axis-video._tcp.local"
    );
    assert_eq!(found[0].addresses, vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    assert_eq!(
        found[0].txt,
        vec![("macaddress".to_string(), "ACCC8E000001".to_string())]
    );
}
