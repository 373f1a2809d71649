//! H.265 over RTP (RFC 7798): single NAL unit packets, aggregation packets (AP) and
//! fragmentation units (FU), both directions, without DONL (`sprop-max-don-diff` = 0, what
//! cameras send). PACI packets are refused as unsupported.
//!
//! Access units end at the marker bit or at a timestamp change; output is Annex B or 4-byte
//! length-prefixed. VPS, SPS and PPS from SDP (`sprop-vps/sps/pps`) or in-band are exposed.

use bytes::Bytes;

use super::nal::{NalFormat, split_nals};
use super::nal_core::{NalDepacketizer, NalPacking, NalSyntax, pack_nals};
use super::{FrameInfo, Outbound, Packetizer, PacketizerConfig};
use crate::Result;

/// RTP clock rate of H.265 (RFC 7798 §7.1).
pub const CLOCK_RATE: u32 = 90_000;

const AP: u8 = 48;
const FU: u8 = 49;

/// The NAL unit type from the first header byte.
pub fn nal_type(first: u8) -> u8 {
    (first >> 1) & 0x3f
}

#[derive(Debug)]
pub(crate) struct H265;

impl NalSyntax for H265 {
    const HEADER_LEN: usize = 2;
    const AGGREGATION: u8 = AP;
    const FRAGMENTATION: u8 = FU;
    const MAX_NAL_TYPE: u8 = 47;
    fn nal_type(first: u8) -> u8 {
        nal_type(first)
    }
    fn is_vcl(t: u8) -> bool {
        t <= 31
    }
    fn is_keyframe(t: u8) -> bool {
        (16..=23).contains(&t)
    }
    fn param_slot(t: u8) -> Option<usize> {
        match t {
            32 => Some(0),
            33 => Some(1),
            34 => Some(2),
            _ => None,
        }
    }
    fn fu_bits(fu: u8) -> (bool, bool, u8) {
        (fu & 0x80 != 0, fu & 0x40 != 0, fu & 0x3f)
    }
    fn rebuild_header(ph: &[u8], fu_type: u8) -> [u8; 2] {
        let h0 = ph.first().copied().unwrap_or(0);
        let h1 = ph.get(1).copied().unwrap_or(0);
        [(h0 & 0x81) | (fu_type << 1), h1]
    }
    fn info(parameters_changed: bool) -> FrameInfo {
        FrameInfo::H265 { parameters_changed }
    }
}

/// H.265 depacketizer. See the [module docs](self).
#[derive(Debug)]
pub struct H265Depacketizer {
    core: NalDepacketizer<H265>,
}

impl H265Depacketizer {
    /// A depacketizer writing access units in `format`.
    pub fn new(format: NalFormat) -> Self {
        H265Depacketizer {
            core: NalDepacketizer::new(format, CLOCK_RATE),
        }
    }
    /// Only packets of this payload type are used (others are ignored).
    pub fn with_payload_type(mut self, pt: u8) -> Self {
        self.core.inb.set_payload_type(pt);
        self
    }
    /// Parameter sets known out of band (`sprop-vps`, `sprop-sps`, `sprop-pps`, decoded); each
    /// item may hold Annex B start codes. Recognized by type; trailing zero bytes trimmed.
    pub fn with_parameter_sets<'a>(mut self, nals: impl IntoIterator<Item = &'a [u8]>) -> Self {
        self.core.set_parameter_sets(nals);
        self
    }
    /// The current VPS.
    pub fn vps(&self) -> Option<&Bytes> {
        self.core.param(0)
    }
    /// The current SPS.
    pub fn sps(&self) -> Option<&Bytes> {
        self.core.param(1)
    }
    /// The current PPS.
    pub fn pps(&self) -> Option<&Bytes> {
        self.core.param(2)
    }
}

super::nal_core::delegate_depacketizer!(H265Depacketizer);

/// H.265 packetizer: single NAL unit packets, APs for runs of small units, FUs for big ones.
#[derive(Debug)]
pub struct H265Packetizer {
    out: Outbound,
    format: NalFormat,
}

impl H265Packetizer {
    /// A packetizer for access units in `format`.
    pub fn new(cfg: PacketizerConfig, format: NalFormat) -> Result<Self> {
        Ok(H265Packetizer {
            out: Outbound::new(cfg)?,
            format,
        })
    }
}

impl Packetizer for H265Packetizer {
    fn packetize(&mut self, frame: &[u8], rtp_timestamp: u32, out: &mut Vec<Bytes>) -> Result<()> {
        let nals = split_nals(frame, self.format)?;
        let aggregate = |group: &[&[u8]]| {
            let first = group.first().copied().unwrap_or_default();
            let h0 = first.first().copied().unwrap_or(0);
            // TID of the AP: the lowest of its units (RFC 7798 §4.4.2).
            let tid = group
                .iter()
                .filter_map(|n| n.get(1))
                .map(|b| b & 7)
                .min()
                .unwrap_or(1);
            let h1 = first.get(1).map_or(tid, |b| (b & 0xf8) | tid);
            let mut b = vec![(h0 & 0x81) | (AP << 1), h1];
            for n in group {
                b.extend_from_slice(&(n.len() as u16).to_be_bytes());
                b.extend_from_slice(n);
            }
            b
        };
        let fragment_headers = |nal: &[u8], start: bool, end: bool| {
            let h0 = nal.first().copied().unwrap_or(0);
            let h1 = nal.get(1).copied().unwrap_or(1);
            let mut fu = nal_type(h0);
            if start {
                fu |= 0x80;
            }
            if end {
                fu |= 0x40;
            }
            vec![(h0 & 0x81) | (FU << 1), h1, fu]
        };
        pack_nals(
            &mut self.out,
            &nals,
            rtp_timestamp,
            out,
            &NalPacking {
                header_len: 2,
                aggregate: &aggregate,
                fragment_headers: &fragment_headers,
            },
        )
    }

    fn next_sequence_number(&self) -> u16 {
        self.out.next_seq()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Depacketizer;
    use crate::rtp::{RtpPacket, RtpPacketBuilder};

    fn pkt(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> RtpPacket {
        RtpPacket::parse(
            RtpPacketBuilder::new(96, seq, ts, 7)
                .marker(marker)
                .build(payload)
                .unwrap(),
        )
        .unwrap()
    }

    const VPS: &[u8] = &[0x40, 0x01, 0x0c, 0x01];
    const SPS: &[u8] = &[0x42, 0x01, 0x01, 0x01];
    const PPS: &[u8] = &[0x44, 0x01, 0xc1, 0x72];

    #[test]
    fn ap_and_fu_make_one_irap_access_unit() {
        let mut ap = vec![AP << 1, 1];
        for n in [VPS, SPS, PPS] {
            ap.extend_from_slice(&(n.len() as u16).to_be_bytes());
            ap.extend_from_slice(n);
        }
        // IDR_W_RADL (19): header 0x26 0x01, fragmented in two.
        let mut d = H265Depacketizer::new(NalFormat::AnnexB);
        d.push(&pkt(1, 0, false, &ap)).unwrap();
        d.push(&pkt(2, 0, false, &[FU << 1, 1, 0x80 | 19, 0xaa]))
            .unwrap();
        d.push(&pkt(3, 0, true, &[FU << 1, 1, 0x40 | 19, 0xbb]))
            .unwrap();
        let f = d.pull().unwrap();
        let mut want = Vec::new();
        for n in [VPS, SPS, PPS, &[0x26, 0x01, 0xaa, 0xbb][..]] {
            want.extend_from_slice(&[0, 0, 0, 1]);
            want.extend_from_slice(n);
        }
        assert_eq!(&f.payload.to_vec()[..], &want[..]);
        assert!(f.keyframe);
        assert_eq!(d.vps().map(|b| &b[..]), Some(VPS));
        assert_eq!(d.sps().map(|b| &b[..]), Some(SPS));
        assert_eq!(d.pps().map(|b| &b[..]), Some(PPS));
    }

    #[test]
    fn paci_is_refused_and_the_unit_dropped() {
        let mut d = H265Depacketizer::new(NalFormat::AnnexB);
        let e = d.push(&pkt(1, 0, true, &[50 << 1, 1, 0, 0])).unwrap_err();
        assert_eq!(e.kind(), &crate::ErrorKind::Unsupported);
        d.push(&pkt(2, 3000, true, &[0x02, 0x01, 5])).unwrap();
        let f = d.pull().unwrap();
        assert_eq!(f.rtp_timestamp, 3000);
        assert_eq!(f.loss_before, 1);
    }

    #[test]
    fn sprop_sets_with_start_codes() {
        let mut vps = vec![0, 0, 0, 1];
        vps.extend_from_slice(VPS);
        let all: Vec<u8> = [&vps[..], &[0, 0, 1], SPS, &[0, 0, 1], PPS].concat();
        let d = H265Depacketizer::new(NalFormat::LengthPrefixed).with_parameter_sets([&all[..]]);
        assert_eq!(d.pps().map(|b| &b[..]), Some(PPS));
        assert_eq!(d.vps().map(|b| &b[..]), Some(VPS));
    }
}
