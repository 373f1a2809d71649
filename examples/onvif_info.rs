//! Who is this camera? Device information, clock offset, services and media profiles.
//!
//! ```text
//! cargo run --example onvif_info --features mock                # against a mock camera
//! CAMLINK_PASSWORD=... cargo run --example onvif_info --features mock -- \
//!     --url http://192.0.2.10/onvif/device_service --user admin   # against a real camera
//! ```

use camlink::auth::Credentials;
use camlink::mock::MockCamera;
use camlink::onvif::client::{OnvifClient, OnvifOptions};
use camlink::onvif::media::StreamTransport;

/// What the walk found (the test of this example checks it).
pub struct Summary {
    pub model: String,
    pub clock_offset: i64,
    pub stream_uris: Vec<String>,
}

/// Connects to the camera at `url` and prints what a VMS wants to know about it.
pub async fn show(url: &str, credentials: Credentials) -> camlink::Result<Summary> {
    // `connect` reads the camera clock (UsernameToken needs it) and learns the service
    // addresses; every request has a timeout (5 s by default).
    let options = OnvifOptions {
        credentials: Some(credentials),
        ..OnvifOptions::default()
    };
    let camera = OnvifClient::connect(url, options).await?;

    let info = camera.device_information().await?;
    println!(
        "{} {} (firmware {})",
        info.manufacturer, info.model, info.firmware_version
    );
    println!("  serial number: {}", info.serial_number);
    // A camera whose clock is off refuses WS-Security tokens; camlink corrects for it.
    println!("  camera clock minus ours: {} s", camera.clock_offset());

    let services = camera.services().await?;
    println!("  media service: {:?}", services.media);
    println!("  PTZ service:   {:?}", services.ptz);
    println!("  event service: {:?}", services.events);

    // Each profile is one encoding of the picture; its stream URI is what an RTSP client plays.
    let mut stream_uris = Vec::new();
    for profile in camera.profiles().await? {
        let uri = camera
            .stream_uri(&profile.token, StreamTransport::RtspTcp)
            .await?
            .uri;
        let video = profile
            .video_encoder
            .as_ref()
            .map(|v| {
                let size = v
                    .resolution
                    .map(|r| format!("{}x{}", r.width, r.height))
                    .unwrap_or_default();
                format!("{:?} {size}", v.encoding)
            })
            .unwrap_or_else(|| "no video".into());
        println!("  profile {:<8} {video:<14} {uri}", profile.token);
        stream_uris.push(uri);
    }
    Ok(Summary {
        model: info.model,
        clock_offset: camera.clock_offset(),
        stream_uris,
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
    if let Some((url, credentials)) = camera_from_args() {
        show(&url, credentials).await?;
        return Ok(());
    }
    // No camera given: start a mock camera on free loopback ports, with a clock 2 h ahead.
    let camera = MockCamera::builder()
        .credentials("admin", "example-password")
        .clock_offset(7200)
        .start()
        .await?;
    println!("mock camera at {}", camera.device_service_url());
    show(
        &camera.device_service_url(),
        Credentials::new("admin", "example-password"),
    )
    .await?;
    camera.shutdown().await;
    Ok(())
}
