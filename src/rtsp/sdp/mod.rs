//! SDP (RFC 8866) as cameras send it in `DESCRIBE` answers: lenient parsing into typed
//! descriptions, and a strict writer for the mock camera.
//!
//! Lenient about what real cameras send: a missing `o=` line (macro-video), trailing blanks and
//! tabs (VStarcam), an empty `a=fmtp:96` (Ubiquiti), a malformed media line (TP-Link's
//! `m=application/TP-LINK 0 RTP/AVP smart/1/90000`, kept as [`MediaType::Other`] with no
//! payload type), static payload types without `a=rtpmap` (Foscam's `m=audio 0 RTP/AVP 0`),
//! an `a=fmtp` whose payload type does not match the `a=rtpmap` (Vitek), two tracks sharing a
//! payload type (Ubiquiti), a base64 `profile-level-id` (macro-video). Lines that are not
//! `x=value` are skipped.
//!
//! Codec parameters come typed from [`Media::codec`] (see [`codec`]); control URLs are resolved
//! by [`Media::control_url`] and [`SessionDescription::control_url`].
//!
//! ```
//! use camlink::rtsp::sdp::{Codec, SessionDescription};
//!
//! let sdp = SessionDescription::parse(
//!     b"v=0\r\ns=cam\r\nt=0 0\r\na=control:*\r\n\
//!       m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
//!       a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z00AH5WoFAFuQA==,aO48gA==\r\n\
//!       a=control:track1\r\n",
//! )?;
//! let video = &sdp.media[0];
//! assert_eq!(video.rtpmap().unwrap().encoding, "H264");
//! let Codec::H264(h264) = video.codec() else { panic!() };
//! assert_eq!(h264.sps.len(), 1);
//! let base = url::Url::parse("rtsp://192.0.2.10/videoMain/").unwrap();
//! assert_eq!(video.control_url(&base)?.as_str(), "rtsp://192.0.2.10/videoMain/track1");
//! # Ok::<(), camlink::Error>(())
//! ```

pub mod codec;
mod write;

use url::Url;

pub use codec::{AacParams, Codec, H264Params, H265Params};

use super::headers::Range;
use crate::{Error, ErrorKind, Result};

/// Longest SDP accepted.
pub const MAX_SDP_LEN: usize = 64 * 1024;
/// Most media sections kept.
pub const MAX_MEDIA: usize = 32;
/// Most attributes kept per section (session or media).
pub const MAX_ATTRIBUTES: usize = 128;
/// Most payload types kept per media line.
pub const MAX_FORMATS: usize = 32;

/// Media direction (`a=sendrecv` etc.), as written by the sender of the SDP (the camera).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `sendrecv`
    SendRecv,
    /// `sendonly`: in an ONVIF camera's SDP, the audio backchannel (the client sends).
    SendOnly,
    /// `recvonly`: ONVIF cameras mark their ordinary streams so.
    RecvOnly,
    /// `inactive`
    Inactive,
}

impl Direction {
    fn parse(s: &str) -> Option<Direction> {
        Some(match s {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// The media type of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MediaType {
    /// `video`
    #[default]
    Video,
    /// `audio`
    Audio,
    /// `application` (ONVIF metadata, ...)
    Application,
    /// `text`
    Text,
    /// Anything else, as sent (TP-Link: `application/TP-LINK`).
    Other(String),
}

impl MediaType {
    fn parse(s: &str) -> MediaType {
        match s.to_ascii_lowercase().as_str() {
            "video" => MediaType::Video,
            "audio" => MediaType::Audio,
            "application" => MediaType::Application,
            "text" => MediaType::Text,
            _ => MediaType::Other(s.to_owned()),
        }
    }

    /// The name on the `m=` line.
    pub fn as_str(&self) -> &str {
        match self {
            MediaType::Video => "video",
            MediaType::Audio => "audio",
            MediaType::Application => "application",
            MediaType::Text => "text",
            MediaType::Other(s) => s,
        }
    }
}

/// An `a=rtpmap` line, or the static mapping of RFC 3551 for payload types below 96.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// The payload type.
    pub payload_type: u8,
    /// The encoding name as sent (`H264`, `mpeg4-generic`, `PCMU`, ...); compare
    /// case-insensitively.
    pub encoding: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels, if given.
    pub channels: Option<u16>,
}

impl RtpMap {
    fn parse(value: &str) -> Option<RtpMap> {
        let (pt, rest) = value.trim().split_once([' ', '\t'])?;
        let payload_type = pt.trim().parse().ok()?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next()?.trim().to_owned();
        if encoding.is_empty() {
            return None;
        }
        let clock_rate = parts.next()?.trim().parse().ok()?;
        let channels = parts.next().and_then(|c| c.trim().parse().ok());
        Some(RtpMap {
            payload_type,
            encoding,
            clock_rate,
            channels,
        })
    }

    /// The static mapping of RFC 3551 §6 for `pt`, if it has one.
    pub fn static_for(pt: u8) -> Option<RtpMap> {
        let (encoding, clock_rate, channels) = match pt {
            0 => ("PCMU", 8000, Some(1)),
            3 => ("GSM", 8000, Some(1)),
            4 => ("G723", 8000, Some(1)),
            5 => ("DVI4", 8000, Some(1)),
            6 => ("DVI4", 16000, Some(1)),
            7 => ("LPC", 8000, Some(1)),
            8 => ("PCMA", 8000, Some(1)),
            9 => ("G722", 8000, Some(1)),
            10 => ("L16", 44100, Some(2)),
            11 => ("L16", 44100, Some(1)),
            12 => ("QCELP", 8000, Some(1)),
            13 => ("CN", 8000, Some(1)),
            14 => ("MPA", 90000, None),
            15 => ("G728", 8000, Some(1)),
            16 => ("DVI4", 11025, Some(1)),
            17 => ("DVI4", 22050, Some(1)),
            18 => ("G729", 8000, Some(1)),
            25 => ("CelB", 90000, None),
            26 => ("JPEG", 90000, None),
            28 => ("nv", 90000, None),
            31 => ("H261", 90000, None),
            32 => ("MPV", 90000, None),
            33 => ("MP2T", 90000, None),
            34 => ("H263", 90000, None),
            _ => return None,
        };
        Some(RtpMap {
            payload_type: pt,
            encoding: encoding.to_owned(),
            clock_rate,
            channels,
        })
    }
}

/// An `a=fmtp` line: the payload type and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The payload type the line names (which may not match the media's: Vitek).
    pub payload_type: u8,
    /// Parameters in order, names as sent, values trimmed. Look up with [`Fmtp::get`].
    pub params: Vec<(String, String)>,
}

impl Fmtp {
    fn parse(value: &str) -> Option<Fmtp> {
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        let (pt, rest) = match value.split_once([' ', '\t']) {
            Some((pt, rest)) => (pt, rest),
            None => (value, ""),
        };
        let payload_type = pt.parse().ok()?;
        let params = rest
            .split(';')
            .filter_map(|p| {
                let p = p.trim_matches(|c| c == ' ' || c == '\t');
                if p.is_empty() {
                    return None;
                }
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                Some((k.trim().to_owned(), v.trim().to_owned()))
            })
            .take(MAX_ATTRIBUTES)
            .collect();
        Some(Fmtp {
            payload_type,
            params,
        })
    }

    /// The value of parameter `name` (case-insensitive: Ubiquiti writes `SizeLength`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One media section (`m=` line and what follows it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Media {
    /// The media type.
    pub media_type: MediaType,
    /// The port (0 in RTSP, where transport is negotiated by `SETUP`).
    pub port: u16,
    /// The protocol (`RTP/AVP`, `RTP/SAVP`, ...).
    pub protocol: String,
    /// The formats as sent on the `m=` line.
    pub formats: Vec<String>,
    /// The formats that are payload types, in order.
    pub payload_types: Vec<u8>,
    /// `a=rtpmap` lines, in order.
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp` lines, in order.
    pub fmtps: Vec<Fmtp>,
    /// `a=control` as sent.
    pub control: Option<String>,
    /// The direction attribute, if given in this section.
    pub direction: Option<Direction>,
    /// `a=range`.
    pub range: Option<Range>,
    /// `a=framerate` (or `a=x-framerate`), when positive.
    pub framerate: Option<f64>,
    /// `a=x-dimensions: w, h`.
    pub dimensions: Option<(u32, u32)>,
    /// `c=` line of this section, as sent.
    pub connection: Option<String>,
    /// `b=` lines, as sent.
    pub bandwidth: Vec<String>,
    /// Every other attribute (name, value), in order.
    pub attributes: Vec<(String, Option<String>)>,
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionDescription {
    /// `o=` as sent (missing on some cameras).
    pub origin: Option<String>,
    /// `s=`.
    pub name: Option<String>,
    /// `i=`.
    pub info: Option<String>,
    /// `c=` at session level, as sent.
    pub connection: Option<String>,
    /// `a=control` at session level (`*` or a URL).
    pub control: Option<String>,
    /// `a=range` at session level.
    pub range: Option<Range>,
    /// Session-level direction.
    pub direction: Option<Direction>,
    /// Other session attributes, in order.
    pub attributes: Vec<(String, Option<String>)>,
    /// Media sections, in order.
    pub media: Vec<Media>,
}

fn parse_framerate(v: &str) -> Option<f64> {
    let v = v.trim();
    let end = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let f: f64 = v.get(..end)?.parse().ok()?;
    (f.is_finite() && f > 0.0).then_some(f)
}

fn parse_dimensions(v: &str) -> Option<(u32, u32)> {
    let (w, h) = v.split_once([',', 'x'])?;
    Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
}

impl SessionDescription {
    /// Parses an SDP leniently. Fails only on input longer than [`MAX_SDP_LEN`]
    /// ([`ErrorKind::LimitExceeded`]) or with no `x=value` line at all ([`ErrorKind::Malformed`]).
    pub fn parse(input: &[u8]) -> Result<SessionDescription> {
        if input.len() > MAX_SDP_LEN {
            return Err(Error::limit("SDP", MAX_SDP_LEN));
        }
        let text = String::from_utf8_lossy(input);
        let mut sdp = SessionDescription::default();
        let mut lines_seen = 0usize;
        let mut skipping_media = false;
        for raw in text.split('\n') {
            let line = raw.trim_matches(|c| c == '\r' || c == ' ' || c == '\t');
            let mut chars = line.chars();
            let (Some(kind), Some('=')) = (chars.next(), chars.next()) else {
                if !line.is_empty() {
                    tracing::debug!(line, "SDP line skipped");
                }
                continue;
            };
            let value = line
                .get(2..)
                .unwrap_or_default()
                .trim_start_matches([' ', '\t']);
            lines_seen += 1;
            if kind == 'm' {
                if sdp.media.len() >= MAX_MEDIA {
                    skipping_media = true;
                    continue;
                }
                match parse_media_line(value) {
                    Some(m) => {
                        sdp.media.push(m);
                        skipping_media = false;
                    }
                    None => {
                        tracing::debug!(line, "malformed SDP media line skipped");
                        skipping_media = true;
                    }
                }
                continue;
            }
            if skipping_media {
                continue;
            }
            match sdp.media.last_mut() {
                Some(m) => absorb_media_line(m, kind, value),
                None => absorb_session_line(&mut sdp, kind, value),
            }
        }
        if lines_seen == 0 {
            return Err(
                Error::new(ErrorKind::Malformed, "not an SDP: no `x=value` line")
                    .with_offset(0)
                    .with_excerpt(input),
            );
        }
        Ok(sdp)
    }

    /// The aggregate control URL: the session `a=control` resolved against `base` (the
    /// `Content-Base`, else `Content-Location`, else the request URL); `base` itself when the
    /// control is `*` or absent.
    pub fn control_url(&self, base: &Url) -> Result<Url> {
        resolve_control(self.control.as_deref(), base)
    }
}

fn split_attr(value: &str) -> (String, Option<String>) {
    match value.split_once(':') {
        Some((n, v)) => (n.trim().to_owned(), Some(v.trim().to_owned())),
        None => (value.trim().to_owned(), None),
    }
}

fn absorb_session_line(sdp: &mut SessionDescription, kind: char, value: &str) {
    match kind {
        'o' => sdp.origin = Some(value.to_owned()),
        's' => sdp.name = Some(value.to_owned()),
        'i' => sdp.info = Some(value.to_owned()),
        'c' => sdp.connection = Some(value.to_owned()),
        'a' => {
            let (name, v) = split_attr(value);
            if let Some(d) = Direction::parse(&name) {
                sdp.direction = Some(d);
                return;
            }
            match (name.as_str(), v) {
                ("control", Some(v)) => sdp.control = Some(v),
                ("range", Some(v)) => sdp.range = Range::parse(&v),
                (_, v) => {
                    if sdp.attributes.len() < MAX_ATTRIBUTES {
                        sdp.attributes.push((name, v));
                    }
                }
            }
        }
        _ => {}
    }
}

fn absorb_media_line(m: &mut Media, kind: char, value: &str) {
    match kind {
        'c' => m.connection = Some(value.to_owned()),
        'b' if m.bandwidth.len() < MAX_ATTRIBUTES => m.bandwidth.push(value.to_owned()),
        'a' => {
            let (name, v) = split_attr(value);
            if let Some(d) = Direction::parse(&name) {
                m.direction = Some(d);
                return;
            }
            match (name.to_ascii_lowercase().as_str(), v) {
                ("rtpmap", Some(v)) => {
                    if let Some(r) = RtpMap::parse(&v).filter(|_| m.rtpmaps.len() < MAX_FORMATS) {
                        m.rtpmaps.push(r);
                    }
                }
                ("fmtp", Some(v)) => {
                    if let Some(f) = Fmtp::parse(&v).filter(|_| m.fmtps.len() < MAX_FORMATS) {
                        m.fmtps.push(f);
                    }
                }
                ("control", Some(v)) => m.control = Some(v),
                ("range", Some(v)) => m.range = Range::parse(&v),
                ("framerate" | "x-framerate", Some(v)) => {
                    if let Some(f) = parse_framerate(&v) {
                        m.framerate = Some(f);
                    }
                }
                ("x-dimensions", Some(v)) => m.dimensions = parse_dimensions(&v),
                (_, v) => {
                    if m.attributes.len() < MAX_ATTRIBUTES {
                        m.attributes.push((name, v));
                    }
                }
            }
        }
        _ => {}
    }
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...`; `None` if the port is not a number.
fn parse_media_line(value: &str) -> Option<Media> {
    let mut parts = value.split([' ', '\t']).filter(|p| !p.is_empty());
    let media_type = MediaType::parse(parts.next()?);
    let port = parts.next()?.split('/').next()?.parse().ok()?;
    let protocol = parts.next().unwrap_or_default().to_owned();
    let formats: Vec<String> = parts.take(MAX_FORMATS).map(str::to_owned).collect();
    let payload_types = formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok().filter(|pt| *pt < 128))
        .collect();
    Some(Media {
        media_type,
        port,
        protocol,
        formats,
        payload_types,
        ..Media::default()
    })
}

fn has_scheme(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    })
}

/// Resolves a control attribute against the base URL.
///
/// - absent or `*`: the base itself;
/// - absolute (`rtsp://...`): as it is;
/// - starting with `/`: the path on the base's host;
/// - otherwise appended to the base, with a `/` added when the base lacks one (H264DVR's
///   `Content-Base: rtsp://h/camera` with `trackID=3` gives `rtsp://h/camera/trackID=3`), so
///   that a base with a query (Dahua: `...?channel=1&subtype=1&proto=Onvif/`) keeps it.
fn resolve_control(control: Option<&str>, base: &Url) -> Result<Url> {
    let bad = |e: url::ParseError, c: &str| {
        Error::new(ErrorKind::Malformed, format!("bad SDP control URL: {e}"))
            .with_excerpt(c.as_bytes())
    };
    match control.map(str::trim) {
        None | Some("") | Some("*") => Ok(base.clone()),
        Some(c) if has_scheme(c) => Url::parse(c).map_err(|e| bad(e, c)),
        Some(c) if c.starts_with('/') => base.join(c).map_err(|e| bad(e, c)),
        Some(c) => {
            let b = base.as_str();
            let joined = if b.ends_with('/') {
                format!("{b}{c}")
            } else {
                format!("{b}/{c}")
            };
            Url::parse(&joined).map_err(|e| bad(e, c))
        }
    }
}

impl Media {
    /// The first payload type of the `m=` line (the one a camera sends).
    pub fn payload_type(&self) -> Option<u8> {
        self.payload_types.first().copied()
    }

    /// The mapping of the media's payload type: its `a=rtpmap`, else the RFC 3551 static one,
    /// else (no payload type on the `m=` line) the only `a=rtpmap` of the section.
    pub fn rtpmap(&self) -> Option<RtpMap> {
        match self.payload_type() {
            Some(pt) => self
                .rtpmaps
                .iter()
                .find(|r| r.payload_type == pt)
                .cloned()
                .or_else(|| RtpMap::static_for(pt)),
            None => match self.rtpmaps.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            },
        }
    }

    /// The `a=fmtp` of the media's payload type; if there is none but the section has exactly
    /// one `a=fmtp` for another payload type (Vitek: rtpmap 98, fmtp 62), that one.
    pub fn fmtp(&self) -> Option<&Fmtp> {
        let pt = self.payload_type();
        self.fmtps
            .iter()
            .find(|f| Some(f.payload_type) == pt)
            .or(match self.fmtps.as_slice() {
                [only] => {
                    tracing::debug!(
                        fmtp = only.payload_type,
                        "SDP fmtp payload type does not match the media's; using it anyway"
                    );
                    Some(only)
                }
                _ => None,
            })
    }

    /// The effective direction: this section's, else the session's.
    pub fn direction_in(&self, session: &SessionDescription) -> Option<Direction> {
        self.direction.or(session.direction)
    }

    /// Whether this is an ONVIF audio backchannel (`a=sendonly` in the camera's SDP: the client
    /// sends on it).
    pub fn is_backchannel(&self) -> bool {
        self.direction == Some(Direction::SendOnly)
    }

    /// The control URL of this media, resolved against `base` (see
    /// [`SessionDescription::control_url`]).
    pub fn control_url(&self, base: &Url) -> Result<Url> {
        resolve_control(self.control.as_deref(), base)
    }

    /// Typed codec parameters, from the encoding name and `a=fmtp`.
    pub fn codec(&self) -> Codec {
        codec::from_media(self)
    }
}

#[cfg(test)]
mod tests;
