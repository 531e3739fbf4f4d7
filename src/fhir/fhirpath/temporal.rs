//! FHIR date/dateTime/instant values as the instant range their precision covers, in UTC epoch
//! milliseconds (used by FHIRPath comparisons and by date search indexing): `2025` is 2025-01-01T00:00:00.000 .. 2025-12-31T23:59:59.999. Values without a
//! time zone (dates, partial dateTimes) are taken as UTC.

use time::{Date, Month};

/// Earliest instant stored for an open range start: 0001-01-01T00:00:00Z.
pub const DATE_MIN: i64 = -62_135_596_800_000;
/// Latest instant stored for an open range end: 9999-12-31T23:59:59.999Z.
pub const DATE_MAX: i64 = 253_402_300_799_999;

const MS_PER_DAY: i64 = 86_400_000;
/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// An inclusive range of UTC epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub low: i64,
    pub high: i64,
}

impl DateRange {
    /// The range a FHIR date, dateTime or instant covers; `None` if it is not one.
    pub fn parse(text: &str) -> Option<DateRange> {
        DateRange::parse_with_precision(text).map(|(range, _)| range)
    }

    /// [`DateRange::parse`], with the precision written: 1 year, 2 month, 3 day, 5 minute,
    /// 6 second, 7 fractional seconds.
    pub fn parse_with_precision(text: &str) -> Option<(DateRange, u8)> {
        let (date_part, time_part) = match text.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (text, None),
        };
        let mut fields = date_part.split('-');
        let year: i32 = parse_digits(fields.next()?, 4)?;
        let month: Option<u8> = match fields.next() {
            Some(m) => Some(parse_digits(m, 2)?),
            None => None,
        };
        let day: Option<u8> = match fields.next() {
            Some(d) => Some(parse_digits(d, 2)?),
            None => None,
        };
        if fields.next().is_some() || year == 0 {
            return None;
        }
        let Some(month) = month else {
            let start = day_start(year, 1, 1)?;
            let end = day_start(year.checked_add(1)?, 1, 1).unwrap_or(DATE_MAX + 1);
            return Some((
                DateRange {
                    low: start,
                    high: end - 1,
                },
                1,
            ));
        };
        let Some(day) = day else {
            let start = day_start(year, month, 1)?;
            let (ny, nm) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
            let end = day_start(ny, nm, 1).unwrap_or(DATE_MAX + 1);
            return Some((
                DateRange {
                    low: start,
                    high: end - 1,
                },
                2,
            ));
        };
        let midnight = day_start(year, month, day)?;
        let Some(time_part) = time_part else {
            return Some((
                DateRange {
                    low: midnight,
                    high: midnight + MS_PER_DAY - 1,
                },
                3,
            ));
        };
        let (clock, offset_ms) = split_zone(time_part)?;
        let mut parts = clock.split(':');
        let hour: i64 = parse_digits(parts.next()?, 2)?;
        let minute: i64 = parse_digits(parts.next()?, 2)?;
        let seconds = parts.next();
        if parts.next().is_some() || hour > 23 || minute > 59 {
            return None;
        }
        let base = midnight + (hour * 60 + minute) * 60_000 - offset_ms;
        let Some(seconds) = seconds else {
            return Some((
                DateRange {
                    low: base,
                    high: base + 59_999,
                },
                5,
            ));
        };
        let (whole, fraction) = match seconds.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (seconds, None),
        };
        // A leap second (60) is folded into the last millisecond of the minute.
        let second: i64 = parse_digits::<i64>(whole, 2)?.min(59);
        let low = base + second * 1000;
        match fraction {
            None => Some((
                DateRange {
                    low,
                    high: low + 999,
                },
                6,
            )),
            Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
                // Milliseconds precision at most; finer digits fall inside the same millisecond.
                let digits: String = f.chars().chain("000".chars()).take(3).collect();
                let ms: i64 = digits.parse().ok()?;
                let low = if whole == "60" { low + 999 } else { low + ms };
                let high = if f.len() >= 3 {
                    low
                } else {
                    low + 10_i64.pow(3 - f.len() as u32) - 1
                };
                Some((DateRange { low, high }, 7))
            }
            Some(_) => None,
        }
    }

    /// A Period: `start` .. `end`, either end open.
    pub fn period(start: Option<&str>, end: Option<&str>) -> Option<DateRange> {
        let low = match start {
            Some(s) => DateRange::parse(s)?.low,
            None => DATE_MIN,
        };
        let high = match end {
            Some(e) => DateRange::parse(e)?.high,
            None => DATE_MAX,
        };
        (start.is_some() || end.is_some()).then_some(DateRange { low, high })
    }
}

fn parse_digits<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Epoch milliseconds of a calendar day's midnight UTC; `None` for an invalid date.
fn day_start(year: i32, month: u8, day: u8) -> Option<i64> {
    let month = Month::try_from(month).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some((i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY) * MS_PER_DAY)
}

/// Splits `hh:mm:ss.fff+hh:mm` into the clock and the zone offset in milliseconds (UTC when
/// the zone is absent).
fn split_zone(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    let Some(i) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = time.split_at(i);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (h, m) = zone[1..].split_once(':')?;
    let h: i64 = parse_digits(h, 2)?;
    let m: i64 = parse_digits(m, 2)?;
    if h > 14 || m > 59 {
        return None;
    }
    Some((clock, sign * (h * 60 + m) * 60_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2025-01-01T00:00:00Z and 2026-01-01T00:00:00Z in epoch milliseconds.
    const Y2025: i64 = 1_735_689_600_000;
    const Y2026: i64 = 1_767_225_600_000;

    fn range(s: &str) -> (i64, i64) {
        let r = DateRange::parse(s).unwrap();
        (r.low, r.high)
    }

    #[test]
    fn year_month_and_day_precision() {
        assert_eq!(range("2025"), (Y2025, Y2026 - 1));
        // February 2024 has 29 days.
        let feb = range("2024-02");
        assert_eq!(feb.1 - feb.0 + 1, 29 * MS_PER_DAY);
        assert_eq!(range("2025-01-01"), (Y2025, Y2025 + MS_PER_DAY - 1));
        assert_eq!(range("2025-12").1, Y2026 - 1);
    }

    #[test]
    fn times_with_zones_are_utc() {
        assert_eq!(range("2025-01-01T00:00:00Z"), (Y2025, Y2025 + 999));
        // 10:30+02:00 is 08:30Z.
        let at = Y2025 + (8 * 60 + 30) * 60_000;
        assert_eq!(range("2025-01-01T10:30:00+02:00"), (at, at + 999));
        assert_eq!(range("2025-01-01T10:30:00.5+02:00"), (at + 500, at + 599));
        assert_eq!(
            range("2025-01-01T10:30:00.123456+02:00"),
            (at + 123, at + 123)
        );
        // Minute precision (FHIRPath literal style).
        assert_eq!(range("2025-01-01T08:30Z"), (at, at + 59_999));
        // An instant west of UTC on 1 January falls on the previous day in UTC.
        assert_eq!(range("2025-01-01T00:00:00-05:00").0, Y2025 + 5 * 3_600_000);
    }

    #[test]
    fn rejects_invalid_dates() {
        for bad in [
            "2025-02-30",
            "25",
            "2025-13",
            "2025-01-01T25:00:00Z",
            "x",
            "2025-01-01T10:00:00+15:00",
            "",
        ] {
            assert!(DateRange::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn periods_have_open_ends() {
        let p = DateRange::period(Some("2025"), None).unwrap();
        assert_eq!((p.low, p.high), (Y2025, DATE_MAX));
        let p = DateRange::period(None, Some("2025")).unwrap();
        assert_eq!((p.low, p.high), (DATE_MIN, Y2026 - 1));
        assert!(DateRange::period(None, None).is_none());
        assert_eq!(range("0001").0, DATE_MIN);
        assert_eq!(range("9999").1, DATE_MAX);
    }
}
