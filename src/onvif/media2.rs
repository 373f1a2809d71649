//! Media2 service ver20 (`tr2`): profiles with their configurations, stream and snapshot URIs,
//! video encoders (where H.265 lives on many cameras). Preferred over ver10 when offered.
//!
//! Profiles are returned as [`media::Profile`] so that a caller handles one type.

use crate::Result;
use crate::onvif::media::{
    self, MediaUri, Profile, SNAPSHOT_SCHEMES, STREAM_SCHEMES, StreamTransport,
    VideoEncoderConfiguration,
};
use crate::onvif::soap::ns::{TR2, TT};
use crate::onvif::xml::Element;
use crate::onvif::{Call, bad, check_uri, expect, text_or_empty, token_attr};
use crate::xmlutil::escape;

/// `GetProfiles` with all configurations.
pub fn get_profiles() -> Call {
    Call::new(TR2, "GetProfiles", "<Type>All</Type>")
}

/// `GetStreamUri` for a profile.
pub fn get_stream_uri(token: &str, transport: StreamTransport) -> Call {
    let proto = match transport {
        StreamTransport::RtspUdp => "RtspUnicast",
        StreamTransport::RtspTcp => "RTSP",
        StreamTransport::Http => "RtspOverHttp",
        StreamTransport::Multicast => "RtspMulticast",
    };
    Call::new(
        TR2,
        "GetStreamUri",
        &format!(
            "<Protocol>{proto}</Protocol><ProfileToken>{}</ProfileToken>",
            escape(token)
        ),
    )
}

/// `GetSnapshotUri` for a profile.
pub fn get_snapshot_uri(token: &str) -> Call {
    Call::new(
        TR2,
        "GetSnapshotUri",
        &format!("<ProfileToken>{}</ProfileToken>", escape(token)),
    )
}

/// `GetVideoEncoderConfigurations` (all of them).
pub fn get_video_encoder_configurations() -> Call {
    Call::new(TR2, "GetVideoEncoderConfigurations", "")
}

fn parse_profile(p: &Element) -> Result<Profile> {
    let cfg = p.child(TR2, "Configurations");
    let get = |name: &str| cfg.and_then(|c| c.child(TR2, name));
    Ok(Profile {
        token: token_attr(p)?,
        name: text_or_empty(p, TR2, "Name"),
        fixed: p
            .attr("fixed")
            .and_then(crate::onvif::parse_bool)
            .unwrap_or(false),
        video_source: get("VideoSource")
            .map(media::parse_video_source_config)
            .transpose()?,
        video_encoder: get("VideoEncoder")
            .map(media::parse_video_encoder)
            .transpose()?,
        audio_encoder: get("AudioEncoder")
            .map(media::parse_audio_encoder)
            .transpose()?,
        ptz: get("PTZ").and_then(|c| {
            Some((
                c.attr("token")?.to_string(),
                text_or_empty(c, TT, "NodeToken"),
            ))
        }),
        metadata: get("Metadata").is_some(),
    })
}

/// Parses `GetProfilesResponse` (ver20).
pub fn parse_profiles(el: &Element) -> Result<Vec<Profile>> {
    let el = expect(el, TR2, "GetProfilesResponse")?;
    el.children_named(TR2, "Profiles")
        .map(parse_profile)
        .collect()
}

fn parse_uri(el: &Element, schemes: &[&str]) -> Result<MediaUri> {
    let uri = el.child_text(TR2, "Uri").ok_or_else(|| bad(el, "no Uri"))?;
    check_uri(el, uri, schemes)?;
    Ok(MediaUri {
        uri: uri.to_string(),
        invalid_after_connect: false,
        invalid_after_reboot: false,
    })
}

/// Parses `GetStreamUriResponse` (ver20).
pub fn parse_stream_uri(el: &Element) -> Result<MediaUri> {
    parse_uri(expect(el, TR2, "GetStreamUriResponse")?, STREAM_SCHEMES)
}

/// Parses `GetSnapshotUriResponse` (ver20).
pub fn parse_snapshot_uri(el: &Element) -> Result<MediaUri> {
    parse_uri(expect(el, TR2, "GetSnapshotUriResponse")?, SNAPSHOT_SCHEMES)
}

/// Parses `GetVideoEncoderConfigurationsResponse` (ver20).
pub fn parse_video_encoder_configurations(el: &Element) -> Result<Vec<VideoEncoderConfiguration>> {
    let el = expect(el, TR2, "GetVideoEncoderConfigurationsResponse")?;
    el.children_named(TR2, "Configurations")
        .map(media::parse_video_encoder)
        .collect()
}
