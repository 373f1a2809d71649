//! `camlink profiles DEVICE`: the media profiles with their codecs, stream and snapshot URIs.

use camlink::Result;
use camlink::onvif::client::OnvifClient;
use camlink::onvif::media::{Profile, StreamTransport, VideoEncoding};
use serde_json::{Value, json};

use crate::device::{DeviceArgs, print_json};

/// Options of `camlink profiles`.
#[derive(clap::Args, Debug)]
pub struct ProfilesArgs {
    #[command(flatten)]
    device: DeviceArgs,
}

/// The ONVIF name of a video encoding (`H264`, `H265`, `JPEG`, `MPEG4`, or as the camera wrote it).
pub fn encoding_name(e: &VideoEncoding) -> &str {
    match e {
        VideoEncoding::H264 => "H264",
        VideoEncoding::H265 => "H265",
        VideoEncoding::Jpeg => "JPEG",
        VideoEncoding::Mpeg4 => "MPEG4",
        VideoEncoding::Other(s) => s,
    }
}

/// The JSON of one profile (`stream_uri`/`snapshot_uri` passed in: they cost a request each).
pub fn profile_json(p: &Profile, stream_uri: Option<&str>, snapshot_uri: Option<&str>) -> Value {
    let video = p.video_encoder.as_ref().map(|v| {
        json!({
            "encoding": encoding_name(&v.encoding),
            "width": v.resolution.map(|r| r.width),
            "height": v.resolution.map(|r| r.height),
            "framerate": v.frame_rate_limit,
            "bitrate_kbps": v.bitrate_limit,
            "gov_length": v.gov_length,
        })
    });
    let audio = p.audio_encoder.as_ref().map(|a| {
        json!({
            "encoding": a.encoding,
            "bitrate_kbps": a.bitrate,
            "sample_rate_khz": a.sample_rate,
        })
    });
    json!({
        "token": p.token,
        "name": p.name,
        "video": video,
        "audio": audio,
        "stream_uri": stream_uri,
        "snapshot_uri": snapshot_uri,
        "ptz": p.ptz.is_some(),
        "metadata": p.metadata,
    })
}

/// The stream and snapshot URIs of a profile; a camera refusing one gets `None` (logged), but a
/// refused login is an error.
pub async fn uris(camera: &OnvifClient, token: &str) -> Result<(Option<String>, Option<String>)> {
    let keep = |r: Result<String>, what: &str| match r {
        Ok(u) => Ok(Some(u)),
        Err(e) if e.kind() == &camlink::ErrorKind::Unauthorized => Err(e),
        Err(e) => {
            tracing::warn!("profile {token}: no {what}: {e}");
            Ok(None)
        }
    };
    let stream = keep(
        camera
            .stream_uri(token, StreamTransport::RtspTcp)
            .await
            .map(|u| u.uri),
        "stream URI",
    )?;
    let snapshot = keep(
        camera.snapshot_uri(token).await.map(|u| u.uri),
        "snapshot URI",
    )?;
    Ok((stream, snapshot))
}

pub async fn run(args: ProfilesArgs, json: bool) -> Result<()> {
    let camera = args.device.connect().await?;
    let profiles = camera.profiles().await?;
    let mut out = Vec::with_capacity(profiles.len());
    for p in &profiles {
        let (stream, snapshot) = uris(&camera, &p.token).await?;
        out.push((p, stream, snapshot));
    }
    if json {
        print_json(&Value::Array(
            out.iter()
                .map(|(p, s, n)| profile_json(p, s.as_deref(), n.as_deref()))
                .collect(),
        ));
        return Ok(());
    }
    if out.is_empty() {
        println!("the camera reports no media profile");
    }
    for (p, stream, snapshot) in &out {
        println!("{} ({})", p.token, p.name);
        match &p.video_encoder {
            Some(v) => {
                let size = v
                    .resolution
                    .map(|r| format!("{}x{}", r.width, r.height))
                    .unwrap_or_else(|| "?x?".into());
                let fps = v
                    .frame_rate_limit
                    .map(|f| format!(" @ {f} fps"))
                    .unwrap_or_default();
                println!("  video:    {} {size}{fps}", encoding_name(&v.encoding));
            }
            None => println!("  video:    none"),
        }
        if let Some(a) = &p.audio_encoder {
            let rate = a
                .sample_rate
                .map(|r| format!(" {r} kHz"))
                .unwrap_or_default();
            println!("  audio:    {}{rate}", a.encoding);
        }
        if p.ptz.is_some() {
            println!("  ptz:      yes");
        }
        println!("  stream:   {}", stream.as_deref().unwrap_or("(none)"));
        println!("  snapshot: {}", snapshot.as_deref().unwrap_or("(none)"));
    }
    Ok(())
}
