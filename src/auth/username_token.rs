//! WS-Security UsernameToken (OASIS UsernameToken Profile 1.0), as ONVIF uses it.
//!
//! `PasswordDigest = Base64(SHA-1(nonce + created + password))`, with the raw nonce bytes (not
//! their base64 text). camlink sends a 16-byte nonce (Hikvision rejects longer ones) and
//! `Created` in UTC without fractional seconds. Nonce and time are inputs, so tests are exact;
//! [`UsernameToken::generate`] draws a random nonce.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

use super::credentials::Credentials;
use crate::datetime::format_utc;
use crate::xmlutil::escape;

/// WS-Security secext namespace.
pub const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// WS-Security utility namespace (for `Created`).
pub const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
/// `Type` of a digest password.
pub const PASSWORD_DIGEST_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
/// `Type` of a clear-text password.
pub const PASSWORD_TEXT_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
/// `EncodingType` of the nonce.
pub const BASE64_ENCODING_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

/// How the password travels in the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordType {
    /// `PasswordDigest` (the default, what ONVIF requires).
    #[default]
    Digest,
    /// `PasswordText`: the password in the clear; only for devices that accept nothing else.
    Text,
}

/// `Base64(SHA-1(nonce + created + password))`.
///
/// ```
/// use base64::Engine as _;
/// let nonce = base64::engine::general_purpose::STANDARD.decode("LKqI6G/AikKCQrN0zqZFlg==").unwrap();
/// let d = camlink::auth::password_digest(&nonce, "2010-09-16T07:50:45Z", "userpassword");
/// assert_eq!(d, "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
/// ```
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    STANDARD.encode(h.finalize())
}

/// A UsernameToken ready to be written into a SOAP header.
#[derive(Clone, PartialEq, Eq)]
pub struct UsernameToken {
    username: String,
    password: String,
    password_type: PasswordType,
    nonce_b64: String,
    created: String,
}

impl UsernameToken {
    /// A token with a given nonce and creation time (seconds since the Unix epoch, UTC).
    pub fn new(
        creds: &Credentials,
        nonce: &[u8],
        created_unix: i64,
        password_type: PasswordType,
    ) -> Self {
        let created = format_utc(created_unix);
        let password = match password_type {
            PasswordType::Digest => password_digest(nonce, &created, creds.password()),
            PasswordType::Text => creds.password().to_string(),
        };
        UsernameToken {
            username: creds.username().to_string(),
            password,
            password_type,
            nonce_b64: STANDARD.encode(nonce),
            created,
        }
    }

    /// A token with a random 16-byte nonce, created at `now_unix` (the camera's time: our clock
    /// plus the known offset).
    pub fn generate(creds: &Credentials, now_unix: i64, password_type: PasswordType) -> Self {
        Self::new(creds, &super::random_bytes::<16>(), now_unix, password_type)
    }

    /// The `Created` value.
    pub fn created(&self) -> &str {
        &self.created
    }

    /// The nonce, base64.
    pub fn nonce_b64(&self) -> &str {
        &self.nonce_b64
    }

    /// The password digest (or, for [`PasswordType::Text`], the password). Do not log it.
    pub fn password_value(&self) -> &str {
        &self.password
    }

    /// The `<wsse:Security>` header element (namespaces declared on it).
    pub fn to_xml(&self) -> String {
        let ty = match self.password_type {
            PasswordType::Digest => PASSWORD_DIGEST_TYPE,
            PasswordType::Text => PASSWORD_TEXT_TYPE,
        };
        format!(
            concat!(
                r#"<wsse:Security xmlns:wsse="{wsse}" xmlns:wsu="{wsu}">"#,
                r#"<wsse:UsernameToken><wsse:Username>{user}</wsse:Username>"#,
                r#"<wsse:Password Type="{ty}">{pass}</wsse:Password>"#,
                r#"<wsse:Nonce EncodingType="{enc}">{nonce}</wsse:Nonce>"#,
                r#"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"#
            ),
            wsse = WSSE_NS,
            wsu = WSU_NS,
            user = escape(&self.username),
            ty = ty,
            pass = escape(&self.password),
            enc = BASE64_ENCODING_TYPE,
            nonce = self.nonce_b64,
            created = self.created,
        )
    }
}

impl fmt::Debug for UsernameToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsernameToken")
            .field("username", &self.username)
            .field("password", &"***")
            .field("password_type", &self.password_type)
            .field("nonce_b64", &self.nonce_b64)
            .field("created", &self.created)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onvif_programmers_guide_vector() {
        let nonce = STANDARD.decode("LKqI6G/AikKCQrN0zqZFlg==").unwrap();
        let created = crate::datetime::parse_datetime("2010-09-16T07:50:45Z").unwrap();
        let t = UsernameToken::new(
            &Credentials::new("user", "userpassword"),
            &nonce,
            created,
            PasswordType::Digest,
        );
        assert_eq!(t.password_value(), "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
        assert_eq!(t.created(), "2010-09-16T07:50:45Z");
        assert_eq!(t.nonce_b64(), "LKqI6G/AikKCQrN0zqZFlg==");
        let xml = t.to_xml();
        assert!(xml.contains("<wsse:Username>user</wsse:Username>"));
        assert!(xml.contains("#PasswordDigest\">tuOSpGlFlIXsozq4HFNeeGeFLEI=<"));
        assert!(!format!("{t:?}").contains("tuOSpG"));
    }

    #[test]
    fn generated_nonce_is_16_bytes_and_created_has_no_fraction() {
        let t = UsernameToken::generate(
            &Credentials::new("u", "p"),
            1_700_000_000,
            PasswordType::Digest,
        );
        assert_eq!(STANDARD.decode(t.nonce_b64()).unwrap().len(), 16);
        assert_eq!(t.created(), "2023-11-14T22:13:20Z");
        let t2 = UsernameToken::generate(
            &Credentials::new("u", "p"),
            1_700_000_000,
            PasswordType::Digest,
        );
        assert_ne!(t.nonce_b64(), t2.nonce_b64());
    }

    #[test]
    fn text_password_and_escaping() {
        let t = UsernameToken::new(&Credentials::new("a<b", "p&q"), b"n", 0, PasswordType::Text);
        let xml = t.to_xml();
        assert!(xml.contains("<wsse:Username>a&lt;b</wsse:Username>"));
        assert!(xml.contains("#PasswordText\">p&amp;q</wsse:Password>"));
    }
}
