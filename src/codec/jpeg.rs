//! Motion JPEG over RTP (RFC 2435), both ways.
//!
//! The depacketizer rebuilds a complete baseline JFIF file per frame: quantization tables from the
//! Q factor (RFC 2435 appendix A) or in-band (Q ≥ 128, cached per Q for later frames that omit
//! them), restart markers (types 64–127), the standard Huffman tables, and the scan data in
//! fragment-offset order. The packetizer takes a baseline JFIF (as a camera or the mock's snapshot
//! source produces it), parses SOF0/DQT/DHT/DRI/SOS and sends it with in-band tables (Q = 255).

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    Admit, Depacketizer, Frame, FrameInfo, Inbound, MAX_FRAME_LEN, Outbound, Packetizer,
    PacketizerConfig,
};
use crate::rtp::{NtpTimestamp, RtpPacket};
use crate::{Error, ErrorKind, Result};

/// RTP clock rate of JPEG (RFC 2435 §3).
pub const CLOCK_RATE: u32 = 90_000;

/// Largest JPEG frame reassembled.
pub const MAX_JPEG_LEN: usize = 8 * 1024 * 1024;

/// Most distinct Q values whose in-band tables are remembered.
const MAX_CACHED_TABLES: usize = 16;

/// Zigzag position → natural (row-major) index.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// RFC 2435 appendix A luminance table (natural order).
const LUMA_Q: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// RFC 2435 appendix A chrominance table (natural order).
const CHROMA_Q: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

const DC_LUMA_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_LUMA_VALUES: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];
const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_CHROMA_VALUES: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
    0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

/// The four standard Huffman tables as DHT segment bodies: (class << 4 | id, bits, values).
const HUFFMAN: [(u8, &[u8; 16], &[u8]); 4] = [
    (0x00, &DC_LUMA_BITS, &DC_VALUES),
    (0x10, &AC_LUMA_BITS, &AC_LUMA_VALUES),
    (0x01, &DC_CHROMA_BITS, &DC_VALUES),
    (0x11, &AC_CHROMA_BITS, &AC_CHROMA_VALUES),
];

/// The luminance and chrominance quantization tables (zigzag order) for a Q factor 1..=99
/// (RFC 2435 appendix A; other values are clamped).
pub fn tables_for_q(q: u8) -> [[u8; 64]; 2] {
    let factor = u32::from(q.clamp(1, 99));
    let scale = if factor < 50 {
        5000 / factor
    } else {
        200 - factor * 2
    };
    let mut out = [[0u8; 64]; 2];
    for (t, base) in [&LUMA_Q, &CHROMA_Q].into_iter().enumerate() {
        for (i, &nat) in ZIGZAG.iter().enumerate() {
            let v = (u32::from(base[nat]) * scale + 50) / 100;
            out[t][i] = v.clamp(1, 255) as u8;
        }
    }
    out
}

/// What a JFIF file needs besides its scan data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegParams {
    /// RFC 2435 type: 0 (4:2:2) or 1 (4:2:0); 64/65 are the same with restart markers.
    pub kind: u8,
    /// Width in pixels (a multiple of 8, at most 2040).
    pub width: u16,
    /// Height in pixels (a multiple of 8, at most 2040).
    pub height: u16,
    /// Restart interval in MCUs (0 for none).
    pub restart_interval: u16,
    /// The quantization tables as sent in-band: luma then chroma, 64 bytes each (8-bit) or
    /// 128 (16-bit, `precision` bit set).
    pub tables: Bytes,
    /// RFC 2435 precision bits: bit 0 for table 0, bit 1 for table 1 (1 = 16-bit entries).
    pub precision: u8,
}

/// Writes a complete baseline JFIF file: headers for `params`, then `scan`, then EOI.
pub fn build_jfif(params: &JpegParams, scan: &[u8], out: &mut BytesMut) -> Result<()> {
    out.reserve(700 + scan.len());
    write_jfif_headers(params, out)?;
    out.put_slice(scan);
    if !scan.ends_with(&[0xff, 0xd9]) {
        out.put_slice(&[0xff, 0xd9]);
    }
    Ok(())
}

/// Writes the JFIF headers for `params` (SOI to SOS); the scan and EOI follow.
pub fn write_jfif_headers(params: &JpegParams, out: &mut BytesMut) -> Result<()> {
    let sampling = match params.kind & 0x3f {
        0 => 0x21,
        1 => 0x22,
        k => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("RFC 2435 type {k}"),
            ));
        }
    };
    out.put_slice(&[0xff, 0xd8]);
    out.put_slice(&[
        0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
    ]);
    // DQT: both tables in one segment.
    let sizes = [
        if params.precision & 1 != 0 { 128 } else { 64 },
        if params.precision & 2 != 0 { 128 } else { 64 },
    ];
    if params.tables.len() < sizes[0] + sizes[1] {
        return Err(Error::malformed(
            "quantization tables too short",
            0,
            &params.tables,
        ));
    }
    out.put_slice(&[0xff, 0xdb]);
    out.put_u16((2 + 2 + sizes[0] + sizes[1]) as u16);
    let mut at = 0;
    for (id, size) in sizes.into_iter().enumerate() {
        out.put_u8(((u8::from(size == 128)) << 4) | id as u8);
        out.put_slice(params.tables.get(at..at + size).unwrap_or_default());
        at += size;
    }
    // SOF0: 8-bit, three components, Y subsampled per type, Cb/Cr on table 1.
    out.put_slice(&[0xff, 0xc0, 0, 17, 8]);
    out.put_u16(params.height);
    out.put_u16(params.width);
    out.put_slice(&[3, 1, sampling, 0, 2, 0x11, 1, 3, 0x11, 1]);
    if params.restart_interval > 0 {
        out.put_slice(&[0xff, 0xdd, 0, 4]);
        out.put_u16(params.restart_interval);
    }
    for (class_id, bits, values) in HUFFMAN {
        out.put_slice(&[0xff, 0xc4]);
        out.put_u16((2 + 1 + 16 + values.len()) as u16);
        out.put_u8(class_id);
        out.put_slice(bits);
        out.put_slice(values);
    }
    out.put_slice(&[0xff, 0xda, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
    Ok(())
}

#[derive(Debug)]
struct Current {
    ts: u32,
    params: JpegParams,
    q: u8,
    /// The JFIF file being built: headers, then the scan so far.
    file: BytesMut,
    header_len: usize,
    packets: u64,
    damaged: bool,
}

/// MJPEG depacketizer: a complete JFIF file per frame.
#[derive(Debug)]
pub struct JpegDepacketizer {
    inb: Inbound,
    cur: Option<Current>,
    cached: HashMap<u8, (u8, Bytes)>,
    scan_capacity: usize,
}

impl Default for JpegDepacketizer {
    fn default() -> Self {
        Self::new()
    }
}

impl JpegDepacketizer {
    /// A depacketizer (static payload type 26 is not enforced; see
    /// [`with_payload_type`](Self::with_payload_type)).
    pub fn new() -> Self {
        JpegDepacketizer {
            inb: Inbound::new(CLOCK_RATE),
            cur: None,
            cached: HashMap::new(),
            scan_capacity: 32 * 1024,
        }
    }
    /// Only packets of this payload type are used.
    pub fn with_payload_type(mut self, pt: u8) -> Self {
        self.inb.set_payload_type(pt);
        self
    }

    fn drop_current(&mut self) {
        if let Some(c) = self.cur.take() {
            tracing::debug!(packets = c.packets, "incomplete JPEG frame dropped");
            self.inb.add_loss(c.packets);
        }
    }

    fn finish(&mut self) -> Result<()> {
        let Some(c) = self.cur.take() else {
            return Ok(());
        };
        if c.damaged {
            self.inb.add_loss(c.packets);
            return Ok(());
        }
        let mut out = c.file;
        self.scan_capacity = self.scan_capacity.max(out.len()).min(MAX_JPEG_LEN);
        if !out.ends_with(&[0xff, 0xd9]) {
            out.put_slice(&[0xff, 0xd9]);
        }
        let info = FrameInfo::Jpeg {
            width: c.params.width,
            height: c.params.height,
        };
        self.inb.emit(out.freeze(), c.ts, true, info);
        Ok(())
    }

    fn packet(&mut self, pkt: &RtpPacket, lost: u64) -> Result<()> {
        let d = pkt.payload();
        let ts = pkt.timestamp();
        if self.cur.as_ref().is_some_and(|c| c.ts != ts) {
            // The previous frame never got its marker.
            self.drop_current();
        }
        if lost > 0
            && let Some(c) = self.cur.as_mut()
        {
            c.damaged = true;
        }
        let Some(h) = d.get(..8) else {
            return Err(Error::malformed("JPEG main header truncated", 0, d));
        };
        let offset = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        let kind = h[4];
        let q = h[5];
        let (width, height) = (u16::from(h[6]) * 8, u16::from(h[7]) * 8);
        let mut pos = 8;
        let mut restart_interval = 0;
        if (64..=127).contains(&kind) {
            let Some(r) = d.get(8..12) else {
                return Err(Error::malformed("JPEG restart header truncated", 8, d));
            };
            restart_interval = u16::from_be_bytes([r[0], r[1]]);
            pos = 12;
        }
        if offset == 0 {
            if self.cur.is_some() {
                // A new frame while one is open: the open one lost its end.
                self.drop_current();
            }
            if kind & 0x3f > 1 {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("RFC 2435 type {kind}"),
                ));
            }
            if width == 0 || height == 0 {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "JPEG dimensions above 2040 (0 in the header)",
                ));
            }
            let (precision, tables) = if q >= 128 {
                let Some(qh) = d.get(pos..pos + 4) else {
                    return Err(Error::malformed(
                        "JPEG quantization header truncated",
                        pos,
                        d,
                    ));
                };
                let precision = qh[1];
                let len = usize::from(u16::from_be_bytes([qh[2], qh[3]]));
                pos += 4;
                if len == 0 {
                    match self.cached.get(&q) {
                        Some((p, t)) => (*p, t.clone()),
                        None => {
                            return Err(Error::new(
                                ErrorKind::Protocol,
                                format!("JPEG Q {q} refers to tables never sent"),
                            ));
                        }
                    }
                } else {
                    let Some(t) = d.get(pos..pos + len) else {
                        return Err(Error::malformed(
                            "JPEG quantization tables truncated",
                            pos,
                            d,
                        ));
                    };
                    pos += len;
                    let one = if precision & 1 != 0 { 128 } else { 64 };
                    let (precision, t) = if len == one {
                        // One table for luma and chroma alike (ffmpeg, and cameras built on it).
                        (
                            precision | ((precision & 1) << 1),
                            Bytes::from([t, t].concat()),
                        )
                    } else {
                        (precision, Bytes::copy_from_slice(t))
                    };
                    if self.cached.len() < MAX_CACHED_TABLES || self.cached.contains_key(&q) {
                        self.cached.insert(q, (precision, t.clone()));
                    }
                    (precision, t)
                }
            } else {
                let [l, c] = tables_for_q(q);
                (0, Bytes::from([l, c].concat()))
            };
            let params = JpegParams {
                kind,
                width,
                height,
                restart_interval,
                tables,
                precision,
            };
            // One allocation per frame: headers first, the scan appended behind them.
            let mut file = BytesMut::with_capacity(self.scan_capacity + 2);
            write_jfif_headers(&params, &mut file)?;
            self.cur = Some(Current {
                ts,
                header_len: file.len(),
                params,
                q,
                file,
                packets: 0,
                // Loss right before the first packet cannot touch this frame.
                damaged: false,
            });
        }
        let Some(c) = self.cur.as_mut() else {
            // A middle of a frame whose start we never saw.
            self.inb.add_loss(1);
            return Ok(());
        };
        c.packets += 1;
        if c.params.kind != kind || c.q != q {
            c.damaged = true;
        }
        let data = d.get(pos..).unwrap_or_default();
        if offset != c.file.len() - c.header_len {
            c.damaged = true;
        } else if c.file.len() + data.len() > MAX_JPEG_LEN.min(MAX_FRAME_LEN) {
            c.damaged = true;
            return Err(Error::limit("JPEG frame", MAX_JPEG_LEN));
        } else {
            c.file.put_slice(data);
        }
        if pkt.marker() {
            return self.finish();
        }
        Ok(())
    }
}

impl Depacketizer for JpegDepacketizer {
    fn push(&mut self, pkt: &RtpPacket) -> Result<()> {
        let Admit::Use { lost } = self.inb.admit(pkt) else {
            return Ok(());
        };
        let r = self.packet(pkt, lost);
        if r.is_err()
            && let Some(c) = self.cur.as_mut()
        {
            c.damaged = true;
        }
        r
    }
    fn pull(&mut self) -> Option<Frame> {
        self.inb.pull()
    }
    fn flush(&mut self) {
        // Without the marker the end of the scan is unknown: an open frame is dropped.
        self.drop_current();
    }
    fn on_sender_report(&mut self, ntp: NtpTimestamp, rtp_timestamp: u32) {
        self.inb.on_sender_report(ntp, rtp_timestamp);
    }
    fn clock_rate(&self) -> u32 {
        self.inb.clock_rate()
    }
}

/// A baseline JFIF file taken apart for RFC 2435.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedJpeg<'a> {
    /// Header fields and tables.
    pub params: JpegParams,
    /// The entropy-coded scan (without the final EOI).
    pub scan: &'a [u8],
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    let s = d.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Parses a baseline JFIF file into what RFC 2435 can carry. Errors with
/// [`Unsupported`](ErrorKind::Unsupported) for what it cannot (progressive, grayscale,
/// non-standard Huffman tables, sizes not a multiple of 8 or above 2040).
pub fn parse_jfif(jpeg: &[u8]) -> Result<ParsedJpeg<'_>> {
    let unsupported = |m: &'static str| Error::new(ErrorKind::Unsupported, m);
    if jpeg.get(..2) != Some(&[0xff, 0xd8]) {
        return Err(Error::malformed("not a JPEG file (no SOI)", 0, jpeg));
    }
    let mut pos = 2;
    let mut qt: [Option<(bool, &[u8])>; 4] = [None; 4];
    let mut sof: Option<(u16, u16, u8, u8, u8)> = None;
    let mut dri = 0u16;
    loop {
        // Skip fill bytes.
        while jpeg.get(pos) == Some(&0xff) && jpeg.get(pos + 1) == Some(&0xff) {
            pos += 1;
        }
        let (Some(&0xff), Some(&marker)) = (jpeg.get(pos), jpeg.get(pos + 1)) else {
            return Err(Error::malformed("JPEG marker expected", pos, jpeg));
        };
        let Some(len) = be16(jpeg, pos + 2).map(usize::from) else {
            return Err(Error::malformed("JPEG segment length truncated", pos, jpeg));
        };
        let Some(seg) = jpeg.get(pos + 4..pos + 2 + len).filter(|_| len >= 2) else {
            return Err(Error::malformed(
                "JPEG segment runs past the file",
                pos,
                jpeg,
            ));
        };
        match marker {
            0xdb => {
                let mut i = 0;
                while let Some(&pq_tq) = seg.get(i) {
                    let wide = pq_tq >> 4 != 0;
                    let size = if wide { 128 } else { 64 };
                    let Some(t) = seg.get(i + 1..i + 1 + size) else {
                        return Err(Error::malformed("DQT table truncated", pos, jpeg));
                    };
                    if let Some(slot) = qt.get_mut(usize::from(pq_tq & 3)) {
                        *slot = Some((wide, t));
                    }
                    i += 1 + size;
                }
            }
            0xc0 | 0xc1 => {
                let (Some(&p), Some(h), Some(w), Some(&n)) =
                    (seg.first(), be16(seg, 1), be16(seg, 3), seg.get(5))
                else {
                    return Err(Error::malformed("SOF truncated", pos, jpeg));
                };
                if p != 8 || n != 3 {
                    return Err(unsupported(
                        "RFC 2435 carries 8-bit three-component JPEG only",
                    ));
                }
                let comp = |k: usize| seg.get(6 + 3 * k..9 + 3 * k);
                let (Some(y), Some(cb), Some(cr)) = (comp(0), comp(1), comp(2)) else {
                    return Err(Error::malformed("SOF components truncated", pos, jpeg));
                };
                if cb[1] != 0x11 || cr[1] != 0x11 || cb[2] != cr[2] {
                    return Err(unsupported(
                        "chroma sampling other than 1x1 with one shared table",
                    ));
                }
                sof = Some((w, h, y[1], y[2], cb[2]));
            }
            0xc2 | 0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
                return Err(unsupported("only baseline JPEG can be sent over RTP"));
            }
            0xc4 => {
                let mut i = 0;
                while let Some(&class_id) = seg.get(i) {
                    let Some(bits) = seg.get(i + 1..i + 17) else {
                        return Err(Error::malformed("DHT truncated", pos, jpeg));
                    };
                    let n: usize = bits.iter().map(|&b| usize::from(b)).sum();
                    let Some(vals) = seg.get(i + 17..i + 17 + n) else {
                        return Err(Error::malformed("DHT values truncated", pos, jpeg));
                    };
                    let standard = HUFFMAN
                        .iter()
                        .any(|(c, b, v)| *c == class_id && &b[..] == bits && *v == vals);
                    if !standard {
                        return Err(unsupported(
                            "JPEG with non-standard Huffman tables (RFC 2435 assumes the standard ones)",
                        ));
                    }
                    i += 17 + n;
                }
            }
            0xdd => dri = be16(seg, 0).unwrap_or(0),
            0xda => {
                let Some((w, h, y_sampling, y_table, c_table)) = sof else {
                    return Err(Error::malformed("SOS before SOF", pos, jpeg));
                };
                let kind = match y_sampling {
                    0x21 => 0,
                    0x22 => 1,
                    _ => return Err(unsupported("luma sampling other than 2x1 or 2x2")),
                };
                if w == 0 || h == 0 || w % 8 != 0 || h % 8 != 0 || w > 2040 || h > 2040 {
                    return Err(unsupported("JPEG size not a multiple of 8 up to 2040"));
                }
                let (Some(Some((lw, lt))), Some(Some((cw, ct)))) = (
                    qt.get(usize::from(y_table & 3)),
                    qt.get(usize::from(c_table & 3)),
                ) else {
                    return Err(Error::malformed(
                        "SOF refers to a missing DQT table",
                        pos,
                        jpeg,
                    ));
                };
                let mut scan = jpeg.get(pos + 2 + len..).unwrap_or_default();
                if let [rest @ .., 0xff, 0xd9] = scan {
                    scan = rest;
                }
                let params = JpegParams {
                    kind: if dri > 0 { kind + 64 } else { kind },
                    width: w,
                    height: h,
                    restart_interval: dri,
                    tables: Bytes::from([*lt, *ct].concat()),
                    precision: u8::from(*lw) | (u8::from(*cw) << 1),
                };
                return Ok(ParsedJpeg { params, scan });
            }
            _ => {} // APPn, COM and the like.
        }
        pos += 2 + len;
    }
}

/// MJPEG packetizer: baseline JFIF in, RFC 2435 packets out (in-band tables, Q = 255).
#[derive(Debug)]
pub struct JpegPacketizer {
    out: Outbound,
}

impl JpegPacketizer {
    /// A packetizer (payload type 26 is the static one for JPEG).
    pub fn new(cfg: PacketizerConfig) -> Result<Self> {
        Ok(JpegPacketizer {
            out: Outbound::new(cfg)?,
        })
    }
}

impl Packetizer for JpegPacketizer {
    fn packetize(&mut self, frame: &[u8], rtp_timestamp: u32, out: &mut Vec<Bytes>) -> Result<()> {
        let parsed = parse_jfif(frame)?;
        let p = &parsed.params;
        if parsed.scan.len() >= 1 << 24 {
            return Err(Error::limit("JPEG scan", 1 << 24));
        }
        let max = self.out.max_payload();
        let mut offset = 0usize;
        let mut first = true;
        loop {
            let mut hdr = Vec::with_capacity(16 + p.tables.len());
            hdr.push(0);
            hdr.extend_from_slice(&(offset as u32).to_be_bytes()[1..]);
            hdr.extend_from_slice(&[p.kind, 255, (p.width / 8) as u8, (p.height / 8) as u8]);
            if p.kind >= 64 {
                hdr.extend_from_slice(&p.restart_interval.to_be_bytes());
                hdr.extend_from_slice(&[0xff, 0xff]);
            }
            if first {
                hdr.extend_from_slice(&[0, p.precision]);
                hdr.extend_from_slice(&(p.tables.len() as u16).to_be_bytes());
                hdr.extend_from_slice(&p.tables);
            }
            let room = max
                .checked_sub(hdr.len())
                .filter(|&r| r > 0)
                .ok_or_else(|| Error::invalid_input("MTU too small for the JPEG headers"))?;
            let end = (offset + room).min(parsed.scan.len());
            let chunk = parsed.scan.get(offset..end).unwrap_or_default();
            let last = end == parsed.scan.len();
            self.out.emit(out, rtp_timestamp, last, &[&hdr, chunk])?;
            offset = end;
            first = false;
            if last {
                return Ok(());
            }
        }
    }
    fn next_sequence_number(&self) -> u16 {
        self.out.next_seq()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacketBuilder;

    #[test]
    fn standard_huffman_tables_are_consistent() {
        for (_, bits, values) in HUFFMAN {
            assert_eq!(
                bits.iter().map(|&b| usize::from(b)).sum::<usize>(),
                values.len()
            );
        }
    }

    #[test]
    fn q50_gives_the_base_tables_in_zigzag_order() {
        let [l, c] = tables_for_q(50);
        assert_eq!(&l[..6], &[16, 11, 12, 14, 12, 10]);
        assert_eq!(c[0], 17);
        let [l, _] = tables_for_q(99);
        assert!(l.iter().all(|&v| v <= 2));
    }

    fn pkt(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> RtpPacket {
        RtpPacket::parse(
            RtpPacketBuilder::new(26, seq, ts, 7)
                .marker(marker)
                .build(payload)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn q_factor_frame_with_restart_markers_becomes_jfif() {
        let mut d = JpegDepacketizer::new();
        // Type 65 (4:2:0 + restart), Q 80, 64x48, restart interval 4, two fragments.
        let mut p1 = vec![0, 0, 0, 0, 65, 80, 8, 6, 0, 4, 0xff, 0xff];
        p1.extend_from_slice(&[1, 2, 3]);
        let mut p2 = vec![0, 0, 0, 3, 65, 80, 8, 6, 0, 4, 0xff, 0xff];
        p2.extend_from_slice(&[0xff, 0xd0, 4]);
        d.push(&pkt(1, 0, false, &p1)).unwrap();
        d.push(&pkt(2, 0, true, &p2)).unwrap();
        let f = d.pull().unwrap();
        assert_eq!(
            f.info,
            FrameInfo::Jpeg {
                width: 64,
                height: 48
            }
        );
        let j = &f.payload.to_vec()[..];
        assert!(
            j.starts_with(&[0xff, 0xd8, 0xff, 0xe0])
                && j.ends_with(&[1, 2, 3, 0xff, 0xd0, 4, 0xff, 0xd9])
        );
        let parsed = parse_jfif(j).unwrap();
        assert_eq!(parsed.params.restart_interval, 4);
        assert_eq!(parsed.params.kind, 65);
        assert_eq!(&parsed.params.tables[..64], &tables_for_q(80)[0][..]);
    }

    #[test]
    fn in_band_tables_are_cached_for_later_frames() {
        let mut d = JpegDepacketizer::new();
        let tables: Vec<u8> = (1..=128).collect();
        let mut p = vec![0, 0, 0, 0, 1, 200, 2, 2, 0, 0, 0, 128];
        p.extend_from_slice(&tables);
        p.extend_from_slice(&[9, 9]);
        d.push(&pkt(1, 0, true, &p)).unwrap();
        // Same Q, tables omitted (length 0).
        d.push(&pkt(
            2,
            3000,
            true,
            &[0, 0, 0, 0, 1, 200, 2, 2, 0, 0, 0, 0, 8, 8],
        ))
        .unwrap();
        let a = parse_jfif(&d.pull().unwrap().payload.to_bytes())
            .unwrap()
            .params
            .tables;
        let b = parse_jfif(&d.pull().unwrap().payload.to_bytes())
            .unwrap()
            .params
            .tables;
        assert_eq!(&a[..], &tables[..]);
        assert_eq!(a, b);
    }

    #[test]
    fn single_quantization_table_shared_by_chroma() {
        // ffmpeg's packetizer sends one 64-byte table when its JPEG uses one for all components.
        let table: Vec<u8> = (1..=64).collect();
        let mut p = vec![0, 0, 0, 0, 1, 255, 2, 2, 0, 0, 0, 64];
        p.extend_from_slice(&table);
        p.extend_from_slice(&[9, 9]);
        let mut d = JpegDepacketizer::new();
        d.push(&pkt(1, 0, true, &p)).unwrap();
        let parsed = parse_jfif(&d.pull().unwrap().payload.to_bytes())
            .unwrap()
            .params;
        assert_eq!(&parsed.tables[..64], &table[..]);
        assert_eq!(&parsed.tables[64..], &table[..]);
    }

    #[test]
    fn fragment_gap_drops_the_frame() {
        let mut d = JpegDepacketizer::new();
        d.push(&pkt(1, 0, false, &[0, 0, 0, 0, 1, 50, 2, 2, 1, 2]))
            .unwrap();
        d.push(&pkt(3, 0, true, &[0, 0, 0, 4, 1, 50, 2, 2, 5]))
            .unwrap();
        assert!(d.pull().is_none());
        d.push(&pkt(4, 3000, true, &[0, 0, 0, 0, 1, 50, 2, 2, 7]))
            .unwrap();
        assert_eq!(d.pull().unwrap().loss_before, 3);
    }
}
