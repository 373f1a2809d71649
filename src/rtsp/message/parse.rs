//! The lenient parser of message heads: the one file to swap for another parser.

use bytes::Bytes;

use super::{Headers, MAX_HEADERS, Message, Method, Request, Response, Version};
use crate::{Error, ErrorKind, Result};

/// Splits `input` into lines at LF, dropping a CR before the LF (LF-only endings allowed).
fn lines(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    input
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// Splits off the first blank-separated token; the rest has its leading blanks removed.
fn split_token(s: &str) -> (&str, &str) {
    match s.split_once([' ', '\t']) {
        Some((token, rest)) => (token, trim_blanks(rest)),
        None => (s, ""),
    }
}

fn trim_blanks(s: &str) -> &str {
    s.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r')
}

/// Parses a message head (start line and header lines, without the blank line that ends it).
///
/// Lenient: LF-only endings, a status line without a reason phrase, blanks and tabs around
/// values, folded continuation lines, header lines without a colon (skipped). `offset` is the
/// head's position in the stream, for error context. The body is left empty.
pub fn parse_head(head: &[u8], offset: u64) -> Result<Message> {
    let mut it = lines(head);
    let start = it.next().unwrap_or_default();
    let bad = |msg: &'static str| {
        Error::new(ErrorKind::Malformed, msg)
            .with_offset(offset)
            .with_excerpt(head)
    };
    let start = String::from_utf8_lossy(start);
    let start = trim_blanks(&start);
    let mut msg = if start.starts_with("RTSP/") || start.starts_with("rtsp/") {
        let (version, rest) = split_token(start);
        let version = Version::parse(version).ok_or_else(|| bad("bad RTSP version"))?;
        let (status, reason) = split_token(rest);
        if status.len() != 3 || !status.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("bad status code"));
        }
        let status: u16 = status.parse().map_err(|_| bad("bad status code"))?;
        let reason = reason.to_owned();
        Message::Response(Response {
            version,
            status,
            reason,
            headers: Headers::new(),
            body: Bytes::new(),
        })
    } else {
        let mut parts = start.split([' ', '\t']).filter(|p| !p.is_empty());
        let method = parts.next().ok_or_else(|| bad("empty request line"))?;
        let url = parts
            .next()
            .ok_or_else(|| bad("request line without URL"))?;
        let version = parts
            .next()
            .and_then(Version::parse)
            .ok_or_else(|| bad("bad request line"))?;
        if parts.next().is_some() {
            return Err(bad("bad request line"));
        }
        Message::Request(Request {
            method: Method::from_token(method),
            url: url.to_owned(),
            version,
            headers: Headers::new(),
            body: Bytes::new(),
        })
    };
    let headers = match &mut msg {
        Message::Request(r) => &mut r.headers,
        Message::Response(r) => &mut r.headers,
    };
    for line in it {
        if line.is_empty() {
            continue;
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with([' ', '\t']) {
            // Obsolete line folding: continues the previous value.
            if let Some((_, v)) = headers.entries.last_mut() {
                let more = trim_blanks(&line);
                if !more.is_empty() {
                    v.push(' ');
                    v.push_str(more);
                }
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            tracing::debug!(line = %line, "RTSP header line without a colon skipped");
            continue;
        };
        let name = trim_blanks(name);
        if name.is_empty() {
            continue;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(
                Error::limit("number of RTSP header lines", MAX_HEADERS).with_offset(offset)
            );
        }
        headers.append(name, trim_blanks(value));
    }
    Ok(msg)
}

/// Parses a whole message (head, blank line, body) from a complete buffer.
pub(super) fn parse_complete(input: &[u8]) -> Result<Message> {
    let Some((head_len, body_start)) = find_head_end(input, input.len()) else {
        // Tolerate a capture that ends without the blank line.
        return parse_head(input, 0);
    };
    let mut msg = parse_head(input.get(..head_len).unwrap_or_default(), 0)?;
    let rest = input.get(body_start..).unwrap_or_default();
    let body = match msg.headers().content_length()? {
        Some(n) => rest.get(..n).ok_or_else(|| {
            Error::malformed("body shorter than Content-Length", body_start, input)
        })?,
        None => rest,
    };
    msg.set_body(Bytes::copy_from_slice(body));
    Ok(msg)
}

/// Finds the blank line that ends a head in the first `window` bytes of `buf`.
///
/// Returns `(head_len, body_start)`: the head without its final line break, and where the body
/// starts. Accepts `\r\n\r\n`, `\n\n` and mixes (`\n\r\n`).
pub(crate) fn find_head_end(buf: &[u8], window: usize) -> Option<(usize, usize)> {
    find_head_end_from(buf, window, 0)
}

/// As [`find_head_end`], starting the search at `from` (bytes before were already searched).
pub(crate) fn find_head_end_from(buf: &[u8], window: usize, from: usize) -> Option<(usize, usize)> {
    let end = buf.len().min(window);
    let hay = buf.get(..end)?;
    let mut i = from;
    while i < end {
        // A line feed followed by an (optionally CR-prefixed) line feed.
        let nl = hay.get(i..)?.iter().position(|&b| b == b'\n')?;
        let at = i.checked_add(nl)?;
        match hay.get(at + 1..) {
            Some([b'\n', ..]) => return Some((at, at + 2)),
            Some([b'\r', b'\n', ..]) => return Some((at, at + 3)),
            _ => {}
        }
        i = at + 1;
    }
    None
}
