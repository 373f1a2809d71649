//! Strict builders for requests and responses.

use bytes::Bytes;

use crate::rtsp::headers::{Range, Transport, format_transports};

use super::{Headers, Method, Request, Response, Version, canonical_name, names, reason_phrase};
use crate::{Error, Result};

fn check_token(what: &'static str, s: &str) -> Result<()> {
    if s.is_empty() || s.bytes().any(|b| b <= b' ' || b == 0x7f || b == b':') {
        return Err(Error::invalid_input(format!(
            "{what} is empty or has spaces or control characters"
        )));
    }
    Ok(())
}

fn check_value(s: &str) -> Result<()> {
    if s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::invalid_input("header value contains CR, LF or NUL"));
    }
    Ok(())
}

fn build_headers(list: Headers, body: &Bytes) -> Result<Headers> {
    let mut headers = Headers::new();
    for (n, v) in list.entries {
        check_token("header name", &n)?;
        check_value(&v)?;
        if n.eq_ignore_ascii_case(names::CONTENT_LENGTH) {
            continue;
        }
        headers.append(canonical_name(&n).to_owned(), v);
    }
    if !body.is_empty() {
        headers.append(names::CONTENT_LENGTH, body.len().to_string());
    }
    Ok(headers)
}

/// Builds a [`Request`] strictly: names and values are checked, `Content-Length` is set from
/// the body, known header names get their canonical spelling.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: Method,
    url: String,
    headers: Headers,
    body: Bytes,
}

impl RequestBuilder {
    pub(super) fn new(method: Method, url: String) -> Self {
        RequestBuilder {
            method,
            url,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Sets `Session` (the id only, as a client sends it).
    pub fn session(self, id: &str) -> Self {
        self.header(names::SESSION, id)
    }

    /// Sets `Transport` from one or several specs, most preferred first.
    pub fn transport(self, specs: &[Transport]) -> Self {
        self.header(names::TRANSPORT, format_transports(specs))
    }

    /// Sets `Range`.
    pub fn range(self, range: &Range) -> Self {
        self.header(names::RANGE, range.to_string())
    }

    /// Sets `User-Agent`.
    pub fn user_agent(self, agent: &str) -> Self {
        self.header(names::USER_AGENT, agent)
    }

    /// Sets `Authorization` (from [`crate::auth::HttpAuth::authorization`]; never shown by
    /// `Debug`).
    pub fn authorization(self, value: &str) -> Self {
        self.header(names::AUTHORIZATION, value)
    }

    /// Sets `CSeq` (first header, as cameras expect).
    pub fn cseq(mut self, cseq: u32) -> Self {
        self.headers
            .entries
            .insert(0, (names::CSEQ.to_owned(), cseq.to_string()));
        self
    }

    /// Appends a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the body (`Content-Length` follows).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Checks and builds.
    pub fn build(self) -> Result<Request> {
        check_token("method", self.method.as_str())?;
        if self.url.is_empty() || self.url.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(Error::invalid_input(
                "request URL is empty or has spaces or control characters",
            ));
        }
        let headers = build_headers(self.headers, &self.body)?;
        Ok(Request {
            method: self.method,
            url: self.url,
            version: Version::RTSP_1_0,
            headers,
            body: self.body,
        })
    }
}

/// Builds a [`Response`] strictly (see [`RequestBuilder`]).
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    status: u16,
    reason: Option<String>,
    headers: Headers,
    body: Bytes,
}

impl ResponseBuilder {
    pub(super) fn new(status: u16) -> Self {
        ResponseBuilder {
            status,
            reason: None,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Sets `CSeq` (first header).
    pub fn cseq(mut self, cseq: u32) -> Self {
        self.headers
            .entries
            .insert(0, (names::CSEQ.to_owned(), cseq.to_string()));
        self
    }

    /// Sets the reason phrase (default: the standard one for the status).
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Appends a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the body (`Content-Length` follows).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Checks and builds.
    pub fn build(self) -> Result<Response> {
        if !(100..=999).contains(&self.status) {
            return Err(Error::invalid_input("status code must have three digits"));
        }
        let reason = self
            .reason
            .unwrap_or_else(|| reason_phrase(self.status).to_owned());
        check_value(&reason)?;
        let headers = build_headers(self.headers, &self.body)?;
        Ok(Response {
            version: Version::RTSP_1_0,
            status: self.status,
            reason,
            headers,
            body: self.body,
        })
    }
}
