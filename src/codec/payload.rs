//! The bytes of a [`Frame`](super::Frame): one contiguous [`Bytes`], or pieces in order.
//!
//! An H.264 / H.265 access unit is handed out without copying its packets: the frame refers
//! to the buffers the packets were read into (the RTSP read buffer, the packets given to
//! [`Depacketizer::push`](super::Depacketizer::push)) and holds the few bytes that are not in
//! any packet (start codes or length prefixes, the NAL headers rebuilt from fragmentation
//! units) itself. A caller that needs the frame as one slice asks for it
//! ([`Payload::to_bytes`], [`Payload::make_contiguous`]), and pays the copy then; one that
//! writes the frame out walks [`Payload::chunks`] instead.
//!
//! ```
//! use bytes::Bytes;
//! use camlink::codec::Payload;
//!
//! let p = Payload::from(Bytes::from_static(b"\0\0\0\x01\x65abc"));
//! assert_eq!(p.len(), 8);
//! assert_eq!(p, b"\0\0\0\x01\x65abc"[..]);
//! let mut out = Vec::new();
//! for chunk in p.chunks() {
//!     out.extend_from_slice(chunk);
//! }
//! assert_eq!(out, p.to_vec());
//! ```
//!
//! A frame made of pieces keeps the buffers they lie in alive (for the RTSP client, the read
//! buffer a part of the stream was read into, up to [`read_buffer`] bytes) until it is
//! dropped: to keep frames for long (a pre-record buffer of a few seconds is fine), store
//! [`Payload::to_bytes`], which is compact.
//!
//! [`read_buffer`]: crate::rtsp::client::SessionOptions::read_buffer

use bytes::{Bytes, BytesMut};

/// Most bytes a piece held by the frame itself can have (start code or length prefix plus a
/// NAL header, with room to spare).
pub(crate) const INLINE: usize = 10;

/// One piece of a [`Payload`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    /// Bytes held in the piece itself.
    Inline { len: u8, data: [u8; INLINE] },
    /// `bufs[buf][start..end]`.
    Buf { buf: u32, start: u32, end: u32 },
}

impl Span {
    /// The span's bytes; `buf` resolves a buffer index (to `None` when out of range).
    pub(crate) fn bytes<'a>(&'a self, buf: impl FnOnce(u32) -> Option<&'a [u8]>) -> &'a [u8] {
        match self {
            Span::Inline { len, data } => data.get(..usize::from(*len)),
            Span::Buf { buf: i, start, end } => {
                buf(*i).and_then(|b| b.get(*start as usize..*end as usize))
            }
        }
        .unwrap_or_default()
    }
    pub(crate) fn len(&self) -> usize {
        match *self {
            Span::Inline { len, .. } => usize::from(len),
            Span::Buf { start, end, .. } => (end - start) as usize,
        }
    }
}

/// The buffers the spans of a payload refer to: the first two held in place (a frame
/// usually lies in one or two reads), more in a `Vec`.
#[derive(Clone, Default)]
pub(crate) struct Sources {
    first: [Bytes; 2],
    n: usize,
    rest: Vec<Bytes>,
}

impl Sources {
    pub(crate) fn len(&self) -> usize {
        self.n
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub(crate) fn get(&self, i: usize) -> Option<&Bytes> {
        if i >= self.n {
            return None;
        }
        match self.first.get(i) {
            Some(b) => Some(b),
            None => self.rest.get(i - self.first.len()),
        }
    }
    pub(crate) fn last(&self) -> Option<&Bytes> {
        self.get(self.n.checked_sub(1)?)
    }
    /// Adds a buffer; returns its index.
    pub(crate) fn push(&mut self, b: Bytes) -> usize {
        match self.first.get_mut(self.n) {
            Some(slot) => *slot = b,
            None => self.rest.push(b),
        }
        self.n += 1;
        self.n - 1
    }
    pub(crate) fn clear(&mut self) {
        self.first = [Bytes::new(), Bytes::new()];
        self.rest.clear();
        self.n = 0;
    }
    /// Room for `n` buffers in all without allocating.
    pub(crate) fn reserve(&mut self, n: usize) {
        let want = n.saturating_sub(self.first.len());
        self.rest.reserve(want.saturating_sub(self.rest.len()));
    }
    /// Empty, with room for `n` buffers without allocating (the overflow list, when `n` needs
    /// one, reused from this thread's if one was given back).
    pub(crate) fn with_room(n: usize) -> Sources {
        let rest = match n.checked_sub(2) {
            Some(more) if more > 0 => take_from(&SOURCE_LISTS, more),
            _ => Vec::new(),
        };
        Sources {
            first: [Bytes::new(), Bytes::new()],
            n: 0,
            rest,
        }
    }
}

impl Drop for Sources {
    /// The overflow list goes back to this thread's (its buffers let go of first).
    fn drop(&mut self) {
        give_to(&SOURCE_LISTS, std::mem::take(&mut self.rest));
    }
}

/// The pieces of a payload: spans over shared buffers and inline bytes.
#[derive(Clone)]
pub(crate) struct Pieces {
    pub(crate) bufs: Sources,
    pub(crate) spans: Vec<Span>,
    pub(crate) len: usize,
}

/// Piece lists (and buffer lists) kept per thread for reuse: a frame's lists come back when
/// the frame is dropped, so that a stream costs no allocation per frame in steady state.
const MAX_LISTS: usize = 32;
/// Largest list kept.
const MAX_LIST_CAPACITY: usize = 1024;

/// A thread's lists kept for reuse.
type ListPool<T> = std::thread::LocalKey<std::cell::RefCell<Vec<Vec<T>>>>;

thread_local! {
    static LISTS: std::cell::RefCell<Vec<Vec<Span>>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The same for the buffer lists of frames whose packets lie in buffers of their own (one
    /// per datagram over UDP).
    static SOURCE_LISTS: std::cell::RefCell<Vec<Vec<Bytes>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty list with room for `capacity` items, reused from `pool` when one was given back.
fn take_from<T>(pool: &'static ListPool<T>, capacity: usize) -> Vec<T> {
    let mut v = pool
        .try_with(|l| l.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default();
    v.reserve(capacity);
    v
}

/// Empties `v` and keeps it in `pool` (within the pool's bounds).
fn give_to<T>(pool: &'static ListPool<T>, mut v: Vec<T>) {
    if v.capacity() == 0 || v.capacity() > MAX_LIST_CAPACITY {
        return;
    }
    v.clear();
    let _ = pool.try_with(|l| {
        let mut l = l.borrow_mut();
        if l.len() < MAX_LISTS {
            l.push(v);
        }
    });
}

/// An empty piece list with room for `capacity` pieces, reused when one was given back.
pub(crate) fn take_list(capacity: usize) -> Vec<Span> {
    take_from(&LISTS, capacity)
}

impl Drop for Pieces {
    fn drop(&mut self) {
        give_to(&LISTS, std::mem::take(&mut self.spans));
    }
}

impl Pieces {
    fn chunk<'a>(&'a self, s: &'a Span) -> &'a [u8] {
        s.bytes(|i| self.bufs.get(i as usize).map(|b| &b[..]))
    }
}

#[derive(Clone)]
enum Repr {
    One(Bytes),
    Pieces(Pieces),
}

/// The bytes of a frame: contiguous, or pieces of the buffers its packets came in (see the
/// [module docs](self)). Compares equal to another payload, or to a byte slice, with the same
/// bytes, however they are split.
#[derive(Clone)]
pub struct Payload(Repr);

impl Payload {
    pub(crate) fn from_pieces(p: Pieces) -> Payload {
        Payload(Repr::Pieces(p))
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::One(b) => b.len(),
            Repr::Pieces(p) => p.len,
        }
    }

    /// No bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, in order, as the slices they lie in (one slice for a contiguous payload).
    pub fn chunks(&self) -> Chunks<'_> {
        Chunks {
            payload: self,
            next: 0,
        }
    }

    /// How many slices [`chunks`](Self::chunks) yields.
    pub fn chunk_count(&self) -> usize {
        match &self.0 {
            Repr::One(_) => 1,
            Repr::Pieces(p) => p.spans.len(),
        }
    }

    /// The bytes as one slice, if they are contiguous already (no copy).
    pub fn as_contiguous(&self) -> Option<&Bytes> {
        match &self.0 {
            Repr::One(b) => Some(b),
            Repr::Pieces(_) => None,
        }
    }

    /// The bytes as one [`Bytes`]: a cheap clone when contiguous, else one copy into a
    /// buffer of their own (which then keeps no read buffer alive).
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Repr::One(b) => b.clone(),
            Repr::Pieces(p) => {
                let mut out = super::recycle::take(p.len);
                for s in &p.spans {
                    out.extend_from_slice(p.chunk(s));
                }
                let frame = out.split().freeze();
                super::recycle::give(out);
                frame
            }
        }
    }

    /// [`to_bytes`](Self::to_bytes), consuming the payload.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::One(b) => b,
            Repr::Pieces(_) => self.to_bytes(),
        }
    }

    /// Makes the payload contiguous (copying it once if it is in pieces) and returns it.
    pub fn make_contiguous(&mut self) -> &Bytes {
        static EMPTY: Bytes = Bytes::new();
        if let Repr::Pieces(_) = self.0 {
            self.0 = Repr::One(self.to_bytes());
        }
        match &self.0 {
            Repr::One(b) => b,
            // Not reached: made contiguous above.
            Repr::Pieces(_) => &EMPTY,
        }
    }

    /// A copy of the bytes in a `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        for c in self.chunks() {
            v.extend_from_slice(c);
        }
        v
    }

    /// Writes the bytes out, piece by piece (no contiguous copy).
    pub fn write_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        for c in self.chunks() {
            w.write_all(c)?;
        }
        Ok(())
    }

    /// The byte at `i`.
    pub fn get(&self, i: usize) -> Option<u8> {
        let mut i = i;
        for c in self.chunks() {
            match c.get(i) {
                Some(&b) => return Some(b),
                None => i -= c.len(),
            }
        }
        None
    }

    fn eq_slice(&self, other: &[u8]) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut rest = other;
        for c in self.chunks() {
            let (head, tail) = rest.split_at(c.len().min(rest.len()));
            if head != c {
                return false;
            }
            rest = tail;
        }
        rest.is_empty()
    }
}

impl Default for Payload {
    fn default() -> Self {
        Payload(Repr::One(Bytes::new()))
    }
}

impl From<Bytes> for Payload {
    fn from(b: Bytes) -> Self {
        Payload(Repr::One(b))
    }
}

impl From<BytesMut> for Payload {
    fn from(b: BytesMut) -> Self {
        Payload(Repr::One(b.freeze()))
    }
}

impl From<Vec<u8>> for Payload {
    fn from(v: Vec<u8>) -> Self {
        Payload(Repr::One(Bytes::from(v)))
    }
}

impl From<Payload> for Bytes {
    fn from(p: Payload) -> Self {
        p.into_bytes()
    }
}

/// Shows the length and the number of pieces, not the bytes.
impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload")
            .field("len", &self.len())
            .field("chunks", &self.chunk_count())
            .finish()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        if let Repr::One(b) = &other.0 {
            return self.eq_slice(b);
        }
        if self.len() != other.len() {
            return false;
        }
        // Both in pieces, split differently: walk the two in step, no copy.
        let (mut a, mut b) = (self.chunks(), other.chunks());
        let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
        loop {
            if x.is_empty() {
                match a.next() {
                    Some(c) => x = c,
                    None => return y.is_empty() && b.all(<[u8]>::is_empty),
                }
                continue;
            }
            if y.is_empty() {
                match b.next() {
                    Some(c) => y = c,
                    None => return false,
                }
                continue;
            }
            let n = x.len().min(y.len());
            let ((x0, x1), (y0, y1)) = (x.split_at(n), y.split_at(n));
            if x0 != y0 {
                return false;
            }
            (x, y) = (x1, y1);
        }
    }
}

impl Eq for Payload {}

impl PartialEq<[u8]> for Payload {
    fn eq(&self, other: &[u8]) -> bool {
        self.eq_slice(other)
    }
}

impl PartialEq<&[u8]> for Payload {
    fn eq(&self, other: &&[u8]) -> bool {
        self.eq_slice(other)
    }
}

impl PartialEq<Vec<u8>> for Payload {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.eq_slice(other)
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Payload {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.eq_slice(other)
    }
}

/// The slices of a [`Payload`], in order ([`Payload::chunks`]).
#[derive(Debug, Clone)]
pub struct Chunks<'a> {
    payload: &'a Payload,
    next: usize,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let i = self.next;
        self.next += 1;
        match &self.payload.0 {
            Repr::One(b) => (i == 0).then_some(&b[..]),
            Repr::Pieces(p) => p.spans.get(i).map(|s| p.chunk(s)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.payload.chunk_count().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Chunks<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces() -> Payload {
        let a = Bytes::from_static(b"xxhello worldyy");
        let mut data = [0u8; INLINE];
        data[..4].copy_from_slice(&[0, 0, 0, 1]);
        Payload::from_pieces(Pieces {
            bufs: {
                let mut b = Sources::default();
                b.push(a);
                b
            },
            spans: vec![
                Span::Inline { len: 4, data },
                Span::Buf {
                    buf: 0,
                    start: 2,
                    end: 7,
                },
                Span::Buf {
                    buf: 0,
                    start: 7,
                    end: 13,
                },
            ],
            len: 15,
        })
    }

    #[test]
    fn pieces_read_as_one_sequence() {
        let p = pieces();
        let want = b"\0\0\0\x01hello world";
        assert_eq!(p.len(), want.len());
        assert_eq!(p.chunk_count(), 3);
        assert_eq!(p.chunks().len(), 3);
        assert_eq!(p.to_vec(), want);
        assert_eq!(p, want[..]);
        assert_eq!(&p.to_bytes()[..], want);
        assert!(p.as_contiguous().is_none());
        assert_eq!(p.get(4), Some(b'h'));
        assert_eq!(p.get(14), Some(b'd'));
        assert_eq!(p.get(15), None);
        // Equal to the same bytes however split; not to others.
        assert_eq!(p, Payload::from(Bytes::from_static(want)));
        assert_eq!(Payload::from(Bytes::from_static(want)), p);
        assert_ne!(p, b"\0\0\0\x01hello worle"[..]);
        assert_ne!(p, b"\0\0\0\x01hello worl"[..]);
        let mut w = Vec::new();
        p.write_to(&mut w).unwrap();
        assert_eq!(w, want);
        let mut q = p.clone();
        assert_eq!(&q.make_contiguous()[..], want);
        assert_eq!(q.chunk_count(), 1);
        assert_eq!(q, p);
        // Two payloads in pieces, split at other places: 6 bytes inline, the rest in a buffer.
        let split = |head: &[u8; 6]| {
            let mut data = [0u8; INLINE];
            data[..6].copy_from_slice(head);
            let mut bufs = Sources::default();
            bufs.push(Bytes::from_static(b"llo world"));
            Payload::from_pieces(Pieces {
                bufs,
                spans: vec![
                    Span::Inline { len: 6, data },
                    Span::Buf {
                        buf: 0,
                        start: 0,
                        end: 9,
                    },
                ],
                len: 15,
            })
        };
        let other = split(b"\0\0\0\x01he");
        assert_eq!(p, other);
        assert_eq!(other, p);
        let differs = split(b"\0\0\0\x01hE");
        assert_ne!(p, differs);
        assert_eq!(&p.into_bytes()[..], want);
        assert_eq!(format!("{q:?}"), "Payload { len: 15, chunks: 1 }");
    }

    #[test]
    fn empty_and_contiguous() {
        let e = Payload::default();
        assert!(e.is_empty());
        assert_eq!(e.to_vec(), Vec::<u8>::new());
        assert_eq!(e, [0u8; 0]);
        let c = Payload::from(vec![1, 2, 3]);
        assert_eq!(c.as_contiguous().map(|b| &b[..]), Some(&[1, 2, 3][..]));
        assert_eq!(c.chunks().collect::<Vec<_>>(), vec![&[1u8, 2, 3][..]]);
    }
}
