//! Server-side verification, for the mock cameras: Digest with nonces issued, aged and checked
//! for replay, and WS-Security UsernameToken with a clock-skew window and nonce replay check.
//!
//! Pure: the current time comes in as an argument (`Instant` for digest nonce ages, Unix seconds
//! for UsernameToken `Created`), and all state is bounded.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::challenge::{parse_credentials, quote};
use super::digest::{DigestAlgorithm, DigestChallenge, DigestInput, Qop, compute_response, hex};
use super::username_token::{PasswordType, password_digest};
use crate::datetime::parse_datetime;

/// Most nonces a [`DigestServer`] remembers; the oldest is forgotten first.
pub const MAX_DIGEST_NONCES: usize = 1024;
/// Most UsernameToken nonces a [`UsernameTokenVerifier`] remembers for replay detection.
pub const MAX_TOKEN_NONCES: usize = 4096;

/// Why a request's credentials were not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No credentials, or not of an accepted scheme.
    Missing,
    /// Credentials that could not be parsed.
    Malformed,
    /// Unknown user or wrong password.
    BadCredentials,
    /// A nonce (or nonce count) seen before.
    Replay,
    /// Right password, but the nonce expired: the client should retry with the new nonce.
    Stale,
    /// Right password, but the token's `Created` is outside the skew window.
    ClockSkew,
}

/// A Digest verifier that issues nonces and remembers them.
#[derive(Debug)]
pub struct DigestServer {
    realm: String,
    algorithms: Vec<DigestAlgorithm>,
    use_qop: bool,
    nonce_lifetime: Duration,
    nonces: HashMap<String, NonceState>,
    order: VecDeque<String>,
}

#[derive(Debug, Clone)]
struct NonceState {
    issued: Instant,
    last_nc: u32,
    expired: bool,
}

impl DigestServer {
    /// A verifier for `realm` offering `algorithms` (in the order the challenges are sent),
    /// with qop `auth` and nonces that live 5 minutes.
    pub fn new(realm: impl Into<String>, algorithms: Vec<DigestAlgorithm>) -> Self {
        DigestServer {
            realm: realm.into(),
            algorithms,
            use_qop: true,
            nonce_lifetime: Duration::from_secs(300),
            nonces: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether challenges offer qop `auth` (true) or are RFC 2069 style (false).
    pub fn with_qop(mut self, qop: bool) -> Self {
        self.use_qop = qop;
        self
    }

    /// How long a nonce stays valid.
    pub fn with_nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = lifetime;
        self
    }

    /// Issues a new nonce and returns the `WWW-Authenticate` values, one per algorithm.
    pub fn challenges(&mut self, now: Instant, stale: bool) -> Vec<String> {
        let nonce = hex(&super::random_bytes::<16>());
        self.remember(nonce.clone(), now);
        self.algorithms
            .iter()
            .map(|alg| {
                let mut v = format!(
                    "Digest realm={}, nonce={}, algorithm={}",
                    quote(&self.realm),
                    quote(&nonce),
                    alg.name()
                );
                if self.use_qop {
                    v.push_str(", qop=\"auth\"");
                }
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect()
    }

    /// Marks every nonce issued so far as expired: the next request of each client gets a
    /// `stale=true` challenge (the "rotate nonce" fault of the mock).
    pub fn expire_all(&mut self) {
        for s in self.nonces.values_mut() {
            s.expired = true;
        }
    }

    fn remember(&mut self, nonce: String, now: Instant) {
        while self.order.len() >= MAX_DIGEST_NONCES {
            if let Some(old) = self.order.pop_front() {
                self.nonces.remove(&old);
            }
        }
        self.order.push_back(nonce.clone());
        self.nonces.insert(
            nonce,
            NonceState {
                issued: now,
                last_nc: 0,
                expired: false,
            },
        );
    }

    /// Verifies an `Authorization` value for a request; returns the user name on success.
    ///
    /// `lookup` gives the password of a user. A right response on an expired or unknown nonce
    /// gives [`Rejection::Stale`]; a nonce count that does not grow gives [`Rejection::Replay`].
    pub fn verify(
        &mut self,
        method: &str,
        authorization: Option<&str>,
        body: &[u8],
        lookup: impl Fn(&str) -> Option<String>,
        now: Instant,
    ) -> Result<String, Rejection> {
        let c = parse_credentials(authorization.ok_or(Rejection::Missing)?)
            .ok_or(Rejection::Malformed)?;
        if !c.is_scheme("Digest") {
            return Err(Rejection::Missing);
        }
        let p = |n: &str| c.param(n);
        let (user, nonce, uri, response) =
            match (p("username"), p("nonce"), p("uri"), p("response")) {
                (Some(u), Some(n), Some(uri), Some(r)) => (u, n, uri, r),
                _ => return Err(Rejection::Malformed),
            };
        if p("realm") != Some(self.realm.as_str()) {
            return Err(Rejection::BadCredentials);
        }
        let algorithm = match p("algorithm") {
            Some(a) => DigestAlgorithm::parse(a).ok_or(Rejection::Malformed)?,
            None => DigestAlgorithm::Md5,
        };
        if !self.algorithms.contains(&algorithm) {
            return Err(Rejection::BadCredentials);
        }
        let qop = match p("qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => Some(Qop::Auth),
            Some(q) if q.eq_ignore_ascii_case("auth-int") => Some(Qop::AuthInt),
            Some(_) => return Err(Rejection::Malformed),
        };
        // A response without qop (RFC 2069 style) is accepted even when qop was offered, as
        // cameras do: GStreamer's rtspsrc, among others, never sends qop.
        let nc = match (qop, p("nc")) {
            (None, _) => 0,
            (Some(_), Some(nc)) => {
                u32::from_str_radix(nc.trim(), 16).map_err(|_| Rejection::Malformed)?
            }
            (Some(_), None) => return Err(Rejection::Malformed),
        };
        let cnonce = p("cnonce").unwrap_or_default();
        let password = lookup(user).ok_or(Rejection::BadCredentials)?;
        let ch = DigestChallenge {
            realm: self.realm.clone(),
            nonce: nonce.to_string(),
            opaque: None,
            algorithm,
            algorithm_given: true,
            qop: Vec::new(),
            stale: false,
            userhash: false,
        };
        let input = DigestInput {
            method,
            uri,
            body,
            cnonce,
            nc,
        };
        let expected = compute_response(&ch, user, &password, qop, &input);
        if !super::constant_time_eq(expected.as_bytes(), response.trim().as_bytes()) {
            return Err(Rejection::BadCredentials);
        }
        let lifetime = self.nonce_lifetime;
        let Some(state) = self.nonces.get_mut(nonce) else {
            return Err(Rejection::Stale);
        };
        if state.expired || now.saturating_duration_since(state.issued) > lifetime {
            state.expired = true;
            return Err(Rejection::Stale);
        }
        if qop.is_some() {
            if nc <= state.last_nc {
                return Err(Rejection::Replay);
            }
            state.last_nc = nc;
        }
        Ok(user.to_string())
    }
}

/// The fields of a received UsernameToken, as the SOAP parser found them.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedToken<'a> {
    /// `Username`.
    pub username: &'a str,
    /// `Password` content.
    pub password: &'a str,
    /// From the `Password` element's `Type` (digest when absent or unknown).
    pub password_type: PasswordType,
    /// `Nonce`, base64.
    pub nonce_b64: Option<&'a str>,
    /// `Created`.
    pub created: Option<&'a str>,
}

/// Verifies UsernameTokens: password digest, `Created` within a skew window of the server's
/// clock, and nonces never seen twice (within the window).
#[derive(Debug)]
pub struct UsernameTokenVerifier {
    skew: Duration,
    seen: HashMap<String, i64>,
    order: VecDeque<String>,
}

impl UsernameTokenVerifier {
    /// A verifier accepting tokens created within `skew` of the server's time.
    pub fn new(skew: Duration) -> Self {
        UsernameTokenVerifier {
            skew,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Checks a token at server time `now_unix`; returns the user name on success.
    ///
    /// The skew check is reported only when the password is right, so that a client can tell a
    /// wrong password from a wrong clock.
    pub fn verify(
        &mut self,
        token: &ReceivedToken<'_>,
        lookup: impl Fn(&str) -> Option<String>,
        now_unix: i64,
    ) -> Result<String, Rejection> {
        let password = lookup(token.username).ok_or(Rejection::BadCredentials)?;
        let matches = match token.password_type {
            PasswordType::Text => {
                super::constant_time_eq(password.as_bytes(), token.password.as_bytes())
            }
            PasswordType::Digest => {
                let nonce_b64 = token.nonce_b64.ok_or(Rejection::Malformed)?;
                let created = token.created.ok_or(Rejection::Malformed)?;
                let nonce = STANDARD
                    .decode(nonce_b64.trim())
                    .map_err(|_| Rejection::Malformed)?;
                let expected = password_digest(&nonce, created.trim(), &password);
                super::constant_time_eq(expected.as_bytes(), token.password.trim().as_bytes())
            }
        };
        if !matches {
            return Err(Rejection::BadCredentials);
        }
        if let Some(created) = token.created {
            let t = parse_datetime(created).ok_or(Rejection::Malformed)?;
            if t.abs_diff(now_unix) > self.skew.as_secs() {
                return Err(Rejection::ClockSkew);
            }
        }
        if let Some(nonce) = token.nonce_b64 {
            let nonce = nonce.trim().to_string();
            if self.seen.contains_key(&nonce) {
                return Err(Rejection::Replay);
            }
            while self.order.len() >= MAX_TOKEN_NONCES {
                if let Some(old) = self.order.pop_front() {
                    self.seen.remove(&old);
                }
            }
            self.order.push_back(nonce.clone());
            self.seen.insert(nonce, now_unix);
        }
        Ok(token.username.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Credentials, DigestClient, UsernameToken, parse_challenges};
    use proptest::prelude::*;

    fn lookup(u: &str) -> Option<String> {
        (u == "admin").then(|| "s3cret:/@".to_string())
    }

    fn client_for(server: &mut DigestServer, now: Instant) -> DigestClient {
        let values = server.challenges(now, false);
        let ch = parse_challenges(values.iter().map(String::as_str));
        DigestClient::new(DigestChallenge::from_challenge(&ch[0]).unwrap())
    }

    #[test]
    fn digest_accepts_rejects_replays_and_ages() {
        let t0 = Instant::now();
        let mut server =
            DigestServer::new("cam", vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5]);
        let mut client = client_for(&mut server, t0);
        let creds = Credentials::new("admin", "s3cret:/@");
        let h = client.authorization(&creds, "DESCRIBE", "rtsp://h/", b"");
        assert_eq!(
            server
                .verify("DESCRIBE", Some(&h), b"", lookup, t0)
                .as_deref(),
            Ok("admin")
        );
        // The same header again: nc did not grow.
        assert_eq!(
            server.verify("DESCRIBE", Some(&h), b"", lookup, t0),
            Err(Rejection::Replay)
        );
        // A wrong method is a wrong response.
        let h2 = client.authorization(&creds, "DESCRIBE", "rtsp://h/", b"");
        assert_eq!(
            server.verify("SETUP", Some(&h2), b"", lookup, t0),
            Err(Rejection::BadCredentials)
        );
        // Too old: stale.
        let late = t0 + Duration::from_secs(301);
        let h3 = client.authorization(&creds, "PLAY", "rtsp://h/", b"");
        assert_eq!(
            server.verify("PLAY", Some(&h3), b"", lookup, late),
            Err(Rejection::Stale)
        );
        assert_eq!(
            server.verify("PLAY", None, b"", lookup, t0),
            Err(Rejection::Missing)
        );
    }

    #[test]
    fn expire_all_makes_clients_stale() {
        let t0 = Instant::now();
        let mut server = DigestServer::new("cam", vec![DigestAlgorithm::Md5]);
        let mut client = client_for(&mut server, t0);
        let creds = Credentials::new("admin", "s3cret:/@");
        server.expire_all();
        let h = client.authorization(&creds, "OPTIONS", "*", b"");
        assert_eq!(
            server.verify("OPTIONS", Some(&h), b"", lookup, t0),
            Err(Rejection::Stale)
        );
        let v = server.challenges(t0, true);
        assert!(v[0].contains("stale=true"));
    }

    #[test]
    fn rfc2069_server() {
        let t0 = Instant::now();
        let mut server = DigestServer::new("cam", vec![DigestAlgorithm::Md5]).with_qop(false);
        let mut client = client_for(&mut server, t0);
        let h = client.authorization(&Credentials::new("admin", "s3cret:/@"), "GET", "/", b"");
        assert!(!h.contains("qop"));
        assert!(server.verify("GET", Some(&h), b"", lookup, t0).is_ok());
    }

    #[test]
    fn response_without_qop_accepted_when_qop_offered() {
        // GStreamer's rtspsrc answers a qop challenge RFC 2069 style; cameras accept that.
        let t0 = Instant::now();
        let mut server = DigestServer::new("cam", vec![DigestAlgorithm::Md5]);
        let values = server.challenges(t0, false);
        let no_qop = values[0].replace(", qop=\"auth\"", "");
        let ch = parse_challenges([no_qop.as_str()]);
        let mut client = DigestClient::new(DigestChallenge::from_challenge(&ch[0]).unwrap());
        let h = client.authorization(
            &Credentials::new("admin", "s3cret:/@"),
            "DESCRIBE",
            "rtsp://h/",
            b"",
        );
        assert!(!h.contains("qop"));
        assert!(server.verify("DESCRIBE", Some(&h), b"", lookup, t0).is_ok());
    }

    fn token(t: &UsernameToken) -> ReceivedToken<'_> {
        ReceivedToken {
            username: "admin",
            password: t.password_value(),
            password_type: PasswordType::Digest,
            nonce_b64: Some(t.nonce_b64()),
            created: Some(t.created()),
        }
    }

    #[test]
    fn username_token_skew_and_replay() {
        let mut v = UsernameTokenVerifier::new(Duration::from_secs(60));
        let creds = Credentials::new("admin", "s3cret:/@");
        let now = 1_700_000_000;
        let t = UsernameToken::generate(&creds, now + 30, PasswordType::Digest);
        assert_eq!(v.verify(&token(&t), lookup, now).as_deref(), Ok("admin"));
        assert_eq!(v.verify(&token(&t), lookup, now), Err(Rejection::Replay));
        let late = UsernameToken::generate(&creds, now - 7200, PasswordType::Digest);
        assert_eq!(
            v.verify(&token(&late), lookup, now),
            Err(Rejection::ClockSkew)
        );
        // Wrong password and wrong clock: reported as bad credentials, not skew.
        let wrong = UsernameToken::generate(
            &Credentials::new("admin", "x"),
            now - 7200,
            PasswordType::Digest,
        );
        assert_eq!(
            v.verify(&token(&wrong), lookup, now),
            Err(Rejection::BadCredentials)
        );
    }

    proptest! {
        #[test]
        fn digest_client_and_server_agree(
            password in ".{0,24}",
            method in "[A-Z_]{1,12}",
            uri in "[ -~]{1,40}",
            alg in 0usize..4,
            qop in proptest::bool::ANY,
            flip in 0usize..64,
        ) {
            let algs = [DigestAlgorithm::Md5, DigestAlgorithm::Md5Sess, DigestAlgorithm::Sha256, DigestAlgorithm::Sha256Sess];
            let t0 = Instant::now();
            let mut server = DigestServer::new("realm", vec![algs[alg]]).with_qop(qop);
            let pw = password.clone();
            let look = move |u: &str| (u == "user").then(|| pw.clone());
            let mut client = client_for(&mut server, t0);
            let h = client.authorization(&Credentials::new("user", password.clone()), &method, &uri, b"");
            prop_assert_eq!(server.verify(&method, Some(&h), b"", &look, t0), Ok("user".to_string()));
            // One byte changed in the password: rejected.
            let mut bad = password.into_bytes();
            if bad.is_empty() { bad.push(b'x') } else { let i = flip % bad.len(); bad[i] ^= 1; }
            let bad = String::from_utf8_lossy(&bad).into_owned();
            let h = client.authorization(&Credentials::new("user", bad), &method, &uri, b"");
            prop_assert_eq!(server.verify(&method, Some(&h), b"", &look, t0), Err(Rejection::BadCredentials));
        }

        #[test]
        fn username_token_client_and_server_agree(password in ".{0,24}", flip in 0usize..64, skew in -59i64..59) {
            let mut v = UsernameTokenVerifier::new(Duration::from_secs(60));
            let pw = password.clone();
            let look = move |u: &str| (u == "admin").then(|| pw.clone());
            let now = 1_600_000_000;
            let t = UsernameToken::generate(&Credentials::new("admin", password.clone()), now + skew, PasswordType::Digest);
            prop_assert_eq!(v.verify(&token(&t), &look, now), Ok("admin".to_string()));
            let mut bad = password.into_bytes();
            if bad.is_empty() { bad.push(b'x') } else { let i = flip % bad.len(); bad[i] ^= 0x20; }
            let bad = String::from_utf8_lossy(&bad).into_owned();
            let t = UsernameToken::generate(&Credentials::new("admin", bad), now, PasswordType::Digest);
            prop_assert_eq!(v.verify(&token(&t), &look, now), Err(Rejection::BadCredentials));
        }
    }
}
