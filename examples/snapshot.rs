//! Save a JPEG snapshot of a camera's first profile.
//!
//! ```text
//! cargo run --example snapshot --features mock                  # against a mock camera
//! CAMLINK_PASSWORD=... cargo run --example snapshot --features mock -- \
//!     --url http://192.0.2.10/onvif/device_service --user admin [--out picture.jpg]
//! ```

use std::path::{Path, PathBuf};

use camlink::auth::Credentials;
use camlink::mock::MockCamera;
use camlink::onvif::client::{OnvifClient, OnvifOptions};

/// Downloads a snapshot of the first profile of the camera at `url` into `out`; returns its
/// size in bytes.
pub async fn save_snapshot(
    url: &str,
    credentials: Credentials,
    out: &Path,
) -> camlink::Result<usize> {
    let options = OnvifOptions {
        credentials: Some(credentials),
        ..OnvifOptions::default()
    };
    let camera = OnvifClient::connect(url, options).await?;
    let profiles = camera.profiles().await?;
    let Some(profile) = profiles.first() else {
        return Err(camlink::Error::new(
            camlink::ErrorKind::Unsupported,
            "the camera has no media profile",
        ));
    };
    // GetSnapshotUri, then an HTTP GET with Digest (or Basic over HTTPS) as the camera asks.
    let snapshot = camera.snapshot(&profile.token).await?;
    if !snapshot.is_jpeg() {
        println!("warning: not a JPEG ({:?})", snapshot.content_type);
    }
    std::fs::write(out, &snapshot.data)
        .map_err(|e| camlink::Error::io(e, "writing the snapshot"))?;
    println!(
        "profile {}: {} bytes saved to {}",
        profile.token,
        snapshot.data.len(),
        out.display()
    );
    Ok(snapshot.data.len())
}

/// `--url URL --user U` (password from `CAMLINK_PASSWORD`), or `None` for a mock camera.
fn camera_from_args() -> Option<(String, Credentials)> {
    let url = arg("--url")?;
    let user = arg("--user").unwrap_or_else(|| "admin".into());
    let password = std::env::var("CAMLINK_PASSWORD").unwrap_or_default();
    Some((url, Credentials::new(user, password)))
}

/// The value after `flag` on the command line.
fn arg(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1).cloned()
}

#[tokio::main]
async fn main() -> camlink::Result<()> {
    let out = arg("--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("camlink-snapshot.jpg"));
    if let Some((url, credentials)) = camera_from_args() {
        save_snapshot(&url, credentials, &out).await?;
        return Ok(());
    }
    // No camera given: a mock camera on free loopback ports serves a generated test pattern.
    let camera = MockCamera::builder()
        .credentials("admin", "example-password")
        .start()
        .await?;
    save_snapshot(
        &camera.device_service_url(),
        Credentials::new("admin", "example-password"),
        &out,
    )
    .await?;
    camera.shutdown().await;
    Ok(())
}
