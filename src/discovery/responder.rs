//! The device side of WS-Discovery: which ProbeMatches to send for a Probe (pure), and a UDP
//! responder task (used by the mock cameras and the tests).
//!
//! ```
//! use camlink::discovery::responder::answer_probe;
//! use camlink::discovery::ws_discovery::{self, Endpoint, ProbeForm, QualifiedName};
//!
//! let camera = Endpoint {
//!     address: "urn:uuid:00000000-0000-4000-8000-00000000000a".into(),
//!     types: vec![QualifiedName::network_video_transmitter(), QualifiedName::device()],
//!     xaddrs: vec!["http://127.0.0.1:8080/onvif/device_service".into()],
//!     ..Endpoint::default()
//! };
//! let probe = ws_discovery::parse(
//!     ws_discovery::build_probe(ProbeForm::Standard, "urn:uuid:00000000-0000-4000-8000-000000000001").as_bytes(),
//! )?;
//! let reply = answer_probe(&camera, &probe, false, "urn:uuid:00000000-0000-4000-8000-000000000002", None).unwrap();
//! let reply = ws_discovery::parse(reply.as_bytes())?;
//! assert_eq!(reply.relates_to.as_deref(), Some("urn:uuid:00000000-0000-4000-8000-000000000001"));
//! # Ok::<(), camlink::Error>(())
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::net;
use super::ws_discovery::{
    self, AppSequence, Endpoint, Message, MessageKind, ProbeForm, WSD_MULTICAST_V4, WSD_PORT,
};
use crate::{Error, Result};

/// Most ProbeMatches a responder sends per second (a responder must not become a traffic
/// amplifier for spoofed probes).
pub const MAX_REPLIES_PER_SECOND: u32 = 200;

/// The ProbeMatches `endpoint` sends for `probe`, or `None` when it must stay silent: not a
/// Probe, no MessageID to relate to, a type or scope it does not have, or (with `legacy_only`, the
/// behaviour of older firmware) a probe that is not in the [`ProbeForm::Legacy`] form. `seq` is
/// the device's `AppSequence` for this message, if it keeps one.
pub fn answer_probe(
    endpoint: &Endpoint,
    probe: &Message,
    legacy_only: bool,
    message_id: &str,
    seq: Option<AppSequence>,
) -> Option<String> {
    if probe.kind != MessageKind::Probe {
        return None;
    }
    let relates_to = probe.message_id.as_deref().filter(|m| !m.is_empty())?;
    let req = probe.probe.as_ref()?;
    if legacy_only && req.form() != ProbeForm::Legacy {
        return None;
    }
    if !req.types.iter().all(|t| endpoint.has_type(t)) {
        return None;
    }
    let strcmp = req
        .match_by
        .as_deref()
        .is_some_and(|m| m.ends_with("/strcmp0"));
    if !req.scopes.iter().all(|want| {
        endpoint
            .scopes
            .iter()
            .any(|have| scope_matches(want, have, strcmp))
    }) {
        return None;
    }
    Some(ws_discovery::build_probe_matches(
        probe.dialect,
        message_id,
        relates_to,
        std::slice::from_ref(endpoint),
        seq,
    ))
}

/// Replaces the text of the first `RelatesTo` element (any prefix) with `message_id`, or adds
/// nothing when the envelope has none.
pub fn set_relates_to(envelope: &str, message_id: &str) -> String {
    let Some(tag) = envelope.find("RelatesTo") else {
        return envelope.to_string();
    };
    let Some(gt) = envelope[tag..].find('>').map(|g| tag + g + 1) else {
        return envelope.to_string();
    };
    let Some(lt) = envelope[gt..].find('<').map(|l| gt + l) else {
        return envelope.to_string();
    };
    let escaped = crate::xmlutil::escape(message_id);
    format!("{}{}{}", &envelope[..gt], escaped, &envelope[lt..])
}

/// WS-Discovery scope matching: `strcmp0` is exact; the default (RFC 3986) compares scheme and
/// authority case-insensitively and the path segment by segment as a prefix.
fn scope_matches(want: &str, have: &str, strcmp: bool) -> bool {
    if strcmp {
        return want == have;
    }
    let split = |s: &str| -> (String, Vec<String>) {
        let s = s.trim_end_matches('/');
        match s.split_once("://") {
            Some((scheme, rest)) => {
                let (auth, path) = rest.split_once('/').unwrap_or((rest, ""));
                (
                    format!("{}://{}", scheme, auth).to_ascii_lowercase(),
                    path.split('/')
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            }
            None => (s.to_string(), Vec::new()),
        }
    };
    let (wa, wp) = split(want);
    let (ha, hp) = split(have);
    wa == ha && wp.len() <= hp.len() && wp.iter().zip(hp.iter()).all(|(a, b)| a == b)
}

/// How a [`Responder`] listens and announces.
#[derive(Debug, Clone)]
pub struct ResponderConfig {
    /// The device it speaks for.
    pub endpoint: Endpoint,
    /// Where to listen (default `0.0.0.0:3702`; tests use `127.0.0.1:0`).
    pub bind: SocketAddr,
    /// Join the WS-Discovery multicast group on this interface address (default: none).
    pub multicast_interface: Option<Ipv4Addr>,
    /// Answer only [`ProbeForm::Legacy`] probes, like older Hikvision/Uniview/Dahua firmware.
    pub legacy_only: bool,
    /// Where to send Hello at start and Bye at stop (default: none; with a multicast interface
    /// set, the group `239.255.255.250` on the bound port is a natural choice).
    pub announce_to: Option<SocketAddr>,
    /// A captured ProbeMatches envelope to send instead of the built one (a camera fixture's
    /// replay): its `RelatesTo` is set to the probe's MessageID, everything else is sent as is.
    pub replay_probe_matches: Option<String>,
}

impl ResponderConfig {
    /// A responder for `endpoint` on `0.0.0.0:3702`, no multicast, no announcements.
    pub fn new(endpoint: Endpoint) -> Self {
        ResponderConfig {
            endpoint,
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), WSD_PORT),
            multicast_interface: None,
            legacy_only: false,
            announce_to: None,
            replay_probe_matches: None,
        }
    }

    /// A responder as a camera runs it: `0.0.0.0:3702`, joined to the group on the interface with
    /// address `iface`, Hello and Bye sent to the group.
    pub fn multicast(endpoint: Endpoint, iface: Ipv4Addr) -> Self {
        let mut c = ResponderConfig::new(endpoint);
        c.multicast_interface = Some(iface);
        c.announce_to = Some(c.group_addr());
        c
    }

    /// The multicast group address on the bound port, for `announce_to`.
    pub fn group_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(WSD_MULTICAST_V4), self.bind.port())
    }
}

/// A running WS-Discovery responder; [`stop`](Responder::stop) it to send Bye.
#[derive(Debug)]
pub struct Responder {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Responder {
    /// Binds, sends Hello (if configured) and starts answering probes.
    pub async fn start(config: ResponderConfig) -> Result<Responder> {
        let socket = match config.multicast_interface {
            Some(iface) => net::multicast_listener(config.bind, WSD_MULTICAST_V4, iface)?,
            None => net::udp_socket(config.bind, true)?,
        };
        if let Some(iface) = config.multicast_interface {
            // Announcements and answers leave through the chosen interface.
            let _ = socket2::SockRef::from(&socket).set_multicast_if_v4(&iface);
        }
        let local_addr = socket
            .local_addr()
            .map_err(|e| Error::io(e, "responder local address"))?;
        let mut seq = Sequencer::starting_now();
        if let Some(to) = config.announce_to {
            let hello = ws_discovery::build_hello(
                Default::default(),
                &ProbeForm::Standard.new_message_id(),
                &config.endpoint,
                Some(seq.next()),
            );
            send(&socket, hello.as_bytes(), to).await;
        }
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(serve(socket, config, seq, rx));
        Ok(Responder {
            local_addr,
            stop: Some(tx),
            task,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops answering; sends Bye (if configured) before returning.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if self.stop.is_some() {
            self.task.abort();
        }
    }
}

async fn send(socket: &UdpSocket, bytes: &[u8], to: SocketAddr) {
    if let Err(e) = socket.send_to(bytes, to).await {
        tracing::debug!(%to, error = %e, "WS-Discovery send failed");
    }
}

/// The device's `AppSequence`: the instance is the start time in seconds, messages count up.
struct Sequencer {
    instance_id: u32,
    message_number: u32,
}

impl Sequencer {
    fn starting_now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        Sequencer {
            instance_id: u32::try_from(secs).unwrap_or(u32::MAX),
            message_number: 0,
        }
    }

    fn next(&mut self) -> AppSequence {
        self.message_number = self.message_number.wrapping_add(1);
        AppSequence {
            instance_id: self.instance_id,
            message_number: self.message_number,
        }
    }
}

async fn serve(
    socket: UdpSocket,
    config: ResponderConfig,
    mut seq: Sequencer,
    mut stop: oneshot::Receiver<()>,
) {
    let mut buf = vec![0u8; ws_discovery::MAX_MESSAGE_LEN];
    let mut window = Instant::now();
    let mut sent_in_window: u32 = 0;
    loop {
        let (len, from) = tokio::select! {
            _ = &mut stop => break,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "WS-Discovery responder receive failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let Some(data) = buf.get(..len) else { continue };
        let msg = match ws_discovery::parse(data) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(%from, error = %e, "ignored a datagram that is not WS-Discovery");
                continue;
            }
        };
        if window.elapsed() >= Duration::from_secs(1) {
            window = Instant::now();
            sent_in_window = 0;
        }
        if sent_in_window >= MAX_REPLIES_PER_SECOND {
            tracing::debug!(%from, "WS-Discovery reply rate limit reached; probe ignored");
            continue;
        }
        let reply_id = ProbeForm::Standard.new_message_id();
        let replayed = config.replay_probe_matches.as_deref().and_then(|captured| {
            let relates = msg
                .message_id
                .as_deref()
                .filter(|_| msg.kind == MessageKind::Probe)?;
            Some(set_relates_to(captured, relates))
        });
        let Some(reply) = replayed.or_else(|| {
            answer_probe(
                &config.endpoint,
                &msg,
                config.legacy_only,
                &reply_id,
                Some(seq.next()),
            )
        }) else {
            continue;
        };
        sent_in_window += 1;
        send(&socket, reply.as_bytes(), from).await;
    }
    if let Some(to) = config.announce_to {
        let bye = ws_discovery::build_bye(
            Default::default(),
            &ProbeForm::Standard.new_message_id(),
            &config.endpoint,
            Some(seq.next()),
        );
        send(&socket, bye.as_bytes(), to).await;
    }
}

#[cfg(test)]
mod replay_tests {
    #[test]
    fn relates_to_is_replaced() {
        let e = r#"<s:Header><a:RelatesTo>uuid:old</a:RelatesTo></s:Header>"#;
        assert_eq!(
            super::set_relates_to(e, "urn:uuid:new&1"),
            r#"<s:Header><a:RelatesTo>urn:uuid:new&amp;1</a:RelatesTo></s:Header>"#
        );
        assert_eq!(super::set_relates_to("<x/>", "id"), "<x/>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::ws_discovery::{QualifiedName, build_probe, parse};

    fn cam() -> Endpoint {
        Endpoint {
            address: "urn:uuid:cam".into(),
            types: vec![
                QualifiedName::network_video_transmitter(),
                QualifiedName::device(),
            ],
            scopes: vec![
                "onvif://www.onvif.org/name/Cam".into(),
                "onvif://www.onvif.org/location/country/ch".into(),
            ],
            xaddrs: vec!["http://127.0.0.1:1/onvif/device_service".into()],
            metadata_version: Some(1),
        }
    }

    fn probe(form: ProbeForm) -> Message {
        parse(build_probe(form, "urn:uuid:p").as_bytes()).unwrap()
    }

    #[test]
    fn answers_both_forms_unless_legacy_only() {
        for form in ProbeForm::ALL {
            let r = answer_probe(&cam(), &probe(form), false, "urn:uuid:r", None).unwrap();
            let m = parse(r.as_bytes()).unwrap();
            assert_eq!(m.relates_to.as_deref(), Some("urn:uuid:p"));
            assert_eq!(m.endpoints[0].xaddrs, cam().xaddrs);
        }
        assert!(answer_probe(&cam(), &probe(ProbeForm::Standard), true, "r", None).is_none());
        assert!(answer_probe(&cam(), &probe(ProbeForm::Legacy), true, "r", None).is_some());
    }

    #[test]
    fn silent_for_foreign_types_and_scopes() {
        let mut other = cam();
        other.types = vec![QualifiedName::new("urn:printer", "Printer")];
        assert!(answer_probe(&other, &probe(ProbeForm::Standard), false, "r", None).is_none());
        let mut p = probe(ProbeForm::Standard);
        p.probe.as_mut().unwrap().scopes = vec!["onvif://www.onvif.org/location/country".into()];
        assert!(answer_probe(&cam(), &p, false, "r", None).is_some());
        p.probe.as_mut().unwrap().scopes = vec!["onvif://www.onvif.org/location/coun".into()];
        assert!(answer_probe(&cam(), &p, false, "r", None).is_none());
        // A match is never sent for a message that is not a probe.
        let hello =
            parse(ws_discovery::build_hello(Default::default(), "h", &cam(), None).as_bytes())
                .unwrap();
        assert!(answer_probe(&cam(), &hello, false, "r", None).is_none());
    }

    #[test]
    fn scope_rules() {
        assert!(scope_matches(
            "ONVIF://www.onvif.org/name",
            "onvif://www.onvif.org/name/x",
            false
        ));
        assert!(scope_matches(
            "onvif://www.onvif.org/",
            "onvif://www.onvif.org/name/x",
            false
        ));
        assert!(!scope_matches(
            "onvif://www.onvif.org/name/x",
            "onvif://www.onvif.org/name",
            false
        ));
        assert!(!scope_matches(
            "onvif://www.onvif.org/name",
            "onvif://www.onvif.org/name/x",
            true
        ));
    }
}
