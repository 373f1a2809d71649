//! The depacketizing and packing logic shared by H.264 (RFC 6184) and H.265 (RFC 7798): the two
//! differ only in header sizes and type numbers, described by [`NalSyntax`].

use std::ops::Range;

use bytes::Bytes;

use super::nal::{AuBuffer, NalFormat, find_start_code, split_annex_b};
use super::{Admit, Frame, FrameInfo, Inbound, Outbound};
use crate::rtp::NtpTimestamp;
use crate::rtp::packet::RtpView;
use crate::{Error, ErrorKind, Result};

/// Largest parameter set kept.
pub const MAX_PARAMETER_SET_LEN: usize = 4096;

/// Header sizes and type numbers of one NAL-based payload format.
pub(crate) trait NalSyntax {
    /// Bytes of NAL unit header (1 for H.264, 2 for H.265).
    const HEADER_LEN: usize;
    /// Aggregation packet type (STAP-A, AP).
    const AGGREGATION: u8;
    /// Fragmentation unit type (FU-A, FU).
    const FRAGMENTATION: u8;
    /// Highest type of a plain NAL unit (sent as a single NAL unit packet).
    const MAX_NAL_TYPE: u8;
    /// The type of a NAL unit (or packet) from its first header byte.
    fn nal_type(first: u8) -> u8;
    /// A slice (video coding layer) type.
    fn is_vcl(t: u8) -> bool;
    /// A type a decoder can start from.
    fn is_keyframe(t: u8) -> bool;
    /// Which parameter set slot a type fills.
    fn param_slot(t: u8) -> Option<usize>;
    /// From a fragmentation packet: (first?, last?, fragment type). The FU header is the byte at
    /// `HEADER_LEN`.
    fn fu_bits(fu: u8) -> (bool, bool, u8);
    /// The reassembled NAL header from the payload header and the FU type.
    fn rebuild_header(payload_header: &[u8], fu_type: u8) -> [u8; 2];
    /// The frame info.
    fn info(parameters_changed: bool) -> FrameInfo;
}

/// Depacketizer state for a NAL-based format.
#[derive(Debug)]
pub(crate) struct NalDepacketizer<S: NalSyntax> {
    pub(crate) inb: Inbound,
    au: AuBuffer,
    au_ts: Option<u32>,
    au_has_vcl: bool,
    au_keyframe: bool,
    au_damaged: bool,
    au_packets: u64,
    fu_header: Option<[u8; 2]>,
    params: [Option<Bytes>; 3],
    params_changed: bool,
    _syntax: std::marker::PhantomData<S>,
}

impl<S: NalSyntax> NalDepacketizer<S> {
    pub(crate) fn new(format: NalFormat, clock_rate: u32) -> Self {
        NalDepacketizer {
            inb: Inbound::new(clock_rate),
            au: AuBuffer::new(format),
            au_ts: None,
            au_has_vcl: false,
            au_keyframe: false,
            au_damaged: false,
            au_packets: 0,
            fu_header: None,
            params: [None, None, None],
            params_changed: false,
            _syntax: std::marker::PhantomData,
        }
    }

    pub(crate) fn set_parameter_sets<'a>(&mut self, nals: impl IntoIterator<Item = &'a [u8]>) {
        for item in nals {
            for nal in split_annex_b(item) {
                self.store_parameter_set(nal);
            }
        }
        self.params_changed = false;
    }

    pub(crate) fn param(&self, slot: usize) -> Option<&Bytes> {
        self.params.get(slot)?.as_ref()
    }

    fn store_parameter_set(&mut self, nal: &[u8]) {
        let Some(&h) = nal.first() else { return };
        // Some cameras put zero padding after the SPS; keep what matters.
        let mut nal = nal;
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        if nal.len() > MAX_PARAMETER_SET_LEN {
            tracing::debug!(len = nal.len(), "oversized parameter set ignored");
            return;
        }
        let Some(slot) = S::param_slot(S::nal_type(h)).and_then(|i| self.params.get_mut(i)) else {
            return;
        };
        if slot.as_deref() != Some(nal) {
            *slot = Some(Bytes::copy_from_slice(nal));
            self.params_changed = true;
        }
    }

    fn on_nal(&mut self, r: Range<usize>) {
        let Some(h) = self.au.byte_at(r.start) else {
            return;
        };
        let t = S::nal_type(h);
        if S::is_vcl(t) {
            self.au_has_vcl = true;
        }
        if S::is_keyframe(t) {
            self.au_keyframe = true;
        }
        if S::param_slot(t).is_some() {
            let nal = self.au.to_vec(r);
            self.store_parameter_set(&nal);
        }
    }

    fn add_nal(&mut self, nal: &[u8], src: Option<&Bytes>) -> Result<()> {
        let r = self
            .au
            .begin_nal(src.is_some())
            .and_then(|()| self.au.put(nal, src));
        if let Err(e) = r {
            return Err(self.damage(e));
        }
        if let Some(r) = self.au.end_nal() {
            self.on_nal(r);
        }
        Ok(())
    }

    /// Adds whole NAL units from a payload that should hold one, splitting on Annex B start
    /// codes some cameras leave inside RTP payloads (a valid NAL unit never holds `00 00 01`).
    fn add_nals(&mut self, data: &[u8], src: Option<&Bytes>) -> Result<()> {
        if find_start_code(data, 0).is_none() {
            return self.add_nal(data, src);
        }
        tracing::trace!("Annex B start code inside an RTP payload; split");
        for nal in split_annex_b(data) {
            self.add_nal(nal, src)?;
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
        match ts {
            Some(ts) if !self.au_damaged && self.au_has_vcl => {
                let payload = self.au.finish(self.au_keyframe);
                let info = S::info(std::mem::take(&mut self.params_changed));
                self.inb.emit(payload, ts, self.au_keyframe, info);
            }
            _ => {
                if self.au_damaged {
                    tracing::debug!(packets = self.au_packets, "incomplete access unit dropped");
                    self.inb.add_loss(self.au_packets);
                } else if !self.au.is_empty() {
                    tracing::trace!("access unit without a slice dropped");
                }
                self.au.clear();
            }
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

    /// Adds one packet's payload; `src`: the shared buffer it lies in, if any.
    fn payload(&mut self, data: &[u8], src: Option<&Bytes>) -> Result<()> {
        let Some(&h) = data.first() else {
            // Empty payload: nothing to add (the marker is still honoured).
            return Ok(());
        };
        let hl = S::HEADER_LEN;
        let t = S::nal_type(h);
        if t <= S::MAX_NAL_TYPE || h == 0 {
            if self.fu_header.is_some() {
                self.au_damaged = true;
                self.au.abort_nal();
                self.fu_header = None;
            }
            return self.add_nals(data, src);
        }
        if t == S::AGGREGATION {
            let mut pos = hl;
            while pos < data.len() {
                let Some(sz) = data.get(pos..pos + 2) else {
                    return Err(self.damage(Error::malformed(
                        "aggregation unit size truncated",
                        pos,
                        data,
                    )));
                };
                let sz = usize::from(u16::from_be_bytes([sz[0], sz[1]]));
                let Some(nal) = data.get(pos + 2..pos + 2 + sz) else {
                    return Err(self.damage(Error::malformed(
                        "aggregation unit runs past the packet",
                        pos,
                        data,
                    )));
                };
                if !nal.is_empty() {
                    self.add_nals(nal, src)?;
                }
                pos += 2 + sz;
            }
            return Ok(());
        }
        if t == S::FRAGMENTATION {
            let (Some(&fu), Some(ph)) = (data.get(hl), data.get(..hl)) else {
                return Err(self.damage(Error::malformed(
                    "fragmentation unit without FU header",
                    0,
                    data,
                )));
            };
            let (start, end, fu_type) = S::fu_bits(fu);
            let header = S::rebuild_header(ph, fu_type);
            let header = header.get(..hl).unwrap_or_default();
            let frag = data.get(hl + 1..).unwrap_or_default();
            if start {
                if self.fu_header.is_some() {
                    // The previous fragmented unit never ended.
                    self.au_damaged = true;
                    self.au.abort_nal();
                }
                let mut hdr = [0u8; 2];
                if let Some(d) = hdr.get_mut(..hl) {
                    d.copy_from_slice(header);
                }
                if S::is_keyframe(fu_type) {
                    self.au.keyframe_hint();
                }
                let shared = src.is_some();
                let r = self
                    .au
                    .begin_nal(shared)
                    .and_then(|()| self.au.put_small(header, shared));
                if let Err(e) = r {
                    return Err(self.damage(e));
                }
                self.fu_header = Some(hdr);
            } else {
                match self.fu_header {
                    None => {
                        self.au_damaged = true;
                        return Ok(());
                    }
                    Some(orig) if orig.get(..hl) != Some(header) => {
                        // Seen on real cameras: the type changes between fragments of one NAL
                        // unit. The first fragment's header is kept.
                        tracing::debug!(?orig, ?header, "FU NAL type changed mid-unit; first kept");
                    }
                    Some(_) => {}
                }
            }
            if let Err(e) = self.au.put(frag, src) {
                return Err(self.damage(e));
            }
            if end {
                self.fu_header = None;
                if let Some(r) = self.au.end_nal() {
                    self.on_nal(r);
                }
            }
            return Ok(());
        }
        self.au_damaged = true;
        Err(Error::new(
            ErrorKind::Unsupported,
            format!("packetization type {t} not supported"),
        ))
    }

    pub(crate) fn push(&mut self, pkt: &impl RtpView) -> Result<()> {
        let Admit::Use { lost } = self
            .inb
            .admit_header(pkt.payload_type(), pkt.sequence_number())
        else {
            return Ok(());
        };
        let ts = pkt.timestamp();
        let data = pkt.payload();
        if self.au_ts.is_some_and(|t| t != ts) {
            // No marker bit on the previous access unit: the new timestamp ends it.
            if lost > 0 {
                self.au_damaged = true;
            }
            self.finish_au();
        } else if lost > 0 && self.au_ts.is_some() {
            self.au_damaged = true;
        }
        if self.au_ts.is_none() && lost > 0 {
            let mid_fragment = data
                .first()
                .is_some_and(|&h| S::nal_type(h) == S::FRAGMENTATION)
                && data.get(S::HEADER_LEN).is_some_and(|&fu| !S::fu_bits(fu).0);
            if mid_fragment {
                // Starting mid-fragment after a loss: this unit is incomplete.
                self.au_damaged = true;
            }
        }
        self.au_ts = Some(ts);
        self.au_packets += 1;
        let r = self.payload(data, pkt.source());
        if pkt.marker() && (self.au_has_vcl || self.au_damaged) && self.fu_header.is_none() {
            // A marker set on an SEI or parameter set before the slices (seen on real cameras)
            // does not end the unit: only a marker after a slice does.
            self.finish_au();
        }
        r
    }

    pub(crate) fn pull(&mut self) -> Option<Frame> {
        self.inb.pull()
    }

    /// See [`Depacketizer::release_buffers`](super::Depacketizer::release_buffers).
    pub(crate) fn release_buffers(&mut self) {
        self.au.release();
    }

    pub(crate) fn flush(&mut self) {
        if self.au_ts.is_some() {
            self.finish_au();
        }
    }

    pub(crate) fn on_sender_report(&mut self, ntp: NtpTimestamp, rtp_timestamp: u32) {
        self.inb.on_sender_report(ntp, rtp_timestamp);
    }
}

/// Builds the fragmentation-unit header bytes for a NAL unit (first?, last?).
pub(crate) type FragmentHeaders<'a> = &'a dyn Fn(&[u8], bool, bool) -> Vec<u8>;

/// How to pack NAL units of one format.
pub(crate) struct NalPacking<'a> {
    pub(crate) header_len: usize,
    pub(crate) aggregate: &'a dyn Fn(&[&[u8]]) -> Vec<u8>,
    pub(crate) fragment_headers: FragmentHeaders<'a>,
}

/// Packs NAL units into single, aggregation and fragmentation packets; marker on the last.
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
    let hl = packing.header_len;
    let mut i = 0usize;
    while let Some(&nal) = nals.get(i) {
        if nal.len() < hl {
            return Err(Error::invalid_input("NAL unit shorter than its header"));
        }
        let last_nal = i + 1 == nals.len();
        // Aggregate this and following small units when two or more fit.
        let mut j = i;
        let mut size = hl;
        while let Some(n) = nals.get(j) {
            let add = 2 + n.len();
            if size + add > max {
                break;
            }
            size += add;
            j += 1;
        }
        if j - i >= 2 {
            let body = (packing.aggregate)(nals.get(i..j).unwrap_or_default());
            out.emit(packets, ts, j == nals.len(), &[&body])?;
            i = j;
            continue;
        }
        if nal.len() <= max {
            out.emit(packets, ts, last_nal, &[nal])?;
        } else {
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

/// `impl Depacketizer` for a codec's wrapper around a [`NalDepacketizer`] in its `core` field
/// (H.264 and H.265 differ only in their [`NalSyntax`]).
macro_rules! delegate_depacketizer {
    ($t:ty) => {
        impl $crate::codec::Depacketizer for $t {
            fn push(&mut self, pkt: &$crate::rtp::RtpPacket) -> $crate::Result<()> {
                self.core.push(pkt)
            }
            fn push_ref(&mut self, pkt: &$crate::rtp::RtpPacketRef<'_>) -> $crate::Result<()> {
                self.core.push(pkt)
            }
            fn push_shared(
                &mut self,
                packet: &$crate::rtp::RtpPacketRef<'_>,
                source: &bytes::Bytes,
            ) -> $crate::Result<()> {
                self.core
                    .push(&$crate::rtp::packet::SharedPacket { packet, source })
            }
            fn release_buffers(&mut self) {
                self.core.release_buffers();
            }
            fn prefers_borrowed(&self) -> bool {
                true
            }
            fn pull(&mut self) -> Option<$crate::codec::Frame> {
                self.core.pull()
            }
            fn flush(&mut self) {
                self.core.flush()
            }
            fn on_sender_report(&mut self, ntp: $crate::rtp::NtpTimestamp, rtp_timestamp: u32) {
                self.core.on_sender_report(ntp, rtp_timestamp);
            }
            fn clock_rate(&self) -> u32 {
                self.core.inb.clock_rate()
            }
        }
    };
}
pub(crate) use delegate_depacketizer;
