//! DNS messages as mDNS / DNS-SD uses them (RFC 1035, RFC 6762, RFC 6763): pure, bounded.
//!
//! [`build_query`] builds a query; [`Message::parse`] reads any DNS message with PTR, SRV, TXT,
//! A and AAAA records decoded (others kept raw); [`Message::encode`] writes one (used by test
//! responders and the mock cameras). Name compression is followed with loop protection: a
//! pointer must point before the name that uses it and at most [`MAX_POINTER_HOPS`] are taken.
//!
//! ```
//! use camlink::discovery::dns::{build_query, Message, RecordType};
//!
//! let q = build_query(0, &[("_rtsp._tcp.local", RecordType::Ptr)], true);
//! let parsed = Message::parse(&q)?;
//! assert_eq!(parsed.questions[0].name, "_rtsp._tcp.local");
//! assert!(parsed.questions[0].unicast_response);
//! # Ok::<(), camlink::Error>(())
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{Error, ErrorKind, Result};

/// Largest message parsed (the mDNS limit of RFC 6762 section 17, a jumbo Ethernet frame).
pub const MAX_MESSAGE_LEN: usize = 9000;
/// Most entries read from each section.
pub const MAX_RECORDS_PER_SECTION: usize = 64;
/// Most compression pointers followed while reading one name.
pub const MAX_POINTER_HOPS: usize = 32;
/// Longest name, in bytes of wire format (RFC 1035 section 3.1).
pub const MAX_NAME_LEN: usize = 255;
/// Most strings kept from one TXT record.
pub const MAX_TXT_STRINGS: usize = 64;

/// The record types camlink reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// Domain name pointer (DNS-SD service instances).
    Ptr,
    /// Text strings (DNS-SD key=value pairs).
    Txt,
    /// IPv6 address.
    Aaaa,
    /// Service location (target host and port).
    Srv,
    /// Any other type, by number.
    Other(u16),
}

impl RecordType {
    /// The wire value.
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Ptr => 12,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
            RecordType::Srv => 33,
            RecordType::Other(c) => c,
        }
    }

    /// From the wire value.
    pub fn from_code(c: u16) -> Self {
        match c {
            1 => RecordType::A,
            12 => RecordType::Ptr,
            16 => RecordType::Txt,
            28 => RecordType::Aaaa,
            33 => RecordType::Srv,
            c => RecordType::Other(c),
        }
    }
}

/// A question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name asked about, without the trailing dot.
    pub name: String,
    /// The type asked for.
    pub rtype: RecordType,
    /// The mDNS "QU" bit: answer by unicast.
    pub unicast_response: bool,
}

/// Decoded record data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A name (PTR).
    Ptr(String),
    /// A service location.
    Srv {
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// TCP/UDP port.
        port: u16,
        /// Target host name.
        target: String,
    },
    /// Character strings.
    Txt(Vec<Vec<u8>>),
    /// Any other data, raw.
    Other(Vec<u8>),
}

/// A resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name, without the trailing dot.
    pub name: String,
    /// Type.
    pub rtype: RecordType,
    /// Class (1 = IN), without the mDNS cache-flush bit.
    pub class: u16,
    /// The mDNS cache-flush bit.
    pub cache_flush: bool,
    /// Time to live in seconds.
    pub ttl: u32,
    /// Data.
    pub data: RData,
}

/// A DNS message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Transaction id (0 in mDNS).
    pub id: u16,
    /// Whether this is a response.
    pub response: bool,
    /// Questions.
    pub questions: Vec<Question>,
    /// Answers.
    pub answers: Vec<Record>,
    /// Authority records.
    pub authorities: Vec<Record>,
    /// Additional records.
    pub additionals: Vec<Record>,
}

/// Builds a standard query for `questions`, with the QU bit when `unicast_response`.
pub fn build_query(id: u16, questions: &[(&str, RecordType)], unicast_response: bool) -> Vec<u8> {
    Message {
        id,
        response: false,
        questions: questions
            .iter()
            .map(|(n, t)| Question {
                name: (*n).to_string(),
                rtype: *t,
                unicast_response,
            })
            .collect(),
        ..Message::default()
    }
    .encode()
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| Error::malformed("DNS message truncated", self.pos, self.buf))?;
        let s = self.buf.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok((u32::from(self.u16()?) << 16) | u32::from(self.u16()?))
    }

    /// Reads a (possibly compressed) name at the cursor.
    fn name(&mut self) -> Result<String> {
        let (name, next) = read_name(self.buf, self.pos)?;
        self.pos = next;
        Ok(name)
    }
}

/// Reads a name starting at `start`; returns it and the offset just after it (after the first
/// pointer, if compressed).
fn read_name(buf: &[u8], start: usize) -> Result<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut pos = start;
    let mut after: Option<usize> = None;
    let mut hops = 0usize;
    let mut wire_len = 0usize;
    // Pointers must go strictly backwards: below the lowest offset read so far.
    let mut floor = start;
    loop {
        let len = *buf
            .get(pos)
            .ok_or_else(|| Error::malformed("DNS name runs past the end", pos, buf))?;
        match len & 0xC0 {
            0x00 => {
                if len == 0 {
                    let next = after.unwrap_or(pos + 1);
                    return Ok((labels.join("."), next));
                }
                let l = usize::from(len);
                wire_len += l + 1;
                if wire_len > MAX_NAME_LEN {
                    return Err(Error::new(
                        ErrorKind::LimitExceeded,
                        format!("DNS name longer than {MAX_NAME_LEN} bytes"),
                    )
                    .with_offset(start as u64));
                }
                let label = buf
                    .get(pos + 1..pos + 1 + l)
                    .ok_or_else(|| Error::malformed("DNS label runs past the end", pos, buf))?;
                labels.push(String::from_utf8_lossy(label).into_owned());
                pos += 1 + l;
            }
            0xC0 => {
                let lo = *buf
                    .get(pos + 1)
                    .ok_or_else(|| Error::malformed("DNS pointer truncated", pos, buf))?;
                let target = (usize::from(len & 0x3F) << 8) | usize::from(lo);
                hops += 1;
                if hops > MAX_POINTER_HOPS || target >= floor {
                    return Err(Error::malformed(
                        "DNS compression pointer loops or points forward",
                        pos,
                        buf,
                    ));
                }
                if after.is_none() {
                    after = Some(pos + 2);
                }
                floor = target;
                pos = target;
            }
            _ => {
                return Err(Error::malformed("DNS label type not supported", pos, buf));
            }
        }
    }
}

impl Message {
    /// Parses a DNS message. Errors: [`ErrorKind::LimitExceeded`] above [`MAX_MESSAGE_LEN`],
    /// [`ErrorKind::Malformed`] for truncated data, bad names or compression loops. Sections
    /// longer than [`MAX_RECORDS_PER_SECTION`] are cut.
    pub fn parse(buf: &[u8]) -> Result<Message> {
        if buf.len() > MAX_MESSAGE_LEN {
            return Err(Error::limit("DNS message", MAX_MESSAGE_LEN));
        }
        let mut c = Cursor { buf, pos: 0 };
        let id = c.u16()?;
        let flags = c.u16()?;
        let qd = usize::from(c.u16()?);
        let an = usize::from(c.u16()?);
        let ns = usize::from(c.u16()?);
        let ar = usize::from(c.u16()?);
        let mut msg = Message {
            id,
            response: flags & 0x8000 != 0,
            ..Message::default()
        };
        for i in 0..qd {
            let name = c.name()?;
            let rtype = RecordType::from_code(c.u16()?);
            let class = c.u16()?;
            if i < MAX_RECORDS_PER_SECTION {
                msg.questions.push(Question {
                    name,
                    rtype,
                    unicast_response: class & 0x8000 != 0,
                });
            }
        }
        for (count, section) in [
            (an, &mut msg.answers),
            (ns, &mut msg.authorities),
            (ar, &mut msg.additionals),
        ] {
            for i in 0..count {
                let r = read_record(&mut c)?;
                if i < MAX_RECORDS_PER_SECTION {
                    section.push(r);
                }
            }
        }
        Ok(msg)
    }

    /// Every record of the answer, authority and additional sections.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.answers
            .iter()
            .chain(self.authorities.iter())
            .chain(self.additionals.iter())
    }

    /// Writes the message (names uncompressed). Names longer than DNS allows are cut at
    /// [`MAX_NAME_LEN`]; at most [`MAX_RECORDS_PER_SECTION`] entries per section are written.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        let cap = |n: usize| n.min(MAX_RECORDS_PER_SECTION) as u16;
        out.extend_from_slice(&self.id.to_be_bytes());
        let flags: u16 = if self.response { 0x8400 } else { 0 };
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&cap(self.questions.len()).to_be_bytes());
        out.extend_from_slice(&cap(self.answers.len()).to_be_bytes());
        out.extend_from_slice(&cap(self.authorities.len()).to_be_bytes());
        out.extend_from_slice(&cap(self.additionals.len()).to_be_bytes());
        for q in self.questions.iter().take(MAX_RECORDS_PER_SECTION) {
            write_name(&mut out, &q.name);
            out.extend_from_slice(&q.rtype.code().to_be_bytes());
            let class: u16 = 1 | if q.unicast_response { 0x8000 } else { 0 };
            out.extend_from_slice(&class.to_be_bytes());
        }
        for section in [&self.answers, &self.authorities, &self.additionals] {
            for r in section.iter().take(MAX_RECORDS_PER_SECTION) {
                write_record(&mut out, r);
            }
        }
        out
    }
}

fn read_record(c: &mut Cursor<'_>) -> Result<Record> {
    let name = c.name()?;
    let rtype = RecordType::from_code(c.u16()?);
    let class = c.u16()?;
    let ttl = c.u32()?;
    let len = usize::from(c.u16()?);
    let start = c.pos;
    let raw = c.take(len)?;
    let bad = |what: &'static str| Error::malformed(what, start, c.buf);
    let data = match rtype {
        RecordType::A => {
            let b: [u8; 4] = raw.try_into().map_err(|_| bad("A record is not 4 bytes"))?;
            RData::A(Ipv4Addr::from(b))
        }
        RecordType::Aaaa => {
            let b: [u8; 16] = raw
                .try_into()
                .map_err(|_| bad("AAAA record is not 16 bytes"))?;
            RData::Aaaa(Ipv6Addr::from(b))
        }
        RecordType::Ptr => RData::Ptr(read_name(c.buf, start)?.0),
        RecordType::Srv => {
            let mut s = Cursor {
                buf: c.buf,
                pos: start,
            };
            let priority = s.u16()?;
            let weight = s.u16()?;
            let port = s.u16()?;
            if s.pos > start + len {
                return Err(bad("SRV record too short"));
            }
            let target = s.name()?;
            RData::Srv {
                priority,
                weight,
                port,
                target,
            }
        }
        RecordType::Txt => {
            let mut strings = Vec::new();
            let mut i = 0usize;
            while let Some(&l) = raw.get(i) {
                let l = usize::from(l);
                let s = raw
                    .get(i + 1..i + 1 + l)
                    .ok_or_else(|| bad("TXT string runs past its record"))?;
                if strings.len() < MAX_TXT_STRINGS {
                    strings.push(s.to_vec());
                }
                i += 1 + l;
            }
            RData::Txt(strings)
        }
        RecordType::Other(_) => RData::Other(raw.to_vec()),
    };
    Ok(Record {
        name,
        rtype,
        class: class & 0x7FFF,
        cache_flush: class & 0x8000 != 0,
        ttl,
        data,
    })
}

fn write_name(out: &mut Vec<u8>, name: &str) {
    let mut written = 0usize;
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let bytes = label.as_bytes();
        let l = bytes.len().min(63);
        if written + l + 1 > MAX_NAME_LEN - 1 {
            break;
        }
        out.push(l as u8);
        out.extend_from_slice(bytes.get(..l).unwrap_or_default());
        written += l + 1;
    }
    out.push(0);
}

fn write_record(out: &mut Vec<u8>, r: &Record) {
    write_name(out, &r.name);
    out.extend_from_slice(&r.rtype.code().to_be_bytes());
    let class = r.class | if r.cache_flush { 0x8000 } else { 0 };
    out.extend_from_slice(&class.to_be_bytes());
    out.extend_from_slice(&r.ttl.to_be_bytes());
    let mut data = Vec::new();
    match &r.data {
        RData::A(a) => data.extend_from_slice(&a.octets()),
        RData::Aaaa(a) => data.extend_from_slice(&a.octets()),
        RData::Ptr(n) => write_name(&mut data, n),
        RData::Srv {
            priority,
            weight,
            port,
            target,
        } => {
            data.extend_from_slice(&priority.to_be_bytes());
            data.extend_from_slice(&weight.to_be_bytes());
            data.extend_from_slice(&port.to_be_bytes());
            write_name(&mut data, target);
        }
        RData::Txt(strings) => {
            for s in strings {
                let l = s.len().min(255);
                data.push(l as u8);
                data.extend_from_slice(s.get(..l).unwrap_or_default());
            }
            if strings.is_empty() {
                data.push(0);
            }
        }
        RData::Other(raw) => data.extend_from_slice(raw),
    }
    let len = data.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(data.get(..len).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, data: RData) -> Record {
        let rtype = match &data {
            RData::A(_) => RecordType::A,
            RData::Aaaa(_) => RecordType::Aaaa,
            RData::Ptr(_) => RecordType::Ptr,
            RData::Srv { .. } => RecordType::Srv,
            RData::Txt(_) => RecordType::Txt,
            RData::Other(_) => RecordType::Other(99),
        };
        Record {
            name: name.into(),
            rtype,
            class: 1,
            cache_flush: false,
            ttl: 120,
            data,
        }
    }

    #[test]
    fn response_round_trips() {
        let m = Message {
            id: 0,
            response: true,
            questions: vec![],
            answers: vec![rec(
                "_rtsp._tcp.local",
                RData::Ptr("Cam 1._rtsp._tcp.local".into()),
            )],
            authorities: vec![],
            additionals: vec![
                rec(
                    "Cam 1._rtsp._tcp.local",
                    RData::Srv {
                        priority: 0,
                        weight: 0,
                        port: 554,
                        target: "cam1.local".into(),
                    },
                ),
                rec(
                    "Cam 1._rtsp._tcp.local",
                    RData::Txt(vec![b"path=/live".to_vec()]),
                ),
                rec("cam1.local", RData::A(Ipv4Addr::new(192, 0, 2, 5))),
                rec("cam1.local", RData::Aaaa("fe80::5".parse().unwrap())),
            ],
        };
        assert_eq!(Message::parse(&m.encode()).unwrap(), m);
    }

    #[test]
    fn compressed_names_are_followed() {
        // Header, one answer: name "a.local" at 12, PTR data "b" + pointer to "local" (14+2=...).
        let mut b = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        b.extend_from_slice(b"\x01a\x05local\x00"); // offset 12: a.local ; "local" at 14
        b.extend_from_slice(&[0, 12, 0, 1, 0, 0, 0, 120, 0, 4]);
        b.extend_from_slice(b"\x01b\xC0\x0E");
        let m = Message::parse(&b).unwrap();
        assert_eq!(m.answers[0].name, "a.local");
        assert_eq!(m.answers[0].data, RData::Ptr("b.local".into()));
    }

    #[test]
    fn compression_loops_are_refused() {
        // A name that points to itself.
        let mut b = vec![0, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[0xC0, 12, 0, 12, 0, 1]);
        let e = Message::parse(&b).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Malformed);
        // Two pointers pointing at each other.
        let mut b = vec![0, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[0x01, b'x', 0xC0, 16, 0xC0, 12, 0, 12, 0, 1]);
        assert!(Message::parse(&b).is_err());
    }

    #[test]
    fn truncation_and_bounds() {
        assert!(Message::parse(&[0, 0, 0]).is_err());
        let mut b = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        b.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01\x00\x00\x00\x78\x00\x04\x01\x02");
        assert_eq!(
            Message::parse(&b).unwrap_err().kind(),
            &ErrorKind::Malformed
        );
        assert_eq!(
            Message::parse(&vec![0; MAX_MESSAGE_LEN + 1])
                .unwrap_err()
                .kind(),
            &ErrorKind::LimitExceeded
        );
        // A name of 300 bytes.
        let mut b = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for _ in 0..5 {
            b.push(60);
            b.extend_from_slice(&[b'a'; 60]);
        }
        b.extend_from_slice(&[0, 0, 12, 0, 1]);
        assert_eq!(
            Message::parse(&b).unwrap_err().kind(),
            &ErrorKind::LimitExceeded
        );
    }

    #[test]
    fn query_has_qu_bit() {
        let q = build_query(7, &[("_onvif._tcp.local", RecordType::Ptr)], true);
        let m = Message::parse(&q).unwrap();
        assert_eq!(m.id, 7);
        assert!(!m.response);
        assert_eq!(m.questions[0].rtype, RecordType::Ptr);
        assert!(m.questions[0].unicast_response);
    }

    fn name_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        proptest::collection::vec("[a-z0-9_-]{1,20}", 1..5).prop_map(|l| l.join("."))
    }

    fn record_strategy() -> impl proptest::strategy::Strategy<Value = Record> {
        use proptest::prelude::*;
        let data = prop_oneof![
            any::<[u8; 4]>().prop_map(|b| RData::A(Ipv4Addr::from(b))),
            any::<[u8; 16]>().prop_map(|b| RData::Aaaa(Ipv6Addr::from(b))),
            name_strategy().prop_map(RData::Ptr),
            (any::<u16>(), any::<u16>(), any::<u16>(), name_strategy()).prop_map(
                |(priority, weight, port, target)| RData::Srv {
                    priority,
                    weight,
                    port,
                    target
                }
            ),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 1..5)
                .prop_map(RData::Txt),
        ];
        (name_strategy(), data, any::<bool>(), any::<u32>()).prop_map(
            |(name, data, cache_flush, ttl)| {
                let mut r = rec(&name, data);
                r.cache_flush = cache_flush;
                r.ttl = ttl;
                r
            },
        )
    }

    proptest::proptest! {
        #[test]
        fn records_round_trip(
            answers in proptest::collection::vec(record_strategy(), 0..6),
            additionals in proptest::collection::vec(record_strategy(), 0..6),
        ) {
            let m = Message { id: 0, response: true, questions: vec![], answers, authorities: vec![], additionals };
            proptest::prop_assert_eq!(Message::parse(&m.encode()).unwrap(), m);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = Message::parse(&data);
        }
    }
}
