//! ONVIF: SOAP over HTTP(S) to control cameras.
//!
//! The pure core ([`xml`], [`soap`], and one module per service with typed request builders and
//! response parsers) owns no socket; [`client::OnvifClient`] is the async IO shell on top.
//!
//! ```
//! use camlink::onvif::{device, soap};
//!
//! // Build a request (pure): the action URI goes into Content-Type, the body into the envelope.
//! let call = device::get_device_information();
//! assert_eq!(call.action, "http://www.onvif.org/ver10/device/wsdl/GetDeviceInformation");
//! let envelope = soap::build_request(&call.body, None, None);
//! assert!(envelope.contains("GetDeviceInformation"));
//!
//! // Parse a camera's answer (pure), whatever prefixes it uses.
//! let answer = br#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"
//!     xmlns:d="http://www.onvif.org/ver10/device/wsdl"><e:Body><d:GetDeviceInformationResponse>
//!     <d:Manufacturer>AXIS</d:Manufacturer><d:Model>M2025-LE</d:Model>
//!     <d:FirmwareVersion>9.80.3.13</d:FirmwareVersion><d:SerialNumber>B8A44F26437D</d:SerialNumber>
//!     <d:HardwareId>727</d:HardwareId></d:GetDeviceInformationResponse></e:Body></e:Envelope>"#;
//! let body = soap::parse_http_response(200, answer)?;
//! let info = device::parse_device_information(&body)?;
//! assert_eq!((info.manufacturer.as_str(), info.model.as_str()), ("AXIS", "M2025-LE"));
//! # Ok::<(), camlink::Error>(())
//! ```

pub mod client;
pub mod device;
pub mod event_stream;
pub mod events;
mod http;
pub mod imaging;
pub mod media;
pub mod media2;
pub mod policy;
pub mod ptz;
pub mod soap;
pub mod tls;
pub mod xml;

use crate::onvif::xml::Element;
use crate::{Error, ErrorKind, Result};

/// A request ready to send: the SOAP action URI and the body element (namespaces declared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The action URI (for `Content-Type: ...; action="..."`).
    pub action: String,
    /// The operation element, to go inside `Body`.
    pub body: String,
    /// Whether sending it twice is harmless (Get* operations); the client retries only these.
    pub idempotent: bool,
    /// Whether the request needs WS-Addressing headers (`Action`, `To`, reference parameters):
    /// the event service's subscription operations.
    pub addressing: bool,
}

impl Call {
    pub(crate) fn new(service_ns: &str, op: &str, inner: &str) -> Call {
        let body = if inner.is_empty() {
            format!(r#"<{op} xmlns="{service_ns}"/>"#)
        } else {
            format!(
                r#"<{op} xmlns="{service_ns}" xmlns:tt="{tt}">{inner}</{op}>"#,
                tt = soap::ns::TT
            )
        };
        Call {
            action: format!("{service_ns}/{op}"),
            body,
            idempotent: op.starts_with("Get"),
            addressing: false,
        }
    }
}

/// A malformed-response error pointing at an element.
pub(crate) fn bad(el: &Element, msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Malformed, msg.into()).with_offset(el.offset as u64)
}

/// Checks that `el` is the expected response element.
pub(crate) fn expect<'a>(el: &'a Element, ns: &str, name: &str) -> Result<&'a Element> {
    if el.name == name {
        if el.ns.as_deref().is_some_and(|n| n != ns) {
            tracing::debug!(got = ?el.ns, want = ns, "response element in an unexpected namespace");
        }
        Ok(el)
    } else {
        Err(bad(
            el,
            format!("expected <{name}> in the SOAP Body, got <{}>", el.name),
        ))
    }
}

/// The trimmed, non-empty text of a required child.
pub(crate) fn required(el: &Element, ns: &str, name: &str) -> Result<String> {
    el.child_text(ns, name)
        .map(str::to_string)
        .ok_or_else(|| bad(el, format!("<{}> lacks <{name}>", el.name)))
}

/// The trimmed text of an optional child (empty string when absent).
pub(crate) fn text_or_empty(el: &Element, ns: &str, name: &str) -> String {
    el.child_text(ns, name).unwrap_or_default().to_string()
}

/// Lenient `xs:boolean` (`true`/`false`/`1`/`0`, any case, surrounding spaces).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A boolean child, defaulting to `false` when absent or unreadable.
pub(crate) fn child_bool(el: &Element, ns: &str, name: &str) -> bool {
    el.child_text(ns, name)
        .and_then(parse_bool)
        .unwrap_or(false)
}

/// A numeric child.
pub(crate) fn child_num<T: std::str::FromStr>(el: &Element, ns: &str, name: &str) -> Option<T> {
    el.child_text(ns, name).and_then(|t| t.trim().parse().ok())
}

/// A float child (accepts `1e-3`, `.5`).
pub(crate) fn child_f64(el: &Element, ns: &str, name: &str) -> Option<f64> {
    child_num::<f64>(el, ns, name).filter(|v| v.is_finite())
}

/// Checks that a URI has one of the schemes and a host (doubled ports such as `:8106:8106`,
/// which `url` rejects, are tolerated: the client repairs them).
pub(crate) fn check_uri(el: &Element, uri: &str, schemes: &[&str]) -> Result<()> {
    let lower = uri.to_ascii_lowercase();
    let Some((scheme, rest)) = lower.split_once("://") else {
        return Err(bad(el, format!("not an absolute URI: {uri:?}")));
    };
    if !schemes.contains(&scheme) {
        return Err(bad(el, format!("unexpected URI scheme in {uri:?}")));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(bad(el, format!("URI without host: {uri:?}")));
    }
    Ok(())
}

/// A token attribute (`token="..."`), required non-empty.
pub(crate) fn token_attr(el: &Element) -> Result<String> {
    el.attr("token")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| bad(el, format!("<{}> without token", el.name)))
}
