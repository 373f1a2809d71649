//! Read coalescing ([`SessionOptions::read_coalescing`](super::SessionOptions::read_coalescing)):
//! one wake-up handles about one interval of the stream instead of one frame. Pure logic:
//!
//! - TCP ([`Coalescer`]): how many bytes the kernel should collect before it wakes the
//!   session; the connection applies the answer as the socket's receive low-water mark
//!   (`SO_RCVLOWAT`).
//! - UDP ([`DrainClock`]): Linux wakes a datagram socket's reader for every datagram whatever
//!   its low-water mark, so coalescing UDP sockets are left out of the runtime's readiness
//!   polling altogether and drained on a clock instead; the clock's tick follows how full the
//!   socket's receive buffer was at each drain, so that datagrams never wait long enough to
//!   overflow it.
//!
//! TCP: after each read, the rate of the stream over the time since the previous read gives
//! the bytes of three quarters of an interval; the mark moves halfway there (a keyframe does
//! not swing it at once). When less than the mark arrives within an interval, a deadline (the
//! previous read plus the interval and [`DEADLINE_MARGIN`]) makes the session read what is
//! there anyway, and that smaller read lowers the mark: latency stays bounded by about one
//! interval whatever the stream does.

use std::time::{Duration, Instant};

/// How much later than one interval after the previous read the TCP deadline falls. tokio's
/// timer wheel files a timer more than 64 ms away in a coarser level and wakes the runtime
/// once in the 64 ms before it fires to move it; with a steady stream the mark is reached
/// about one interval after the previous read (three quarters, rounded up to the frames the
/// sender writes), so a deadline at exactly one interval cost that extra wake-up at nearly
/// every read (measured: 19 % of one session's CPU at 200 ms, 13 % with 500 sessions). With
/// this margin the read comes first and replaces the timer before it is moved.
pub(crate) const DEADLINE_MARGIN: Duration = Duration::from_millis(64);

/// The low-water mark for a coalescing interval, from the reads seen.
#[derive(Debug, Clone)]
pub(crate) struct Coalescer {
    interval: Duration,
    /// Largest mark (a read's worth of bytes).
    cap: usize,
    /// The current mark (1: every byte wakes the session).
    mark: usize,
    /// When the previous read returned.
    last: Option<Instant>,
    /// The deadline passed: the next arrival is read whatever its size.
    passed: bool,
}

impl Coalescer {
    /// `interval` > 0; `cap`: the most bytes worth waiting for (one read's room).
    pub(crate) fn new(interval: Duration, cap: usize) -> Coalescer {
        Coalescer {
            interval,
            cap: cap.max(1),
            mark: 1,
            last: None,
            passed: false,
        }
    }

    /// The current mark.
    #[cfg(test)]
    pub(crate) fn mark(&self) -> usize {
        self.mark
    }

    /// A read of `n` bytes returned at `now`; the new mark.
    pub(crate) fn on_read(&mut self, n: usize, now: Instant) -> usize {
        let target = match self.last {
            None => 1,
            Some(t) => {
                let e = now.saturating_duration_since(t).as_micros().max(1);
                // n bytes in e µs; the bytes of 3/4 of the interval.
                let want = (n as u128) * self.interval.as_micros() * 3 / (4 * e);
                usize::try_from(want).unwrap_or(usize::MAX)
            }
        };
        self.last = Some(now);
        self.passed = false;
        self.mark = (self.mark / 2 + target / 2).clamp(1, self.cap);
        self.mark
    }

    /// When the session should read whatever is there: the previous read plus the interval
    /// and [`DEADLINE_MARGIN`] (none while the mark is 1, or once the deadline has passed:
    /// then the next arrival wakes it).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.mark <= 1 || self.passed {
            return None;
        }
        self.last.map(|t| t + self.interval + DEADLINE_MARGIN)
    }

    /// The deadline has passed (the mark goes down to one byte until the next read).
    pub(crate) fn on_deadline(&mut self) {
        self.passed = true;
    }

    /// Starts over (after the connection was read for something else, e.g. a response).
    pub(crate) fn reset(&mut self) {
        self.mark = 1;
        self.last = None;
        self.passed = false;
    }
}

/// Fill of a socket's receive buffer that the [`DrainClock`] aims for at each drain: the rest
/// is room for a keyframe or a burst arriving within one tick.
pub(crate) const TARGET_FILL: (usize, usize) = (1, 4);
/// Shortest tick: a stream too fast for its buffer at this pace is drained every millisecond.
pub(crate) const MIN_TICK: Duration = Duration::from_millis(1);
/// First tick (and the start after a drain that could not see the buffer's fill).
pub(crate) const FIRST_TICK: Duration = Duration::from_millis(10);
/// Largest growth of the tick from one drain to the next (numerator, denominator).
const GROWTH: (u32, u32) = (3, 2);

/// How full a receive buffer was when it was drained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fill {
    /// Bytes the queued datagrams took (the kernel's accounting: payload plus overhead).
    pub(crate) queued: usize,
    /// The buffer's size in the same accounting (what Linux reports for `SO_RCVBUF`).
    pub(crate) capacity: usize,
}

/// When a coalescing UDP session next drains its sockets.
///
/// The tick starts at [`FIRST_TICK`] and grows by at most half at each drain, up to the
/// interval, as long as the receive buffers were at most [`TARGET_FILL`] full; a fuller buffer
/// shortens it at once in proportion (the buffer filled at the rate since the previous
/// drain), down to [`MIN_TICK`]. A drain that left datagrams behind (it read its fair share
/// and stopped) asks for the next one at once, and that one leaves the tick alone (the fill
/// it sees is what the first left, not a tick's worth).
#[derive(Debug, Clone)]
pub(crate) struct DrainClock {
    interval: Duration,
    tick: Duration,
    last: Option<Instant>,
    again: bool,
}

impl DrainClock {
    /// `interval` > 0: the longest a datagram waits in the socket.
    pub(crate) fn new(interval: Duration) -> DrainClock {
        let interval = interval.max(MIN_TICK);
        DrainClock {
            interval,
            tick: FIRST_TICK.min(interval),
            last: None,
            again: false,
        }
    }

    /// The current tick.
    #[cfg(test)]
    pub(crate) fn tick(&self) -> Duration {
        self.tick
    }

    /// When to drain next (`None` before the first drain: at once).
    pub(crate) fn next(&self) -> Option<Instant> {
        let last = self.last?;
        Some(if self.again { last } else { last + self.tick })
    }

    /// Whether a drain is due at `now`.
    pub(crate) fn due(&self, now: Instant) -> bool {
        self.next().is_none_or(|t| now >= t)
    }

    /// The sockets were drained at `now`; `fill`: the fullest receive buffer found before
    /// reading (`None`: unknown); `more`: datagrams were left behind.
    pub(crate) fn on_drain(&mut self, now: Instant, fill: Option<Fill>, more: bool) {
        let elapsed = self.last.map(|t| now.saturating_duration_since(t));
        let rest = self.again;
        self.last = Some(now);
        self.again = more;
        if rest {
            return;
        }
        let grown = (self.tick * GROWTH.0 / GROWTH.1).min(self.interval);
        self.tick = match (fill, elapsed) {
            (Some(f), Some(e)) if f.capacity > 0 && f.queued > 0 => {
                // The time the buffer takes to reach the target fill at the rate just seen:
                // e * (capacity * TARGET_FILL) / queued.
                let want = (f.capacity as u128) * TARGET_FILL.0 as u128;
                let have = (f.queued as u128) * TARGET_FILL.1 as u128;
                let safe_us = e.as_micros().saturating_mul(want) / have.max(1);
                let safe = Duration::from_micros(u64::try_from(safe_us).unwrap_or(u64::MAX));
                grown.min(safe)
            }
            (Some(f), _) if f.capacity > 0 => grown,
            // Nothing tells how full the buffers get: stay short.
            _ => self.tick.min(FIRST_TICK),
        }
        .clamp(MIN_TICK, self.interval);
    }
}

/// A polled socket's fill is read (`SO_MEMINFO`, a system call) at least every this many
/// drains; in between it is estimated from what the drains read.
pub(crate) const PROBE_EVERY: u32 = 8;
/// Least the kernel is taken to account per queued datagram (its buffer head alone takes more
/// on Linux), so that a reading taken as nothing was queued teaches no zero ratio.
pub(crate) const MIN_DATAGRAM_COST: u64 = 256;
/// An estimate above this fraction of the buffer has the next drain read the fill instead.
const PROBE_NEAR: (usize, usize) = (1, 16);

/// When a polled socket's fill is read and when it is estimated ([`DrainClock`] needs one per
/// drain). The kernel accounts a queued datagram as its payload plus an overhead that depends
/// on how the network path allocated it; a reading followed by a drain that read the whole
/// queue gives both the kernel's bytes per payload byte and per datagram, and a later drain
/// that read everything is estimated with whichever of the two gives more, so that datagrams
/// of another size than at the reading are not underestimated (the ratios are at least one
/// byte per payload byte and [`MIN_DATAGRAM_COST`] per datagram; a reading that saw less than
/// that per datagram read teaches nothing). A path that changes how it allocates can still
/// make an estimate low until the next reading: the fill is read every [`PROBE_EVERY`]
/// drains, after a drain that left datagrams behind, and after an estimate above
/// [`PROBE_NEAR`] of the buffer (a quarter of the [`TARGET_FILL`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct FillProbe {
    /// From the last reading: the buffer's size, kernel bytes per 1024 payload bytes, and
    /// per datagram.
    last: Option<(usize, u64, u64)>,
    /// Drains since that reading.
    since: u32,
    /// The next drain reads the fill.
    read_next: bool,
}

impl FillProbe {
    /// Whether this drain reads the fill before reading the socket.
    pub(crate) fn due(&self) -> bool {
        self.last.is_none() || self.read_next || self.since + 1 >= PROBE_EVERY
    }

    /// The fill read before a drain that then read `bytes` in `datagrams`; `complete`: the
    /// drain read until the socket had nothing more.
    pub(crate) fn on_reading(&mut self, f: Fill, bytes: usize, datagrams: usize, complete: bool) {
        self.since = 0;
        self.read_next = !complete;
        let q = f.queued as u64;
        if complete
            && bytes > 0
            && datagrams > 0
            && f.capacity > 0
            && q >= (datagrams as u64).saturating_mul(MIN_DATAGRAM_COST)
        {
            let per_kib = q.saturating_mul(1024).div_ceil(bytes as u64).max(1024);
            let per_datagram = q.div_ceil(datagrams as u64).max(MIN_DATAGRAM_COST);
            self.last = Some((f.capacity, per_kib, per_datagram));
        } else if self.last.is_none() {
            // Nothing learned yet: read again next time.
            self.read_next = true;
        }
    }

    /// The estimated fill of a drain that read `bytes` in `datagrams` without reading the
    /// fill first (`None` when nothing is known: read it next time).
    pub(crate) fn estimate(
        &mut self,
        bytes: usize,
        datagrams: usize,
        complete: bool,
    ) -> Option<Fill> {
        self.since = self.since.saturating_add(1);
        let Some((capacity, per_kib, per_datagram)) = self.last else {
            self.read_next = true;
            return None;
        };
        let by_bytes = (bytes as u64).saturating_mul(per_kib) / 1024;
        let by_datagrams = (datagrams as u64).saturating_mul(per_datagram);
        let queued = usize::try_from(by_bytes.max(by_datagrams)).unwrap_or(usize::MAX);
        self.read_next = !complete
            || queued.saturating_mul(PROBE_NEAR.1) > capacity.saturating_mul(PROBE_NEAR.0);
        Some(Fill { queued, capacity })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_steady_stream_settles_near_three_quarters_of_an_interval() {
        // 500 kB/s, 100 ms interval: 37.5 kB.
        let t0 = Instant::now();
        let mut c = Coalescer::new(100 * MS, 256 * 1024);
        assert_eq!(c.on_read(20_000, t0), 1);
        assert_eq!(c.deadline(), None);
        let mut t = t0;
        for _ in 0..20 {
            // Reads of 20 kB every 40 ms (one frame per wake-up), then as the mark says.
            let gap = Duration::from_micros((c.mark().max(20_000) as u64) * 2);
            t += gap;
            c.on_read(c.mark().max(20_000), t);
        }
        let m = c.mark();
        assert!((36_000..=39_000).contains(&m), "mark {m}");
        assert_eq!(c.deadline(), Some(t + 100 * MS + DEADLINE_MARGIN));
    }

    #[test]
    fn less_data_than_the_mark_lowers_it_and_the_deadline_bounds_the_wait() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(100 * MS, 256 * 1024);
        c.on_read(10_000, t0);
        c.on_read(50_000, t0 + 20 * MS); // a burst: 2.5 MB/s
        let high = c.mark();
        assert!(high > 50_000, "mark {high}");
        // Then 5 kB at a time: each read comes at the deadline, with what is there.
        let mut t = t0 + 20 * MS;
        for _ in 0..30 {
            let d = c.deadline().expect("a deadline while the mark is above 1");
            assert!(d <= t + 100 * MS + DEADLINE_MARGIN);
            t = d;
            c.on_deadline();
            // Until the next read: no deadline (the next arrival is read at once).
            assert_eq!(c.deadline(), None);
            c.on_read(5_000, t);
        }
        // 5 kB per 164 ms: three quarters of 100 ms of it is 2.3 kB.
        let m = c.mark();
        assert!((2_000..=2_600).contains(&m), "mark {m}");
    }

    #[test]
    fn the_mark_stays_within_one_read_and_at_least_one_byte() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(1000 * MS, 64 * 1024);
        c.on_read(1, t0);
        for k in 1..10 {
            c.on_read(16 * 1024 * 1024, t0 + k * MS);
        }
        assert_eq!(c.mark(), 64 * 1024);
        // No time at all between two reads, and empty reads: no division by zero, no zero mark.
        let t = t0 + 10 * MS;
        for _ in 0..40 {
            c.on_read(0, t);
        }
        assert_eq!(c.mark(), 1);
        assert_eq!(c.deadline(), None);
        c.reset();
        assert_eq!(c.mark(), 1);
        assert_eq!(c.on_read(100, t), 1);
    }

    fn fill(queued: usize) -> Option<Fill> {
        Some(Fill {
            queued,
            capacity: 400_000,
        })
    }

    #[test]
    fn the_drain_tick_grows_to_the_interval_while_buffers_stay_empty_enough() {
        let t0 = Instant::now();
        let mut c = DrainClock::new(200 * MS);
        assert_eq!(c.next(), None, "the first drain is at once");
        assert_eq!(c.tick(), FIRST_TICK);
        let mut t = t0;
        c.on_drain(t, fill(0), false);
        let mut ticks = vec![c.tick()];
        for _ in 0..20 {
            t = c.next().unwrap();
            // 1 MB/s in the kernel's accounting (one byte per µs): 200 ms would fill half of
            // the buffer, so the tick stops where a tick's worth is a quarter of it.
            let queued = c.tick().as_micros() as usize;
            c.on_drain(t, fill(queued), false);
            ticks.push(c.tick());
        }
        assert!(ticks.windows(2).all(|w| w[1] >= w[0]), "{ticks:?}");
        // A quarter of 400 kB at 1 MB/s: 100 ms.
        let last = c.tick();
        assert!((95 * MS..=100 * MS).contains(&last), "{last:?} ({ticks:?})");
        assert_eq!(c.next(), Some(t + last));

        // A slow stream: the tick reaches the interval and stays there.
        let mut c = DrainClock::new(200 * MS);
        let mut t = t0;
        c.on_drain(t, fill(0), false);
        for _ in 0..20 {
            t = c.next().unwrap();
            c.on_drain(t, fill(3_000), false);
        }
        assert_eq!(c.tick(), 200 * MS);
    }

    #[test]
    fn a_full_buffer_shortens_the_tick_at_once_and_a_cut_drain_asks_for_another() {
        let t0 = Instant::now();
        let mut c = DrainClock::new(500 * MS);
        c.on_drain(t0, fill(0), false);
        for k in 1..30 {
            c.on_drain(t0 + k * 10 * MS, fill(100), false);
        }
        assert_eq!(c.tick(), 500 * MS);
        // Then 300 kB in 500 ms (three quarters of the buffer): the tick goes to where a
        // quarter fills, a third of it.
        let t = t0 + 800 * MS;
        c.on_drain(t, fill(300_000), false);
        let tick = c.tick();
        assert!((160 * MS..=170 * MS).contains(&tick), "{tick:?}");
        // A drain that stopped with datagrams left: the next one is due at once, and what
        // it then finds (over a moment, which alone would cut the tick to 3.3 ms) leaves the
        // tick as it was.
        assert!(!c.due(t + 10 * MS));
        c.on_drain(t + 170 * MS, fill(10_000), true);
        let tick = c.tick();
        assert_eq!(c.next(), Some(t + 170 * MS));
        assert!(c.due(t + 170 * MS));
        c.on_drain(t + 171 * MS, fill(30_000), false);
        assert_eq!(c.tick(), tick);
        assert_eq!(c.next(), Some(t + 171 * MS + tick));
        // A flood: never below the floor, no overflow in the arithmetic.
        c.on_drain(
            t + 172 * MS,
            Some(Fill {
                queued: usize::MAX,
                capacity: 1,
            }),
            false,
        );
        assert_eq!(c.tick(), MIN_TICK);
        c.on_drain(
            t + 172 * MS,
            Some(Fill {
                queued: 1,
                capacity: usize::MAX,
            }),
            false,
        );
        assert!(c.tick() <= 500 * MS);
        // Unknown fill: no growth past the first tick.
        let mut c = DrainClock::new(500 * MS);
        for k in 0..10 {
            c.on_drain(t0 + k * 10 * MS, None, false);
        }
        assert_eq!(c.tick(), FIRST_TICK);
        // An interval shorter than the first tick is the tick.
        assert_eq!(DrainClock::new(3 * MS).tick(), 3 * MS);
        assert_eq!(DrainClock::new(Duration::ZERO).tick(), MIN_TICK);
    }

    /// A 1 MiB buffer's fill `queued` read before a drain of `bytes` in `n` datagrams.
    fn read(p: &mut FillProbe, queued: usize, bytes: usize, n: usize, complete: bool) {
        let capacity = 1 << 20;
        p.on_reading(Fill { queued, capacity }, bytes, n, complete);
    }

    #[test]
    fn the_fill_is_read_at_first_then_every_few_drains_and_estimated_in_between() {
        let mut p = FillProbe::default();
        assert!(p.due());
        // 10 datagrams of 1400 bytes took 23 040 bytes of a 1 MiB buffer.
        let cap = 1 << 20;
        read(&mut p, 23_040, 14_000, 10, true);
        for k in 1..PROBE_EVERY {
            assert!(!p.due(), "drain {k}");
            let f = p.estimate(28_000, 20, true).unwrap();
            assert_eq!(f.capacity, cap);
            assert!((46_080..46_200).contains(&f.queued), "{f:?}");
        }
        assert!(p.due());
        read(&mut p, 0, 0, 0, true);
        assert!(!p.due(), "an empty reading keeps what was learned");
        assert!(p.estimate(0, 0, true).is_some_and(|f| f.queued == 0));
    }

    #[test]
    fn the_fill_estimate_errs_high_and_near_the_target_the_fill_is_read() {
        let mut p = FillProbe::default();
        read(&mut p, 23_040, 14_000, 10, true);
        // Small datagrams (audio-sized): the per-datagram overhead rules.
        let f = p.estimate(1_600, 10, true).unwrap();
        assert_eq!(f.queued, 23_040);
        // Large ones: the per-byte ratio rules.
        let f = p.estimate(140_000, 10, true).unwrap();
        assert!(f.queued >= 230_400, "{f:?}");
        // That is above 1/16 of the buffer: the next drain reads it.
        assert!(p.due());
        read(&mut p, 230_400, 140_000, 100, true);
        assert!(!p.due());
        // A drain that left datagrams behind: the next one reads it.
        let _ = p.estimate(14_000, 10, false);
        assert!(p.due());
        // A reading before a drain that was cut short teaches nothing and asks again.
        let mut q = FillProbe::default();
        read(&mut q, 500_000, 14_000, 10, false);
        assert!(q.due());
        assert!(q.estimate(14_000, 10, true).is_none());
        assert!(q.due());
    }

    #[test]
    fn a_reading_taken_as_nothing_was_queued_teaches_no_zero_ratio() {
        let mut p = FillProbe::default();
        // Read empty, then a datagram came before the receive call.
        read(&mut p, 0, 1400, 1, true);
        assert!(p.due(), "nothing learned: read again");
        assert!(p.estimate(1400, 1, true).is_none());
        // Even a reading lower than the payload gives at least the payload.
        read(&mut p, 2304, 1400, 1, true);
        read(&mut p, 300, 1400, 1, true);
        let f = p.estimate(14_000, 10, true).unwrap();
        assert!(f.queued >= 14_000, "{f:?}");
    }
}
