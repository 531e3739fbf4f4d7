//! FHIR `instant` values as Hearth stores them: microseconds since the Unix epoch, UTC.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Instant = i64;

pub fn now() -> Instant {
    let now = OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000) as Instant
}

/// `2025-03-01T10:00:00.123456Z`: full precision, so versions written in one millisecond still order.
pub fn format_instant(micros: Instant) -> String {
    let nanos = i128::from(micros) * 1_000;
    match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(at) => at.format(&Rfc3339).unwrap_or_else(|_| at.to_string()),
        Err(_) => String::from("1970-01-01T00:00:00Z"),
    }
}

/// Parses an RFC 3339 instant (a FHIR `instant`, or a `dateTime` with seconds and offset).
pub fn parse_instant(text: &str) -> Option<Instant> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let utc = at.to_offset(UtcOffset::UTC);
    i64::try_from(utc.unix_timestamp_nanos() / 1_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_microseconds() {
        let at = parse_instant("2025-03-01T10:00:00.123456+02:00");
        assert_eq!(
            at.map(format_instant).as_deref(),
            Some("2025-03-01T08:00:00.123456Z")
        );
    }
}

/// The instants a FHIR date or dateTime covers, `[start, end)`: `2025` is the whole year,
/// `2025-03-01T10:00:00+02:00` one second. Dates without a zone are read as UTC.
pub fn parse_date_range(text: &str) -> Option<(Instant, Instant)> {
    use time::{Date, Month, PrimitiveDateTime};

    let utc_micros = |date: Date| {
        let at = PrimitiveDateTime::new(date, time::Time::MIDNIGHT).assume_utc();
        i64::try_from(at.unix_timestamp_nanos() / 1_000).ok()
    };
    let part = |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u16>().ok());
    match text.len() {
        4 => {
            let year = i32::from(part(0..4)?);
            Some((
                utc_micros(Date::from_calendar_date(year, Month::January, 1).ok()?)?,
                utc_micros(Date::from_calendar_date(year + 1, Month::January, 1).ok()?)?,
            ))
        }
        7 if text.as_bytes()[4] == b'-' => {
            let year = i32::from(part(0..4)?);
            let month = Month::try_from(u8::try_from(part(5..7)?).ok()?).ok()?;
            let start = Date::from_calendar_date(year, month, 1).ok()?;
            let next = if month == Month::December {
                Date::from_calendar_date(year + 1, Month::January, 1).ok()?
            } else {
                Date::from_calendar_date(year, month.next(), 1).ok()?
            };
            Some((utc_micros(start)?, utc_micros(next)?))
        }
        10 => {
            let date = Date::parse(
                text,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .ok()?;
            Some((utc_micros(date)?, utc_micros(date.next_day()?)?))
        }
        _ => {
            let start = parse_instant(text)?;
            let whole_seconds = !text.contains('.');
            Some((start, start + if whole_seconds { 1_000_000 } else { 1 }))
        }
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;

    #[test]
    fn ranges_follow_precision() {
        let year = parse_date_range("2025");
        let month = parse_date_range("2025-12");
        let day = parse_date_range("2025-03-01");
        assert_eq!(
            year.map(|(s, e)| (format_instant(s), format_instant(e))),
            Some(("2025-01-01T00:00:00Z".into(), "2026-01-01T00:00:00Z".into()))
        );
        assert_eq!(
            month.map(|(_, e)| format_instant(e)),
            Some("2026-01-01T00:00:00Z".into())
        );
        assert_eq!(
            day.map(|(_, e)| format_instant(e)),
            Some("2025-03-02T00:00:00Z".into())
        );
        assert_eq!(
            parse_date_range("2025-03-01T10:00:00+02:00").map(|(s, _)| format_instant(s)),
            Some("2025-03-01T08:00:00Z".into())
        );
        assert_eq!(parse_date_range("2025-13"), None);
        assert_eq!(parse_date_range("yesterday"), None);
    }
}
