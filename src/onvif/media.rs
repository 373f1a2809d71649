//! Media service ver10 (`trt`): profiles, stream and snapshot URIs, sources and encoders.
//!
//! The configuration types here are shared with [`crate::onvif::media2`].

use crate::Result;
use crate::onvif::soap::ns::{TRT, TT};
use crate::onvif::xml::Element;
use crate::onvif::{
    Call, bad, check_uri, child_bool, child_num, expect, text_or_empty, token_attr,
};
use crate::xmlutil::escape;

/// Largest width or height accepted for a video resolution.
pub const MAX_DIMENSION: u32 = 16_384;

/// A video codec as cameras name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoEncoding {
    /// H.264.
    H264,
    /// H.265 / HEVC.
    H265,
    /// Motion JPEG.
    Jpeg,
    /// MPEG-4 part 2.
    Mpeg4,
    /// Anything else, as written.
    Other(String),
}

impl VideoEncoding {
    /// Reads an encoding name leniently (`H264`, `h.264`, `H265`, `HEVC`, `JPEG`, `MPV4-ES`, ...).
    pub fn parse(s: &str) -> VideoEncoding {
        let n: String = s
            .trim()
            .to_ascii_uppercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        match n.as_str() {
            "H264" | "AVC" => VideoEncoding::H264,
            "H265" | "HEVC" => VideoEncoding::H265,
            "JPEG" | "MJPEG" | "JPG" => VideoEncoding::Jpeg,
            "MPEG4" | "MPV4ES" | "MP4VES" => VideoEncoding::Mpeg4,
            _ => VideoEncoding::Other(s.trim().to_string()),
        }
    }
}

/// Width and height in pixels (both 1..=[`MAX_DIMENSION`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

pub(crate) fn parse_resolution(el: &Element) -> Result<Resolution> {
    let (Some(width), Some(height)) = (
        child_num::<u32>(el, TT, "Width"),
        child_num::<u32>(el, TT, "Height"),
    ) else {
        return Err(bad(el, "resolution without Width/Height"));
    };
    if !(1..=MAX_DIMENSION).contains(&width) || !(1..=MAX_DIMENSION).contains(&height) {
        return Err(bad(el, format!("implausible resolution {width}x{height}")));
    }
    Ok(Resolution { width, height })
}

/// A video encoder configuration (ver10 or ver20).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoEncoderConfiguration {
    /// Token.
    pub token: String,
    /// Name.
    pub name: String,
    /// Codec.
    pub encoding: VideoEncoding,
    /// Resolution, if given.
    pub resolution: Option<Resolution>,
    /// Quality (camera-specific scale).
    pub quality: Option<f64>,
    /// Frame rate limit, frames per second.
    pub frame_rate_limit: Option<f64>,
    /// Bitrate limit, kbit/s.
    pub bitrate_limit: Option<u32>,
    /// GOP length, if given.
    pub gov_length: Option<u32>,
    /// Codec profile (`Main`, `High`, ...), if given.
    pub profile: Option<String>,
}

pub(crate) fn parse_video_encoder(el: &Element) -> Result<VideoEncoderConfiguration> {
    let encoding = el
        .child_text(TT, "Encoding")
        .map(VideoEncoding::parse)
        .ok_or_else(|| bad(el, "video encoder without Encoding"))?;
    let resolution = match el.child(TT, "Resolution") {
        Some(r) => Some(parse_resolution(r)?),
        None => None,
    };
    let rc = el.child(TT, "RateControl");
    let codec = el.child(TT, "H264").or_else(|| el.child(TT, "MPEG4"));
    Ok(VideoEncoderConfiguration {
        token: token_attr(el)?,
        name: text_or_empty(el, TT, "Name"),
        encoding,
        resolution,
        quality: crate::onvif::child_f64(el, TT, "Quality"),
        frame_rate_limit: rc.and_then(|r| crate::onvif::child_f64(r, TT, "FrameRateLimit")),
        bitrate_limit: rc.and_then(|r| child_num(r, TT, "BitrateLimit")),
        gov_length: el
            .attr("GovLength")
            .and_then(|v| v.parse().ok())
            .or_else(|| codec.and_then(|c| child_num(c, TT, "GovLength"))),
        profile: el.attr("Profile").map(str::to_string).or_else(|| {
            codec.and_then(|c| {
                c.child_text(TT, "H264Profile")
                    .or_else(|| c.child_text(TT, "Mpeg4Profile"))
                    .map(str::to_string)
            })
        }),
    })
}

/// An audio encoder configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioEncoderConfiguration {
    /// Token.
    pub token: String,
    /// Name.
    pub name: String,
    /// Codec as named by the camera (`G711`, `AAC`, `G726`, `PCMU`, ...).
    pub encoding: String,
    /// Bitrate, kbit/s.
    pub bitrate: Option<u32>,
    /// Sample rate, kHz.
    pub sample_rate: Option<u32>,
}

pub(crate) fn parse_audio_encoder(el: &Element) -> Result<AudioEncoderConfiguration> {
    Ok(AudioEncoderConfiguration {
        token: token_attr(el)?,
        name: text_or_empty(el, TT, "Name"),
        encoding: el
            .child_text(TT, "Encoding")
            .map(str::to_string)
            .ok_or_else(|| bad(el, "audio encoder without Encoding"))?,
        bitrate: child_num(el, TT, "Bitrate"),
        sample_rate: child_num(el, TT, "SampleRate"),
    })
}

/// A video source configuration (which sensor, which window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoSourceConfiguration {
    /// Token.
    pub token: String,
    /// The physical video source token.
    pub source_token: String,
    /// Bounds width and height, if given.
    pub bounds: Option<Resolution>,
}

pub(crate) fn parse_video_source_config(el: &Element) -> Result<VideoSourceConfiguration> {
    let bounds = el.child(TT, "Bounds").and_then(|b| {
        Some(Resolution {
            width: b.attr("width")?.parse().ok()?,
            height: b.attr("height")?.parse().ok()?,
        })
    });
    Ok(VideoSourceConfiguration {
        token: token_attr(el)?,
        source_token: text_or_empty(el, TT, "SourceToken"),
        bounds,
    })
}

/// A media profile (ver10 layout; Media2 profiles are converted to it).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Token (what GetStreamUri wants).
    pub token: String,
    /// Name.
    pub name: String,
    /// Whether the profile cannot be deleted.
    pub fixed: bool,
    /// Video source configuration.
    pub video_source: Option<VideoSourceConfiguration>,
    /// Video encoder configuration.
    pub video_encoder: Option<VideoEncoderConfiguration>,
    /// Audio encoder configuration.
    pub audio_encoder: Option<AudioEncoderConfiguration>,
    /// PTZ configuration token and node token, when the profile can move the camera.
    pub ptz: Option<(String, String)>,
    /// Whether the profile carries a metadata (analytics/events) stream.
    pub metadata: bool,
}

fn parse_profile(p: &Element) -> Result<Profile> {
    Ok(Profile {
        token: token_attr(p)?,
        name: text_or_empty(p, TT, "Name"),
        fixed: p
            .attr("fixed")
            .and_then(crate::onvif::parse_bool)
            .unwrap_or(false),
        video_source: p
            .child(TT, "VideoSourceConfiguration")
            .map(parse_video_source_config)
            .transpose()?,
        video_encoder: p
            .child(TT, "VideoEncoderConfiguration")
            .map(parse_video_encoder)
            .transpose()?,
        audio_encoder: p
            .child(TT, "AudioEncoderConfiguration")
            .map(parse_audio_encoder)
            .transpose()?,
        ptz: p.child(TT, "PTZConfiguration").and_then(|c| {
            Some((
                c.attr("token")?.to_string(),
                text_or_empty(c, TT, "NodeToken"),
            ))
        }),
        metadata: p.child(TT, "MetadataConfiguration").is_some(),
    })
}

/// `GetProfiles`.
pub fn get_profiles() -> Call {
    Call::new(TRT, "GetProfiles", "")
}
/// `GetProfile`.
pub fn get_profile(token: &str) -> Call {
    Call::new(
        TRT,
        "GetProfile",
        &format!("<ProfileToken>{}</ProfileToken>", escape(token)),
    )
}

/// How the stream should be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamTransport {
    /// RTP over UDP unicast, set up by RTSP.
    RtspUdp,
    /// RTP interleaved in the RTSP TCP connection (the usual choice of a VMS).
    #[default]
    RtspTcp,
    /// RTSP tunnelled over HTTP.
    Http,
    /// RTP multicast.
    Multicast,
}

/// `GetStreamUri` for a profile.
pub fn get_stream_uri(token: &str, transport: StreamTransport) -> Call {
    let (stream, proto) = match transport {
        StreamTransport::RtspUdp => ("RTP-Unicast", "UDP"),
        StreamTransport::RtspTcp => ("RTP-Unicast", "RTSP"),
        StreamTransport::Http => ("RTP-Unicast", "HTTP"),
        StreamTransport::Multicast => ("RTP-Multicast", "UDP"),
    };
    Call::new(
        TRT,
        "GetStreamUri",
        &format!(
            concat!(
                "<StreamSetup><tt:Stream>{}</tt:Stream><tt:Transport><tt:Protocol>{}</tt:Protocol>",
                "</tt:Transport></StreamSetup><ProfileToken>{}</ProfileToken>"
            ),
            stream,
            proto,
            escape(token)
        ),
    )
}
/// `GetSnapshotUri` for a profile.
pub fn get_snapshot_uri(token: &str) -> Call {
    Call::new(
        TRT,
        "GetSnapshotUri",
        &format!("<ProfileToken>{}</ProfileToken>", escape(token)),
    )
}
/// `GetVideoSources`.
pub fn get_video_sources() -> Call {
    Call::new(TRT, "GetVideoSources", "")
}
/// `GetVideoEncoderConfigurations`.
pub fn get_video_encoder_configurations() -> Call {
    Call::new(TRT, "GetVideoEncoderConfigurations", "")
}
/// `GetAudioEncoderConfigurations`.
pub fn get_audio_encoder_configurations() -> Call {
    Call::new(TRT, "GetAudioEncoderConfigurations", "")
}

/// Parses `GetProfilesResponse`.
pub fn parse_profiles(el: &Element) -> Result<Vec<Profile>> {
    let el = expect(el, TRT, "GetProfilesResponse")?;
    el.children_named(TRT, "Profiles")
        .map(parse_profile)
        .collect()
}

/// Parses `GetProfileResponse`.
pub fn parse_profile_response(el: &Element) -> Result<Profile> {
    let el = expect(el, TRT, "GetProfileResponse")?;
    parse_profile(
        el.child(TRT, "Profile")
            .ok_or_else(|| bad(el, "no Profile"))?,
    )
}

/// A stream or snapshot URI with its validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUri {
    /// The URI as the camera gave it (see the client for rewriting).
    pub uri: String,
    /// Invalid once a client connected.
    pub invalid_after_connect: bool,
    /// Invalid after a reboot.
    pub invalid_after_reboot: bool,
}

fn parse_media_uri(el: &Element, schemes: &[&str]) -> Result<MediaUri> {
    let m = el
        .child(TRT, "MediaUri")
        .ok_or_else(|| bad(el, "no MediaUri"))?;
    let uri = m
        .child_text(TT, "Uri")
        .ok_or_else(|| bad(m, "MediaUri without Uri"))?;
    check_uri(m, uri, schemes)?;
    Ok(MediaUri {
        uri: uri.to_string(),
        invalid_after_connect: child_bool(m, TT, "InvalidAfterConnect"),
        invalid_after_reboot: child_bool(m, TT, "InvalidAfterReboot"),
    })
}

/// URI schemes accepted for streams.
pub(crate) const STREAM_SCHEMES: &[&str] = &["rtsp", "rtsps", "http", "https", "rtp", "udp"];
/// URI schemes accepted for snapshots.
pub(crate) const SNAPSHOT_SCHEMES: &[&str] = &["http", "https"];

/// Parses `GetStreamUriResponse`.
pub fn parse_stream_uri(el: &Element) -> Result<MediaUri> {
    parse_media_uri(expect(el, TRT, "GetStreamUriResponse")?, STREAM_SCHEMES)
}

/// Parses `GetSnapshotUriResponse`.
pub fn parse_snapshot_uri(el: &Element) -> Result<MediaUri> {
    parse_media_uri(expect(el, TRT, "GetSnapshotUriResponse")?, SNAPSHOT_SCHEMES)
}

/// A physical video input.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoSource {
    /// Token.
    pub token: String,
    /// Frame rate.
    pub framerate: Option<f64>,
    /// Sensor resolution.
    pub resolution: Option<Resolution>,
}

/// Parses `GetVideoSourcesResponse`.
pub fn parse_video_sources(el: &Element) -> Result<Vec<VideoSource>> {
    let el = expect(el, TRT, "GetVideoSourcesResponse")?;
    el.children_named(TRT, "VideoSources")
        .map(|s| {
            Ok(VideoSource {
                token: token_attr(s)?,
                framerate: crate::onvif::child_f64(s, TT, "Framerate"),
                resolution: s
                    .child(TT, "Resolution")
                    .map(parse_resolution)
                    .transpose()?,
            })
        })
        .collect()
}

/// Parses `GetVideoEncoderConfigurationsResponse`.
pub fn parse_video_encoder_configurations(el: &Element) -> Result<Vec<VideoEncoderConfiguration>> {
    let el = expect(el, TRT, "GetVideoEncoderConfigurationsResponse")?;
    el.children_named(TRT, "Configurations")
        .map(parse_video_encoder)
        .collect()
}

/// Parses `GetAudioEncoderConfigurationsResponse`.
pub fn parse_audio_encoder_configurations(el: &Element) -> Result<Vec<AudioEncoderConfiguration>> {
    let el = expect(el, TRT, "GetAudioEncoderConfigurationsResponse")?;
    el.children_named(TRT, "Configurations")
        .map(parse_audio_encoder)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_lenient() {
        assert_eq!(VideoEncoding::parse(" h.264 "), VideoEncoding::H264);
        assert_eq!(VideoEncoding::parse("HEVC"), VideoEncoding::H265);
        assert_eq!(VideoEncoding::parse("MPV4-ES"), VideoEncoding::Mpeg4);
        assert_eq!(
            VideoEncoding::parse("SVAC"),
            VideoEncoding::Other("SVAC".into())
        );
    }

    #[test]
    fn stream_setup_for_tcp() {
        let c = get_stream_uri("main&1", StreamTransport::RtspTcp);
        assert!(c.body.contains("<tt:Protocol>RTSP</tt:Protocol>"));
        assert!(c.body.contains("<ProfileToken>main&amp;1</ProfileToken>"));
        assert!(c.idempotent);
    }
}
