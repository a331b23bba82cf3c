//! RFC 3339 timestamps as the API writes them (`2025-11-03T14:00:00.000Z`), kept as milliseconds
//! since the Unix epoch inside the simulator.
//!
//! Only what the simulator needs: formatting in UTC with millisecond precision and parsing the
//! `date-time` values clients send in filters (`createdAfter=…`), with any offset.

use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_DAY: i64 = 86_400_000;

/// Milliseconds since the Unix epoch for a UTC calendar date and time.
#[must_use]
pub const fn utc_ms(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> i64 {
    days_from_civil(year, month, day) * MS_PER_DAY
        + (hour as i64) * 3_600_000
        + (minute as i64) * 60_000
        + (second as i64) * 1_000
}

/// The current time in milliseconds since the Unix epoch.
#[must_use]
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ`, the shape the API uses.
#[must_use]
pub fn format_ms(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let rest = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let hour = rest / 3_600_000;
    let minute = rest / 60_000 % 60;
    let second = rest / 1_000 % 60;
    let milli = rest % 1_000;
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// Parses an RFC 3339 `date-time` (`2025-11-03T14:00:00Z`, `…T14:00:00.5+02:00`, lowercase `t`/`z`
/// accepted) into milliseconds since the epoch; fractions beyond milliseconds are truncated.
/// `None` when the text is not such a timestamp.
#[must_use]
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let year = digits(bytes, 0, 4)?;
    let month = digits(bytes, 5, 2)?;
    let day = digits(bytes, 8, 2)?;
    let hour = digits(bytes, 11, 2)?;
    let minute = digits(bytes, 14, 2)?;
    let second = digits(bytes, 17, 2)?;
    if bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // A leap second (`:60`) is allowed by RFC 3339; treat it as the last second of the minute.
    if second > 60 {
        return None;
    }
    let mut index = 19;
    let mut millis = 0_i64;
    if bytes.get(index) == Some(&b'.') {
        index += 1;
        let start = index;
        while bytes.get(index).is_some_and(u8::is_ascii_digit) {
            if index - start < 3 {
                millis = millis * 10 + i64::from(bytes[index] - b'0');
            }
            index += 1;
        }
        let count = index - start;
        if count == 0 {
            return None;
        }
        for _ in count..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match bytes.get(index)? {
        b'Z' | b'z' if index + 1 == bytes.len() => 0,
        sign @ (b'+' | b'-') if index + 6 == bytes.len() && bytes[index + 3] == b':' => {
            let offset_hour = digits(bytes, index + 1, 2)?;
            let offset_minute = digits(bytes, index + 4, 2)?;
            if offset_hour > 23 || offset_minute > 59 {
                return None;
            }
            let total = offset_hour * 60 + offset_minute;
            if *sign == b'+' { total } else { -total }
        }
        _ => return None,
    };
    let local = days_from_civil(year, month as u32, day as u32) * MS_PER_DAY
        + hour * 3_600_000
        + minute * 60_000
        + second.min(59) * 1_000
        + millis;
    Some(local - offset_minutes * 60_000)
}

fn digits(bytes: &[u8], start: usize, count: usize) -> Option<i64> {
    let slice = bytes.get(start..start + count)?;
    slice.iter().try_fold(0_i64, |acc, byte| {
        byte.is_ascii_digit()
            .then(|| acc * 10 + i64::from(byte - b'0'))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = month as i64;
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_ms(utc_ms(2025, 11, 3, 14, 5, 9) + 42),
            "2025-11-03T14:05:09.042Z"
        );
        assert_eq!(
            format_ms(utc_ms(2024, 2, 29, 23, 59, 59)),
            "2024-02-29T23:59:59.000Z"
        );
        assert_eq!(utc_ms(2026, 1, 1, 0, 0, 0), 1_767_225_600_000);
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        let instant = utc_ms(2025, 12, 31, 23, 30, 0) + 123;
        assert_eq!(parse_rfc3339(&format_ms(instant)), Some(instant));
        assert_eq!(parse_rfc3339("2025-12-31T23:30:00Z"), Some(instant - 123));
        assert_eq!(
            parse_rfc3339("2026-01-01T01:30:00.123+02:00"),
            Some(instant)
        );
        assert_eq!(
            parse_rfc3339("2025-12-31T18:30:00.1234567-05:00"),
            Some(instant)
        );
    }

    #[test]
    fn rejects_non_timestamps() {
        for text in [
            "",
            "2025-12-31",
            "2025-12-31T23:30:00",
            "2025-13-01T00:00:00Z",
            "2025-12-31T23:30:00.Z",
            "2025-12-31T23:30:00+0200",
            "yesterday at noon please",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }
}
