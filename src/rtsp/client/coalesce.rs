//! Read coalescing ([`SessionOptions::read_coalescing`](super::SessionOptions::read_coalescing)):
//! how many bytes the kernel should collect before it wakes the session, so that one wake-up
//! handles about one interval of the stream instead of one frame. Pure logic: the connection
//! applies the answer as the socket's receive low-water mark (`SO_RCVLOWAT`).
//!
//! After each read, the rate of the stream over the time since the previous read gives the
//! bytes of three quarters of an interval; the mark moves halfway there (a keyframe does not
//! swing it at once). When less than the mark arrives within an interval, a deadline (the
//! previous read plus the interval) makes the session read what is there anyway, and that
//! smaller read lowers the mark: latency stays bounded by about one interval whatever the
//! stream does.

use std::time::{Duration, Instant};

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
    /// (none while the mark is 1, or once the deadline has passed: then the next arrival
    /// wakes it).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.mark <= 1 || self.passed {
            return None;
        }
        self.last.map(|t| t + self.interval)
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
        assert_eq!(c.deadline(), Some(t + 100 * MS));
    }

    #[test]
    fn less_data_than_the_mark_lowers_it_and_the_deadline_bounds_the_wait() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(100 * MS, 256 * 1024);
        c.on_read(10_000, t0);
        c.on_read(50_000, t0 + 20 * MS); // a burst: 2.5 MB/s
        let high = c.mark();
        assert!(high > 50_000, "mark {high}");
        // Then 5 kB per interval: each read comes at the deadline, with what is there.
        let mut t = t0 + 20 * MS;
        for _ in 0..30 {
            let d = c.deadline().expect("a deadline while the mark is above 1");
            assert!(d <= t + 100 * MS);
            t = d;
            c.on_deadline();
            // Until the next read: no deadline (the next arrival is read at once).
            assert_eq!(c.deadline(), None);
            c.on_read(5_000, t);
        }
        let m = c.mark();
        assert!((3_000..=4_000).contains(&m), "mark {m}");
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
}
