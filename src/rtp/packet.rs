//! The RTP fixed header, CSRC list, header extension and padding (RFC 3550 §5.1, §5.3.1).
//!
//! [`RtpPacket`] is a zero-copy view over a [`Bytes`] buffer: the payload comes out as a slice
//! of the same allocation. [`RtpPacketBuilder`] writes packets for packetizers.

use bytes::{BufMut, Bytes, BytesMut};

use crate::{Error, Result};

/// Size of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;

/// Largest RTP packet accepted or built (the largest UDP payload).
pub const MAX_PACKET_LEN: usize = 65_535;

/// The parsed header fields of an RTP packet, with ranges into its buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    marker: bool,
    payload_type: u8,
    sequence_number: u16,
    timestamp: u32,
    ssrc: u32,
    csrc_count: u8,
    extension: Option<(u16, usize, usize)>,
    payload_start: usize,
    payload_end: usize,
    padding: u8,
}

/// A parsed RTP packet: header fields plus ranges into the original buffer.
#[derive(Clone, PartialEq, Eq)]
pub struct RtpPacket {
    raw: Bytes,
    header: Header,
}

/// A parsed RTP packet borrowed from a byte slice (for example an interleaved frame still in
/// the RTSP read buffer): the same fields as [`RtpPacket`], without a reference-counted
/// buffer. For depacketizers that copy the payload into their frames anyway
/// ([`Depacketizer::push_ref`](crate::codec::Depacketizer::push_ref)).
///
/// ```
/// use camlink::rtp::{RtpPacketBuilder, RtpPacketRef};
///
/// let wire = RtpPacketBuilder::new(96, 7, 3000, 1).marker(true).build(b"data")?;
/// let pkt = RtpPacketRef::parse(&wire)?;
/// assert_eq!((pkt.sequence_number(), pkt.marker(), pkt.payload()), (7, true, &b"data"[..]));
/// assert_eq!(pkt.to_packet().payload(), b"data");
/// # Ok::<(), camlink::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RtpPacketRef<'a> {
    raw: &'a [u8],
    header: Header,
}

impl std::fmt::Debug for RtpPacketRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpPacketRef")
            .field("pt", &self.header.payload_type)
            .field("seq", &self.header.sequence_number)
            .field("ts", &self.header.timestamp)
            .field("ssrc", &format_args!("{:08x}", self.header.ssrc))
            .field("marker", &self.header.marker)
            .field("payload_len", &self.payload().len())
            .finish()
    }
}

impl std::fmt::Debug for RtpPacket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpPacket")
            .field("pt", &self.header.payload_type)
            .field("seq", &self.header.sequence_number)
            .field("ts", &self.header.timestamp)
            .field("ssrc", &format_args!("{:08x}", self.header.ssrc))
            .field("marker", &self.header.marker)
            .field("payload_len", &self.payload().len())
            .finish()
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

impl RtpPacket {
    /// Parses one RTP packet. The payload stays in `raw` (no copy).
    ///
    /// Errors ([`Malformed`](crate::ErrorKind::Malformed)): a version other than 2, a header
    /// (CSRC list, extension) longer than the packet, or padding longer than the payload.
    #[inline]
    pub fn parse(raw: Bytes) -> Result<RtpPacket> {
        let h = RtpPacketRef::parse(&raw)?.header;
        Ok(RtpPacket { header: h, raw })
    }

    /// A borrowed view of this packet (no copy, no reference count).
    #[inline]
    pub fn as_packet_ref(&self) -> RtpPacketRef<'_> {
        RtpPacketRef {
            raw: &self.raw,
            header: self.header,
        }
    }

    /// The marker bit (for video: the last packet of an access unit).
    pub fn marker(&self) -> bool {
        self.header.marker
    }
    /// The payload type (0..=127).
    pub fn payload_type(&self) -> u8 {
        self.header.payload_type
    }
    /// The 16-bit sequence number.
    pub fn sequence_number(&self) -> u16 {
        self.header.sequence_number
    }
    /// The 32-bit RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        self.header.timestamp
    }
    /// The synchronization source.
    pub fn ssrc(&self) -> u32 {
        self.header.ssrc
    }
    /// The contributing sources.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + '_ {
        (0..usize::from(self.header.csrc_count))
            .filter_map(|i| be32(&self.raw, FIXED_HEADER_LEN + 4 * i))
    }
    /// The header extension: the profile-defined 16 bits and the extension data.
    pub fn extension(&self) -> Option<(u16, &[u8])> {
        let (profile, s, e) = self.header.extension?;
        Some((profile, self.raw.get(s..e)?))
    }
    /// Number of padding octets removed from the end.
    pub fn padding_len(&self) -> u8 {
        self.header.padding
    }
    /// The payload (padding removed).
    pub fn payload(&self) -> &[u8] {
        self.raw
            .get(self.header.payload_start..self.header.payload_end)
            .unwrap_or_default()
    }
    /// The payload as a zero-copy slice of the packet buffer.
    pub fn payload_bytes(&self) -> Bytes {
        self.raw
            .slice(self.header.payload_start..self.header.payload_end)
    }
    /// The whole packet as received.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }
}

/// The header fields and payload the depacketizers read, from an owned or a borrowed packet
/// (so that their code is specialised for each, with no conversion between them).
pub(crate) trait RtpView {
    fn header(&self) -> &Header;
    fn payload(&self) -> &[u8];
    /// The shared buffer the packet lies in, if any (its payload can then be referred to
    /// instead of copied).
    fn source(&self) -> Option<&Bytes>;
    #[inline(always)]
    fn marker(&self) -> bool {
        self.header().marker
    }
    #[inline(always)]
    fn payload_type(&self) -> u8 {
        self.header().payload_type
    }
    #[inline(always)]
    fn sequence_number(&self) -> u16 {
        self.header().sequence_number
    }
    #[inline(always)]
    fn timestamp(&self) -> u32 {
        self.header().timestamp
    }
}

impl RtpView for RtpPacket {
    #[inline(always)]
    fn header(&self) -> &Header {
        &self.header
    }
    #[inline(always)]
    fn payload(&self) -> &[u8] {
        RtpPacket::payload(self)
    }
    #[inline(always)]
    fn source(&self) -> Option<&Bytes> {
        Some(&self.raw)
    }
}

impl RtpView for RtpPacketRef<'_> {
    #[inline(always)]
    fn header(&self) -> &Header {
        &self.header
    }
    #[inline(always)]
    fn payload(&self) -> &[u8] {
        RtpPacketRef::payload(self)
    }
    #[inline(always)]
    fn source(&self) -> Option<&Bytes> {
        None
    }
}

/// A borrowed packet and the shared buffer it lies in.
pub(crate) struct SharedPacket<'a, 'b> {
    pub(crate) packet: &'a RtpPacketRef<'b>,
    pub(crate) source: &'a Bytes,
}

impl RtpView for SharedPacket<'_, '_> {
    #[inline(always)]
    fn header(&self) -> &Header {
        &self.packet.header
    }
    #[inline(always)]
    fn payload(&self) -> &[u8] {
        self.packet.payload()
    }
    #[inline(always)]
    fn source(&self) -> Option<&Bytes> {
        Some(self.source)
    }
}

/// Why an RTP packet did not parse.
#[derive(Clone, Copy)]
enum Fail {
    TooLong,
    Short,
    Version(u8),
    Csrc,
    ExtensionTruncated(usize),
    ExtensionPast(usize),
    Padding(u8),
}

/// The error for a packet that did not parse (out of line: the parse itself is inlined).
#[cold]
#[inline(never)]
fn parse_error(b: &[u8], fail: Fail) -> Error {
    match fail {
        Fail::TooLong => Error::limit("RTP packet", MAX_PACKET_LEN),
        Fail::Short => Error::malformed("RTP packet shorter than its fixed header", 0, b),
        Fail::Version(v) => Error::malformed(format!("RTP version {v}, expected 2"), 0, b),
        Fail::Csrc => Error::malformed("RTP CSRC list runs past the packet", FIXED_HEADER_LEN, b),
        Fail::ExtensionTruncated(pos) => Error::malformed("RTP header extension truncated", pos, b),
        Fail::ExtensionPast(pos) => {
            Error::malformed("RTP header extension runs past the packet", pos, b)
        }
        Fail::Padding(count) => Error::malformed(
            format!("RTP padding of {count} octets does not fit the payload"),
            b.len().saturating_sub(1),
            b,
        ),
    }
}

impl<'a> RtpPacketRef<'a> {
    /// Parses one RTP packet. The payload stays in `b` (no copy).
    ///
    /// Accepts and rejects exactly what [`RtpPacket::parse`] does.
    ///
    /// Errors ([`Malformed`](crate::ErrorKind::Malformed)): a version other than 2, a header
    /// (CSRC list, extension) longer than the packet, or padding longer than the payload.
    #[inline(always)]
    pub fn parse(b: &'a [u8]) -> Result<RtpPacketRef<'a>> {
        if b.len() > MAX_PACKET_LEN {
            return Err(parse_error(b, Fail::TooLong));
        }
        let Some(h) = b.first_chunk::<FIXED_HEADER_LEN>() else {
            return Err(parse_error(b, Fail::Short));
        };
        let first = h[0];
        if first >> 6 != 2 {
            return Err(parse_error(b, Fail::Version(first >> 6)));
        }
        let csrc_count = first & 0x0f;
        let mut pos = FIXED_HEADER_LEN + 4 * usize::from(csrc_count);
        if pos > b.len() {
            return Err(parse_error(b, Fail::Csrc));
        }
        let mut extension = None;
        if first & 0x10 != 0 {
            let (Some(profile), Some(words)) = (be16(b, pos), be16(b, pos + 2)) else {
                return Err(parse_error(b, Fail::ExtensionTruncated(pos)));
            };
            let start = pos + 4;
            let end = start + 4 * usize::from(words);
            if end > b.len() {
                return Err(parse_error(b, Fail::ExtensionPast(pos)));
            }
            extension = Some((profile, start, end));
            pos = end;
        }
        let mut end = b.len();
        let mut padding = 0u8;
        if first & 0x20 != 0 {
            // The last octet counts the padding octets, itself included (RFC 3550 §5.1).
            let count = b.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > end - pos {
                return Err(parse_error(b, Fail::Padding(count)));
            }
            padding = count;
            end -= usize::from(count);
        }
        Ok(RtpPacketRef {
            raw: b,
            header: Header {
                marker: h[1] & 0x80 != 0,
                payload_type: h[1] & 0x7f,
                sequence_number: u16::from_be_bytes([h[2], h[3]]),
                timestamp: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                ssrc: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
                csrc_count,
                extension,
                payload_start: pos,
                payload_end: end,
                padding,
            },
        })
    }

    /// The marker bit (for video: the last packet of an access unit).
    #[inline]
    pub fn marker(&self) -> bool {
        self.header.marker
    }
    /// The payload type (0..=127).
    #[inline]
    pub fn payload_type(&self) -> u8 {
        self.header.payload_type
    }
    /// The 16-bit sequence number.
    #[inline]
    pub fn sequence_number(&self) -> u16 {
        self.header.sequence_number
    }
    /// The 32-bit RTP timestamp.
    #[inline]
    pub fn timestamp(&self) -> u32 {
        self.header.timestamp
    }
    /// The synchronization source.
    #[inline]
    pub fn ssrc(&self) -> u32 {
        self.header.ssrc
    }
    /// The contributing sources.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let raw = self.raw;
        (0..usize::from(self.header.csrc_count))
            .filter_map(move |i| be32(raw, FIXED_HEADER_LEN + 4 * i))
    }
    /// The header extension: the profile-defined 16 bits and the extension data.
    pub fn extension(&self) -> Option<(u16, &'a [u8])> {
        let (profile, s, e) = self.header.extension?;
        Some((profile, self.raw.get(s..e)?))
    }
    /// Number of padding octets removed from the end.
    pub fn padding_len(&self) -> u8 {
        self.header.padding
    }
    /// The payload (padding removed).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.raw
            .get(self.header.payload_start..self.header.payload_end)
            .unwrap_or_default()
    }
    /// The whole packet as received.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
    /// An owned [`RtpPacket`] with the same fields (copies the packet into a new buffer).
    pub fn to_packet(&self) -> RtpPacket {
        RtpPacket {
            raw: Bytes::copy_from_slice(self.raw),
            header: self.header,
        }
    }
}

/// Builds RTP packets (strictly: version 2, header fields as given).
#[derive(Debug, Clone)]
pub struct RtpPacketBuilder {
    payload_type: u8,
    sequence_number: u16,
    timestamp: u32,
    ssrc: u32,
    marker: bool,
    csrcs: Vec<u32>,
    extension: Option<(u16, Vec<u8>)>,
    padding: u8,
}

impl RtpPacketBuilder {
    /// A builder for a packet with these header fields (marker clear, no CSRC, no extension).
    pub fn new(payload_type: u8, sequence_number: u16, timestamp: u32, ssrc: u32) -> Self {
        RtpPacketBuilder {
            payload_type,
            sequence_number,
            timestamp,
            ssrc,
            marker: false,
            csrcs: Vec::new(),
            extension: None,
            padding: 0,
        }
    }
    /// Sets the marker bit.
    pub fn marker(mut self, marker: bool) -> Self {
        self.marker = marker;
        self
    }
    /// Adds contributing sources (at most 15).
    pub fn csrcs(mut self, csrcs: &[u32]) -> Self {
        self.csrcs = csrcs.to_vec();
        self
    }
    /// Adds a header extension; `data` is zero-padded to a multiple of 4 octets.
    pub fn extension(mut self, profile: u16, data: &[u8]) -> Self {
        self.extension = Some((profile, data.to_vec()));
        self
    }
    /// Adds `n` padding octets at the end (0 for none).
    pub fn padding(mut self, n: u8) -> Self {
        self.padding = n;
        self
    }

    /// Writes the header (everything before the payload) into `out`.
    pub fn write_header(&self, out: &mut BytesMut) -> Result<()> {
        if self.payload_type > 127 {
            return Err(Error::invalid_input("RTP payload type above 127"));
        }
        if self.csrcs.len() > 15 {
            return Err(Error::invalid_input("more than 15 CSRCs"));
        }
        let mut first = 0x80 | self.csrcs.len() as u8;
        if self.padding > 0 {
            first |= 0x20;
        }
        if self.extension.is_some() {
            first |= 0x10;
        }
        out.put_u8(first);
        out.put_u8(self.payload_type | if self.marker { 0x80 } else { 0 });
        out.put_u16(self.sequence_number);
        out.put_u32(self.timestamp);
        out.put_u32(self.ssrc);
        for c in &self.csrcs {
            out.put_u32(*c);
        }
        if let Some((profile, data)) = &self.extension {
            let words = data.len().div_ceil(4);
            let words = u16::try_from(words)
                .map_err(|_| Error::invalid_input("RTP header extension too long"))?;
            out.put_u16(*profile);
            out.put_u16(words);
            out.put_slice(data);
            out.put_bytes(0, usize::from(words) * 4 - data.len());
        }
        Ok(())
    }

    /// Writes the whole packet (header, payload parts in order, padding) into `out`.
    pub fn write(&self, out: &mut BytesMut, payload: &[&[u8]]) -> Result<()> {
        let start = out.len();
        self.write_header(out)?;
        for p in payload {
            out.put_slice(p);
        }
        if self.padding > 0 {
            out.put_bytes(0, usize::from(self.padding) - 1);
            out.put_u8(self.padding);
        }
        if out.len() - start > MAX_PACKET_LEN {
            out.truncate(start);
            return Err(Error::limit("RTP packet", MAX_PACKET_LEN));
        }
        Ok(())
    }

    /// Builds the packet with this payload.
    pub fn build(&self, payload: &[u8]) -> Result<Bytes> {
        let mut out = BytesMut::with_capacity(FIXED_HEADER_LEN + payload.len() + 16);
        self.write(&mut out, &[payload])?;
        Ok(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn parses_fixed_header_fields() {
        // V=2, M=1, PT=96, seq=0x1234, ts=0xdeadbeef, ssrc=0x01020304, payload "abc".
        let raw = Bytes::from_static(&[
            0x80, 0xe0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, b'a', b'b', b'c',
        ]);
        let p = RtpPacket::parse(raw).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 96);
        assert_eq!(p.sequence_number(), 0x1234);
        assert_eq!(p.timestamp(), 0xdead_beef);
        assert_eq!(p.ssrc(), 0x0102_0304);
        assert_eq!(p.payload(), b"abc");
        assert_eq!(p.csrcs().count(), 0);
        assert!(p.extension().is_none());
    }

    #[test]
    fn csrc_extension_and_padding_round_trip() {
        let wire = RtpPacketBuilder::new(8, 65535, 7, 9)
            .csrcs(&[0xaabbccdd, 0x11223344])
            .extension(0xbede, &[1, 2, 3, 4, 5])
            .padding(3)
            .build(b"hello")
            .unwrap();
        let p = RtpPacket::parse(wire.clone()).unwrap();
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![0xaabbccdd, 0x11223344]);
        assert_eq!(p.extension(), Some((0xbede, &[1, 2, 3, 4, 5, 0, 0, 0][..])));
        assert_eq!(p.padding_len(), 3);
        assert_eq!(p.payload(), b"hello");
        // Zero copy: the payload is a slice of the same buffer.
        assert_eq!(p.payload_bytes().as_ptr(), wire[wire.len() - 8..].as_ptr());
    }

    #[test]
    fn rejects_bad_version_and_truncation() {
        for bad in [
            &[0x40u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
            &[0x80, 0, 0][..],
            &[0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
            &[0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9][..],
            &[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9][..],
            &[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0][..],
        ] {
            let e = RtpPacket::parse(Bytes::copy_from_slice(bad)).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn padding_may_eat_the_whole_payload() {
        let p = RtpPacket::parse(Bytes::from_static(&[
            0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3,
        ]))
        .unwrap();
        assert!(p.payload().is_empty());
    }
}
