//! The client side of one RTSP session, without IO: CSeq numbering, the `Session` id and
//! timeout, authentication retries, bounded redirects, the keepalive method and its deadlines.
//!
//! The IO shell ([`crate::rtsp::client`]) asks this core for each request
//! ([`ClientSession::request`]), sends it, and hands the answer back
//! ([`ClientSession::on_response`]), which says whether to use it, send the request again
//! (after a 401 or a stale nonce) or follow a redirect. Time comes in as `Instant`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use camlink::auth::Credentials;
//! use camlink::rtsp::message::{Method, Response};
//! use camlink::rtsp::session::{ClientSession, Next};
//!
//! let mut s = ClientSession::new(Some(Credentials::new("admin", "pw")), false);
//! let req = s.request(Method::Describe, "rtsp://cam/live").build()?;
//! assert_eq!(req.headers.cseq(), Some(1));
//! let challenge = Response::builder(401)
//!     .cseq(1)
//!     .header("WWW-Authenticate", r#"Digest realm="cam", nonce="n1""#)
//!     .build()?;
//! let now = Instant::now();
//! assert!(matches!(s.on_response(&Method::Describe, &challenge, now)?, Next::Resend));
//! let again = s.request(Method::Describe, "rtsp://cam/live").build()?;
//! assert!(again.headers.get("Authorization").unwrap().starts_with("Digest "));
//! let ok = Response::builder(200).cseq(2).header("Session", "abc;timeout=30").build()?;
//! assert!(matches!(s.on_response(&Method::Describe, &ok, now)?, Next::Done));
//! assert_eq!(s.session_id(), Some("abc"));
//! assert_eq!(s.keepalive_interval(), Duration::from_secs(15));
//! # Ok::<(), camlink::Error>(())
//! ```

use std::time::{Duration, Instant};

use url::Url;

use crate::auth::{Credentials, HttpAuth};
use crate::rtsp::headers::{SessionHeader, parse_public};
use crate::rtsp::message::{Method, Request, RequestBuilder, Response, names};
use crate::{Error, ErrorKind, Result};

/// Redirects (3xx) followed for one request before giving up.
pub const MAX_REDIRECTS: u32 = 5;
/// The session timeout assumed when the server announces none (RFC 2326 §12.37).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// Shortest keepalive interval, whatever timeout the server announces.
pub const MIN_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
/// Requests re-sent after 401s for one request (digest challenge, stale nonces) before giving up.
pub const MAX_AUTH_RETRIES: u32 = 5;

/// How the session is kept alive while playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeepaliveMethod {
    /// `OPTIONS` first; when the camera fails it, `GET_PARAMETER` then `SET_PARAMETER` if the
    /// camera advertises them in `Public`.
    #[default]
    Auto,
    /// Always `OPTIONS`.
    Options,
    /// Always `GET_PARAMETER`.
    GetParameter,
    /// Always `SET_PARAMETER`.
    SetParameter,
    /// No keepalive requests (RTCP receiver reports may still keep the session alive).
    None,
}

/// What to do with a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The request succeeded (2xx); use the response.
    Done,
    /// Send the request again (new CSeq, new `Authorization`).
    Resend,
    /// Send the request to this URL (a 3xx `Location`), on a new connection if the host changed.
    Redirect(Url),
}

/// The pure client-side session state. See the [module docs](self).
#[derive(Debug)]
pub struct ClientSession {
    cseq: u32,
    auth: HttpAuth,
    user_agent: Option<String>,
    require: Option<String>,
    session: Option<SessionHeader>,
    public: Vec<Method>,
    keepalive: KeepaliveMethod,
    /// Index into the Auto candidates (OPTIONS, GET_PARAMETER, SET_PARAMETER).
    keepalive_step: usize,
    next_keepalive: Option<Instant>,
    redirects: u32,
    auth_retries: u32,
}

impl ClientSession {
    /// A session with these credentials; `encrypted` (RTSPS) makes Basic acceptable.
    pub fn new(credentials: Option<Credentials>, encrypted: bool) -> Self {
        ClientSession {
            cseq: 0,
            auth: HttpAuth::new(credentials).with_encrypted(encrypted),
            user_agent: None,
            require: None,
            session: None,
            public: Vec::new(),
            keepalive: KeepaliveMethod::Auto,
            keepalive_step: 0,
            next_keepalive: None,
            redirects: 0,
            auth_retries: 0,
        }
    }

    /// Allows Basic authentication over plain RTSP (the password crosses the network in clear).
    pub fn with_basic_over_plaintext(mut self, allow: bool) -> Self {
        self.auth = self.auth.with_basic_over_plaintext(allow);
        self
    }

    /// Sets the `User-Agent` of every request.
    pub fn with_user_agent(mut self, agent: Option<String>) -> Self {
        self.user_agent = agent;
        self
    }

    /// Sets a `Require` value for every request (the ONVIF backchannel:
    /// `www.onvif.org/ver20/backchannel`).
    pub fn with_require(mut self, require: Option<String>) -> Self {
        self.require = require;
        self
    }

    /// Sets the keepalive method.
    pub fn with_keepalive(mut self, method: KeepaliveMethod) -> Self {
        self.keepalive = method;
        self
    }

    /// The CSeq of the last request built.
    pub fn last_cseq(&self) -> u32 {
        self.cseq
    }

    /// The session id, once a SETUP answered one.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.id.as_str())
    }

    /// The session timeout the server announced (or the RFC default).
    pub fn session_timeout(&self) -> Duration {
        self.session
            .as_ref()
            .and_then(|s| s.timeout)
            .filter(|t| *t > 0)
            .map(|t| Duration::from_secs(u64::from(t)))
            .unwrap_or(DEFAULT_SESSION_TIMEOUT)
    }

    /// Methods the server listed in `Public` (empty before an OPTIONS answer).
    pub fn public(&self) -> &[Method] {
        &self.public
    }

    /// The request builder for `method` on `url` with the next CSeq, `User-Agent`,
    /// `Authorization`, `Session` and `Require` filled in.
    pub fn request(&mut self, method: Method, url: &str) -> RequestBuilder {
        self.cseq = self.cseq.wrapping_add(1);
        let mut b = Request::builder(method.clone(), url).cseq(self.cseq);
        if let Some(ua) = &self.user_agent {
            b = b.user_agent(ua);
        }
        if let Some(a) = self.auth.authorization(method.as_str(), url, b"") {
            b = b.authorization(&a);
        }
        if let Some(s) = &self.session
            && method != Method::Describe
        {
            b = b.session(&s.id);
        }
        if let Some(r) = &self.require {
            b = b.header(names::REQUIRE, r.clone());
        }
        b
    }

    /// Forgets the session id (after TEARDOWN, or to start over on a new connection).
    pub fn clear_session(&mut self) {
        self.session = None;
        self.next_keepalive = None;
    }

    /// Takes the response to the last request of `method`.
    ///
    /// Errors: 401 that cannot be answered → [`ErrorKind::Unauthorized`] (or `Unsupported`
    /// when only Basic is offered on plain RTSP); other non-2xx statuses →
    /// [`ErrorKind::RtspStatus`]; too many redirects → [`ErrorKind::Protocol`].
    pub fn on_response(&mut self, method: &Method, resp: &Response, now: Instant) -> Result<Next> {
        let ctx = |e: Error| e.with_method(method.as_str()).with_cseq(self.cseq);
        if resp.status == 401 {
            self.auth_retries += 1;
            if self.auth_retries > MAX_AUTH_RETRIES {
                return Err(ctx(Error::new(
                    ErrorKind::Unauthorized,
                    "the camera keeps answering 401",
                )));
            }
            self.auth
                .on_unauthorized(resp.www_authenticate())
                .map_err(|e| e.with_method(method.as_str()).with_cseq(self.cseq))?;
            return Ok(Next::Resend);
        }
        self.auth_retries = 0;
        if (300..400).contains(&resp.status) {
            let Some(loc) = resp.headers.get("Location") else {
                return Err(ctx(Error::new(
                    ErrorKind::RtspStatus(resp.status),
                    "redirect without a Location header",
                )));
            };
            self.redirects += 1;
            if self.redirects > MAX_REDIRECTS {
                return Err(ctx(Error::new(
                    ErrorKind::Protocol,
                    format!("more than {MAX_REDIRECTS} redirects"),
                )));
            }
            let url = Url::parse(loc.trim()).map_err(|_| {
                ctx(Error::new(
                    ErrorKind::Malformed,
                    "redirect Location is not a URL",
                ))
            })?;
            return Ok(Next::Redirect(url));
        }
        if !resp.is_success() {
            return Err(ctx(Error::new(
                ErrorKind::RtspStatus(resp.status),
                format!(
                    "{} answered {} {}",
                    method.as_str(),
                    resp.status,
                    resp.reason
                ),
            )));
        }
        self.auth.on_success();
        if *method == Method::Options {
            self.public = parse_public(resp.headers.get_all(names::PUBLIC));
        }
        if let Some(h) = resp
            .headers
            .get(names::SESSION)
            .and_then(SessionHeader::parse)
        {
            match &self.session {
                Some(old) if old.id != h.id => {
                    tracing::debug!("the camera changed the session id; following it");
                }
                _ => {}
            }
            let timeout = h.timeout.or(self.session.as_ref().and_then(|s| s.timeout));
            self.session = Some(SessionHeader { id: h.id, timeout });
            self.schedule_keepalive(now);
        }
        Ok(Next::Done)
    }

    /// Keepalives go out at half the session timeout (at least [`MIN_KEEPALIVE_INTERVAL`]).
    pub fn keepalive_interval(&self) -> Duration {
        (self.session_timeout() / 2).max(MIN_KEEPALIVE_INTERVAL)
    }

    fn schedule_keepalive(&mut self, now: Instant) {
        self.next_keepalive = Some(now + self.keepalive_interval());
    }

    /// When the next keepalive is due (`None` without a session or with keepalives off).
    pub fn next_keepalive(&self) -> Option<Instant> {
        if self.keepalive == KeepaliveMethod::None {
            return None;
        }
        self.next_keepalive
    }

    /// The method of the next keepalive.
    pub fn keepalive_method(&self) -> Method {
        match self.keepalive {
            KeepaliveMethod::Options | KeepaliveMethod::None => Method::Options,
            KeepaliveMethod::GetParameter => Method::GetParameter,
            KeepaliveMethod::SetParameter => Method::SetParameter,
            KeepaliveMethod::Auto => self
                .auto_candidates()
                .get(self.keepalive_step)
                .cloned()
                .unwrap_or(Method::Options),
        }
    }

    fn auto_candidates(&self) -> Vec<Method> {
        let mut c = vec![Method::Options];
        for m in [Method::GetParameter, Method::SetParameter] {
            if self.public.contains(&m) {
                c.push(m);
            }
        }
        c
    }

    /// Builds the keepalive request (on the aggregate `url`) and schedules the next one.
    pub fn keepalive_request(&mut self, url: &str, now: Instant) -> Result<Request> {
        self.schedule_keepalive(now);
        let m = self.keepalive_method();
        self.request(m, url).build()
    }

    /// Takes the answer to a keepalive. A refusal moves `Auto` to the next method; a lost
    /// session (454) or a 401 that cannot be answered is an error.
    pub fn on_keepalive_response(&mut self, resp: &Response, now: Instant) -> Result<()> {
        let m = self.keepalive_method();
        match self.on_response(&m, resp, now) {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::RtspStatus(454)) => Err(e),
            Err(e) if matches!(e.kind(), ErrorKind::RtspStatus(_)) => {
                if self.keepalive == KeepaliveMethod::Auto {
                    let n = self.auto_candidates().len();
                    self.keepalive_step = (self.keepalive_step + 1) % n.max(1);
                    tracing::debug!(
                        status = resp.status,
                        next = self.keepalive_method().as_str(),
                        "keepalive refused; trying another method"
                    );
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(cseq: u32) -> Response {
        Response::builder(200).cseq(cseq).build().unwrap()
    }

    #[test]
    fn cseq_increments_and_session_is_sent_after_setup() {
        let mut s = ClientSession::new(None, false);
        let now = Instant::now();
        let r = s.request(Method::Options, "rtsp://c/").build().unwrap();
        assert_eq!(r.headers.cseq(), Some(1));
        assert!(r.headers.get("Session").is_none());
        let setup = Response::builder(200)
            .cseq(2)
            .header("Session", "\t12345678 ; timeout = 8")
            .build()
            .unwrap();
        s.request(Method::Setup, "rtsp://c/t1");
        s.on_response(&Method::Setup, &setup, now).unwrap();
        let r = s.request(Method::Play, "rtsp://c/").build().unwrap();
        assert_eq!(r.headers.cseq(), Some(3));
        assert_eq!(r.headers.get("Session"), Some("12345678"));
        assert_eq!(s.session_timeout(), Duration::from_secs(8));
        assert_eq!(s.next_keepalive(), Some(now + Duration::from_secs(4)));
    }

    #[test]
    fn wrong_password_is_unauthorized() {
        let mut s = ClientSession::new(Some(Credentials::new("a", "b")), false);
        let now = Instant::now();
        let ch = Response::builder(401)
            .header("WWW-Authenticate", r#"Digest realm="r", nonce="n""#)
            .build()
            .unwrap();
        s.request(Method::Describe, "rtsp://c/");
        assert_eq!(
            s.on_response(&Method::Describe, &ch, now).unwrap(),
            Next::Resend
        );
        s.request(Method::Describe, "rtsp://c/");
        let e = s.on_response(&Method::Describe, &ch, now).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Unauthorized);
        assert_eq!(e.method(), Some("DESCRIBE"));
    }

    #[test]
    fn redirects_are_bounded() {
        let mut s = ClientSession::new(None, false);
        let now = Instant::now();
        let r = Response::builder(302)
            .header("Location", "rtsp://other:8554/x")
            .build()
            .unwrap();
        for _ in 0..MAX_REDIRECTS {
            assert!(matches!(
                s.on_response(&Method::Describe, &r, now).unwrap(),
                Next::Redirect(u) if u.port() == Some(8554)
            ));
        }
        let e = s.on_response(&Method::Describe, &r, now).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Protocol);
    }

    #[test]
    fn error_status_is_typed() {
        let mut s = ClientSession::new(None, false);
        let r = Response::builder(454).build().unwrap();
        let e = s
            .on_response(&Method::Play, &r, Instant::now())
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::RtspStatus(454));
    }

    #[test]
    fn auto_keepalive_moves_on_when_refused() {
        let mut s = ClientSession::new(None, false);
        let now = Instant::now();
        let opts = Response::builder(200)
            .header("Public", "OPTIONS, GET_PARAMETER, SET_PARAMETER")
            .build()
            .unwrap();
        s.on_response(&Method::Options, &opts, now).unwrap();
        assert_eq!(s.keepalive_method(), Method::Options);
        let refused = Response::builder(405).build().unwrap();
        s.on_keepalive_response(&refused, now).unwrap();
        assert_eq!(s.keepalive_method(), Method::GetParameter);
        s.on_keepalive_response(&refused, now).unwrap();
        assert_eq!(s.keepalive_method(), Method::SetParameter);
        s.on_keepalive_response(&ok(9), now).unwrap();
        assert_eq!(s.keepalive_method(), Method::SetParameter);
        let gone = Response::builder(454).build().unwrap();
        assert!(s.on_keepalive_response(&gone, now).is_err());
    }

    #[test]
    fn changed_session_id_is_followed_and_timeout_kept() {
        let mut s = ClientSession::new(None, false);
        let now = Instant::now();
        let a = Response::builder(200)
            .header("Session", "A;timeout=10")
            .build()
            .unwrap();
        let b = Response::builder(200)
            .header("Session", "B")
            .build()
            .unwrap();
        s.on_response(&Method::Setup, &a, now).unwrap();
        s.on_response(&Method::Setup, &b, now).unwrap();
        assert_eq!(s.session_id(), Some("B"));
        assert_eq!(s.session_timeout(), Duration::from_secs(10));
    }
}
