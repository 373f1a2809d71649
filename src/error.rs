//! The one error type of camlink.
//!
//! Every fallible call returns [`Error`]. Its [`kind`](Error::kind) lets a VMS tell apart, without
//! parsing strings, the cases a user has to act on differently: a wrong password
//! ([`ErrorKind::Unauthorized`]), a camera whose clock is off ([`ErrorKind::ClockSkew`]), a camera
//! that cannot be reached ([`ErrorKind::Unreachable`]) or does not answer in time
//! ([`ErrorKind::Timeout`]), a feature the camera lacks ([`ErrorKind::Unsupported`]) and a camera
//! bug ([`ErrorKind::Malformed`], [`ErrorKind::Protocol`]).
//!
//! Its `Display` carries what a bug report needs (peer, method, CSeq or SOAP action, byte offset
//! and a short excerpt of the offending bytes) and never a password: excerpts have their
//! `Authorization` values and URL user-info removed before they are stored.
//!
//! ```
//! use camlink::{Error, ErrorKind};
//!
//! let err = Error::new(ErrorKind::RtspStatus(454), "session not found")
//!     .with_peer("192.0.2.10:554")
//!     .with_method("PLAY")
//!     .with_cseq(4);
//! assert_eq!(err.kind(), &ErrorKind::RtspStatus(454));
//! assert_eq!(
//!     err.to_string(),
//!     "RTSP status 454: session not found (peer 192.0.2.10:554, PLAY, CSeq 4)"
//! );
//! ```

use std::borrow::Cow;
use std::fmt;

/// Result alias used throughout camlink.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as a caller needs to know it to decide what to do next.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The peer could not be reached: connection refused, no route, name did not resolve.
    Unreachable,
    /// Any other I/O failure, such as a connection reset or closed mid-exchange.
    Io,
    /// A network wait ran past its deadline.
    Timeout,
    /// The camera rejected the credentials (wrong user name or password, or none given).
    Unauthorized,
    /// The camera rejected a WS-Security token because its clock and ours disagree.
    ClockSkew,
    /// The peer sent bytes that cannot be parsed, even leniently.
    Malformed,
    /// The peer sent valid bytes but behaved against the protocol (wrong CSeq, missing Session, ...).
    Protocol,
    /// An RTSP response with a status that is not success (the code is given).
    RtspStatus(u16),
    /// An HTTP response that is neither success nor a SOAP fault (the code is given).
    HttpStatus(u16),
    /// The camera answered with a SOAP fault that is not about authentication or support.
    SoapFault {
        /// The fault code (`Sender`, `Receiver`, ...), local name only.
        code: String,
        /// The most specific subcode, local name only (`InvalidArgVal`, ...), if any.
        subcode: Option<String>,
        /// The human-readable reason the camera gave.
        reason: String,
    },
    /// The camera (or camlink) does not support what was asked.
    Unsupported,
    /// The caller passed something invalid (a bad URL, an empty host, ...).
    InvalidInput,
    /// The peer's TLS certificate was rejected (not trusted, or not the pinned one).
    TlsCertificate,
    /// A bound was exceeded: a header block, body, frame or document larger than camlink accepts.
    LimitExceeded,
}

impl ErrorKind {
    /// A short lower-case name for the kind, stable across releases (used by the CLI's output).
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Io => "io",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::ClockSkew => "clock_skew",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Protocol => "protocol",
            ErrorKind::RtspStatus(_) => "rtsp_status",
            ErrorKind::HttpStatus(_) => "http_status",
            ErrorKind::SoapFault { .. } => "soap_fault",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::TlsCertificate => "tls_certificate",
            ErrorKind::LimitExceeded => "limit_exceeded",
        }
    }

    /// Whether retrying the same operation later could succeed without the user changing anything
    /// (network trouble, timeouts, a camera rebooting).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ErrorKind::Unreachable | ErrorKind::Io | ErrorKind::Timeout
        ) || matches!(self, ErrorKind::RtspStatus(s) | ErrorKind::HttpStatus(s) if *s >= 500)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Unreachable => f.write_str("unreachable"),
            ErrorKind::Io => f.write_str("I/O error"),
            ErrorKind::Timeout => f.write_str("timeout"),
            ErrorKind::Unauthorized => f.write_str("unauthorized"),
            ErrorKind::ClockSkew => f.write_str("clock skew"),
            ErrorKind::Malformed => f.write_str("malformed input"),
            ErrorKind::Protocol => f.write_str("protocol violation"),
            ErrorKind::RtspStatus(code) => write!(f, "RTSP status {code}"),
            ErrorKind::HttpStatus(code) => write!(f, "HTTP status {code}"),
            ErrorKind::SoapFault {
                code,
                subcode,
                reason,
            } => {
                write!(f, "SOAP fault {code}")?;
                if let Some(sub) = subcode {
                    write!(f, "/{sub}")?;
                }
                if !reason.is_empty() {
                    write!(f, " ({reason})")?;
                }
                Ok(())
            }
            ErrorKind::Unsupported => f.write_str("unsupported"),
            ErrorKind::InvalidInput => f.write_str("invalid input"),
            ErrorKind::TlsCertificate => f.write_str("TLS certificate rejected"),
            ErrorKind::LimitExceeded => f.write_str("limit exceeded"),
        }
    }
}

/// Where an error happened: the facts a bug report needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Context {
    peer: Option<String>,
    method: Option<String>,
    cseq: Option<u32>,
    offset: Option<u64>,
    excerpt: Option<String>,
}

/// The error of every camlink operation: a [`kind`](Error::kind), a message and context.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    context: Context,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Longest excerpt kept, in bytes of input.
const EXCERPT_MAX: usize = 48;

impl Error {
    /// A new error of `kind` with a message. The message must not contain secrets.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                context: Context::default(),
                source: None,
            }),
        }
    }

    /// Shorthand for a [`ErrorKind::Malformed`] error at a byte offset of the input.
    pub fn malformed(message: impl Into<Cow<'static, str>>, offset: usize, input: &[u8]) -> Self {
        Error::new(ErrorKind::Malformed, message)
            .with_offset(offset as u64)
            .with_excerpt(input.get(offset..).unwrap_or_default())
    }

    /// Shorthand for an [`ErrorKind::InvalidInput`] error (a caller mistake).
    pub fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for an [`ErrorKind::LimitExceeded`] error naming the bound and its value.
    pub fn limit(what: &'static str, limit: usize) -> Self {
        Error::new(
            ErrorKind::LimitExceeded,
            format!("{what} exceeds the limit of {limit} bytes"),
        )
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The message, without context.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The peer address or URL (redacted) this error concerns, if known.
    pub fn peer(&self) -> Option<&str> {
        self.inner.context.peer.as_deref()
    }

    /// The RTSP method or SOAP action in progress, if known.
    pub fn method(&self) -> Option<&str> {
        self.inner.context.method.as_deref()
    }

    /// The RTSP CSeq of the request in progress, if known.
    pub fn cseq(&self) -> Option<u32> {
        self.inner.context.cseq
    }

    /// The byte offset into the peer's input where parsing failed, if known.
    pub fn offset(&self) -> Option<u64> {
        self.inner.context.offset
    }

    /// Sets the peer (address or URL; user-info in a URL is removed).
    pub fn with_peer(mut self, peer: impl AsRef<str>) -> Self {
        self.inner.context.peer = Some(crate::redact::redact_url_str(peer.as_ref()).into_owned());
        self
    }

    /// Sets the peer if none is set yet (for IO layers wrapping errors from the pure core).
    pub fn or_peer(self, peer: impl AsRef<str>) -> Self {
        if self.inner.context.peer.is_some() {
            self
        } else {
            self.with_peer(peer)
        }
    }

    /// Sets the RTSP method or SOAP action.
    pub fn with_method(mut self, method: impl Into<String>) -> Self {
        self.inner.context.method = Some(method.into());
        self
    }

    /// Sets the RTSP CSeq.
    pub fn with_cseq(mut self, cseq: u32) -> Self {
        self.inner.context.cseq = Some(cseq);
        self
    }

    /// Sets the byte offset in the peer's input.
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.inner.context.offset = Some(offset);
        self
    }

    /// Sets a short excerpt of the offending input (at most 48 bytes are kept; text is shown as
    /// text, binary as hex; credentials are removed).
    pub fn with_excerpt(mut self, bytes: &[u8]) -> Self {
        self.inner.context.excerpt = Some(excerpt(bytes));
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Maps an I/O error to the right kind (refused/unreachable, timeout, or I/O), with context.
    pub fn io(err: std::io::Error, what: impl Into<Cow<'static, str>>) -> Self {
        use std::io::ErrorKind as K;
        let kind = match err.kind() {
            K::ConnectionRefused
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::AddrNotAvailable
            | K::NotFound => ErrorKind::Unreachable,
            K::TimedOut | K::WouldBlock => ErrorKind::Timeout,
            _ => ErrorKind::Io,
        };
        Error::new(kind, what).with_source(err)
    }

    /// A timeout error for a named wait.
    pub fn timeout(what: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Timeout, what)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        let what = err.kind().to_string();
        Error::io(err, what)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        write!(f, "{}", inner.kind)?;
        if !inner.message.is_empty() {
            write!(f, ": {}", inner.message)?;
        }
        let c = &inner.context;
        let mut parts: Vec<String> = Vec::new();
        if let Some(p) = &c.peer {
            parts.push(format!("peer {p}"));
        }
        if let Some(m) = &c.method {
            parts.push(m.clone());
        }
        if let Some(s) = c.cseq {
            parts.push(format!("CSeq {s}"));
        }
        if let Some(o) = c.offset {
            parts.push(format!("at byte {o}"));
        }
        if let Some(e) = &c.excerpt {
            parts.push(format!("near {e}"));
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        if let Some(src) = &inner.source {
            let s = crate::redact::redact_url_str(&src.to_string()).into_owned();
            if !s.is_empty() && !inner.message.contains(s.as_str()) {
                write!(f, ": {s}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The same redacted facts as Display, in a struct shape; the source is shown through its
        // Display (redacted) so that a source carrying a URL cannot leak user-info.
        let inner = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &inner.kind)
            .field("message", &inner.message)
            .field("context", &inner.context);
        if let Some(src) = &inner.source {
            d.field(
                "source",
                &crate::redact::redact_url_str(&src.to_string()).into_owned(),
            );
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// Renders up to [`EXCERPT_MAX`] bytes: quoted text when printable, hex otherwise.
fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(EXCERPT_MAX)];
    let more = if bytes.len() > EXCERPT_MAX { "…" } else { "" };
    let printable = cut
        .iter()
        .all(|&b| b == b'\r' || b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b));
    if printable && !cut.is_empty() {
        let text = String::from_utf8_lossy(cut);
        let text = crate::redact::redact_text(&text);
        format!("{:?}{more}", text)
    } else {
        let mut s = String::with_capacity(cut.len() * 3);
        for (i, b) in cut.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&format!("{b:02x}"));
        }
        format!("[{s}{more}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_context() {
        let e = Error::malformed("bad status line", 9, b"RTSP/1.0 abc OK\r\n");
        let s = e.to_string();
        assert_eq!(
            s,
            "malformed input: bad status line (at byte 9, near \"abc OK\\r\\n\")"
        );
        assert_eq!(e.kind(), &ErrorKind::Malformed);
        assert_eq!(e.offset(), Some(9));
    }

    #[test]
    fn binary_excerpt_is_hex_and_bounded() {
        let data = vec![0x80u8; 100];
        let e = Error::malformed("bad rtp", 0, &data);
        let s = e.to_string();
        assert!(s.contains("[80 80 80"), "{s}");
        assert!(s.contains('…'), "{s}");
        assert_eq!(s.matches("80").count(), EXCERPT_MAX);
    }

    #[test]
    fn excerpt_never_shows_authorization() {
        let req = b"DESCRIBE rtsp://cam/ RTSP/1.0\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\n";
        let e = Error::malformed("x", 0, req);
        assert!(!e.to_string().contains("YWRtaW46c2VjcmV0"), "{e}");
        let e = Error::malformed("x", 31, req);
        assert!(!e.to_string().contains("YWRtaW4"), "{e}");
    }

    #[test]
    fn peer_url_userinfo_is_removed() {
        let e = Error::new(ErrorKind::Timeout, "DESCRIBE")
            .with_peer("rtsp://admin:hunter2@192.0.2.1:554/stream");
        let s = e.to_string();
        assert!(!s.contains("hunter2"), "{s}");
        assert!(!format!("{e:?}").contains("hunter2"));
        assert!(s.contains("192.0.2.1:554/stream"), "{s}");
    }

    #[test]
    fn io_errors_map_to_kinds() {
        use std::io;
        let refused = Error::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(refused.kind(), &ErrorKind::Unreachable);
        let timed = Error::from(io::Error::from(io::ErrorKind::TimedOut));
        assert_eq!(timed.kind(), &ErrorKind::Timeout);
        let reset = Error::from(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(reset.kind(), &ErrorKind::Io);
        assert!(reset.kind().is_transient());
        assert!(!ErrorKind::Unauthorized.is_transient());
    }

    #[test]
    fn soap_fault_display() {
        let k = ErrorKind::SoapFault {
            code: "Sender".into(),
            subcode: Some("InvalidArgVal".into()),
            reason: "no such profile".into(),
        };
        assert_eq!(
            k.to_string(),
            "SOAP fault Sender/InvalidArgVal (no such profile)"
        );
        assert_eq!(k.name(), "soap_fault");
    }
}
