//! Simulation time: whole minutes since 1970-01-01T00:00Z, with proleptic-Gregorian conversion
//! done in integer arithmetic (Hinnant's civil-from-days), so no date operation can fail or panic
//! and formatting needs no fallible formatter. All times are written in UTC (`Z`).

pub(crate) const MINUTES_PER_DAY: i64 = 24 * 60;

/// A point in simulated time, in minutes since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(pub(crate) i64);

impl Instant {
    pub(crate) fn at(day: i64, hour: i64, minute: i64) -> Self {
        Self(day * MINUTES_PER_DAY + hour * 60 + minute)
    }

    pub(crate) fn day(self) -> i64 {
        self.0.div_euclid(MINUTES_PER_DAY)
    }

    pub(crate) fn plus_minutes(self, minutes: i64) -> Self {
        Self(self.0.saturating_add(minutes))
    }

    pub(crate) fn plus_days(self, days: i64) -> Self {
        self.plus_minutes(days.saturating_mul(MINUTES_PER_DAY))
    }

    /// FHIR `dateTime`/`instant` with seconds and a UTC zone.
    pub(crate) fn to_fhir(self) -> String {
        let minute_of_day = self.0.rem_euclid(MINUTES_PER_DAY);
        format!(
            "{}T{:02}:{:02}:00Z",
            date(self.day()),
            minute_of_day / 60,
            minute_of_day % 60
        )
    }
}

/// Days since the epoch of a calendar date.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Calendar date (year, month 1-12, day 1-31) of a day number.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// FHIR `date` (YYYY-MM-DD) of a day number.
pub(crate) fn date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Whole years between a birth day and another day (age on that day).
pub(crate) fn age_on(birth: i64, day: i64) -> i64 {
    let (by, bm, bd) = civil_from_days(birth);
    let (y, m, d) = civil_from_days(day);
    let mut age = y - by;
    if (m, d) < (bm, bd) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_across_leap_years_and_centuries() {
        for days in -80_000..80_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(date(days_from_civil(2024, 2, 29) + 1), "2024-03-01");
    }

    #[test]
    fn formats_instants_and_ages() {
        let day = days_from_civil(2025, 12, 31);
        assert_eq!(Instant::at(day, 23, 59).to_fhir(), "2025-12-31T23:59:00Z");
        assert_eq!(
            Instant::at(day, 23, 59).plus_minutes(1).to_fhir(),
            "2026-01-01T00:00:00Z"
        );
        let birth = days_from_civil(1960, 6, 15);
        assert_eq!(age_on(birth, days_from_civil(2025, 6, 14)), 64);
        assert_eq!(age_on(birth, days_from_civil(2025, 6, 15)), 65);
    }
}
