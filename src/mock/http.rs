//! A small HTTP/1.1 server side for the mock camera: a bounded request parser (pure) and the
//! connection loop that feeds it (IO).
//!
//! Only what cameras serve is supported: requests with `Content-Length` bodies (or none),
//! keep-alive, and responses with a known length. Anything else gets a clear 4xx and the
//! connection is closed.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf as _, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::error::{Error, ErrorKind, Result};

/// Longest request head (request line and headers) the mock reads.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Largest request body the mock reads.
pub const MAX_REQUEST_BODY: usize = 1024 * 1024;
/// Most headers in one request.
pub const MAX_REQUEST_HEADERS: usize = 64;
/// How long an idle keep-alive connection is kept open.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// One parsed HTTP request.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Method, e.g. `POST`.
    pub method: String,
    /// Request target (path and query).
    pub target: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
    /// Whether the client asked to keep the connection open (HTTP/1.1 default).
    pub keep_alive: bool,
}

impl HttpRequest {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path part of the target, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// Parses one request from the front of `buf`. `Ok(None)`: more bytes needed. On success the
/// request's bytes are removed from `buf`.
pub fn parse_request(buf: &mut BytesMut) -> Result<Option<HttpRequest>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_REQUEST_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = req
        .parse(buf)
        .map_err(|e| Error::malformed(format!("bad HTTP request head: {e}"), 0, buf))?;
    let head_len = match status {
        httparse::Status::Partial => {
            if buf.len() > MAX_REQUEST_HEAD {
                return Err(Error::limit("HTTP request head", MAX_REQUEST_HEAD));
            }
            return Ok(None);
        }
        httparse::Status::Complete(n) => n,
    };
    if head_len > MAX_REQUEST_HEAD {
        return Err(Error::limit("HTTP request head", MAX_REQUEST_HEAD));
    }
    let method = req.method.unwrap_or("").to_string();
    let target = req.path.unwrap_or("/").to_string();
    let http10 = req.version == Some(0);
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).trim().to_string(),
            )
        })
        .collect();
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    if find("Transfer-Encoding").is_some_and(|v| !v.eq_ignore_ascii_case("identity")) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "chunked request bodies are not supported by the mock camera",
        ));
    }
    let body_len = match find("Content-Length") {
        None => 0,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| Error::new(ErrorKind::Malformed, format!("bad Content-Length {v:?}")))?,
    };
    if body_len > MAX_REQUEST_BODY {
        return Err(Error::limit("HTTP request body", MAX_REQUEST_BODY));
    }
    let total = head_len
        .checked_add(body_len)
        .ok_or_else(|| Error::limit("HTTP request", MAX_REQUEST_BODY))?;
    if buf.len() < total {
        return Ok(None);
    }
    let connection = find("Connection").map(str::to_ascii_lowercase);
    let keep_alive = match connection.as_deref() {
        Some(c) if c.contains("close") => false,
        Some(c) if c.contains("keep-alive") => true,
        _ => !http10,
    };
    buf.advance(head_len);
    let body = buf.split_to(body_len).freeze();
    Ok(Some(HttpRequest {
        method,
        target,
        headers,
        body,
        keep_alive,
    }))
}

/// An HTTP response to send.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers (Content-Length is added when writing).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

impl HttpResponse {
    /// A response with a status, a content type and a body.
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        HttpResponse {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// An empty response with a status.
    pub fn empty(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Serializes status line, headers (plus Content-Length, Server, Connection) and body.
    pub fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(
            format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).as_bytes(),
        );
        for (k, v) in &self.headers {
            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "Server: camlink-mock\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
                self.body.len(),
                if keep_alive { "keep-alive" } else { "close" }
            )
            .as_bytes(),
        );
        out.extend_from_slice(&self.body);
        out
    }
}

/// The reason phrase for the status codes the mock uses.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// What the connection loop should do with a request.
pub enum Reply {
    /// Send this response.
    Send(HttpResponse),
    /// Close the connection without answering.
    Drop,
    /// Keep the connection open and never answer (until the peer or shutdown closes it).
    Stall,
}

/// Serves HTTP/1.1 requests on one connection until it closes, it idles out, or `shutdown`
/// fires. `handle` answers each request.
pub async fn serve_connection<S, F, Fut>(
    mut stream: S,
    peer: SocketAddr,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    handle: F,
) where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn(HttpRequest, SocketAddr) -> Fut,
    Fut: Future<Output = Reply>,
{
    let mut buf = BytesMut::with_capacity(8 * 1024);
    loop {
        let request = match parse_request(&mut buf) {
            Ok(Some(r)) => r,
            Ok(None) => {
                let read = tokio::select! {
                    r = tokio::time::timeout(IDLE_TIMEOUT, stream.read_buf(&mut buf)) => r,
                    _ = shutdown.changed() => return,
                };
                match read {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
                    Ok(Ok(_)) => continue,
                }
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "mock http: bad request");
                let status = match e.kind() {
                    ErrorKind::LimitExceeded => 413,
                    ErrorKind::Unsupported => 501,
                    _ => 400,
                };
                let resp = HttpResponse::new(status, "text/plain", e.to_string());
                let _ = stream.write_all(&resp.to_bytes(false)).await;
                return;
            }
        };
        let keep_alive = request.keep_alive;
        let reply = tokio::select! {
            r = handle(request, peer) => r,
            _ = shutdown.changed() => return,
        };
        match reply {
            Reply::Send(resp) => {
                if stream.write_all(&resp.to_bytes(keep_alive)).await.is_err() {
                    return;
                }
                if !keep_alive {
                    let _ = stream.shutdown().await;
                    return;
                }
            }
            Reply::Drop => return,
            Reply::Stall => {
                // Never answer, but notice the peer closing: a stalled camera must not keep
                // every connection a retrying client gave up on.
                let mut scratch = [0u8; 1024];
                loop {
                    tokio::select! {
                        r = stream.read(&mut scratch) => match r {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        },
                        _ = shutdown.changed() => return,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_pipelined_requests_in_pieces() {
        let raw = b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /snap.jpg HTTP/1.0\r\n\r\n";
        for split in 0..raw.len() {
            let mut buf = BytesMut::new();
            buf.extend_from_slice(&raw[..split]);
            let mut got = Vec::new();
            while let Some(r) = parse_request(&mut buf).unwrap() {
                got.push(r);
            }
            buf.extend_from_slice(&raw[split..]);
            while let Some(r) = parse_request(&mut buf).unwrap() {
                got.push(r);
            }
            assert_eq!(got.len(), 2, "split {split}");
            assert_eq!(got[0].method, "POST");
            assert_eq!(&got[0].body[..], b"hello");
            assert!(got[0].keep_alive);
            assert_eq!(got[1].path(), "/snap.jpg");
            assert!(!got[1].keep_alive);
        }
    }

    #[test]
    fn bounds() {
        let mut buf = BytesMut::from(&b"POST / HTTP/1.1\r\nContent-Length: 4294967296\r\n\r\n"[..]);
        assert_eq!(
            parse_request(&mut buf).unwrap_err().kind(),
            &ErrorKind::LimitExceeded
        );
        let mut huge = BytesMut::from(&b"GET / HTTP/1.1\r\nX: "[..]);
        huge.extend_from_slice(&vec![b'a'; MAX_REQUEST_HEAD + 1]);
        assert_eq!(
            parse_request(&mut huge).unwrap_err().kind(),
            &ErrorKind::LimitExceeded
        );
        let mut chunked =
            BytesMut::from(&b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"[..]);
        assert_eq!(
            parse_request(&mut chunked).unwrap_err().kind(),
            &ErrorKind::Unsupported
        );
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut buf = BytesMut::from(&data[..]);
            let _ = parse_request(&mut buf);
        }
    }
}
