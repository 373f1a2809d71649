//! The mock camera's media (ver10) and media2 (ver20) services.

use super::config::ProfileConfig;
use super::media::{AudioCodec, VideoCodec};
use super::onvif_device::VIDEO_SOURCE;
use super::onvif_server::{Answer, Ctx, FaultSpec};
use crate::onvif::soap::ns;
use crate::xmlutil::escape;

const AUDIO_SOURCE: &str = "AudioSource_1";
const MULTICAST: &str = "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>";
/// Generic PTZ spaces.
pub(crate) const PAN_TILT_POSITION: &str =
    "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace";
pub(crate) const ZOOM_POSITION: &str =
    "http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace";
pub(crate) const PAN_TILT_TRANSLATION: &str =
    "http://www.onvif.org/ver10/tptz/PanTiltSpaces/TranslationGenericSpace";
pub(crate) const ZOOM_TRANSLATION: &str =
    "http://www.onvif.org/ver10/tptz/ZoomSpaces/TranslationGenericSpace";
pub(crate) const PAN_TILT_VELOCITY: &str =
    "http://www.onvif.org/ver10/tptz/PanTiltSpaces/VelocityGenericSpace";
pub(crate) const ZOOM_VELOCITY: &str =
    "http://www.onvif.org/ver10/tptz/ZoomSpaces/VelocityGenericSpace";
/// The PTZ node and configuration tokens.
pub(crate) const PTZ_NODE: &str = "PTZNode_1";
pub(crate) const PTZ_CONFIG: &str = "PTZConfig_1";

fn resp(service: &str, prefix: &str, op: &str, inner: &str) -> Answer {
    Answer::Body(format!(
        r#"<{prefix}:{op}Response xmlns:{prefix}="{service}" xmlns:tt="{}">{inner}</{prefix}:{op}Response>"#,
        ns::TT
    ))
}

fn profile<'a>(ctx: &'a Ctx<'_>, token: Option<&str>) -> Result<&'a ProfileConfig, Answer> {
    let token = token.unwrap_or("");
    ctx.shared
        .config
        .profiles
        .iter()
        .find(|p| p.token == token)
        .ok_or_else(|| {
            Answer::Fault(FaultSpec::invalid_arg(
                "NoProfile",
                format!("no profile with token {token:?}"),
            ))
        })
}

fn video_source_config(ctx: &Ctx<'_>, tag: &str) -> String {
    let (w, h) = max_size(ctx);
    let n = ctx.shared.config.profiles.len();
    format!(
        "<{tag} token=\"VideoSourceConfig_1\"><tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>{n}</tt:UseCount>\
         <tt:SourceToken>{VIDEO_SOURCE}</tt:SourceToken><tt:Bounds x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\"/></{tag}>"
    )
}

fn audio_source_config(tag: &str, users: usize) -> String {
    format!(
        "<{tag} token=\"AudioSourceConfig_1\"><tt:Name>AudioSourceConfig</tt:Name><tt:UseCount>{users}</tt:UseCount>\
         <tt:SourceToken>{AUDIO_SOURCE}</tt:SourceToken></{tag}>"
    )
}

fn max_size(ctx: &Ctx<'_>) -> (u32, u32) {
    ctx.shared
        .config
        .profiles
        .iter()
        .map(|p| (p.width, p.height))
        .max()
        .unwrap_or((640, 360))
}

fn session_timeout(ctx: &Ctx<'_>) -> String {
    format!("PT{}S", ctx.shared.config.session_timeout.as_secs().max(1))
}

/// Media1 `VideoEncoderConfiguration` (H.264 and JPEG only: ver10 cannot say H.265).
fn video_encoder_v1(ctx: &Ctx<'_>, p: &ProfileConfig, tag: &str) -> Option<String> {
    let (enc, codec_part) = match p.video {
        VideoCodec::H264 => (
            "H264",
            format!(
                "<tt:H264><tt:GovLength>{}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264>",
                p.fps
            ),
        ),
        VideoCodec::Jpeg => ("JPEG", String::new()),
        VideoCodec::H265 => return None,
    };
    Some(format!(
        "<{tag} token=\"VideoEncoder_{t}\"><tt:Name>VideoEncoder_{t}</tt:Name><tt:UseCount>1</tt:UseCount>\
         <tt:Encoding>{enc}</tt:Encoding><tt:Resolution><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution>\
         <tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>{fps}</tt:FrameRateLimit>\
         <tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>{br}</tt:BitrateLimit></tt:RateControl>\
         {codec_part}{MULTICAST}<tt:SessionTimeout>{st}</tt:SessionTimeout></{tag}>",
        t = p.token,
        w = p.width,
        h = p.height,
        fps = p.fps,
        br = p.bitrate_kbps,
        st = session_timeout(ctx),
    ))
}

fn audio_params(a: AudioCodec) -> (&'static str, &'static str, u32, u32) {
    // (media1 encoding, media2 encoding, bitrate kbit/s, sample rate kHz)
    match a {
        AudioCodec::Aac => ("AAC", "MP4A-LATM", 32, 16),
        AudioCodec::Pcmu => ("G711", "PCMU", 64, 8),
        AudioCodec::Pcma => ("G711", "PCMA", 64, 8),
    }
}

fn audio_encoder_v1(ctx: &Ctx<'_>, p: &ProfileConfig, tag: &str) -> Option<String> {
    let (enc, _, br, sr) = audio_params(p.audio?);
    Some(format!(
        "<{tag} token=\"AudioEncoder_{t}\"><tt:Name>AudioEncoder_{t}</tt:Name><tt:UseCount>1</tt:UseCount>\
         <tt:Encoding>{enc}</tt:Encoding><tt:Bitrate>{br}</tt:Bitrate><tt:SampleRate>{sr}</tt:SampleRate>\
         {MULTICAST}<tt:SessionTimeout>{st}</tt:SessionTimeout></{tag}>",
        t = p.token,
        st = session_timeout(ctx),
    ))
}

fn ptz_config(ctx: &Ctx<'_>, tag: &str) -> String {
    let n = ctx.shared.config.profiles.len();
    format!(
        "<{tag} token=\"{PTZ_CONFIG}\"><tt:Name>PTZ</tt:Name><tt:UseCount>{n}</tt:UseCount><tt:NodeToken>{PTZ_NODE}</tt:NodeToken>\
         <tt:DefaultAbsolutePantTiltPositionSpace>{PAN_TILT_POSITION}</tt:DefaultAbsolutePantTiltPositionSpace>\
         <tt:DefaultAbsoluteZoomPositionSpace>{ZOOM_POSITION}</tt:DefaultAbsoluteZoomPositionSpace>\
         <tt:DefaultRelativePanTiltTranslationSpace>{PAN_TILT_TRANSLATION}</tt:DefaultRelativePanTiltTranslationSpace>\
         <tt:DefaultRelativeZoomTranslationSpace>{ZOOM_TRANSLATION}</tt:DefaultRelativeZoomTranslationSpace>\
         <tt:DefaultContinuousPanTiltVelocitySpace>{PAN_TILT_VELOCITY}</tt:DefaultContinuousPanTiltVelocitySpace>\
         <tt:DefaultContinuousZoomVelocitySpace>{ZOOM_VELOCITY}</tt:DefaultContinuousZoomVelocitySpace>\
         <tt:DefaultPTZTimeout>PT5S</tt:DefaultPTZTimeout></{tag}>"
    )
}

/// The PTZ configuration (for the PTZ service).
pub(crate) fn ptz_configuration(ctx: &Ctx<'_>) -> String {
    ptz_config(ctx, "tptz:PTZConfiguration")
}

fn metadata_config(ctx: &Ctx<'_>, p: &ProfileConfig, tag: &str) -> Option<String> {
    p.metadata.then(|| {
        format!(
            "<{tag} token=\"Metadata_{t}\"><tt:Name>Metadata_{t}</tt:Name><tt:UseCount>1</tt:UseCount>\
             {MULTICAST}<tt:SessionTimeout>{st}</tt:SessionTimeout></{tag}>",
            t = p.token,
            st = session_timeout(ctx)
        )
    })
}

fn profile_v1(ctx: &Ctx<'_>, p: &ProfileConfig, tag: &str) -> String {
    let users = ctx
        .shared
        .config
        .profiles
        .iter()
        .filter(|p| p.audio.is_some())
        .count();
    let mut s = format!(
        "<{tag} token=\"{t}\" fixed=\"true\"><tt:Name>{name}</tt:Name>{vsc}",
        t = p.token,
        name = escape(if p.name.is_empty() { &p.token } else { &p.name }),
        vsc = video_source_config(ctx, "tt:VideoSourceConfiguration"),
    );
    if p.audio.is_some() {
        s.push_str(&audio_source_config("tt:AudioSourceConfiguration", users));
    }
    if let Some(v) = video_encoder_v1(ctx, p, "tt:VideoEncoderConfiguration") {
        s.push_str(&v);
    }
    if let Some(a) = audio_encoder_v1(ctx, p, "tt:AudioEncoderConfiguration") {
        s.push_str(&a);
    }
    s.push_str(&ptz_config(ctx, "tt:PTZConfiguration"));
    if let Some(m) = metadata_config(ctx, p, "tt:MetadataConfiguration") {
        s.push_str(&m);
    }
    s.push_str(&format!("</{tag}>"));
    s
}

fn media_uri(uri: &str, timeout: &str) -> String {
    format!(
        "<trt:MediaUri><tt:Uri>{}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>\
         <tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>{timeout}</tt:Timeout></trt:MediaUri>",
        escape(uri)
    )
}

/// Media (ver10) operations.
pub(crate) fn handle_media(ctx: &Ctx<'_>, op: &str) -> Answer {
    let r = |inner: &str| resp(ns::TRT, "trt", op, inner);
    let profiles = &ctx.shared.config.profiles;
    match op {
        "GetProfiles" => r(&profiles
            .iter()
            .map(|p| profile_v1(ctx, p, "trt:Profiles"))
            .collect::<String>()),
        "GetProfile" => match profile(ctx, ctx.arg("ProfileToken")) {
            Ok(p) => r(&profile_v1(ctx, p, "trt:Profile")),
            Err(a) => a,
        },
        "GetStreamUri" => {
            let p = match profile(ctx, ctx.arg("ProfileToken")) {
                Ok(p) => p,
                Err(a) => return a,
            };
            let setup = ctx.op.child_local("StreamSetup");
            let stream = setup
                .and_then(|s| s.child_local("Stream"))
                .map(|e| e.trimmed());
            if stream == Some("RTP-Multicast") {
                return Answer::Fault(FaultSpec::invalid_arg(
                    "InvalidStreamSetup",
                    "multicast streaming is not supported",
                ));
            }
            let uri = format!("{}/{}", ctx.rtsp_base(), p.token);
            r(&media_uri(&uri, "PT0S"))
        }
        "GetSnapshotUri" => match profile(ctx, ctx.arg("ProfileToken")) {
            Ok(p) => r(&media_uri(&ctx.snapshot_url(&p.token), "PT0S")),
            Err(a) => a,
        },
        "GetVideoSources" => {
            let (w, h) = max_size(ctx);
            r(&format!(
                "<trt:VideoSources token=\"{VIDEO_SOURCE}\"><tt:Framerate>25</tt:Framerate>\
                 <tt:Resolution><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution></trt:VideoSources>"
            ))
        }
        "GetVideoSourceConfigurations" => r(&video_source_config(ctx, "trt:Configurations")),
        "GetVideoEncoderConfigurations" => r(&profiles
            .iter()
            .filter_map(|p| video_encoder_v1(ctx, p, "trt:Configurations"))
            .collect::<String>()),
        "GetAudioEncoderConfigurations" => r(&profiles
            .iter()
            .filter_map(|p| audio_encoder_v1(ctx, p, "trt:Configurations"))
            .collect::<String>()),
        "GetAudioSources" => {
            if profiles.iter().any(|p| p.audio.is_some()) {
                r(&format!(
                    "<trt:AudioSources token=\"{AUDIO_SOURCE}\"><tt:Channels>1</tt:Channels></trt:AudioSources>"
                ))
            } else {
                r("")
            }
        }
        "GetServiceCapabilities" => r(&format!(
            r#"<trt:Capabilities SnapshotUri="true"><trt:ProfileCapabilities MaximumNumberOfProfiles="{}"/><trt:StreamingCapabilities RTP_TCP="true" RTP_RTSP_TCP="true"/></trt:Capabilities>"#,
            profiles.len()
        )),
        _ => Answer::Fault(FaultSpec::not_supported(op)),
    }
}

fn video_encoder_v2(p: &ProfileConfig, tag: &str) -> String {
    let (enc, profile_attr) = match p.video {
        VideoCodec::H264 => ("H264", " Profile=\"Baseline\""),
        VideoCodec::H265 => ("H265", " Profile=\"Main\""),
        VideoCodec::Jpeg => ("JPEG", ""),
    };
    let gov = if p.video == VideoCodec::Jpeg {
        String::new()
    } else {
        format!(" GovLength=\"{}\"", p.fps)
    };
    format!(
        "<{tag} token=\"VideoEncoder_{t}\"{gov}{profile_attr}><tt:Name>VideoEncoder_{t}</tt:Name><tt:UseCount>1</tt:UseCount>\
         <tt:Encoding>{enc}</tt:Encoding><tt:Resolution><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution>\
         <tt:RateControl ConstantBitRate=\"false\"><tt:FrameRateLimit>{fps}</tt:FrameRateLimit><tt:BitrateLimit>{br}</tt:BitrateLimit></tt:RateControl>\
         <tt:Quality>5</tt:Quality></{tag}>",
        t = p.token,
        w = p.width,
        h = p.height,
        fps = p.fps,
        br = p.bitrate_kbps,
    )
}

fn profile_v2(ctx: &Ctx<'_>, p: &ProfileConfig) -> String {
    let users = ctx
        .shared
        .config
        .profiles
        .iter()
        .filter(|p| p.audio.is_some())
        .count();
    let mut c = video_source_config(ctx, "tr2:VideoSource");
    if p.audio.is_some() {
        c.push_str(&audio_source_config("tr2:AudioSource", users));
    }
    c.push_str(&video_encoder_v2(p, "tr2:VideoEncoder"));
    if let Some(a) = p.audio {
        let (_, enc, br, sr) = audio_params(a);
        c.push_str(&format!(
            "<tr2:AudioEncoder token=\"AudioEncoder_{t}\"><tt:Name>AudioEncoder_{t}</tt:Name><tt:UseCount>1</tt:UseCount>\
             <tt:Encoding>{enc}</tt:Encoding><tt:Bitrate>{br}</tt:Bitrate><tt:SampleRate>{sr}</tt:SampleRate></tr2:AudioEncoder>",
            t = p.token
        ));
    }
    c.push_str(&ptz_config(ctx, "tr2:PTZ"));
    if let Some(m) = metadata_config(ctx, p, "tr2:Metadata") {
        c.push_str(&m);
    }
    format!(
        "<tr2:Profiles token=\"{t}\" fixed=\"true\"><tr2:Name>{name}</tr2:Name><tr2:Configurations>{c}</tr2:Configurations></tr2:Profiles>",
        t = p.token,
        name = escape(if p.name.is_empty() { &p.token } else { &p.name }),
    )
}

/// Media2 (ver20) operations.
pub(crate) fn handle_media2(ctx: &Ctx<'_>, op: &str) -> Answer {
    let r = |inner: &str| resp(ns::TR2, "tr2", op, inner);
    let profiles = &ctx.shared.config.profiles;
    match op {
        "GetProfiles" => {
            let wanted = ctx.arg("Token");
            let list: Vec<&ProfileConfig> = profiles
                .iter()
                .filter(|p| wanted.is_none_or(|t| t == p.token))
                .collect();
            if let (Some(t), true) = (wanted, list.is_empty()) {
                return Answer::Fault(FaultSpec::invalid_arg(
                    "NoProfile",
                    format!("no profile with token {t:?}"),
                ));
            }
            r(&list.iter().map(|p| profile_v2(ctx, p)).collect::<String>())
        }
        "GetStreamUri" => {
            let p = match profile(ctx, ctx.arg("ProfileToken")) {
                Ok(p) => p,
                Err(a) => return a,
            };
            let protocol = ctx.arg("Protocol").unwrap_or("RtspUnicast");
            if protocol.eq_ignore_ascii_case("RtspMulticast") {
                return Answer::Fault(FaultSpec::invalid_arg(
                    "InvalidStreamSetup",
                    "multicast streaming is not supported",
                ));
            }
            r(&format!(
                "<tr2:Uri>{}/{}</tr2:Uri>",
                escape(&ctx.rtsp_base()),
                p.token
            ))
        }
        "GetSnapshotUri" => match profile(ctx, ctx.arg("ProfileToken")) {
            Ok(p) => r(&format!(
                "<tr2:Uri>{}</tr2:Uri>",
                escape(&ctx.snapshot_url(&p.token))
            )),
            Err(a) => a,
        },
        "GetVideoEncoderConfigurations" => r(&profiles
            .iter()
            .map(|p| video_encoder_v2(p, "tr2:Configurations"))
            .collect::<String>()),
        "GetVideoSourceConfigurations" => r(&video_source_config(ctx, "tr2:Configurations")),
        "GetServiceCapabilities" => r(&format!(
            r#"<tr2:Capabilities SnapshotUri="true"><tr2:ProfileCapabilities MaximumNumberOfProfiles="{}"/><tr2:StreamingCapabilities RTSPStreaming="true" RTP_RTSP_TCP="true"/></tr2:Capabilities>"#,
            profiles.len()
        )),
        _ => Answer::Fault(FaultSpec::not_supported(op)),
    }
}
