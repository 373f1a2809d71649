#![no_main]
//! WWW-Authenticate / Authorization parsing and digest challenge reading.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for c in camlink::auth::parse_challenges([text.as_ref()]) {
        let _ = camlink::auth::DigestChallenge::from_challenge(&c);
    }
    let mut auth = camlink::auth::HttpAuth::new(Some(camlink::auth::Credentials::new("u", "p")));
    if auth.on_unauthorized([text.as_ref()]).is_ok() {
        let _ = auth.authorization("GET", "/", data);
    }
});
