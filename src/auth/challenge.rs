//! Parsing `WWW-Authenticate` challenges and `Authorization` credentials (RFC 7235 syntax).
//!
//! Lenient: several challenges in one header or in several headers, missing commas between
//! parameters, stray spaces, unquoted values, unknown schemes. Bounded: at most
//! [`MAX_CHALLENGES`] challenges of at most [`MAX_PARAMS`] parameters are kept, from at most
//! [`MAX_HEADER_LEN`] bytes of header. Never panics, whatever the input.

/// Longest header value read; the rest is ignored.
pub const MAX_HEADER_LEN: usize = 8 * 1024;
/// Most challenges kept from all headers together.
pub const MAX_CHALLENGES: usize = 16;
/// Most parameters kept in one challenge.
pub const MAX_PARAMS: usize = 32;

/// One challenge (`Digest realm="x", nonce="y"`) or one credentials value of the same syntax.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    /// The scheme as sent (`Digest`, `Basic`, ...); compare with [`Challenge::is_scheme`].
    pub scheme: String,
    /// Parameters in order, names lower-cased, values unquoted.
    pub params: Vec<(String, String)>,
    /// A token68 value (`Basic dXNlcjpwYXNz`), for schemes that use one.
    pub token68: Option<String>,
}

impl Challenge {
    /// Whether the scheme is `name` (case-insensitive).
    pub fn is_scheme(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// The value of parameter `name` (case-insensitive), first occurrence.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses every challenge in the given header values (one per `WWW-Authenticate` header).
///
/// ```
/// use camlink::auth::parse_challenges;
/// let c = parse_challenges([r#"Digest realm="cam", nonce="abc", qop="auth", Basic realm="cam""#]);
/// assert_eq!(c.len(), 2);
/// assert_eq!(c[0].param("nonce"), Some("abc"));
/// assert!(c[1].is_scheme("basic"));
/// ```
pub fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    for value in values {
        let value = truncate(value, MAX_HEADER_LEN);
        for item in split_items(value) {
            if out.len() > MAX_CHALLENGES {
                break;
            }
            absorb_item(&mut out, item);
        }
    }
    out.truncate(MAX_CHALLENGES);
    out
}

/// Parses one `Authorization` value (`Digest username="...", ...` or `Basic token68`).
pub fn parse_credentials(value: &str) -> Option<Challenge> {
    parse_challenges([value]).into_iter().next()
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Splits on commas that are outside quoted strings.
fn split_items(value: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let bytes = value.as_bytes();
    let (mut start, mut in_quote, mut escaped) = (0, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quote = false;
            }
        } else if b == b'"' {
            in_quote = true;
        } else if b == b',' {
            items.push(&value[start..i]);
            start = i + 1;
        }
    }
    items.push(&value[start..]);
    items
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Takes one comma-separated item: a new challenge (`Scheme`, `Scheme a=b`, `Scheme token68`)
/// or more parameters (`a=b c=d`) of the current one.
fn absorb_item(out: &mut Vec<Challenge>, item: &str) {
    let item = item.trim_matches(|c: char| c.is_ascii_whitespace());
    if item.is_empty() {
        return;
    }
    let first_end = item.find(|c: char| !is_tchar(c)).unwrap_or(item.len());
    let first = &item[..first_end];
    let after = item[first_end..].trim_start_matches(|c: char| c.is_ascii_whitespace());
    let starts_param = after.starts_with('=') && !first.is_empty();
    if starts_param {
        // `name=value ...`: parameters of the current challenge.
        if let Some(current) = out.last_mut() {
            parse_params(current, item);
        }
        return;
    }
    if first.is_empty() {
        return; // junk such as a lone quote
    }
    let mut ch = Challenge {
        scheme: first.to_string(),
        ..Challenge::default()
    };
    if !after.is_empty() {
        if is_token68(after) {
            ch.token68 = Some(after.to_string());
        } else {
            parse_params(&mut ch, after);
        }
    }
    out.push(ch);
}

fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(c))
}

/// Parses `a=b c="d e" f=g` (whitespace- or nothing-separated pairs) into `ch`.
fn parse_params(ch: &mut Challenge, mut s: &str) {
    loop {
        s = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if s.is_empty() || ch.params.len() >= MAX_PARAMS {
            return;
        }
        let name_end = s.find(|c: char| !is_tchar(c)).unwrap_or(s.len());
        if name_end == 0 {
            // Not a name: skip one character and go on.
            let skip = s.chars().next().map_or(1, char::len_utf8);
            s = &s[skip..];
            continue;
        }
        let name = s[..name_end].to_ascii_lowercase();
        s = s[name_end..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        let Some(rest) = s.strip_prefix('=') else {
            ch.params.push((name, String::new()));
            continue;
        };
        s = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        let value;
        if let Some(q) = s.strip_prefix('"') {
            let (v, consumed) = unquote(q);
            value = v;
            s = &q[consumed..];
        } else {
            let end = s
                .find(|c: char| c.is_ascii_whitespace() || c == ',')
                .unwrap_or(s.len());
            value = s[..end].to_string();
            s = &s[end..];
        }
        ch.params.push((name, value));
    }
}

/// Reads a quoted string body (after the opening quote); returns the value and the bytes used,
/// including the closing quote when there is one.
fn unquote(s: &str) -> (String, usize) {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, i + 1),
            '\\' => match chars.next() {
                Some((_, e)) => out.push(e),
                None => return (out, s.len()),
            },
            _ => out.push(c),
        }
    }
    (out, s.len())
}

/// Quotes a value for a header parameter (escaping `"` and `\`).
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        // Header values cannot carry line breaks: drop them rather than let a value split a header.
        if c != '\r' && c != '\n' {
            out.push(c);
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn longse_camera_challenge() {
        // Longse answers with a minimal digest challenge: no qop, no algorithm.
        let c = parse_challenges([r#"Digest realm="Surveillance Server", nonce="98481030""#]);
        assert_eq!(c.len(), 1);
        assert!(c[0].is_scheme("Digest"));
        assert_eq!(c[0].param("realm"), Some("Surveillance Server"));
        assert_eq!(c[0].param("nonce"), Some("98481030"));
    }

    #[test]
    fn several_challenges_in_one_and_several_headers() {
        let c = parse_challenges([
            r#"Digest realm="IP Camera(C2358)", nonce="a5c2", stale="FALSE", Basic realm="IP Camera(C2358)""#,
            r#"Digest realm="x", nonce="n2", algorithm=SHA-256, qop="auth,auth-int""#,
        ]);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].param("stale"), Some("FALSE"));
        assert!(c[1].is_scheme("basic"));
        assert_eq!(c[2].param("algorithm"), Some("SHA-256"));
        assert_eq!(c[2].param("qop"), Some("auth,auth-int"));
    }

    #[test]
    fn missing_commas_and_spaces_around_equals() {
        let c = parse_challenges([r#"Digest realm = "r" nonce="n"   qop=auth"#]);
        assert_eq!(c[0].param("realm"), Some("r"));
        assert_eq!(c[0].param("nonce"), Some("n"));
        assert_eq!(c[0].param("qop"), Some("auth"));
    }

    #[test]
    fn escapes_and_commas_in_quotes() {
        let c = parse_challenges([r#"Digest realm="a, \"b\"", nonce="x""#]);
        assert_eq!(c[0].param("realm"), Some(r#"a, "b""#));
        assert_eq!(c[0].param("nonce"), Some("x"));
    }

    #[test]
    fn token68() {
        let c = parse_credentials("Basic dXNlcjpwYXNz").unwrap();
        assert_eq!(c.token68.as_deref(), Some("dXNlcjpwYXNz"));
        let c = parse_credentials("Negotiate abc==").unwrap();
        assert_eq!(c.token68.as_deref(), Some("abc=="));
    }

    #[test]
    fn bounded() {
        let many = "Basic realm=x, ".repeat(1000);
        assert!(parse_challenges([many.as_str()]).len() <= MAX_CHALLENGES);
        let params = format!("Digest {}", "a=b ".repeat(1000));
        assert!(parse_challenges([params.as_str()])[0].params.len() <= MAX_PARAMS);
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote("a\r\nb"), "\"ab\"");
    }

    proptest! {
        #[test]
        fn never_panics_on_any_string(s in ".*") {
            let _ = parse_challenges([s.as_str()]);
            let _ = parse_credentials(&s);
        }

        #[test]
        fn never_panics_on_header_like_strings(s in r#"[A-Za-z=", \\\t]{0,200}"#) {
            let _ = parse_challenges([s.as_str(), s.as_str()]);
        }
    }
}
