//! Finding cameras with WS-Discovery: multicast from every interface, unicast to given hosts, a
//! rate-limited subnet sweep, and a Hello/Bye listener. Results stream as they arrive.
//!
//! A search sends each [`ProbeForm`] (each with its own MessageID) a few times within the
//! timeout (UDP is lossy), keeps only ProbeMatches whose `RelatesTo` is one of our MessageIDs
//! (a spoofed or stray answer is dropped), reports each endpoint reference once, and keeps at most
//! [`MAX_RESULTS`] of them however many answers arrive.
//!
//! ```no_run
//! use camlink::discovery::probe::{discover, DiscoveryOptions};
//! # async fn run() -> camlink::Result<()> {
//! let mut found = discover(DiscoveryOptions::default()).await?;
//! while let Some(cam) = found.recv().await {
//!     println!("{} at {:?} ({:?})", cam.endpoint.address, cam.endpoint.xaddrs, cam.scopes.name);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::net;
use super::ws_discovery::{
    self, AppSequence, Endpoint, MessageKind, ProbeForm, ScopeInfo, WSD_MULTICAST_V4, WSD_PORT,
};
use crate::{Error, Result};

/// Most distinct devices kept by one search; further answers are dropped (a flood of answers
/// cannot grow memory).
pub const MAX_RESULTS: usize = 1024;
/// Most probe sends per search round to unicast targets (a sweep of a /20 at most).
pub const MAX_TARGETS: usize = 4096;
/// Longest search accepted.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
/// Most times each probe is sent.
pub const MAX_REPEATS: u32 = 10;
/// Depth of the queue between the sockets and the caller.
const CHANNEL_DEPTH: usize = 64;

/// How to search.
#[derive(Debug, Clone)]
pub struct DiscoveryOptions {
    /// How long to collect answers (default 3 s, at most [`MAX_TIMEOUT`]).
    pub timeout: Duration,
    /// The WS-Discovery port (default 3702; tests use a free port).
    pub port: u16,
    /// Send multicast probes (default true).
    pub multicast: bool,
    /// IPv4 interface addresses to send multicast from; empty means every interface
    /// ([`ipv4_interfaces`](super::ipv4_interfaces)).
    pub interfaces: Vec<Ipv4Addr>,
    /// Hosts to probe by unicast (a camera on another subnet); the port is the one given, or
    /// [`port`](Self::port) when it is 0.
    pub targets: Vec<SocketAddr>,
    /// The probe forms to send (default both).
    pub forms: Vec<ProbeForm>,
    /// How many times each probe is sent, spread over the first half of the timeout (default 3).
    pub repeats: u32,
    /// Most datagrams sent per second (bounds a sweep; default 500).
    pub max_send_rate: u32,
    /// Most distinct devices reported (at most [`MAX_RESULTS`]).
    pub max_results: usize,
    /// With multicast, also listen in the group on [`port`](Self::port) for answers: some
    /// firmware multicasts its ProbeMatches instead of answering the sender (default true; a
    /// failure to bind that port is only logged).
    pub catch_multicast_replies: bool,
}

impl Default for DiscoveryOptions {
    fn default() -> Self {
        DiscoveryOptions {
            timeout: Duration::from_secs(3),
            port: WSD_PORT,
            multicast: true,
            interfaces: Vec::new(),
            targets: Vec::new(),
            forms: ProbeForm::ALL.to_vec(),
            repeats: 3,
            max_send_rate: 500,
            max_results: MAX_RESULTS,
            catch_multicast_replies: true,
        }
    }
}

impl DiscoveryOptions {
    /// Options for a unicast probe of `targets` only (no multicast).
    pub fn unicast(targets: impl IntoIterator<Item = SocketAddr>) -> Self {
        DiscoveryOptions {
            multicast: false,
            targets: targets.into_iter().collect(),
            ..DiscoveryOptions::default()
        }
    }
}

/// A device that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// What it said about itself.
    pub endpoint: Endpoint,
    /// Its well-known scopes, decoded.
    pub scopes: ScopeInfo,
    /// Where the answer came from.
    pub from: SocketAddr,
    /// The form of the probe it answered first.
    pub form: ProbeForm,
}

impl Discovered {
    /// The host of the device: from its first XAddr, else the answer's source address.
    pub fn host(&self) -> IpAddr {
        self.endpoint
            .xaddrs
            .iter()
            .filter_map(|x| url::Url::parse(x).ok())
            .find_map(|u| match u.host() {
                Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
                Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
                _ => None,
            })
            .unwrap_or(self.from.ip())
    }
}

/// Starts a search and returns the stream of devices found; the stream ends at the timeout.
///
/// Errors only when no socket at all could be opened (every interface failed); a failure on one
/// interface is logged and the others are used.
pub async fn discover(options: DiscoveryOptions) -> Result<mpsc::Receiver<Discovered>> {
    if options.timeout > MAX_TIMEOUT {
        return Err(Error::invalid_input(format!(
            "discovery timeout above {} s",
            MAX_TIMEOUT.as_secs()
        )));
    }
    if options.targets.len() > MAX_TARGETS {
        return Err(Error::invalid_input(format!(
            "more than {MAX_TARGETS} unicast targets"
        )));
    }
    if options.forms.is_empty() {
        return Err(Error::invalid_input("no probe form to send"));
    }
    let forms: Vec<(ProbeForm, String)> = {
        let mut seen = HashSet::new();
        options
            .forms
            .iter()
            .filter(|f| seen.insert(**f))
            .map(|f| (*f, f.new_message_id()))
            .collect()
    };

    // Sockets: one per multicast interface, one per address family of the unicast targets.
    let mut sockets: Vec<(Arc<UdpSocket>, Vec<SocketAddr>)> = Vec::new();
    if options.multicast {
        let ifaces = if options.interfaces.is_empty() {
            net::ipv4_interfaces()?
        } else {
            options.interfaces.clone()
        };
        let group = SocketAddr::new(IpAddr::V4(WSD_MULTICAST_V4), options.port);
        for iface in &ifaces {
            match net::multicast_sender(*iface) {
                Ok(s) => sockets.push((Arc::new(s), vec![group])),
                Err(e) => tracing::warn!(%iface, error = %e, "WS-Discovery: interface skipped"),
            }
        }
        if options.catch_multicast_replies && !sockets.is_empty() {
            match group_listener(options.port, &ifaces) {
                Ok(s) => sockets.push((Arc::new(s), Vec::new())),
                Err(e) => {
                    tracing::debug!(error = %e, "WS-Discovery: not listening for multicast replies")
                }
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
            "no interface to send WS-Discovery probes from",
        ));
    }

    let deadline = Instant::now() + options.timeout;
    let (raw_tx, raw_rx) = mpsc::channel::<(Vec<u8>, SocketAddr)>(CHANNEL_DEPTH);
    let mut tasks = Vec::new();
    for (sock, _) in &sockets {
        tasks.push(tokio::spawn(receive(sock.clone(), raw_tx.clone())));
    }
    drop(raw_tx);
    tasks.push(tokio::spawn(send_probes(
        sockets,
        forms.clone(),
        options.repeats.clamp(1, MAX_REPEATS),
        options.timeout,
        options.max_send_rate.max(1),
    )));

    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    let max = options.max_results.min(MAX_RESULTS);
    tokio::spawn(async move {
        let _ = tokio::time::timeout_at(deadline, collect(raw_rx, tx, forms, max)).await;
        for t in tasks {
            t.abort();
        }
    });
    Ok(rx)
}

/// A receive-only socket on the WS-Discovery port, joined to the group on `ifaces`.
fn group_listener(port: u16, ifaces: &[Ipv4Addr]) -> Result<UdpSocket> {
    let sock = net::udp_socket(
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        true,
    )?;
    let mut joined = 0;
    for iface in ifaces {
        match sock.join_multicast_v4(WSD_MULTICAST_V4, *iface) {
            Ok(()) => joined += 1,
            Err(e) => tracing::debug!(%iface, error = %e, "WS-Discovery: cannot join the group"),
        }
    }
    if joined == 0 {
        return Err(Error::new(
            crate::ErrorKind::Unreachable,
            "could not join the WS-Discovery group on any interface",
        ));
    }
    Ok(sock)
}

/// Runs [`discover`] to its end and returns every device found.
pub async fn discover_all(options: DiscoveryOptions) -> Result<Vec<Discovered>> {
    let mut rx = discover(options).await?;
    let mut out = Vec::new();
    while let Some(d) = rx.recv().await {
        out.push(d);
    }
    Ok(out)
}

/// Probes every host of `network/prefix_len` on `options.port` by unicast, at most
/// `options.max_send_rate` datagrams per second (no multicast). Refuses networks larger than
/// [`MAX_TARGETS`] hosts.
///
/// Sending stops at the timeout: a sweep sends `hosts × forms × repeats` datagrams, so give it a
/// timeout of at least that divided by the rate (a /24 with both forms, 3 repeats at 500/s: 3 s
/// of sending, so about 5 s).
pub async fn sweep(
    network: Ipv4Addr,
    prefix_len: u8,
    options: DiscoveryOptions,
) -> Result<mpsc::Receiver<Discovered>> {
    let hosts = hosts_in(network, prefix_len)?;
    let port = options.port;
    discover(DiscoveryOptions {
        multicast: false,
        targets: hosts
            .into_iter()
            .map(|h| SocketAddr::new(IpAddr::V4(h), port))
            .collect(),
        ..options
    })
    .await
}

/// The host addresses of `network/prefix_len` (without network and broadcast addresses for
/// prefixes up to /30), at most [`MAX_TARGETS`].
pub fn hosts_in(network: Ipv4Addr, prefix_len: u8) -> Result<Vec<Ipv4Addr>> {
    if prefix_len > 32 {
        return Err(Error::invalid_input(format!(
            "prefix length /{prefix_len} above /32"
        )));
    }
    let size: u64 = 1u64 << (32 - u32::from(prefix_len));
    if size > MAX_TARGETS as u64 + 2 {
        return Err(Error::invalid_input(format!(
            "/{prefix_len} holds more than {MAX_TARGETS} hosts"
        )));
    }
    let mask: u32 = if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_len))
    };
    let base = u32::from(network) & mask;
    let (first, last) = if size > 2 {
        (1, size - 2)
    } else {
        (0, size - 1)
    };
    Ok((first..=last)
        .filter_map(|i| u32::try_from(i).ok())
        .filter_map(|i| base.checked_add(i))
        .map(Ipv4Addr::from)
        .collect())
}

async fn receive(sock: Arc<UdpSocket>, tx: mpsc::Sender<(Vec<u8>, SocketAddr)>) {
    let mut buf = vec![0u8; ws_discovery::MAX_MESSAGE_LEN];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let data = buf.get(..n).unwrap_or_default().to_vec();
                if tx.send((data, from)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // ICMP port unreachable from a swept host surfaces here on some systems.
                tracing::trace!(error = %e, "WS-Discovery receive error");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

async fn send_probes(
    sockets: Vec<(Arc<UdpSocket>, Vec<SocketAddr>)>,
    forms: Vec<(ProbeForm, String)>,
    repeats: u32,
    timeout: Duration,
    rate: u32,
) {
    let messages: Vec<String> = forms
        .iter()
        .map(|(f, id)| ws_discovery::build_probe(*f, id))
        .collect();
    // Spread the repeats over the first half of the timeout.
    let gap = timeout / 2 / repeats.max(1);
    let per_send = Duration::from_secs(1) / rate;
    let start = Instant::now();
    let mut next_send = start;
    for round in 0..repeats {
        tokio::time::sleep_until(start + gap * round).await;
        for (sock, dests) in &sockets {
            for dest in dests {
                for msg in &messages {
                    tokio::time::sleep_until(next_send).await;
                    next_send = Instant::now() + per_send;
                    if let Err(e) = sock.send_to(msg.as_bytes(), dest).await {
                        tracing::debug!(%dest, error = %e, "WS-Discovery probe not sent");
                    }
                }
            }
        }
    }
}

async fn collect(
    mut raw: mpsc::Receiver<(Vec<u8>, SocketAddr)>,
    tx: mpsc::Sender<Discovered>,
    forms: Vec<(ProbeForm, String)>,
    max: usize,
) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut dropped: u64 = 0;
    while let Some((data, from)) = raw.recv().await {
        let msg = match ws_discovery::parse(&data) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(%from, error = %e, "WS-Discovery: unreadable answer ignored");
                continue;
            }
        };
        if !matches!(
            msg.kind,
            MessageKind::ProbeMatches | MessageKind::ResolveMatches
        ) {
            continue;
        }
        let Some(form) = msg
            .relates_to
            .as_deref()
            .and_then(|r| forms.iter().find(|(_, id)| id == r).map(|(f, _)| *f))
        else {
            tracing::debug!(%from, relates_to = ?msg.relates_to, "WS-Discovery: answer to someone else's probe ignored");
            continue;
        };
        for endpoint in msg.endpoints {
            let key = if endpoint.address.is_empty() {
                endpoint
                    .xaddrs
                    .first()
                    .cloned()
                    .unwrap_or_else(|| from.to_string())
            } else {
                endpoint.address.clone()
            };
            if seen.contains(&key) {
                continue;
            }
            if seen.len() >= max {
                dropped += 1;
                if dropped == 1 {
                    tracing::warn!(
                        max,
                        "WS-Discovery: result limit reached, further devices dropped"
                    );
                }
                continue;
            }
            seen.insert(key);
            let found = Discovered {
                scopes: endpoint.scope_info(),
                endpoint,
                from,
                form,
            };
            if tx.send(found).await.is_err() {
                return;
            }
        }
    }
}

/// A Hello or Bye heard by [`listen`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// [`MessageKind::Hello`] or [`MessageKind::Bye`].
    pub kind: MessageKind,
    /// The device (only its address for a Bye, usually).
    pub endpoint: Endpoint,
    /// Where it came from.
    pub from: SocketAddr,
    /// The device's message sequence, if sent: a Bye whose `instance_id` is older than the
    /// Hello already seen is stale.
    pub app_sequence: Option<AppSequence>,
}

/// Where to listen for Hello and Bye.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// Listening address (default `0.0.0.0:3702`; tests use `127.0.0.1:0`).
    pub bind: SocketAddr,
    /// Join the WS-Discovery multicast group on these interfaces (default: every interface).
    /// Empty means no multicast join (unicast announcements only).
    pub multicast_interfaces: Vec<Ipv4Addr>,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), WSD_PORT),
            multicast_interfaces: net::ipv4_interfaces().unwrap_or_default(),
        }
    }
}

/// Listens for Hello and Bye until the receiver is dropped. Returns the bound address and the
/// stream of announcements.
pub async fn listen(options: ListenOptions) -> Result<(SocketAddr, mpsc::Receiver<Announcement>)> {
    let sock = net::udp_socket(options.bind, true)?;
    for iface in &options.multicast_interfaces {
        if let Err(e) = sock.join_multicast_v4(WSD_MULTICAST_V4, *iface) {
            tracing::warn!(%iface, error = %e, "WS-Discovery: cannot join the group");
        }
    }
    let local = sock
        .local_addr()
        .map_err(|e| Error::io(e, "listener local address"))?;
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    tokio::spawn(async move {
        let mut buf = vec![0u8; ws_discovery::MAX_MESSAGE_LEN];
        loop {
            let r = tokio::select! {
                _ = tx.closed() => return,
                r = sock.recv_from(&mut buf) => r,
            };
            let Ok((n, from)) = r else {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            let Ok(msg) = ws_discovery::parse(buf.get(..n).unwrap_or_default()) else {
                continue;
            };
            if !matches!(msg.kind, MessageKind::Hello | MessageKind::Bye) {
                continue;
            }
            for endpoint in msg.endpoints {
                let a = Announcement {
                    kind: msg.kind,
                    endpoint,
                    from,
                    app_sequence: msg.app_sequence,
                };
                if tx.send(a).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok((local, rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_hosts() {
        let h = hosts_in(Ipv4Addr::new(192, 0, 2, 77), 29).unwrap();
        assert_eq!(h.first(), Some(&Ipv4Addr::new(192, 0, 2, 73)));
        assert_eq!(h.last(), Some(&Ipv4Addr::new(192, 0, 2, 78)));
        assert_eq!(h.len(), 6);
        assert_eq!(
            hosts_in(Ipv4Addr::new(192, 0, 2, 1), 32).unwrap(),
            vec![Ipv4Addr::new(192, 0, 2, 1)]
        );
        assert_eq!(
            hosts_in(Ipv4Addr::new(10, 0, 0, 0), 20).unwrap().len(),
            4094
        );
        assert!(hosts_in(Ipv4Addr::new(10, 0, 0, 0), 16).is_err());
        assert!(hosts_in(Ipv4Addr::new(10, 0, 0, 0), 33).is_err());
    }

    #[test]
    fn host_prefers_xaddr() {
        let d = Discovered {
            endpoint: Endpoint {
                xaddrs: vec!["http://[fe80::7]:80/onvif/device_service".into()],
                ..Endpoint::default()
            },
            scopes: ScopeInfo::default(),
            from: "127.0.0.1:9".parse().unwrap(),
            form: ProbeForm::Standard,
        };
        assert_eq!(d.host(), "fe80::7".parse::<IpAddr>().unwrap());
    }
}
