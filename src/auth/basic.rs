//! HTTP/RTSP Basic authentication (RFC 7617).
//!
//! Basic sends the password in the clear (base64 is not encryption): camlink only sends it over
//! TLS, or over a plain connection when the server offers nothing else and the caller allowed
//! it (see [`HttpAuth`](super::HttpAuth)).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::challenge::parse_credentials;
use super::credentials::Credentials;

/// The `Authorization` value for Basic.
///
/// ```
/// use camlink::auth::{basic_authorization, Credentials};
/// let h = basic_authorization(&Credentials::new("Aladdin", "open sesame"));
/// assert_eq!(h, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// ```
pub fn basic_authorization(creds: &Credentials) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", creds.username(), creds.password()))
    )
}

/// Server side: the user name of a Basic `Authorization` value whose password matches `lookup`.
pub fn verify_basic(
    authorization: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let c = parse_credentials(authorization)?;
    if !c.is_scheme("Basic") {
        return None;
    }
    let decoded = STANDARD.decode(c.token68?.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    let expected = lookup(user)?;
    super::constant_time_eq(expected.as_bytes(), pass.as_bytes()).then(|| user.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_password() {
        let creds = Credentials::new("admin", "pa:ss");
        let h = basic_authorization(&creds);
        let lookup = |u: &str| (u == "admin").then(|| "pa:ss".to_string());
        assert_eq!(verify_basic(&h, lookup).as_deref(), Some("admin"));
        let bad = basic_authorization(&Credentials::new("admin", "pa:sS"));
        assert_eq!(verify_basic(&bad, lookup), None);
        assert_eq!(verify_basic("Basic !!!", lookup), None);
        assert_eq!(verify_basic("Digest x=y", lookup), None);
    }
}
