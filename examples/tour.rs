//! The camlink tour: a walk through what camlink does.
//!
//! Run it with `cargo run --example tour --all-features`. Today it shows the authentication
//! core end to end (a digest exchange against camlink's own server-side verifier, and a
//! WS-Security UsernameToken); it grows into the full walk against an embedded mock camera as
//! the clients land.

use std::time::{Duration, Instant};

use camlink::auth::server::{DigestServer, ReceivedToken, UsernameTokenVerifier};
use camlink::auth::{Credentials, DigestAlgorithm, HttpAuth, PasswordType, UsernameToken};

fn main() -> Result<(), camlink::Error> {
    println!("camlink tour");
    println!("============");
    let creds = Credentials::new("admin", "tour-password");
    println!("credentials: {creds:?}");

    // Digest: a 401 from the "camera", then an authorized request.
    let t0 = Instant::now();
    let mut camera = DigestServer::new(
        "camlink tour",
        vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
    );
    let challenges = camera.challenges(t0, false);
    println!("camera challenges: {}", challenges.join(" | "));
    let mut auth = HttpAuth::new(Some(creds.clone()));
    auth.on_unauthorized(challenges.iter().map(String::as_str))?;
    let header = auth
        .authorization("DESCRIBE", "rtsp://127.0.0.1:8554/main", b"")
        .expect("a challenge was taken");
    let lookup = |u: &str| (u == "admin").then(|| "tour-password".to_string());
    match camera.verify("DESCRIBE", Some(&header), b"", lookup, t0) {
        Ok(user) => println!(
            "digest ({}): camera accepted user {user}",
            auth.scheme().unwrap_or("?")
        ),
        Err(r) => {
            println!("digest: camera refused: {r:?}");
            std::process::exit(1);
        }
    }

    // WS-Security UsernameToken, with a camera clock 2 hours ahead.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let camera_offset = 7200;
    let mut verifier = UsernameTokenVerifier::new(Duration::from_secs(300));
    for (label, created) in [
        ("our clock", now),
        ("corrected for the camera clock", now + camera_offset),
    ] {
        let token = UsernameToken::generate(&creds, created, PasswordType::Digest);
        let received = ReceivedToken {
            username: "admin",
            password: token.password_value(),
            password_type: PasswordType::Digest,
            nonce_b64: Some(token.nonce_b64()),
            created: Some(token.created()),
        };
        let verdict = verifier.verify(&received, lookup, now + camera_offset);
        println!(
            "UsernameToken created by {label} ({}): {verdict:?}",
            token.created()
        );
    }
    println!("tour finished");
    Ok(())
}
