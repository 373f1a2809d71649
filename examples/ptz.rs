//! Pan a PTZ camera for half a second, stop it, and read where it is now.
//!
//! ```text
//! cargo run --example ptz --features mock                       # against a mock camera
//! CAMLINK_PASSWORD=... cargo run --example ptz --features mock -- \
//!     --url http://192.0.2.10/onvif/device_service --user admin   # moves a real camera!
//! ```

use std::time::Duration;

use camlink::auth::Credentials;
use camlink::mock::MockCamera;
use camlink::onvif::client::{OnvifClient, OnvifOptions};
use camlink::onvif::ptz::PtzVector;

/// The pan position before and after the move (`None` when the camera does not report it).
pub struct Moved {
    pub pan_before: Option<f64>,
    pub pan_after: Option<f64>,
}

fn pan_of(position: Option<PtzVector>) -> Option<f64> {
    position.and_then(|p| p.pan_tilt).map(|(pan, _tilt)| pan)
}

/// Pans right at half speed for `duration`, then stops.
pub async fn pan_right(
    url: &str,
    credentials: Credentials,
    duration: Duration,
) -> camlink::Result<Moved> {
    let options = OnvifOptions {
        credentials: Some(credentials),
        ..OnvifOptions::default()
    };
    let camera = OnvifClient::connect(url, options).await?;
    // PTZ commands name a media profile that carries a PTZ configuration.
    let profiles = camera.profiles().await?;
    let Some(profile) = profiles.iter().find(|p| p.ptz.is_some()) else {
        return Err(camlink::Error::new(
            camlink::ErrorKind::Unsupported,
            "no profile of this camera can move it",
        ));
    };
    let token = profile.token.as_str();

    let before = camera.ptz_status(token).await?;
    println!("before: {:?}", before.position);

    // ContinuousMove takes a speed (-1..1), not a target; the timeout makes the camera stop by
    // itself even if our Stop got lost.
    camera
        .continuous_move(token, PtzVector::pan_tilt(0.5, 0.0), Some(duration))
        .await?;
    tokio::time::sleep(duration).await;
    camera.ptz_stop(token).await?;

    let after = camera.ptz_status(token).await?;
    println!("after:  {:?}", after.position);
    Ok(Moved {
        pan_before: pan_of(before.position),
        pan_after: pan_of(after.position),
    })
}

/// `--url URL --user U` (password from `CAMLINK_PASSWORD`), or `None` for a mock camera.
fn camera_from_args() -> Option<(String, Credentials)> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        let i = args.iter().position(|a| a == flag)?;
        args.get(i + 1).cloned()
    };
    let url = value("--url")?;
    let user = value("--user").unwrap_or_else(|| "admin".into());
    let password = std::env::var("CAMLINK_PASSWORD").unwrap_or_default();
    Some((url, Credentials::new(user, password)))
}

#[tokio::main]
async fn main() -> camlink::Result<()> {
    let duration = Duration::from_millis(500);
    if let Some((url, credentials)) = camera_from_args() {
        pan_right(&url, credentials, duration).await?;
        return Ok(());
    }
    // No camera given: the mock camera simulates a PTZ head that moves over time.
    let camera = MockCamera::builder()
        .credentials("admin", "example-password")
        .start()
        .await?;
    pan_right(
        &camera.device_service_url(),
        Credentials::new("admin", "example-password"),
        duration,
    )
    .await?;
    println!(
        "mock head now at (pan, tilt, zoom) = {:?}",
        camera.ptz_position()
    );
    camera.shutdown().await;
    Ok(())
}
