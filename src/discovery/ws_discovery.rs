//! WS-Discovery messages (pure: bytes in, messages out; no sockets, no clock).
//!
//! ONVIF devices announce themselves and answer searches with WS-Discovery over SOAP 1.2 on UDP
//! port 3702 (multicast group 239.255.255.250). This module builds and parses those messages:
//!
//! * [`build_probe`] builds a Probe in one of the [`ProbeForm`]s;
//! * [`parse`] reads a Probe, ProbeMatches, Hello, Bye or ResolveMatches from a datagram;
//! * [`build_probe_matches`], [`build_hello`] and [`build_bye`] build the device side (used by
//!   [`responder`](super::responder) and the mock cameras);
//! * [`ScopeInfo`] decodes the well-known ONVIF scopes (name, hardware, location, profiles).
//!
//! Parsing is namespace-aware (a camera may use any prefix) and lenient: the 2005/04 and the
//! 2009/01 (WS-Discovery 1.1) discovery namespaces, WS-Addressing 2004/08 and 2005/08, SOAP 1.2 and
//! 1.1 are all accepted, undeclared well-known prefixes (`s:`, `a:`, `d:`, `dn:`, `tds:`) are
//! understood, unknown elements are skipped. Input is bounded by [`MAX_MESSAGE_LEN`] and every list
//! by a named constant.
//!
//! ```
//! use camlink::discovery::ws_discovery::{self, MessageKind, ProbeForm};
//!
//! let probe = ws_discovery::build_probe(ProbeForm::Standard, "urn:uuid:00000000-0000-4000-8000-000000000001");
//! let parsed = ws_discovery::parse(probe.as_bytes())?;
//! assert_eq!(parsed.kind, MessageKind::Probe);
//! assert_eq!(parsed.message_id.as_deref(), Some("urn:uuid:00000000-0000-4000-8000-000000000001"));
//! assert_eq!(parsed.probe.unwrap().types.len(), 2);
//! # Ok::<(), camlink::Error>(())
//! ```

use std::fmt;

use quick_xml::events::Event;
use quick_xml::name::{QName, ResolveResult};
use quick_xml::reader::NsReader;

pub use super::scopes::{ScopeInfo, percent_decode};
use crate::xmlutil::escape;
use crate::{Error, ErrorKind, Result};

/// Namespace URIs used by WS-Discovery and ONVIF discovery.
pub mod ns {
    /// SOAP 1.2 envelope.
    pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
    /// SOAP 1.1 envelope (accepted when parsing; never sent).
    pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    /// WS-Addressing, August 2004 member submission (the one WS-Discovery 2005/04 and ONVIF use).
    pub const WSA_2004_08: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
    /// WS-Addressing 1.0 (W3C, 2005/08), used by WS-Discovery 1.1.
    pub const WSA_2005_08: &str = "http://www.w3.org/2005/08/addressing";
    /// WS-Discovery, April 2005 (the version ONVIF requires).
    pub const WSD_2005_04: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
    /// WS-Discovery 1.1 (OASIS, 2009/01); accepted when parsing.
    pub const WSD_2009_01: &str = "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01";
    /// ONVIF network namespace (`dn:NetworkVideoTransmitter`).
    pub const ONVIF_NETWORK: &str = "http://www.onvif.org/ver10/network/wsdl";
    /// ONVIF device service namespace (`tds:Device`).
    pub const ONVIF_DEVICE: &str = "http://www.onvif.org/ver10/device/wsdl";
}

/// The UDP port of WS-Discovery.
pub const WSD_PORT: u16 = 3702;
/// The IPv4 multicast group of WS-Discovery.
pub const WSD_MULTICAST_V4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(239, 255, 255, 250);
/// Largest datagram parsed (the largest UDP payload over IPv4); longer input is refused.
pub const MAX_MESSAGE_LEN: usize = 65_507;
/// Most ProbeMatch / ResolveMatch entries kept from one message.
pub const MAX_MATCHES_PER_MESSAGE: usize = 16;
/// Most items kept from one Types, Scopes or XAddrs list.
pub const MAX_LIST_ITEMS: usize = 64;
/// Longest text kept from one element (an XAddrs list, a Scopes list, a MessageID).
pub const MAX_TEXT_LEN: usize = 8 * 1024;
/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 32;

/// The anonymous reply address of WS-Addressing 2004/08.
const ANONYMOUS_2004_08: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
/// The `To` of a multicast discovery message (WS-Discovery 2005/04, section 2.4).
const TO_DISCOVERY_2005_04: &str = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";

/// A namespace-qualified name, as used in `Types` (`dn:NetworkVideoTransmitter`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    /// The namespace URI; empty when the prefix was neither declared nor well known.
    pub namespace: String,
    /// The local part.
    pub local: String,
}

impl QualifiedName {
    /// A name from its parts.
    pub fn new(namespace: impl Into<String>, local: impl Into<String>) -> Self {
        QualifiedName {
            namespace: namespace.into(),
            local: local.into(),
        }
    }

    /// `dn:NetworkVideoTransmitter`, the type every ONVIF video device announces.
    pub fn network_video_transmitter() -> Self {
        QualifiedName::new(ns::ONVIF_NETWORK, "NetworkVideoTransmitter")
    }

    /// `tds:Device`, the ONVIF device service type.
    pub fn device() -> Self {
        QualifiedName::new(ns::ONVIF_DEVICE, "Device")
    }

    /// Whether this is the same name as `other`. A name whose prefix was not declared matches
    /// by local name alone (cameras forget declarations).
    pub fn matches(&self, other: &QualifiedName) -> bool {
        self.local == other.local
            && (self.namespace == other.namespace
                || self.namespace.is_empty()
                || other.namespace.is_empty())
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match well_known_prefix(&self.namespace) {
            Some(p) => write!(f, "{p}:{}", self.local),
            None if self.namespace.is_empty() => f.write_str(&self.local),
            None => write!(f, "{{{}}}{}", self.namespace, self.local),
        }
    }
}

fn well_known_prefix(namespace: &str) -> Option<&'static str> {
    match namespace {
        ns::ONVIF_NETWORK => Some("dn"),
        ns::ONVIF_DEVICE => Some("tds"),
        _ => None,
    }
}

/// The shape of a Probe.
///
/// Both use WS-Discovery 2005/04 with WS-Addressing 2004/08 (what ONVIF requires); they differ in
/// what older firmware tolerates. Sending both (the default of
/// [`DiscoveryOptions`](super::probe::DiscoveryOptions)) finds both kinds of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeForm {
    /// One Probe asking for `dn:NetworkVideoTransmitter tds:Device`, `urn:uuid:` MessageID, a
    /// ReplyTo and `mustUnderstand` on Action and To: the ONVIF Core form.
    Standard,
    /// The pre-ONVIF-2.0 form that older Hikvision, Uniview and Dahua firmware answer: Types holds
    /// `dn:NetworkVideoTransmitter` alone (that firmware compares the Types text with it and stays
    /// silent on a list), a bare `uuid:` MessageID, no ReplyTo, no `mustUnderstand`.
    Legacy,
}

impl ProbeForm {
    /// Both forms, in the order they are sent.
    pub const ALL: [ProbeForm; 2] = [ProbeForm::Standard, ProbeForm::Legacy];

    /// A fresh MessageID in the shape this form uses.
    pub fn new_message_id(self) -> String {
        match self {
            ProbeForm::Standard => format!("urn:uuid:{}", new_uuid()),
            ProbeForm::Legacy => format!("uuid:{}", new_uuid()),
        }
    }
}

/// A random (version 4) UUID in its text form.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: fall back to the clock and a counter. Unique, not secret; a
        // MessageID only has to be unique.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        b[..8].copy_from_slice(&t.to_be_bytes());
        b[8..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Builds a Probe for ONVIF devices in `form`, with `message_id` (see
/// [`ProbeForm::new_message_id`]).
pub fn build_probe(form: ProbeForm, message_id: &str) -> String {
    let id = escape(message_id);
    match form {
        ProbeForm::Standard => format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<s:Envelope xmlns:s="{soap}" xmlns:a="{wsa}" xmlns:d="{wsd}" xmlns:dn="{dn}" xmlns:tds="{tds}">"#,
                r#"<s:Header>"#,
                r#"<a:Action s:mustUnderstand="1">{wsd}/Probe</a:Action>"#,
                r#"<a:MessageID>{id}</a:MessageID>"#,
                r#"<a:ReplyTo><a:Address>{anon}</a:Address></a:ReplyTo>"#,
                r#"<a:To s:mustUnderstand="1">{to}</a:To>"#,
                r#"</s:Header>"#,
                r#"<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types></d:Probe></s:Body>"#,
                r#"</s:Envelope>"#
            ),
            soap = ns::SOAP12,
            wsa = ns::WSA_2004_08,
            wsd = ns::WSD_2005_04,
            dn = ns::ONVIF_NETWORK,
            tds = ns::ONVIF_DEVICE,
            anon = ANONYMOUS_2004_08,
            to = TO_DISCOVERY_2005_04,
            id = id,
        ),
        ProbeForm::Legacy => format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="{soap}" xmlns:wsa="{wsa}" xmlns:wsdd="{wsd}" xmlns:dn="{dn}">"#,
                r#"<SOAP-ENV:Header>"#,
                r#"<wsa:MessageID>{id}</wsa:MessageID>"#,
                r#"<wsa:To>{to}</wsa:To>"#,
                r#"<wsa:Action>{wsd}/Probe</wsa:Action>"#,
                r#"</SOAP-ENV:Header>"#,
                r#"<SOAP-ENV:Body><wsdd:Probe><wsdd:Types>dn:NetworkVideoTransmitter</wsdd:Types><wsdd:Scopes/></wsdd:Probe></SOAP-ENV:Body>"#,
                r#"</SOAP-ENV:Envelope>"#
            ),
            soap = ns::SOAP12,
            wsa = ns::WSA_2004_08,
            wsd = ns::WSD_2005_04,
            dn = ns::ONVIF_NETWORK,
            to = TO_DISCOVERY_2005_04,
            id = id,
        ),
    }
}

/// What a WS-Discovery message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A search (client to devices).
    Probe,
    /// The answer to a Probe.
    ProbeMatches,
    /// A device announcing itself (joining the network).
    Hello,
    /// A device leaving.
    Bye,
    /// A search for one endpoint reference.
    Resolve,
    /// The answer to a Resolve.
    ResolveMatches,
}

/// A device as a discovery message describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// The endpoint reference address (`urn:uuid:…`): the device's stable identity.
    pub address: String,
    /// The types it offers (`dn:NetworkVideoTransmitter`, `tds:Device`, …).
    pub types: Vec<QualifiedName>,
    /// Its scopes, as sent (`onvif://www.onvif.org/name/…`).
    pub scopes: Vec<String>,
    /// Where to reach its device service (`http://192.0.2.10/onvif/device_service`).
    pub xaddrs: Vec<String>,
    /// The metadata version, if sent and numeric.
    pub metadata_version: Option<u32>,
}

impl Endpoint {
    /// The well-known ONVIF scopes, decoded.
    pub fn scope_info(&self) -> ScopeInfo {
        ScopeInfo::from_scopes(&self.scopes)
    }

    /// Whether the endpoint offers `ty`.
    pub fn has_type(&self, ty: &QualifiedName) -> bool {
        self.types.iter().any(|t| t.matches(ty))
    }
}

/// A Probe's search terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeRequest {
    /// The types asked for (all must be offered); empty means any.
    pub types: Vec<QualifiedName>,
    /// The scopes asked for (all must match); empty means any.
    pub scopes: Vec<String>,
    /// The `MatchBy` rule of the scopes, if given.
    pub match_by: Option<String>,
}

impl ProbeRequest {
    /// The form the probe has, as far as a responder can tell: [`ProbeForm::Legacy`] when it asks
    /// for `dn:NetworkVideoTransmitter` and nothing else.
    pub fn form(&self) -> ProbeForm {
        if self.types.len() == 1
            && self
                .types
                .first()
                .is_some_and(|t| t.matches(&QualifiedName::network_video_transmitter()))
        {
            ProbeForm::Legacy
        } else {
            ProbeForm::Standard
        }
    }
}

/// The namespaces a message was written with (a reply uses the same ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dialect {
    /// WS-Discovery namespace URI.
    pub discovery: &'static str,
    /// WS-Addressing namespace URI.
    pub addressing: &'static str,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            discovery: ns::WSD_2005_04,
            addressing: ns::WSA_2004_08,
        }
    }
}

/// A parsed WS-Discovery message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// What it is.
    pub kind: MessageKind,
    /// Its MessageID.
    pub message_id: Option<String>,
    /// The MessageID it answers (`RelatesTo`), for ProbeMatches and ResolveMatches.
    pub relates_to: Option<String>,
    /// Its `Action`.
    pub action: Option<String>,
    /// The reply address (`ReplyTo/Address`), if any.
    pub reply_to: Option<String>,
    /// The namespaces it used.
    pub dialect: Dialect,
    /// The endpoints it describes: every match of a ProbeMatches, the device of a Hello or Bye.
    pub endpoints: Vec<Endpoint>,
    /// The search terms, for a Probe.
    pub probe: Option<ProbeRequest>,
    /// The `AppSequence` header (Hello, Bye, ProbeMatches), if sent.
    pub app_sequence: Option<AppSequence>,
}

/// The WS-Discovery `AppSequence` header: lets a receiver order a device's messages and drop
/// replays (`InstanceId` grows at each device restart, `MessageNumber` with each message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AppSequence {
    /// Grows each time the device restarts.
    pub instance_id: u32,
    /// Grows with each message of this instance.
    pub message_number: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Soap,
    Wsa,
    Wsd,
    Other,
}

fn classify(namespace: &str) -> Ns {
    match namespace {
        ns::SOAP12 | ns::SOAP11 => Ns::Soap,
        ns::WSA_2004_08 | ns::WSA_2005_08 => Ns::Wsa,
        ns::WSD_2005_04 | ns::WSD_2009_01 => Ns::Wsd,
        _ => Ns::Other,
    }
}

/// Namespaces assumed for prefixes that a camera used without declaring them.
fn undeclared_prefix(prefix: &str) -> Option<&'static str> {
    Some(match prefix {
        "s" | "soap" | "soapenv" | "SOAP-ENV" | "env" | "e" => ns::SOAP12,
        "a" | "wsa" | "wsadis" | "add" => ns::WSA_2004_08,
        "d" | "wsd" | "wsdd" | "dis" => ns::WSD_2005_04,
        "dn" | "tdn" => ns::ONVIF_NETWORK,
        "tds" => ns::ONVIF_DEVICE,
        _ => return None,
    })
}

fn resolved_ns(r: &ResolveResult<'_>) -> Option<String> {
    match r {
        ResolveResult::Bound(n) => Some(n.0.to_string()),
        ResolveResult::Unknown(p) => undeclared_prefix(p).map(str::to_string),
        ResolveResult::Unbound => None,
    }
}

fn static_ns(uri: &str) -> Option<&'static str> {
    [
        ns::WSA_2004_08,
        ns::WSA_2005_08,
        ns::WSD_2005_04,
        ns::WSD_2009_01,
    ]
    .into_iter()
    .find(|n| *n == uri)
}

/// Parses one WS-Discovery datagram.
///
/// Errors: [`ErrorKind::LimitExceeded`] above [`MAX_MESSAGE_LEN`] or [`MAX_DEPTH`];
/// [`ErrorKind::Malformed`] for XML that cannot be read or a SOAP body holding no discovery
/// message.
pub fn parse(input: &[u8]) -> Result<Message> {
    if input.len() > MAX_MESSAGE_LEN {
        return Err(Error::limit("WS-Discovery message", MAX_MESSAGE_LEN));
    }
    let text = String::from_utf8_lossy(input);
    // A UTF-8 byte-order mark or leading blanks before the declaration are common.
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = NsReader::from_str(text);
    {
        let c = reader.config_mut();
        c.expand_empty_elements = true;
        c.check_end_names = false;
        c.trim_text(false);
    }

    let mut path: Vec<(Ns, String)> = Vec::new();
    let mut text_buf = String::new();
    let mut kind: Option<MessageKind> = None;
    let mut msg = Message {
        kind: MessageKind::Probe,
        message_id: None,
        relates_to: None,
        action: None,
        reply_to: None,
        dialect: Dialect::default(),
        endpoints: Vec::new(),
        probe: None,
        app_sequence: None,
    };
    let mut current: Option<Endpoint> = None;
    let mut probe = ProbeRequest::default();
    let mut saw_envelope = false;

    loop {
        let pos = reader.buffer_position();
        let (res, event) = match reader.read_resolved_event() {
            Ok(x) => x,
            Err(e) => {
                return Err(Error::malformed(
                    format!("WS-Discovery XML: {e}"),
                    usize::try_from(pos).unwrap_or(usize::MAX),
                    input,
                ));
            }
        };
        match event {
            Event::Start(e) => {
                if path.len() >= MAX_DEPTH {
                    return Err(Error::new(
                        ErrorKind::LimitExceeded,
                        format!("WS-Discovery message nests deeper than {MAX_DEPTH} elements"),
                    ));
                }
                let uri = resolved_ns(&res);
                let class = uri.as_deref().map(classify).unwrap_or(Ns::Other);
                let local = e.local_name().into_inner().to_string();
                text_buf.clear();
                let depth = path.len();
                if depth == 0 && class == Ns::Soap && local == "Envelope" {
                    saw_envelope = true;
                }
                // A discovery message: the first wsd element directly in the Body.
                if depth == 2
                    && kind.is_none()
                    && class == Ns::Wsd
                    && last_is(&path, Ns::Soap, "Body")
                {
                    kind = match local.as_str() {
                        "Probe" => Some(MessageKind::Probe),
                        "ProbeMatches" => Some(MessageKind::ProbeMatches),
                        "Hello" => Some(MessageKind::Hello),
                        "Bye" => Some(MessageKind::Bye),
                        "Resolve" => Some(MessageKind::Resolve),
                        "ResolveMatches" => Some(MessageKind::ResolveMatches),
                        _ => None,
                    };
                    if let Some(d) = uri.as_deref().and_then(static_ns) {
                        msg.dialect.discovery = d;
                    }
                    if matches!(kind, Some(MessageKind::Hello | MessageKind::Bye)) {
                        current = Some(Endpoint::default());
                    }
                }
                if class == Ns::Wsd
                    && (local == "ProbeMatch" || local == "ResolveMatch")
                    && matches!(
                        kind,
                        Some(MessageKind::ProbeMatches | MessageKind::ResolveMatches)
                    )
                    && depth == 3
                {
                    current = Some(Endpoint::default());
                }
                if depth == 2
                    && class == Ns::Wsa
                    && last_is(&path, Ns::Soap, "Header")
                    && let Some(a) = uri.as_deref().and_then(static_ns)
                {
                    msg.dialect.addressing = a;
                }
                if depth == 2
                    && class == Ns::Wsd
                    && local == "AppSequence"
                    && last_is(&path, Ns::Soap, "Header")
                {
                    let mut seq = AppSequence::default();
                    let mut complete = 0;
                    for a in e.attributes().flatten() {
                        let v = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .ok()
                            .and_then(|v| v.trim().parse::<u32>().ok());
                        match (a.key.local_name().into_inner(), v) {
                            ("InstanceId", Some(v)) => {
                                seq.instance_id = v;
                                complete += 1;
                            }
                            ("MessageNumber", Some(v)) => {
                                seq.message_number = v;
                                complete += 1;
                            }
                            _ => {}
                        }
                    }
                    if complete == 2 {
                        msg.app_sequence = Some(seq);
                    }
                }
                if class == Ns::Wsd && local == "Scopes" && kind == Some(MessageKind::Probe) {
                    for a in e.attributes().flatten() {
                        if a.key.local_name().into_inner() == "MatchBy"
                            && let Ok(v) = a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        {
                            probe.match_by = Some(cap(v.trim()).to_string());
                        }
                    }
                }
                path.push((class, local));
            }
            Event::Text(t) => push_text(&mut text_buf, &t.xml10_content()),
            Event::CData(t) => push_text(&mut text_buf, &t.xml10_content()),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    push_text(&mut text_buf, c.encode_utf8(&mut [0u8; 4]));
                } else if let Some(s) =
                    quick_xml::escape::resolve_predefined_entity(&r.into_inner())
                {
                    push_text(&mut text_buf, s);
                }
            }
            Event::End(_) => {
                let Some((class, local)) = path.last().cloned() else {
                    continue;
                };
                let value = text_buf.trim();
                let in_header = path.len() == 3 && parent_is(&path, Ns::Soap, "Header");
                if in_header && class == Ns::Wsa {
                    match local.as_str() {
                        "MessageID" => msg.message_id = Some(cap(value).to_string()),
                        "RelatesTo" => msg.relates_to = Some(cap(value).to_string()),
                        "Action" => msg.action = Some(cap(value).to_string()),
                        _ => {}
                    }
                }
                if class == Ns::Wsa
                    && local == "Address"
                    && path.len() == 4
                    && parent_is(&path, Ns::Wsa, "ReplyTo")
                {
                    msg.reply_to = Some(cap(value).to_string());
                }
                if let Some(ep) = current.as_mut() {
                    match (class, local.as_str()) {
                        (Ns::Wsa, "Address") if parent_is(&path, Ns::Wsa, "EndpointReference") => {
                            ep.address = cap(value).to_string();
                        }
                        (Ns::Wsd, "Types") => ep.types = resolve_types(reader.resolver(), value),
                        (Ns::Wsd, "Scopes") => ep.scopes = split_list(value),
                        (Ns::Wsd, "XAddrs") => ep.xaddrs = split_list(value),
                        (Ns::Wsd, "MetadataVersion") => ep.metadata_version = value.parse().ok(),
                        (Ns::Wsd, "ProbeMatch" | "ResolveMatch" | "Hello" | "Bye")
                            if path.len() <= 4 =>
                        {
                            if let Some(ep) = current.take()
                                && msg.endpoints.len() < MAX_MATCHES_PER_MESSAGE
                            {
                                msg.endpoints.push(ep);
                            }
                        }
                        _ => {}
                    }
                } else if kind == Some(MessageKind::Probe) && class == Ns::Wsd {
                    match local.as_str() {
                        "Types" => probe.types = resolve_types(reader.resolver(), value),
                        "Scopes" => probe.scopes = split_list(value),
                        _ => {}
                    }
                }
                text_buf.clear();
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }

    if !saw_envelope {
        return Err(Error::malformed("not a SOAP envelope", 0, input));
    }
    let Some(kind) = kind else {
        return Err(Error::malformed(
            "SOAP body holds no WS-Discovery message",
            0,
            input,
        ));
    };
    msg.kind = kind;
    if kind == MessageKind::Probe {
        msg.probe = Some(probe);
    }
    Ok(msg)
}

/// Whether the innermost open element is `class:local` (used at Start, before the push).
fn last_is(path: &[(Ns, String)], class: Ns, local: &str) -> bool {
    path.last().is_some_and(|(c, l)| *c == class && l == local)
}

/// Whether the parent of the innermost open element is `class:local` (used at End).
fn parent_is(path: &[(Ns, String)], class: Ns, local: &str) -> bool {
    path.len()
        .checked_sub(2)
        .and_then(|i| path.get(i))
        .is_some_and(|(c, l)| *c == class && l == local)
}

fn push_text(buf: &mut String, s: &str) {
    if buf.len() < MAX_TEXT_LEN {
        let room = MAX_TEXT_LEN - buf.len();
        if s.len() <= room {
            buf.push_str(s);
        } else {
            let mut end = room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            buf.push_str(&s[..end]);
        }
    }
}

fn cap(s: &str) -> &str {
    if s.len() <= MAX_TEXT_LEN {
        return s;
    }
    let mut end = MAX_TEXT_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn split_list(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in value.split_ascii_whitespace() {
        if out.len() >= MAX_LIST_ITEMS {
            break;
        }
        if !out.iter().any(|o| o == item) {
            out.push(item.to_string());
        }
    }
    out
}

fn resolve_types(resolver: &quick_xml::name::NamespaceResolver, value: &str) -> Vec<QualifiedName> {
    let mut out: Vec<QualifiedName> = Vec::new();
    for token in value.split_ascii_whitespace().take(MAX_LIST_ITEMS) {
        let (res, local) = resolver.resolve_element(QName(token));
        let namespace = match &res {
            ResolveResult::Bound(n) => n.0.to_string(),
            ResolveResult::Unknown(p) => undeclared_prefix(p).unwrap_or_default().to_string(),
            ResolveResult::Unbound => String::new(),
        };
        let q = QualifiedName::new(namespace, local.into_inner());
        if !out.contains(&q) {
            out.push(q);
        }
    }
    out
}

/// Builds a ProbeMatches answering the probe whose MessageID is `relates_to`, in `dialect`
/// (use the probe's own, [`Message::dialect`]), with an `AppSequence` header when given (the
/// specification wants one; a device keeps the counter).
pub fn build_probe_matches(
    dialect: Dialect,
    message_id: &str,
    relates_to: &str,
    endpoints: &[Endpoint],
    seq: Option<AppSequence>,
) -> String {
    let mut body = String::new();
    for ep in endpoints.iter().take(MAX_MATCHES_PER_MESSAGE) {
        body.push_str("<d:ProbeMatch>");
        endpoint_xml(&mut body, ep);
        body.push_str("</d:ProbeMatch>");
    }
    envelope(
        dialect,
        "ProbeMatches",
        message_id,
        Some(relates_to),
        seq,
        &format!("<d:ProbeMatches>{body}</d:ProbeMatches>"),
    )
}

/// Builds a Hello announcing `endpoint`.
pub fn build_hello(
    dialect: Dialect,
    message_id: &str,
    endpoint: &Endpoint,
    seq: Option<AppSequence>,
) -> String {
    let mut body = String::from("<d:Hello>");
    endpoint_xml(&mut body, endpoint);
    body.push_str("</d:Hello>");
    envelope(dialect, "Hello", message_id, None, seq, &body)
}

/// Builds a Bye for `endpoint` (only its address is sent).
pub fn build_bye(
    dialect: Dialect,
    message_id: &str,
    endpoint: &Endpoint,
    seq: Option<AppSequence>,
) -> String {
    let body = format!(
        "<d:Bye><a:EndpointReference><a:Address>{}</a:Address></a:EndpointReference></d:Bye>",
        escape(&endpoint.address)
    );
    envelope(dialect, "Bye", message_id, None, seq, &body)
}

fn endpoint_xml(out: &mut String, ep: &Endpoint) {
    out.push_str("<a:EndpointReference><a:Address>");
    out.push_str(&escape(&ep.address));
    out.push_str("</a:Address></a:EndpointReference>");
    if !ep.types.is_empty() {
        // Well-known namespaces use the envelope's prefixes; others are declared here.
        let mut decls = String::new();
        let mut names: Vec<String> = Vec::new();
        for (i, t) in ep.types.iter().take(MAX_LIST_ITEMS).enumerate() {
            names.push(match well_known_prefix(&t.namespace) {
                Some(p) => format!("{p}:{}", t.local),
                None if t.namespace.is_empty() => t.local.clone(),
                None => {
                    decls.push_str(&format!(r#" xmlns:t{i}="{}""#, escape(&t.namespace)));
                    format!("t{i}:{}", t.local)
                }
            });
        }
        out.push_str(&format!("<d:Types{decls}>"));
        out.push_str(&escape(&names.join(" ")));
        out.push_str("</d:Types>");
    }
    if !ep.scopes.is_empty() {
        out.push_str("<d:Scopes>");
        out.push_str(&escape(&ep.scopes.join(" ")));
        out.push_str("</d:Scopes>");
    }
    if !ep.xaddrs.is_empty() {
        out.push_str("<d:XAddrs>");
        out.push_str(&escape(&ep.xaddrs.join(" ")));
        out.push_str("</d:XAddrs>");
    }
    out.push_str(&format!(
        "<d:MetadataVersion>{}</d:MetadataVersion>",
        ep.metadata_version.unwrap_or(1)
    ));
}

fn envelope(
    dialect: Dialect,
    action: &str,
    message_id: &str,
    relates_to: Option<&str>,
    seq: Option<AppSequence>,
    body: &str,
) -> String {
    let to = if relates_to.is_some() {
        if dialect.addressing == ns::WSA_2005_08 {
            "http://www.w3.org/2005/08/addressing/anonymous"
        } else {
            ANONYMOUS_2004_08
        }
    } else if dialect.discovery == ns::WSD_2009_01 {
        "urn:docs-oasis-open-org:ws-dd:ns:discovery:2009:01"
    } else {
        TO_DISCOVERY_2005_04
    };
    let relates = relates_to
        .map(|r| format!("<a:RelatesTo>{}</a:RelatesTo>", escape(r)))
        .unwrap_or_default();
    let seq = seq
        .map(|q| {
            format!(
                r#"<d:AppSequence InstanceId="{}" MessageNumber="{}"/>"#,
                q.instance_id, q.message_number
            )
        })
        .unwrap_or_default();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<s:Envelope xmlns:s="{soap}" xmlns:a="{wsa}" xmlns:d="{wsd}" xmlns:dn="{dn}" xmlns:tds="{tds}">"#,
            r#"<s:Header><a:MessageID>{id}</a:MessageID>{relates}<a:To>{to}</a:To>"#,
            r#"<a:Action>{wsd}/{action}</a:Action>{seq}</s:Header>"#,
            r#"<s:Body>{body}</s:Body></s:Envelope>"#
        ),
        soap = ns::SOAP12,
        wsa = dialect.addressing,
        wsd = dialect.discovery,
        dn = ns::ONVIF_NETWORK,
        tds = ns::ONVIF_DEVICE,
        id = escape(message_id),
        relates = relates,
        to = to,
        action = action,
        seq = seq,
        body = body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_probe_round_trips() {
        let id = "urn:uuid:11111111-2222-4333-8444-555555555555";
        let xml = build_probe(ProbeForm::Standard, id);
        let m = parse(xml.as_bytes()).unwrap();
        assert_eq!(m.kind, MessageKind::Probe);
        assert_eq!(m.message_id.as_deref(), Some(id));
        assert_eq!(
            m.reply_to.as_deref(),
            Some("http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous")
        );
        let p = m.probe.unwrap();
        assert_eq!(
            p.types,
            vec![
                QualifiedName::network_video_transmitter(),
                QualifiedName::device()
            ]
        );
        assert_eq!(p.form(), ProbeForm::Standard);
        assert_eq!(m.dialect, Dialect::default());
    }

    #[test]
    fn legacy_probe_round_trips() {
        let id = ProbeForm::Legacy.new_message_id();
        assert!(id.starts_with("uuid:") && id.len() == 41, "{id}");
        let xml = build_probe(ProbeForm::Legacy, &id);
        assert!(xml.contains("<wsdd:Types>dn:NetworkVideoTransmitter</wsdd:Types>"));
        let m = parse(xml.as_bytes()).unwrap();
        assert_eq!(m.message_id.as_deref(), Some(id.as_str()));
        assert_eq!(m.probe.unwrap().form(), ProbeForm::Legacy);
    }

    fn sample_endpoint() -> Endpoint {
        Endpoint {
            address: "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001".into(),
            types: vec![
                QualifiedName::network_video_transmitter(),
                QualifiedName::device(),
            ],
            scopes: vec![
                "onvif://www.onvif.org/name/Front%20Door".into(),
                "onvif://www.onvif.org/hardware/MOCK-1".into(),
                "onvif://www.onvif.org/Profile/Streaming".into(),
                "onvif://www.onvif.org/Profile/T".into(),
                "onvif://www.onvif.org/location/city/Gen%C3%A8ve".into(),
            ],
            xaddrs: vec!["http://127.0.0.1:8080/onvif/device_service".into()],
            metadata_version: Some(3),
        }
    }

    #[test]
    fn probe_matches_round_trip_with_scopes() {
        let ep = sample_endpoint();
        let xml = build_probe_matches(
            Dialect::default(),
            "urn:uuid:x",
            "urn:uuid:probe",
            std::slice::from_ref(&ep),
            Some(AppSequence {
                instance_id: 1_700_000_000,
                message_number: 7,
            }),
        );
        let m = parse(xml.as_bytes()).unwrap();
        assert_eq!(
            m.app_sequence,
            Some(AppSequence {
                instance_id: 1_700_000_000,
                message_number: 7
            })
        );
        assert_eq!(m.kind, MessageKind::ProbeMatches);
        assert_eq!(m.relates_to.as_deref(), Some("urn:uuid:probe"));
        assert_eq!(m.endpoints, vec![ep]);
        let info = m.endpoints[0].scope_info();
        assert_eq!(info.name.as_deref(), Some("Front Door"));
        assert_eq!(info.hardware.as_deref(), Some("MOCK-1"));
        assert_eq!(info.profiles, vec!["S", "T"]);
        assert_eq!(info.locations, vec!["city/Genève"]);
    }

    #[test]
    fn foreign_type_namespaces_are_declared() {
        let mut ep = sample_endpoint();
        ep.types
            .push(QualifiedName::new("urn:example:vendor", "Recorder"));
        let xml = build_hello(Dialect::default(), "urn:uuid:h", &ep, None);
        let m = parse(xml.as_bytes()).unwrap();
        assert_eq!(m.endpoints[0].types, ep.types);
    }

    #[test]
    fn hello_and_bye_round_trip() {
        let ep = sample_endpoint();
        let m = parse(build_hello(Dialect::default(), "urn:uuid:h", &ep, None).as_bytes()).unwrap();
        assert_eq!(m.kind, MessageKind::Hello);
        assert_eq!(m.endpoints, vec![ep.clone()]);
        let m = parse(build_bye(Dialect::default(), "urn:uuid:b", &ep, None).as_bytes()).unwrap();
        assert_eq!(m.kind, MessageKind::Bye);
        assert_eq!(m.endpoints.len(), 1);
        assert_eq!(m.endpoints[0].address, ep.address);
    }

    #[test]
    fn wsd_1_1_dialect_is_read_and_answered_in_kind() {
        let xml = format!(
            r#"<e:Envelope xmlns:e="{}" xmlns:w="{}" xmlns:x="{}" xmlns:n="{}">
            <e:Header><w:MessageID>urn:uuid:p11</w:MessageID></e:Header>
            <e:Body><x:Probe><x:Types>n:NetworkVideoTransmitter</x:Types></x:Probe></e:Body></e:Envelope>"#,
            ns::SOAP12,
            ns::WSA_2005_08,
            ns::WSD_2009_01,
            ns::ONVIF_NETWORK
        );
        let m = parse(xml.as_bytes()).unwrap();
        assert_eq!(m.dialect.discovery, ns::WSD_2009_01);
        assert_eq!(m.dialect.addressing, ns::WSA_2005_08);
        let reply = build_probe_matches(
            m.dialect,
            "urn:uuid:r",
            "urn:uuid:p11",
            &[sample_endpoint()],
            None,
        );
        assert!(reply.contains(ns::WSD_2009_01), "{reply}");
        let r = parse(reply.as_bytes()).unwrap();
        assert_eq!(r.relates_to.as_deref(), Some("urn:uuid:p11"));
    }

    #[test]
    fn undeclared_prefixes_are_understood() {
        // A camera that forgot every declaration but the envelope's.
        let xml = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>
            <a:RelatesTo>uuid:1</a:RelatesTo></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>
            <a:EndpointReference><a:Address>urn:uuid:cam</a:Address></a:EndpointReference>
            <d:Types>dn:NetworkVideoTransmitter</d:Types><d:XAddrs>http://10.0.0.2/onvif/device_service</d:XAddrs>
            </d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"#;
        let m = parse(xml.as_bytes()).unwrap();
        assert_eq!(m.relates_to.as_deref(), Some("uuid:1"));
        assert_eq!(m.endpoints[0].address, "urn:uuid:cam");
        assert!(m.endpoints[0].has_type(&QualifiedName::network_video_transmitter()));
    }

    #[test]
    fn split_text_and_entities_are_accumulated() {
        let xml = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Body><d:Hello>
            <a:EndpointReference><a:Address>urn:uuid:x</a:Address></a:EndpointReference>
            <d:Scopes>onvif://www.onvif.org/name/A&amp;B onvif://www.onvif.org/hardware/<![CDATA[H1]]></d:Scopes>
            <d:XAddrs>http://10.0.0.2/a?x=1&amp;y=2</d:XAddrs></d:Hello></s:Body></s:Envelope>"#;
        let m = parse(xml.as_bytes()).unwrap();
        let ep = &m.endpoints[0];
        assert_eq!(ep.xaddrs, vec!["http://10.0.0.2/a?x=1&y=2"]);
        let info = ep.scope_info();
        assert_eq!(info.name.as_deref(), Some("A&B"));
        assert_eq!(info.hardware.as_deref(), Some("H1"));
    }

    #[test]
    fn not_discovery_is_malformed() {
        for input in [
            &b""[..],
            b"garbage",
            b"<a/>",
            br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x/></s:Body></s:Envelope>"#,
        ] {
            let e = parse(input).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Malformed, "{e}");
        }
    }

    #[test]
    fn bounds_are_enforced() {
        let big = vec![b' '; MAX_MESSAGE_LEN + 1];
        assert_eq!(parse(&big).unwrap_err().kind(), &ErrorKind::LimitExceeded);
        let deep = format!(
            r#"<s:Envelope xmlns:s="{}">{}"#,
            ns::SOAP12,
            "<x>".repeat(MAX_DEPTH + 5)
        );
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err().kind(),
            &ErrorKind::LimitExceeded
        );
        // Many matches: only MAX_MATCHES_PER_MESSAGE are kept.
        let eps: Vec<Endpoint> = (0..MAX_MATCHES_PER_MESSAGE + 10)
            .map(|i| Endpoint {
                address: format!("urn:uuid:{i}"),
                ..Endpoint::default()
            })
            .collect();
        let mut body = String::new();
        for ep in &eps {
            body.push_str("<d:ProbeMatch>");
            endpoint_xml(&mut body, ep);
            body.push_str("</d:ProbeMatch>");
        }
        let xml = envelope(
            Dialect::default(),
            "ProbeMatches",
            "urn:uuid:m",
            Some("urn:uuid:r"),
            None,
            &format!("<d:ProbeMatches>{body}</d:ProbeMatches>"),
        );
        assert_eq!(
            parse(xml.as_bytes()).unwrap().endpoints.len(),
            MAX_MATCHES_PER_MESSAGE
        );
    }

    #[test]
    fn uuids_are_v4_and_unique() {
        let a = new_uuid();
        let b = new_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = parse(&data);
        }

        #[test]
        fn mutated_matches_never_panic(cut in 0usize..1200, byte in proptest::num::u8::ANY) {
            let xml = build_probe_matches(Dialect::default(), "urn:uuid:x", "urn:uuid:p", &[sample_endpoint()], None);
            let mut b = xml.into_bytes();
            if let Some(x) = b.get_mut(cut) { *x = byte; }
            let _ = parse(&b);
            b.truncate(cut);
            let _ = parse(&b);
        }
    }
}
