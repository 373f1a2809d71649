//! The bytes of the port probe (pure): its requests, lenient response heads, de-chunking, and
//! recognising an ONVIF SOAP answer by namespace.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::MAX_RESPONSE;
use crate::discovery::ws_discovery::ns;

/// Most header lines looked at in one answer.
const MAX_HEADERS: usize = 64;

/// The unauthenticated ONVIF request used to recognise a device service.
const GET_SYSTEM_DATE_AND_TIME: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">"#,
    r#"<s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body>"#,
    r#"</s:Envelope>"#
);

pub(super) fn onvif_request(host: &str, port: u16, path: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\
         Content-Type: application/soap+xml; charset=utf-8; action=\"http://www.onvif.org/ver10/device/wsdl/GetSystemDateAndTime\"\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{GET_SYSTEM_DATE_AND_TIME}",
        GET_SYSTEM_DATE_AND_TIME.len()
    )
}

/// Whether `buf` holds a whole answer (head, and the body its Content-Length announces).
pub(super) fn response_complete(buf: &[u8]) -> bool {
    let Some(head) = Head::parse(buf) else {
        return false;
    };
    if head.chunked() {
        return buf.ends_with(b"0\r\n\r\n");
    }
    match head.content_length() {
        Some(len) => buf.len().saturating_sub(head.len) >= len,
        // RTSP without Content-Length has no body; HTTP without it reads to the end.
        None => head.protocol == Proto::Rtsp,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Proto {
    Rtsp,
    Http,
}

/// A leniently parsed response head.
#[derive(Debug)]
pub(super) struct Head {
    pub(super) protocol: Proto,
    #[allow(dead_code)]
    status: u16,
    headers: Vec<(String, String)>,
    /// Length of the head including the blank line.
    pub(super) len: usize,
}

impl Head {
    /// Parses a response head; `None` when the bytes are not (yet) an RTSP or HTTP answer.
    pub(super) fn parse(buf: &[u8]) -> Option<Head> {
        let end = find(buf, b"\r\n\r\n")
            .map(|i| i + 4)
            .or_else(|| find(buf, b"\n\n").map(|i| i + 2))?;
        let text = String::from_utf8_lossy(buf.get(..end)?);
        let mut lines = text.lines();
        let status_line = lines.next()?.trim();
        let (proto, rest) = status_line.split_once('/')?;
        let protocol = match proto {
            p if p.eq_ignore_ascii_case("RTSP") => Proto::Rtsp,
            p if p.eq_ignore_ascii_case("HTTP") => Proto::Http,
            _ => return None,
        };
        let status = rest
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .take(MAX_HEADERS)
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Some(Head {
            protocol,
            status,
            headers,
            len: end,
        })
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).next()
    }

    pub(super) fn headers_named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(move |(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn content_length(&self) -> Option<usize> {
        self.header("content-length")?.parse().ok()
    }

    pub(super) fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    /// The body that follows this head in `buf`, de-chunked when needed.
    pub(super) fn body<'a>(&self, buf: &'a [u8]) -> Cow<'a, [u8]> {
        let body = buf.get(self.len..).unwrap_or_default();
        if !self.chunked() {
            return Cow::Borrowed(body);
        }
        let mut out = Vec::new();
        let mut rest = body;
        while let Some(i) = find(rest, b"\r\n") {
            let size_text = String::from_utf8_lossy(rest.get(..i).unwrap_or_default());
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let Ok(size) = usize::from_str_radix(size_text, 16) else {
                break;
            };
            if size == 0 {
                break;
            }
            let start = i + 2;
            let Some(chunk) = start.checked_add(size).and_then(|end| rest.get(start..end)) else {
                out.extend_from_slice(rest.get(start..).unwrap_or_default());
                break;
            };
            out.extend_from_slice(chunk);
            rest = rest.get(start + size + 2..).unwrap_or_default();
        }
        Cow::Owned(out)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether `body` is a SOAP envelope holding a `GetSystemDateAndTimeResponse` or a SOAP Fault
/// (an ONVIF device service that wants authentication answers with a fault).
pub(super) fn is_onvif_answer(body: &[u8]) -> bool {
    let text =
        String::from_utf8_lossy(body.get(..body.len().min(MAX_RESPONSE)).unwrap_or_default());
    let mut reader = NsReader::from_str(text.trim_start_matches('\u{feff}'));
    reader.config_mut().check_end_names = false;
    let mut envelope = false;
    loop {
        let Ok((res, event)) = reader.read_resolved_event() else {
            return false;
        };
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let soap = matches!(&res, ResolveResult::Bound(n) if n.0 == ns::SOAP12 || n.0 == ns::SOAP11);
                let local = e.local_name().into_inner();
                if soap && local == "Envelope" {
                    envelope = true;
                } else if envelope
                    && ((soap && local == "Fault") || local == "GetSystemDateAndTimeResponse")
                {
                    return true;
                }
            }
            Event::Eof => return false,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_read_leniently() {
        let h =
            Head::parse(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer:  Hikvision/1.0 \r\n\r\n").unwrap();
        assert_eq!(h.protocol, Proto::Rtsp);
        assert_eq!(h.header("server"), Some("Hikvision/1.0"));
        let h = Head::parse(b"HTTP/1.1 401\nWWW-Authenticate: Basic realm=\"x\"\nwww-authenticate: Digest realm=\"x\"\n\n").unwrap();
        assert_eq!(h.protocol, Proto::Http);
        assert_eq!(h.status, 401);
        assert_eq!(h.headers_named("www-authenticate").count(), 2);
        assert!(Head::parse(b"SSH-2.0-OpenSSH\r\n\r\n").is_none());
        assert!(Head::parse(b"RTSP/1.0 200 OK\r\n").is_none(), "incomplete");
    }

    #[test]
    fn completeness_follows_content_length_and_chunks() {
        assert!(response_complete(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"));
        assert!(!response_complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc"
        ));
        assert!(response_complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
        ));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert!(response_complete(chunked));
        let h = Head::parse(chunked).unwrap();
        assert_eq!(h.body(chunked).as_ref(), b"abcde");
    }

    #[test]
    fn onvif_answers_are_recognised_by_namespace() {
        let ok = r#"<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><env:Body><tds:GetSystemDateAndTimeResponse/></env:Body></env:Envelope>"#;
        assert!(is_onvif_answer(ok.as_bytes()));
        let fault = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode></s:Fault></s:Body></s:Envelope>"#;
        assert!(is_onvif_answer(fault.as_bytes()));
        assert!(!is_onvif_answer(
            b"<html><body>Fault GetSystemDateAndTimeResponse</body></html>"
        ));
        let wrong_ns =
            r#"<s:Envelope xmlns:s="urn:not-soap"><s:Body><s:Fault/></s:Body></s:Envelope>"#;
        assert!(!is_onvif_answer(wrong_ns.as_bytes()));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_answers_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..1024)) {
            if let Some(h) = Head::parse(&data) {
                let _ = h.body(&data);
            }
            let _ = response_complete(&data);
            let _ = is_onvif_answer(&data);
        }
    }
}
