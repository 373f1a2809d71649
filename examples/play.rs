//! Play a camera's stream for a few seconds and count what arrives, per stream.
//!
//! ```text
//! cargo run --example play --features mock                      # against a mock camera
//! CAMLINK_PASSWORD=... cargo run --example play --features mock -- \
//!     --url rtsp://192.0.2.10:554/Streaming/Channels/101 --user admin [--udp]
//! ```

use std::time::Duration;

use camlink::auth::Credentials;
use camlink::mock::MockCamera;
use camlink::rtsp::client::{Item, Session, SessionOptions, TransportMode};

/// What arrived on one stream.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StreamCount {
    /// Codec name (`h264`, `pcmu`, ...).
    pub codec: String,
    /// Frames received.
    pub frames: u64,
    /// Key frames among them.
    pub key_frames: u64,
    /// RTP packets lost.
    pub lost: u64,
}

/// Plays `url` for `how_long` over TCP (or UDP) and counts frames per stream.
pub async fn play(
    url: &str,
    credentials: Credentials,
    udp: bool,
    how_long: Duration,
) -> camlink::Result<Vec<StreamCount>> {
    let transport = if udp {
        TransportMode::Udp
    } else {
        TransportMode::Tcp
    };
    let options = SessionOptions::new()
        .credentials(credentials)
        .transport(transport);
    // DESCRIBE: which streams are there?
    let mut session = Session::describe(url, options).await?;
    let mut counts: Vec<StreamCount> = session
        .streams()
        .iter()
        .map(|s| StreamCount {
            codec: s.codec.name(),
            ..StreamCount::default()
        })
        .collect();
    // SETUP every stream camlink can depacketize, then PLAY.
    session.setup_all().await?;
    session.play().await?;
    let deadline = tokio::time::Instant::now() + how_long;
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline, session.next()).await {
        match item? {
            Item::Loss { stream, packets } => {
                if let Some(c) = counts.get_mut(stream) {
                    c.lost += packets;
                }
            }
            other => {
                if let Some(f) = other.frame()
                    && let Some(c) = counts.get_mut(f.stream)
                {
                    c.frames += 1;
                    c.key_frames += u64::from(f.frame.keyframe);
                }
            }
        }
    }
    // TEARDOWN (bounded in time).
    session.teardown().await?;
    for c in &counts {
        println!(
            "{:<14} {:>5} frames ({} key), {} packets lost",
            c.codec, c.frames, c.key_frames, c.lost
        );
    }
    Ok(counts)
}

/// The value after `flag` on the command line.
fn arg(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1).cloned()
}

#[tokio::main]
async fn main() -> camlink::Result<()> {
    let udp = std::env::args().any(|a| a == "--udp");
    if let Some(url) = arg("--url") {
        let user = arg("--user").unwrap_or_else(|| "admin".into());
        let password = std::env::var("CAMLINK_PASSWORD").unwrap_or_default();
        play(
            &url,
            Credentials::new(user, password),
            udp,
            Duration::from_secs(5),
        )
        .await?;
        return Ok(());
    }
    // No camera given: a mock camera on free loopback ports.
    let camera = MockCamera::builder()
        .credentials("admin", "example-password")
        .start()
        .await?;
    play(
        &camera.rtsp_url("main"),
        Credentials::new("admin", "example-password"),
        udp,
        Duration::from_secs(3),
    )
    .await?;
    camera.shutdown().await;
    Ok(())
}
