//! H.264 over RTP (RFC 6184): single NAL unit packets, STAP-A and FU-A, both directions.
//!
//! Access units end at the marker bit, or when the timestamp changes for cameras that never
//! set it. Output is Annex B or 4-byte length-prefixed, chosen at construction. SPS and PPS given
//! at construction (from SDP `sprop-parameter-sets`) or seen in-band are exposed.

use std::ops::Range;

use bytes::Bytes;

use super::nal::AuBuffer;
pub use super::nal::{NalFormat, split_annex_b, split_length_prefixed, split_nals};
use super::{
    Admit, Depacketizer, Frame, FrameInfo, Inbound, Outbound, Packetizer, PacketizerConfig,
};
use crate::rtp::{NtpTimestamp, RtpPacket};
use crate::{Error, ErrorKind, Result};

/// RTP clock rate of H.264 (RFC 6184 §8.2.1).
pub const CLOCK_RATE: u32 = 90_000;

/// Largest parameter set kept.
pub const MAX_PARAMETER_SET_LEN: usize = 4096;

const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// The NAL unit type (low 5 bits of the header).
pub fn nal_type(header: u8) -> u8 {
    header & 0x1f
}

fn is_vcl(t: u8) -> bool {
    (1..=5).contains(&t)
}

/// H.264 depacketizer. See the [module docs](self).
#[derive(Debug)]
pub struct H264Depacketizer {
    inb: Inbound,
    au: AuBuffer,
    au_ts: Option<u32>,
    au_has_vcl: bool,
    au_keyframe: bool,
    au_damaged: bool,
    au_packets: u64,
    fu_header: Option<u8>,
    sps: Option<Bytes>,
    pps: Option<Bytes>,
    params_changed: bool,
}

impl H264Depacketizer {
    /// A depacketizer writing access units in `format`.
    pub fn new(format: NalFormat) -> Self {
        H264Depacketizer {
            inb: Inbound::new(CLOCK_RATE),
            au: AuBuffer::new(format),
            au_ts: None,
            au_has_vcl: false,
            au_keyframe: false,
            au_damaged: false,
            au_packets: 0,
            fu_header: None,
            sps: None,
            pps: None,
            params_changed: false,
        }
    }

    /// Only packets of this payload type are used (others are ignored).
    pub fn with_payload_type(mut self, pt: u8) -> Self {
        self.inb.set_payload_type(pt);
        self
    }

    /// Parameter sets known out of band (SDP `sprop-parameter-sets`, decoded from base64). Each
    /// item may be a bare NAL unit or hold several with Annex B start codes; SPS and PPS are
    /// recognized by type, anything else is ignored. Trailing zero bytes are trimmed.
    pub fn with_parameter_sets<'a>(mut self, nals: impl IntoIterator<Item = &'a [u8]>) -> Self {
        for item in nals {
            for nal in split_annex_b(item) {
                self.store_parameter_set(nal);
            }
        }
        self.params_changed = false;
        self
    }

    /// The current SPS (without start code or length).
    pub fn sps(&self) -> Option<&Bytes> {
        self.sps.as_ref()
    }
    /// The current PPS (without start code or length).
    pub fn pps(&self) -> Option<&Bytes> {
        self.pps.as_ref()
    }

    fn store_parameter_set(&mut self, nal: &[u8]) {
        let Some(&h) = nal.first() else { return };
        // Some cameras put junk or zero padding after the SPS; keep what matters.
        let mut nal = nal;
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        if nal.len() > MAX_PARAMETER_SET_LEN {
            tracing::debug!(len = nal.len(), "oversized parameter set ignored");
            return;
        }
        let slot = match nal_type(h) {
            7 => &mut self.sps,
            8 => &mut self.pps,
            _ => return,
        };
        if slot.as_deref() != Some(nal) {
            *slot = Some(Bytes::copy_from_slice(nal));
            self.params_changed = true;
        }
    }

    fn on_nal(&mut self, r: Range<usize>) {
        let Some(&h) = self.au.bytes(r.clone()).first() else {
            return;
        };
        let t = nal_type(h);
        if is_vcl(t) {
            self.au_has_vcl = true;
        }
        if t == 5 {
            self.au_keyframe = true;
        }
        if t == 7 || t == 8 {
            let nal = self.au.bytes(r).to_vec();
            self.store_parameter_set(&nal);
        }
    }

    fn add_nals(&mut self, data: &[u8]) -> Result<()> {
        let mut ranges: Vec<Range<usize>> = Vec::new();
        self.au.add_nals(data, |_, r| ranges.push(r))?;
        for r in ranges {
            self.on_nal(r);
        }
        Ok(())
    }

    /// Ends the current access unit: hands it out if whole, else counts it as lost.
    fn finish_au(&mut self) {
        if self.au.in_nal() {
            // A fragmented NAL unit never saw its end.
            self.au_damaged = true;
        }
        let ts = self.au_ts.take();
        if self.au_damaged || !self.au_has_vcl || ts.is_none() {
            if self.au_damaged {
                tracing::debug!(packets = self.au_packets, "incomplete access unit dropped");
                self.inb.add_loss(self.au_packets);
            } else if !self.au.is_empty() {
                tracing::trace!("access unit without a slice dropped");
            }
            self.au.clear();
        } else if let Some(ts) = ts {
            let payload = self.au.finish();
            let info = FrameInfo::H264 {
                parameters_changed: std::mem::take(&mut self.params_changed),
            };
            self.inb.emit(payload, ts, self.au_keyframe, info);
        }
        self.au_has_vcl = false;
        self.au_keyframe = false;
        self.au_damaged = false;
        self.au_packets = 0;
        self.fu_header = None;
    }

    fn damage(&mut self, e: Error) -> Error {
        self.au_damaged = true;
        self.au.abort_nal();
        self.fu_header = None;
        e
    }

    fn payload(&mut self, pkt: &RtpPacket) -> Result<()> {
        let data = pkt.payload();
        let Some(&h) = data.first() else {
            // Empty payload: nothing to add (the marker is still honoured).
            return Ok(());
        };
        let t = nal_type(h);
        match t {
            0..=23 => {
                if self.fu_header.is_some() {
                    self.au_damaged = true;
                    self.au.abort_nal();
                    self.fu_header = None;
                }
                self.add_nals(data)
            }
            STAP_A => {
                let mut pos = 1usize;
                while pos < data.len() {
                    let Some(sz) = data.get(pos..pos + 2) else {
                        return Err(self.damage(Error::malformed(
                            "STAP-A size truncated",
                            pos,
                            data,
                        )));
                    };
                    let sz = usize::from(u16::from_be_bytes([sz[0], sz[1]]));
                    let Some(nal) = data.get(pos + 2..pos + 2 + sz) else {
                        return Err(self.damage(Error::malformed(
                            "STAP-A unit runs past the packet",
                            pos,
                            data,
                        )));
                    };
                    if !nal.is_empty() {
                        self.add_nals(nal)?;
                    }
                    pos += 2 + sz;
                }
                Ok(())
            }
            FU_A => {
                let Some(&fu) = data.get(1) else {
                    return Err(self.damage(Error::malformed("FU-A without FU header", 0, data)));
                };
                let start = fu & 0x80 != 0;
                let end = fu & 0x40 != 0;
                let header = (h & 0xe0) | (fu & 0x1f);
                let frag = data.get(2..).unwrap_or_default();
                if start {
                    if self.fu_header.is_some() {
                        // The previous fragmented unit never ended.
                        self.au_damaged = true;
                        self.au.abort_nal();
                    }
                    self.au.begin_nal()?;
                    self.au.extend(&[header])?;
                    self.fu_header = Some(header);
                } else {
                    match self.fu_header {
                        None => {
                            self.au_damaged = true;
                            return Ok(());
                        }
                        Some(orig) if orig != header => {
                            // Seen on real cameras: the type changes between fragments of
                            // one NAL unit. The first fragment's header is kept.
                            tracing::debug!(
                                orig,
                                header,
                                "FU-A NAL type changed mid-unit; first kept"
                            );
                        }
                        Some(_) => {}
                    }
                }
                if let Err(e) = self.au.extend(frag) {
                    return Err(self.damage(e));
                }
                if end {
                    self.fu_header = None;
                    if let Some(r) = self.au.end_nal() {
                        self.on_nal(r);
                    }
                }
                Ok(())
            }
            other => {
                self.au_damaged = true;
                Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "H.264 packetization NAL type {other} (STAP-B/MTAP/FU-B) not supported"
                    ),
                ))
            }
        }
    }
}

impl Depacketizer for H264Depacketizer {
    fn push(&mut self, pkt: &RtpPacket) -> Result<()> {
        let Admit::Use { lost } = self.inb.admit(pkt) else {
            return Ok(());
        };
        let ts = pkt.timestamp();
        if self.au_ts.is_some_and(|t| t != ts) {
            // No marker bit on the previous access unit: the new timestamp ends it.
            if lost > 0 {
                self.au_damaged = true;
            }
            self.finish_au();
        } else if lost > 0 && (self.au_ts.is_some() || self.fu_header.is_some()) {
            self.au_damaged = true;
        }
        if self.au_ts.is_none()
            && lost > 0
            && pkt.payload().first().is_some_and(|&h| nal_type(h) == FU_A)
            && pkt.payload().get(1).is_some_and(|&fu| fu & 0x80 == 0)
        {
            // Starting mid-fragment after a loss: this unit is incomplete.
            self.au_damaged = true;
        }
        self.au_ts = Some(ts);
        self.au_packets += 1;
        let r = self.payload(pkt);
        if pkt.marker() && (self.au_has_vcl || self.au_damaged) && self.fu_header.is_none() {
            // Marker set on an SEI or parameter set before the slices (seen on real cameras)
            // does not end the unit: only a marker after a slice does.
            self.finish_au();
        }
        r
    }

    fn pull(&mut self) -> Option<Frame> {
        self.inb.pull()
    }

    fn flush(&mut self) {
        if self.au_ts.is_some() {
            self.finish_au();
        }
    }

    fn on_sender_report(&mut self, ntp: NtpTimestamp, rtp_timestamp: u32) {
        self.inb.on_sender_report(ntp, rtp_timestamp);
    }

    fn clock_rate(&self) -> u32 {
        self.inb.clock_rate()
    }
}

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

/// Shared by H.264 and H.265: packs NAL units into single / aggregation / fragmentation packets.
/// Builds the fragmentation-unit header bytes for a NAL unit (first?, last?).
pub(crate) type FragmentHeaders<'a> = &'a dyn Fn(&[u8], bool, bool) -> Vec<u8>;

pub(crate) struct NalPacking<'a> {
    pub(crate) header_len: usize,
    pub(crate) aggregate: &'a dyn Fn(&[&[u8]]) -> Vec<u8>,
    pub(crate) fragment_headers: FragmentHeaders<'a>,
}

pub(crate) fn pack_nals(
    out: &mut Outbound,
    nals: &[&[u8]],
    ts: u32,
    packets: &mut Vec<Bytes>,
    packing: &NalPacking<'_>,
) -> Result<()> {
    if nals.is_empty() {
        return Err(Error::invalid_input("access unit without NAL units"));
    }
    let max = out.max_payload();
    let mut i = 0usize;
    while let Some(&nal) = nals.get(i) {
        let last_nal = i + 1 == nals.len();
        // Try to aggregate this and following small units.
        let mut j = i;
        let mut size = packing.header_len;
        while let Some(n) = nals.get(j) {
            let add = 2 + n.len();
            if size + add > max {
                break;
            }
            size += add;
            j += 1;
        }
        if j - i >= 2 {
            let group = nals.get(i..j).unwrap_or_default();
            let body = (packing.aggregate)(group);
            out.emit(packets, ts, j == nals.len(), &[&body])?;
            i = j;
            continue;
        }
        if nal.len() <= max {
            out.emit(packets, ts, last_nal, &[nal])?;
        } else {
            let hl = packing.header_len;
            let body = nal.get(hl..).unwrap_or_default();
            // FU overhead: the payload header plus one FU header byte.
            let room = max - (hl + 1);
            let n = body.len().div_ceil(room);
            for (k, chunk) in body.chunks(room).enumerate() {
                let hdr = (packing.fragment_headers)(nal, k == 0, k + 1 == n);
                out.emit(packets, ts, last_nal && k + 1 == n, &[&hdr, chunk])?;
            }
        }
        i += 1;
    }
    Ok(())
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
    use crate::rtp::RtpPacketBuilder;

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
        assert_eq!(&f[0].payload[..], &want[..]);
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
        assert_eq!(&f[0].payload[..], &want[..]);
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
        assert_eq!(&f[0].payload[..], &[0, 0, 0, 1, 0x65, 1, 2, 3]);
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
            &f[0].payload[..],
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
        assert_eq!(&f[0].payload[..], &[0, 0, 0, 1, 0x65, 1]);
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
        assert_eq!(&f.payload[..], &[0, 0, 0, 1, 0x41, 1, 0, 0, 0, 1, 0x41, 2]);
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
        assert_eq!(&d.pull().unwrap().payload[..], &au[..]);
    }
}
