//! The stream the light sender serves: a deterministic H.264 stream at a given bit rate, 25 fps,
//! a keyframe (SPS, PPS, IDR) every 2 s, packetized once by camlink's packetizer into RTP
//! packets of at most 1400 bytes. Every session sends the same packets with its own sequence
//! numbers and timestamps patched in.

use bytes::Bytes;
use camlink::codec::h264::H264Packetizer;
use camlink::codec::nal::NalFormat;
use camlink::codec::{Packetizer as _, PacketizerConfig};
use camlink::mock::{VideoCodec, media};

/// Frames per second.
pub const FPS: u32 = 25;
/// RTP ticks per frame (90 kHz clock).
pub const TICKS_PER_FRAME: u32 = 90_000 / FPS;
/// Frames per group of pictures (a keyframe every 2 s).
pub const GOP: usize = 50;
/// Largest RTP packet, header included.
pub const MTU: usize = 1400;
/// RTP payload type in the SDP.
pub const PAYLOAD_TYPE: u8 = 96;
/// The SSRC of every session's stream.
pub const SSRC: u32 = 0x4341_4d4c;

/// One frame, packetized: the RTP packets as sent with sequence numbers from 0 within the GOP
/// and timestamp 0 (the sender patches both).
pub struct FramePackets {
    pub packets: Vec<Bytes>,
}

/// The whole GOP, packetized, plus the parameter sets for the SDP.
pub struct Stream {
    pub frames: Vec<FramePackets>,
    pub sps: Bytes,
    pub pps: Bytes,
    /// Payload bytes (RTP headers excluded) of one GOP.
    pub gop_bytes: usize,
}

impl Stream {
    /// Builds the stream for a bit rate in bits per second.
    pub fn new(bitrate: u64) -> Stream {
        // Real parameter sets (640x360 High profile) from the mock camera's sample media, so that
        // retina's SPS parser accepts them.
        let track = media::video_track(VideoCodec::H264, 640).expect("sample media");
        let sps = track.parameter_sets.first().cloned().expect("sps");
        let pps = track.parameter_sets.get(1).cloned().expect("pps");
        // A keyframe is four times a P frame: (4p + 49p) = bytes per GOP.
        let gop_total = bitrate / 8 * 2; // 2 s of bytes
        let p = (gop_total / (4 + (GOP as u64 - 1))) as usize;
        let k = 4 * p;
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut fill = |n: usize, header: u8| -> Vec<u8> {
            let mut v = Vec::with_capacity(n);
            v.push(header);
            while v.len() < n {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                v.extend_from_slice(&rng.to_le_bytes());
            }
            v.truncate(n);
            // No zero bytes: no accidental start codes whatever format the client asks for.
            for b in &mut v[1..] {
                if *b == 0 {
                    *b = 0x5a;
                }
            }
            v
        };
        let mut pk = H264Packetizer::new(
            PacketizerConfig::new(PAYLOAD_TYPE, SSRC).mtu(MTU),
            NalFormat::LengthPrefixed,
        )
        .expect("packetizer");
        let mut frames = Vec::with_capacity(GOP);
        let mut gop_bytes = 0;
        for i in 0..GOP {
            let nalus: Vec<Vec<u8>> = if i == 0 {
                // IDR slice, nal_ref_idc 3, type 5; with the parameter sets in band as cameras do.
                vec![sps.to_vec(), pps.to_vec(), fill(k, 0x65)]
            } else {
                // Non-IDR slice, nal_ref_idc 2, type 1.
                vec![fill(p, 0x41)]
            };
            let mut data = Vec::new();
            for n in &nalus {
                data.extend_from_slice(&(n.len() as u32).to_be_bytes());
                data.extend_from_slice(n);
            }
            let mut out = Vec::new();
            pk.packetize(&data, 0, &mut out).expect("packetize");
            gop_bytes += out.iter().map(|p| p.len() - 12).sum::<usize>();
            frames.push(FramePackets { packets: out });
        }
        Stream {
            frames,
            sps,
            pps,
            gop_bytes,
        }
    }

    /// Packets per GOP.
    pub fn gop_packets(&self) -> usize {
        self.frames.iter().map(|f| f.packets.len()).sum()
    }
}

/// Writes `seq` and `ts` into an RTP header at the start of `pkt`.
pub fn patch(pkt: &mut [u8], seq: u16, ts: u32) {
    pkt[2..4].copy_from_slice(&seq.to_be_bytes());
    pkt[4..8].copy_from_slice(&ts.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_mbit_stream_has_the_announced_shape() {
        let s = Stream::new(4_000_000);
        assert_eq!(s.frames.len(), GOP);
        // 2 s of 4 Mbit/s within 2 %, payload only.
        let want = 1_000_000.0;
        let got = s.gop_bytes as f64;
        assert!((got - want).abs() / want < 0.02, "{got}");
        assert!(
            s.frames
                .iter()
                .flat_map(|f| &f.packets)
                .all(|p| p.len() <= MTU)
        );
        // The marker bit ends each frame.
        for f in &s.frames {
            let last = f.packets.last().unwrap();
            assert_eq!(last[1] & 0x80, 0x80);
        }
    }
}
