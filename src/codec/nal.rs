//! NAL unit plumbing shared by H.264 and H.265: Annex B / length-prefixed splitting and the
//! access-unit buffer that depacketizers write into.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::MAX_FRAME_LEN;
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

/// An access unit being assembled, in the output format, in one growing buffer.
///
/// Each unit gets a buffer from the thread's [`recycle`](super::recycle) pool, sized from the
/// previous unit of its kind (keyframe or not), and is split off it when done; the rest of the
/// buffer goes back to the pool, and the whole of it once the caller drops the frame. A
/// depacketizer keeps no capacity between units, so a session waiting for its next frame holds
/// no frame-sized buffer (hundreds of sessions would otherwise each keep one the size of their
/// largest keyframe).
#[derive(Debug)]
pub(crate) struct AuBuffer {
    buf: BytesMut,
    format: NalFormat,
    nal_start: Option<usize>,
    /// Length of the previous unit that was not a keyframe, and of the previous keyframe.
    last: usize,
    last_key: usize,
    /// Room for a keyframe was reserved for this unit.
    key_reserved: bool,
}

/// Room reserved for a unit expected to be about `previous` bytes long.
fn guess(previous: usize) -> usize {
    (previous + previous / 8 + 1024).min(MAX_RESERVE)
}

/// Most bytes reserved up front for an access unit.
const MAX_RESERVE: usize = 2 * 1024 * 1024;

impl AuBuffer {
    pub(crate) fn new(format: NalFormat) -> Self {
        AuBuffer {
            buf: BytesMut::new(),
            format,
            nal_start: None,
            last: 4096,
            last_key: 4096,
            key_reserved: false,
        }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub(crate) fn in_nal(&self) -> bool {
        self.nal_start.is_some()
    }
    /// Starts a NAL unit; its header bytes follow through [`extend`](Self::extend).
    pub(crate) fn begin_nal(&mut self) -> Result<()> {
        if self.buf.capacity() == 0 {
            self.buf = super::recycle::take(guess(self.last));
        }
        self.nal_start = Some(self.buf.len());
        self.extend(&[0, 0, 0, 1])
    }
    pub(crate) fn extend(&mut self, data: &[u8]) -> Result<()> {
        let need = self.buf.len().saturating_add(data.len());
        if need > MAX_FRAME_LEN {
            return Err(Error::limit("access unit", MAX_FRAME_LEN));
        }
        if need > self.buf.capacity() {
            // Doubling, but never past the cap (plain doubling from the first guess could
            // allocate up to twice MAX_FRAME_LEN); through a `Vec`, so that a buffer with no
            // other owner grows in place (realloc) instead of being copied into a second one.
            let target = need.max(self.buf.capacity() * 2).min(MAX_FRAME_LEN);
            let mut v = Vec::from(std::mem::take(&mut self.buf));
            v.reserve_exact(target - v.len());
            self.buf = BytesMut::from(Bytes::from(v));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }
    /// Ends the NAL unit begun last; returns the range of its bytes (without prefix), or `None`
    /// when it was empty (then it is removed).
    pub(crate) fn end_nal(&mut self) -> Option<Range<usize>> {
        let start = self.nal_start.take()?;
        let body = start + 4;
        let len = self.buf.len().checked_sub(body)?;
        if len == 0 {
            self.buf.truncate(start);
            return None;
        }
        if self.format == NalFormat::LengthPrefixed {
            let l = (len as u32).to_be_bytes();
            if let Some(p) = self.buf.get_mut(start..body) {
                p.copy_from_slice(&l);
            }
        }
        Some(body..self.buf.len())
    }
    /// Drops an unfinished NAL unit.
    pub(crate) fn abort_nal(&mut self) {
        if let Some(start) = self.nal_start.take() {
            self.buf.truncate(start);
        }
    }
    pub(crate) fn bytes(&self, r: Range<usize>) -> &[u8] {
        self.buf.get(r).unwrap_or_default()
    }
    /// A keyframe NAL unit begins: room for a unit the size of the previous keyframe (once
    /// per unit), so that a keyframe grows its buffer at most rarely and other units are not
    /// given keyframe-sized buffers.
    pub(crate) fn keyframe_hint(&mut self) {
        if !self.key_reserved {
            self.key_reserved = true;
            let want = guess(self.last_key);
            if self.buf.capacity() < want {
                let mut bigger = super::recycle::take(want);
                bigger.extend_from_slice(&self.buf);
                super::recycle::give(std::mem::replace(&mut self.buf, bigger));
            }
        }
    }
    /// Hands out the assembled unit and empties the buffer.
    pub(crate) fn finish(&mut self, keyframe: bool) -> Bytes {
        self.nal_start = None;
        self.key_reserved = false;
        let unit = self.buf.split().freeze();
        super::recycle::give(std::mem::take(&mut self.buf));
        if keyframe {
            self.last_key = unit.len();
        } else {
            self.last = unit.len();
        }
        unit
    }
    pub(crate) fn clear(&mut self) {
        self.nal_start = None;
        self.key_reserved = false;
        self.buf.clear();
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
