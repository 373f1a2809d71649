//! The mock camera's sample media: small files from `fixtures/media/` (made by
//! `scripts/make-media.sh`), embedded in the library and cut into frames the RTSP server
//! packetizes and loops forever.
//!
//! Pure: bytes in, frames out. Each frame has its duration in RTP clock ticks, so the sender can
//! pace it in real time and keep timestamps growing across loops.

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};

/// Video codecs the mock camera can stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoCodec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC.
    H265,
    /// Motion JPEG (RFC 2435).
    Jpeg,
}

/// Audio codecs the mock camera can stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioCodec {
    /// AAC-LC (RFC 3640 mpeg4-generic, AAC-hbr), 16 kHz mono.
    Aac,
    /// G.711 µ-law, 8 kHz mono.
    Pcmu,
    /// G.711 A-law, 8 kHz mono.
    Pcma,
}

/// One frame (access unit) of sample media.
#[derive(Debug, Clone)]
pub struct MediaFrame {
    /// The frame: NAL units without start codes (H.264/H.265), a JPEG file, a raw AAC access
    /// unit, or G.711 samples.
    pub nalus: Vec<Bytes>,
    /// Duration in RTP clock ticks.
    pub duration: u32,
    /// Whether this is a key frame (IDR / IRAP; every JPEG and audio frame).
    pub keyframe: bool,
}

/// A track of sample media: its frames, clock rate and the decoder configuration the SDP needs.
#[derive(Debug, Clone)]
pub struct MediaTrack {
    /// Frames in order; the sender loops over them.
    pub frames: Vec<MediaFrame>,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Width and height of video, if video.
    pub dimensions: Option<(u32, u32)>,
    /// H.264 SPS/PPS or H.265 VPS/SPS/PPS, in that order (first of each kind).
    pub parameter_sets: Vec<Bytes>,
    /// AAC AudioSpecificConfig.
    pub audio_config: Option<Bytes>,
}

const H264_640: &[u8] = include_bytes!("../../fixtures/media/h264_640x360.h264");
const H264_320: &[u8] = include_bytes!("../../fixtures/media/h264_320x180.h264");
const H265_640: &[u8] = include_bytes!("../../fixtures/media/h265_640x360.h265");
const MJPEG_320X240: &[u8] = include_bytes!("../../fixtures/media/mjpeg_320x240.mjpeg");
const AAC_16K: &[u8] = include_bytes!("../../fixtures/media/aac_16k_mono.aac");
const ULAW_8K: &[u8] = include_bytes!("../../fixtures/media/g711_ulaw_8k.raw");
const ALAW_8K: &[u8] = include_bytes!("../../fixtures/media/g711_alaw_8k.raw");

/// The frame rate of every sample video.
pub const SAMPLE_FPS: u32 = 25;

/// The video track for a codec, picking the sample closest to the wanted width.
pub fn video_track(codec: VideoCodec, want_width: u32) -> Result<MediaTrack> {
    let tick = 90_000 / SAMPLE_FPS;
    match codec {
        VideoCodec::H264 => {
            let (data, dims) = if want_width > 480 {
                (H264_640, (640, 360))
            } else {
                (H264_320, (320, 180))
            };
            annexb_track(data, false, tick, dims)
        }
        VideoCodec::H265 => annexb_track(H265_640, true, tick, (640, 360)),
        VideoCodec::Jpeg => {
            let frames = split_jpeg(MJPEG_320X240)?
                .into_iter()
                .map(|j| MediaFrame {
                    nalus: vec![j],
                    duration: tick,
                    keyframe: true,
                })
                .collect();
            Ok(MediaTrack {
                frames,
                clock_rate: 90_000,
                dimensions: Some((320, 240)),
                parameter_sets: Vec::new(),
                audio_config: None,
            })
        }
    }
}

/// The audio track for a codec.
pub fn audio_track(codec: AudioCodec) -> Result<MediaTrack> {
    match codec {
        AudioCodec::Aac => {
            let (frames, config) = split_adts(AAC_16K)?;
            Ok(MediaTrack {
                frames,
                clock_rate: 16_000,
                dimensions: None,
                parameter_sets: Vec::new(),
                audio_config: Some(config),
            })
        }
        AudioCodec::Pcmu | AudioCodec::Pcma => {
            let data = if codec == AudioCodec::Pcmu {
                ULAW_8K
            } else {
                ALAW_8K
            };
            // 20 ms packets: 160 samples of one byte each.
            let frames = Bytes::from_static(data)
                .chunks(160)
                .map(|c| MediaFrame {
                    nalus: vec![Bytes::copy_from_slice(c)],
                    duration: c.len() as u32,
                    keyframe: true,
                })
                .collect();
            Ok(MediaTrack {
                frames,
                clock_rate: 8_000,
                dimensions: None,
                parameter_sets: Vec::new(),
                audio_config: None,
            })
        }
    }
}

/// Splits an Annex B byte stream into NAL units (start codes removed, empty units skipped).
pub fn split_annexb(data: &[u8]) -> Vec<&[u8]> {
    let mut units = Vec::new();
    let mut i = 0;
    let mut start: Option<usize> = None;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            if let Some(s) = start {
                // Trailing zero bytes belong to the next start code (00 00 00 01).
                let mut end = i;
                while end > s && data[end - 1] == 0 {
                    end -= 1;
                }
                if end > s {
                    units.push(&data[s..end]);
                }
            }
            i += 3;
            start = Some(i);
        } else {
            i += 1;
        }
    }
    if let Some(s) = start.filter(|&s| s < data.len()) {
        units.push(&data[s..]);
    }
    units
}

/// Groups the NAL units of an Annex B stream into access units (one slice per picture, as the
/// samples are encoded: a new picture starts at a parameter set, SEI or AUD after a slice, or at
/// a slice whose first-slice flag is set).
fn annexb_track(
    data: &'static [u8],
    h265: bool,
    tick: u32,
    dims: (u32, u32),
) -> Result<MediaTrack> {
    let whole = Bytes::from_static(data);
    let mut frames: Vec<MediaFrame> = Vec::new();
    let mut current: Vec<Bytes> = Vec::new();
    let mut has_vcl = false;
    let mut keyframe = false;
    let mut parameter_sets: Vec<Bytes> = Vec::new();
    for unit in split_annexb(data) {
        let offset = unit.as_ptr() as usize - data.as_ptr() as usize;
        let nal = whole.slice(offset..offset + unit.len());
        let (is_vcl, is_key, is_param, first_slice) = if h265 {
            let t = (unit[0] >> 1) & 0x3f;
            let first = unit.get(2).is_some_and(|b| b & 0x80 != 0);
            (
                t < 32,
                (16..=23).contains(&t),
                (32..=34).contains(&t),
                first,
            )
        } else {
            let t = unit[0] & 0x1f;
            let first = unit.get(1).is_some_and(|b| b & 0x80 != 0);
            ((1..=5).contains(&t), t == 5, t == 7 || t == 8, first)
        };
        let starts_picture = has_vcl && (!is_vcl || first_slice);
        if starts_picture {
            frames.push(MediaFrame {
                nalus: std::mem::take(&mut current),
                duration: tick,
                keyframe,
            });
            has_vcl = false;
            keyframe = false;
        }
        if is_param {
            let kind = if h265 {
                (unit[0] >> 1) & 0x3f
            } else {
                unit[0] & 0x1f
            };
            let known = parameter_sets.iter().any(|p| {
                let k = if h265 {
                    (p[0] >> 1) & 0x3f
                } else {
                    p[0] & 0x1f
                };
                k == kind
            });
            if !known {
                parameter_sets.push(nal.clone());
            }
        }
        has_vcl |= is_vcl;
        keyframe |= is_key;
        current.push(nal);
    }
    if has_vcl {
        frames.push(MediaFrame {
            nalus: current,
            duration: tick,
            keyframe,
        });
    }
    if frames.is_empty() {
        return Err(Error::new(
            ErrorKind::Malformed,
            "sample video has no pictures",
        ));
    }
    Ok(MediaTrack {
        frames,
        clock_rate: 90_000,
        dimensions: Some(dims),
        parameter_sets,
        audio_config: None,
    })
}

/// Splits ADTS AAC into raw access units; returns them with the AudioSpecificConfig.
pub fn split_adts(data: &'static [u8]) -> Result<(Vec<MediaFrame>, Bytes)> {
    let whole = Bytes::from_static(data);
    let mut frames = Vec::new();
    let mut config = None;
    let mut i = 0usize;
    while i + 7 <= data.len() {
        let h = &data[i..i + 7];
        if h[0] != 0xff || h[1] & 0xf0 != 0xf0 {
            return Err(Error::malformed("ADTS sync word not found", i, data));
        }
        let protection_absent = h[1] & 1 == 1;
        let profile = (h[2] >> 6) & 3; // object type - 1
        let freq_index = (h[2] >> 2) & 0xf;
        let channels = ((h[2] & 1) << 2) | (h[3] >> 6);
        let len = (((h[3] & 3) as usize) << 11) | ((h[4] as usize) << 3) | ((h[5] as usize) >> 5);
        let header = if protection_absent { 7 } else { 9 };
        if len < header || i + len > data.len() {
            return Err(Error::malformed("bad ADTS frame length", i, data));
        }
        if config.is_none() {
            let object_type = profile + 1;
            let asc: u16 = ((object_type as u16) << 11)
                | ((freq_index as u16) << 7)
                | ((channels as u16) << 3);
            config = Some(Bytes::copy_from_slice(&asc.to_be_bytes()));
        }
        frames.push(MediaFrame {
            nalus: vec![whole.slice(i + header..i + len)],
            duration: 1024,
            keyframe: true,
        });
        i += len;
    }
    let config = config.ok_or_else(|| Error::new(ErrorKind::Malformed, "no ADTS frames"))?;
    Ok((frames, config))
}

/// Splits concatenated JPEG files, walking marker segments so that bytes inside tables are never
/// taken for markers.
pub fn split_jpeg(data: &'static [u8]) -> Result<Vec<Bytes>> {
    let whole = Bytes::from_static(data);
    let mut out = Vec::new();
    let mut i = 0usize;
    while i + 2 <= data.len() {
        if data[i] != 0xff || data[i + 1] != 0xd8 {
            return Err(Error::malformed("JPEG SOI expected", i, data));
        }
        let start = i;
        i += 2;
        // Marker segments until SOS.
        loop {
            if i + 4 > data.len() || data[i] != 0xff {
                return Err(Error::malformed("JPEG marker expected", i, data));
            }
            let marker = data[i + 1];
            let len = u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
            i += 2 + len;
            if marker == 0xda {
                break;
            }
        }
        // Entropy-coded data until EOI (0xFF00 is a stuffed byte, 0xFFD0-D7 restart markers).
        loop {
            if i + 2 > data.len() {
                return Err(Error::malformed("JPEG without EOI", start, data));
            }
            if data[i] == 0xff && data[i + 1] == 0xd9 {
                i += 2;
                break;
            }
            i += 1;
        }
        out.push(whole.slice(start..i));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_samples_have_50_pictures_with_keyframes_every_25() {
        for width in [640, 320] {
            let t = video_track(VideoCodec::H264, width).unwrap();
            assert_eq!(t.frames.len(), 50, "width {width}");
            let keys: Vec<usize> = t
                .frames
                .iter()
                .enumerate()
                .filter(|(_, f)| f.keyframe)
                .map(|(i, _)| i)
                .collect();
            assert_eq!(keys, vec![0, 25]);
            assert_eq!(t.parameter_sets.len(), 2);
            assert_eq!(t.parameter_sets[0][0] & 0x1f, 7);
            assert_eq!(t.parameter_sets[1][0] & 0x1f, 8);
        }
    }

    #[test]
    fn h265_sample() {
        let t = video_track(VideoCodec::H265, 640).unwrap();
        assert_eq!(t.frames.len(), 50);
        assert!(t.frames[0].keyframe && t.frames[25].keyframe && !t.frames[1].keyframe);
        assert_eq!(t.parameter_sets.len(), 3);
    }

    #[test]
    fn jpeg_and_audio_samples() {
        let t = video_track(VideoCodec::Jpeg, 320).unwrap();
        assert_eq!(t.frames.len(), 50);
        assert!(t.frames.iter().all(|f| f.nalus[0].ends_with(&[0xff, 0xd9])));
        let a = audio_track(AudioCodec::Aac).unwrap();
        assert_eq!(a.clock_rate, 16_000);
        // AAC-LC (2), 16 kHz (index 8), mono: 0001 0100 0000 1000.
        assert_eq!(a.audio_config.as_deref(), Some(&[0x14, 0x08][..]));
        assert!(a.frames.len() > 25);
        let u = audio_track(AudioCodec::Pcmu).unwrap();
        assert_eq!(u.frames.len(), 100);
        assert_eq!(u.frames[0].duration, 160);
    }

    #[test]
    fn annexb_split_handles_3_and_4_byte_start_codes() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4,
        ];
        let units = split_annexb(&data);
        assert_eq!(
            units,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4][..]]
        );
    }
}
