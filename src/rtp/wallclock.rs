//! NTP timestamps and the RTP-timestamp-to-wall-clock mapping from RTCP Sender Reports
//! (RFC 3550 §6.4.1).

use std::time::{Duration, SystemTime};

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// A 64-bit NTP timestamp: 32 bits of seconds since 1900, 32 bits of fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// The middle 32 bits, as used for LSR in reception reports.
    pub fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }

    /// The wall-clock time, or `None` before the Unix epoch.
    pub fn to_system_time(self) -> Option<SystemTime> {
        let secs = self.0 >> 32;
        let frac = self.0 & 0xffff_ffff;
        let unix = secs.checked_sub(NTP_UNIX_OFFSET)?;
        let nanos = (frac * 1_000_000_000) >> 32;
        SystemTime::UNIX_EPOCH.checked_add(Duration::new(unix, nanos as u32))
    }

    /// The NTP timestamp of a wall-clock time (saturating outside the NTP era).
    pub fn from_system_time(t: SystemTime) -> NtpTimestamp {
        let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let secs = d
            .as_secs()
            .saturating_add(NTP_UNIX_OFFSET)
            .min(u64::from(u32::MAX));
        let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTimestamp((secs << 32) | frac)
    }
}

/// Maps RTP timestamps of one stream to wall-clock time using the latest Sender Report.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use camlink::rtp::{NtpTimestamp, WallClockMapper};
///
/// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let mut m = WallClockMapper::new(90_000);
/// m.on_sender_report(NtpTimestamp::from_system_time(at), 1_000);
/// // One second of 90 kHz clock later:
/// let t = m.map(91_000).unwrap();
/// assert_eq!(t.duration_since(at).unwrap().as_millis(), 1000);
/// ```
#[derive(Debug, Clone)]
pub struct WallClockMapper {
    clock_rate: u32,
    anchor: Option<(NtpTimestamp, u32)>,
}

impl WallClockMapper {
    /// A mapper for a stream with this RTP clock rate (Hz). A rate of 0 never maps.
    pub fn new(clock_rate: u32) -> Self {
        WallClockMapper {
            clock_rate,
            anchor: None,
        }
    }

    /// Records a Sender Report's NTP time and the RTP timestamp of the same instant.
    pub fn on_sender_report(&mut self, ntp: NtpTimestamp, rtp_timestamp: u32) {
        self.anchor = Some((ntp, rtp_timestamp));
    }

    /// Whether a Sender Report has been seen.
    pub fn is_synced(&self) -> bool {
        self.anchor.is_some() && self.clock_rate > 0
    }

    /// The wall-clock time of an RTP timestamp (within ±2^31 ticks of the report's).
    pub fn map(&self, rtp_timestamp: u32) -> Option<SystemTime> {
        let (ntp, anchor) = self.anchor?;
        if self.clock_rate == 0 {
            return None;
        }
        let base = ntp.to_system_time()?;
        let delta = i64::from(rtp_timestamp.wrapping_sub(anchor) as i32);
        let nanos = (i128::from(delta) * 1_000_000_000) / i128::from(self.clock_rate);
        let d = Duration::from_nanos(u64::try_from(nanos.unsigned_abs()).ok()?);
        if nanos >= 0 {
            base.checked_add(d)
        } else {
            base.checked_sub(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_round_trips_through_system_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000);
        let n = NtpTimestamp::from_system_time(t);
        assert_eq!(n.0 >> 32, 1_700_000_000 + NTP_UNIX_OFFSET);
        let back = n.to_system_time().unwrap();
        let diff = back.duration_since(t).unwrap_or_else(|e| e.duration());
        assert!(diff < Duration::from_micros(1));
    }

    #[test]
    fn maps_across_timestamp_wrap_and_backwards() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut m = WallClockMapper::new(8000);
        assert_eq!(m.map(0), None);
        m.on_sender_report(NtpTimestamp::from_system_time(at), u32::MAX - 3999);
        assert_eq!(m.map(4000).unwrap(), at + Duration::from_secs(1));
        assert_eq!(
            m.map(u32::MAX - 7999).unwrap(),
            at - Duration::from_millis(500)
        );
    }
}
