//! Lenient parsers and strict formatters for RTSP header values.
//!
//! Parsers accept what real cameras send (see each function); formatters write the RFC 2326
//! spelling. Every parser is total: it never panics, and bogus parts become `None` or are
//! skipped rather than failing the whole header. `WWW-Authenticate` is not parsed here: hand
//! [`Response::www_authenticate`](super::message::Response::www_authenticate) to
//! [`crate::auth::HttpAuth::on_unauthorized`].
//!
//! ```
//! use camlink::rtsp::headers::{SessionHeader, Transport};
//!
//! // Hikvision: a space after `ssrc=` and 7 hex digits.
//! let t = Transport::parse("RTP/AVP/TCP;unicast;interleaved=0-1;ssrc= d6d6627");
//! assert_eq!(t.interleaved, Some((0, Some(1))));
//! assert_eq!(t.ssrc, Some(0x0d6d_6627));
//!
//! let s = SessionHeader::parse("708886412;timeout=60").unwrap();
//! assert_eq!((s.id.as_str(), s.timeout), ("708886412", Some(60)));
//! ```

use std::fmt;

use url::Url;

use super::message::Method;
use crate::{Error, Result};

/// Longest header value looked at; the rest is ignored.
pub const MAX_VALUE_LEN: usize = 8 * 1024;
/// Most transports kept from one `Transport` header.
pub const MAX_TRANSPORTS: usize = 16;
/// Most streams kept from one `RTP-Info` header.
pub const MAX_RTP_INFO: usize = 32;
/// Most unknown parameters kept per transport.
pub const MAX_TRANSPORT_PARAMS: usize = 16;

fn cap(s: &str) -> &str {
    if s.len() <= MAX_VALUE_LEN {
        return s;
    }
    let mut end = MAX_VALUE_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

fn blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn trim(s: &str) -> &str {
    s.trim_matches(blank)
}

fn unquote(s: &str) -> &str {
    let s = trim(s);
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s)
}

/// Parses `CSeq`, tolerating blanks around the number (Longse sends `CSeq: 1 `).
pub fn parse_cseq(value: &str) -> Option<u32> {
    let t = trim(cap(value));
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// The transport protocol of a `Transport` spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LowerTransport {
    /// `RTP/AVP` or `RTP/AVP/UDP`.
    #[default]
    Udp,
    /// `RTP/AVP/TCP` (interleaved in the RTSP connection).
    Tcp,
}

/// `unicast` or `multicast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// `unicast`
    Unicast,
    /// `multicast`
    Multicast,
}

/// One transport spec of a `Transport` header (RFC 2326 §12.39).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transport {
    /// The profile as sent, e.g. `RTP/AVP`, `RTP/SAVP` (without the lower transport).
    pub profile: String,
    /// UDP or TCP.
    pub lower: LowerTransport,
    /// Whether the lower transport was written explicitly (`RTP/AVP/UDP`).
    pub explicit_lower: bool,
    /// `unicast` / `multicast`, if given.
    pub delivery: Option<Delivery>,
    /// `destination=` (multicast group or client address).
    pub destination: Option<String>,
    /// `source=` (the address the server sends from).
    pub source: Option<String>,
    /// `interleaved=a-b` (or a single channel).
    pub interleaved: Option<(u8, Option<u8>)>,
    /// `client_port=a-b`.
    pub client_port: Option<(u16, Option<u16>)>,
    /// `server_port=a-b` (missing on some cameras).
    pub server_port: Option<(u16, Option<u16>)>,
    /// `port=a-b` (multicast).
    pub port: Option<(u16, Option<u16>)>,
    /// `ttl=` (multicast).
    pub ttl: Option<u8>,
    /// `ssrc=` in hex (blanks allowed, fewer than 8 digits allowed).
    pub ssrc: Option<u32>,
    /// `mode=` unquoted, e.g. `play` (Hikvision sends `mode="play"`).
    pub mode: Option<String>,
    /// `append` flag.
    pub append: bool,
    /// Other parameters, in order (name, value).
    pub other: Vec<(String, Option<String>)>,
}

fn parse_range<T: std::str::FromStr>(v: &str) -> Option<(T, Option<T>)> {
    let v = trim(v);
    match v.split_once('-') {
        Some((a, b)) => {
            let a = trim(a).parse().ok()?;
            let b = trim(b);
            let b = if b.is_empty() {
                None
            } else {
                Some(b.parse().ok()?)
            };
            Some((a, b))
        }
        None => Some((v.parse().ok()?, None)),
    }
}

fn parse_ssrc(v: &str) -> Option<u32> {
    let v = trim(v);
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    u32::from_str_radix(v, 16).ok()
}

impl Transport {
    /// Parses one transport spec leniently (unknown or bogus parameters are skipped or kept in
    /// [`other`](Self::other)). Never fails: a spec without a profile gets an empty one.
    pub fn parse(spec: &str) -> Transport {
        let mut t = Transport::default();
        let mut parts = cap(spec).split(';');
        let proto = trim(parts.next().unwrap_or_default());
        let upper = proto.to_ascii_uppercase();
        if let Some(p) = upper.strip_suffix("/TCP") {
            t.lower = LowerTransport::Tcp;
            t.explicit_lower = true;
            t.profile = p.to_owned();
        } else if let Some(p) = upper.strip_suffix("/UDP") {
            t.explicit_lower = true;
            t.profile = p.to_owned();
        } else {
            t.profile = upper;
        }
        for part in parts {
            let part = trim(part);
            if part.is_empty() {
                continue;
            }
            let (name, value) = match part.split_once('=') {
                Some((n, v)) => (trim(n), Some(v)),
                None => (part, None),
            };
            let lname = name.to_ascii_lowercase();
            match (lname.as_str(), value) {
                ("unicast", None) => t.delivery = Some(Delivery::Unicast),
                ("multicast", None) => t.delivery = Some(Delivery::Multicast),
                ("append", None) => t.append = true,
                ("destination", Some(v)) => t.destination = Some(unquote(v).to_owned()),
                ("source", Some(v)) => t.source = Some(unquote(v).to_owned()),
                ("interleaved", Some(v)) => t.interleaved = parse_range(v),
                ("client_port", Some(v)) => t.client_port = parse_range(v),
                ("server_port", Some(v)) => t.server_port = parse_range(v),
                ("port", Some(v)) => t.port = parse_range(v),
                ("ttl", Some(v)) => t.ttl = trim(v).parse().ok(),
                ("ssrc", Some(v)) => t.ssrc = parse_ssrc(v),
                ("mode", Some(v)) => t.mode = Some(unquote(v).to_ascii_lowercase()),
                _ => {
                    if t.other.len() < MAX_TRANSPORT_PARAMS {
                        t.other
                            .push((name.to_owned(), value.map(|v| trim(v).to_owned())));
                    }
                }
            }
        }
        t
    }

    /// Parses a header holding several comma-separated specs (a client's offer).
    pub fn parse_list(value: &str) -> Vec<Transport> {
        cap(value)
            .split(',')
            .filter(|s| !trim(s).is_empty())
            .take(MAX_TRANSPORTS)
            .map(Transport::parse)
            .collect()
    }

    /// A TCP-interleaved unicast request on channels `rtp` and `rtp + 1`.
    pub fn tcp_interleaved(rtp: u8) -> Transport {
        Transport {
            profile: "RTP/AVP".into(),
            lower: LowerTransport::Tcp,
            explicit_lower: true,
            delivery: Some(Delivery::Unicast),
            interleaved: Some((rtp, rtp.checked_add(1))),
            ..Transport::default()
        }
    }

    /// A UDP unicast request with client ports `rtp` and `rtp + 1`.
    pub fn udp_unicast(rtp: u16) -> Transport {
        Transport {
            profile: "RTP/AVP".into(),
            delivery: Some(Delivery::Unicast),
            client_port: Some((rtp, rtp.checked_add(1))),
            ..Transport::default()
        }
    }
}

fn write_range<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    r: &(T, Option<T>),
) -> fmt::Result {
    match &r.1 {
        Some(b) => write!(f, ";{name}={}-{b}", r.0),
        None => write!(f, ";{name}={}", r.0),
    }
}

/// The strict form: `RTP/AVP/TCP;unicast;interleaved=0-1`, parameters in RFC order.
impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let profile = if self.profile.is_empty() {
            "RTP/AVP"
        } else {
            &self.profile
        };
        f.write_str(profile)?;
        match self.lower {
            LowerTransport::Tcp => f.write_str("/TCP")?,
            LowerTransport::Udp if self.explicit_lower => f.write_str("/UDP")?,
            LowerTransport::Udp => {}
        }
        match self.delivery {
            Some(Delivery::Unicast) => f.write_str(";unicast")?,
            Some(Delivery::Multicast) => f.write_str(";multicast")?,
            None => {}
        }
        if let Some(d) = &self.destination {
            write!(f, ";destination={d}")?;
        }
        if let Some(s) = &self.source {
            write!(f, ";source={s}")?;
        }
        if let Some(r) = &self.interleaved {
            write_range(f, "interleaved", r)?;
        }
        if self.append {
            f.write_str(";append")?;
        }
        if let Some(t) = self.ttl {
            write!(f, ";ttl={t}")?;
        }
        if let Some(r) = &self.port {
            write_range(f, "port", r)?;
        }
        if let Some(r) = &self.client_port {
            write_range(f, "client_port", r)?;
        }
        if let Some(r) = &self.server_port {
            write_range(f, "server_port", r)?;
        }
        if let Some(s) = self.ssrc {
            write!(f, ";ssrc={s:08X}")?;
        }
        if let Some(m) = &self.mode {
            write!(f, ";mode=\"{}\"", m.to_ascii_uppercase())?;
        }
        for (n, v) in &self.other {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

/// Formats several transports as one header value (a client's offer, most preferred first).
pub fn format_transports(list: &[Transport]) -> String {
    list.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A `Session` header: the id and the optional timeout in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionHeader {
    /// The session id (blanks and tabs around it removed).
    pub id: String,
    /// `timeout=` in seconds, if given and sensible.
    pub timeout: Option<u32>,
}

impl SessionHeader {
    /// Parses `id`, `id;timeout=60`, `id; timeout = 60` and tab-padded values (Hikvision).
    /// `None` when there is no id.
    pub fn parse(value: &str) -> Option<SessionHeader> {
        let mut parts = cap(value).split(';');
        let id = trim(parts.next().unwrap_or_default());
        if id.is_empty() {
            return None;
        }
        let mut timeout = None;
        for p in parts {
            if let Some((n, v)) = p.split_once('=')
                && trim(n).eq_ignore_ascii_case("timeout")
            {
                timeout = trim(v).parse().ok();
            }
        }
        Some(SessionHeader {
            id: id.to_owned(),
            timeout,
        })
    }
}

/// The strict form: `id` or `id;timeout=60`.
impl fmt::Display for SessionHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)?;
        if let Some(t) = self.timeout {
            write!(f, ";timeout={t}")?;
        }
        Ok(())
    }
}

/// One stream of an `RTP-Info` header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpInfo {
    /// `url=` as sent (may be relative, e.g. `trackID=1`).
    pub url: Option<String>,
    /// `seq=`, `None` if absent or bogus.
    pub seq: Option<u16>,
    /// `rtptime=`, `None` if absent or bogus.
    pub rtptime: Option<u32>,
    /// `ssrc=` (Reolink, in hex), `None` if absent or bogus.
    pub ssrc: Option<u32>,
}

impl RtpInfo {
    /// Parses every stream of an `RTP-Info` value. A comma starts a new stream only when
    /// followed by `url=`, so URLs with commas survive; trailing `;` and bogus numbers are
    /// tolerated (the value becomes `None`).
    pub fn parse_list(value: &str) -> Vec<RtpInfo> {
        let value = cap(value);
        let mut starts = vec![0usize];
        for (i, _) in value.match_indices(',') {
            let rest = value
                .get(i + 1..)
                .unwrap_or_default()
                .trim_start_matches(blank);
            if rest.len() >= 4
                && rest
                    .get(..4)
                    .is_some_and(|p| p.eq_ignore_ascii_case("url="))
            {
                starts.push(i + 1);
            }
        }
        starts.push(value.len() + 1);
        let mut out = Vec::new();
        for w in starts.windows(2) {
            let (a, b) = match w {
                [a, b] => (*a, b.saturating_sub(1)),
                _ => continue,
            };
            let Some(part) = value.get(a..b) else {
                continue;
            };
            if trim(part).is_empty() || out.len() >= MAX_RTP_INFO {
                continue;
            }
            out.push(RtpInfo::parse_one(part));
        }
        out
    }

    fn parse_one(part: &str) -> RtpInfo {
        let mut info = RtpInfo::default();
        // The URL runs up to `;seq=`, `;rtptime=` or `;ssrc=`, since URLs may hold `;`.
        let mut rest = trim(part);
        if rest
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("url="))
        {
            let after = rest.get(4..).unwrap_or_default();
            let lower = after.to_ascii_lowercase();
            let end = [";seq=", ";rtptime=", ";ssrc="]
                .iter()
                .filter_map(|k| lower.find(k))
                .min()
                .unwrap_or(after.len());
            let url = unquote(after.get(..end).unwrap_or_default().trim_end_matches(';'));
            if !url.is_empty() {
                info.url = Some(url.to_owned());
            }
            rest = after.get(end..).unwrap_or_default();
        }
        for p in rest.split(';') {
            let Some((n, v)) = p.split_once('=') else {
                continue;
            };
            let v = trim(v);
            match trim(n).to_ascii_lowercase().as_str() {
                "seq" => info.seq = v.parse().ok(),
                "rtptime" => info.rtptime = v.parse().ok(),
                "ssrc" => info.ssrc = parse_ssrc(v),
                _ => {}
            }
        }
        info
    }
}

/// The strict form: `url=...;seq=1;rtptime=2` (absent values omitted).
impl fmt::Display for RtpInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(u) = &self.url {
            write!(f, "url={u}")?;
            sep = ";";
        }
        if let Some(s) = self.seq {
            write!(f, "{sep}seq={s}")?;
            sep = ";";
        }
        if let Some(t) = self.rtptime {
            write!(f, "{sep}rtptime={t}")?;
        }
        Ok(())
    }
}

/// Formats several streams as one `RTP-Info` value.
pub fn format_rtp_info(list: &[RtpInfo]) -> String {
    list.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses `Public` values (one or several headers) into methods, in order, without repeats.
pub fn parse_public<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Method> {
    let mut out: Vec<Method> = Vec::new();
    for v in values {
        for tok in cap(v).split(',') {
            let tok = trim(tok);
            if tok.is_empty() || out.len() >= 64 {
                continue;
            }
            let m = Method::from_token(&tok.to_ascii_uppercase());
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

/// Formats a `Public` value: `OPTIONS, DESCRIBE, ...`.
pub fn format_public(methods: &[Method]) -> String {
    methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolves a `Content-Base` / `Content-Location` value against the request URL.
///
/// Absolute URLs are taken as they are; a value without a scheme (Anjvision:
/// `192.168.1.2/main`) gets the request's scheme; a path (`/live/`) or a relative reference is
/// joined to the request URL.
pub fn resolve_base(value: &str, request_url: &Url) -> Result<Url> {
    let v = trim(cap(value));
    if v.is_empty() {
        return Err(Error::malformed("empty Content-Base", 0, value.as_bytes()));
    }
    let has_scheme = v.split_once("://").is_some_and(|(s, _)| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    });
    let parsed = if has_scheme {
        Url::parse(v)
    } else if v.starts_with('/') || v.starts_with('.') {
        request_url.join(v)
    } else if v
        .split('/')
        .next()
        .is_some_and(|host| host.contains('.') || host.contains(':'))
    {
        Url::parse(&format!("{}://{v}", request_url.scheme()))
    } else {
        request_url.join(v)
    };
    parsed.map_err(|e| Error::malformed(format!("bad Content-Base: {e}"), 0, value.as_bytes()))
}

/// A time in a `Range` header's `npt=` form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NptTime {
    /// `now`
    Now,
    /// Seconds from the start.
    Seconds(f64),
}

impl NptTime {
    fn parse(s: &str) -> Option<NptTime> {
        let s = trim(s);
        if s.eq_ignore_ascii_case("now") {
            return Some(NptTime::Now);
        }
        let mut total = 0f64;
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() > 3 || s.is_empty() {
            return None;
        }
        for p in &parts {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return None;
            }
            let x: f64 = p.parse().ok()?;
            total = total * 60.0 + x;
        }
        total.is_finite().then_some(NptTime::Seconds(total))
    }
}

impl fmt::Display for NptTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NptTime::Now => f.write_str("now"),
            NptTime::Seconds(s) => write!(f, "{s:.3}"),
        }
    }
}

/// A `Range` header value (RFC 2326 §12.29).
#[derive(Debug, Clone, PartialEq)]
pub enum Range {
    /// `npt=start-end`
    Npt {
        /// Start (`None` in `npt=-10`).
        start: Option<NptTime>,
        /// End, if given.
        end: Option<NptTime>,
    },
    /// `clock=start-end`, absolute UTC times as sent (`19961108T142300Z`).
    Clock {
        /// Start.
        start: String,
        /// End, if given.
        end: Option<String>,
    },
    /// Any other unit (`smpte=...`), kept as sent.
    Other(String),
}

impl Range {
    /// Parses a `Range` value leniently; a `;time=` suffix is ignored. `None` if bogus.
    pub fn parse(value: &str) -> Option<Range> {
        let v = trim(cap(value));
        let v = v.split(';').next().unwrap_or_default();
        let (unit, spec) = v.split_once('=')?;
        let (a, b) = spec.split_once('-').unwrap_or((spec, ""));
        match trim(unit).to_ascii_lowercase().as_str() {
            "npt" => {
                let start = if trim(a).is_empty() {
                    None
                } else {
                    Some(NptTime::parse(a)?)
                };
                let end = if trim(b).is_empty() {
                    None
                } else {
                    Some(NptTime::parse(b)?)
                };
                Some(Range::Npt { start, end })
            }
            "clock" => {
                let a = trim(a);
                if a.is_empty() {
                    return None;
                }
                let b = trim(b);
                Some(Range::Clock {
                    start: a.to_owned(),
                    end: (!b.is_empty()).then(|| b.to_owned()),
                })
            }
            _ => Some(Range::Other(v.to_owned())),
        }
    }
}

/// The strict form: `npt=0.000-`, `clock=19961108T142300Z-`.
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::Npt { start, end } => {
                f.write_str("npt=")?;
                if let Some(s) = start {
                    write!(f, "{s}")?;
                }
                f.write_str("-")?;
                if let Some(e) = end {
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Range::Clock { start, end } => {
                write!(f, "clock={start}-")?;
                if let Some(e) = end {
                    f.write_str(e)?;
                }
                Ok(())
            }
            Range::Other(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests;
