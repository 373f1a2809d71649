//! The HTTP side of the ONVIF client: reading bounded answers and mapping transport errors.

use crate::{Error, ErrorKind, Result};

/// Finds a rustls error in a chain, looking inside `io::Error` wrappers (whose `source()` skips
/// the wrapped error itself).
fn find_rustls<'a>(
    e: &'a (dyn std::error::Error + 'static),
    depth: u32,
) -> Option<&'a rustls::Error> {
    if depth > 16 {
        return None;
    }
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>()
        && let Some(inner) = io.get_ref()
        && let Some(r) = find_rustls(inner, depth + 1)
    {
        return Some(r);
    }
    e.source().and_then(|s| find_rustls(s, depth + 1))
}

pub(crate) fn map_reqwest(e: reqwest::Error) -> Error {
    let tls_cert = matches!(
        find_rustls(&e, 0),
        Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
    );
    let kind = if tls_cert {
        ErrorKind::TlsCertificate
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Unreachable
    } else {
        ErrorKind::Io
    };
    let msg = match kind {
        ErrorKind::TlsCertificate => "the camera's TLS certificate was rejected",
        ErrorKind::Timeout => "the camera did not answer in time",
        ErrorKind::Unreachable => "cannot connect to the camera",
        _ => "HTTP exchange with the camera failed",
    };
    Error::new(kind, msg).with_source(e)
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) www_authenticate: Vec<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// Reads an answer, refusing bodies larger than `cap`.
pub(crate) async fn read_answer(
    mut resp: reqwest::Response,
    cap: usize,
    what: &'static str,
) -> Result<Answer> {
    let status = resp.status().as_u16();
    let www_authenticate = resp
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if resp
        .content_length()
        .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
    {
        return Err(Error::limit(what, cap));
    }
    // Reserve what the peer announced (already checked against the cap), and grow by doubling
    // but never past the cap: an endless body costs at most `cap` bytes before it is refused.
    let announced = resp
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let mut body = Vec::with_capacity(announced.min(cap));
    while let Some(chunk) = resp.chunk().await.map_err(map_reqwest)? {
        let need = body.len().saturating_add(chunk.len());
        if need > cap {
            return Err(Error::limit(what, cap));
        }
        if need > body.capacity() {
            let target = need.max(body.capacity().saturating_mul(2)).min(cap);
            body.reserve_exact(target - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        www_authenticate,
        content_type,
        body,
    })
}
