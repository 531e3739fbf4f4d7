//! Simulation time: whole minutes since 1970-01-01T00:00Z, with proleptic-Gregorian conversion
//! done in integer arithmetic (Hinnant's civil-from-days), so no date operation can fail or panic
//! and formatting needs no fallible formatter.
//!
//! The simulated region keeps US Eastern time: days, office hours and the end of the simulation
//! are Eastern wall-clock. Each source system writes times with its own local offset, daylight
//! saving time included, as EHRs do.

pub(crate) const MINUTES_PER_DAY: i64 = 24 * 60;

/// A US time zone with daylight saving time by the rules in force since 2007 (applied to every
/// year, so earlier simulated years keep a consistent rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Zone {
    Eastern,
    Central,
}

impl Zone {
    /// The region's own zone, in which simulated days and hours are reckoned.
    pub(crate) const REGION: Zone = Zone::Eastern;

    fn standard(self) -> i64 {
        match self {
            Self::Eastern => -5 * 60,
            Self::Central => -6 * 60,
        }
    }

    /// Minutes to add to UTC for local time at `at`.
    pub(crate) fn offset_at(self, at: Instant) -> i64 {
        let standard = self.standard();
        let (year, _, _) = civil_from_days((at.0 + standard).div_euclid(MINUTES_PER_DAY));
        // From 02:00 standard time on March's second Sunday to 02:00 daylight time on
        // November's first Sunday.
        let begins = nth_sunday(year, 3, 2) * MINUTES_PER_DAY + 120 - standard;
        let ends = nth_sunday(year, 11, 1) * MINUTES_PER_DAY + 120 - (standard + 60);
        if (begins..ends).contains(&at.0) {
            standard + 60
        } else {
            standard
        }
    }
}

/// Day number of the `n`-th Sunday of a month.
fn nth_sunday(year: i64, month: i64, n: i64) -> i64 {
    let first = days_from_civil(year, month, 1);
    // 1970-01-01 was a Thursday; 0 is Sunday.
    let weekday = (first + 4).rem_euclid(7);
    first + (7 - weekday) % 7 + 7 * (n - 1)
}

/// A point in simulated time, in minutes since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(pub(crate) i64);

impl Instant {
    /// The instant the region's clocks show `hour:minute` on `day`.
    pub(crate) fn at(day: i64, hour: i64, minute: i64) -> Self {
        let wall = day * MINUTES_PER_DAY + hour * 60 + minute;
        let guess = Self(wall - Zone::REGION.standard());
        Self(wall - Zone::REGION.offset_at(guess))
    }

    /// The region's calendar day of this instant.
    pub(crate) fn day(self) -> i64 {
        (self.0 + Zone::REGION.offset_at(self)).div_euclid(MINUTES_PER_DAY)
    }

    pub(crate) fn plus_minutes(self, minutes: i64) -> Self {
        Self(self.0.saturating_add(minutes))
    }

    pub(crate) fn plus_days(self, days: i64) -> Self {
        self.plus_minutes(days.saturating_mul(MINUTES_PER_DAY))
    }

    /// FHIR `dateTime`/`instant` with seconds, in a zone's local time with its offset.
    pub(crate) fn to_fhir(self, zone: Zone) -> String {
        let offset = zone.offset_at(self);
        let local = self.0 + offset;
        let minute_of_day = local.rem_euclid(MINUTES_PER_DAY);
        let sign = if offset < 0 { '-' } else { '+' };
        format!(
            "{}T{:02}:{:02}:00{sign}{:02}:{:02}",
            date(local.div_euclid(MINUTES_PER_DAY)),
            minute_of_day / 60,
            minute_of_day % 60,
            offset.abs() / 60,
            offset.abs() % 60,
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
    fn formats_instants_in_local_time_with_daylight_saving() {
        let day = days_from_civil(2025, 12, 31);
        let late = Instant::at(day, 23, 59);
        assert_eq!(late.to_fhir(Zone::Eastern), "2025-12-31T23:59:00-05:00");
        assert_eq!(late.to_fhir(Zone::Central), "2025-12-31T22:59:00-06:00");
        assert_eq!(late.day(), day);
        assert_eq!(
            late.plus_minutes(1).to_fhir(Zone::Eastern),
            "2026-01-01T00:00:00-05:00"
        );
        // 2025: daylight time from March 9th 02:00 to November 2nd 02:00.
        let spring = days_from_civil(2025, 3, 9);
        assert_eq!(
            Instant::at(spring, 1, 59).to_fhir(Zone::Eastern),
            "2025-03-09T01:59:00-05:00"
        );
        assert_eq!(
            Instant::at(spring, 1, 59)
                .plus_minutes(1)
                .to_fhir(Zone::Eastern),
            "2025-03-09T03:00:00-04:00"
        );
        let summer = Instant::at(days_from_civil(2025, 7, 4), 9, 30);
        assert_eq!(summer.to_fhir(Zone::Eastern), "2025-07-04T09:30:00-04:00");
        assert_eq!(summer.to_fhir(Zone::Central), "2025-07-04T08:30:00-05:00");
        let autumn = Instant::at(days_from_civil(2025, 11, 2), 0, 30);
        assert_eq!(
            autumn.plus_minutes(60).to_fhir(Zone::Eastern),
            "2025-11-02T01:30:00-04:00"
        );
        assert_eq!(
            autumn.plus_minutes(120).to_fhir(Zone::Eastern),
            "2025-11-02T01:30:00-05:00"
        );
    }

    #[test]
    fn ages_count_whole_years() {
        let birth = days_from_civil(1960, 6, 15);
        assert_eq!(age_on(birth, days_from_civil(2025, 6, 14)), 64);
        assert_eq!(age_on(birth, days_from_civil(2025, 6, 15)), 65);
    }
}
