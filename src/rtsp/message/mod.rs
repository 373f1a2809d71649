//! RTSP requests and responses: lenient parsing of message heads, strict serialization.
//!
//! One file, `message/parse.rs`, turns the text of a message head into [`Request`] /
//! [`Response`] values. camlink parses heads itself rather than through the `rtsp-types` crate:
//! real cameras send status lines without a reason phrase, LF-only line endings, `CSeq: 1 ` with
//! trailing blanks and header values padded with tabs, which a strict parser refuses. Should a
//! different parser be wanted later, only that file ([`parse_head`]) needs to change.
//!
//! Serialization is strict: `RTSP/1.0`, CRLF line endings, the header spelling cameras expect
//! (`CSeq`, `Session`, `Transport`, `Content-Length`, ...), no CR/LF inside values, and a
//! `Content-Length` that always matches the body.
//!
//! ```
//! use camlink::rtsp::message::{Method, Request};
//!
//! let req = Request::builder(Method::Describe, "rtsp://192.0.2.10/stream1")
//!     .cseq(2)
//!     .header("accept", "application/sdp")
//!     .build()?;
//! assert_eq!(
//!     &req.to_bytes()[..],
//!     &b"DESCRIBE rtsp://192.0.2.10/stream1 RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n"[..]
//! );
//! # Ok::<(), camlink::Error>(())
//! ```

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{Error, ErrorKind, Result};

mod build;
mod parse;

pub use build::{RequestBuilder, ResponseBuilder};
pub(crate) use parse::find_head_end_from;
use parse::parse_complete;
pub use parse::parse_head;

/// Most header lines kept in one message head; more is a [`ErrorKind::LimitExceeded`] error.
pub const MAX_HEADERS: usize = 128;

/// Header names with the spelling cameras expect, used when serializing.
pub mod names {
    /// `CSeq`.
    pub const CSEQ: &str = "CSeq";
    /// `Session`.
    pub const SESSION: &str = "Session";
    /// `Transport`.
    pub const TRANSPORT: &str = "Transport";
    /// `Content-Length`.
    pub const CONTENT_LENGTH: &str = "Content-Length";
    /// `Content-Type`.
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// `Content-Base`.
    pub const CONTENT_BASE: &str = "Content-Base";
    /// `Content-Location`.
    pub const CONTENT_LOCATION: &str = "Content-Location";
    /// `User-Agent`.
    pub const USER_AGENT: &str = "User-Agent";
    /// `Authorization`.
    pub const AUTHORIZATION: &str = "Authorization";
    /// `WWW-Authenticate`.
    pub const WWW_AUTHENTICATE: &str = "WWW-Authenticate";
    /// `Require`.
    pub const REQUIRE: &str = "Require";
    /// `Range`.
    pub const RANGE: &str = "Range";
    /// `Scale`.
    pub const SCALE: &str = "Scale";
    /// `Rate-Control` (ONVIF streaming spec, replay).
    pub const RATE_CONTROL: &str = "Rate-Control";
    /// `RTP-Info`.
    pub const RTP_INFO: &str = "RTP-Info";
    /// `Public`.
    pub const PUBLIC: &str = "Public";
    /// `Accept`.
    pub const ACCEPT: &str = "Accept";
    /// `Server`.
    pub const SERVER: &str = "Server";
    /// `Date`.
    pub const DATE: &str = "Date";
    /// `Unsupported`.
    pub const UNSUPPORTED: &str = "Unsupported";

    pub(super) const ALL: &[&str] = &[
        CSEQ,
        SESSION,
        TRANSPORT,
        CONTENT_LENGTH,
        CONTENT_TYPE,
        CONTENT_BASE,
        CONTENT_LOCATION,
        USER_AGENT,
        AUTHORIZATION,
        WWW_AUTHENTICATE,
        REQUIRE,
        RANGE,
        SCALE,
        RATE_CONTROL,
        RTP_INFO,
        PUBLIC,
        ACCEPT,
        SERVER,
        DATE,
        UNSUPPORTED,
    ];
}

/// The canonical spelling of a known header name, or the name as given.
fn canonical_name(name: &str) -> &str {
    names::ALL
        .iter()
        .find(|n| n.eq_ignore_ascii_case(name))
        .copied()
        .unwrap_or(name)
}

/// Header lines of a message, in the order received, duplicates kept.
///
/// Lookup is case-insensitive (`cseq`, `CSeq` and `CSEQ` are the same header).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of headers called `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a header called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends a header (kept after existing ones of the same name).
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// Replaces every header called `name` by one with `value` (appended if absent).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove(&name);
        self.entries.push((name, value.into()));
    }

    /// Removes every header called `name`.
    pub fn remove(&mut self, name: &str) {
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// All headers as `(name, value)` in order, names as received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `CSeq` value, leniently (`CSeq: 1 ` with trailing blanks is 1).
    pub fn cseq(&self) -> Option<u32> {
        self.get(names::CSEQ).and_then(super::headers::parse_cseq)
    }

    /// The `Content-Length` value (`None` if absent); spaces around the digits are allowed.
    pub fn content_length(&self) -> Result<Option<usize>> {
        let Some(v) = self.get(names::CONTENT_LENGTH) else {
            return Ok(None);
        };
        let t = v.trim_matches(|c| c == ' ' || c == '\t');
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                Error::new(ErrorKind::Malformed, "bad Content-Length").with_excerpt(v.as_bytes())
            );
        }
        t.parse::<usize>().map(Some).map_err(|_| {
            Error::new(ErrorKind::Malformed, "Content-Length too large").with_excerpt(v.as_bytes())
        })
    }

    fn write(&self, out: &mut BytesMut) {
        for (n, v) in &self.entries {
            out.put_slice(canonical_name(n).as_bytes());
            out.put_slice(b": ");
            out.put_slice(v.as_bytes());
            out.put_slice(b"\r\n");
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for (n, v) in &self.entries {
            if n.eq_ignore_ascii_case(names::AUTHORIZATION)
                || n.eq_ignore_ascii_case("Proxy-Authorization")
            {
                l.entry(&(n, "***"));
            } else {
                l.entry(&(n, v));
            }
        }
        l.finish()
    }
}

/// An RTSP method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `OPTIONS`
    Options,
    /// `DESCRIBE`
    Describe,
    /// `ANNOUNCE`
    Announce,
    /// `SETUP`
    Setup,
    /// `PLAY`
    Play,
    /// `PAUSE`
    Pause,
    /// `RECORD`
    Record,
    /// `TEARDOWN`
    Teardown,
    /// `GET_PARAMETER`
    GetParameter,
    /// `SET_PARAMETER`
    SetParameter,
    /// `REDIRECT`
    Redirect,
    /// `PLAY_NOTIFY` (RTSP 2.0)
    PlayNotify,
    /// Any other token.
    Extension(String),
}

/// The known method names, used to recognise the start of a request in a byte stream.
pub(crate) const KNOWN_METHODS: &[&str] = &[
    "OPTIONS",
    "DESCRIBE",
    "ANNOUNCE",
    "SETUP",
    "PLAY",
    "PAUSE",
    "RECORD",
    "TEARDOWN",
    "GET_PARAMETER",
    "SET_PARAMETER",
    "REDIRECT",
    "PLAY_NOTIFY",
];

impl Method {
    /// The method for a token (case-sensitive, as RFC 2326 says; unknown tokens are kept).
    pub fn from_token(s: &str) -> Method {
        match s {
            "OPTIONS" => Method::Options,
            "DESCRIBE" => Method::Describe,
            "ANNOUNCE" => Method::Announce,
            "SETUP" => Method::Setup,
            "PLAY" => Method::Play,
            "PAUSE" => Method::Pause,
            "RECORD" => Method::Record,
            "TEARDOWN" => Method::Teardown,
            "GET_PARAMETER" => Method::GetParameter,
            "SET_PARAMETER" => Method::SetParameter,
            "REDIRECT" => Method::Redirect,
            "PLAY_NOTIFY" => Method::PlayNotify,
            other => Method::Extension(other.to_owned()),
        }
    }

    /// The token as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Options => "OPTIONS",
            Method::Describe => "DESCRIBE",
            Method::Announce => "ANNOUNCE",
            Method::Setup => "SETUP",
            Method::Play => "PLAY",
            Method::Pause => "PAUSE",
            Method::Record => "RECORD",
            Method::Teardown => "TEARDOWN",
            Method::GetParameter => "GET_PARAMETER",
            Method::SetParameter => "SET_PARAMETER",
            Method::Redirect => "REDIRECT",
            Method::PlayNotify => "PLAY_NOTIFY",
            Method::Extension(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol version such as `RTSP/1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Major number.
    pub major: u8,
    /// Minor number.
    pub minor: u8,
}

impl Version {
    /// `RTSP/1.0`, the version camlink sends.
    pub const RTSP_1_0: Version = Version { major: 1, minor: 0 };

    fn parse(s: &str) -> Option<Version> {
        let rest = s
            .strip_prefix("RTSP/")
            .or_else(|| s.strip_prefix("rtsp/"))?;
        let (maj, min) = rest.split_once('.').unwrap_or((rest, "0"));
        Some(Version {
            major: maj.parse().ok()?,
            minor: min.parse().ok()?,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RTSP/{}.{}", self.major, self.minor)
    }
}

/// An RTSP request. `Debug` hides URL user-info and `Authorization` values.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The request URL as sent (`*` for `OPTIONS *`).
    pub url: String,
    /// The protocol version.
    pub version: Version,
    /// The headers.
    pub headers: Headers,
    /// The body (empty if none), a slice of the read buffer.
    pub body: Bytes,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &crate::redact::redact_url_str(&self.url))
            .field("version", &self.version)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish()
    }
}

/// An RTSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The protocol version.
    pub version: Version,
    /// The status code.
    pub status: u16,
    /// The reason phrase (empty when the camera sent none, as in `RTSP/1.0 200`).
    pub reason: String,
    /// The headers.
    pub headers: Headers,
    /// The body (empty if none), a slice of the read buffer.
    pub body: Bytes,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request (from a client, or from a server: `GET_PARAMETER`, `ANNOUNCE`, ...).
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The headers of either kind.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The body of either kind.
    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    fn set_body(&mut self, body: Bytes) {
        match self {
            Message::Request(r) => r.body = body,
            Message::Response(r) => r.body = body,
        }
    }
}

impl Response {
    /// The `WWW-Authenticate` values, to hand to [`crate::auth::HttpAuth::on_unauthorized`].
    pub fn www_authenticate(&self) -> impl Iterator<Item = &str> {
        self.headers.get_all(names::WWW_AUTHENTICATE)
    }

    /// The base URL for the SDP's control URLs: `Content-Base`, else `Content-Location`
    /// (both resolved against `request_url`, so a value without a scheme works), else
    /// `request_url`. An unusable header is skipped (and logged).
    pub fn base_url(&self, request_url: &url::Url) -> url::Url {
        for name in [names::CONTENT_BASE, names::CONTENT_LOCATION] {
            if let Some(v) = self.headers.get(name) {
                match super::headers::resolve_base(v, request_url) {
                    Ok(u) => return u,
                    Err(e) => {
                        tracing::debug!(header = name, error = %e, "unusable base URL header")
                    }
                }
            }
        }
        request_url.clone()
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Parses one complete response (head and body) from `input`, as found in a capture file.
    ///
    /// The body is what follows the head, cut to `Content-Length` when one is given.
    pub fn parse(input: &[u8]) -> Result<Response> {
        match parse_complete(input)? {
            Message::Response(r) => Ok(r),
            Message::Request(_) => Err(Error::malformed(
                "expected a response, found a request",
                0,
                input,
            )),
        }
    }

    /// Starts a response (used by the mock camera).
    pub fn builder(status: u16) -> ResponseBuilder {
        ResponseBuilder::new(status)
    }

    /// Serializes to bytes (strict: `RTSP/1.0`, CRLF, canonical header names).
    pub fn write_to(&self, out: &mut BytesMut) {
        out.put_slice(format!("{} {} {}\r\n", self.version, self.status, self.reason).as_bytes());
        self.headers.write(out);
        out.put_slice(b"\r\n");
        out.put_slice(&self.body);
    }

    /// Serializes into a fresh buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(256 + self.body.len());
        self.write_to(&mut b);
        b.freeze()
    }
}

impl Request {
    /// Starts a request to `url` (client side, or server-initiated `GET_PARAMETER`).
    pub fn builder(method: Method, url: impl Into<String>) -> RequestBuilder {
        RequestBuilder::new(method, url.into())
    }

    /// Parses one complete request (head and body) from `input`.
    pub fn parse(input: &[u8]) -> Result<Request> {
        match parse_complete(input)? {
            Message::Request(r) => Ok(r),
            Message::Response(_) => Err(Error::malformed(
                "expected a request, found a response",
                0,
                input,
            )),
        }
    }

    /// Serializes to bytes (strict).
    pub fn write_to(&self, out: &mut BytesMut) {
        out.put_slice(format!("{} {} {}\r\n", self.method, self.url, self.version).as_bytes());
        self.headers.write(out);
        out.put_slice(b"\r\n");
        out.put_slice(&self.body);
    }

    /// Serializes into a fresh buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(256 + self.body.len());
        self.write_to(&mut b);
        b.freeze()
    }
}

/// The standard reason phrase for a status code (RFC 2326 §7.1.1), or `""`.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        250 => "Low on Storage Space",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        451 => "Parameter Not Understood",
        453 => "Not Enough Bandwidth",
        454 => "Session Not Found",
        455 => "Method Not Valid in This State",
        456 => "Header Field Not Valid for Resource",
        457 => "Invalid Range",
        459 => "Aggregate Operation Not Allowed",
        460 => "Only Aggregate Operation Allowed",
        461 => "Unsupported Transport",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "RTSP Version Not Supported",
        551 => "Option Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_without_reason() {
        let r = Response::parse(b"RTSP/1.0 200\r\nCSeq: 2\r\n\r\n").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.reason, "");
        assert_eq!(r.headers.cseq(), Some(2));
    }

    #[test]
    fn status_line_with_extra_blanks() {
        let r = Response::parse(b"RTSP/1.0  200\t OK \r\nCSeq:3\r\n\r\n").unwrap();
        assert_eq!(
            (r.status, r.reason.as_str(), r.headers.cseq()),
            (200, "OK", Some(3))
        );
        let r = Response::parse(b"RTSP/1.0 454 Session Not Found\r\n\r\n").unwrap();
        assert_eq!(r.reason, "Session Not Found");
    }

    #[test]
    fn lf_only_and_folded_and_padded_headers() {
        let r = Response::parse(b"RTSP/1.0 200 OK\nSession:\t\t 1234;timeout=60 \nX-A: a\n  b\n\n")
            .unwrap();
        assert_eq!(r.headers.get("session"), Some("1234;timeout=60"));
        assert_eq!(r.headers.get("x-a"), Some("a b"));
    }

    #[test]
    fn duplicates_kept_in_order() {
        let r = Response::parse(
            b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm=\"a\", nonce=\"b\"\r\nwww-authenticate: Basic realm=\"a\"\r\n\r\n",
        )
        .unwrap();
        let v: Vec<_> = r.www_authenticate().collect();
        assert_eq!(v, ["Digest realm=\"a\", nonce=\"b\"", "Basic realm=\"a\""]);
    }

    #[test]
    fn request_line_parsed() {
        let r = Request::parse(
            b"GET_PARAMETER rtsp://h/s RTSP/1.0\r\nCSeq: 9\r\nContent-Length: 4\r\n\r\nabcdXX",
        )
        .unwrap();
        assert_eq!(r.method, Method::GetParameter);
        assert_eq!(r.url, "rtsp://h/s");
        assert_eq!(&r.body[..], b"abcd");
    }

    #[test]
    fn bad_status_is_malformed_with_offset() {
        let e = parse_head(b"RTSP/1.0 2x0 OK", 17).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Malformed);
        assert_eq!(e.offset(), Some(17));
    }

    #[test]
    fn builder_is_strict_and_canonical() {
        let req = Request::builder(Method::Setup, "rtsp://h/s/trackID=1")
            .cseq(3)
            .header("transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
            .header("user-agent", "camlink")
            .header("rate-control", "no")
            .body("x")
            .build()
            .unwrap();
        assert_eq!(
            &req.to_bytes()[..],
            &b"SETUP rtsp://h/s/trackID=1 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nUser-Agent: camlink\r\nRate-Control: no\r\nContent-Length: 1\r\n\r\nx"[..]
        );
        let bad = Request::builder(Method::Play, "rtsp://h/")
            .header("Session", "1\r\nX: y")
            .build();
        assert_eq!(bad.unwrap_err().kind(), &ErrorKind::InvalidInput);
        let bad = Request::builder(Method::Play, "rtsp://h/ x").build();
        assert_eq!(bad.unwrap_err().kind(), &ErrorKind::InvalidInput);
    }

    #[test]
    fn response_builder_round_trips() {
        let resp = Response::builder(200)
            .cseq(4)
            .header("session", "12345678;timeout=60")
            .build()
            .unwrap();
        let bytes = resp.to_bytes();
        assert_eq!(
            &bytes[..],
            b"RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: 12345678;timeout=60\r\n\r\n"
        );
        assert_eq!(Response::parse(&bytes).unwrap(), resp);
    }

    #[test]
    fn typed_setters_and_debug_without_secrets() {
        use crate::rtsp::headers::{Range, Transport};
        let req = Request::builder(Method::Setup, "rtsp://admin:hunter2@192.0.2.1/s")
            .cseq(3)
            .transport(&[Transport::tcp_interleaved(0), Transport::udp_unicast(5000)])
            .session("12345678")
            .range(&Range::parse("npt=0-").unwrap())
            .user_agent("camlink")
            .authorization("Digest username=\"admin\", response=\"0123abcd\"");
        let shown = format!("{req:?}");
        assert!(!shown.contains("0123abcd"), "{shown}");
        let req = req.build().unwrap();
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("0123abcd") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert_eq!(
            req.headers.get("transport"),
            Some("RTP/AVP/TCP;unicast;interleaved=0-1,RTP/AVP;unicast;client_port=5000-5001")
        );
        assert_eq!(req.headers.get("Range"), Some("npt=0.000-"));
        let wire = req.to_bytes();
        assert!(wire.windows(9).any(|w| w == b"Session: "));
        assert!(wire.windows(12).any(|w| w == b"User-Agent: "));
    }

    #[test]
    fn base_url_order() {
        let req = url::Url::parse("rtsp://192.0.2.1/live").unwrap();
        let r =
            Response::parse(b"RTSP/1.0 200 OK\r\nContent-Location: /live/main/\r\n\r\n").unwrap();
        assert_eq!(r.base_url(&req).as_str(), "rtsp://192.0.2.1/live/main/");
        let r = Response::parse(
            b"RTSP/1.0 200 OK\r\nContent-Location: /x/\r\nContent-Base: rtsp://192.0.2.2/b/\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.base_url(&req).as_str(), "rtsp://192.0.2.2/b/");
        let r = Response::parse(b"RTSP/1.0 200 OK\r\n\r\n").unwrap();
        assert_eq!(r.base_url(&req), req);
    }

    #[test]
    fn authorization_not_in_debug() {
        let mut h = Headers::new();
        h.append("Authorization", "Basic c2VjcmV0");
        assert!(!format!("{h:?}").contains("c2VjcmV0"));
    }
}
