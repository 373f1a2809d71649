//! H.264 over RTP (RFC 6184): single NAL unit packets, STAP-A and FU-A, both directions.
//!
//! Access units end at the marker bit, or when the timestamp changes for cameras that never
//! set it. Output is Annex B or 4-byte length-prefixed, chosen at construction. SPS and PPS given
//! at construction (from SDP `sprop-parameter-sets`) or seen in-band are exposed.

use bytes::Bytes;

pub use super::nal::{NalFormat, split_annex_b, split_length_prefixed, split_nals};
use super::nal_core::{NalDepacketizer, NalPacking, NalSyntax, pack_nals};
use super::{FrameInfo, Outbound, Packetizer, PacketizerConfig};
use crate::Result;

/// RTP clock rate of H.264 (RFC 6184 §8.2.1).
pub const CLOCK_RATE: u32 = 90_000;

const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// The NAL unit type (low 5 bits of the header).
pub fn nal_type(header: u8) -> u8 {
    header & 0x1f
}

#[derive(Debug)]
pub(crate) struct H264;

impl NalSyntax for H264 {
    const HEADER_LEN: usize = 1;
    const AGGREGATION: u8 = STAP_A;
    const FRAGMENTATION: u8 = FU_A;
    const MAX_NAL_TYPE: u8 = 23;
    fn nal_type(first: u8) -> u8 {
        nal_type(first)
    }
    fn is_vcl(t: u8) -> bool {
        (1..=5).contains(&t)
    }
    fn is_keyframe(t: u8) -> bool {
        t == 5
    }
    fn param_slot(t: u8) -> Option<usize> {
        match t {
            7 => Some(0),
            8 => Some(1),
            _ => None,
        }
    }
    fn fu_bits(fu: u8) -> (bool, bool, u8) {
        (fu & 0x80 != 0, fu & 0x40 != 0, fu & 0x1f)
    }
    fn rebuild_header(payload_header: &[u8], fu_type: u8) -> [u8; 2] {
        [
            (payload_header.first().copied().unwrap_or(0) & 0xe0) | fu_type,
            0,
        ]
    }
    fn info(parameters_changed: bool) -> FrameInfo {
        FrameInfo::H264 { parameters_changed }
    }
}

/// H.264 depacketizer. See the [module docs](self).
#[derive(Debug)]
pub struct H264Depacketizer {
    core: NalDepacketizer<H264>,
}

impl H264Depacketizer {
    /// A depacketizer writing access units in `format`.
    pub fn new(format: NalFormat) -> Self {
        H264Depacketizer {
            core: NalDepacketizer::new(format, CLOCK_RATE),
        }
    }

    /// Only packets of this payload type are used (others are ignored).
    pub fn with_payload_type(mut self, pt: u8) -> Self {
        self.core.inb.set_payload_type(pt);
        self
    }

    /// Parameter sets known out of band (SDP `sprop-parameter-sets`, decoded from base64). Each
    /// item may be a bare NAL unit or hold several with Annex B start codes; SPS and PPS are
    /// recognized by type, anything else is ignored. Trailing zero bytes are trimmed.
    pub fn with_parameter_sets<'a>(mut self, nals: impl IntoIterator<Item = &'a [u8]>) -> Self {
        self.core.set_parameter_sets(nals);
        self
    }

    /// The current SPS (without start code or length).
    pub fn sps(&self) -> Option<&Bytes> {
        self.core.param(0)
    }
    /// The current PPS (without start code or length).
    pub fn pps(&self) -> Option<&Bytes> {
        self.core.param(1)
    }
}

super::nal_core::delegate_depacketizer!(H264Depacketizer);

/// H.264 packetizer: single NAL unit packets, STAP-A for runs of small units (parameter sets,
/// SEI), FU-A for units bigger than the MTU. Frames come in the format chosen at construction.
#[derive(Debug)]
pub struct H264Packetizer {
    out: Outbound,
    format: NalFormat,
}

impl H264Packetizer {
    /// A packetizer for access units in `format`.
    pub fn new(cfg: PacketizerConfig, format: NalFormat) -> Result<Self> {
        Ok(H264Packetizer {
            out: Outbound::new(cfg)?,
            format,
        })
    }
}

impl Packetizer for H264Packetizer {
    fn packetize(&mut self, frame: &[u8], rtp_timestamp: u32, out: &mut Vec<Bytes>) -> Result<()> {
        let nals = split_nals(frame, self.format)?;
        let aggregate = |group: &[&[u8]]| {
            let nri = group
                .iter()
                .filter_map(|n| n.first())
                .map(|h| h & 0x60)
                .max()
                .unwrap_or(0);
            let mut b = vec![nri | STAP_A];
            for n in group {
                b.extend_from_slice(&(n.len() as u16).to_be_bytes());
                b.extend_from_slice(n);
            }
            b
        };
        let fragment_headers = |nal: &[u8], start: bool, end: bool| {
            let h = nal.first().copied().unwrap_or(0);
            let mut fu = h & 0x1f;
            if start {
                fu |= 0x80;
            }
            if end {
                fu |= 0x40;
            }
            vec![(h & 0xe0) | FU_A, fu]
        };
        pack_nals(
            &mut self.out,
            &nals,
            rtp_timestamp,
            out,
            &NalPacking {
                header_len: 1,
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
    use crate::codec::{Depacketizer, Frame};
    use crate::rtp::{NtpTimestamp, RtpPacket, RtpPacketBuilder};

    fn pkt(pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> RtpPacket {
        RtpPacket::parse(
            RtpPacketBuilder::new(pt, seq, ts, 7)
                .marker(marker)
                .build(payload)
                .unwrap(),
        )
        .unwrap()
    }

    fn run(d: &mut H264Depacketizer, pkts: &[(u16, u32, bool, &[u8])]) -> Vec<Frame> {
        let mut out = Vec::new();
        for &(seq, ts, m, p) in pkts {
            let _ = d.push(&pkt(96, seq, ts, m, p));
            out.extend(std::iter::from_fn(|| d.pull()));
        }
        out
    }

    const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40];
    const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

    #[test]
    fn stap_a_and_fu_a_make_one_keyframe() {
        let mut stap = vec![0x78];
        for n in [SPS, PPS] {
            stap.extend_from_slice(&(n.len() as u16).to_be_bytes());
            stap.extend_from_slice(n);
        }
        let mut d = H264Depacketizer::new(NalFormat::LengthPrefixed);
        let f = run(
            &mut d,
            &[
                (1, 10, false, &stap),
                (2, 10, false, &[0x7c, 0x85, 1, 2]),
                (3, 10, true, &[0x7c, 0x45, 3]),
            ],
        );
        assert_eq!(f.len(), 1);
        let mut want = Vec::new();
        for n in [SPS, PPS, &[0x65, 1, 2, 3][..]] {
            want.extend_from_slice(&(n.len() as u32).to_be_bytes());
            want.extend_from_slice(n);
        }
        assert_eq!(&f[0].payload.to_vec()[..], &want[..]);
        assert!(f[0].keyframe);
        assert_eq!(
            f[0].info,
            FrameInfo::H264 {
                parameters_changed: true
            }
        );
        assert_eq!(d.sps().map(|b| &b[..]), Some(SPS));
        assert_eq!(d.pps().map(|b| &b[..]), Some(PPS));
    }

    #[test]
    fn annex_b_start_codes_inside_rtp_payload() {
        // One "single NAL" packet carrying SPS, PPS and an IDR slice with start codes.
        let mut p = vec![0, 0, 0, 1];
        p.extend_from_slice(SPS);
        p.extend_from_slice(&[0, 0, 1]);
        p.extend_from_slice(PPS);
        p.extend_from_slice(&[0, 0, 0, 1, 0x65, 9, 9]);
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        let f = run(&mut d, &[(1, 0, true, &p)]);
        let mut want = vec![0, 0, 0, 1];
        want.extend_from_slice(SPS);
        want.extend_from_slice(&[0, 0, 0, 1]);
        want.extend_from_slice(PPS);
        want.extend_from_slice(&[0, 0, 0, 1, 0x65, 9, 9]);
        assert_eq!(&f[0].payload.to_vec()[..], &want[..]);
        assert_eq!(d.sps().map(|b| &b[..]), Some(SPS));
    }

    #[test]
    fn extra_bytes_after_the_sps() {
        // sprop-parameter-sets whose SPS carries trailing zero padding, plus a start code.
        let mut sps = vec![0, 0, 0, 1];
        sps.extend_from_slice(SPS);
        sps.extend_from_slice(&[0, 0, 0]);
        let d = H264Depacketizer::new(NalFormat::AnnexB).with_parameter_sets([&sps[..], PPS]);
        assert_eq!(d.sps().map(|b| &b[..]), Some(SPS));
        // Extra non-zero bytes after the SPS are kept, not rejected.
        let mut long = SPS.to_vec();
        long.extend_from_slice(&[0x80, 0x11]);
        let d = H264Depacketizer::new(NalFormat::AnnexB).with_parameter_sets([&long[..]]);
        assert_eq!(d.sps().map(|b| b.len()), Some(SPS.len() + 2));
    }

    #[test]
    fn fu_a_nal_type_changes_mid_fragment() {
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        // Starts as IDR (5), the middle says non-IDR (1), the end says 5 again.
        let f = run(
            &mut d,
            &[
                (1, 0, false, &[0x7c, 0x85, 1]),
                (2, 0, false, &[0x7c, 0x01, 2]),
                (3, 0, true, &[0x7c, 0x45, 3]),
            ],
        );
        assert_eq!(&f[0].payload.to_vec()[..], &[0, 0, 0, 1, 0x65, 1, 2, 3]);
        assert!(f[0].keyframe);
    }

    #[test]
    fn marker_bit_on_sei() {
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        let f = run(
            &mut d,
            &[(1, 0, true, &[0x06, 5, 1, 0x80]), (2, 0, true, &[0x41, 7])],
        );
        assert_eq!(
            f.len(),
            1,
            "the SEI's marker must not split the access unit"
        );
        assert_eq!(
            &f[0].payload.to_vec()[..],
            &[0, 0, 0, 1, 0x06, 5, 1, 0x80, 0, 0, 0, 1, 0x41, 7]
        );
        assert!(!f[0].keyframe);
    }

    #[test]
    fn empty_fragments() {
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        let f = run(
            &mut d,
            &[
                (1, 0, false, &[0x7c, 0x85, 1]),
                (2, 0, false, &[0x7c, 0x05]),
                (3, 0, false, &[]),
                (4, 0, true, &[0x7c, 0x45]),
            ],
        );
        assert_eq!(&f[0].payload.to_vec()[..], &[0, 0, 0, 1, 0x65, 1]);
        assert_eq!(f[0].loss_before, 0);
    }

    #[test]
    fn junk_payload_types_ignored() {
        let mut d = H264Depacketizer::new(NalFormat::AnnexB).with_payload_type(96);
        d.push(&pkt(96, 1, 0, false, &[0x41, 1])).unwrap();
        // A stray packet of another type (seen interleaved on the same channel): no effect, and
        // its sequence number does not count as a gap either.
        d.push(&pkt(72, 900, 5, true, &[0xff, 0xff])).unwrap();
        d.push(&pkt(96, 2, 0, true, &[0x41, 2])).unwrap();
        let f = d.pull().unwrap();
        assert_eq!(
            &f.payload.to_vec()[..],
            &[0, 0, 0, 1, 0x41, 1, 0, 0, 0, 1, 0x41, 2]
        );
        assert_eq!(f.loss_before, 0);
        assert!(d.pull().is_none());
    }

    #[test]
    fn no_marker_bit_at_all() {
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        let f = run(
            &mut d,
            &[
                (1, 0, false, &[0x65, 1]),
                (2, 3000, false, &[0x41, 2]),
                (3, 6000, false, &[0x41, 3]),
            ],
        );
        assert_eq!(
            f.iter().map(|f| f.rtp_timestamp).collect::<Vec<_>>(),
            [0, 3000]
        );
        d.flush();
        assert_eq!(d.pull().map(|f| f.rtp_timestamp), Some(6000));
    }

    #[test]
    fn lost_middle_fragment_drops_the_unit_and_reports_it() {
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        let f = run(
            &mut d,
            &[
                (1, 0, false, &[0x7c, 0x85, 1]),
                (3, 0, true, &[0x7c, 0x45, 3]),
                (4, 3000, true, &[0x41, 4]),
            ],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rtp_timestamp, 3000);
        // One lost packet plus the two discarded with the broken unit.
        assert_eq!(f[0].loss_before, 3);
    }

    #[test]
    fn stream_starting_mid_fragment_is_not_a_frame() {
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        let f = run(
            &mut d,
            &[
                (1, 0, false, &[0x7c, 0x05, 1]),
                (2, 0, true, &[0x7c, 0x45, 3]),
                (3, 3000, true, &[0x41, 4]),
            ],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rtp_timestamp, 3000);
        assert_eq!(f[0].loss_before, 2);
    }

    #[test]
    fn sequence_restart_is_followed_and_flagged() {
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        let f = run(
            &mut d,
            &[
                (30_000, 0, true, &[0x65, 1]),
                (29_990, 0, true, &[0x41, 9]),
                (100, 3000, true, &[0x41, 2]),
                (101, 6000, true, &[0x41, 3]),
            ],
        );
        // The late packet (10 behind) is ignored; the restart far behind is followed.
        assert_eq!(
            f.iter()
                .map(|f| (f.rtp_timestamp, f.loss_before))
                .collect::<Vec<_>>(),
            [(0, 0), (3000, 1), (6000, 0)]
        );
    }

    #[test]
    fn steady_state_reuses_the_access_unit_buffer() {
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        let mut ptrs = Vec::new();
        for i in 0..4u16 {
            let ts = u32::from(i) * 3000;
            // Borrowed packets without a shared buffer: copied into the unit's own buffer.
            for p in [
                pkt(96, i * 3, ts, false, &[0x7c, 0x85, 1, 2, 3]),
                pkt(96, i * 3 + 1, ts, false, &[0x7c, 0x05, 4, 5, 6]),
                pkt(96, i * 3 + 2, ts, true, &[0x7c, 0x45, 7]),
            ] {
                d.push_ref(&p.as_packet_ref()).unwrap();
            }
            let f = d.pull().unwrap();
            assert_eq!(f.payload, [0, 0, 0, 1, 0x65, 1, 2, 3, 4, 5, 6, 7]);
            let one = f
                .payload
                .as_contiguous()
                .expect("copied units are contiguous");
            ptrs.push(one.as_ptr());
            // The frame is dropped here: its buffer goes back to the thread's pool and the next
            // access unit takes it. (The first unit's buffer is sized before any unit was
            // seen, from a default guess; the units after it are sized from the previous one.)
        }
        assert!(ptrs[1..].windows(2).all(|w| w[0] == w[1]), "{ptrs:?}");
    }

    #[test]
    fn wall_clock_from_sender_report() {
        use std::time::{Duration, SystemTime};
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        d.on_sender_report(NtpTimestamp::from_system_time(at), 90_000);
        d.push(&pkt(96, 1, 180_000, true, &[0x65, 1])).unwrap();
        assert_eq!(
            d.pull().unwrap().wall_clock,
            Some(at + Duration::from_secs(1))
        );
    }

    #[test]
    fn packetizer_uses_stap_a_single_and_fu_a() {
        let mut au = vec![0, 0, 0, 1];
        au.extend_from_slice(SPS);
        au.extend_from_slice(&[0, 0, 0, 1]);
        au.extend_from_slice(PPS);
        au.extend_from_slice(&[0, 0, 0, 1, 0x65]);
        au.extend(std::iter::repeat_n(0xaa, 300));
        let mut p =
            H264Packetizer::new(PacketizerConfig::new(96, 1).mtu(100), NalFormat::AnnexB).unwrap();
        let mut out = Vec::new();
        p.packetize(&au, 5, &mut out).unwrap();
        let pk: Vec<RtpPacket> = out
            .into_iter()
            .map(|b| RtpPacket::parse(b).unwrap())
            .collect();
        assert_eq!(pk[0].payload()[0] & 0x1f, STAP_A);
        assert!(
            pk[1..]
                .iter()
                .all(|p| p.payload()[0] & 0x1f == FU_A && p.raw().len() <= 100)
        );
        assert_eq!(pk.iter().filter(|p| p.marker()).count(), 1);
        assert!(pk.last().unwrap().marker());
        let mut d = H264Depacketizer::new(NalFormat::AnnexB);
        for p in &pk {
            d.push(p).unwrap();
        }
        assert_eq!(&d.pull().unwrap().payload.to_vec()[..], &au[..]);
    }
}
