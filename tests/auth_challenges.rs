//! The challenge fixtures in `fixtures/auth/`: each parses, and camlink picks the expected scheme.

use camlink::ErrorKind;
use camlink::auth::{Credentials, HttpAuth};

fn fixture(name: &str) -> Vec<String> {
    let path = format!("{}/fixtures/auth/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(str::to_string)
        .collect()
}

fn authorize(name: &str, auth: &mut HttpAuth) -> camlink::Result<String> {
    let values = fixture(name);
    auth.on_unauthorized(values.iter().map(String::as_str))?;
    Ok(auth
        .authorization("DESCRIBE", "rtsp://192.0.2.1/live", b"")
        .expect("authorization after a challenge"))
}

fn creds() -> Option<Credentials> {
    Some(Credentials::new("admin", "12345"))
}

#[test]
fn hikvision_digest_preferred_over_basic_with_quoted_qop() {
    let h = authorize(
        "hikvision_digest_and_basic.txt",
        &mut HttpAuth::new(creds()),
    )
    .unwrap();
    assert!(h.starts_with("Digest "), "{h}");
    assert!(h.contains(r#"realm="IP Camera(C2358)""#), "{h}");
    assert!(h.contains(r#"qop="auth""#), "{h}");
}

#[test]
fn dahua_opaque_is_echoed() {
    let h = authorize("dahua_digest_opaque.txt", &mut HttpAuth::new(creds())).unwrap();
    assert!(
        h.contains(r#"opaque="7f8eb5b6b9a4d5bff4e0ab5de78db4ca3f2d16cc""#),
        "{h}"
    );
}

#[test]
fn axis_sha256_chosen_over_md5() {
    let h = authorize("axis_sha256_md5_basic.txt", &mut HttpAuth::new(creds())).unwrap();
    assert!(h.contains("algorithm=SHA-256"), "{h}");
    // SHA-256 responses are 64 hex digits.
    let resp = h
        .split("response=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(resp.len(), 64);
}

#[test]
fn gstreamer_rfc2069_digest_has_no_qop() {
    let h = authorize("gstreamer_rfc2069_no_qop.txt", &mut HttpAuth::new(creds())).unwrap();
    assert!(!h.contains("qop") && !h.contains("nc="), "{h}");
}

#[test]
fn vlc_basic_only_needs_consent_on_plain_rtsp() {
    let e = authorize("vlc_basic_only.txt", &mut HttpAuth::new(creds())).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unsupported);
    let h = authorize(
        "vlc_basic_only.txt",
        &mut HttpAuth::new(creds()).with_basic_over_plaintext(true),
    )
    .unwrap();
    assert_eq!(h, "Basic YWRtaW46MTIzNDU=");
}
