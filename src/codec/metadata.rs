//! ONVIF metadata streams (`application/vnd.onvif.metadata`, ONVIF Streaming spec §5.2.1.1):
//! an XML document split over packets of one timestamp, the last one with the marker bit.

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    Admit, Depacketizer, Frame, FrameInfo, Inbound, MAX_FRAME_LEN, Outbound, Packetizer,
    PacketizerConfig,
};
use crate::rtp::{NtpTimestamp, RtpPacket};
use crate::{Error, Result};

/// The clock rate ONVIF uses for metadata.
pub const CLOCK_RATE: u32 = 90_000;

/// Largest metadata document reassembled.
pub const MAX_DOCUMENT_LEN: usize = 4 * 1024 * 1024;

/// Metadata depacketizer: documents come out whole (a zero-copy slice when in one packet).
#[derive(Debug)]
pub struct MetadataDepacketizer {
    inb: Inbound,
    parts: Vec<Bytes>,
    len: usize,
    ts: Option<u32>,
    damaged: bool,
}

impl Default for MetadataDepacketizer {
    fn default() -> Self {
        Self::new()
    }
}

impl MetadataDepacketizer {
    /// A depacketizer at the ONVIF clock rate of 90 kHz.
    pub fn new() -> Self {
        Self::with_clock_rate(CLOCK_RATE)
    }
    /// A depacketizer at another clock rate.
    pub fn with_clock_rate(clock_rate: u32) -> Self {
        MetadataDepacketizer {
            inb: Inbound::new(clock_rate),
            parts: Vec::new(),
            len: 0,
            ts: None,
            damaged: false,
        }
    }
    /// Only packets of this payload type are used.
    pub fn with_payload_type(mut self, pt: u8) -> Self {
        self.inb.set_payload_type(pt);
        self
    }

    fn finish(&mut self) {
        let parts = std::mem::take(&mut self.parts);
        let ts = self.ts.take();
        let len = std::mem::take(&mut self.len);
        if self.damaged || len == 0 {
            if self.damaged {
                self.inb.add_loss(parts.len() as u64);
            }
            self.damaged = false;
            return;
        }
        let Some(ts) = ts else { return };
        let payload = if parts.len() == 1 {
            parts.into_iter().next().unwrap_or_default()
        } else {
            let mut b = BytesMut::with_capacity(len);
            for p in &parts {
                b.put_slice(p);
            }
            b.freeze()
        };
        self.inb.emit(payload, ts, true, FrameInfo::Metadata);
    }
}

impl Depacketizer for MetadataDepacketizer {
    fn push(&mut self, pkt: &RtpPacket) -> Result<()> {
        let Admit::Use { lost } = self.inb.admit(pkt) else {
            return Ok(());
        };
        if self.ts.is_some_and(|t| t != pkt.timestamp()) {
            // The previous document never got its marker: it ends here, and if packets were
            // lost just before, its end may be among them.
            if lost > 0 {
                self.damaged = true;
            }
            self.finish();
        }
        if lost > 0 {
            // The lost packets may belong to this document: its start is unknown.
            self.damaged = true;
        }
        self.ts = Some(pkt.timestamp());
        let mut r = Ok(());
        if self.len + pkt.payload().len() > MAX_DOCUMENT_LEN.min(MAX_FRAME_LEN) {
            self.damaged = true;
            r = Err(Error::limit("metadata document", MAX_DOCUMENT_LEN));
        } else if !pkt.payload().is_empty() {
            self.len += pkt.payload().len();
            self.parts.push(pkt.payload_bytes());
        }
        if pkt.marker() {
            self.finish();
        }
        r
    }
    fn pull(&mut self) -> Option<Frame> {
        self.inb.pull()
    }
    fn flush(&mut self) {
        self.finish();
    }
    fn on_sender_report(&mut self, ntp: NtpTimestamp, rtp_timestamp: u32) {
        self.inb.on_sender_report(ntp, rtp_timestamp);
    }
    fn clock_rate(&self) -> u32 {
        self.inb.clock_rate()
    }
}

/// Metadata packetizer: a document split at the MTU, marker on the last packet.
#[derive(Debug)]
pub struct MetadataPacketizer {
    out: Outbound,
}

impl MetadataPacketizer {
    /// A packetizer.
    pub fn new(cfg: PacketizerConfig) -> Result<Self> {
        Ok(MetadataPacketizer {
            out: Outbound::new(cfg)?,
        })
    }
}

impl Packetizer for MetadataPacketizer {
    fn packetize(&mut self, frame: &[u8], rtp_timestamp: u32, out: &mut Vec<Bytes>) -> Result<()> {
        if frame.is_empty() {
            return Err(Error::invalid_input("empty metadata document"));
        }
        let max = self.out.max_payload();
        let n = frame.len().div_ceil(max);
        for (i, chunk) in frame.chunks(max).enumerate() {
            self.out.emit(out, rtp_timestamp, i + 1 == n, &[chunk])?;
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
    use crate::rtp::RtpPacketBuilder;

    fn pkt(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> RtpPacket {
        RtpPacket::parse(
            RtpPacketBuilder::new(107, seq, ts, 7)
                .marker(marker)
                .build(payload)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn document_reassembled_until_marker() {
        let mut d = MetadataDepacketizer::new();
        d.push(&pkt(1, 9, false, b"<tt:MetadataStream>")).unwrap();
        assert!(d.pull().is_none());
        d.push(&pkt(2, 9, true, b"</tt:MetadataStream>")).unwrap();
        assert_eq!(
            &d.pull().unwrap().payload.to_vec()[..],
            b"<tt:MetadataStream></tt:MetadataStream>"
        );
    }

    #[test]
    fn lost_last_packet_is_not_hidden_by_a_timestamp_change() {
        let mut d = MetadataDepacketizer::new();
        d.push(&pkt(1, 9, false, b"<a>")).unwrap();
        // Packet 2 (the end of document 9, with the marker) is lost.
        d.push(&pkt(3, 18, true, b"<b/>")).unwrap();
        assert!(d.pull().is_none(), "a truncated document must not come out");
        d.push(&pkt(4, 27, true, b"<c/>")).unwrap();
        assert_eq!(&d.pull().unwrap().payload.to_vec()[..], b"<c/>");
    }

    #[test]
    fn lost_packet_drops_the_document() {
        let mut d = MetadataDepacketizer::new();
        d.push(&pkt(1, 9, false, b"<a>")).unwrap();
        d.push(&pkt(3, 9, true, b"</a>")).unwrap();
        assert!(d.pull().is_none());
        d.push(&pkt(4, 18, true, b"<b/>")).unwrap();
        let f = d.pull().unwrap();
        assert_eq!((&f.payload.to_vec()[..], f.loss_before), (&b"<b/>"[..], 3));
    }
}
