//! The mock camera's ONVIF side: routing of SOAP requests to the device, media, media2, PTZ,
//! events and imaging services, authentication (WS-UsernameToken with skew window and nonce
//! replay check, HTTP Digest/Basic), fixture replay and SOAP faults.
//!
//! Requests are parsed and answers built with the same pure SOAP core the client uses
//! ([`crate::onvif::soap`]).

use std::net::SocketAddr;
use std::sync::Arc;

use super::camera::{Shared, lock, unauthorized};
use super::faults::Fault;
use super::http::{HttpRequest, HttpResponse, Reply};
use crate::auth::server::Rejection;
use crate::onvif::soap::{self, ns};
use crate::onvif::xml::Element;
use crate::xmlutil::escape;

/// The content type of every SOAP answer.
pub(crate) const SOAP_CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

/// A handler's answer: the body element (namespaces declared on it) or a fault.
pub(crate) enum Answer {
    /// The response element, to go inside `Body`.
    Body(String),
    /// A SOAP fault.
    Fault(FaultSpec),
}

/// A SOAP fault to send.
pub(crate) struct FaultSpec {
    /// HTTP status (400 for Sender faults, 500 for Receiver faults, as ONVIF asks).
    pub(crate) status: u16,
    /// `Sender` or `Receiver`.
    pub(crate) code: &'static str,
    /// Subcode chain as (namespace, local name).
    pub(crate) subcodes: Vec<(&'static str, &'static str)>,
    /// Reason text.
    pub(crate) reason: String,
}

impl FaultSpec {
    /// `Sender` / `ter:InvalidArgVal` / a sub-subcode.
    pub(crate) fn invalid_arg(sub: &'static str, reason: impl Into<String>) -> Self {
        FaultSpec {
            status: 400,
            code: "Sender",
            subcodes: vec![(ns::TER, "InvalidArgVal"), (ns::TER, sub)],
            reason: reason.into(),
        }
    }

    /// `Receiver` / `ter:ActionNotSupported`.
    pub(crate) fn not_supported(what: &str) -> Self {
        FaultSpec {
            status: 500,
            code: "Receiver",
            subcodes: vec![(ns::TER, "ActionNotSupported")],
            reason: format!("{what} is not supported by this device"),
        }
    }

    fn not_authorized(reason: &str) -> Self {
        FaultSpec {
            status: 400,
            code: "Sender",
            subcodes: vec![(ns::TER, "NotAuthorized")],
            reason: reason.to_string(),
        }
    }

    fn to_xml(&self) -> String {
        let mut sub = String::new();
        for (i, (ns_uri, name)) in self.subcodes.iter().enumerate().rev() {
            sub = format!(
                r#"<s:Subcode><s:Value xmlns:q{i}="{ns_uri}">q{i}:{name}</s:Value>{sub}</s:Subcode>"#
            );
        }
        let body = format!(
            concat!(
                r#"<s:Fault><s:Code><s:Value>s:{code}</s:Value>{sub}</s:Code>"#,
                r#"<s:Reason><s:Text xml:lang="en">{reason}</s:Text></s:Reason></s:Fault>"#
            ),
            code = self.code,
            sub = sub,
            reason = escape(&self.reason),
        );
        soap::build_response(&body)
    }
}

/// What a handler needs to know about the request.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    /// The operation element.
    pub(crate) op: &'a Element,
    /// The path the request was posted to.
    pub(crate) path: &'a str,
    /// Whether it came over HTTPS.
    pub(crate) secure: bool,
}

impl Ctx<'_> {
    /// Text of a direct child of the operation, by local name (any namespace).
    pub(crate) fn arg(&self, name: &str) -> Option<&str> {
        self.op.child_local(name).map(|e| e.trimmed())
    }

    /// The base URL services are reported under (`http://host:port`), honouring the
    /// internal-address quirk.
    pub(crate) fn base_url(&self) -> String {
        let s = self.shared;
        let (scheme, port) = if self.secure {
            ("https", s.ports.https.unwrap_or(443))
        } else {
            ("http", s.ports.http)
        };
        match &s.config.quirks.report_host {
            Some(h) => {
                let internal = if self.secure { 443 } else { 80 };
                format!("{scheme}://{h}:{internal}")
            }
            None => format!("{scheme}://{}:{port}", s.uri_host()),
        }
    }

    /// The RTSP base URL reported in stream URIs.
    pub(crate) fn rtsp_base(&self) -> String {
        let s = self.shared;
        match &s.config.quirks.report_host {
            Some(h) => format!("rtsp://{h}:554"),
            None => format!("rtsp://{}:{}", s.uri_host(), s.ports.rtsp),
        }
    }

    /// The snapshot URL of a profile.
    pub(crate) fn snapshot_url(&self, token: &str) -> String {
        let s = self.shared;
        match &s.config.quirks.report_host {
            Some(h) => format!("http://{h}:80/snapshot/{token}.jpg"),
            None => format!(
                "http://{}:{}/snapshot/{token}.jpg",
                s.uri_host(),
                s.ports.http
            ),
        }
    }
}

/// Service of a request, from the operation's namespace (or the path when it has none).
fn service_of(req_ns: Option<&str>, path: &str) -> &'static str {
    match req_ns {
        Some(ns::TDS) => "device",
        Some(ns::TRT) => "media",
        Some(ns::TR2) => "media2",
        Some(ns::TPTZ) => "ptz",
        Some(ns::TEV) | Some(ns::WSNT) => "events",
        Some(ns::TIMG) => "imaging",
        _ => {
            for (p, s) in [
                ("/onvif/media2", "media2"),
                ("/onvif/media", "media"),
                ("/onvif/ptz", "ptz"),
                ("/onvif/event", "events"),
                ("/onvif/subscription", "events"),
                ("/onvif/imaging", "imaging"),
            ] {
                if path.starts_with(p) {
                    return s;
                }
            }
            "device"
        }
    }
}

fn fault_reply(f: &FaultSpec) -> Reply {
    Reply::Send(HttpResponse::new(f.status, SOAP_CONTENT_TYPE, f.to_xml()))
}

/// Answers one SOAP request.
pub(crate) async fn handle(
    shared: &Arc<Shared>,
    req: &HttpRequest,
    peer: SocketAddr,
    secure: bool,
) -> Reply {
    let parsed = match soap::parse_request(&req.body) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "mock onvif: bad SOAP request");
            // HTTP clients that probe for a digest challenge (curl --digest) first send the
            // request without a body: ask for credentials before judging the body.
            if shared.auth_required()
                && req.header("Authorization").is_none()
                && !shared.challenges_offered().is_empty()
            {
                return Reply::Send(unauthorized(shared, false));
            }
            return fault_reply(&FaultSpec {
                status: 400,
                code: "Sender",
                subcodes: vec![(ns::TER, "WellFormed")],
                reason: "the request is not a well-formed SOAP 1.2 envelope".into(),
            });
        }
    };
    let op_name = parsed.operation().to_string();
    let service = service_of(parsed.operation_ns(), req.path());

    // Authentication: everything but GetSystemDateAndTime.
    if shared.auth_required()
        && op_name != "GetSystemDateAndTime"
        && let Some(reply) = authenticate(shared, req, &parsed)
    {
        return reply;
    }

    if let Some(Fault::SoapFault { operation }) = shared.faults.get("soap-fault")
        && operation == op_name
    {
        return fault_reply(&FaultSpec {
            status: 500,
            code: "Receiver",
            subcodes: vec![(ns::TER, "Action"), (ns::TER, "FaultInjected")],
            reason: format!("injected fault for {op_name}"),
        });
    }

    if let Some(fx) = &shared.config.fixture
        && let Some(xml) = fx.onvif.get(&(service.to_string(), op_name.clone()))
    {
        return Reply::Send(HttpResponse::new(200, SOAP_CONTENT_TYPE, xml.clone()));
    }

    let ctx = Ctx {
        shared,
        op: &parsed.envelope.body,
        path: req.path(),
        secure,
    };
    let answer = match service {
        "device" => super::onvif_device::handle(&ctx, &op_name),
        "media" => super::onvif_media::handle_media(&ctx, &op_name),
        "media2" => super::onvif_media::handle_media2(&ctx, &op_name),
        "ptz" => super::onvif_ptz::handle(&ctx, &op_name),
        "events" => super::onvif_events::handle(&ctx, &op_name).await,
        "imaging" => super::onvif_device::handle_imaging(&ctx, &op_name),
        _ => Answer::Fault(FaultSpec::not_supported(&op_name)),
    };
    match answer {
        Answer::Body(xml) => Reply::Send(HttpResponse::new(
            200,
            SOAP_CONTENT_TYPE,
            soap::build_response(&xml),
        )),
        Answer::Fault(f) => fault_reply(&f),
    }
}

/// Checks the request's credentials; `None` when accepted, else the reply to send.
fn authenticate(shared: &Arc<Shared>, req: &HttpRequest, parsed: &soap::Request) -> Option<Reply> {
    use super::config::AuthScheme;
    if shared.faults.is_on("401") {
        return Some(Reply::Send(unauthorized(shared, false)));
    }
    if let Some(token) = &parsed.token
        && shared.accepts(AuthScheme::UsernameToken)
    {
        let lookup = |u: &str| match &shared.config.credentials {
            Some((user, pass)) if user == u => Some(pass.clone()),
            _ => None,
        };
        let verdict =
            lock(&shared.tokens).verify(&token.as_received(), lookup, shared.camera_now());
        return match verdict {
            Ok(_) => None,
            Err(Rejection::ClockSkew) => Some(fault_reply(&FaultSpec {
                status: 400,
                code: "Sender",
                subcodes: vec![(ns::WSSE, "MessageExpired")],
                reason: "WS-Security token expired or not yet valid: Created is outside the \
                             device's clock tolerance"
                    .into(),
            })),
            Err(Rejection::Replay) => Some(fault_reply(&FaultSpec::not_authorized(
                "WS-Security nonce replayed",
            ))),
            Err(_) => Some(fault_reply(&FaultSpec::not_authorized(
                "Sender not authorized: the user name or password is wrong",
            ))),
        };
    }
    if req.header("Authorization").is_some() {
        return match shared.check_http_auth("POST", req.header("Authorization"), &req.body) {
            Ok(()) => None,
            Err(r) => Some(Reply::Send(unauthorized(shared, r == Rejection::Stale))),
        };
    }
    // No credentials: ask for HTTP auth when the camera offers it, else a SOAP fault.
    if shared.accepts(AuthScheme::DigestMd5)
        || shared.accepts(AuthScheme::DigestSha256)
        || shared.accepts(AuthScheme::Basic)
    {
        return Some(Reply::Send(unauthorized(shared, false)));
    }
    Some(fault_reply(&FaultSpec::not_authorized(
        "Sender not authorized: a WS-Security UsernameToken is required",
    )))
}

/// `xs:duration` like `PT60S`, `PT1M30S`, `PT0.5S`, `P1D`: seconds, or `None`.
pub(crate) fn parse_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut total = 0.0;
    let mut num = String::new();
    for c in date.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'D' => {
                total += num.parse::<f64>().ok()? * 86_400.0;
                num.clear();
            }
            _ => return None,
        }
    }
    for c in time.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'H' | 'M' | 'S' => {
                let v = num.parse::<f64>().ok()?;
                total += v * match c {
                    'H' => 3600.0,
                    'M' => 60.0,
                    _ => 1.0,
                };
                num.clear();
            }
            _ => return None,
        }
    }
    (num.is_empty() && total.is_finite()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT60S"), Some(60.0));
        assert_eq!(parse_duration("PT1M30S"), Some(90.0));
        assert_eq!(parse_duration("PT0.5S"), Some(0.5));
        assert_eq!(parse_duration("P1DT1H"), Some(90_000.0));
        assert_eq!(parse_duration("60"), None);
        assert_eq!(parse_duration("PT5"), None);
    }

    #[test]
    fn routing() {
        assert_eq!(service_of(Some(ns::TR2), "/onvif/device_service"), "media2");
        assert_eq!(service_of(None, "/onvif/ptz_service"), "ptz");
        assert_eq!(service_of(None, "/onvif/subscription/3"), "events");
    }
}
