//! User name and password, kept apart from URLs and never shown.

use std::fmt;

use url::Url;

/// A user name and password for a camera.
///
/// `Debug` and `Display` never show the password. Give credentials apart from the URL when the
/// password holds characters that URLs mangle (`@ : / % #`); [`Credentials::from_url`] decodes
/// percent-escapes for those who do put them in the URL.
///
/// ```
/// use camlink::auth::Credentials;
/// let c = Credentials::new("admin", "p@ss:w/rd%#");
/// assert_eq!(format!("{c:?}"), r#"Credentials { username: "admin", password: "***" }"#);
/// assert_eq!(c.to_string(), "admin");
/// assert_eq!(c.password(), "p@ss:w/rd%#");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// Credentials from a user name and a password, taken as they are (no decoding).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password. Take care not to log it.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The credentials in a URL's user-info (percent-decoded), if it has a user name.
    ///
    /// ```
    /// use camlink::auth::Credentials;
    /// let url = url::Url::parse("rtsp://admin:p%40ss%3Aword@192.0.2.1/live").unwrap();
    /// let c = Credentials::from_url(&url).unwrap();
    /// assert_eq!((c.username(), c.password()), ("admin", "p@ss:word"));
    /// ```
    pub fn from_url(url: &Url) -> Option<Credentials> {
        if url.username().is_empty() {
            return None;
        }
        let user = percent_decode(url.username());
        let pass = url.password().map(percent_decode).unwrap_or_default();
        Some(Credentials::new(user, pass))
    }

    /// `url` without its user-info, for sending on the wire or showing.
    pub fn strip_url(url: &Url) -> Url {
        let mut u = url.clone();
        // Both only fail for URLs that cannot have user-info, which then have none.
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.username)
    }
}

/// Decodes `%XX` escapes; invalid escapes and invalid UTF-8 are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_characters_in_url_password() {
        let url = Url::parse("http://user:a%40b%3Ac%2Fd%25e%23f@host/").unwrap();
        let c = Credentials::from_url(&url).unwrap();
        assert_eq!(c.password(), "a@b:c/d%e#f");
        assert_eq!(Credentials::strip_url(&url).as_str(), "http://host/");
    }

    #[test]
    fn no_user_no_credentials() {
        let url = Url::parse("rtsp://host/").unwrap();
        assert!(Credentials::from_url(&url).is_none());
    }

    #[test]
    fn percent_decode_edge_cases() {
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%41"), "A");
        assert_eq!(percent_decode("a%zz"), "a%zz");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn never_shows_password() {
        let c = Credentials::new("admin", "Zebra!42");
        assert!(!format!("{c:?}{c}").contains("Zebra"));
    }
}
