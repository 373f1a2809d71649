//! Removing secrets from text before it is shown: URL user-info, `Authorization` header values
//! and WS-Security `Password` element contents.
//!
//! Used by [`Error`](crate::Error) for everything it stores from the wire, and by logs.
//!
//! ```
//! use camlink::redact::redact_url_str;
//! assert_eq!(
//!     redact_url_str("rtsp://admin:s3cret@192.0.2.1/live"),
//!     "rtsp://***@192.0.2.1/live"
//! );
//! ```

use std::borrow::Cow;

/// Replaces the user-info (`user:password@`) of every URL in `text` with `***@`.
pub fn redact_url_str(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        // The authority ends at the first of these; an '@' before that ends user-info.
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Redacts secrets in free text: URL user-info, the value of any `Authorization:` or
/// `Proxy-Authorization:` header line, and the content of `<...Password ...>` elements.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    let has_auth = lower.contains("authorization");
    let has_password = lower.contains("password");
    let text = redact_url_str(text);
    if !has_auth && !has_password {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let l = line.to_ascii_lowercase();
        if let Some(p) = l.find("authorization") {
            // Keep the header name, drop its value.
            match line[p..].find(':') {
                Some(colon) => {
                    out.push_str(&line[..p + colon + 1]);
                    out.push_str(" <redacted>");
                }
                None => out.push_str(&line[..p + "authorization".len()]),
            }
            if line.ends_with('\r') {
                out.push('\r');
            }
        } else if l.contains("password") {
            out.push_str(&redact_password_elements(line));
        } else {
            out.push_str(line);
        }
    }
    Cow::Owned(out)
}

/// Blanks the text content of XML elements whose local name is `Password`.
fn redact_password_elements(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(open) = find_password_open_tag(&lower) else {
            // A line cut in the middle of a password (no closing tag) keeps nothing after it.
            out.push_str(rest);
            return out;
        };
        let Some(gt) = rest[open..].find('>') else {
            out.push_str(rest);
            return out;
        };
        let content_start = open + gt + 1;
        out.push_str(&rest[..content_start]);
        match rest[content_start..].find('<') {
            Some(lt) => {
                out.push_str("<redacted>");
                rest = &rest[content_start + lt..];
            }
            None => {
                out.push_str("<redacted>");
                return out;
            }
        }
    }
}

/// Finds `<Password` or `<prefix:Password` (as an opening tag) in lower-cased text.
fn find_password_open_tag(lower: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = lower[from..].find("password") {
        let p = from + rel;
        let before = &lower[..p];
        let tag_start = before.rfind('<');
        if let Some(lt) = tag_start {
            let between = &lower[lt + 1..p];
            let is_open_tag = !between.starts_with('/')
                && between
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_' || c == '-')
                && (between.is_empty() || between.ends_with(':'));
            let after = lower[p + "password".len()..].chars().next();
            if is_open_tag && matches!(after, Some('>') | Some(' ') | Some('\t') | Some('/')) {
                return Some(lt);
            }
        }
        from = p + "password".len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_userinfo() {
        assert_eq!(
            redact_url_str("see http://u:p%40ss@[::1]:80/onvif and rtsp://a@h/x"),
            "see http://***@[::1]:80/onvif and rtsp://***@h/x"
        );
        assert_eq!(redact_url_str("no url here @ all"), "no url here @ all");
        assert_eq!(redact_url_str("rtsp://host/a@b"), "rtsp://host/a@b");
    }

    #[test]
    fn authorization_header_values() {
        let t = "DESCRIBE x RTSP/1.0\r\nAuthorization: Digest username=\"admin\", response=\"abc\"\r\nCSeq: 2\r\n";
        let r = redact_text(t);
        assert!(!r.contains("abc"), "{r}");
        assert!(r.contains("Authorization: <redacted>\r\nCSeq: 2"), "{r}");
    }

    #[test]
    fn password_elements() {
        let t = r#"<wsse:Password Type="...#PasswordText">hunter2</wsse:Password><Nonce>n</Nonce>"#;
        let r = redact_text(t);
        assert!(!r.contains("hunter2"), "{r}");
        assert!(r.contains("<Nonce>n</Nonce>"), "{r}");
        let cut = "<Password>hunter2";
        assert!(!redact_text(cut).contains("hunter2"));
        // Not a password element: left alone.
        assert_eq!(
            redact_text("PasswordDigest is used"),
            "PasswordDigest is used"
        );
    }
}
