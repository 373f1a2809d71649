//! mDNS / DNS-SD browsing for camera services (`_rtsp._tcp`, `_onvif._tcp`, `_http._tcp`,
//! `_axis-video._tcp`).
//!
//! [`browse`] sends PTR queries (with the "QU" bit, from an ephemeral port, so responders answer
//! by unicast) to the mDNS group from every IPv4 interface, or to the targets given, and streams
//! each service instance once its SRV record and an address are known. The records of one
//! instance may arrive in several packets; what is pending is bounded by [`MAX_PENDING`].
//! [`ServiceBook`] is the pure part (records in, instances out).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::dns::{self, Message, RData, RecordType};
use super::net;
use crate::{Error, Result};

/// The mDNS port.
pub const MDNS_PORT: u16 = 5353;
/// The IPv4 mDNS group.
pub const MDNS_MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
/// The service types browsed by default.
pub const CAMERA_SERVICES: [&str; 4] = [
    "_rtsp._tcp.local",
    "_onvif._tcp.local",
    "_http._tcp.local",
    "_axis-video._tcp.local",
];
/// Most service instances reported by one browse.
pub const MAX_SERVICES: usize = 1024;
/// Most instances, hosts or addresses kept while waiting for the rest of their records.
pub const MAX_PENDING: usize = 4096;
/// Longest browse accepted.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// A service instance found by mDNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdnsService {
    /// The instance name (`AXIS M1065-L - ACCC8E000000._axis-video._tcp.local`).
    pub instance: String,
    /// The service type (`_axis-video._tcp.local`).
    pub service_type: String,
    /// The target host name of the SRV record.
    pub host: String,
    /// The port of the SRV record.
    pub port: u16,
    /// The addresses of the host (from A/AAAA records, else the answer's source address).
    pub addresses: Vec<IpAddr>,
    /// TXT key/value pairs (a key without `=` has an empty value).
    pub txt: Vec<(String, String)>,
}

/// Pure assembly of DNS-SD records into service instances.
#[derive(Debug, Default)]
pub struct ServiceBook {
    /// instance (lower-case) → (instance as sent, service type)
    instances: HashMap<String, (String, String)>,
    /// instance → (target, port)
    srv: HashMap<String, (String, u16)>,
    /// instance → txt
    txt: HashMap<String, Vec<(String, String)>>,
    /// host → addresses
    addrs: HashMap<String, Vec<IpAddr>>,
    /// instance → source address of the packet that brought its SRV
    source: HashMap<String, IpAddr>,
    reported: HashSet<String>,
    wanted: Vec<String>,
}

impl ServiceBook {
    /// A book accepting instances of the `wanted` service types (lower-case compared).
    pub fn new(wanted: &[String]) -> Self {
        ServiceBook {
            wanted: wanted.iter().map(|w| w.to_ascii_lowercase()).collect(),
            ..ServiceBook::default()
        }
    }

    fn full(&self) -> bool {
        self.instances.len() + self.srv.len() + self.txt.len() + self.addrs.len() >= MAX_PENDING
    }

    /// Takes in the records of one message from `from`; returns the instances that became
    /// complete (each only once).
    pub fn add(&mut self, msg: &Message, from: IpAddr) -> Vec<MdnsService> {
        for r in msg.records() {
            if self.full() {
                break;
            }
            let owner = r.name.to_ascii_lowercase();
            match &r.data {
                RData::Ptr(instance) if self.wanted.contains(&owner) => {
                    self.instances.insert(
                        instance.to_ascii_lowercase(),
                        (instance.clone(), r.name.clone()),
                    );
                }
                RData::Srv { port, target, .. } => {
                    self.srv.insert(owner.clone(), (target.clone(), *port));
                    self.source.insert(owner, from);
                }
                RData::Txt(strings) => {
                    self.txt.insert(owner, txt_pairs(strings));
                }
                RData::A(a) => push_addr(self.addrs.entry(owner).or_default(), IpAddr::V4(*a)),
                RData::Aaaa(a) => push_addr(self.addrs.entry(owner).or_default(), IpAddr::V6(*a)),
                _ => {}
            }
        }
        // Instances that are complete: a PTR from a wanted type and an SRV.
        let mut done = Vec::new();
        for (instance, (name, service_type)) in &self.instances {
            if self.reported.contains(instance) || self.reported.len() >= MAX_SERVICES {
                continue;
            }
            let Some((target, port)) = self.srv.get(instance) else {
                continue;
            };
            let mut addresses = self
                .addrs
                .get(&target.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default();
            if addresses.is_empty() {
                match self.source.get(instance) {
                    Some(a) => addresses.push(*a),
                    None => continue,
                }
            }
            done.push(MdnsService {
                instance: name.clone(),
                service_type: service_type.clone(),
                host: target.clone(),
                port: *port,
                addresses,
                txt: self.txt.get(instance).cloned().unwrap_or_default(),
            });
        }
        for d in &done {
            self.reported.insert(d.instance.to_ascii_lowercase());
        }
        done
    }
}

fn push_addr(v: &mut Vec<IpAddr>, a: IpAddr) {
    if v.len() < 16 && !v.contains(&a) {
        v.push(a);
    }
}

fn txt_pairs(strings: &[Vec<u8>]) -> Vec<(String, String)> {
    strings
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let s = String::from_utf8_lossy(s);
            match s.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (s.into_owned(), String::new()),
            }
        })
        .collect()
}

/// How to browse.
#[derive(Debug, Clone)]
pub struct BrowseOptions {
    /// Service types to ask for (default [`CAMERA_SERVICES`]).
    pub services: Vec<String>,
    /// How long to collect (default 3 s).
    pub timeout: Duration,
    /// The mDNS port (default 5353; tests use a free port).
    pub port: u16,
    /// Query the multicast group (default true).
    pub multicast: bool,
    /// IPv4 interfaces to query from; empty means every interface.
    pub interfaces: Vec<Ipv4Addr>,
    /// Unicast targets (the port is [`port`](Self::port) when 0).
    pub targets: Vec<SocketAddr>,
    /// How many times the query is sent, over the first half of the timeout (default 2).
    pub repeats: u32,
}

impl Default for BrowseOptions {
    fn default() -> Self {
        BrowseOptions {
            services: CAMERA_SERVICES.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_secs(3),
            port: MDNS_PORT,
            multicast: true,
            interfaces: Vec::new(),
            targets: Vec::new(),
            repeats: 2,
        }
    }
}

/// Browses for the service types and streams instances as they become complete; the stream ends
/// at the timeout.
pub async fn browse(options: BrowseOptions) -> Result<mpsc::Receiver<MdnsService>> {
    if options.timeout > MAX_TIMEOUT {
        return Err(Error::invalid_input("mDNS browse timeout too long"));
    }
    if options.services.is_empty() || options.services.len() > dns::MAX_RECORDS_PER_SECTION {
        return Err(Error::invalid_input("mDNS: 1 to 64 service types"));
    }
    let questions: Vec<(&str, RecordType)> = options
        .services
        .iter()
        .map(|s| (s.as_str(), RecordType::Ptr))
        .collect();
    let query = dns::build_query(0, &questions, true);

    let mut sockets: Vec<(Arc<UdpSocket>, Vec<SocketAddr>)> = Vec::new();
    if options.multicast {
        let ifaces = if options.interfaces.is_empty() {
            net::ipv4_interfaces()?
        } else {
            options.interfaces.clone()
        };
        let group = SocketAddr::new(IpAddr::V4(MDNS_MULTICAST_V4), options.port);
        for iface in ifaces {
            match net::multicast_sender(iface) {
                Ok(s) => sockets.push((Arc::new(s), vec![group])),
                Err(e) => tracing::warn!(%iface, error = %e, "mDNS: interface skipped"),
            }
        }
    }
    let targets: Vec<SocketAddr> = options
        .targets
        .iter()
        .map(|t| {
            if t.port() == 0 {
                SocketAddr::new(t.ip(), options.port)
            } else {
                *t
            }
        })
        .collect();
    let (v4, v6): (Vec<SocketAddr>, Vec<SocketAddr>) = targets.iter().partition(|t| t.is_ipv4());
    if !v4.is_empty() {
        let s = net::udp_socket(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0), false)?;
        sockets.push((Arc::new(s), v4));
    }
    if !v6.is_empty() {
        let s = net::udp_socket(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0), false)?;
        sockets.push((Arc::new(s), v6));
    }
    if sockets.is_empty() {
        return Err(Error::new(
            crate::ErrorKind::Unreachable,
            "no interface to send mDNS queries from",
        ));
    }

    let deadline = Instant::now() + options.timeout;
    let (raw_tx, mut raw_rx) = mpsc::channel::<(Vec<u8>, SocketAddr)>(64);
    let mut tasks = Vec::new();
    for (sock, _) in &sockets {
        let sock = sock.clone();
        let raw_tx = raw_tx.clone();
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; dns::MAX_MESSAGE_LEN];
            loop {
                match sock.recv_from(&mut buf).await {
                    Ok((n, from)) => {
                        let data = buf.get(..n).unwrap_or_default().to_vec();
                        if raw_tx.send((data, from)).await.is_err() {
                            return;
                        }
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        }));
    }
    drop(raw_tx);
    let repeats = options.repeats.clamp(1, 10);
    let gap = options.timeout / 2 / repeats;
    tasks.push(tokio::spawn(async move {
        let start = Instant::now();
        for round in 0..repeats {
            tokio::time::sleep_until(start + gap * round).await;
            for (sock, dests) in &sockets {
                for d in dests {
                    if let Err(e) = sock.send_to(&query, d).await {
                        tracing::debug!(dest = %d, error = %e, "mDNS query not sent");
                    }
                }
            }
        }
    }));

    let (tx, rx) = mpsc::channel(64);
    let mut book = ServiceBook::new(&options.services);
    tokio::spawn(async move {
        let _ = tokio::time::timeout_at(deadline, async {
            while let Some((data, from)) = raw_rx.recv().await {
                let Ok(msg) = Message::parse(&data) else {
                    continue;
                };
                if !msg.response {
                    continue;
                }
                for s in book.add(&msg, from.ip()) {
                    if tx.send(s).await.is_err() {
                        return;
                    }
                }
            }
        })
        .await;
        for t in tasks {
            t.abort();
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::dns::Record;

    fn rec(name: &str, data: RData) -> Record {
        Record {
            name: name.into(),
            rtype: RecordType::Other(0),
            class: 1,
            cache_flush: false,
            ttl: 120,
            data,
        }
    }

    #[test]
    fn records_across_packets_make_one_instance() {
        let mut book = ServiceBook::new(&["_onvif._tcp.local".to_string()]);
        let from: IpAddr = "192.0.2.9".parse().unwrap();
        let ptr = Message {
            response: true,
            answers: vec![rec(
                "_onvif._tcp.local",
                RData::Ptr("Cam._onvif._tcp.local".into()),
            )],
            ..Message::default()
        };
        assert!(book.add(&ptr, from).is_empty());
        let rest = Message {
            response: true,
            answers: vec![
                rec(
                    "Cam._onvif._tcp.local",
                    RData::Srv {
                        priority: 0,
                        weight: 0,
                        port: 80,
                        target: "cam.local".into(),
                    },
                ),
                rec(
                    "Cam._onvif._tcp.local",
                    RData::Txt(vec![
                        b"path=/onvif/device_service".to_vec(),
                        b"flag".to_vec(),
                    ]),
                ),
                rec("cam.local", RData::A(Ipv4Addr::new(192, 0, 2, 10))),
            ],
            ..Message::default()
        };
        let done = book.add(&rest, from);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].port, 80);
        assert_eq!(
            done[0].addresses,
            vec!["192.0.2.10".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            done[0].txt,
            vec![
                ("path".to_string(), "/onvif/device_service".to_string()),
                ("flag".to_string(), String::new())
            ]
        );
        // Reported once only.
        assert!(book.add(&rest, from).is_empty());
    }

    #[test]
    fn unwanted_types_and_missing_addresses() {
        let mut book = ServiceBook::new(&["_rtsp._tcp.local".to_string()]);
        let from: IpAddr = "192.0.2.9".parse().unwrap();
        let m = Message {
            response: true,
            answers: vec![
                rec(
                    "_printer._tcp.local",
                    RData::Ptr("P._printer._tcp.local".into()),
                ),
                rec("_rtsp._tcp.local", RData::Ptr("R._rtsp._tcp.local".into())),
                rec(
                    "R._rtsp._tcp.local",
                    RData::Srv {
                        priority: 0,
                        weight: 0,
                        port: 554,
                        target: "r.local".into(),
                    },
                ),
                rec(
                    "P._printer._tcp.local",
                    RData::Srv {
                        priority: 0,
                        weight: 0,
                        port: 631,
                        target: "p.local".into(),
                    },
                ),
            ],
            ..Message::default()
        };
        let done = book.add(&m, from);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].service_type, "_rtsp._tcp.local");
        // No A record: the source address stands in.
        assert_eq!(done[0].addresses, vec![from]);
    }
}
