//! RTCP compound packets (RFC 3550 §6): Sender and Receiver Reports, SDES, BYE.
//!
//! Parsing is lenient the way cameras need: APP and unknown packet types are skipped, a padding
//! count that does not fit is ignored, and SDES items other than CNAME are skipped. Building is
//! strict: version 2, lengths in 32-bit words, SDES chunks null-terminated and word-aligned.
//!
//! ```
//! use camlink::rtp::rtcp::{self, ReportBlock, RtcpPacket};
//!
//! let block = ReportBlock { ssrc: 0x1111, fraction_lost: 25, cumulative_lost: 3,
//!     extended_highest_seq: 70_000, jitter: 12, lsr: 0xabcd, dlsr: 0x10000 };
//! let wire = rtcp::build_receiver_report_with_cname(0x2222, &[block], "camlink@host")?;
//! let parsed = rtcp::parse_compound(&wire)?;
//! assert!(matches!(&parsed[0], RtcpPacket::ReceiverReport(rr) if rr.reports == [block]));
//! assert!(matches!(&parsed[1], RtcpPacket::SourceDescription(c) if c[0].cname.as_deref() == Some("camlink@host")));
//! # Ok::<(), camlink::Error>(())
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::wallclock::NtpTimestamp;
use crate::{Error, Result};

/// Packet type of a Sender Report.
pub const PT_SR: u8 = 200;
/// Packet type of a Receiver Report.
pub const PT_RR: u8 = 201;
/// Packet type of Source Description.
pub const PT_SDES: u8 = 202;
/// Packet type of Goodbye.
pub const PT_BYE: u8 = 203;
/// Packet type of application-defined packets (skipped).
pub const PT_APP: u8 = 204;

/// Largest RTCP compound packet accepted.
pub const MAX_COMPOUND_LEN: usize = 65_535;
/// Most packets read from one compound packet (the rest is ignored).
pub const MAX_PACKETS_PER_COMPOUND: usize = 64;

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256 units.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed; negative with duplicates).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | max seq).
    pub extended_highest_seq: u32,
    /// Interarrival jitter, in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last Sender Report's NTP timestamp (0 if none).
    pub lsr: u32,
    /// Delay since that Sender Report, in 1/65536 seconds.
    pub dlsr: u32,
}

/// A Sender Report: the sender's NTP ↔ RTP time mapping and counts, plus reception reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderReport {
    /// The sender.
    pub ssrc: u32,
    /// Wall-clock time of this report.
    pub ntp: NtpTimestamp,
    /// The RTP timestamp corresponding to `ntp`.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packet_count: u32,
    /// Payload octets sent.
    pub octet_count: u32,
    /// Reception report blocks.
    pub reports: Vec<ReportBlock>,
}

/// A Receiver Report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverReport {
    /// The reporter.
    pub ssrc: u32,
    /// Reception report blocks.
    pub reports: Vec<ReportBlock>,
}

/// One SDES chunk: a source and its CNAME (other items are skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    /// The source described.
    pub ssrc: u32,
    /// Its canonical name, if present.
    pub cname: Option<String>,
}

/// A Goodbye packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goodbye {
    /// The sources leaving.
    pub ssrcs: Vec<u32>,
    /// The reason, if given.
    pub reason: Option<String>,
}

/// One packet of a compound RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket {
    /// SR.
    SenderReport(SenderReport),
    /// RR.
    ReceiverReport(ReceiverReport),
    /// SDES.
    SourceDescription(Vec<SdesChunk>),
    /// BYE.
    Goodbye(Goodbye),
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn parse_blocks(body: &[u8], at: usize, count: u8) -> Option<Vec<ReportBlock>> {
    let mut out = Vec::with_capacity(usize::from(count));
    for i in 0..usize::from(count) {
        let o = at.checked_add(i.checked_mul(24)?)?;
        let lost_word = be32(body, o + 4)?;
        // 24-bit two's complement.
        let cumulative = ((lost_word << 8) as i32) >> 8;
        out.push(ReportBlock {
            ssrc: be32(body, o)?,
            fraction_lost: (lost_word >> 24) as u8,
            cumulative_lost: cumulative,
            extended_highest_seq: be32(body, o + 8)?,
            jitter: be32(body, o + 12)?,
            lsr: be32(body, o + 16)?,
            dlsr: be32(body, o + 20)?,
        });
    }
    Some(out)
}

fn parse_sdes(body: &[u8], count: u8) -> Vec<SdesChunk> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for _ in 0..count {
        let Some(ssrc) = be32(body, pos) else { break };
        pos += 4;
        let mut cname = None;
        while let Some(&item) = body.get(pos) {
            if item == 0 {
                // End of items: skip to the next 32-bit boundary.
                pos = (pos + 4) & !3;
                break;
            }
            let Some(&len) = body.get(pos + 1) else {
                pos = body.len();
                break;
            };
            let start = pos + 2;
            let end = start + usize::from(len);
            let Some(text) = body.get(start..end) else {
                pos = body.len();
                break;
            };
            if item == 1 {
                cname = Some(String::from_utf8_lossy(text).into_owned());
            }
            pos = end;
        }
        out.push(SdesChunk { ssrc, cname });
    }
    out
}

/// Parses a compound RTCP packet. Packets of unknown type and APP packets are skipped.
///
/// Errors: a first octet that is not RTCP version 2, or a length running past the buffer
/// ([`Malformed`](crate::ErrorKind::Malformed)). A later packet that is truncated ends the parse
/// (the packets before it are returned).
pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket>> {
    if buf.len() > MAX_COMPOUND_LEN {
        return Err(Error::limit("RTCP compound packet", MAX_COMPOUND_LEN));
    }
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut n = 0usize;
    while pos < buf.len() && n < MAX_PACKETS_PER_COMPOUND {
        n += 1;
        let Some(hdr) = buf.get(pos..pos + 4) else {
            if out.is_empty() {
                return Err(Error::malformed("RTCP header truncated", pos, buf));
            }
            break;
        };
        if hdr[0] >> 6 != 2 {
            if out.is_empty() {
                return Err(Error::malformed("RTCP version is not 2", pos, buf));
            }
            break;
        }
        let padding = hdr[0] & 0x20 != 0;
        let count = hdr[0] & 0x1f;
        let pt = hdr[1];
        let len = (usize::from(u16::from_be_bytes([hdr[2], hdr[3]])) + 1) * 4;
        let Some(pkt) = buf.get(pos..pos + len) else {
            if out.is_empty() {
                return Err(Error::malformed(
                    "RTCP length runs past the packet",
                    pos,
                    buf,
                ));
            }
            break;
        };
        pos += len;
        let mut body = &pkt[4..];
        if padding {
            // Lenient: a padding count that does not fit is ignored.
            let p = usize::from(body.last().copied().unwrap_or(0));
            if p > 0 && p <= body.len() {
                body = &body[..body.len() - p];
            }
        }
        match pt {
            PT_SR => {
                let (Some(ssrc), Some(hi), Some(lo), Some(ts), Some(pc), Some(oc)) = (
                    be32(body, 0),
                    be32(body, 4),
                    be32(body, 8),
                    be32(body, 12),
                    be32(body, 16),
                    be32(body, 20),
                ) else {
                    tracing::debug!("RTCP SR too short; skipped");
                    continue;
                };
                let reports = parse_blocks(body, 24, count).unwrap_or_default();
                out.push(RtcpPacket::SenderReport(SenderReport {
                    ssrc,
                    ntp: NtpTimestamp((u64::from(hi) << 32) | u64::from(lo)),
                    rtp_timestamp: ts,
                    packet_count: pc,
                    octet_count: oc,
                    reports,
                }));
            }
            PT_RR => {
                let Some(ssrc) = be32(body, 0) else {
                    tracing::debug!("RTCP RR too short; skipped");
                    continue;
                };
                let reports = parse_blocks(body, 4, count).unwrap_or_default();
                out.push(RtcpPacket::ReceiverReport(ReceiverReport { ssrc, reports }));
            }
            PT_SDES => out.push(RtcpPacket::SourceDescription(parse_sdes(body, count))),
            PT_BYE => {
                let ssrcs: Vec<u32> = (0..usize::from(count))
                    .map_while(|i| be32(body, i * 4))
                    .collect();
                let at = usize::from(count) * 4;
                let reason = body.get(at).and_then(|&l| {
                    body.get(at + 1..at + 1 + usize::from(l))
                        .map(|t| String::from_utf8_lossy(t).into_owned())
                });
                out.push(RtcpPacket::Goodbye(Goodbye { ssrcs, reason }));
            }
            other => tracing::trace!(pt = other, "RTCP packet type skipped"),
        }
    }
    Ok(out)
}

fn header(out: &mut BytesMut, count: usize, pt: u8, body_len: usize) -> Result<()> {
    if count > 31 {
        return Err(Error::invalid_input(
            "more than 31 items in one RTCP packet",
        ));
    }
    let words =
        u16::try_from(body_len / 4).map_err(|_| Error::limit("RTCP packet", MAX_COMPOUND_LEN))?;
    out.put_u8(0x80 | count as u8);
    out.put_u8(pt);
    out.put_u16(words);
    Ok(())
}

fn put_blocks(out: &mut BytesMut, blocks: &[ReportBlock]) {
    for b in blocks {
        out.put_u32(b.ssrc);
        let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32) & 0x00ff_ffff;
        out.put_u32((u32::from(b.fraction_lost) << 24) | lost);
        out.put_u32(b.extended_highest_seq);
        out.put_u32(b.jitter);
        out.put_u32(b.lsr);
        out.put_u32(b.dlsr);
    }
}

impl ReceiverReport {
    /// Appends this RR to `out`.
    pub fn write(&self, out: &mut BytesMut) -> Result<()> {
        header(out, self.reports.len(), PT_RR, 4 + 24 * self.reports.len())?;
        out.put_u32(self.ssrc);
        put_blocks(out, &self.reports);
        Ok(())
    }
}

impl SenderReport {
    /// Appends this SR to `out`.
    pub fn write(&self, out: &mut BytesMut) -> Result<()> {
        header(out, self.reports.len(), PT_SR, 24 + 24 * self.reports.len())?;
        out.put_u32(self.ssrc);
        out.put_u64(self.ntp.0);
        out.put_u32(self.rtp_timestamp);
        out.put_u32(self.packet_count);
        out.put_u32(self.octet_count);
        put_blocks(out, &self.reports);
        Ok(())
    }
}

impl Goodbye {
    /// Appends this BYE to `out`.
    pub fn write(&self, out: &mut BytesMut) -> Result<()> {
        let reason = self
            .reason
            .as_deref()
            .map(str::as_bytes)
            .unwrap_or_default();
        let reason = &reason[..reason.len().min(255)];
        let reason_len = if reason.is_empty() {
            0
        } else {
            (1 + reason.len()).div_ceil(4) * 4
        };
        header(
            out,
            self.ssrcs.len(),
            PT_BYE,
            4 * self.ssrcs.len() + reason_len,
        )?;
        for s in &self.ssrcs {
            out.put_u32(*s);
        }
        if !reason.is_empty() {
            out.put_u8(reason.len() as u8);
            out.put_slice(reason);
            out.put_bytes(0, reason_len - 1 - reason.len());
        }
        Ok(())
    }
}

/// Appends an SDES packet with one chunk carrying a CNAME (at most 255 bytes).
pub fn write_sdes_cname(out: &mut BytesMut, ssrc: u32, cname: &str) -> Result<()> {
    let name = cname.as_bytes();
    let name = &name[..name.len().min(255)];
    // ssrc + type + len + text + at least one null, rounded up to a word.
    let chunk = (4 + 2 + name.len() + 1).div_ceil(4) * 4;
    header(out, 1, PT_SDES, chunk)?;
    out.put_u32(ssrc);
    out.put_u8(1);
    out.put_u8(name.len() as u8);
    out.put_slice(name);
    out.put_bytes(0, chunk - 6 - name.len());
    Ok(())
}

/// Builds the compound packet a receiver sends: RR + SDES(CNAME).
pub fn build_receiver_report_with_cname(
    ssrc: u32,
    blocks: &[ReportBlock],
    cname: &str,
) -> Result<Bytes> {
    let mut out = BytesMut::with_capacity(64 + 24 * blocks.len());
    ReceiverReport {
        ssrc,
        reports: blocks.to_vec(),
    }
    .write(&mut out)?;
    write_sdes_cname(&mut out, ssrc, cname)?;
    Ok(out.freeze())
}

/// Builds the compound packet a sender (the mock camera) sends: SR + SDES(CNAME).
pub fn build_sender_report_with_cname(sr: &SenderReport, cname: &str) -> Result<Bytes> {
    let mut out = BytesMut::with_capacity(64);
    sr.write(&mut out)?;
    write_sdes_cname(&mut out, sr.ssrc, cname)?;
    Ok(out.freeze())
}

/// Builds a compound RR + SDES(CNAME) + BYE, sent when leaving a session.
pub fn build_goodbye(ssrc: u32, cname: &str, reason: Option<&str>) -> Result<Bytes> {
    let mut out = BytesMut::with_capacity(64);
    ReceiverReport {
        ssrc,
        reports: Vec::new(),
    }
    .write(&mut out)?;
    write_sdes_cname(&mut out, ssrc, cname)?;
    Goodbye {
        ssrcs: vec![ssrc],
        reason: reason.map(str::to_owned),
    }
    .write(&mut out)?;
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn sender_report_round_trip_keeps_time_mapping() {
        let sr = SenderReport {
            ssrc: 0xdead_beef,
            ntp: NtpTimestamp(0xe8a1_2345_8000_0000),
            rtp_timestamp: 123_456,
            packet_count: 10,
            octet_count: 14_000,
            reports: vec![ReportBlock {
                ssrc: 1,
                cumulative_lost: -2,
                ..Default::default()
            }],
        };
        let wire = build_sender_report_with_cname(&sr, "cam").unwrap();
        let parsed = parse_compound(&wire).unwrap();
        assert_eq!(parsed[0], RtcpPacket::SenderReport(sr));
        assert_eq!(wire.len() % 4, 0);
    }

    #[test]
    fn app_and_unknown_types_are_skipped() {
        let mut out = BytesMut::new();
        // APP packet: name "TEST", 4 bytes of data.
        out.put_slice(&[0x80, PT_APP, 0, 2, b'T', b'E', b'S', b'T', 0, 0, 0, 0]);
        // Unknown type 210 (e.g. a future feedback type).
        out.put_slice(&[0x80, 210, 0, 0]);
        Goodbye {
            ssrcs: vec![7],
            reason: Some("camera shutting down".into()),
        }
        .write(&mut out)
        .unwrap();
        let parsed = parse_compound(&out).unwrap();
        assert_eq!(
            parsed,
            vec![RtcpPacket::Goodbye(Goodbye {
                ssrcs: vec![7],
                reason: Some("camera shutting down".into())
            })]
        );
    }

    #[test]
    fn bogus_padding_count_is_ignored() {
        let mut out = BytesMut::new();
        ReceiverReport {
            ssrc: 5,
            reports: vec![],
        }
        .write(&mut out)
        .unwrap();
        out[0] |= 0x20; // P set but the last octet (0x05 of the SSRC) exceeds the body: ignored
        let parsed = parse_compound(&out).unwrap();
        assert!(matches!(&parsed[0], RtcpPacket::ReceiverReport(r) if r.ssrc == 5));
    }

    #[test]
    fn truncated_first_packet_is_malformed() {
        let e = parse_compound(&[0x80, 201, 0, 7, 0, 0, 0, 1]).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Malformed);
        assert_eq!(
            parse_compound(&[0x00, 201, 0, 0]).unwrap_err().kind(),
            &ErrorKind::Malformed
        );
    }

    #[test]
    fn goodbye_compound_parses_back() {
        let wire = build_goodbye(9, "me", None).unwrap();
        let p = parse_compound(&wire).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(
            p[2],
            RtcpPacket::Goodbye(Goodbye {
                ssrcs: vec![9],
                reason: None
            })
        );
    }
}
