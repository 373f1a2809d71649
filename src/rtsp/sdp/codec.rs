//! Typed codec parameters from `a=rtpmap` + `a=fmtp`: H.264 (RFC 6184), H.265 (RFC 7798),
//! AAC (RFC 3640 `mpeg4-generic`), and the simple ones.
//!
//! Parameter sets are decoded leniently: base64 with or without padding, Annex B start codes
//! inside (several NAL units in one set are split and sorted by type), trailing junk after the
//! base64 ignored, base64 `profile-level-id` (macro-video's `TeAo`).

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

use super::{Fmtp, Media};

/// Most parameter sets kept per kind.
pub const MAX_PARAMETER_SETS: usize = 8;
/// Longest parameter set or AAC config kept, in bytes.
pub const MAX_PARAMETER_SET_LEN: usize = 4096;

const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Typed parameters of a media's codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Codec {
    /// H.264 video.
    H264(H264Params),
    /// H.265 video.
    H265(H265Params),
    /// AAC audio (`mpeg4-generic`).
    Aac(AacParams),
    /// G.711 µ-law (`PCMU`).
    Pcmu,
    /// G.711 A-law (`PCMA`).
    Pcma,
    /// Motion JPEG (`JPEG`, RFC 2435).
    Jpeg,
    /// ONVIF metadata (`vnd.onvif.metadata`).
    OnvifMetadata,
    /// Anything else: the encoding name as sent (empty when unknown).
    Other(String),
}

impl Codec {
    /// A short lower-case name: `h264`, `h265`, `aac`, `pcmu`, `pcma`, `jpeg`, `onvif-metadata`,
    /// or the encoding name as sent (lower-cased) for others.
    pub fn name(&self) -> String {
        match self {
            Codec::H264(_) => "h264".into(),
            Codec::H265(_) => "h265".into(),
            Codec::Aac(_) => "aac".into(),
            Codec::Pcmu => "pcmu".into(),
            Codec::Pcma => "pcma".into(),
            Codec::Jpeg => "jpeg".into(),
            Codec::OnvifMetadata => "onvif-metadata".into(),
            Codec::Other(n) => n.to_ascii_lowercase(),
        }
    }
}

/// H.264 parameters (RFC 6184 §8.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct H264Params {
    /// `packetization-mode` (0 when absent, per RFC 6184).
    pub packetization_mode: u8,
    /// `profile-level-id` as 3 bytes (hex, or base64 on macro-video cameras); if absent or
    /// bogus, bytes 1..4 of the first SPS.
    pub profile_level_id: Option<[u8; 3]>,
    /// Sequence parameter sets (NAL unit type 7), without start codes.
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets (NAL unit type 8), without start codes.
    pub pps: Vec<Vec<u8>>,
}

/// H.265 parameters (RFC 7798 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct H265Params {
    /// `sprop-vps`, without start codes.
    pub vps: Vec<Vec<u8>>,
    /// `sprop-sps`.
    pub sps: Vec<Vec<u8>>,
    /// `sprop-pps`.
    pub pps: Vec<Vec<u8>>,
    /// `profile-id`.
    pub profile_id: Option<u8>,
    /// `level-id`.
    pub level_id: Option<u8>,
    /// `tier-flag`.
    pub tier_flag: Option<u8>,
}

/// AAC parameters (RFC 3640 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AacParams {
    /// `config`: the AudioSpecificConfig, hex-decoded.
    pub config: Option<Vec<u8>>,
    /// `mode` (`AAC-hbr`, `AAC-lbr`, ...).
    pub mode: Option<String>,
    /// `sizelength`.
    pub size_length: Option<u8>,
    /// `indexlength`.
    pub index_length: Option<u8>,
    /// `indexdeltalength`.
    pub index_delta_length: Option<u8>,
    /// `profile-level-id`.
    pub profile_level_id: Option<u32>,
    /// `streamtype`.
    pub stream_type: Option<u8>,
    /// The clock rate from `a=rtpmap`.
    pub clock_rate: u32,
    /// The channel count from `a=rtpmap`, if given.
    pub channels: Option<u16>,
}

/// Decodes one base64 parameter set leniently; junk after the last base64 character is cut.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
        .unwrap_or(s.len());
    let s = s.get(..end)?.trim_end_matches('=');
    if s.is_empty() || s.len() > MAX_PARAMETER_SET_LEN * 4 / 3 + 4 {
        return None;
    }
    // A lone trailing character (6 bits) cannot hold a byte: drop it.
    let s = if s.len() % 4 == 1 {
        s.get(..s.len() - 1)?
    } else {
        s
    };
    LENIENT_B64.decode(s).ok().filter(|v| !v.is_empty())
}

/// Splits a decoded parameter set that holds Annex B start codes into NAL units (trailing zero
/// bytes before a start code are dropped); a set without start codes is one NAL unit.
pub fn split_annex_b(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    let mut found = false;
    while i + 3 <= data.len() {
        if data.get(i..i + 3) == Some(&[0, 0, 1]) {
            found = true;
            let nal = data.get(start..i).unwrap_or_default();
            let end = nal.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            if let Some(n) = nal.get(..end).filter(|n| !n.is_empty()) {
                out.push(n);
            }
            i += 3;
            start = i;
        } else {
            i += 1;
        }
    }
    let rest = data.get(start..).unwrap_or_default();
    let rest = if found {
        rest.get(..rest.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1))
            .unwrap_or_default()
    } else {
        rest
    };
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Decodes a comma-separated list of base64 parameter sets into NAL units.
fn nal_units(list: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for item in list.split(',') {
        let Some(bytes) = decode_base64(item) else {
            continue;
        };
        for nal in split_annex_b(&bytes) {
            if out.len() < MAX_PARAMETER_SETS * 3 && nal.len() <= MAX_PARAMETER_SET_LEN {
                out.push(nal.to_vec());
            }
        }
    }
    out
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.is_empty() || !s.len().is_multiple_of(2) || s.len() > MAX_PARAMETER_SET_LEN * 2 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn profile_level_id(s: &str) -> Option<[u8; 3]> {
    let s = s.trim();
    if s.len() == 6
        && let Some(v) = hex_bytes(s)
    {
        return v.try_into().ok();
    }
    // macro-video: base64 of the 3 bytes (`TeAo` = 4d e0 28).
    if s.len() == 4 {
        return general_purpose::STANDARD
            .decode(s)
            .ok()
            .and_then(|v| v.try_into().ok());
    }
    None
}

fn num<T: std::str::FromStr>(f: Option<&Fmtp>, name: &str) -> Option<T> {
    f?.get(name)?.trim().parse().ok()
}

/// Builds the typed parameters of `media`.
pub(super) fn from_media(media: &Media) -> Codec {
    let Some(map) = media.rtpmap() else {
        return Codec::Other(String::new());
    };
    let fmtp = media.fmtp();
    let enc = map.encoding.to_ascii_uppercase();
    match enc.as_str() {
        "H264" => {
            let mut p = H264Params {
                packetization_mode: num(fmtp, "packetization-mode").unwrap_or(0),
                ..H264Params::default()
            };
            if let Some(sets) = fmtp.and_then(|f| f.get("sprop-parameter-sets")) {
                for nal in nal_units(sets) {
                    match nal.first().map(|b| b & 0x1f) {
                        Some(7) if p.sps.len() < MAX_PARAMETER_SETS => p.sps.push(nal),
                        Some(8) if p.pps.len() < MAX_PARAMETER_SETS => p.pps.push(nal),
                        _ => {}
                    }
                }
            }
            p.profile_level_id = fmtp
                .and_then(|f| f.get("profile-level-id"))
                .and_then(profile_level_id)
                .or_else(|| {
                    let sps = p.sps.first()?;
                    sps.get(1..4)?.try_into().ok()
                });
            Codec::H264(p)
        }
        "H265" | "HEVC" => {
            let mut p = H265Params {
                profile_id: num(fmtp, "profile-id"),
                level_id: num(fmtp, "level-id"),
                tier_flag: num(fmtp, "tier-flag"),
                ..H265Params::default()
            };
            for key in ["sprop-vps", "sprop-sps", "sprop-pps"] {
                let Some(sets) = fmtp.and_then(|f| f.get(key)) else {
                    continue;
                };
                for nal in nal_units(sets) {
                    let target = match nal.first().map(|b| (b >> 1) & 0x3f) {
                        Some(32) => &mut p.vps,
                        Some(33) => &mut p.sps,
                        Some(34) => &mut p.pps,
                        _ => continue,
                    };
                    if target.len() < MAX_PARAMETER_SETS {
                        target.push(nal);
                    }
                }
            }
            Codec::H265(p)
        }
        "MPEG4-GENERIC" => Codec::Aac(AacParams {
            config: fmtp.and_then(|f| f.get("config")).and_then(hex_bytes),
            mode: fmtp.and_then(|f| f.get("mode")).map(str::to_owned),
            size_length: num(fmtp, "sizelength"),
            index_length: num(fmtp, "indexlength"),
            index_delta_length: num(fmtp, "indexdeltalength"),
            profile_level_id: num(fmtp, "profile-level-id"),
            stream_type: num(fmtp, "streamtype"),
            clock_rate: map.clock_rate,
            channels: map.channels,
        }),
        "PCMU" => Codec::Pcmu,
        "PCMA" => Codec::Pcma,
        "JPEG" => Codec::Jpeg,
        "VND.ONVIF.METADATA" => Codec::OnvifMetadata,
        _ => Codec::Other(map.encoding),
    }
}

/// Encodes parameter sets for `sprop-*` attributes (standard base64 with padding).
pub(super) fn encode_base64(data: &[u8]) -> String {
    general_purpose::STANDARD.encode(data)
}
