//! A bounded reorder buffer for RTP over UDP.
//!
//! Packets go in with [`push`](ReorderBuffer::push) in arrival order and come out of
//! [`pop`](ReorderBuffer::pop) in sequence order. A missing packet is waited for until either
//! `depth` later packets are buffered or `max_delay` has passed since the oldest buffered one
//! arrived; then it is declared lost and the gap is reported on the next packet out. Time is
//! passed in; the IO shell sleeps until [`next_deadline`](ReorderBuffer::next_deadline).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use camlink::rtp::{ReorderBuffer, RtpPacket, RtpPacketBuilder};
//!
//! let pkt = |seq| RtpPacket::parse(RtpPacketBuilder::new(96, seq, 0, 1).build(b"x").unwrap()).unwrap();
//! let now = Instant::now();
//! let mut rb = ReorderBuffer::new(8, Duration::from_millis(50));
//! rb.push(pkt(10), now);
//! rb.push(pkt(12), now);
//! rb.push(pkt(11), now);
//! let seqs: Vec<u16> = std::iter::from_fn(|| rb.pop(now)).map(|r| r.packet.sequence_number()).collect();
//! assert_eq!(seqs, [10, 11, 12]);
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::packet::RtpPacket;

/// Largest depth accepted (packets buffered).
pub const MAX_DEPTH: usize = 4096;

/// A packet leaving the reorder buffer.
#[derive(Debug, Clone)]
pub struct Reordered {
    /// The packet.
    pub packet: RtpPacket,
    /// Extended sequence number.
    pub ext_seq: u64,
    /// Packets given up on just before this one.
    pub lost_before: u64,
}

/// What [`ReorderBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Buffered.
    Accepted,
    /// Already buffered or already delivered: dropped.
    Duplicate,
    /// Older than what was already delivered (its slot was given up as lost): dropped.
    TooLate,
}

/// The reorder buffer. See the [module docs](self).
#[derive(Debug)]
pub struct ReorderBuffer {
    depth: usize,
    max_delay: Duration,
    next: Option<u64>,
    highest: Option<u64>,
    buf: Held,
    late_in_a_row: usize,
    popped: bool,
    late: u64,
    duplicates: u64,
    lost: u64,
}

impl ReorderBuffer {
    /// A buffer holding at most `depth` packets (capped at [`MAX_DEPTH`], at least 1) and holding
    /// a packet back at most `max_delay` waiting for an earlier one.
    pub fn new(depth: usize, max_delay: Duration) -> Self {
        ReorderBuffer {
            depth: depth.clamp(1, MAX_DEPTH),
            max_delay,
            next: None,
            highest: None,
            buf: Held::default(),
            late_in_a_row: 0,
            popped: false,
            late: 0,
            duplicates: 0,
            lost: 0,
        }
    }

    fn extend(&self, seq: u16) -> u64 {
        match self.highest {
            None => (1u64 << 32) | u64::from(seq),
            Some(h) => {
                let d = i64::from(seq.wrapping_sub(h as u16) as i16);
                h.saturating_add_signed(d)
            }
        }
    }

    /// Adds a packet received at `now`.
    pub fn push(&mut self, packet: RtpPacket, now: Instant) -> PushOutcome {
        let ext = self.extend(packet.sequence_number());
        if !self.popped && self.next.is_some_and(|n| ext < n) {
            // Reordered before anything left: the stream starts earlier than first thought.
            self.next = Some(ext);
        }
        if let Some(next) = self.next
            && ext < next
        {
            self.late_in_a_row += 1;
            if self.late_in_a_row > self.depth {
                // The sender restarted its numbering far behind: start over from here.
                tracing::debug!(seq = packet.sequence_number(), "RTP sequence restart");
                self.next = None;
                self.highest = None;
                self.late_in_a_row = 0;
                self.popped = false;
                // Whatever is still held belongs to the old numbering.
                self.lost += self.buf.len() as u64;
                self.buf.clear();
                return self.push(packet, now);
            }
            self.late += 1;
            return PushOutcome::TooLate;
        }
        self.late_in_a_row = 0;
        if self.buf.contains(ext) {
            self.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        if self.next.is_none() {
            self.next = Some(ext);
        }
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        self.buf.insert(ext, now, packet);
        PushOutcome::Accepted
    }

    /// For a packet with sequence number `seq` that comes exactly in order while nothing is
    /// held (the usual case): takes note of it as [`push`](Self::push) and then
    /// [`pop`](Self::pop) would, and returns `true`, so that the caller hands the packet on
    /// without it passing through the buffer (it may then stay borrowed). Otherwise changes
    /// nothing and returns `false`: give the packet to `push`.
    pub fn pass_in_order(&mut self, seq: u16) -> bool {
        if !self.popped || !self.buf.is_empty() {
            return false;
        }
        let ext = self.extend(seq);
        if self.next != Some(ext) {
            return false;
        }
        self.late_in_a_row = 0;
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        self.next = Some(ext + 1);
        true
    }

    /// The next packet in order, if it is here or its predecessors were given up on.
    pub fn pop(&mut self, now: Instant) -> Option<Reordered> {
        let (first, _) = self.buf.first()?;
        let next = self.next.unwrap_or(first);
        if first != next {
            let overfull = self.buf.len() > self.depth;
            // The same rule as `next_deadline`: the oldest packet held has waited long enough
            // (not only the lowest one, which may have come later than those behind it).
            let waited = self
                .buf
                .oldest_arrival()
                .is_some_and(|t| now.saturating_duration_since(t) >= self.max_delay);
            if !overfull && !waited {
                return None;
            }
        }
        let packet = self.buf.remove_first()?;
        let lost_before = first.saturating_sub(next);
        self.lost += lost_before;
        self.popped = true;
        self.next = Some(first + 1);
        Some(Reordered {
            packet,
            ext_seq: first,
            lost_before,
        })
    }

    /// When [`pop`](Self::pop) would give up waiting for a missing packet, if one is missing.
    pub fn next_deadline(&self) -> Option<Instant> {
        let (first, _) = self.buf.first()?;
        if Some(first) == self.next {
            return None;
        }
        // The oldest arrival among buffered packets bounds the wait.
        self.buf.oldest_arrival().map(|t| t + self.max_delay)
    }

    /// Packets buffered.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Packets declared lost so far.
    pub fn lost(&self) -> u64 {
        self.lost
    }
    /// Packets dropped as duplicates.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }
    /// Packets dropped because they came after their slot was given up.
    pub fn late(&self) -> u64 {
        self.late
    }
}

/// The packets held, by extended sequence number. The lowest one is kept apart from the map:
/// packets that come in order go in and out there without touching (or allocating for) the
/// map, which only holds the packets behind a gap.
#[derive(Debug, Default)]
struct Held {
    /// The lowest key held; `None` only when `rest` is empty too.
    head: Option<(u64, Instant, RtpPacket)>,
    /// Every other key held, all above `head`'s.
    rest: BTreeMap<u64, (Instant, RtpPacket)>,
}

impl Held {
    fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.len()
    }
    fn is_empty(&self) -> bool {
        self.head.is_none()
    }
    fn contains(&self, k: u64) -> bool {
        self.head.as_ref().is_some_and(|h| h.0 == k) || self.rest.contains_key(&k)
    }
    /// Adds a key not held yet.
    fn insert(&mut self, k: u64, at: Instant, p: RtpPacket) {
        match self.head.take() {
            None => self.head = Some((k, at, p)),
            Some(h) if k < h.0 => {
                self.rest.insert(h.0, (h.1, h.2));
                self.head = Some((k, at, p));
            }
            Some(h) => {
                self.head = Some(h);
                self.rest.insert(k, (at, p));
            }
        }
    }
    /// The lowest key and when its packet arrived.
    fn first(&self) -> Option<(u64, Instant)> {
        self.head.as_ref().map(|h| (h.0, h.1))
    }
    fn remove_first(&mut self) -> Option<RtpPacket> {
        let (_, _, p) = self.head.take()?;
        self.head = self.rest.pop_first().map(|(k, (at, p))| (k, at, p));
        Some(p)
    }
    fn oldest_arrival(&self) -> Option<Instant> {
        let head = self.head.as_ref().map(|h| h.1);
        self.rest.values().map(|(t, _)| *t).chain(head).min()
    }
    fn clear(&mut self) {
        self.head = None;
        self.rest.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacketBuilder;

    fn pkt(seq: u16) -> RtpPacket {
        RtpPacket::parse(RtpPacketBuilder::new(96, seq, 0, 1).build(b"x").unwrap()).unwrap()
    }

    fn drain(rb: &mut ReorderBuffer, now: Instant) -> Vec<(u16, u64)> {
        std::iter::from_fn(|| rb.pop(now))
            .map(|r| (r.packet.sequence_number(), r.lost_before))
            .collect()
    }

    /// `pass_in_order` then `push` gives the same packets out, with the same losses and
    /// counters, as `push` alone, whatever the arrival order (wrap, gaps given up, reorders,
    /// duplicates, late packets, a sequence restart).
    #[test]
    fn pass_in_order_is_push_then_pop() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let arrivals: &[(u16, u64)] = &[
            (65533, 0),
            (65534, 1),
            (65535, 2),
            (0, 3),
            (1, 4),
            (3, 5),
            (2, 6),
            (4, 7),
            (4, 8),
            (2, 9),
            (6, 10),
            (7, 11),
            (8, 60),
            (5, 61),
            (9, 62),
            (10, 63),
            (11, 64),
            (12, 65),
            (14, 66),
            (15, 67),
            (16, 68),
            (17, 69),
            (18, 70),
            (19, 71),
            (20, 72),
            (21, 73),
            (22, 74),
            (23, 75),
            (25, 76),
            (24, 77),
            (26, 78),
            (27, 79),
            (29, 80),
            (30, 130),
            (31, 131),
            (32, 132),
            (33, 133),
            (34, 134),
            (35, 135),
            // A jump ahead: the gap is given up once enough later packets are held.
            (100, 136),
            (101, 137),
            (102, 138),
            (103, 139),
            (104, 140),
            (105, 141),
            (106, 142),
            (107, 143),
            (108, 144),
            (109, 145),
            (110, 146),
            (111, 147),
            // The sender restarts far behind: late packets, then a resync.
            (1, 150),
            (2, 151),
            (3, 152),
            (4, 153),
            (5, 154),
            (6, 155),
            (7, 156),
            (8, 157),
        ];
        let mut a = ReorderBuffer::new(4, ms(40));
        let mut b = ReorderBuffer::new(4, ms(40));
        let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
        let mut passed = 0;
        for &(seq, at) in arrivals {
            let now = t0 + ms(at);
            a.push(pkt(seq), now);
            out_a.extend(drain(&mut a, now));
            if b.pass_in_order(seq) {
                passed += 1;
                out_b.push((seq, 0));
            } else {
                b.push(pkt(seq), now);
            }
            out_b.extend(drain(&mut b, now));
        }
        assert_eq!(out_a, out_b);
        assert!(passed > arrivals.len() / 2, "{passed} passed");
        assert_eq!(
            (a.lost(), a.late(), a.duplicates(), a.len()),
            (b.lost(), b.late(), b.duplicates(), b.len())
        );
        assert_eq!(a.next_deadline(), b.next_deadline());
        // Late packets between in-order ones (each in-order packet ends a run of late ones; six
        // late in a row would be a restart at depth 4), then more than half the sequence space
        // in order (the extended numbers stay right across wraps).
        let mut seq = 9u16;
        for round in 0..70_000u32 {
            let at = 200 + u64::from(round);
            let late = round < 6;
            let s = if late { 1 + round as u16 % 3 } else { seq };
            let now = t0 + ms(at);
            a.push(pkt(s), now);
            let got_a = drain(&mut a, now);
            let got_b = if b.pass_in_order(s) {
                vec![(s, 0)]
            } else {
                b.push(pkt(s), now);
                drain(&mut b, now)
            };
            assert_eq!(got_a, got_b, "round {round}");
            if late {
                // Three late packets, then the next in order.
                if round % 3 == 2 {
                    let now = t0 + ms(at);
                    a.push(pkt(seq), now);
                    let got_a = drain(&mut a, now);
                    assert!(b.pass_in_order(seq));
                    assert_eq!(got_a, [(seq, 0)]);
                    seq = seq.wrapping_add(1);
                }
            } else {
                seq = seq.wrapping_add(1);
            }
        }
        assert_eq!(
            (a.lost(), a.late(), a.duplicates(), a.len()),
            (b.lost(), b.late(), b.duplicates(), b.len())
        );
        // Nothing has been popped yet, or something is held: never passed.
        let mut c = ReorderBuffer::new(4, ms(40));
        assert!(!c.pass_in_order(1));
        c.push(pkt(1), t0);
        assert_eq!(drain(&mut c, t0), [(1, 0)]);
        c.push(pkt(3), t0);
        assert!(!c.pass_in_order(2));
        assert!(!c.pass_in_order(4));
    }

    #[test]
    fn gap_is_given_up_after_max_delay() {
        let t0 = Instant::now();
        let mut rb = ReorderBuffer::new(16, Duration::from_millis(40));
        rb.push(pkt(65535), t0);
        assert_eq!(drain(&mut rb, t0), [(65535, 0)]);
        rb.push(pkt(1), t0 + Duration::from_millis(5));
        assert_eq!(drain(&mut rb, t0 + Duration::from_millis(10)), []);
        assert_eq!(rb.next_deadline(), Some(t0 + Duration::from_millis(45)));
        assert_eq!(drain(&mut rb, t0 + Duration::from_millis(45)), [(1, 1)]);
        // The lost packet arriving now is too late.
        assert_eq!(
            rb.push(pkt(0), t0 + Duration::from_millis(50)),
            PushOutcome::TooLate
        );
        assert_eq!((rb.lost(), rb.late()), (1, 1));
    }

    #[test]
    fn reordering_of_the_very_first_packets_is_repaired() {
        let t0 = Instant::now();
        let mut rb = ReorderBuffer::new(4, Duration::from_millis(40));
        rb.push(pkt(11), t0);
        assert_eq!(rb.push(pkt(10), t0), PushOutcome::Accepted);
        assert_eq!(drain(&mut rb, t0), [(10, 0), (11, 0)]);
    }

    #[test]
    fn gap_is_given_up_when_depth_is_exceeded() {
        let t0 = Instant::now();
        let mut rb = ReorderBuffer::new(2, Duration::from_secs(10));
        rb.push(pkt(1), t0);
        drain(&mut rb, t0);
        for s in [3, 4] {
            rb.push(pkt(s), t0);
        }
        assert_eq!(drain(&mut rb, t0), []);
        rb.push(pkt(5), t0);
        assert_eq!(drain(&mut rb, t0), [(3, 1), (4, 0), (5, 0)]);
    }

    proptest::proptest! {
        /// Whatever the arrival order (bounded displacement, duplicates, losses) and timing:
        /// packets come out once each, in increasing order, and every slot skipped is counted
        /// as lost; with no loss and displacement within the depth, nothing is lost.
        #[test]
        fn out_in_order_once_and_gaps_counted(
            len in 1usize..200,
            jitter in proptest::collection::vec(0usize..5, 200),
            drops in proptest::collection::vec(0usize..200, 0..10),
            dups in proptest::collection::vec(0usize..200, 0..3),
            steps in proptest::collection::vec(0u64..30, 200),
            start in 0u16..=u16::MAX,
        ) {
            // Each packet comes at most 4 places early, so that fewer late packets come in a
            // row than the depth (more would be taken for a restart of the numbering).
            let mut order: Vec<usize> = (0..len).collect();
            order.sort_by_key(|&i| (i.saturating_sub(jitter[i]), i));
            for d in &dups {
                let at = d % order.len();
                order.insert(at, order[at]);
            }
            let dropped: std::collections::BTreeSet<usize> = drops.iter().map(|d| d % len).collect();
            order.retain(|i| !dropped.contains(i));
            let t0 = Instant::now();
            let mut rb = ReorderBuffer::new(8, Duration::from_millis(40));
            let mut now = t0;
            let mut out: Vec<(u64, u64)> = Vec::new();
            for (n, &i) in order.iter().enumerate() {
                now += Duration::from_millis(steps[n % steps.len()]);
                rb.push(pkt(start.wrapping_add(i as u16)), now);
                out.extend(std::iter::from_fn(|| rb.pop(now)).map(|r| (r.ext_seq, r.lost_before)));
                if let Some(d) = rb.next_deadline() {
                    proptest::prop_assert!(d > now, "a deadline already passed was not acted on");
                }
            }
            let end = now + Duration::from_secs(1);
            out.extend(std::iter::from_fn(|| rb.pop(end)).map(|r| (r.ext_seq, r.lost_before)));
            proptest::prop_assert!(rb.is_empty());
            proptest::prop_assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "not in order: {out:?}");
            // Every slot between two packets out is accounted for as lost before the later one.
            for w in out.windows(2) {
                proptest::prop_assert_eq!(w[1].0 - w[0].0 - 1, w[1].1);
            }
            proptest::prop_assert_eq!(rb.lost(), out.iter().map(|o| o.1).sum::<u64>());
            let delivered = out.len() as u64;
            let late_or_dup = rb.late() + rb.duplicates();
            proptest::prop_assert_eq!(delivered + late_or_dup, order.len() as u64);
        }
    }

    #[test]
    fn duplicates_are_dropped_and_restart_resyncs() {
        let t0 = Instant::now();
        let mut rb = ReorderBuffer::new(2, Duration::from_millis(1));
        assert_eq!(rb.push(pkt(40_000), t0), PushOutcome::Accepted);
        assert_eq!(rb.push(pkt(40_000), t0), PushOutcome::Duplicate);
        drain(&mut rb, t0);
        // The camera restarts far behind: after `depth` refusals the buffer follows it.
        let mut outcomes = Vec::new();
        for s in 30_000..30_004 {
            outcomes.push(rb.push(pkt(s), t0));
        }
        assert_eq!(outcomes[..2], [PushOutcome::TooLate, PushOutcome::TooLate]);
        assert_eq!(outcomes[2], PushOutcome::Accepted);
        assert_eq!(drain(&mut rb, t0), [(30_002, 0), (30_003, 0)]);
    }
}
