//! Authentication shared by RTSP and ONVIF, client and server side. Pure: no IO.
//!
//! - [`Credentials`]: user name and password, never shown in `Debug`/`Display`.
//! - Digest ([`DigestClient`]) per RFC 7616/2617 (MD5, MD5-sess, SHA-256, SHA-256-sess),
//!   Basic ([`basic_authorization`]), and [`HttpAuth`], the state machine an HTTP or RTSP client
//!   drives: it answers 401 challenges, picks the strongest scheme, reuses the nonce across
//!   requests, retries once on `stale=true`, and says "unauthorized" when the camera rejects
//!   the credentials.
//! - WS-Security [`UsernameToken`] for ONVIF SOAP.
//! - [`server`]: the verifiers the mock cameras use.
//!
//! ```
//! use camlink::auth::{Credentials, HttpAuth};
//!
//! let mut auth = HttpAuth::new(Some(Credentials::new("admin", "secret")));
//! // The first request goes out without Authorization; the camera answers 401:
//! assert!(auth.authorization("DESCRIBE", "rtsp://cam/live", b"").is_none());
//! auth.on_unauthorized([r#"Digest realm="cam", nonce="abc", qop="auth""#]).unwrap();
//! // Now every request carries digest credentials computed on the same nonce.
//! let h = auth.authorization("DESCRIBE", "rtsp://cam/live", b"").unwrap();
//! assert!(h.starts_with("Digest "));
//! // A second 401 on the same nonce means the password is wrong.
//! let err = auth.on_unauthorized([r#"Digest realm="cam", nonce="abc", qop="auth""#]).unwrap_err();
//! assert_eq!(err.kind(), &camlink::ErrorKind::Unauthorized);
//! ```

mod basic;
mod challenge;
mod credentials;
mod digest;
pub mod server;
mod username_token;

pub use basic::{basic_authorization, verify_basic};
pub use challenge::{
    Challenge, MAX_CHALLENGES, MAX_HEADER_LEN, MAX_PARAMS, parse_challenges, parse_credentials,
};
pub use credentials::Credentials;
pub use digest::{
    DigestAlgorithm, DigestChallenge, DigestClient, DigestInput, Qop, compute_response,
};
pub use username_token::{
    BASE64_ENCODING_TYPE, PASSWORD_DIGEST_TYPE, PASSWORD_TEXT_TYPE, PasswordType, UsernameToken,
    WSSE_NS, WSU_NS, password_digest,
};

use crate::error::{Error, ErrorKind, Result};

/// Consecutive `stale=true` answers accepted before giving up (a server that always says stale
/// would otherwise loop forever).
pub const MAX_STALE_RETRIES: u32 = 3;

/// `N` random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness (should not happen on supported targets): fall back to a time- and
        // counter-derived value, unique per call though not unpredictable.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32);
        let h = <sha2::Sha256 as sha2::Digest>::digest(seed.to_le_bytes());
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = h[i % h.len()];
        }
    }
    b
}

/// A random 64-bit number from the operating system.
pub(crate) fn random_u64() -> u64 {
    u64::from_le_bytes(random_bytes::<8>())
}

/// Compares two byte strings in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Which HTTP/RTSP schemes a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemePolicy {
    /// Digest when offered; Basic only when nothing else is offered and the connection is
    /// encrypted (or the caller allowed Basic over plain text).
    #[default]
    Auto,
    /// Digest only.
    DigestOnly,
    /// Basic only (sent pre-emptively on the first request once a 401 asked for it).
    BasicOnly,
}

#[derive(Debug, Clone)]
enum State {
    /// No challenge seen yet: send nothing.
    Fresh,
    Basic,
    Digest(DigestClient),
}

/// The client side of HTTP/RTSP authentication for one server.
///
/// Drive it with [`authorization`](Self::authorization) before each request and
/// [`on_unauthorized`](Self::on_unauthorized) on each 401. It never shows the password in
/// `Debug`.
#[derive(Debug, Clone)]
pub struct HttpAuth {
    credentials: Option<Credentials>,
    state: State,
    policy: SchemePolicy,
    encrypted: bool,
    allow_basic_plaintext: bool,
    /// A request was answered 401 after we sent credentials on the current challenge.
    sent_on_current: bool,
    stale_retries: u32,
    /// One retry on a new (not stale) nonce after a refusal has been spent.
    fresh_retry_used: bool,
}

impl HttpAuth {
    /// A client with these credentials (or none: then any 401 is final).
    pub fn new(credentials: Option<Credentials>) -> Self {
        HttpAuth {
            credentials,
            state: State::Fresh,
            policy: SchemePolicy::Auto,
            encrypted: false,
            allow_basic_plaintext: false,
            sent_on_current: false,
            stale_retries: 0,
            fresh_retry_used: false,
        }
    }

    /// Restricts the schemes used.
    pub fn with_policy(mut self, policy: SchemePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Declares the connection encrypted (HTTPS, RTSPS): Basic is then acceptable.
    pub fn with_encrypted(mut self, encrypted: bool) -> Self {
        self.encrypted = encrypted;
        self
    }

    /// Allows Basic over an unencrypted connection when the server offers nothing else.
    /// The password then crosses the network in the clear; a warning is logged.
    pub fn with_basic_over_plaintext(mut self, allow: bool) -> Self {
        self.allow_basic_plaintext = allow;
        self
    }

    /// The credentials, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The scheme in use after a challenge (`"Digest"`, `"Basic"`), if any.
    pub fn scheme(&self) -> Option<&'static str> {
        match self.state {
            State::Fresh => None,
            State::Basic => Some("Basic"),
            State::Digest(_) => Some("Digest"),
        }
    }

    /// The `Authorization` value for the next request, or `None` before any challenge.
    pub fn authorization(&mut self, method: &str, uri: &str, body: &[u8]) -> Option<String> {
        let creds = self.credentials.as_ref()?;
        let value = match &mut self.state {
            State::Fresh => return None,
            State::Basic => basic_authorization(creds),
            State::Digest(d) => d.authorization(creds, method, uri, body),
        };
        self.sent_on_current = true;
        Some(value)
    }

    /// Call after a successful (non-401) response: the credentials work.
    pub fn on_success(&mut self) {
        self.stale_retries = 0;
        self.fresh_retry_used = false;
    }

    /// Takes the `WWW-Authenticate` values of a 401 response. `Ok(())` means: retry the request
    /// with a fresh [`authorization`](Self::authorization). An error means stop: wrong or
    /// missing credentials ([`ErrorKind::Unauthorized`]), or no scheme camlink may use
    /// ([`ErrorKind::Unsupported`]).
    pub fn on_unauthorized<'a>(
        &mut self,
        www_authenticate: impl IntoIterator<Item = &'a str>,
    ) -> Result<()> {
        let challenges = parse_challenges(www_authenticate);
        if self.credentials.is_none() {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "the camera requires credentials and none were given",
            ));
        }
        let best_digest = challenges
            .iter()
            .filter(|c| c.is_scheme("Digest"))
            .filter_map(|c| DigestChallenge::from_challenge(c).ok())
            .max_by_key(|d| d.algorithm.strength());
        let offers_basic = challenges.iter().any(|c| c.is_scheme("Basic"));
        let use_digest = self.policy != SchemePolicy::BasicOnly && best_digest.is_some();

        if let Some(d) = best_digest.filter(|_| use_digest) {
            let previous = match &self.state {
                State::Digest(prev) => Some(prev.challenge().clone()),
                _ => None,
            };
            let rejected_before = self.sent_on_current;
            self.sent_on_current = false;
            if d.stale && rejected_before {
                self.stale_retries += 1;
                if self.stale_retries > MAX_STALE_RETRIES {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        "the camera keeps declaring every digest nonce stale",
                    ));
                }
                tracing::debug!("digest nonce stale; retrying with the new nonce");
                self.state = State::Digest(DigestClient::new(d));
                return Ok(());
            }
            let same_nonce = previous.as_ref().is_some_and(|p| p.nonce == d.nonce);
            if rejected_before && previous.is_some() {
                // Refused on this very nonce, or refused again after one retry on a new nonce
                // (some cameras issue a new nonce with every 401 instead of saying stale).
                if same_nonce || self.fresh_retry_used {
                    return Err(Error::new(
                        ErrorKind::Unauthorized,
                        "the camera rejected the user name or password (digest)",
                    ));
                }
                self.fresh_retry_used = true;
            }
            tracing::debug!(
                algorithm = d.algorithm.name(),
                "using digest authentication"
            );
            self.state = State::Digest(DigestClient::new(d));
            return Ok(());
        }

        if offers_basic && self.policy != SchemePolicy::DigestOnly {
            if matches!(self.state, State::Basic) && self.sent_on_current {
                return Err(Error::new(
                    ErrorKind::Unauthorized,
                    "the camera rejected the user name or password (basic)",
                ));
            }
            if !self.encrypted && !self.allow_basic_plaintext {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "the camera offers only Basic authentication on an unencrypted connection; \
                     allow Basic over plain text to send the password in the clear, or use HTTPS/RTSPS",
                ));
            }
            if !self.encrypted {
                tracing::warn!("sending Basic credentials over an unencrypted connection");
            }
            self.state = State::Basic;
            self.sent_on_current = false;
            return Ok(());
        }

        let offered: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
        if offered.is_empty() {
            // A 401 without a usable challenge after we sent credentials: they were refused.
            if self.sent_on_current {
                return Err(Error::new(
                    ErrorKind::Unauthorized,
                    "the camera rejected the credentials (401 without a challenge)",
                ));
            }
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "the camera answered 401 without a WWW-Authenticate challenge",
            ));
        }
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "no supported authentication scheme offered (offered: {})",
                offered.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Option<Credentials> {
        Some(Credentials::new("admin", "pw"))
    }

    #[test]
    fn picks_strongest_digest_over_basic() {
        let mut a = HttpAuth::new(creds());
        a.on_unauthorized([
            r#"Basic realm="r""#,
            r#"Digest realm="r", nonce="n1", algorithm=MD5, qop="auth""#,
            r#"Digest realm="r", nonce="n1", algorithm=SHA-256, qop="auth""#,
        ])
        .unwrap();
        let h = a.authorization("GET", "/", b"").unwrap();
        assert!(h.contains("algorithm=SHA-256"), "{h}");
    }

    #[test]
    fn stale_retries_do_not_count_as_failures_but_are_bounded() {
        let mut a = HttpAuth::new(creds());
        a.on_unauthorized([r#"Digest realm="r", nonce="n1""#])
            .unwrap();
        for i in 0..MAX_STALE_RETRIES {
            a.authorization("GET", "/", b"").unwrap();
            let ch = format!(r#"Digest realm="r", nonce="s{i}", stale=true"#);
            a.on_unauthorized([ch.as_str()]).unwrap();
            assert!(
                a.authorization("GET", "/", b"")
                    .unwrap()
                    .contains(&format!("nonce=\"s{i}\""))
            );
            a.on_success();
        }
        // Without on_success between them, a server that always says stale ends in an error.
        let mut a = HttpAuth::new(creds());
        a.on_unauthorized([r#"Digest realm="r", nonce="n1""#])
            .unwrap();
        let mut last = Ok(());
        for i in 0..=MAX_STALE_RETRIES {
            a.authorization("GET", "/", b"");
            let ch = format!(r#"Digest realm="r", nonce="s{i}", stale=true"#);
            last = a.on_unauthorized([ch.as_str()]);
        }
        assert_eq!(last.unwrap_err().kind(), &ErrorKind::Protocol);
    }

    #[test]
    fn new_nonce_after_rejection_is_still_unauthorized() {
        let mut a = HttpAuth::new(creds());
        a.on_unauthorized([r#"Digest realm="r", nonce="n1""#])
            .unwrap();
        a.authorization("GET", "/", b"");
        // A camera that hands out a new nonce with every 401 gets one more try...
        a.on_unauthorized([r#"Digest realm="r", nonce="n2""#])
            .unwrap();
        a.authorization("GET", "/", b"");
        // ...and a second refusal is final.
        let e = a
            .on_unauthorized([r#"Digest realm="r", nonce="n3""#])
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Unauthorized);
    }

    #[test]
    fn basic_needs_encryption_or_consent() {
        let mut a = HttpAuth::new(creds());
        let e = a.on_unauthorized([r#"Basic realm="r""#]).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Unsupported);

        let mut a = HttpAuth::new(creds()).with_basic_over_plaintext(true);
        a.on_unauthorized([r#"Basic realm="r""#]).unwrap();
        assert_eq!(
            a.authorization("GET", "/", b"").unwrap(),
            "Basic YWRtaW46cHc="
        );
        let e = a.on_unauthorized([r#"Basic realm="r""#]).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Unauthorized);

        let mut a = HttpAuth::new(creds()).with_encrypted(true);
        a.on_unauthorized([r#"Basic realm="r""#]).unwrap();
        assert_eq!(a.scheme(), Some("Basic"));
    }

    #[test]
    fn no_credentials_and_unknown_schemes() {
        let mut a = HttpAuth::new(None);
        assert_eq!(
            a.on_unauthorized([r#"Digest realm="r", nonce="n""#])
                .unwrap_err()
                .kind(),
            &ErrorKind::Unauthorized
        );
        let mut a = HttpAuth::new(creds());
        assert_eq!(
            a.on_unauthorized(["Negotiate"]).unwrap_err().kind(),
            &ErrorKind::Unsupported
        );
        let mut a = HttpAuth::new(creds()).with_policy(SchemePolicy::DigestOnly);
        assert_eq!(
            a.on_unauthorized([r#"Basic realm="r""#])
                .unwrap_err()
                .kind(),
            &ErrorKind::Unsupported
        );
    }

    #[test]
    fn debug_hides_password() {
        let mut a = HttpAuth::new(Some(Credentials::new("admin", "Sup3rS3cret")));
        a.on_unauthorized([r#"Digest realm="r", nonce="n""#])
            .unwrap();
        assert!(!format!("{a:?}").contains("Sup3rS3cret"));
    }
}
