//! HTTP/RTSP Digest authentication, client side (RFC 7616, RFC 2617, and RFC 2069 style).
//!
//! Supports MD5, MD5-sess, SHA-256 and SHA-256-sess; qop `auth`, `auth-int` (when offered alone)
//! and no qop at all (RFC 2069, as GStreamer's RTSP server and many cameras send); `nc` counting
//! with a fresh `cnonce` per request; `userhash`; reuse of the nonce across requests.

use sha2::{Digest as _, Sha256};

use super::challenge::{Challenge, quote};
use super::credentials::Credentials;
use crate::error::{Error, ErrorKind, Result};

/// A digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// MD5 (the default when a challenge names none).
    Md5,
    /// MD5-sess.
    Md5Sess,
    /// SHA-256 (RFC 7616).
    Sha256,
    /// SHA-256-sess (RFC 7616).
    Sha256Sess,
}

impl DigestAlgorithm {
    /// Parses an `algorithm=` value (case-insensitive); `None` for algorithms camlink lacks.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        [
            DigestAlgorithm::Md5,
            DigestAlgorithm::Md5Sess,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(s))
    }

    /// The name as written in headers.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Md5Sess => "MD5-sess",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Preference order: SHA-256 over MD5, plain over -sess (better supported by cameras).
    pub fn strength(self) -> u8 {
        match self {
            DigestAlgorithm::Sha256 => 4,
            DigestAlgorithm::Sha256Sess => 3,
            DigestAlgorithm::Md5 => 2,
            DigestAlgorithm::Md5Sess => 1,
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, DigestAlgorithm::Md5Sess | DigestAlgorithm::Sha256Sess)
    }

    /// Lower-case hex digest of `data`.
    pub fn hex(self, data: &[u8]) -> String {
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => hex(&md5::compute(data).0),
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => hex(&Sha256::digest(data)),
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Quality of protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    /// Authentication only.
    Auth,
    /// Authentication with integrity of the request body.
    AuthInt,
}

impl Qop {
    /// The name as written in headers.
    pub fn name(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

/// A parsed `Digest` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// The protection space.
    pub realm: String,
    /// The server nonce.
    pub nonce: String,
    /// Opaque data to echo back.
    pub opaque: Option<String>,
    /// The algorithm (MD5 when the challenge names none).
    pub algorithm: DigestAlgorithm,
    /// Whether the challenge named the algorithm (then the response names it too).
    pub algorithm_given: bool,
    /// The qop values offered; empty for an RFC 2069 challenge.
    pub qop: Vec<Qop>,
    /// `stale=true`: the previous nonce expired but the credentials were right.
    pub stale: bool,
    /// `userhash=true` (RFC 7616): send H(user:realm) instead of the user name.
    pub userhash: bool,
}

impl DigestChallenge {
    /// Reads a parsed challenge; errors if it is not Digest, lacks a nonce, or names an
    /// algorithm camlink does not support.
    pub fn from_challenge(c: &Challenge) -> Result<Self> {
        if !c.is_scheme("Digest") {
            return Err(Error::new(ErrorKind::Unsupported, "not a Digest challenge"));
        }
        let nonce = c
            .param("nonce")
            .ok_or_else(|| Error::new(ErrorKind::Malformed, "Digest challenge without nonce"))?;
        let (algorithm, algorithm_given) = match c.param("algorithm") {
            None => (DigestAlgorithm::Md5, false),
            Some(a) => (
                DigestAlgorithm::parse(a).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Unsupported,
                        format!("Digest algorithm {a:?} is not supported"),
                    )
                })?,
                true,
            ),
        };
        let qop = c
            .param("qop")
            .map(|q| {
                q.split(',')
                    .filter_map(|v| match v.trim().to_ascii_lowercase().as_str() {
                        "auth" => Some(Qop::Auth),
                        "auth-int" => Some(Qop::AuthInt),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let flag = |name: &str| {
            c.param(name)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        Ok(DigestChallenge {
            realm: c.param("realm").unwrap_or_default().to_string(),
            nonce: nonce.to_string(),
            opaque: c.param("opaque").map(str::to_string),
            algorithm,
            algorithm_given,
            qop,
            stale: flag("stale"),
            userhash: flag("userhash"),
        })
    }

    /// The qop to answer with: `auth` when offered, else `auth-int`, else none (RFC 2069).
    pub fn chosen_qop(&self) -> Option<Qop> {
        if self.qop.contains(&Qop::Auth) {
            Some(Qop::Auth)
        } else if self.qop.contains(&Qop::AuthInt) {
            Some(Qop::AuthInt)
        } else {
            None
        }
    }
}

/// The inputs of one digest computation.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    /// Request method (`DESCRIBE`, `POST`, ...).
    pub method: &'a str,
    /// Request URI as sent on the request line.
    pub uri: &'a str,
    /// Request body, for `auth-int`.
    pub body: &'a [u8],
    /// Client nonce (ignored without qop).
    pub cnonce: &'a str,
    /// Nonce count (ignored without qop).
    pub nc: u32,
}

/// Computes the `response=` value (hex) for a challenge, credentials and request.
pub fn compute_response(
    ch: &DigestChallenge,
    user: &str,
    password: &str,
    qop: Option<Qop>,
    input: &DigestInput<'_>,
) -> String {
    let alg = ch.algorithm;
    let mut ha1 = alg.hex(format!("{user}:{}:{password}", ch.realm).as_bytes());
    if alg.is_sess() {
        ha1 = alg.hex(format!("{ha1}:{}:{}", ch.nonce, input.cnonce).as_bytes());
    }
    let ha2 = match qop {
        Some(Qop::AuthInt) => {
            alg.hex(format!("{}:{}:{}", input.method, input.uri, alg.hex(input.body)).as_bytes())
        }
        _ => alg.hex(format!("{}:{}", input.method, input.uri).as_bytes()),
    };
    match qop {
        Some(q) => alg.hex(
            format!(
                "{ha1}:{}:{:08x}:{}:{}:{ha2}",
                ch.nonce,
                input.nc,
                input.cnonce,
                q.name()
            )
            .as_bytes(),
        ),
        None => alg.hex(format!("{ha1}:{}:{ha2}", ch.nonce).as_bytes()),
    }
}

/// Digest client state for one server: the current challenge and the nonce count.
///
/// ```
/// use camlink::auth::{parse_challenges, Credentials, DigestChallenge, DigestClient};
/// let ch = &parse_challenges([r#"Digest realm="cam", nonce="abc", qop="auth""#])[0];
/// let mut client = DigestClient::new(DigestChallenge::from_challenge(ch).unwrap());
/// let creds = Credentials::new("admin", "secret");
/// let h = client.authorization_with_cnonce(&creds, "DESCRIBE", "rtsp://cam/live", b"", "0a4f113b");
/// assert!(h.starts_with(r#"Digest username="admin", realm="cam", nonce="abc", uri="rtsp://cam/live", response=""#));
/// assert!(h.ends_with(r#"qop="auth", nc=00000001, cnonce="0a4f113b""#));
/// ```
#[derive(Debug, Clone)]
pub struct DigestClient {
    challenge: DigestChallenge,
    nc: u32,
}

impl DigestClient {
    /// A client for this challenge, nonce count at zero.
    pub fn new(challenge: DigestChallenge) -> Self {
        DigestClient { challenge, nc: 0 }
    }

    /// The challenge in use.
    pub fn challenge(&self) -> &DigestChallenge {
        &self.challenge
    }

    /// The `Authorization` value for the next request, with a random cnonce.
    pub fn authorization(
        &mut self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        body: &[u8],
    ) -> String {
        let cnonce = hex(&super::random_bytes::<8>());
        self.authorization_with_cnonce(creds, method, uri, body, &cnonce)
    }

    /// The `Authorization` value for the next request, with a given cnonce (for exact tests).
    pub fn authorization_with_cnonce(
        &mut self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        body: &[u8],
        cnonce: &str,
    ) -> String {
        self.nc = self.nc.wrapping_add(1);
        let ch = &self.challenge;
        let qop = ch.chosen_qop();
        let input = DigestInput {
            method,
            uri,
            body,
            cnonce,
            nc: self.nc,
        };
        let response = compute_response(ch, creds.username(), creds.password(), qop, &input);
        let username = if ch.userhash {
            ch.algorithm
                .hex(format!("{}:{}", creds.username(), ch.realm).as_bytes())
        } else {
            creds.username().to_string()
        };
        let mut h = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\"",
            quote(&username),
            quote(&ch.realm),
            quote(&ch.nonce),
            quote(uri),
        );
        if ch.algorithm_given {
            h.push_str(", algorithm=");
            h.push_str(ch.algorithm.name());
        }
        if let Some(opaque) = &ch.opaque {
            h.push_str(", opaque=");
            h.push_str(&quote(opaque));
        }
        if ch.userhash {
            h.push_str(", userhash=true");
        }
        if let Some(q) = qop {
            // Quoted: Hikvision and Uniview reject an unquoted qop.
            h.push_str(&format!(
                ", qop=\"{}\", nc={:08x}, cnonce={}",
                q.name(),
                self.nc,
                quote(cnonce)
            ));
        } else if ch.algorithm.is_sess() {
            // -sess folds the cnonce into HA1, so the server needs it even without qop.
            h.push_str(", cnonce=");
            h.push_str(&quote(cnonce));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::parse_challenges;

    fn challenge(s: &str) -> DigestChallenge {
        DigestChallenge::from_challenge(&parse_challenges([s])[0]).unwrap()
    }

    #[test]
    fn rfc2617_mufasa() {
        let ch = challenge(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        );
        let input = DigestInput {
            method: "GET",
            uri: "/dir/index.html",
            body: b"",
            cnonce: "0a4f113b",
            nc: 1,
        };
        let r = compute_response(&ch, "Mufasa", "Circle Of Life", ch.chosen_qop(), &input);
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
        let mut client = DigestClient::new(ch);
        let h = client.authorization_with_cnonce(
            &Credentials::new("Mufasa", "Circle Of Life"),
            "GET",
            "/dir/index.html",
            b"",
            "0a4f113b",
        );
        assert_eq!(
            h,
            r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41", qop="auth", nc=00000001, cnonce="0a4f113b""#
        );
    }

    const RFC7616: &str = r#"realm="http-auth@example.org", qop="auth, auth-int", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

    fn rfc7616_input() -> DigestInput<'static> {
        DigestInput {
            method: "GET",
            uri: "/dir/index.html",
            body: b"",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            nc: 1,
        }
    }

    #[test]
    fn rfc7616_sha256() {
        let ch = challenge(&format!("Digest {RFC7616}, algorithm=SHA-256"));
        assert_eq!(ch.algorithm, DigestAlgorithm::Sha256);
        let r = compute_response(
            &ch,
            "Mufasa",
            "Circle of Life",
            Some(Qop::Auth),
            &rfc7616_input(),
        );
        assert_eq!(
            r,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn rfc7616_md5() {
        let ch = challenge(&format!("Digest {RFC7616}, algorithm=MD5"));
        let r = compute_response(
            &ch,
            "Mufasa",
            "Circle of Life",
            Some(Qop::Auth),
            &rfc7616_input(),
        );
        assert_eq!(r, "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rfc2069_no_qop() {
        // GStreamer's RTSP server and many cameras send no qop: response = H(HA1:nonce:HA2).
        let ch = challenge(r#"Digest realm="r", nonce="n""#);
        assert_eq!(ch.chosen_qop(), None);
        let input = DigestInput {
            method: "DESCRIBE",
            uri: "rtsp://h/s",
            body: b"",
            cnonce: "",
            nc: 1,
        };
        let ha1 = DigestAlgorithm::Md5.hex(b"u:r:p");
        let ha2 = DigestAlgorithm::Md5.hex(b"DESCRIBE:rtsp://h/s");
        let expected = DigestAlgorithm::Md5.hex(format!("{ha1}:n:{ha2}").as_bytes());
        assert_eq!(compute_response(&ch, "u", "p", None, &input), expected);
        let h = DigestClient::new(ch).authorization(
            &Credentials::new("u", "p"),
            "DESCRIBE",
            "rtsp://h/s",
            b"",
        );
        assert!(!h.contains("qop"), "{h}");
        assert!(!h.contains("algorithm"), "{h}");
    }

    #[test]
    fn auth_int_only_when_offered_alone() {
        let ch = challenge(r#"Digest realm="r", nonce="n", qop="auth-int""#);
        assert_eq!(ch.chosen_qop(), Some(Qop::AuthInt));
        let input = |body: &'static [u8]| DigestInput {
            method: "POST",
            uri: "/onvif/device_service",
            body,
            cnonce: "c",
            nc: 1,
        };
        let a = compute_response(&ch, "u", "p", Some(Qop::AuthInt), &input(b"<a/>"));
        let b = compute_response(&ch, "u", "p", Some(Qop::AuthInt), &input(b"<b/>"));
        assert_ne!(a, b, "auth-int must cover the body");
    }

    #[test]
    fn nc_counts_and_nonce_is_reused() {
        let ch = challenge(r#"Digest realm="r", nonce="n", qop="auth""#);
        let mut c = DigestClient::new(ch);
        let creds = Credentials::new("u", "p");
        let h1 = c.authorization(&creds, "OPTIONS", "rtsp://h/", b"");
        let h2 = c.authorization(&creds, "DESCRIBE", "rtsp://h/", b"");
        assert!(h1.contains("nc=00000001"), "{h1}");
        assert!(h2.contains("nc=00000002"), "{h2}");
        assert!(h2.contains(r#"nonce="n""#));
    }

    #[test]
    fn sess_and_userhash() {
        let ch = challenge(
            r#"Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256-sess, userhash=true"#,
        );
        assert_eq!(ch.algorithm, DigestAlgorithm::Sha256Sess);
        assert!(ch.userhash);
        let h = DigestClient::new(ch).authorization_with_cnonce(
            &Credentials::new("u", "p"),
            "GET",
            "/",
            b"",
            "c",
        );
        let hashed = DigestAlgorithm::Sha256.hex(b"u:r");
        assert!(h.contains(&format!("username=\"{hashed}\"")), "{h}");
        assert!(h.contains("algorithm=SHA-256-sess"), "{h}");
        assert!(h.contains("userhash=true"), "{h}");
    }

    #[test]
    fn unsupported_algorithm_and_missing_nonce() {
        let c = &parse_challenges([r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#])[0];
        assert_eq!(
            DigestChallenge::from_challenge(c).unwrap_err().kind(),
            &ErrorKind::Unsupported
        );
        let c = &parse_challenges([r#"Digest realm="r""#])[0];
        assert_eq!(
            DigestChallenge::from_challenge(c).unwrap_err().kind(),
            &ErrorKind::Malformed
        );
    }
}
