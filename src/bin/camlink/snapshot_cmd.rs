//! `camlink snapshot DEVICE [--profile TOKEN] -o FILE`: save a snapshot image.
//!
//! JSON: `{"profile", "file", "bytes", "content_type", "jpeg", "snapshot_uri"}`.

use std::path::PathBuf;

use camlink::{Error, Result};
use serde_json::json;

use crate::device::{DeviceArgs, pick_profile, print_json};

/// Options of `camlink snapshot`.
#[derive(clap::Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// The media profile (default: the first one).
    #[arg(long, value_name = "TOKEN")]
    profile: Option<String>,
    /// Where to write the image (`-` for stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
}

pub async fn run(args: SnapshotArgs, json: bool) -> Result<()> {
    let camera = args.device.connect().await?;
    let profile = pick_profile(&camera, args.profile.as_deref(), false).await?;
    let uri = camera.snapshot_uri(&profile.token).await?.uri;
    let snap = camera.fetch_snapshot(&uri).await?;
    if !snap.is_jpeg() {
        tracing::warn!(
            content_type = ?snap.content_type,
            "the snapshot is not a JPEG image"
        );
    }
    let to_stdout = args.output.as_os_str() == "-";
    if to_stdout {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(&snap.data)
            .and_then(|()| out.flush())
            .map_err(|e| Error::io(e, "writing the snapshot to stdout"))?;
        return Ok(());
    }
    std::fs::write(&args.output, &snap.data).map_err(|e| {
        Error::io(
            e,
            format!("writing the snapshot to {}", args.output.display()),
        )
    })?;
    if json {
        print_json(&json!({
            "profile": profile.token,
            "file": args.output.display().to_string(),
            "bytes": snap.data.len(),
            "content_type": snap.content_type,
            "jpeg": snap.is_jpeg(),
            "snapshot_uri": uri,
        }));
    } else {
        println!(
            "saved {} bytes ({}) from profile {} to {}",
            snap.data.len(),
            snap.content_type.as_deref().unwrap_or("no content type"),
            profile.token,
            args.output.display()
        );
    }
    Ok(())
}
