//! The stream the light sender serves: one keyframe interval (2 s) of the crate's synthetic
//! H.264 stream ([`camlink::mock::synthetic::SyntheticH264`]: the bytes the mock camera and
//! `benches/vs_retina.rs` use; 25 fps, a keyframe with SPS/PPS in band every 2 s, 8× a P frame),
//! packetized once by camlink's packetizer into RTP packets of at most 1400 bytes. Every session
//! loops over the same packets with its own sequence numbers and timestamps patched in, as the
//! mock camera loops one interval.

use bytes::Bytes;
use camlink::codec::h264::H264Packetizer;
use camlink::codec::nal::NalFormat;
use camlink::codec::{Packetizer as _, PacketizerConfig};
use camlink::mock::synthetic::{PAYLOAD_TYPE as SYNTH_PT, SyntheticH264};

/// Frames per second.
pub const FPS: u32 = 25;
/// RTP ticks per frame (90 kHz clock).
pub const TICKS_PER_FRAME: u32 = 90_000 / FPS;
/// Frames per group of pictures (a keyframe every 2 s).
pub const GOP: usize = 50;
/// Largest RTP packet, header included.
pub const MTU: usize = 1400;
/// RTP payload type in the SDP.
pub const PAYLOAD_TYPE: u8 = SYNTH_PT;

/// One frame, packetized (the sender patches sequence numbers and timestamps).
pub struct FramePackets {
    pub packets: Vec<Bytes>,
}

/// The whole GOP, packetized, plus the parameter sets for the SDP.
pub struct Stream {
    pub frames: Vec<FramePackets>,
    pub sps: Bytes,
    pub pps: Bytes,
    pub ssrc: u32,
    /// Payload bytes (RTP headers excluded) of one GOP.
    pub gop_bytes: usize,
}

impl Stream {
    /// Builds the stream for a bit rate in bits per second.
    pub fn new(bitrate: u32) -> Stream {
        let syn = SyntheticH264 {
            fps: FPS,
            gop: GOP as u32,
            mtu: MTU,
            ..SyntheticH264::new(bitrate)
        };
        let ssrc = syn.ssrc();
        let mut pk = H264Packetizer::new(
            PacketizerConfig::new(PAYLOAD_TYPE, ssrc)
                .initial_sequence(syn.initial_sequence())
                .mtu(MTU),
            NalFormat::LengthPrefixed,
        )
        .expect("packetizer");
        let mut frames = Vec::with_capacity(GOP);
        let mut gop_bytes = 0;
        for au in syn.access_units().take(GOP) {
            let mut out = Vec::new();
            pk.packetize(&au.to_format(NalFormat::LengthPrefixed), 0, &mut out)
                .expect("packetize");
            gop_bytes += out.iter().map(|p| p.len() - 12).sum::<usize>();
            frames.push(FramePackets { packets: out });
        }
        Stream {
            frames,
            sps: syn.sps(),
            pps: syn.pps(),
            ssrc,
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
        // 2 s of 4 Mbit/s within 3 % (P frames vary by ±10 %), payload only.
        let want = 1_000_000.0;
        let got = s.gop_bytes as f64;
        assert!((got - want).abs() / want < 0.03, "{got}");
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
