//! Runs camlink's authentication parsers over the real-camera captures in `../shared/real-cameras`.
//!
//! The folder is not part of this repository (the captures are others' work). Point
//! `CAMLINK_REAL_CAPTURES` at it to run these tests; `.ci/run` does, and there a missing folder
//! is a failure. Without the variable the tests say so and pass (a developer without the set).

mod common;

use camlink::auth::{DigestChallenge, parse_challenges};

/// Header values of `name` (case-insensitive) in an RTSP/HTTP response transcript.
fn header_values(text: &str, name: &str) -> Vec<String> {
    let head = text.split("\r\n\r\n").next().unwrap_or(text);
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

#[test]
fn every_captured_challenge_parses() {
    let Some(dir) = common::real_captures() else {
        return;
    };
    let mut seen = 0;
    for path in common::capture_files(&dir, "rtsp") {
        let bytes = std::fs::read(&path).expect("read capture");
        let text = String::from_utf8_lossy(&bytes);
        let values = header_values(&text, "WWW-Authenticate");
        if values.is_empty() {
            continue;
        }
        seen += 1;
        let challenges = parse_challenges(values.iter().map(String::as_str));
        assert!(
            !challenges.is_empty(),
            "{}: no challenge parsed",
            path.display()
        );
        for c in challenges.iter().filter(|c| c.is_scheme("Digest")) {
            let d = DigestChallenge::from_challenge(c)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!d.nonce.is_empty(), "{}", path.display());
        }
    }
    assert!(seen >= 1, "expected at least one 401 capture");

    // Values checked, not only "did not fail": Longse's minimal challenge.
    let longse = std::fs::read_to_string(dir.join("rtsp/longse_unauthorized.txt")).expect("longse");
    let values = header_values(&longse, "WWW-Authenticate");
    let c = &parse_challenges(values.iter().map(String::as_str))[0];
    let d = DigestChallenge::from_challenge(c).expect("digest");
    assert_eq!(d.realm, "Surveillance Server");
    assert_eq!(d.nonce, "98481030");
    assert!(d.qop.is_empty());
}
