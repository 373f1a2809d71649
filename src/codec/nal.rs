//! NAL unit plumbing shared by H.264 and H.265: Annex B / length-prefixed splitting and the
//! access-unit buffer that depacketizers write into.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::MAX_FRAME_LEN;
use super::payload::{INLINE, Payload, Pieces, Sources, Span, take_list};
use crate::{Error, Result};

/// How NAL units are delimited in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NalFormat {
    /// Each NAL unit preceded by the start code `00 00 00 01` (what `.h264` files and most
    /// decoders' parsers take).
    #[default]
    AnnexB,
    /// Each NAL unit preceded by its length as 4 big-endian bytes (AVCC / HVCC, what MP4 and
    /// most hardware decoders take).
    LengthPrefixed,
}

/// Position of the next `00 00 01` at or after `from`.
pub(crate) fn find_start_code(d: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(w) = d.get(i..i + 3) {
        if w[2] > 1 {
            i += 3;
        } else if w == [0, 0, 1] {
            return Some(i);
        } else {
            i += 1;
        }
    }
    None
}

fn trim_trailing_zeros(mut nal: &[u8]) -> &[u8] {
    while let [rest @ .., 0] = nal {
        nal = rest;
    }
    nal
}

/// The NAL units of an Annex B byte stream (start codes removed, trailing zero bytes trimmed,
/// empty units skipped). Bytes before the first start code count as a NAL unit.
pub fn split_annex_b(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        loop {
            if pos >= data.len() {
                return None;
            }
            let start = match find_start_code(data, pos) {
                Some(sc)
                    if sc == pos
                        || data.get(pos..sc).is_some_and(|b| b.iter().all(|&x| x == 0)) =>
                {
                    sc + 3
                }
                _ => pos,
            };
            let end = find_start_code(data, start).unwrap_or(data.len());
            pos = end;
            let nal = trim_trailing_zeros(data.get(start..end).unwrap_or_default());
            if !nal.is_empty() {
                return Some(nal);
            }
        }
    })
}

/// The NAL units of a buffer of 4-byte length-prefixed units.
pub fn split_length_prefixed(data: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let Some(len) = data.get(pos..pos + 4) else {
            return Err(Error::malformed("truncated NAL length prefix", pos, data));
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(nal) = data.get(pos + 4..(pos + 4).saturating_add(len)) else {
            return Err(Error::malformed(
                "NAL length runs past the frame",
                pos,
                data,
            ));
        };
        if !nal.is_empty() {
            out.push(nal);
        }
        pos += 4 + len;
    }
    Ok(out)
}

/// The NAL units of a frame in the given format.
pub fn split_nals(data: &[u8], format: NalFormat) -> Result<Vec<&[u8]>> {
    match format {
        NalFormat::AnnexB => Ok(split_annex_b(data).collect()),
        NalFormat::LengthPrefixed => split_length_prefixed(data),
    }
}

/// An access unit being assembled, in the output format.
///
/// Packet payloads that lie in a shared buffer (the RTSP read buffer, the [`Bytes`] of an
/// owned packet) are not copied: the unit records where they are (a [`Span`] over that buffer)
/// and keeps the buffer alive, and the frame comes out in pieces ([`Payload`]). The few bytes
/// no packet holds as such (start codes, length prefixes, NAL headers rebuilt from
/// fragmentation units) are held inline. Payloads without a shared buffer are copied into the
/// unit's own buffer, which comes from the thread's [`recycle`](super::recycle) pool, sized from
/// the previous unit of its kind, and goes back to it (whole, once the caller drops the frame):
/// a unit made only of copied bytes comes out contiguous. [`release`](Self::release) copies
/// the shared parts of an unfinished unit into the own buffer, so that a read buffer can be
/// reused while the rest of the unit is awaited.
///
/// Invariant: spans over the own buffer come before every span over a shared buffer, in the
/// order of the own buffer's bytes (cutting the unit short cuts the own buffer after its last
/// span).
pub(crate) struct AuBuffer {
    format: NalFormat,
    own: BytesMut,
    bufs: Sources,
    spans: Vec<Span>,
    len: usize,
    /// Where the current NAL unit's prefix starts (bytes from the unit's start).
    nal_start: Option<usize>,
    /// Length of the previous unit that was not a keyframe, and of the previous keyframe.
    last: usize,
    last_key: usize,
    /// Pieces of the previous unit that was not a keyframe, and of the previous keyframe.
    last_spans: usize,
    last_key_spans: usize,
    /// Shared buffers of the same two units.
    last_bufs: usize,
    last_key_bufs: usize,
    /// The unit is a keyframe (its own buffer, if needed, is sized from the previous one).
    key: bool,
}

/// `Span::Buf::buf` of a span over the unit's own buffer.
const OWN: u32 = u32::MAX;

impl std::fmt::Debug for AuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuBuffer")
            .field("len", &self.len)
            .field("pieces", &self.spans.len())
            .field("shared_buffers", &self.bufs.len())
            .finish()
    }
}

/// Room reserved for a unit expected to be about `previous` bytes long.
fn guess(previous: usize) -> usize {
    (previous + previous / 8 + 1024).min(MAX_RESERVE)
}

/// Most bytes reserved up front for an access unit.
const MAX_RESERVE: usize = 2 * 1024 * 1024;

/// Pieces reserved for a unit whose previous one of its kind had `previous` (with room to
/// spare, so that the list is allocated once per unit).
fn room_for(previous: usize) -> usize {
    previous + previous / 4 + 4
}

/// Shared buffers reserved for a unit whose previous one of its kind had `previous`: none
/// beyond the two held in place while that was enough (a frame over TCP lies in one or two
/// reads), else as for pieces (over UDP every packet is a buffer of its own).
fn bufs_room(previous: usize) -> usize {
    if previous <= 2 { 0 } else { room_for(previous) }
}

/// Where `data` lies in `src`, if it does (and the offsets fit a span).
fn offsets(src: &Bytes, data: &[u8]) -> Option<(u32, u32)> {
    let start = (data.as_ptr() as usize).checked_sub(src.as_ptr() as usize)?;
    let end = start.checked_add(data.len())?;
    if end > src.len() {
        return None;
    }
    Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?))
}

/// Extends `prev` with `next` when `next` continues it in the same buffer.
fn merge(prev: &mut Span, next: Span) -> bool {
    if let (
        Span::Buf { buf, end, .. },
        Span::Buf {
            buf: b,
            start,
            end: e,
        },
    ) = (prev, next)
        && *buf == b
        && *end == start
    {
        *end = e;
        return true;
    }
    false
}

/// Appends `s`, merged into the last span when it continues it in the same buffer.
fn push_span(spans: &mut Vec<Span>, s: Span) {
    if !spans.last_mut().is_some_and(|last| merge(last, s)) {
        spans.push(s);
    }
}

impl AuBuffer {
    pub(crate) fn new(format: NalFormat) -> Self {
        AuBuffer {
            format,
            own: BytesMut::new(),
            bufs: Sources::default(),
            spans: Vec::new(),
            len: 0,
            nal_start: None,
            last: 4096,
            last_key: 4096,
            last_spans: 16,
            last_key_spans: 16,
            last_bufs: 2,
            last_key_bufs: 2,
            key: false,
        }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub(crate) fn in_nal(&self) -> bool {
        self.nal_start.is_some()
    }
    /// Starts a NAL unit (its prefix); its header and body follow. `shared`: they come from
    /// a shared buffer (the prefix is then held inline, else in the own buffer).
    pub(crate) fn begin_nal(&mut self, shared: bool) -> Result<()> {
        self.nal_start = Some(self.len);
        self.put_small(&[0, 0, 0, 1], shared)
    }
    /// Bytes that are in no packet (a prefix, a rebuilt NAL header): inline when the unit's
    /// bytes around them are shared, else in the own buffer.
    pub(crate) fn put_small(&mut self, data: &[u8], shared: bool) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if !shared || data.len() > INLINE {
            return self.put_own(data);
        }
        self.check(data.len())?;
        self.len += data.len();
        if let Some(Span::Inline { len, data: d }) = self.spans.last_mut() {
            let l = usize::from(*len);
            if let Some(room) = d.get_mut(l..l + data.len()) {
                room.copy_from_slice(data);
                *len += data.len() as u8;
                return Ok(());
            }
        }
        let mut d = [0u8; INLINE];
        if let Some(room) = d.get_mut(..data.len()) {
            room.copy_from_slice(data);
        }
        self.spans.push(Span::Inline {
            len: data.len() as u8,
            data: d,
        });
        Ok(())
    }
    /// Payload bytes of a packet; `source`: the shared buffer they lie in, if any (they are
    /// then referred to, not copied).
    #[inline]
    pub(crate) fn put(&mut self, data: &[u8], source: Option<&Bytes>) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let Some((src, (start, end))) = source.and_then(|s| Some((s, offsets(s, data)?))) else {
            return self.put_own(data);
        };
        self.check(data.len())?;
        let buf = match self.bufs.last() {
            Some(b) if b.as_ptr() == src.as_ptr() && b.len() == src.len() => self.bufs.len() - 1,
            _ => self.bufs.push(src.clone()),
        };
        // At most one buffer per byte of a unit of at most MAX_FRAME_LEN bytes.
        let buf = u32::try_from(buf).unwrap_or(OWN - 1);
        push_span(&mut self.spans, Span::Buf { buf, start, end });
        self.len += data.len();
        Ok(())
    }
    fn check(&self, n: usize) -> Result<()> {
        if self.len.saturating_add(n) > MAX_FRAME_LEN {
            return Err(Error::limit("access unit", MAX_FRAME_LEN));
        }
        Ok(())
    }
    fn put_own(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.check(data.len())?;
        if !self.bufs.is_empty() {
            // Own bytes after shared ones: the shared ones become own first (invariant).
            self.release();
        }
        self.reserve_own(data.len());
        let start = self.own.len();
        self.own.extend_from_slice(data);
        push_span(
            &mut self.spans,
            Span::Buf {
                buf: OWN,
                start: start as u32,
                end: self.own.len() as u32,
            },
        );
        self.len += data.len();
        Ok(())
    }
    /// Room for `n` more bytes in the own buffer (which stays below `MAX_FRAME_LEN`).
    fn reserve_own(&mut self, n: usize) {
        if self.own.capacity() == 0 {
            let previous = if self.key { self.last_key } else { self.last };
            self.own = super::recycle::take(guess(previous).max(n));
        }
        let need = self.own.len().saturating_add(n);
        if need > self.own.capacity() {
            // Doubling, but never past the cap (plain doubling from the first guess could
            // allocate up to twice MAX_FRAME_LEN); through a `Vec`, so that a buffer with no
            // other owner grows in place (realloc) instead of being copied into a second one.
            let target = need.max(self.own.capacity() * 2).min(MAX_FRAME_LEN);
            let mut v = Vec::from(std::mem::take(&mut self.own));
            v.reserve_exact(target.saturating_sub(v.len()));
            self.own = BytesMut::from(Bytes::from(v));
        }
    }
    /// Copies the shared parts of the unit into its own buffer and lets go of the shared
    /// buffers.
    pub(crate) fn release(&mut self) {
        if self.bufs.is_empty() {
            return;
        }
        let shared: usize = self
            .spans
            .iter()
            .filter(|s| matches!(s, Span::Buf { buf, .. } if *buf != OWN))
            .map(Span::len)
            .sum();
        self.reserve_own(shared);
        for s in &mut self.spans {
            if let Span::Buf { buf, start, end } = s
                && *buf != OWN
            {
                let bytes = self
                    .bufs
                    .get(*buf as usize)
                    .and_then(|b| b.get(*start as usize..*end as usize))
                    .unwrap_or_default();
                let at = self.own.len();
                self.own.extend_from_slice(bytes);
                *s = Span::Buf {
                    buf: OWN,
                    start: at as u32,
                    end: self.own.len() as u32,
                };
            }
        }
        self.spans.dedup_by(|next, prev| merge(prev, *next));
        self.bufs.clear();
    }
    fn span_bytes<'a>(&'a self, s: &'a Span) -> &'a [u8] {
        s.bytes(|i| match i {
            OWN => Some(&self.own[..]),
            i => self.bufs.get(i as usize).map(|b| &b[..]),
        })
    }
    /// The span holding byte `at` of the unit, and where in it (searched from the end: the
    /// callers look at the NAL unit just ended).
    fn locate(&self, at: usize) -> Option<(usize, usize)> {
        let mut pos = self.len;
        for (i, s) in self.spans.iter().enumerate().rev() {
            pos -= s.len();
            if pos <= at {
                return (at < pos + s.len()).then_some((i, at - pos));
            }
        }
        None
    }
    /// Byte `at` of the unit.
    pub(crate) fn byte_at(&self, at: usize) -> Option<u8> {
        let (i, off) = self.locate(at)?;
        self.span_bytes(self.spans.get(i)?).get(off).copied()
    }
    /// A copy of bytes `r` of the unit.
    pub(crate) fn to_vec(&self, r: Range<usize>) -> Vec<u8> {
        let mut out = Vec::with_capacity(r.len());
        let Some((first, mut off)) = self.locate(r.start) else {
            return out;
        };
        for s in self.spans.get(first..).unwrap_or_default() {
            let b = self.span_bytes(s).get(off..).unwrap_or_default();
            off = 0;
            let take = b.len().min(r.len() - out.len());
            out.extend_from_slice(b.get(..take).unwrap_or_default());
            if out.len() == r.len() {
                break;
            }
        }
        out
    }
    /// Writes `bytes` over the unit's bytes from `at` (within one span not shared: a prefix).
    fn patch(&mut self, at: usize, bytes: &[u8]) {
        let Some((i, off)) = self.locate(at) else {
            return;
        };
        match self.spans.get_mut(i) {
            Some(Span::Inline { data, .. }) => {
                if let Some(d) = data.get_mut(off..off + bytes.len()) {
                    d.copy_from_slice(bytes);
                }
            }
            Some(Span::Buf { buf, start, .. }) if *buf == OWN => {
                let o = *start as usize + off;
                if let Some(d) = self.own.get_mut(o..o + bytes.len()) {
                    d.copy_from_slice(bytes);
                }
            }
            _ => {}
        }
    }
    /// Cuts the unit back to its first `at` bytes.
    fn truncate(&mut self, at: usize) {
        while self.len > at {
            let Some(s) = self.spans.last_mut() else {
                break;
            };
            let l = s.len();
            let cut = (self.len - at).min(l);
            if cut == l {
                self.spans.pop();
            } else {
                match s {
                    Span::Inline { len, .. } => *len -= cut as u8,
                    Span::Buf { end, .. } => *end -= cut as u32,
                }
            }
            self.len -= cut;
        }
        // The own buffer ends where its last span ends (its spans come first, in order).
        let own_end = self
            .spans
            .iter()
            .rev()
            .find_map(|s| match s {
                Span::Buf { buf, end, .. } if *buf == OWN => Some(*end as usize),
                _ => None,
            })
            .unwrap_or(0);
        self.own.truncate(own_end);
    }
    /// Ends the NAL unit begun last; returns the range of its bytes (without prefix), or `None`
    /// when it was empty (then it is removed).
    pub(crate) fn end_nal(&mut self) -> Option<Range<usize>> {
        let start = self.nal_start.take()?;
        let body = start + 4;
        let len = self.len.checked_sub(body)?;
        if len == 0 {
            self.truncate(start);
            return None;
        }
        if self.format == NalFormat::LengthPrefixed {
            self.patch(start, &(len as u32).to_be_bytes());
        }
        Some(body..self.len)
    }
    /// Drops an unfinished NAL unit.
    pub(crate) fn abort_nal(&mut self) {
        if let Some(start) = self.nal_start.take() {
            self.truncate(start);
        }
    }
    /// A keyframe NAL unit begins: the own buffer, if the unit needs one, gets room for a
    /// unit the size of the previous keyframe (so that a keyframe grows its buffer at most
    /// rarely and other units are not given keyframe-sized buffers).
    pub(crate) fn keyframe_hint(&mut self) {
        if self.key {
            return;
        }
        self.key = true;
        self.spans
            .reserve(room_for(self.last_key_spans).saturating_sub(self.spans.len()));
        self.bufs.reserve(bufs_room(self.last_key_bufs));
        let want = guess(self.last_key);
        if self.own.capacity() > 0 && self.own.capacity() < want {
            let mut bigger = super::recycle::take(want);
            bigger.extend_from_slice(&self.own);
            super::recycle::give(std::mem::replace(&mut self.own, bigger));
        }
    }
    /// Hands out the assembled unit and empties the buffer.
    pub(crate) fn finish(&mut self, keyframe: bool) -> Payload {
        self.nal_start = None;
        self.key = false;
        let len = std::mem::take(&mut self.len);
        if keyframe {
            self.last_key = len;
            self.last_key_spans = self.spans.len();
            self.last_key_bufs = self.bufs.len();
        } else {
            self.last = len;
            self.last_spans = self.spans.len();
            self.last_bufs = self.bufs.len();
        }
        let own_len = self.own.len();
        let payload = match self.spans.as_slice() {
            [] => Payload::default(),
            [
                Span::Buf {
                    buf: OWN,
                    start: 0,
                    end,
                },
            ] if *end as usize == own_len => {
                self.spans.clear();
                Payload::from(self.own.split().freeze())
            }
            _ => {
                let next = Sources::with_room(bufs_room(self.last_bufs));
                let mut bufs = std::mem::replace(&mut self.bufs, next);
                if own_len > 0 {
                    let k = u32::try_from(bufs.len()).unwrap_or(OWN - 1);
                    bufs.push(self.own.split().freeze());
                    for s in &mut self.spans {
                        if let Span::Buf { buf, .. } = s
                            && *buf == OWN
                        {
                            *buf = k;
                        }
                    }
                }
                let next = take_list(room_for(self.last_spans));
                let spans = std::mem::replace(&mut self.spans, next);
                Payload::from_pieces(Pieces { bufs, spans, len })
            }
        };
        super::recycle::give(std::mem::take(&mut self.own));
        payload
    }
    pub(crate) fn clear(&mut self) {
        self.nal_start = None;
        self.key = false;
        self.len = 0;
        self.own.clear();
        self.bufs.clear();
        self.spans.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_b_split_handles_3_and_4_byte_codes_and_leading_junk() {
        let d = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4,
        ];
        let v: Vec<&[u8]> = split_annex_b(&d).collect();
        assert_eq!(v, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4]]);
        let v: Vec<&[u8]> = split_annex_b(&[0x41, 9, 0, 0, 1, 0x41, 8]).collect();
        assert_eq!(v, vec![&[0x41, 9][..], &[0x41, 8]]);
        assert_eq!(split_annex_b(&[0, 0, 1]).count(), 0);
    }

    #[test]
    fn length_prefixed_split_rejects_truncation() {
        assert_eq!(
            split_length_prefixed(&[0, 0, 0, 2, 9, 9, 0, 0, 0, 1, 7]).unwrap(),
            vec![&[9, 9][..], &[7]]
        );
        assert!(split_length_prefixed(&[0, 0, 0, 5, 1]).is_err());
        assert!(split_length_prefixed(&[0, 0]).is_err());
    }
}
