//! Framing of an RTSP byte stream: messages mixed with `$`-interleaved binary data.
//!
//! A [`Framer`] owns the read buffer. The IO layer reads into [`Framer::read_buf`] (or hands
//! chunks to [`Framer::push`]) and then calls [`Framer::next_item`] until it returns `None`.
//! Items come out as [`Item::Message`] (a request or response, body included) or
//! [`Item::Data`] (one interleaved frame, RFC 2326 §10.12). Bodies and payloads are
//! [`Bytes`] split off the buffer: nothing is copied, and an interleaved frame costs no
//! allocation beyond that split.
//!
//! The framer knows nothing about sessions: data on channels never set up and data before the
//! `PLAY` response are handed out like any other; the caller decides what to do with them.
//!
//! # Tolerated
//!
//! - status lines without a reason phrase (`RTSP/1.0 200`), LF-only line endings, header values
//!   padded with blanks or tabs, `Content-Length:  12 ` with spaces;
//! - CR and LF bytes between items (some cameras end a body with an extra CRLF);
//! - junk before a message, skipped by the resync rule below.
//!
//! # Resync rule
//!
//! An item starts with `$` (interleaved frame), `RTSP/` (response) or a known method name
//! followed by a space (request: `OPTIONS`, `DESCRIBE`, `ANNOUNCE`, `SETUP`, `PLAY`, `PAUSE`,
//! `RECORD`, `TEARDOWN`, `GET_PARAMETER`, `SET_PARAMETER`, `REDIRECT`, `PLAY_NOTIFY`). Any other
//! byte where an item should start is junk: it is dropped one byte at a time until one of those
//! starts is found (a partial start at the end of the buffer waits for more bytes), and the
//! number of dropped bytes is counted in [`Framer::junk_bytes`]. The rule depends only on the
//! bytes, never on how they were split into reads, so the items are the same for any split.
//!
//! # Errors
//!
//! A head longer than [`Limits::max_head`], a `Content-Length` above [`Limits::max_body`] or
//! more than [`Limits::max_buffered`] bytes buffered give [`ErrorKind::LimitExceeded`]; a head
//! that cannot be parsed gives [`ErrorKind::Malformed`]. Both carry the byte offset in the
//! stream and an excerpt. After an error the offending bytes have been dropped and framing may
//! continue, but a client should normally close the connection.
//!
//! ```
//! use camlink::rtsp::framing::{Framer, Item};
//!
//! let mut framer = Framer::default();
//! framer.push(b"RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: 1\r\n\r\n$\x00\x00\x03abc")?;
//! let Some(Item::Message(msg)) = framer.next_item()? else { panic!() };
//! assert_eq!(msg.headers().cseq(), Some(4));
//! let Some(Item::Data { channel, payload }) = framer.next_item()? else { panic!() };
//! assert_eq!((channel, &payload[..]), (0, &b"abc"[..]));
//! assert!(framer.next_item()?.is_none());
//! # Ok::<(), camlink::Error>(())
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::message::{KNOWN_METHODS, Message, find_head_end_from, parse_head};
use crate::{Error, ErrorKind, Result};

/// Default longest message head (start line and headers): 16 KiB.
pub const DEFAULT_MAX_HEAD: usize = 16 * 1024;
/// Default longest message body: 1 MiB (SDP, `GET_PARAMETER` answers, ONVIF backchannel).
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// Default most bytes buffered at once: 4 MiB.
pub const DEFAULT_MAX_BUFFERED: usize = 4 * 1024 * 1024;

/// Bounds applied by a [`Framer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest message head, blank line included.
    pub max_head: usize,
    /// Largest `Content-Length` accepted.
    pub max_body: usize,
    /// Most bytes held in the buffer (checked by [`Framer::push`] and [`Framer::next_item`]).
    pub max_buffered: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: DEFAULT_MAX_HEAD,
            max_body: DEFAULT_MAX_BODY,
            max_buffered: DEFAULT_MAX_BUFFERED,
        }
    }
}

/// One item of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An RTSP request or response.
    Message(Message),
    /// An interleaved binary frame.
    Data {
        /// The channel byte (RTP usually even, RTCP odd).
        channel: u8,
        /// The frame's payload, a slice of the read buffer.
        payload: Bytes,
    },
}

/// The complete interleaved frame starting `at` bytes into `buf`, as `(channel, payload)`;
/// the next one starts at `at + 4 + payload.len()`.
#[inline]
pub(crate) fn data_at(buf: &[u8], at: usize) -> Option<(u8, &[u8])> {
    let (channel, len) = match buf.get(at..at.checked_add(4)?) {
        Some(&[b'$', channel, hi, lo]) => (channel, usize::from(u16::from_be_bytes([hi, lo]))),
        _ => return None,
    };
    let payload = buf.get(at + 4..at + 4 + len)?;
    Some((channel, payload))
}

/// Splits an RTSP byte stream into [`Item`]s. See the [module docs](self).
///
/// `Debug` shows counters only, never the buffered bytes (they may hold credentials).
pub struct Framer {
    buf: BytesMut,
    limits: Limits,
    /// Stream offset of `buf[0]`.
    offset: u64,
    /// How far the head-end search has already looked (bytes from `buf[0]`).
    head_scanned: usize,
    junk: u64,
    /// Grow the buffer for an interleaved frame bigger than its room (off when the IO layer
    /// sees to the room itself, see [`Framer::wanted`]).
    grow: bool,
}

impl std::fmt::Debug for Framer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framer")
            .field("buffered", &self.buf.len())
            .field("offset", &self.offset)
            .field("junk", &self.junk)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(Limits::default())
    }
}

enum Start {
    /// Not enough bytes to decide.
    Partial,
    Data,
    Message,
    Junk,
}

/// `Some(true)`: `buf` starts with `token`; `Some(false)`: `buf` is a proper prefix of it.
fn prefix_match(buf: &[u8], token: &[u8]) -> Option<bool> {
    let n = token.len().min(buf.len());
    (buf.get(..n) == token.get(..n)).then_some(n == token.len())
}

fn classify(buf: &[u8]) -> Start {
    let Some(&first) = buf.first() else {
        return Start::Partial;
    };
    if first == b'$' {
        return Start::Data;
    }
    let mut partial = false;
    match prefix_match(buf, b"RTSP/") {
        Some(true) => return Start::Message,
        Some(false) => partial = true,
        None => {}
    }
    for m in KNOWN_METHODS {
        match prefix_match(buf, m.as_bytes()) {
            Some(true) => match buf.get(m.len()) {
                Some(b' ') => return Start::Message,
                Some(_) => {}
                None => partial = true,
            },
            Some(false) => partial = true,
            None => {}
        }
    }
    if partial { Start::Partial } else { Start::Junk }
}

impl Framer {
    /// A framer with the given limits and an empty buffer.
    pub fn new(limits: Limits) -> Self {
        Framer {
            buf: BytesMut::with_capacity(64 * 1024),
            limits,
            offset: 0,
            head_scanned: 0,
            junk: 0,
            grow: true,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The buffer the IO layer reads into (e.g. `socket.read_buf(framer.read_buf())`).
    ///
    /// Bytes appended here are framed by the next [`next_item`](Self::next_item) call, which
    /// also enforces [`Limits::max_buffered`].
    pub fn read_buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Appends a chunk of the stream (copying it into the buffer).
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        let total = self.buf.len().checked_add(chunk.len());
        if total.is_none_or(|t| t > self.limits.max_buffered) {
            return Err(
                Error::limit("buffered RTSP stream", self.limits.max_buffered)
                    .with_offset(self.offset),
            );
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// Bytes buffered and not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Stream offset of the next unframed byte (bytes consumed so far).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Junk bytes dropped by the resync rule so far.
    pub fn junk_bytes(&self) -> u64 {
        self.junk
    }

    fn advance(&mut self, n: usize) {
        self.buf.advance(n);
        self.offset = self.offset.saturating_add(n as u64);
        self.head_scanned = 0;
    }

    /// The next complete item, `Ok(None)` if more bytes are needed.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        loop {
            // Blank lines between items.
            let skip = self
                .buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if skip > 0 {
                self.advance(skip);
            }
            match classify(&self.buf) {
                Start::Partial => return self.need_more(),
                Start::Data => return self.data(),
                Start::Message => return self.message(),
                Start::Junk => {
                    // Drop up to the next byte that could start an item.
                    let n = self
                        .buf
                        .iter()
                        .skip(1)
                        .position(|&b| {
                            b == b'$' || b == b'\r' || b == b'\n' || b.is_ascii_uppercase()
                        })
                        .map_or(self.buf.len(), |p| p + 1);
                    tracing::debug!(
                        bytes = n,
                        offset = self.offset,
                        "junk in RTSP stream skipped"
                    );
                    self.junk = self.junk.saturating_add(n as u64);
                    self.advance(n);
                }
            }
        }
    }

    /// The next item if it is a complete interleaved frame at the very start of the buffer,
    /// as `(channel, payload)`; `None` otherwise (then [`next_item`](Self::next_item) handles
    /// what is there). The steady-state fast path of a playing session: the same frames, with
    /// the same offsets, as `next_item` would return, without building an [`Item`].
    #[inline]
    pub fn next_data(&mut self) -> Option<(u8, Bytes)> {
        let (channel, len) = match self.buf.get(..4) {
            Some(&[b'$', channel, hi, lo]) => (channel, usize::from(u16::from_be_bytes([hi, lo]))),
            _ => return None,
        };
        let total = len + 4;
        if self.buf.len() < total {
            return None;
        }
        let mut payload = self.buf.split_to(total).freeze();
        payload.advance(4);
        self.offset = self.offset.saturating_add(total as u64);
        self.head_scanned = 0;
        Some((channel, payload))
    }

    /// The complete interleaved frame at the very start of the buffer, as `(channel,
    /// payload)` borrowed from the buffer; `None` otherwise. The frame stays buffered until
    /// [`skip_data`](Self::skip_data): together they take the same frames, with the same
    /// offsets, as [`next_data`](Self::next_data), without making a [`Bytes`] per frame (for
    /// a caller that copies the payload anyway).
    #[inline]
    pub fn peek_data(&self) -> Option<(u8, &[u8])> {
        let (channel, len) = match self.buf.get(..4) {
            Some(&[b'$', channel, hi, lo]) => (channel, usize::from(u16::from_be_bytes([hi, lo]))),
            _ => return None,
        };
        let payload = self.buf.get(4..len + 4)?;
        Some((channel, payload))
    }

    /// The complete interleaved frame starting `at` bytes into the buffer, as `(channel,
    /// payload)`; the next one starts at `at + 4 + payload.len()`. With
    /// [`take_peeked`](Self::take_peeked), a caller walks every complete frame of a read and
    /// takes them all out at once (one buffer split per read instead of one per frame).
    #[inline]
    pub fn peek_data_at(&self, at: usize) -> Option<(u8, &[u8])> {
        data_at(&self.buf, at)
    }

    /// Leaves the room for a partly received interleaved frame to the IO layer, which asks
    /// [`wanted`](Self::wanted) before each read (the RTSP client: its buffer may be shared
    /// with frames handed out, and growing it would mean a new allocation each time).
    pub(crate) fn leave_room_to_caller(&mut self) {
        self.grow = false;
    }

    /// Free room in the buffer (capacity not yet filled).
    pub(crate) fn room(&self) -> usize {
        self.buf.capacity() - self.buf.len()
    }

    /// Bytes still missing from the interleaved frame at the start of the buffer (0 when
    /// the buffer does not start with a partly received one).
    pub(crate) fn wanted(&self) -> usize {
        match self.buf.get(..4) {
            Some(&[b'$', _, hi, lo]) => {
                (usize::from(u16::from_be_bytes([hi, lo])) + 4).saturating_sub(self.buf.len())
            }
            _ => 0,
        }
    }

    /// Takes the first `n` buffered bytes out as one [`Bytes`] (no copy): the frames
    /// [`peek_data_at`](Self::peek_data_at) returned, `n` being where the last of them ends
    /// (never more than is buffered). The caller then refers to the frames in it.
    ///
    /// ```
    /// use camlink::rtsp::framing::{Framer, write_data};
    ///
    /// let mut wire = bytes::BytesMut::new();
    /// write_data(&mut wire, 0, b"first")?;
    /// write_data(&mut wire, 1, b"second")?;
    /// let mut framer = Framer::default();
    /// framer.push(&wire)?;
    /// framer.push(b"$\x00\x00\x09par")?; // a frame not complete yet
    /// let mut end = 0;
    /// while let Some((_channel, payload)) = framer.peek_data_at(end) {
    ///     end += 4 + payload.len();
    /// }
    /// let run = framer.take_peeked(end); // both frames, as one `Bytes`
    /// assert_eq!(run.len(), 9 + 10);
    /// assert_eq!(framer.buffered(), 7);
    /// # Ok::<(), camlink::Error>(())
    /// ```
    #[inline]
    pub fn take_peeked(&mut self, n: usize) -> Bytes {
        let n = n.min(self.buf.len());
        self.offset = self.offset.saturating_add(n as u64);
        self.head_scanned = 0;
        self.buf.split_to(n).freeze()
    }

    /// Drops the interleaved frame [`peek_data`](Self::peek_data) returns; `false` (and
    /// nothing dropped) when there is none.
    #[inline]
    pub fn skip_data(&mut self) -> bool {
        let len = match self.buf.get(..4) {
            Some(&[b'$', _, hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return false,
        };
        let total = len + 4;
        if self.buf.len() < total {
            return false;
        }
        self.buf.advance(total);
        self.offset = self.offset.saturating_add(total as u64);
        self.head_scanned = 0;
        true
    }

    fn need_more(&mut self) -> Result<Option<Item>> {
        if self.buf.len() > self.limits.max_buffered {
            let len = self.buf.len();
            self.advance(len);
            return Err(
                Error::limit("buffered RTSP stream", self.limits.max_buffered)
                    .with_offset(self.offset),
            );
        }
        Ok(None)
    }

    #[inline]
    fn data(&mut self) -> Result<Option<Item>> {
        let (channel, len) = match self.buf.get(..4) {
            Some(&[_, channel, hi, lo]) => (channel, usize::from(u16::from_be_bytes([hi, lo]))),
            _ => return self.need_more(),
        };
        let Some(total) = len.checked_add(4) else {
            return self.need_more();
        };
        if self.buf.len() < total {
            if self.grow && self.buf.capacity() < total {
                self.buf.reserve(total - self.buf.len());
            }
            return self.need_more();
        }
        // One split for header and payload, then the header skipped on the frozen `Bytes`
        // (a pointer bump; advancing the `BytesMut` costs more).
        let mut payload = self.buf.split_to(total).freeze();
        payload.advance(4);
        self.offset = self.offset.saturating_add(total as u64);
        self.head_scanned = 0;
        Ok(Some(Item::Data { channel, payload }))
    }

    fn message(&mut self) -> Result<Option<Item>> {
        let window = self.limits.max_head;
        let from = self.head_scanned.saturating_sub(2);
        let Some((head_len, body_start)) = find_head_end_from(&self.buf, window, from) else {
            if self.buf.len() >= window {
                let err = Error::limit("RTSP message head", window)
                    .with_offset(self.offset)
                    .with_excerpt(self.buf.get(..64).unwrap_or(&self.buf));
                // Drop the head so that framing can resync after it.
                self.advance(window.min(self.buf.len()));
                return Err(err);
            }
            self.head_scanned = self.buf.len();
            return self.need_more();
        };
        let parsed = parse_head(self.buf.get(..head_len).unwrap_or_default(), self.offset);
        let mut msg = match parsed {
            Ok(m) => m,
            Err(e) => {
                self.advance(body_start);
                return Err(e);
            }
        };
        let body_len = match msg.headers().content_length() {
            Ok(n) => n.unwrap_or(0),
            Err(e) => {
                let e = e.with_offset(self.offset);
                self.advance(body_start);
                return Err(e);
            }
        };
        if body_len > self.limits.max_body {
            let e = Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "RTSP body of {body_len} bytes exceeds the limit of {} bytes",
                    self.limits.max_body
                ),
            )
            .with_offset(self.offset)
            .with_excerpt(self.buf.get(..head_len).unwrap_or_default());
            self.advance(body_start);
            return Err(e);
        }
        let Some(total) = body_start.checked_add(body_len) else {
            return self.need_more();
        };
        if self.buf.len() < total {
            // Search again from the head end already found (not past it) next time.
            self.head_scanned = head_len;
            return self.need_more();
        }
        self.buf.advance(body_start);
        let body = self.buf.split_to(body_len).freeze();
        self.offset = self.offset.saturating_add(total as u64);
        self.head_scanned = 0;
        match &mut msg {
            Message::Request(r) => r.body = body,
            Message::Response(r) => r.body = body,
        }
        Ok(Some(Item::Message(msg)))
    }
}

/// Largest payload of one interleaved frame (its length field is 16 bits).
pub const MAX_INTERLEAVED_PAYLOAD: usize = u16::MAX as usize;

/// Appends one interleaved frame (`$`, channel, 16-bit length, payload) to `out`; for the
/// mock camera's sender and for tests. A payload over [`MAX_INTERLEAVED_PAYLOAD`] bytes is an
/// [`ErrorKind::InvalidInput`] error.
pub fn write_data(out: &mut BytesMut, channel: u8, payload: &[u8]) -> Result<()> {
    let len = u16::try_from(payload.len()).map_err(|_| {
        Error::invalid_input(format!(
            "interleaved payload of {} bytes exceeds {MAX_INTERLEAVED_PAYLOAD}",
            payload.len()
        ))
    })?;
    out.reserve(4 + payload.len());
    out.put_u8(b'$');
    out.put_u8(channel);
    out.put_u16(len);
    out.put_slice(payload);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtsp::message::Method;

    fn drain(f: &mut Framer) -> Vec<std::result::Result<Item, ErrorKind>> {
        let mut out = Vec::new();
        for _ in 0..10_000 {
            match f.next_item() {
                Ok(Some(i)) => out.push(Ok(i)),
                Ok(None) => break,
                Err(e) => out.push(Err(e.kind().clone())),
            }
        }
        out
    }

    fn frame_all(input: &[u8]) -> Vec<std::result::Result<Item, ErrorKind>> {
        let mut f = Framer::default();
        f.push(input).unwrap();
        drain(&mut f)
    }

    const TRANSCRIPT: &[u8] = b"\r\nRTSP/1.0 200 OK\r\nCSeq: 5\r\nSession: 12;timeout=60\r\nRTP-Info: url=trackID=1;seq=1\r\n\r\n\
$\x00\x00\x04\x80\x60\x00\x01$\x01\x00\x02\xaa\xbb\
GET_PARAMETER rtsp://h/ RTSP/1.0\nCSeq: 7\nContent-Length:  3 \n\nabc\r\n\
$\x05\x00\x00\
junk!!RTSP/1.0 200\r\nCSeq: 6\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn next_data_fast_path_gives_the_same_items_for_every_split() {
        for chunk in 1..=TRANSCRIPT.len() {
            let mut plain = Framer::default();
            let mut fast = Framer::default();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for c in TRANSCRIPT.chunks(chunk) {
                plain.push(c).unwrap();
                fast.push(c).unwrap();
                a.extend(drain(&mut plain));
                loop {
                    if let Some((channel, payload)) = fast.next_data() {
                        b.push(Ok(Item::Data { channel, payload }));
                        continue;
                    }
                    match fast.next_item() {
                        Ok(Some(i)) => b.push(Ok(i)),
                        Ok(None) => break,
                        Err(e) => b.push(Err(e.kind().clone())),
                    }
                }
                assert_eq!(plain.offset(), fast.offset(), "chunk {chunk}");
            }
            assert_eq!(a, b, "chunk {chunk}");
        }
    }

    #[test]
    fn peek_and_skip_data_give_the_same_items_for_every_split() {
        for chunk in 1..=TRANSCRIPT.len() {
            let mut plain = Framer::default();
            let mut borrowed = Framer::default();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for c in TRANSCRIPT.chunks(chunk) {
                plain.push(c).unwrap();
                borrowed.push(c).unwrap();
                a.extend(drain(&mut plain));
                loop {
                    if let Some((channel, payload)) = borrowed.peek_data() {
                        let payload = Bytes::copy_from_slice(payload);
                        let before = borrowed.offset();
                        assert!(borrowed.skip_data());
                        assert_eq!(borrowed.offset(), before + payload.len() as u64 + 4);
                        b.push(Ok(Item::Data { channel, payload }));
                        continue;
                    }
                    assert!(!borrowed.skip_data(), "chunk {chunk}");
                    match borrowed.next_item() {
                        Ok(Some(i)) => b.push(Ok(i)),
                        Ok(None) => break,
                        Err(e) => b.push(Err(e.kind().clone())),
                    }
                }
                assert_eq!(plain.offset(), borrowed.offset(), "chunk {chunk}");
                assert_eq!(plain.buffered(), borrowed.buffered(), "chunk {chunk}");
            }
            assert_eq!(a, b, "chunk {chunk}");
        }
    }

    #[test]
    fn peek_at_and_take_peeked_walk_the_same_frames_as_peek_and_skip() {
        let mut input = Vec::new();
        for (ch, len) in [(0u8, 5usize), (1, 0), (2, 300), (0, 1)] {
            input.push(b'$');
            input.push(ch);
            input.extend_from_slice(&(len as u16).to_be_bytes());
            input.extend((0..len).map(|i| i as u8));
        }
        input.extend_from_slice(b"$\x00\x00\x09abc"); // incomplete
        let mut one = Framer::new(Limits::default());
        one.push(&input).unwrap();
        let mut want = Vec::new();
        while let Some((ch, p)) = one.peek_data() {
            want.push((ch, p.to_vec()));
            one.skip_data();
        }
        let mut batch = Framer::new(Limits::default());
        batch.push(&input).unwrap();
        let mut got = Vec::new();
        let mut at = 0;
        while let Some((ch, p)) = batch.peek_data_at(at) {
            got.push((ch, p.to_vec()));
            at += 4 + p.len();
        }
        let taken = batch.take_peeked(at);
        assert_eq!(&taken[..], &input[..at]);
        assert_eq!(got, want);
        assert_eq!(batch.offset(), one.offset());
        assert_eq!(batch.buffered(), one.buffered());
        assert_eq!(batch.peek_data_at(0), None, "the incomplete frame stays");
        assert_eq!(batch.take_peeked(usize::MAX).len(), 7);
        assert_eq!(batch.buffered(), 0);
    }

    #[test]
    fn transcript_items() {
        let items = frame_all(TRANSCRIPT);
        assert_eq!(items.len(), 6, "{items:?}");
        let Ok(Item::Message(Message::Response(r))) = &items[0] else {
            panic!()
        };
        assert_eq!(r.headers.cseq(), Some(5));
        assert_eq!(
            items[1],
            Ok(Item::Data {
                channel: 0,
                payload: Bytes::from_static(b"\x80\x60\x00\x01")
            })
        );
        assert_eq!(
            items[2],
            Ok(Item::Data {
                channel: 1,
                payload: Bytes::from_static(b"\xaa\xbb")
            })
        );
        let Ok(Item::Message(Message::Request(q))) = &items[3] else {
            panic!()
        };
        assert_eq!(q.method, Method::GetParameter);
        assert_eq!(&q.body[..], b"abc");
        assert_eq!(
            items[4],
            Ok(Item::Data {
                channel: 5,
                payload: Bytes::new()
            })
        );
        let Ok(Item::Message(Message::Response(r))) = &items[5] else {
            panic!()
        };
        assert_eq!(
            (r.status, r.reason.as_str(), &r.body[..]),
            (200, "", &b"hello"[..])
        );
    }

    #[test]
    fn every_split_point_gives_same_items() {
        let whole = frame_all(TRANSCRIPT);
        for cut in 0..=TRANSCRIPT.len() {
            let mut f = Framer::default();
            let mut got = Vec::new();
            f.push(&TRANSCRIPT[..cut]).unwrap();
            got.extend(drain(&mut f));
            f.push(&TRANSCRIPT[cut..]).unwrap();
            got.extend(drain(&mut f));
            assert_eq!(got, whole, "split at {cut}");
        }
    }

    #[test]
    fn byte_at_a_time_gives_same_items() {
        let whole = frame_all(TRANSCRIPT);
        let mut f = Framer::default();
        let mut got = Vec::new();
        for b in TRANSCRIPT {
            f.push(std::slice::from_ref(b)).unwrap();
            got.extend(drain(&mut f));
        }
        assert_eq!(got, whole);
        assert_eq!(f.junk_bytes(), 6);
    }

    #[test]
    fn debug_never_shows_buffered_bytes() {
        let mut f = Framer::default();
        f.push(b"DESCRIBE rtsp://h/ RTSP/1.0\r\nAuthorization: Basic c2VjcmV0")
            .unwrap();
        assert!(f.next_item().unwrap().is_none());
        let shown = format!("{f:?}");
        assert!(
            !shown.contains("c2VjcmV0") && shown.contains("buffered"),
            "{shown}"
        );
    }

    #[test]
    fn write_data_round_trips_and_checks_size() {
        let mut out = BytesMut::new();
        write_data(&mut out, 3, b"rtcp").unwrap();
        assert_eq!(&out[..], b"$\x03\x00\x04rtcp");
        let mut f = Framer::default();
        f.push(&out).unwrap();
        assert_eq!(
            f.next_item().unwrap(),
            Some(Item::Data {
                channel: 3,
                payload: Bytes::from_static(b"rtcp")
            })
        );
        let big = vec![0u8; MAX_INTERLEAVED_PAYLOAD + 1];
        assert_eq!(
            write_data(&mut out, 0, &big).unwrap_err().kind(),
            &ErrorKind::InvalidInput
        );
    }

    #[test]
    fn head_limit() {
        let mut f = Framer::new(Limits {
            max_head: 64,
            ..Limits::default()
        });
        let mut big = b"RTSP/1.0 200 OK\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'x', 100));
        f.push(&big).unwrap();
        let e = f.next_item().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::LimitExceeded);
        assert_eq!(e.offset(), Some(0));
    }

    #[test]
    fn body_limit() {
        let mut f = Framer::new(Limits {
            max_body: 10,
            ..Limits::default()
        });
        f.push(b"\r\nRTSP/1.0 200 OK\r\nContent-Length: 11\r\n\r\n")
            .unwrap();
        let e = f.next_item().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::LimitExceeded);
        assert_eq!(e.offset(), Some(2));
        assert!(e.to_string().contains("11 bytes"), "{e}");
    }

    #[test]
    fn buffered_limit() {
        let mut f = Framer::new(Limits {
            max_buffered: 8,
            ..Limits::default()
        });
        f.push(b"$\x00\x00").unwrap();
        assert_eq!(
            f.push(b"\x10abcdefgh").unwrap_err().kind(),
            &ErrorKind::LimitExceeded
        );
        f.read_buf().extend_from_slice(b"\x10abcdefgh");
        assert_eq!(f.next_item().unwrap_err().kind(), &ErrorKind::LimitExceeded);
    }

    #[test]
    fn malformed_head_has_offset_and_framing_continues() {
        let mut f = Framer::default();
        f.push(b"$\x00\x00\x01zRTSP/1.0 abc OK\r\n\r\n$\x02\x00\x01y")
            .unwrap();
        assert!(matches!(
            f.next_item(),
            Ok(Some(Item::Data { channel: 0, .. }))
        ));
        let e = f.next_item().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Malformed);
        assert_eq!(e.offset(), Some(5));
        assert!(matches!(
            f.next_item(),
            Ok(Some(Item::Data { channel: 2, .. }))
        ));
    }

    #[test]
    fn payload_is_a_slice_of_the_read_buffer() {
        let mut f = Framer::default();
        f.read_buf().extend_from_slice(b"$\x00\x00\x05hello");
        let base = f.read_buf().as_ptr() as usize;
        let Some(Item::Data { payload, .. }) = f.next_item().unwrap() else {
            panic!()
        };
        assert_eq!(payload.as_ptr() as usize, base + 4, "payload was copied");
    }
}
