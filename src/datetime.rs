//! UTC date and time as ONVIF and WS-Security write it (`xs:dateTime`), without a clock.
//!
//! Times are seconds since the Unix epoch (`i64`). Formatting gives `2010-09-16T07:50:45Z`;
//! parsing is lenient about what cameras send: fractional seconds, `Z`, `+hh:mm` offsets, no
//! zone at all (taken as UTC), lower-case `t`/`z`, surrounding white space.
//!
//! ```
//! use camlink::datetime::{format_utc, parse_datetime};
//! assert_eq!(format_utc(1284623445), "2010-09-16T07:50:45Z");
//! assert_eq!(parse_datetime("2010-09-16T09:50:45.123+02:00"), Some(1284623445));
//! ```

/// Days since 1970-01-01 for a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcParts {
    /// Year.
    pub year: i64,
    /// Month, 1-12.
    pub month: u32,
    /// Day of month, 1-31.
    pub day: u32,
    /// Hour, 0-23.
    pub hour: u32,
    /// Minute, 0-59.
    pub minute: u32,
    /// Second, 0-59.
    pub second: u32,
}

/// Splits seconds since the epoch into UTC fields.
pub fn to_parts(unix: i64) -> UtcParts {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    UtcParts {
        year,
        month,
        day,
        hour: secs / 3600,
        minute: secs / 60 % 60,
        second: secs % 60,
    }
}

/// Seconds since the epoch of UTC fields (no range checks beyond arithmetic).
pub fn from_parts(p: &UtcParts) -> i64 {
    days_from_civil(p.year, p.month, p.day) * 86_400
        + p.hour as i64 * 3600
        + p.minute as i64 * 60
        + p.second as i64
}

/// `YYYY-MM-DDThh:mm:ssZ`, no fractional seconds (what Hikvision and the WS-Security profile want).
pub fn format_utc(unix: i64) -> String {
    let p = to_parts(unix);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    )
}

/// Parses an `xs:dateTime`, returning whole seconds since the epoch (fraction dropped).
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year: i64 = num(0..4)? as i64;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = num(5..7)?;
    let day = num(8..10)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    if b.get(16) != Some(&b':') {
        return None;
    }
    let second = num(17..19)?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 24
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)? as i64;
            let om = match b.get(i + 3) {
                Some(b':') => num(i + 4..i + 6)? as i64,
                None => 0,
                Some(_) => num(i + 3..i + 5)? as i64,
            };
            let off = oh * 3600 + om * 60;
            if sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let p = UtcParts {
        year,
        month,
        day,
        hour,
        minute,
        second: second.min(59),
    };
    Some(from_parts(&p) - offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse_datetime("2010-09-16T07:50:45Z"), Some(1_284_623_445));
        assert_eq!(parse_datetime(" 2010-09-16T07:50:45 "), Some(1_284_623_445));
        assert_eq!(
            parse_datetime("2010-09-16T07:50:45.999Z"),
            Some(1_284_623_445)
        );
        assert_eq!(
            parse_datetime("2010-09-16T02:50:45-0500"),
            Some(1_284_623_445)
        );
        assert_eq!(parse_datetime("2010-09-16"), None);
        assert_eq!(parse_datetime("2010-13-16T07:50:45Z"), None);
        assert_eq!(parse_datetime("2010-09-16T07:50:45Zjunk"), None);
    }

    proptest! {
        #[test]
        fn round_trip(t in -4_000_000_000i64..8_000_000_000i64) {
            prop_assert_eq!(parse_datetime(&format_utc(t)), Some(t));
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = parse_datetime(&s);
        }
    }
}
