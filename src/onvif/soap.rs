//! SOAP 1.2 envelopes for ONVIF: building requests and responses, parsing both, and turning
//! faults into [`ErrorKind`]s.
//!
//! Everything here is pure (bytes in, bytes or typed values out). The client uses
//! [`build_request`] and [`parse_http_response`]; a device-side server (the mock camera) uses
//! [`parse_request`], [`build_response`] and [`build_fault`].
//!
//! ```
//! use camlink::onvif::soap;
//! use camlink::ErrorKind;
//!
//! let body = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
//!     xmlns:ter="http://www.onvif.org/ver10/error"><s:Body><s:Fault>
//!     <s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>ter:NotAuthorized</s:Value></s:Subcode></s:Code>
//!     <s:Reason><s:Text xml:lang="en">Sender not authorized</s:Text></s:Reason>
//!     </s:Fault></s:Body></s:Envelope>"#;
//! let err = soap::parse_http_response(500, body).unwrap_err();
//! assert_eq!(err.kind(), &ErrorKind::Unauthorized);
//! ```

use crate::auth::UsernameToken;
use crate::auth::server::ReceivedToken;
use crate::auth::{PASSWORD_TEXT_TYPE, PasswordType};
use crate::onvif::xml::{self, Element};
use crate::xmlutil::escape;
use crate::{Error, ErrorKind, Result};

/// Namespace URIs used by ONVIF messages.
pub mod ns {
    /// SOAP 1.2 envelope.
    pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
    /// SOAP 1.1 envelope (some old cameras answer in it).
    pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    /// WS-Addressing 1.0.
    pub const WSA: &str = "http://www.w3.org/2005/08/addressing";
    /// ONVIF common schema (`tt`).
    pub const TT: &str = "http://www.onvif.org/ver10/schema";
    /// Device service (`tds`).
    pub const TDS: &str = "http://www.onvif.org/ver10/device/wsdl";
    /// Media service ver10 (`trt`).
    pub const TRT: &str = "http://www.onvif.org/ver10/media/wsdl";
    /// Media2 service ver20 (`tr2`).
    pub const TR2: &str = "http://www.onvif.org/ver20/media/wsdl";
    /// PTZ service (`tptz`).
    pub const TPTZ: &str = "http://www.onvif.org/ver20/ptz/wsdl";
    /// Event service (`tev`).
    pub const TEV: &str = "http://www.onvif.org/ver10/events/wsdl";
    /// Imaging service (`timg`).
    pub const TIMG: &str = "http://www.onvif.org/ver20/imaging/wsdl";
    /// ONVIF error subcodes (`ter`).
    pub const TER: &str = "http://www.onvif.org/ver10/error";
    /// WS-BaseNotification (`wsnt`).
    pub const WSNT: &str = "http://docs.oasis-open.org/wsn/b-2";
    /// WS-Topics (`wstop`).
    pub const WSTOP: &str = "http://docs.oasis-open.org/wsn/t-1";
    /// WS-Security secext (`wsse`).
    pub const WSSE: &str = crate::auth::WSSE_NS;
    /// WS-Security utility (`wsu`).
    pub const WSU: &str = crate::auth::WSU_NS;
}

/// The SOAP version of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    /// SOAP 1.2 (what ONVIF requires, and what camlink sends).
    V12,
    /// SOAP 1.1.
    V11,
}

/// The `Content-Type` for a SOAP 1.2 request with this action URI.
///
/// ```
/// assert_eq!(
///     camlink::onvif::soap::content_type("http://www.onvif.org/ver10/device/wsdl/GetHostname"),
///     r#"application/soap+xml; charset=utf-8; action="http://www.onvif.org/ver10/device/wsdl/GetHostname""#
/// );
/// ```
pub fn content_type(action: &str) -> String {
    format!(r#"application/soap+xml; charset=utf-8; action="{action}""#)
}

/// WS-Addressing headers for a request (needed by the event service).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addressing {
    /// `wsa:Action`.
    pub action: String,
    /// `wsa:To` (the address the request goes to).
    pub to: String,
    /// `wsa:MessageID` (`urn:uuid:...`), if any.
    pub message_id: Option<String>,
    /// Reference parameters of the endpoint (raw XML elements, echoed verbatim in the header,
    /// as WS-Addressing requires for a subscription reference).
    pub reference_parameters: Vec<String>,
}

/// Builds a SOAP 1.2 request: the optional security header, the optional addressing headers, and
/// `body_xml` (one element, namespaces declared on it) inside `Body`.
pub fn build_request(
    body_xml: &str,
    security: Option<&UsernameToken>,
    addressing: Option<&Addressing>,
) -> String {
    let mut out = String::with_capacity(body_xml.len() + 1024);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push_str(r#"<s:Envelope xmlns:s=""#);
    out.push_str(ns::SOAP12);
    out.push_str(r#"">"#);
    if security.is_some() || addressing.is_some() {
        out.push_str("<s:Header>");
        if let Some(tok) = security {
            out.push_str(&tok.to_xml());
        }
        if let Some(a) = addressing {
            out.push_str(&format!(
                r#"<wsa:Action xmlns:wsa="{}">{}</wsa:Action>"#,
                ns::WSA,
                escape(&a.action)
            ));
            if let Some(id) = &a.message_id {
                out.push_str(&format!(
                    r#"<wsa:MessageID xmlns:wsa="{}">{}</wsa:MessageID>"#,
                    ns::WSA,
                    escape(id)
                ));
            }
            out.push_str(&format!(
                r#"<wsa:To xmlns:wsa="{}">{}</wsa:To>"#,
                ns::WSA,
                escape(&a.to)
            ));
            for p in &a.reference_parameters {
                out.push_str(p);
            }
        }
        out.push_str("</s:Header>");
    }
    out.push_str("<s:Body>");
    out.push_str(body_xml);
    out.push_str("</s:Body></s:Envelope>");
    out
}

/// Builds a SOAP 1.2 response envelope around `body_xml` (for device-side servers).
pub fn build_response(body_xml: &str) -> String {
    build_request(body_xml, None, None)
}

/// Builds a SOAP 1.2 fault (for device-side servers). `code` is `Sender` or `Receiver`;
/// `subcode` an ONVIF `ter:` local name such as `NotAuthorized`.
pub fn build_fault(code: &str, subcode: Option<&str>, reason: &str) -> String {
    let sub = subcode
        .map(|s| {
            format!(
                "<s:Subcode><s:Value>ter:{}</s:Value></s:Subcode>",
                escape(s)
            )
        })
        .unwrap_or_default();
    let body = format!(
        concat!(
            r#"<s:Fault xmlns:ter="{ter}"><s:Code><s:Value>s:{code}</s:Value>{sub}</s:Code>"#,
            r#"<s:Reason><s:Text xml:lang="en">{reason}</s:Text></s:Reason></s:Fault>"#
        ),
        ter = ns::TER,
        code = escape(code),
        sub = sub,
        reason = escape(reason),
    );
    build_response(&body)
}

/// A parsed envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// SOAP version of the envelope.
    pub version: SoapVersion,
    /// The `Header` element, if any.
    pub header: Option<Element>,
    /// The first element inside `Body` (the operation, its response, or a `Fault`).
    pub body: Element,
}

/// Parses a SOAP envelope (1.2 or 1.1; an envelope with an undeclared prefix is accepted).
pub fn parse_envelope(input: &[u8]) -> Result<Envelope> {
    let root = xml::parse(input)?;
    if root.name != "Envelope" {
        return Err(Error::malformed(
            format!("not a SOAP envelope (root element <{}>)", root.name),
            root.offset,
            input,
        ));
    }
    let version = if root.ns.as_deref() == Some(ns::SOAP11) {
        SoapVersion::V11
    } else {
        SoapVersion::V12
    };
    let mut header = None;
    let mut body = None;
    for c in root.children {
        match c.name.as_str() {
            "Header" if header.is_none() => header = Some(c),
            "Body" if body.is_none() => body = Some(c),
            _ => {}
        }
    }
    let Some(body) = body else {
        return Err(Error::malformed(
            "SOAP envelope without Body",
            root.offset,
            input,
        ));
    };
    let offset = body.offset;
    let Some(first) = body.children.into_iter().next() else {
        return Err(Error::malformed("SOAP Body is empty", offset, input));
    };
    Ok(Envelope {
        version,
        header,
        body: first,
    })
}

/// A SOAP fault as the camera sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fault {
    /// The code (`Sender`, `Receiver`, `Client`, `Server`, ...), local name.
    pub code: String,
    /// The subcodes from outermost to innermost, local names (`ActionNotSupported`, ...).
    pub subcodes: Vec<String>,
    /// The reason text.
    pub reason: String,
    /// Local names of the elements inside `Detail` and its text, flattened (some devices put the
    /// `ter:` code there).
    pub detail: String,
}

fn local_of_qname(v: &str) -> String {
    let v = v.trim();
    v.rsplit_once(':')
        .map(|(_, l)| l)
        .unwrap_or(v)
        .trim()
        .to_string()
}

fn flatten(e: &Element, out: &mut String) {
    for c in &e.children {
        if out.len() > 4096 {
            return;
        }
        out.push_str(&c.name);
        out.push(' ');
        let t = c.trimmed();
        if !t.is_empty() {
            out.push_str(t);
            out.push(' ');
        }
        flatten(c, out);
    }
}

impl Fault {
    /// Reads a `Fault` element (SOAP 1.2 or 1.1 layout).
    pub fn from_element(f: &Element) -> Fault {
        let mut fault = Fault::default();
        if let Some(code) = f.child_local("Code") {
            fault.code = code
                .child_local("Value")
                .map(|v| local_of_qname(&v.text))
                .unwrap_or_default();
            let mut cur = code.child_local("Subcode");
            let mut guard = 0;
            while let Some(sc) = cur {
                guard += 1;
                if guard > 16 {
                    break;
                }
                if let Some(v) = sc.child_local("Value") {
                    fault.subcodes.push(local_of_qname(&v.text));
                }
                cur = sc.child_local("Subcode");
            }
        } else if let Some(code) = f.child_local("faultcode") {
            // SOAP 1.1: `faultcode` may carry a dotted code such as `Client.Authentication`.
            let local = local_of_qname(&code.text);
            let mut parts = local.split('.');
            fault.code = parts.next().unwrap_or_default().to_string();
            fault.subcodes.extend(parts.map(str::to_string));
        }
        fault.reason = f
            .child_local("Reason")
            .map(|r| {
                r.child_local("Text")
                    .map(|t| t.trimmed().to_string())
                    .unwrap_or_else(|| r.trimmed().to_string())
            })
            .or_else(|| {
                f.child_local("faultstring")
                    .map(|t| t.trimmed().to_string())
            })
            .unwrap_or_default();
        if let Some(d) = f.child_local("Detail").or_else(|| f.child_local("detail")) {
            flatten(d, &mut fault.detail);
            let t = d.trimmed();
            if !t.is_empty() {
                fault.detail.push_str(t);
            }
        }
        fault
    }

    /// The error kind a caller should see for this fault.
    ///
    /// Time-related security failures are [`ErrorKind::ClockSkew`]; rejected credentials in any
    /// of their forms [`ErrorKind::Unauthorized`]; missing operations or features
    /// [`ErrorKind::Unsupported`]; everything else [`ErrorKind::SoapFault`].
    pub fn kind(&self) -> ErrorKind {
        let reason = self.reason.to_ascii_lowercase();
        let detail = self.detail.to_ascii_lowercase();
        let subs: Vec<String> = self
            .subcodes
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect();
        let any_sub = |names: &[&str]| {
            subs.iter().any(|s| names.contains(&s.as_str()))
                || names
                    .iter()
                    .any(|n| detail.split_whitespace().any(|w| w == *n))
        };
        let security_ctx = any_sub(&[
            "failedauthentication",
            "invalidsecurity",
            "invalidsecuritytoken",
            "notauthorized",
            "messageexpired",
        ]) || reason.contains("security")
            || reason.contains("token")
            || reason.contains("auth");
        let time_words = reason.contains("expired")
            || reason.contains("in the future")
            || reason.contains("timestamp")
            || reason.contains("clock")
            || (reason.contains("created") && reason.contains("time"));
        if any_sub(&["messageexpired"]) || (security_ctx && time_words) {
            return ErrorKind::ClockSkew;
        }
        if any_sub(&[
            "notauthorized",
            "failedauthentication",
            "invalidsecurity",
            "invalidsecuritytoken",
            "securitytokenunavailable",
            "unauthorized",
            "authentication",
        ]) || reason.contains("not authorized")
            || reason.contains("unauthorized")
            || reason.contains("authentication failed")
            || reason.contains("authentication error")
            || reason.contains("auth failed")
            || reason.contains("authorization failed")
            || reason.contains("digest mismatch")
            || reason.contains("wrong password")
            || reason.contains("invalid password")
            || reason.contains("invalid username")
            || reason.contains("missing username")
            || reason.contains("ws-security header required")
        {
            return ErrorKind::Unauthorized;
        }
        // A bad argument ("resolution not supported") is the caller's problem, not a missing
        // feature: reason words count only when no subcode says the argument was wrong.
        let bad_argument = any_sub(&["invalidargval", "invalidargs", "operationprohibited"]);
        let reason_unsupported = reason.contains("not implemented")
            || reason.contains("action not supported")
            || reason.contains("not supported")
            || reason.contains("is not support");
        if subs.iter().any(|s| {
            s == "actionnotsupported"
                || s == "notsupported"
                || s.ends_with("notsupported")
                || s == "notimplemented"
        }) || detail.contains("actionnotsupported")
            || (reason_unsupported && !bad_argument)
        {
            return ErrorKind::Unsupported;
        }
        ErrorKind::SoapFault {
            code: self.code.clone(),
            subcode: self.subcodes.last().cloned(),
            reason: self.reason.clone(),
        }
    }

    /// The fault as a camlink [`Error`].
    pub fn to_error(&self) -> Error {
        let mut msg = format!("SOAP fault {}", self.code);
        for s in &self.subcodes {
            msg.push('/');
            msg.push_str(s);
        }
        if !self.reason.is_empty() {
            msg.push_str(": ");
            msg.push_str(&self.reason);
        }
        Error::new(self.kind(), msg)
    }
}

/// Interprets a SOAP response body: the first element of `Body`, or the fault as an error.
pub fn parse_response(input: &[u8]) -> Result<Element> {
    let env = parse_envelope(input)?;
    if env.body.name == "Fault" {
        return Err(Fault::from_element(&env.body).to_error());
    }
    Ok(env.body)
}

/// Interprets an HTTP answer to a SOAP request: status plus body.
///
/// A SOAP fault wins over the status (cameras send faults with 200, 400 or 500); an HTTP 401
/// without a SOAP fault is [`ErrorKind::Unauthorized`]; any other non-success status without an
/// envelope is [`ErrorKind::HttpStatus`]; a 2xx answer that is not SOAP is
/// [`ErrorKind::Malformed`].
pub fn parse_http_response(status: u16, body: &[u8]) -> Result<Element> {
    if body.len() > xml::MAX_DOCUMENT_BYTES {
        return Err(Error::limit("SOAP response", xml::MAX_DOCUMENT_BYTES));
    }
    match parse_envelope(body) {
        Ok(env) if env.body.name == "Fault" => Err(Fault::from_element(&env.body).to_error()),
        Ok(env) if (200..300).contains(&status) => Ok(env.body),
        Ok(_) | Err(_) if status == 401 || status == 403 => Err(Error::new(
            ErrorKind::Unauthorized,
            format!("HTTP {status}: the camera refused the credentials"),
        )),
        Ok(env) => Err(Error::new(
            ErrorKind::HttpStatus(status),
            format!("HTTP {status} with a SOAP <{}> body", env.body.name),
        )),
        Err(e) if (200..300).contains(&status) => Err(e),
        Err(_) => {
            let mut err = Error::new(
                ErrorKind::HttpStatus(status),
                format!("HTTP {status} without a SOAP envelope"),
            );
            if !body.is_empty() {
                err = err.with_excerpt(body);
            }
            Err(err)
        }
    }
}

/// A request as a device-side server sees it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The envelope.
    pub envelope: Envelope,
    /// The UsernameToken fields found in the security header, if any.
    pub token: Option<OwnedToken>,
}

/// The UsernameToken fields of a received request, owned.
#[derive(Clone, PartialEq, Eq)]
pub struct OwnedToken {
    /// `Username`.
    pub username: String,
    /// `Password` content (a digest, or a clear password for `PasswordText`). Not printed.
    pub password: String,
    /// The password type.
    pub password_type: PasswordType,
    /// `Nonce`, base64.
    pub nonce_b64: Option<String>,
    /// `Created`.
    pub created: Option<String>,
}

impl std::fmt::Debug for OwnedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedToken")
            .field("username", &self.username)
            .field("password", &"***")
            .field("password_type", &self.password_type)
            .field("created", &self.created)
            .finish()
    }
}

impl OwnedToken {
    /// Borrowed view for [`crate::auth::server::UsernameTokenVerifier`].
    pub fn as_received(&self) -> ReceivedToken<'_> {
        ReceivedToken {
            username: &self.username,
            password: &self.password,
            password_type: self.password_type,
            nonce_b64: self.nonce_b64.as_deref(),
            created: self.created.as_deref(),
        }
    }
}

impl Request {
    /// Namespace URI of the operation element (`None` if its prefix was undeclared).
    pub fn operation_ns(&self) -> Option<&str> {
        self.envelope.body.ns.as_deref()
    }
    /// Local name of the operation element (`GetDeviceInformation`, ...).
    pub fn operation(&self) -> &str {
        &self.envelope.body.name
    }
}

/// Parses a request on the device side: the operation element and the UsernameToken.
pub fn parse_request(input: &[u8]) -> Result<Request> {
    let envelope = parse_envelope(input)?;
    let token = envelope
        .header
        .as_ref()
        .and_then(|h| h.child(ns::WSSE, "Security"))
        .and_then(|s| s.child(ns::WSSE, "UsernameToken"))
        .map(|t| {
            let pw = t.child(ns::WSSE, "Password");
            OwnedToken {
                username: t
                    .child_text(ns::WSSE, "Username")
                    .unwrap_or_default()
                    .to_string(),
                password: pw.map(|p| p.trimmed().to_string()).unwrap_or_default(),
                password_type: match pw.and_then(|p| p.attr("Type")) {
                    Some(t) if t == PASSWORD_TEXT_TYPE || t.ends_with("#PasswordText") => {
                        PasswordType::Text
                    }
                    _ => PasswordType::Digest,
                },
                nonce_b64: t.child_text(ns::WSSE, "Nonce").map(str::to_string),
                created: t.child_text(ns::WSU, "Created").map(str::to_string),
            }
        });
    Ok(Request { envelope, token })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credentials;

    fn fault(code: &str, subs: &[&str], reason: &str) -> Vec<u8> {
        let mut sub = String::new();
        for s in subs.iter().rev() {
            sub = format!("<s:Subcode><s:Value>{s}</s:Value>{sub}</s:Subcode>");
        }
        format!(
            r#"<s:Envelope xmlns:s="{}" xmlns:ter="{}"><s:Body><s:Fault><s:Code><s:Value>s:{code}</s:Value>{sub}</s:Code><s:Reason><s:Text xml:lang="en">{reason}</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"#,
            ns::SOAP12,
            ns::TER
        )
        .into_bytes()
    }

    fn kind(code: &str, subs: &[&str], reason: &str) -> ErrorKind {
        parse_http_response(500, &fault(code, subs, reason))
            .unwrap_err()
            .kind()
            .clone()
    }

    #[test]
    fn fault_kinds() {
        assert_eq!(
            kind("Receiver", &["ter:ActionNotSupported"], "x"),
            ErrorKind::Unsupported
        );
        assert_eq!(
            kind("Sender", &["ter:NotAuthorized"], "Sender not authorized"),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            kind(
                "Sender",
                &["wsse:FailedAuthentication"],
                "Password digest mismatch"
            ),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            kind("Sender", &["wsse:InvalidSecurity"], "x"),
            ErrorKind::Unauthorized
        );
        // onvif-server style: no subcode, the reason says it.
        assert_eq!(
            kind("Sender", &[], "Authentication failed"),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            kind(
                "Sender",
                &[],
                "WS-Security header required but not provided"
            ),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            kind("Sender", &[], "WS-Security timestamp expired"),
            ErrorKind::ClockSkew
        );
        assert_eq!(
            kind(
                "Sender",
                &[],
                "WS-Security Created timestamp is in the future"
            ),
            ErrorKind::ClockSkew
        );
        assert_eq!(
            kind("Sender", &["wsse:MessageExpired"], ""),
            ErrorKind::ClockSkew
        );
        assert_eq!(
            kind(
                "Sender",
                &["ter:InvalidArgVal", "ter:NoProfile"],
                "no such profile"
            ),
            ErrorKind::SoapFault {
                code: "Sender".into(),
                subcode: Some("NoProfile".into()),
                reason: "no such profile".into()
            }
        );
        assert!(matches!(
            kind(
                "Sender",
                &["ter:InvalidArgVal", "ter:ConfigModify"],
                "Resolution not supported"
            ),
            ErrorKind::SoapFault { .. }
        ));
        assert_eq!(
            kind("Sender", &[], "Method 'tds:GetGeoLocation' not implemented"),
            ErrorKind::Unsupported
        );
        // "Too weak password" is a refusal of a setting, not of our credentials.
        assert!(matches!(
            kind(
                "Sender",
                &["ter:OperationProhibited", "ter:Password"],
                "Too weak password."
            ),
            ErrorKind::SoapFault { .. }
        ));
    }

    #[test]
    fn soap11_fault() {
        let body = format!(
            r#"<e:Envelope xmlns:e="{}"><e:Body><e:Fault><faultcode>e:Client</faultcode><faultstring>Method not implemented</faultstring></e:Fault></e:Body></e:Envelope>"#,
            ns::SOAP11
        );
        let err = parse_http_response(500, body.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Unsupported);
    }

    #[test]
    fn non_soap_answers() {
        let html = b"<html><body><h1>401 Unauthorized</h1></body></html>";
        assert_eq!(
            parse_http_response(401, html).unwrap_err().kind(),
            &ErrorKind::Unauthorized
        );
        assert_eq!(
            parse_http_response(500, b"").unwrap_err().kind(),
            &ErrorKind::HttpStatus(500)
        );
        assert_eq!(
            parse_http_response(200, b"hello").unwrap_err().kind(),
            &ErrorKind::Malformed
        );
        assert_eq!(
            parse_http_response(404, b"<html/>").unwrap_err().kind(),
            &ErrorKind::HttpStatus(404)
        );
    }

    #[test]
    fn request_round_trip_with_token() {
        let creds = Credentials::new("admin", "secret");
        let tok = UsernameToken::new(
            &creds,
            b"0123456789abcdef",
            1_700_000_000,
            PasswordType::Digest,
        );
        let xml = build_request(
            &format!(r#"<tds:GetHostname xmlns:tds="{}"/>"#, ns::TDS),
            Some(&tok),
            None,
        );
        let req = parse_request(xml.as_bytes()).unwrap();
        assert_eq!(req.operation(), "GetHostname");
        assert_eq!(req.operation_ns(), Some(ns::TDS));
        let t = req.token.unwrap();
        assert_eq!(t.username, "admin");
        assert_eq!(t.created.as_deref(), Some("2023-11-14T22:13:20Z"));
        let mut v =
            crate::auth::server::UsernameTokenVerifier::new(std::time::Duration::from_secs(5));
        assert!(
            v.verify(&t.as_received(), |_| Some("secret".into()), 1_700_000_001)
                .is_ok()
        );
        assert!(!format!("{t:?}").contains(tok.password_value()));
    }

    #[test]
    fn built_fault_parses_back() {
        let xml = build_fault("Sender", Some("NotAuthorized"), "Sender not authorized");
        assert_eq!(
            parse_http_response(400, xml.as_bytes()).unwrap_err().kind(),
            &ErrorKind::Unauthorized
        );
    }
}
