//! Pure decisions of the ONVIF client: which authentication to send, how to rewrite the
//! addresses a camera reports, and the camera clock offset. No IO, so all of it is unit-tested.

use url::Url;

/// How returned service, snapshot, subscription and stream URIs are rewritten.
///
/// Cameras behind port forwarding or NAT report their internal address
/// (`http://192.168.1.64/onvif/media`); a VMS must use the address it connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RewritePolicy {
    /// Keep URIs as the camera reported them (doubled ports are still repaired).
    Never,
    /// Replace the host with the one connected to; keep the reported port.
    HostOnly,
    /// Replace the host, and the port of HTTP(S) URIs with the one connected to (the default).
    /// RTSP URIs keep their port unless an RTSP port override is set.
    #[default]
    HostAndPort,
}

/// What kind of URI is being rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriKind {
    /// A service XAddr, snapshot or subscription address (HTTP or HTTPS).
    Http,
    /// A stream URI (RTSP).
    Stream,
}

/// The address the user connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http` or `https`.
    pub scheme: String,
    /// Host as it appears in a URL (`[::1]` for IPv6).
    pub host: String,
    /// Port (default port filled in).
    pub port: u16,
}

impl Target {
    /// The target of a device service URL.
    pub fn of(url: &Url) -> Option<Target> {
        Some(Target {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_string(),
            port: url.port_or_known_default()?,
        })
    }
}

/// Repairs an authority with a doubled port (`host:8106:8106` → `host:8106`), seen on cameras
/// behind port forwarding. Returns the input when there is nothing to repair.
pub fn repair_doubled_port(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if hostport.starts_with('[') {
        return uri.to_string();
    }
    let mut parts = hostport.split(':');
    let host = parts.next().unwrap_or_default();
    let ports: Vec<&str> = parts.collect();
    if ports.len() < 2
        || !ports
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return uri.to_string();
    }
    let port = ports.first().copied().unwrap_or_default();
    let mut out = format!("{scheme}://");
    if let Some(u) = userinfo {
        out.push_str(u);
        out.push('@');
    }
    out.push_str(host);
    out.push(':');
    out.push_str(port);
    out.push_str(tail);
    out
}

/// Rewrites a URI the camera reported, as the policy says.
///
/// `rtsp_port` overrides the port of stream URIs (a VMS lets users set it per camera). A URI
/// that cannot be parsed is returned repaired but otherwise untouched.
pub fn rewrite_uri(
    uri: &str,
    kind: UriKind,
    target: &Target,
    policy: RewritePolicy,
    rtsp_port: Option<u16>,
) -> String {
    let repaired = repair_doubled_port(uri.trim());
    let Ok(mut url) = Url::parse(&repaired) else {
        return repaired;
    };
    if url.host_str().is_none() {
        return repaired;
    }
    if policy != RewritePolicy::Never && url.set_host(Some(&target.host)).is_err() {
        return repaired;
    }
    let port = match (kind, policy) {
        (UriKind::Stream, _) => rtsp_port.or(url.port()),
        (UriKind::Http, RewritePolicy::HostAndPort) if url.scheme() == target.scheme => {
            Some(target.port)
        }
        _ => url.port(),
    };
    if url.set_port(port).is_err() {
        return repaired;
    }
    url.to_string()
}

/// Which authentication the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// WS-UsernameToken first; HTTP Digest when the camera answers 401; both once when digest
    /// alone is refused with a SOAP fault.
    #[default]
    Auto,
    /// WS-UsernameToken only.
    UsernameToken,
    /// HTTP Digest (or Basic over HTTPS) only, as `camlink::auth::HttpAuth` negotiates.
    HttpDigest,
    /// Both on every request.
    Both,
}

/// The automatic choice between WS-UsernameToken and HTTP authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthChoice {
    mode: AuthMode,
    token: bool,
    http: bool,
    fallback_used: bool,
    /// The fallback dropped the token (to provoke an HTTP challenge).
    dropped_token: bool,
}

impl AuthChoice {
    /// Starts in `mode`.
    pub fn new(mode: AuthMode) -> Self {
        let (token, http) = match mode {
            AuthMode::Auto | AuthMode::UsernameToken => (true, false),
            AuthMode::HttpDigest => (false, true),
            AuthMode::Both => (true, true),
        };
        AuthChoice {
            mode,
            token,
            http,
            fallback_used: false,
            dropped_token: false,
        }
    }

    /// Whether the next request carries a UsernameToken.
    pub fn send_token(&self) -> bool {
        self.token
    }

    /// Whether HTTP authentication answers 401 challenges.
    pub fn use_http(&self) -> bool {
        self.http
    }

    /// The camera answered 401. Returns whether to answer the challenge with HTTP auth.
    pub fn on_http_401(&mut self) -> bool {
        match self.mode {
            AuthMode::UsernameToken => false,
            AuthMode::Auto if !self.http => {
                // The camera asks for HTTP auth: use it instead of the token.
                self.http = true;
                self.token = false;
                true
            }
            _ => true,
        }
    }

    /// The camera refused with a SOAP "not authorized" fault. Returns whether to retry once with
    /// the other method: the token added to HTTP auth, or (token refused, no challenge seen) the
    /// request sent without a token so that a camera doing HTTP Digest can challenge it. When
    /// the retry is refused too, a dropped token comes back for the next requests.
    pub fn on_soap_unauthorized(&mut self) -> bool {
        if self.mode != AuthMode::Auto {
            return false;
        }
        if self.fallback_used {
            if self.dropped_token {
                self.token = true;
                self.http = false;
                self.dropped_token = false;
            }
            return false;
        }
        self.fallback_used = true;
        if self.http && !self.token {
            self.token = true;
            return true;
        }
        if self.token && !self.http {
            self.token = false;
            self.http = true;
            self.dropped_token = true;
            return true;
        }
        false
    }

    /// A request succeeded: the current choice works.
    pub fn on_success(&mut self) {
        self.fallback_used = false;
        self.dropped_token = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target::of(&Url::parse("http://203.0.113.7:8080/onvif/device_service").unwrap()).unwrap()
    }

    #[test]
    fn doubled_port_repaired() {
        assert_eq!(
            repair_doubled_port("http://192.168.1.64:8106:8106/onvif/media"),
            "http://192.168.1.64:8106/onvif/media"
        );
        assert_eq!(repair_doubled_port("http://h:80/x"), "http://h:80/x");
        assert_eq!(
            repair_doubled_port("rtsp://[::1]:554/x"),
            "rtsp://[::1]:554/x"
        );
    }

    #[test]
    fn xaddr_gets_host_and_port() {
        let t = target();
        assert_eq!(
            rewrite_uri(
                "http://192.168.1.64/onvif/media",
                UriKind::Http,
                &t,
                RewritePolicy::HostAndPort,
                None
            ),
            "http://203.0.113.7:8080/onvif/media"
        );
        assert_eq!(
            rewrite_uri(
                "http://192.168.1.64:8106:8106/onvif/media",
                UriKind::Http,
                &t,
                RewritePolicy::HostOnly,
                None
            ),
            "http://203.0.113.7:8106/onvif/media"
        );
        assert_eq!(
            rewrite_uri(
                "http://192.168.1.64/onvif/media",
                UriKind::Http,
                &t,
                RewritePolicy::Never,
                None
            ),
            "http://192.168.1.64/onvif/media"
        );
    }

    #[test]
    fn stream_keeps_its_port_unless_overridden() {
        let t = target();
        let uri = "rtsp://192.168.1.64:554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1";
        assert_eq!(
            rewrite_uri(uri, UriKind::Stream, &t, RewritePolicy::HostAndPort, None),
            "rtsp://203.0.113.7:554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1"
        );
        assert_eq!(
            rewrite_uri(
                uri,
                UriKind::Stream,
                &t,
                RewritePolicy::HostAndPort,
                Some(10554)
            ),
            "rtsp://203.0.113.7:10554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1"
        );
        assert_eq!(
            rewrite_uri(uri, UriKind::Stream, &t, RewritePolicy::Never, Some(10554)),
            "rtsp://192.168.1.64:10554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1"
        );
    }

    #[test]
    fn ipv6_target() {
        let t =
            Target::of(&Url::parse("http://[::1]:18080/onvif/device_service").unwrap()).unwrap();
        assert_eq!(
            rewrite_uri(
                "http://10.0.0.2/onvif/ptz",
                UriKind::Http,
                &t,
                RewritePolicy::HostAndPort,
                None
            ),
            "http://[::1]:18080/onvif/ptz"
        );
    }

    #[test]
    fn auto_auth_switches_to_digest_on_401_then_adds_token_once() {
        let mut a = AuthChoice::new(AuthMode::Auto);
        assert!(a.send_token() && !a.use_http());
        assert!(a.on_http_401());
        assert!(
            !a.send_token() && a.use_http(),
            "the camera asked for HTTP auth"
        );
        assert!(
            a.on_soap_unauthorized(),
            "digest refused by SOAP: add the token once"
        );
        assert!(a.send_token() && a.use_http());
        assert!(!a.on_soap_unauthorized(), "only once");
    }

    #[test]
    fn auto_auth_token_refused_by_soap_fault_tries_http_once() {
        let mut a = AuthChoice::new(AuthMode::Auto);
        assert!(a.on_soap_unauthorized(), "token refused: retry without it");
        assert!(!a.send_token() && a.use_http());
        // Refused again (no challenge came): back to the token for later requests.
        assert!(!a.on_soap_unauthorized());
        assert!(a.send_token() && !a.use_http());
        // Or the camera challenged and digest worked: HTTP auth stays.
        let mut b = AuthChoice::new(AuthMode::Auto);
        assert!(b.on_soap_unauthorized());
        assert!(b.on_http_401());
        b.on_success();
        assert!(!b.send_token() && b.use_http());
    }

    #[test]
    fn forced_modes_do_not_switch() {
        let mut t = AuthChoice::new(AuthMode::UsernameToken);
        assert!(!t.on_http_401());
        assert!(!t.on_soap_unauthorized());
        let mut d = AuthChoice::new(AuthMode::HttpDigest);
        assert!(!d.send_token());
        assert!(d.on_http_401());
        assert!(!d.on_soap_unauthorized());
        assert!(!d.send_token());
    }
}
