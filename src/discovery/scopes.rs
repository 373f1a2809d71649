//! The well-known ONVIF scopes (`onvif://www.onvif.org/<category>/<value>`), decoded.
//!
//! ```
//! use camlink::discovery::scopes::ScopeInfo;
//!
//! let info = ScopeInfo::from_scopes(&[
//!     "onvif://www.onvif.org/name/AXIS%20M2025-LE",
//!     "onvif://www.onvif.org/Profile/Streaming",
//!     "onvif://www.onvif.org/Profile/T",
//! ]);
//! assert_eq!(info.name.as_deref(), Some("AXIS M2025-LE"));
//! assert_eq!(info.profiles, ["S", "T"]);
//! ```

use std::borrow::Cow;

use super::ws_discovery::MAX_LIST_ITEMS;

/// The well-known ONVIF scopes of a device, decoded (percent-escapes resolved).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeInfo {
    /// `onvif://www.onvif.org/name/…`: the name the installer gave the device.
    pub name: Option<String>,
    /// `onvif://www.onvif.org/hardware/…`: the model.
    pub hardware: Option<String>,
    /// `onvif://www.onvif.org/location/…` values (`country/china`, `city/x`); empty ones dropped.
    pub locations: Vec<String>,
    /// Profiles announced (`S`, `T`, `G`, `Q`, `M`, …); `Streaming` is reported as `S`.
    pub profiles: Vec<String>,
    /// `onvif://www.onvif.org/type/…` values (`video_encoder`, `ptz`, `Network_Video_Transmitter`).
    pub types: Vec<String>,
    /// `onvif://www.onvif.org/MAC/…`, if announced.
    pub mac: Option<String>,
}

impl ScopeInfo {
    /// Decodes the ONVIF scopes of a list; other scopes are ignored.
    pub fn from_scopes<S: AsRef<str>>(scopes: &[S]) -> Self {
        let mut info = ScopeInfo::default();
        for s in scopes {
            let Some((category, value)) = onvif_scope(s.as_ref()) else {
                continue;
            };
            let value = percent_decode(value);
            let value = value.trim_end_matches('/');
            match category.to_ascii_lowercase().as_str() {
                "name" if !value.is_empty() => {
                    info.name.get_or_insert_with(|| value.to_string());
                }
                "hardware" if !value.is_empty() => {
                    info.hardware.get_or_insert_with(|| value.to_string());
                }
                "location" if !value.is_empty() => push_unique(&mut info.locations, value),
                "profile" if !value.is_empty() => {
                    let p = if value.eq_ignore_ascii_case("streaming") {
                        "S"
                    } else {
                        value
                    };
                    push_unique(&mut info.profiles, p);
                }
                "type" if !value.is_empty() => push_unique(&mut info.types, value),
                "mac" if !value.is_empty() => {
                    info.mac.get_or_insert_with(|| value.to_string());
                }
                _ => {}
            }
        }
        info
    }

    /// Whether the device announces profile `p` (`"S"`, `"T"`, `"G"`, …).
    pub fn has_profile(&self, p: &str) -> bool {
        self.profiles.iter().any(|x| x.eq_ignore_ascii_case(p))
    }
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if v.len() < MAX_LIST_ITEMS && !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

/// Splits `onvif://www.onvif.org/<category>/<value>` (scheme and host case-insensitive).
fn onvif_scope(s: &str) -> Option<(&str, &str)> {
    const PREFIX: &str = "onvif://www.onvif.org/";
    let head = s.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let rest = s.get(PREFIX.len()..)?;
    Some(match rest.split_once('/') {
        Some((c, v)) => (c, v),
        None => (rest, ""),
    })
}

/// Resolves `%XX` escapes; malformed escapes are kept as they are, invalid UTF-8 replaced.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("AXIS%20M2025-LE"), "AXIS M2025-LE");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }

    #[test]
    fn categories_are_case_insensitive_and_empty_values_dropped() {
        let info = ScopeInfo::from_scopes(&[
            "ONVIF://WWW.ONVIF.ORG/Name/Cam",
            "onvif://www.onvif.org/location/",
            "onvif://www.onvif.org/MAC/02:00:00:00:00:01",
            "onvif://www.onvif.org/type/ptz",
            "onvif://www.onvif.org/type/ptz",
            "http://example.invalid/name/other",
        ]);
        assert_eq!(info.name.as_deref(), Some("Cam"));
        assert!(info.locations.is_empty());
        assert_eq!(info.mac.as_deref(), Some("02:00:00:00:00:01"));
        assert_eq!(info.types, vec!["ptz"]);
        assert!(!info.has_profile("S"));
    }
}
