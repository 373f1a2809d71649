//! The SDP writer: strict output for the mock camera, and constructors for the media it offers.

use std::fmt;

use super::codec::encode_base64;
use super::{Fmtp, Media, MediaType, RtpMap, SessionDescription};

fn fmtp(pt: u8, params: &[(&str, String)]) -> Fmtp {
    Fmtp {
        payload_type: pt,
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    }
}

fn media(media_type: MediaType, pt: u8, map: Option<RtpMap>, control: &str) -> Media {
    Media {
        media_type,
        port: 0,
        protocol: "RTP/AVP".into(),
        formats: vec![pt.to_string()],
        payload_types: vec![pt],
        rtpmaps: map.into_iter().collect(),
        control: Some(control.to_owned()),
        ..Media::default()
    }
}

fn map(pt: u8, encoding: &str, clock_rate: u32, channels: Option<u16>) -> Option<RtpMap> {
    Some(RtpMap {
        payload_type: pt,
        encoding: encoding.to_owned(),
        clock_rate,
        channels,
    })
}

fn sets(list: &[&[u8]]) -> String {
    list.iter()
        .map(|s| encode_base64(s))
        .collect::<Vec<_>>()
        .join(",")
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

impl Media {
    /// An H.264 video track (packetization mode 1) with its parameter sets.
    pub fn h264(pt: u8, sps: &[u8], pps: &[u8], control: &str) -> Media {
        let mut m = media(MediaType::Video, pt, map(pt, "H264", 90000, None), control);
        let mut params = vec![("packetization-mode", "1".to_owned())];
        if let Some(pli) = sps.get(1..4) {
            params.push(("profile-level-id", hex(pli)));
        }
        params.push(("sprop-parameter-sets", sets(&[sps, pps])));
        m.fmtps.push(fmtp(pt, &params));
        m
    }

    /// An H.265 video track with its parameter sets.
    pub fn h265(pt: u8, vps: &[u8], sps: &[u8], pps: &[u8], control: &str) -> Media {
        let mut m = media(MediaType::Video, pt, map(pt, "H265", 90000, None), control);
        m.fmtps.push(fmtp(
            pt,
            &[
                ("sprop-vps", sets(&[vps])),
                ("sprop-sps", sets(&[sps])),
                ("sprop-pps", sets(&[pps])),
            ],
        ));
        m
    }

    /// An AAC-hbr audio track (RFC 3640) with its AudioSpecificConfig.
    pub fn aac(pt: u8, clock_rate: u32, channels: u16, config: &[u8], control: &str) -> Media {
        let mut m = media(
            MediaType::Audio,
            pt,
            map(pt, "MPEG4-GENERIC", clock_rate, Some(channels)),
            control,
        );
        m.fmtps.push(fmtp(
            pt,
            &[
                ("streamtype", "5".into()),
                ("profile-level-id", "1".into()),
                ("mode", "AAC-hbr".into()),
                ("sizelength", "13".into()),
                ("indexlength", "3".into()),
                ("indexdeltalength", "3".into()),
                ("config", hex(config)),
            ],
        ));
        m
    }

    /// A G.711 µ-law track (static payload type 0).
    pub fn pcmu(control: &str) -> Media {
        media(MediaType::Audio, 0, map(0, "PCMU", 8000, Some(1)), control)
    }

    /// A G.711 A-law track (static payload type 8).
    pub fn pcma(control: &str) -> Media {
        media(MediaType::Audio, 8, map(8, "PCMA", 8000, Some(1)), control)
    }

    /// A Motion JPEG track (static payload type 26).
    pub fn jpeg(control: &str) -> Media {
        media(MediaType::Video, 26, map(26, "JPEG", 90000, None), control)
    }

    /// An ONVIF metadata track (`vnd.onvif.metadata/90000`).
    pub fn onvif_metadata(pt: u8, control: &str) -> Media {
        media(
            MediaType::Application,
            pt,
            map(pt, "vnd.onvif.metadata", 90000, None),
            control,
        )
    }
}

impl SessionDescription {
    /// A session for the mock camera: `o=` from `session_id` and `address`, `s=name`,
    /// `a=control:*`, `a=range:npt=0-`; add tracks to [`media`](Self::media).
    pub fn new(session_id: u64, address: &str, name: &str) -> SessionDescription {
        SessionDescription {
            origin: Some(format!("- {session_id} 1 IN IP4 {address}")),
            name: Some(name.to_owned()),
            connection: Some("IN IP4 0.0.0.0".into()),
            control: Some("*".into()),
            range: super::super::headers::Range::parse("npt=0-"),
            ..SessionDescription::default()
        }
    }
}

fn clean(s: &str) -> String {
    s.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

fn write_attr(f: &mut fmt::Formatter<'_>, name: &str, value: &Option<String>) -> fmt::Result {
    match value {
        Some(v) => write!(f, "a={}:{}\r\n", clean(name), clean(v)),
        None => write!(f, "a={}\r\n", clean(name)),
    }
}

/// Strict SDP with CRLF line endings, in the order RFC 8866 requires.
impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v=0\r\n")?;
        let origin = self.origin.as_deref().unwrap_or("- 0 0 IN IP4 0.0.0.0");
        write!(f, "o={}\r\n", clean(origin))?;
        write!(f, "s={}\r\n", clean(self.name.as_deref().unwrap_or(" ")))?;
        if let Some(i) = &self.info {
            write!(f, "i={}\r\n", clean(i))?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={}\r\n", clean(c))?;
        }
        f.write_str("t=0 0\r\n")?;
        if let Some(c) = &self.control {
            write!(f, "a=control:{}\r\n", clean(c))?;
        }
        if let Some(r) = &self.range {
            write!(f, "a=range:{r}\r\n")?;
        }
        if let Some(d) = self.direction {
            write!(f, "a={}\r\n", d.as_str())?;
        }
        for (n, v) in &self.attributes {
            write_attr(f, n, v)?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

/// One media section, strict.
impl fmt::Display for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protocol = if self.protocol.is_empty() {
            "RTP/AVP"
        } else {
            &self.protocol
        };
        write!(
            f,
            "m={} {} {}",
            clean(self.media_type.as_str()),
            self.port,
            clean(protocol)
        )?;
        for fmt_ in &self.formats {
            write!(f, " {}", clean(fmt_))?;
        }
        f.write_str("\r\n")?;
        if let Some(c) = &self.connection {
            write!(f, "c={}\r\n", clean(c))?;
        }
        for b in &self.bandwidth {
            write!(f, "b={}\r\n", clean(b))?;
        }
        for r in &self.rtpmaps {
            write!(
                f,
                "a=rtpmap:{} {}/{}",
                r.payload_type,
                clean(&r.encoding),
                r.clock_rate
            )?;
            if let Some(c) = r.channels {
                write!(f, "/{c}")?;
            }
            f.write_str("\r\n")?;
        }
        for p in &self.fmtps {
            write!(f, "a=fmtp:{}", p.payload_type)?;
            for (i, (k, v)) in p.params.iter().enumerate() {
                let sep = if i == 0 { " " } else { ";" };
                if v.is_empty() {
                    write!(f, "{sep}{}", clean(k))?;
                } else {
                    write!(f, "{sep}{}={}", clean(k), clean(v))?;
                }
            }
            f.write_str("\r\n")?;
        }
        if let Some(r) = &self.range {
            write!(f, "a=range:{r}\r\n")?;
        }
        if let Some(fr) = self.framerate {
            write!(f, "a=framerate:{fr}\r\n")?;
        }
        if let Some((w, h)) = self.dimensions {
            write!(f, "a=x-dimensions:{w},{h}\r\n")?;
        }
        if let Some(d) = self.direction {
            write!(f, "a={}\r\n", d.as_str())?;
        }
        for (n, v) in &self.attributes {
            write_attr(f, n, v)?;
        }
        if let Some(c) = &self.control {
            write!(f, "a=control:{}\r\n", clean(c))?;
        }
        Ok(())
    }
}
