//! Subscribe to a camera's events (motion, tampering, digital inputs) and print them.
//!
//! ```text
//! cargo run --example events --features mock                    # against a mock camera
//! CAMLINK_PASSWORD=... cargo run --example events --features mock -- \
//!     --url http://192.0.2.10/onvif/device_service --user admin   # wave at the camera
//! ```

use std::sync::Arc;
use std::time::Duration;

use camlink::auth::Credentials;
use camlink::mock::MockCamera;
use camlink::onvif::client::{OnvifClient, OnvifOptions};
use camlink::onvif::events::Notification;

/// Prints events for at most `listen`, stopping early after `enough` events.
pub async fn watch_events(
    url: &str,
    credentials: Credentials,
    listen: Duration,
    enough: usize,
) -> camlink::Result<Vec<Notification>> {
    let options = OnvifOptions {
        credentials: Some(credentials),
        ..OnvifOptions::default()
    };
    let camera = OnvifClient::connect(url, options).await?;
    // A pull-point subscription that renews itself, and subscribes again after a camera reboot.
    let mut events = camera.subscribe().with_wait(Duration::from_secs(2));
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + listen;
    while seen.len() < enough {
        let Ok(next) = tokio::time::timeout_at(deadline, events.next()).await else {
            break; // time is up
        };
        let Some(event) = next else { break };
        let event = event?; // wrong password, no event service, or a camera that stays away
        println!(
            "{} {} source {:?} data {:?}",
            event
                .utc_time
                .map(camlink::datetime::format_utc)
                .unwrap_or_default(),
            event.topic_path(),
            event.source,
            event.data
        );
        seen.push(event);
    }
    // Tell the camera we are gone (it would otherwise keep the subscription until it expires).
    let _ = tokio::time::timeout(Duration::from_secs(5), events.close()).await;
    Ok(seen)
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
    if let Some((url, credentials)) = camera_from_args() {
        watch_events(&url, credentials, Duration::from_secs(60), 20).await?;
        return Ok(());
    }
    // No camera given: a mock camera, and someone walking past it every half second.
    let camera = Arc::new(
        MockCamera::builder()
            .credentials("admin", "example-password")
            .start()
            .await?,
    );
    let walker = {
        let camera = camera.clone();
        tokio::spawn(async move {
            let mut on = true;
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                camera.trigger_motion(on);
                on = !on;
            }
        })
    };
    let url = camera.device_service_url();
    let seen = watch_events(
        &url,
        Credentials::new("admin", "example-password"),
        Duration::from_secs(10),
        3,
    )
    .await?;
    walker.abort();
    println!("{} events", seen.len());
    Ok(())
}
