//! AAC over RTP, RFC 3640 `mpeg4-generic` (AAC-hbr and AAC-lbr): AU headers, several AUs per
//! packet, and AUs fragmented over packets.
//!
//! The SDP's `sizelength`, `indexlength` and `indexdeltalength` are given at construction
//! (AAC-hbr: 13, 3, 3). Interleaving (a non-zero AU-index-delta) is not supported: such AUs are
//! taken in arrival order. Frames are raw AAC access units (no ADTS header).

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    Admit, Depacketizer, Frame, FrameInfo, Inbound, Outbound, Packetizer, PacketizerConfig,
};
use crate::rtp::{NtpTimestamp, RtpPacket};
use crate::{Error, ErrorKind, Result};

/// Largest AAC access unit reassembled (the 13-bit size field allows 8191).
pub const MAX_AU_LEN: usize = 65_535;

/// Most AU headers read from one packet.
pub const MAX_AUS_PER_PACKET: usize = 256;

/// The AU header layout from the SDP fmtp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuHeaderLayout {
    /// `sizelength` (bits of AU-size).
    pub size_length: u8,
    /// `indexlength` (bits of AU-Index, first header).
    pub index_length: u8,
    /// `indexdeltalength` (bits of AU-Index-delta, later headers).
    pub index_delta_length: u8,
}

impl AuHeaderLayout {
    /// AAC-hbr: 13, 3, 3.
    pub const AAC_HBR: AuHeaderLayout = AuHeaderLayout {
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
    };
    /// AAC-lbr: 6, 2, 2.
    pub const AAC_LBR: AuHeaderLayout = AuHeaderLayout {
        size_length: 6,
        index_length: 2,
        index_delta_length: 2,
    };
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn read(&mut self, n: u8) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.pos / 8)?;
            let bit = (byte >> (7 - (self.pos % 8))) & 1;
            v = (v << 1) | u32::from(bit);
            self.pos += 1;
        }
        Some(v)
    }
}

/// AAC depacketizer. See the [module docs](self).
#[derive(Debug)]
pub struct AacDepacketizer {
    inb: Inbound,
    layout: AuHeaderLayout,
    frame_length: u32,
    config: Bytes,
    frag: BytesMut,
    frag_size: usize,
    frag_ts: Option<u32>,
    frag_packets: u64,
}

impl AacDepacketizer {
    /// A depacketizer at `clock_rate` (the sampling rate, from rtpmap) with this AU header
    /// layout. Each AU is taken to hold 1024 samples (see
    /// [`with_frame_length`](Self::with_frame_length)).
    pub fn new(clock_rate: u32, layout: AuHeaderLayout) -> Result<Self> {
        if layout.size_length == 0
            || layout.size_length > 16
            || layout.index_length > 16
            || layout.index_delta_length > 16
        {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "AU header field lengths outside 1..=16 bits",
            ));
        }
        Ok(AacDepacketizer {
            inb: Inbound::new(clock_rate),
            layout,
            frame_length: 1024,
            config: Bytes::new(),
            frag: BytesMut::new(),
            frag_size: 0,
            frag_ts: None,
            frag_packets: 0,
        })
    }
    /// Only packets of this payload type are used.
    pub fn with_payload_type(mut self, pt: u8) -> Self {
        self.inb.set_payload_type(pt);
        self
    }
    /// Samples per AU (960 when the AudioSpecificConfig's frameLengthFlag is set).
    pub fn with_frame_length(mut self, samples: u32) -> Self {
        self.frame_length = samples.max(1);
        self
    }
    /// The AudioSpecificConfig from SDP `config=` (decoded from hex), kept for the caller.
    pub fn with_config(mut self, audio_specific_config: &[u8]) -> Self {
        self.config = Bytes::copy_from_slice(audio_specific_config);
        self
    }
    /// The AudioSpecificConfig given at construction.
    pub fn config(&self) -> &Bytes {
        &self.config
    }

    fn drop_fragment(&mut self) {
        if self.frag_ts.take().is_some() {
            tracing::debug!("incomplete fragmented AAC AU dropped");
            self.inb.add_loss(self.frag_packets);
        }
        self.frag.clear();
        self.frag_packets = 0;
    }

    fn parse(&mut self, pkt: &RtpPacket, lost: u64) -> Result<()> {
        let data = pkt.payload();
        let ts = pkt.timestamp();
        let Some(hl) = data.get(..2) else {
            return Err(Error::malformed("AU-headers-length missing", 0, data));
        };
        let header_bits = usize::from(u16::from_be_bytes([hl[0], hl[1]]));
        let header_bytes = header_bits.div_ceil(8);
        let Some(headers) = data.get(2..2 + header_bytes) else {
            return Err(Error::malformed("AU headers run past the packet", 2, data));
        };
        let mut bits = Bits {
            data: headers,
            pos: 0,
        };
        let mut sizes = Vec::new();
        while bits.pos < header_bits && sizes.len() < MAX_AUS_PER_PACKET {
            let idx_len = if sizes.is_empty() {
                self.layout.index_length
            } else {
                self.layout.index_delta_length
            };
            let (Some(size), Some(_index)) =
                (bits.read(self.layout.size_length), bits.read(idx_len))
            else {
                return Err(Error::malformed("AU header truncated", 2, data));
            };
            sizes.push(size as usize);
        }
        let mut body = data.get(2 + header_bytes..).unwrap_or_default();
        let body_bytes = pkt.payload_bytes().slice(2 + header_bytes..);
        // A continuing fragment: same timestamp, one AU header with the whole AU's size.
        if let Some(frag_ts) = self.frag_ts {
            if frag_ts != ts {
                // The AU in progress never got its last fragment.
                self.drop_fragment();
            } else if lost > 0 || sizes.len() != 1 || sizes.first() != Some(&self.frag_size) {
                // The rest of an AU that lost a fragment: discard it.
                self.drop_fragment();
                self.inb.add_loss(1);
                return Ok(());
            } else {
                self.frag_packets += 1;
                if self.frag.len() + body.len() > self.frag_size {
                    self.drop_fragment();
                    return Err(Error::malformed("AAC fragment longer than its AU", 0, data));
                }
                self.frag.put_slice(body);
                if self.frag.len() == self.frag_size {
                    self.frag_ts = None;
                    self.frag_packets = 0;
                    let au = self.frag.split().freeze();
                    self.inb.emit(au, ts, true, FrameInfo::Aac);
                } else if pkt.marker() {
                    self.drop_fragment();
                }
                return Ok(());
            }
        }
        if let [size] = sizes[..]
            && size > body.len()
        {
            // The first fragment of an AU larger than one packet.
            if size > MAX_AU_LEN {
                return Err(Error::limit("AAC access unit", MAX_AU_LEN));
            }
            if lost > 0 {
                tracing::trace!("fragment start after loss");
            }
            self.frag.clear();
            self.frag.reserve(size);
            self.frag.put_slice(body);
            self.frag_size = size;
            self.frag_ts = Some(ts);
            self.frag_packets = 1;
            return Ok(());
        }
        let mut offset = 0usize;
        for (i, size) in sizes.into_iter().enumerate() {
            let Some(au) = body.get(..size) else {
                return Err(Error::malformed("AU runs past the packet", 0, data));
            };
            body = body.get(size..).unwrap_or_default();
            let au_ts = ts.wrapping_add(self.frame_length.wrapping_mul(i as u32));
            if !au.is_empty() {
                self.inb.emit(
                    body_bytes.slice(offset..offset + size),
                    au_ts,
                    true,
                    FrameInfo::Aac,
                );
            }
            offset += size;
        }
        Ok(())
    }
}

impl Depacketizer for AacDepacketizer {
    fn push(&mut self, pkt: &RtpPacket) -> Result<()> {
        let Admit::Use { lost } = self.inb.admit(pkt) else {
            return Ok(());
        };
        if pkt.payload().is_empty() {
            return Ok(());
        }
        let r = self.parse(pkt, lost);
        if r.is_err() {
            self.inb.add_loss(1);
        }
        r
    }
    fn pull(&mut self) -> Option<Frame> {
        self.inb.pull()
    }
    fn flush(&mut self) {
        self.drop_fragment();
    }
    fn on_sender_report(&mut self, ntp: NtpTimestamp, rtp_timestamp: u32) {
        self.inb.on_sender_report(ntp, rtp_timestamp);
    }
    fn clock_rate(&self) -> u32 {
        self.inb.clock_rate()
    }
}

/// AAC packetizer (AAC-hbr headers): one AU per packet, fragmented when bigger than the MTU;
/// the marker bit on every packet that ends an AU.
#[derive(Debug)]
pub struct AacPacketizer {
    out: Outbound,
}

impl AacPacketizer {
    /// A packetizer writing AAC-hbr AU headers (13-bit size, 3-bit index).
    pub fn new(cfg: PacketizerConfig) -> Result<Self> {
        Ok(AacPacketizer {
            out: Outbound::new(cfg)?,
        })
    }
}

impl Packetizer for AacPacketizer {
    fn packetize(&mut self, frame: &[u8], rtp_timestamp: u32, out: &mut Vec<Bytes>) -> Result<()> {
        if frame.is_empty() || frame.len() > 8191 {
            return Err(Error::invalid_input(
                "AAC AU must be 1..=8191 bytes for AAC-hbr",
            ));
        }
        let header = [
            0,
            16,
            (frame.len() >> 5) as u8,
            ((frame.len() & 0x1f) << 3) as u8,
        ];
        let room = self.out.max_payload() - header.len();
        let n = frame.len().div_ceil(room);
        for (i, chunk) in frame.chunks(room).enumerate() {
            self.out
                .emit(out, rtp_timestamp, i + 1 == n, &[&header, chunk])?;
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
            RtpPacketBuilder::new(97, seq, ts, 7)
                .marker(marker)
                .build(payload)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn two_aus_in_one_packet_get_their_own_timestamps() {
        // RFC 3640 §3.3.6 style: AU-headers-length 32 bits, sizes 3 and 2 (index 0, delta 0).
        let p = [0, 32, 0, 3 << 3, 0, 2 << 3, 0xa1, 0xa2, 0xa3, 0xb1, 0xb2];
        let mut d = AacDepacketizer::new(48_000, AuHeaderLayout::AAC_HBR).unwrap();
        d.push(&pkt(1, 100, true, &p)).unwrap();
        let a = d.pull().unwrap();
        let b = d.pull().unwrap();
        assert_eq!(
            (&a.payload.to_vec()[..], a.rtp_timestamp),
            (&[0xa1, 0xa2, 0xa3][..], 100)
        );
        assert_eq!(
            (&b.payload.to_vec()[..], b.rtp_timestamp),
            (&[0xb1, 0xb2][..], 1124)
        );
    }

    #[test]
    fn fragmented_au_reassembled_and_lost_fragment_dropped() {
        let au: Vec<u8> = (0..300).map(|i| i as u8).collect();
        let mut tx = AacPacketizer::new(PacketizerConfig::new(97, 1).mtu(128)).unwrap();
        let mut pk = Vec::new();
        tx.packetize(&au, 0, &mut pk).unwrap();
        tx.packetize(&au, 1024, &mut pk).unwrap();
        tx.packetize(&au[..10], 2048, &mut pk).unwrap();
        assert_eq!(pk.len(), 7);
        let mut d = AacDepacketizer::new(48_000, AuHeaderLayout::AAC_HBR).unwrap();
        for (i, p) in pk.into_iter().enumerate() {
            if i == 4 {
                continue; // middle fragment of the second AU
            }
            let _ = d.push(&RtpPacket::parse(p).unwrap());
        }
        let f: Vec<Frame> = std::iter::from_fn(|| d.pull()).collect();
        assert_eq!(f.len(), 2);
        assert_eq!(&f[0].payload.to_vec()[..], &au[..]);
        assert_eq!((f[1].rtp_timestamp, f[1].loss_before), (2048, 3));
    }
}
