//! G.711 µ-law (PCMU) and A-law (PCMA) over RTP (RFC 3551 §4.5.14): one byte per sample, each
//! packet is a frame.

use bytes::Bytes;

use super::{
    Admit, Depacketizer, Frame, FrameInfo, G711Law, Inbound, Outbound, Packetizer, PacketizerConfig,
};
use crate::Result;
use crate::rtp::{NtpTimestamp, RtpPacket};

/// The usual G.711 clock rate.
pub const CLOCK_RATE: u32 = 8000;

/// G.711 depacketizer: every non-empty packet becomes a frame (a zero-copy slice).
#[derive(Debug)]
pub struct G711Depacketizer {
    inb: Inbound,
    law: G711Law,
}

impl G711Depacketizer {
    /// A depacketizer for `law` at 8 kHz. The payload type defaults to the static one (0 for
    /// µ-law, 8 for A-law); use [`with_payload_type`](Self::with_payload_type) for dynamic ones.
    pub fn new(law: G711Law) -> Self {
        Self::with_clock_rate(law, CLOCK_RATE)
    }
    /// A depacketizer for `law` at another clock rate (SDP `PCMU/16000`).
    pub fn with_clock_rate(law: G711Law, clock_rate: u32) -> Self {
        let mut inb = Inbound::new(clock_rate);
        inb.set_payload_type(match law {
            G711Law::MuLaw => 0,
            G711Law::ALaw => 8,
        });
        G711Depacketizer { inb, law }
    }
    /// Only packets of this payload type are used.
    pub fn with_payload_type(mut self, pt: u8) -> Self {
        self.inb.set_payload_type(pt);
        self
    }
}

impl Depacketizer for G711Depacketizer {
    fn push(&mut self, pkt: &RtpPacket) -> Result<()> {
        if let Admit::Use { .. } = self.inb.admit(pkt)
            && !pkt.payload().is_empty()
        {
            self.inb.emit(
                pkt.payload_bytes(),
                pkt.timestamp(),
                true,
                FrameInfo::G711 { law: self.law },
            );
        }
        Ok(())
    }
    fn pull(&mut self) -> Option<Frame> {
        self.inb.pull()
    }
    fn flush(&mut self) {}
    fn on_sender_report(&mut self, ntp: NtpTimestamp, rtp_timestamp: u32) {
        self.inb.on_sender_report(ntp, rtp_timestamp);
    }
    fn clock_rate(&self) -> u32 {
        self.inb.clock_rate()
    }
}

/// G.711 packetizer: a frame of samples is split into packets of at most the MTU, the timestamp
/// advancing one tick per sample (mono). Marker bits are not set (continuous audio).
#[derive(Debug)]
pub struct G711Packetizer {
    out: Outbound,
}

impl G711Packetizer {
    /// A packetizer (use payload type 0 for PCMU, 8 for PCMA).
    pub fn new(cfg: PacketizerConfig) -> Result<Self> {
        Ok(G711Packetizer {
            out: Outbound::new(cfg)?,
        })
    }
}

impl Packetizer for G711Packetizer {
    fn packetize(&mut self, frame: &[u8], rtp_timestamp: u32, out: &mut Vec<Bytes>) -> Result<()> {
        let max = self.out.max_payload();
        let mut ts = rtp_timestamp;
        for chunk in frame.chunks(max) {
            self.out.emit(out, ts, false, &[chunk])?;
            ts = ts.wrapping_add(chunk.len() as u32);
        }
        Ok(())
    }
    fn next_sequence_number(&self) -> u16 {
        self.out.next_seq()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_packets_and_zero_copy() {
        let mut tx = G711Packetizer::new(PacketizerConfig::new(8, 1).mtu(172)).unwrap();
        let mut pk = Vec::new();
        let samples: Vec<u8> = (0..400).map(|i| i as u8).collect();
        tx.packetize(&samples, 1000, &mut pk).unwrap();
        assert_eq!(pk.len(), 3);
        let mut rx = G711Depacketizer::new(G711Law::ALaw);
        let mut frames = Vec::new();
        for p in pk {
            let p = RtpPacket::parse(p).unwrap();
            rx.push(&p).unwrap();
            let f = rx.pull().unwrap();
            assert_eq!(
                f.payload.as_contiguous().map(|b| b.as_ptr()),
                Some(p.payload().as_ptr())
            );
            frames.push(f);
        }
        assert_eq!(
            frames.iter().map(|f| f.rtp_timestamp).collect::<Vec<_>>(),
            [1000, 1160, 1320]
        );
        assert_eq!(frames.concat_payload(), samples);
    }

    trait Concat {
        fn concat_payload(&self) -> Vec<u8>;
    }
    impl Concat for Vec<Frame> {
        fn concat_payload(&self) -> Vec<u8> {
            self.iter().flat_map(|f| f.payload.to_vec()).collect()
        }
    }
}
