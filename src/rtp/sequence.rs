//! Sequence number and timestamp unwrapping, loss / duplicate / reorder detection and the
//! reception statistics of RFC 3550 appendix A.1, A.3 and A.8.

use std::time::Instant;

use super::rtcp::ReportBlock;

/// A jump forward larger than this many sequence numbers is a possible stream restart
/// (RFC 3550 A.1 `MAX_DROPOUT`).
pub const MAX_DROPOUT: u16 = 3000;
/// A jump backward larger than this is not a late packet but a possible restart (`MAX_MISORDER`).
pub const MAX_MISORDER: u16 = 100;
/// How many sequence numbers behind the highest are remembered to tell duplicates from late
/// packets.
pub const HISTORY: u64 = 128;

/// Unwraps 32-bit RTP timestamps into a continuous 64-bit signed timeline.
///
/// Each timestamp is placed within ±2^31 of the previous one, so wraps and modest reordering
/// both come out right.
#[derive(Debug, Clone, Default)]
pub struct TimestampUnwrapper {
    last: Option<i64>,
}

impl TimestampUnwrapper {
    /// A fresh unwrapper (the first timestamp maps to itself).
    pub fn new() -> Self {
        Self::default()
    }

    /// The extended value of `ts`.
    pub fn unwrap(&mut self, ts: u32) -> i64 {
        let ext = match self.last {
            None => i64::from(ts),
            Some(last) => {
                let delta = i64::from(ts.wrapping_sub(last as u32) as i32);
                last.saturating_add(delta)
            }
        };
        self.last = Some(ext);
        ext
    }

    /// The last extended value returned.
    pub fn last(&self) -> Option<i64> {
        self.last
    }
}

/// What one packet's sequence number says about the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqEvent {
    /// The first packet, or the packet right after the previous one.
    InOrder {
        /// Extended (64-bit, unwrapped) sequence number.
        ext_seq: u64,
    },
    /// A packet after a gap: `lost` packets are missing before it (so far; they may still come
    /// late).
    Gap {
        /// Extended sequence number.
        ext_seq: u64,
        /// Packets skipped.
        lost: u64,
    },
    /// A packet older than the highest seen, not seen before.
    Late {
        /// Extended sequence number.
        ext_seq: u64,
    },
    /// A packet seen before.
    Duplicate {
        /// Extended sequence number.
        ext_seq: u64,
    },
    /// A large jump: ignored until the next packet confirms it (then `Restart`).
    Stray,
    /// The sender restarted its sequence; statistics start over from this packet.
    Restart {
        /// Extended sequence number.
        ext_seq: u64,
    },
}

/// Reception statistics for one source, as RFC 3550 A.1/A.3/A.8 computes them.
#[derive(Debug, Clone, Default)]
pub struct SequenceTracker {
    base: u64,
    max: Option<u64>,
    bad_seq: Option<u16>,
    seen: u128,
    received: u64,
    duplicates: u64,
    late: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Interarrival jitter × 16 (RFC 3550 A.8's integer form).
    jitter_x16: u64,
    last_transit: Option<i64>,
    origin: Option<Instant>,
    /// The last arrival time converted to RTP units (arrival, clock rate, units): packets read
    /// in one batch share their arrival time, and the conversion is done once for them.
    last_arrival: Option<(Instant, u32, i64)>,
    last_sr: Option<(u32, Instant)>,
}

impl SequenceTracker {
    /// A tracker with no packets yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn reset_to(&mut self, ext: u64) {
        *self = SequenceTracker {
            base: ext,
            max: Some(ext),
            seen: 1,
            received: 1,
            origin: self.origin,
            last_sr: self.last_sr,
            ..Default::default()
        };
    }

    /// Records a packet's sequence number and classifies it.
    pub fn on_packet(&mut self, seq: u16) -> SeqEvent {
        let Some(max) = self.max else {
            // Start the first cycle one above zero so late packets before the first stay >= 0.
            let ext = (1u64 << 16) | u64::from(seq);
            self.reset_to(ext);
            return SeqEvent::InOrder { ext_seq: ext };
        };
        let udelta = seq.wrapping_sub(max as u16);
        if udelta == 0 {
            self.duplicates += 1;
            return SeqEvent::Duplicate { ext_seq: max };
        }
        if udelta < MAX_DROPOUT {
            self.bad_seq = None;
            let ext = max + u64::from(udelta);
            let shift = u64::from(udelta);
            self.seen = if shift >= 128 { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.max = Some(ext);
            self.received += 1;
            return if udelta == 1 {
                SeqEvent::InOrder { ext_seq: ext }
            } else {
                SeqEvent::Gap {
                    ext_seq: ext,
                    lost: u64::from(udelta) - 1,
                }
            };
        }
        let back = 0u16.wrapping_sub(udelta);
        if back <= MAX_MISORDER && u64::from(back) <= max {
            let ext = max - u64::from(back);
            if ext < self.base {
                self.late += 1;
                return SeqEvent::Late { ext_seq: ext };
            }
            let bit = 1u128 << back;
            if u64::from(back) < HISTORY && self.seen & bit != 0 {
                self.duplicates += 1;
                return SeqEvent::Duplicate { ext_seq: ext };
            }
            if u64::from(back) < HISTORY {
                self.seen |= bit;
            }
            self.received += 1;
            self.late += 1;
            return SeqEvent::Late { ext_seq: ext };
        }
        // A big jump: restart if two in a row agree (RFC 3550 A.1 probation).
        if self.bad_seq == Some(seq) {
            let ext = (max & !0xffff) + (1 << 16) + u64::from(seq);
            self.reset_to(ext);
            SeqEvent::Restart { ext_seq: ext }
        } else {
            self.bad_seq = Some(seq.wrapping_add(1));
            SeqEvent::Stray
        }
    }

    /// Updates the interarrival jitter (RFC 3550 A.8) with a packet's RTP timestamp, its
    /// arrival time and the stream's clock rate.
    pub fn on_arrival(&mut self, rtp_timestamp: u32, arrival: Instant, clock_rate: u32) {
        let arrival_units = match self.last_arrival {
            Some((at, rate, units)) if at == arrival && rate == clock_rate => units,
            _ => {
                let origin = *self.origin.get_or_insert(arrival);
                let elapsed = arrival.saturating_duration_since(origin);
                let rate = u64::from(clock_rate);
                // elapsed × rate / 10^9 in 64 bits (the same low 64 bits as the 128-bit
                // product): whole seconds scale exactly, and nanoseconds × rate < 2^62.
                let units = elapsed
                    .as_secs()
                    .wrapping_mul(rate)
                    .wrapping_add(u64::from(elapsed.subsec_nanos()) * rate / 1_000_000_000)
                    as i64;
                self.last_arrival = Some((arrival, clock_rate, units));
                units
            }
        };
        let transit = arrival_units.wrapping_sub(i64::from(rtp_timestamp));
        if let Some(last) = self.last_transit {
            // Differences of 32-bit timestamps: keep them in the 32-bit signed range.
            let d = (transit.wrapping_sub(last) as i32).unsigned_abs();
            // J += (|D| - J) / 16, in sixteenths and rounded (RFC 3550 A.8): no float on
            // the per-packet path. Never below zero: (J16 + 8) >> 4 <= J16.
            let j = self.jitter_x16;
            self.jitter_x16 = j - ((j + 8) >> 4) + u64::from(d);
        }
        self.last_transit = Some(transit);
    }

    /// Packets received (duplicates excluded).
    pub fn received(&self) -> u64 {
        self.received
    }
    /// Packets expected: highest extended seq - first + 1.
    pub fn expected(&self) -> u64 {
        self.max.map_or(0, |m| m - self.base + 1)
    }
    /// Packets lost (expected - received; negative only with late duplicates counted).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }
    /// Duplicates seen.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }
    /// Packets that arrived after a higher sequence number.
    pub fn late(&self) -> u64 {
        self.late
    }
    /// Interarrival jitter in RTP timestamp units.
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_x16 >> 4).unwrap_or(u32::MAX)
    }
    /// The extended highest sequence number as RTCP carries it (cycles counted from the first
    /// packet).
    pub fn extended_highest_seq(&self) -> u32 {
        self.max.map_or(0, |m| (m - (1 << 16)) as u32)
    }

    /// Records the source's Sender Report (its NTP time) received at `arrival`, for the LSR and
    /// DLSR fields of the next report block.
    pub fn on_sender_report(&mut self, ntp: super::NtpTimestamp, arrival: Instant) {
        self.last_sr = Some((ntp.middle32(), arrival));
    }

    /// A reception report block for `ssrc` at `now`, with LSR/DLSR from the last Sender Report
    /// recorded (0 when none), resetting the interval counters.
    pub fn report_block_at(&mut self, ssrc: u32, now: Instant) -> ReportBlock {
        let (lsr, dlsr) = match self.last_sr {
            None => (0, 0),
            Some((lsr, at)) => {
                let d = now.saturating_duration_since(at);
                let units = d.as_secs().saturating_mul(65_536)
                    + (u64::from(d.subsec_nanos()) * 65_536) / 1_000_000_000;
                (lsr, u32::try_from(units).unwrap_or(u32::MAX))
            }
        };
        self.report_block(ssrc, lsr, dlsr)
    }

    /// A reception report block for `ssrc` (RFC 3550 A.3), resetting the interval counters.
    /// `lsr` / `dlsr` come from the caller's Sender Report bookkeeping.
    pub fn report_block(&mut self, ssrc: u32, lsr: u32, dlsr: u32) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        let fraction_lost = (lost_interval << 8)
            .checked_div(expected_interval)
            .map_or(0, |f| f.min(255) as u8);
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7f_ffff) as i32,
            extended_highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            lsr,
            dlsr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrival_units_match_the_128_bit_formula_and_batches_share_them() {
        use std::time::Duration;
        let t0 = Instant::now();
        for (offset, rate) in [
            (Duration::from_nanos(1), 90_000u32),
            (Duration::new(3, 999_999_999), 90_000),
            (Duration::new(86_400 * 400, 123_456_789), 48_000),
            (Duration::new(1_000_000, 5), u32::MAX),
        ] {
            let mut t = SequenceTracker::new();
            t.on_arrival(0, t0, rate);
            t.on_arrival(0, t0 + offset, rate);
            let want = (offset.as_nanos() * u128::from(rate) / 1_000_000_000) as i64;
            assert_eq!(t.last_transit, Some(want), "{offset:?} at {rate}");
            // A second packet of the same batch: same arrival, converted once.
            t.on_arrival(10, t0 + offset, rate);
            assert_eq!(t.last_transit, Some(want - 10));
        }
    }
    use std::time::Duration;

    #[test]
    fn timestamps_unwrap_across_zero() {
        let mut u = TimestampUnwrapper::new();
        assert_eq!(u.unwrap(u32::MAX - 10), i64::from(u32::MAX - 10));
        assert_eq!(u.unwrap(5), i64::from(u32::MAX) + 6);
        assert_eq!(u.unwrap(u32::MAX), i64::from(u32::MAX)); // a late one, backwards
    }

    #[test]
    fn wrap_gap_late_duplicate_restart() {
        let mut t = SequenceTracker::new();
        let first = t.on_packet(65534);
        let SeqEvent::InOrder { ext_seq: e0 } = first else {
            panic!("{first:?}")
        };
        assert_eq!(t.on_packet(65535), SeqEvent::InOrder { ext_seq: e0 + 1 });
        assert_eq!(
            t.on_packet(2),
            SeqEvent::Gap {
                ext_seq: e0 + 4,
                lost: 2
            }
        );
        assert_eq!(t.on_packet(0), SeqEvent::Late { ext_seq: e0 + 2 });
        assert_eq!(t.on_packet(0), SeqEvent::Duplicate { ext_seq: e0 + 2 });
        assert_eq!(t.on_packet(2), SeqEvent::Duplicate { ext_seq: e0 + 4 });
        assert_eq!(
            (t.expected(), t.received(), t.lost(), t.duplicates()),
            (5, 4, 1, 2)
        );
        assert_eq!(t.extended_highest_seq(), 0x1_0002);
        let rb = t.report_block(42, 0, 0);
        assert_eq!((rb.fraction_lost, rb.cumulative_lost), (51, 1)); // 1/5 * 256
        // A sender restart: first jump is stray, confirmed by the next.
        assert_eq!(t.on_packet(30_000), SeqEvent::Stray);
        assert!(matches!(t.on_packet(30_001), SeqEvent::Restart { .. }));
        assert_eq!((t.expected(), t.received()), (1, 1));
    }

    #[test]
    fn lsr_and_dlsr_from_the_last_sender_report() {
        let mut t = SequenceTracker::new();
        t.on_packet(1);
        let t0 = Instant::now();
        assert_eq!(
            (t.report_block_at(5, t0).lsr, t.report_block_at(5, t0).dlsr),
            (0, 0)
        );
        t.on_sender_report(super::super::NtpTimestamp(0x0001_2345_6789_0000), t0);
        let rb = t.report_block_at(5, t0 + Duration::from_millis(1500));
        assert_eq!((rb.lsr, rb.dlsr), (0x2345_6789, 98_304)); // 1.5 s in 1/65536 s
    }

    #[test]
    fn jitter_grows_with_uneven_arrival() {
        let mut t = SequenceTracker::new();
        let t0 = Instant::now();
        for i in 0..50u32 {
            // 20 ms of 8 kHz audio per packet, arriving alternately 10 ms early/late.
            let wobble = if i % 2 == 0 { 0 } else { 20 };
            t.on_arrival(
                i * 160,
                t0 + Duration::from_millis(u64::from(i * 20 + wobble)),
                8000,
            );
        }
        assert!(t.jitter() > 100 && t.jitter() <= 160, "{}", t.jitter());
        let mut steady = SequenceTracker::new();
        for i in 0..50u32 {
            steady.on_arrival(i * 160, t0 + Duration::from_millis(u64::from(i * 20)), 8000);
        }
        assert_eq!(steady.jitter(), 0);
    }
}
