//! A synthetic H.264 stream of any bit rate, for benchmarks and load tests: pure and
//! deterministic (seeded; no clock, no files), in the shape of a live camera's main stream.
//!
//! Each access unit is one slice NAL unit of pseudo-random bytes (never a zero byte, so never a
//! start code or an emulation-prevention pattern); keyframes (IDR) come every `gop` frames with
//! the SPS and PPS in band and are `keyframe_weight` times the size of a P frame; the sizes
//! average out to `bitrate`. Packets come from the crate's own [`H264Packetizer`]: STAP-A for
//! the parameter sets, FU-A for slices bigger than the MTU, the marker bit on the last packet of
//! each access unit, 90 kHz timestamps.
//!
//! ```
//! use camlink::codec::{Depacketizer, h264::{H264Depacketizer, NalFormat}};
//! use camlink::mock::synthetic::SyntheticH264;
//! use camlink::rtp::RtpPacket;
//!
//! let stream = SyntheticH264::new(4_000_000);
//! let packets = stream.rtp_packets(1)?; // one second: 25 access units
//! assert!(packets.iter().all(|p| p.len() <= stream.mtu));
//! let mut d = H264Depacketizer::new(NalFormat::AnnexB);
//! let mut frames = 0;
//! for p in packets {
//!     d.push(&RtpPacket::parse(p)?)?;
//!     while let Some(f) = d.pull() {
//!         frames += 1;
//!         assert_eq!(f.keyframe, frames == 1);
//!     }
//! }
//! assert_eq!(frames, 25);
//! # Ok::<(), camlink::Error>(())
//! ```

use std::sync::{Mutex, OnceLock};

use bytes::{BufMut as _, Bytes, BytesMut};

use super::faults::SeededRng;
use super::media::{self, MediaFrame, MediaTrack, VideoCodec};
use crate::codec::h264::{CLOCK_RATE, H264Packetizer, NalFormat};
use crate::codec::{Packetizer, PacketizerConfig};
use crate::rtsp::framing::write_data;
use crate::rtsp::sdp::{Media, SessionDescription};
use crate::{Error, Result};

/// RTP payload type of the synthetic stream.
pub const PAYLOAD_TYPE: u8 = 96;

/// Lowest bit rate the mock camera streams synthetically, bits per second.
pub const MIN_BITRATE: u32 = 16_000;

/// Highest bit rate the mock camera streams synthetically, bits per second (a 2-second
/// keyframe interval of it is held in memory).
pub const MAX_BITRATE: u32 = 200_000_000;

/// Longest stretch [`SyntheticH264::rtp_packets`] generates, in seconds (bounds memory).
pub const MAX_SECONDS: u32 = 600;

/// The shape of a synthetic H.264 stream. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticH264 {
    /// Average bit rate of the NAL units, bits per second.
    pub bitrate: u32,
    /// Frames per second.
    pub fps: u32,
    /// Frames from one keyframe to the next (50 at 25 fps: one every 2 s).
    pub gop: u32,
    /// Largest RTP packet, header included, in bytes.
    pub mtu: usize,
    /// Seed of the payload bytes, frame-size jitter, SSRC, first sequence number and timestamp.
    pub seed: u64,
    /// How many times bigger an IDR frame is than an average P frame.
    pub keyframe_weight: u32,
}

impl Default for SyntheticH264 {
    /// 4 Mbit/s, 25 fps, a keyframe every 2 s (8× a P frame), 1400-byte packets, seed 1.
    fn default() -> Self {
        SyntheticH264 {
            bitrate: 4_000_000,
            fps: 25,
            gop: 50,
            mtu: 1400,
            seed: 1,
            keyframe_weight: 8,
        }
    }
}

/// One access unit of a synthetic stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticAccessUnit {
    /// Frame number from 0.
    pub index: u64,
    /// RTP timestamp (90 kHz).
    pub rtp_timestamp: u32,
    /// An IDR frame (SPS, PPS and the IDR slice).
    pub keyframe: bool,
    /// The NAL units, without start codes.
    pub nalus: Vec<Bytes>,
}

impl SyntheticAccessUnit {
    /// Bytes of NAL units (headers included, no start codes or lengths).
    pub fn nal_bytes(&self) -> usize {
        self.nalus.iter().map(Bytes::len).sum()
    }

    /// The access unit in `format`, as a depacketizer hands it out.
    pub fn to_format(&self, format: NalFormat) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.nal_bytes() + 4 * self.nalus.len());
        for n in &self.nalus {
            match format {
                NalFormat::AnnexB => out.extend_from_slice(&[0, 0, 0, 1]),
                NalFormat::LengthPrefixed => out.extend_from_slice(&(n.len() as u32).to_be_bytes()),
            }
            out.extend_from_slice(n);
        }
        out
    }
}

/// The SPS and PPS of the 640x360 sample (a valid High-profile SPS that any parser takes).
fn parameter_sets() -> (Bytes, Bytes) {
    static SETS: OnceLock<(Bytes, Bytes)> = OnceLock::new();
    SETS.get_or_init(|| {
        let t = media::video_track(VideoCodec::H264, 640).ok();
        let get = |i: usize| {
            t.as_ref()
                .and_then(|t| t.parameter_sets.get(i).cloned())
                .unwrap_or_default()
        };
        (get(0), get(1))
    })
    .clone()
}

/// Fills `out` with `len` pseudo-random bytes, none of them zero.
fn fill_nonzero(rng: &mut SeededRng, out: &mut BytesMut, len: usize) {
    let mut left = len;
    while left > 0 {
        let word = rng.next_u64().to_le_bytes();
        for b in word.iter().take(left) {
            out.put_u8(if *b == 0 { 0x5a } else { *b });
        }
        left = left.saturating_sub(word.len());
    }
}

impl SyntheticH264 {
    /// The default shape (see [`Default`]) at `bitrate` bits per second.
    pub fn new(bitrate: u32) -> Self {
        SyntheticH264 {
            bitrate,
            ..Self::default()
        }
    }

    fn fps(&self) -> u64 {
        u64::from(self.fps.max(1))
    }

    fn gop(&self) -> u64 {
        u64::from(self.gop.max(1))
    }

    /// The SPS (without start code).
    pub fn sps(&self) -> Bytes {
        parameter_sets().0
    }

    /// The PPS (without start code).
    pub fn pps(&self) -> Bytes {
        parameter_sets().1
    }

    /// SSRC of the packets.
    pub fn ssrc(&self) -> u32 {
        SeededRng::new(self.seed ^ 0x5353_5243).next_u64() as u32
    }

    /// Sequence number of the first packet.
    pub fn initial_sequence(&self) -> u16 {
        SeededRng::new(self.seed ^ 0x5345_5130).next_u64() as u16
    }

    /// RTP timestamp of the first access unit.
    pub fn initial_timestamp(&self) -> u32 {
        SeededRng::new(self.seed ^ 0x5453_3030).next_u64() as u32
    }

    /// Size of an average P frame's slice, in bytes.
    fn p_frame_len(&self) -> u64 {
        let gop_bytes = u64::from(self.bitrate) / 8 * self.gop() / self.fps();
        let weights = u64::from(self.keyframe_weight.max(1)) + self.gop() - 1;
        (gop_bytes / weights).max(16)
    }

    /// Access unit number `index`.
    pub fn access_unit(&self, index: u64) -> SyntheticAccessUnit {
        let mut rng = SeededRng::new(self.seed.wrapping_mul(0x1000_0000_01b3) ^ index);
        let keyframe = index.is_multiple_of(self.gop());
        let base = self.p_frame_len();
        let len = if keyframe {
            base * u64::from(self.keyframe_weight.max(1))
        } else {
            // ±10 % around the mean, uniform: the average holds.
            let spread = (base / 10).max(1);
            (base - spread + rng.next_u64() % (2 * spread + 1)).max(2)
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(8 << 20);
        let mut slice = BytesMut::with_capacity(len);
        // NRI 3 and type 5 for IDR, NRI 2 and type 1 for P.
        slice.put_u8(if keyframe { 0x65 } else { 0x41 });
        fill_nonzero(&mut rng, &mut slice, len - 1);
        let mut nalus = Vec::with_capacity(3);
        if keyframe {
            let (sps, pps) = parameter_sets();
            nalus.push(sps);
            nalus.push(pps);
        }
        nalus.push(slice.freeze());
        let ticks = index.wrapping_mul(u64::from(CLOCK_RATE)) / self.fps();
        SyntheticAccessUnit {
            index,
            rtp_timestamp: self.initial_timestamp().wrapping_add(ticks as u32),
            keyframe,
            nalus,
        }
    }

    /// The access units from the first, forever.
    pub fn access_units(&self) -> impl Iterator<Item = SyntheticAccessUnit> + '_ {
        (0u64..).map(|i| self.access_unit(i))
    }

    /// Access units in `seconds` seconds.
    pub fn frames_in(&self, seconds: u32) -> u64 {
        u64::from(seconds) * self.fps()
    }

    /// The RTP packets (header included) of the first `seconds` seconds (at most
    /// [`MAX_SECONDS`]).
    pub fn rtp_packets(&self, seconds: u32) -> Result<Vec<Bytes>> {
        if seconds > MAX_SECONDS {
            return Err(Error::limit(
                "synthetic stream seconds",
                MAX_SECONDS as usize,
            ));
        }
        let cfg = PacketizerConfig::new(PAYLOAD_TYPE, self.ssrc())
            .initial_sequence(self.initial_sequence())
            .mtu(self.mtu);
        let mut p = H264Packetizer::new(cfg, NalFormat::LengthPrefixed)?;
        let mut out = Vec::new();
        for au in self.access_units().take(self.frames_in(seconds) as usize) {
            p.packetize(
                &au.to_format(NalFormat::LengthPrefixed),
                au.rtp_timestamp,
                &mut out,
            )?;
        }
        Ok(out)
    }

    /// The `fmtp` parameters of the stream (`packetization-mode`, `profile-level-id`,
    /// `sprop-parameter-sets`), as an SDP's `a=fmtp:96` line carries them.
    pub fn fmtp(&self) -> String {
        self.media("trackID=1")
            .fmtp()
            .map(|f| {
                f.params
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_default()
    }

    /// The SDP media section of the stream.
    pub fn media(&self, control: &str) -> Media {
        Media::h264(PAYLOAD_TYPE, &self.sps(), &self.pps(), control)
    }

    /// A whole SDP (one video track with control `trackID=1`), as a DESCRIBE answer carries it.
    pub fn sdp(&self) -> String {
        SessionDescription {
            name: Some("camlink synthetic H.264".into()),
            control: Some("*".into()),
            media: vec![self.media("trackID=1")],
            ..SessionDescription::default()
        }
        .to_string()
    }

    /// One keyframe interval of frames for the mock camera's sender, which loops them.
    pub(crate) fn media_track(&self) -> MediaTrack {
        let tick = CLOCK_RATE / self.fps.max(1);
        let frames = self
            .access_units()
            .take(self.gop() as usize)
            .map(|au| MediaFrame {
                nalus: au.nalus,
                duration: tick,
                keyframe: au.keyframe,
            })
            .collect();
        let (sps, pps) = parameter_sets();
        MediaTrack {
            frames,
            clock_rate: CLOCK_RATE,
            dimensions: Some((640, 360)),
            parameter_sets: vec![sps, pps],
            audio_config: None,
        }
    }

    /// [`media_track`](Self::media_track), built once per bit rate and shared by every session
    /// of every mock camera in the process (a 4 Mbit/s interval is about 1 MB).
    pub(crate) fn shared_track(bitrate: u32) -> MediaTrack {
        static CACHE: OnceLock<Mutex<Vec<(u32, MediaTrack)>>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
        let mut cache = match cache.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((_, t)) = cache.iter().find(|(b, _)| *b == bitrate) {
            return t.clone();
        }
        let t = SyntheticH264::new(bitrate).media_track();
        // A handful of distinct rates at most in practice; keep the newest few.
        if cache.len() >= 8 {
            cache.remove(0);
        }
        cache.push((bitrate, t.clone()));
        t
    }
}

/// Wraps RTP packets into RTSP interleaved frames (`$`, `channel`, 16-bit length, packet), one
/// after the other, as a server writes them on the RTSP connection.
pub fn interleave(packets: &[Bytes], channel: u8) -> Result<Bytes> {
    let total: usize = packets.iter().map(|p| p.len() + 4).sum();
    let mut out = BytesMut::with_capacity(total);
    for p in packets {
        write_data(&mut out, channel, p)?;
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Depacketizer;
    use crate::codec::h264::H264Depacketizer;
    use crate::rtp::RtpPacket;

    #[test]
    fn deterministic() {
        let s = SyntheticH264::new(2_000_000);
        assert_eq!(s.rtp_packets(3).unwrap(), s.rtp_packets(3).unwrap());
        let other = SyntheticH264 { seed: 2, ..s };
        assert_ne!(s.access_unit(1), other.access_unit(1));
        assert_ne!(s.ssrc(), other.ssrc());
    }

    #[test]
    fn bit_rate_within_5_percent_over_10_s() {
        for bitrate in [1_000_000u32, 4_000_000, 8_000_000] {
            let s = SyntheticH264::new(bitrate);
            let bytes: usize = s
                .access_units()
                .take(s.frames_in(10) as usize)
                .map(|a| a.nal_bytes())
                .sum();
            let measured = bytes as f64 * 8.0 / 10.0;
            let err = (measured - f64::from(bitrate)).abs() / f64::from(bitrate);
            assert!(err < 0.05, "{bitrate}: measured {measured} ({err})");
            // The RTP packets carry it with little overhead.
            let wire: usize = s.rtp_packets(10).unwrap().iter().map(Bytes::len).sum();
            let err = (wire as f64 * 0.8 - f64::from(bitrate)).abs() / f64::from(bitrate);
            assert!(err < 0.05, "{bitrate}: on the wire {wire} ({err})");
        }
    }

    #[test]
    fn keyframe_every_2_s_and_8_times_bigger() {
        let s = SyntheticH264::default();
        let aus: Vec<_> = s.access_units().take(250).collect();
        let keys: Vec<u64> = aus.iter().filter(|a| a.keyframe).map(|a| a.index).collect();
        assert_eq!(keys, [0, 50, 100, 150, 200]);
        let idr = aus[50].nal_bytes() as f64;
        let p_mean = aus[1..50].iter().map(|a| a.nal_bytes()).sum::<usize>() as f64 / 49.0;
        assert!((7.5..8.5).contains(&(idr / p_mean)), "{idr} / {p_mean}");
        // SPS and PPS in band with each IDR, never with a P frame.
        assert_eq!(aus[50].nalus.len(), 3);
        assert_eq!(aus[50].nalus[0][0] & 0x1f, 7);
        assert_eq!(aus[50].nalus[1][0] & 0x1f, 8);
        assert_eq!(aus[50].nalus[2][0] & 0x1f, 5);
        assert_eq!(aus[51].nalus.len(), 1);
        assert_eq!(aus[51].nalus[0][0] & 0x1f, 1);
        // 90 kHz timestamps at 25 fps.
        assert_eq!(
            aus[1].rtp_timestamp.wrapping_sub(aus[0].rtp_timestamp),
            3600
        );
        // No zero byte in a slice: no start code, nothing to escape.
        assert!(aus.iter().all(|a| !a.nalus.last().unwrap().contains(&0)));
    }

    #[test]
    fn packets_fit_the_mtu_and_are_mostly_fu_a() {
        for mtu in [1400, 500] {
            let s = SyntheticH264 {
                mtu,
                ..SyntheticH264::default()
            };
            let pk: Vec<RtpPacket> = s
                .rtp_packets(4)
                .unwrap()
                .into_iter()
                .map(|p| RtpPacket::parse(p).unwrap())
                .collect();
            assert!(pk.iter().all(|p| p.raw().len() <= mtu));
            let fu_a = pk.iter().filter(|p| p.payload()[0] & 0x1f == 28).count();
            assert!(fu_a * 10 > pk.len() * 9, "{fu_a} of {}", pk.len());
            // One marker per access unit, on its last packet.
            assert_eq!(pk.iter().filter(|p| p.marker()).count(), 100);
            assert!(pk.last().unwrap().marker());
            // Consecutive sequence numbers from the seeded start.
            assert_eq!(pk[0].sequence_number(), s.initial_sequence());
            assert!(
                pk.windows(2)
                    .all(|w| { w[1].sequence_number() == w[0].sequence_number().wrapping_add(1) })
            );
        }
    }

    #[test]
    fn camlink_depacketizer_gets_back_exactly_the_access_units() {
        let s = SyntheticH264::default();
        let mut d = H264Depacketizer::new(NalFormat::LengthPrefixed)
            .with_payload_type(PAYLOAD_TYPE)
            .with_parameter_sets([&s.sps()[..], &s.pps()[..]]);
        let mut got = Vec::new();
        for p in s.rtp_packets(6).unwrap() {
            d.push(&RtpPacket::parse(p).unwrap()).unwrap();
            got.extend(std::iter::from_fn(|| d.pull()));
        }
        let want: Vec<SyntheticAccessUnit> = s.access_units().take(150).collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                &g.payload.to_vec()[..],
                &w.to_format(NalFormat::LengthPrefixed)[..]
            );
            assert_eq!(g.keyframe, w.keyframe);
            assert_eq!(g.rtp_timestamp, w.rtp_timestamp);
            assert_eq!(g.loss_before, 0);
        }
    }

    #[test]
    fn sdp_and_interleaving() {
        let s = SyntheticH264::default();
        let f = s.fmtp();
        assert!(f.contains("packetization-mode=1"), "{f}");
        assert!(f.contains("profile-level-id="), "{f}");
        assert!(f.contains("sprop-parameter-sets="), "{f}");
        let sdp = s.sdp();
        assert!(sdp.contains("m=video 0 RTP/AVP 96"), "{sdp}");
        let parsed = SessionDescription::parse(sdp.as_bytes()).unwrap();
        assert_eq!(parsed.media.len(), 1);
        let pk = s.rtp_packets(1).unwrap();
        let il = interleave(&pk, 0).unwrap();
        assert_eq!(il.len(), pk.iter().map(|p| p.len() + 4).sum::<usize>());
        assert_eq!(&il[..2], b"$\0");
        assert_eq!(usize::from(u16::from_be_bytes([il[2], il[3]])), pk[0].len());
        assert!(s.rtp_packets(MAX_SECONDS + 1).is_err());
    }

    #[test]
    fn mock_track_is_one_interval_and_shared() {
        let t = SyntheticH264::shared_track(3_000_000);
        assert_eq!(t.frames.len(), 50);
        assert!(t.frames[0].keyframe && !t.frames[1].keyframe);
        let again = SyntheticH264::shared_track(3_000_000);
        assert_eq!(
            t.frames[1].nalus[0].as_ptr(),
            again.frames[1].nalus[0].as_ptr()
        );
    }
}
