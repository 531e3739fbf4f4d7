//! CQL Date, DateTime and Time values with precision and timezone offsets.
//!
//! Components beyond the value's precision are unknown, so comparisons that
//! reach them are uncertain (`None`), as CQL 1.5 requires.

use std::cmp::Ordering;

/// Precision of a temporal value, from coarsest to finest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    Year = 0,
    Month = 1,
    Day = 2,
    Hour = 3,
    Minute = 4,
    Second = 5,
    Millisecond = 6,
}

impl Precision {
    pub fn parse(name: &str) -> Option<Precision> {
        Some(
            match name.trim_end_matches('s').to_ascii_lowercase().as_str() {
                "year" => Precision::Year,
                "month" => Precision::Month,
                "day" => Precision::Day,
                "hour" => Precision::Hour,
                "minute" => Precision::Minute,
                "second" => Precision::Second,
                "millisecond" => Precision::Millisecond,
                _ => return None,
            },
        )
    }

    fn from_index(i: usize) -> Precision {
        match i {
            0 => Precision::Year,
            1 => Precision::Month,
            2 => Precision::Day,
            3 => Precision::Hour,
            4 => Precision::Minute,
            5 => Precision::Second,
            _ => Precision::Millisecond,
        }
    }
}

/// A CQL DateTime (a Date is the same structure limited to day precision).
/// The fields are year, month, day, hour, minute, second, millisecond;
/// components finer than `precision` are placeholders and never compared.
/// Stored as `i16` (years 1..9999, offsets ±14 h) so a `Value` stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    parts: [i16; 7],
    pub precision: Precision,
    /// Offset from UTC in minutes; `None` for a Date or an unzoned time.
    off: Option<i16>,
}

fn narrow(x: i32) -> i16 {
    i16::try_from(x).unwrap_or(if x < 0 { i16::MIN } else { i16::MAX })
}

pub fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i32, m: i32) -> i32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: i32, d: i32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i32, i32, i32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (y as i32, m as i32, d as i32)
}

impl DateTime {
    pub fn new(f: [i32; 7], precision: Precision, offset: Option<i32>) -> DateTime {
        DateTime {
            parts: f.map(narrow),
            precision,
            off: offset.map(narrow),
        }
    }

    /// Year, month, day, hour, minute, second, millisecond.
    pub fn f(&self) -> [i32; 7] {
        self.parts.map(i32::from)
    }

    /// Offset from UTC in minutes, if known.
    pub fn offset(&self) -> Option<i32> {
        self.off.map(i32::from)
    }

    pub fn date(y: i32, m: i32, d: i32, precision: Precision) -> DateTime {
        DateTime::new([y, m.max(1), d.max(1), 0, 0, 0, 0], precision, None)
    }

    /// Parses an ISO / FHIR date or dateTime (`2020`, `2020-03`, `2020-03-04`,
    /// `2020-03-04T10:20`, `...:30.123+02:00`, `...Z`).
    pub fn parse(s: &str) -> Option<DateTime> {
        let s = s.trim_start_matches('@');
        let (date, rest) = match s.find('T') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        let mut f = [0, 1, 1, 0, 0, 0, 0];
        let mut prec = Precision::Year;
        for (i, part) in date.split('-').enumerate() {
            if i > 2 || part.is_empty() {
                return None;
            }
            f[i] = part.parse().ok()?;
            prec = Precision::from_index(i);
        }
        let mut offset = None;
        if let Some(rest) = rest {
            if rest.is_empty() {
                return Some(DateTime::new(f, prec, None));
            }
            let (time, off) = split_offset(rest)?;
            offset = off;
            let (p, t) = parse_time_parts(time)?;
            f[3..7].copy_from_slice(&t);
            prec = Precision::from_index(3 + p as usize - Precision::Hour as usize);
        }
        if !(1..=9999).contains(&f[0])
            || f[1] < 1
            || f[1] > 12
            || f[2] < 1
            || f[2] > days_in_month(f[0], f[1])
        {
            return None;
        }
        Some(DateTime::new(f, prec, offset))
    }

    /// The same instant expressed at `offset` (only meaningful from hour precision).
    pub fn to_offset(&self, offset: i32) -> DateTime {
        if self.precision < Precision::Hour {
            return *self;
        }
        match self.offset() {
            Some(o) if o != offset => {
                let mut f = self.f();
                // Offsets are at most a day, so this cannot leave the date range
                // except at its very ends, where the value is kept as it is.
                if add_ms(&mut f, i64::from(offset - o) * 60_000).is_none() {
                    return *self;
                }
                DateTime::new(f, self.precision, Some(offset))
            }
            _ => DateTime::new(self.f(), self.precision, Some(offset)),
        }
    }

    /// Milliseconds since the epoch of the earliest instant this value may denote (UTC).
    pub fn epoch_ms(&self) -> i64 {
        let f = self.to_offset(0).f();
        let days = days_from_civil(f[0], f[1], f[2]);
        ((days * 24 + i64::from(f[3])) * 60 + i64::from(f[4])) * 60_000
            + i64::from(f[5]) * 1000
            + i64::from(f[6])
    }

    /// Compares at the finer of both precisions, capped by `limit`. Returns
    /// `None` when the comparison reaches a component only one side knows.
    pub fn compare(&self, other: &DateTime, limit: Option<Precision>) -> Option<Ordering> {
        let (a, b) = if self.precision >= Precision::Hour && other.precision >= Precision::Hour {
            (self.to_offset(0), other.to_offset(0))
        } else {
            (*self, *other)
        };
        let common = a.precision.min(b.precision);
        let limit = limit.unwrap_or(Precision::Millisecond);
        for i in 0..=(common.min(limit) as usize) {
            match a.parts[i].cmp(&b.parts[i]) {
                Ordering::Equal => {}
                o => return Some(o),
            }
        }
        if a.precision == b.precision || limit <= common {
            Some(Ordering::Equal)
        } else {
            None
        }
    }

    /// Adds `amount` units of `unit` (calendar arithmetic: months clamp the day).
    pub fn add(&self, amount: i64, unit: Precision) -> Option<DateTime> {
        let mut f = self.f();
        // Units finer than the value's precision are converted (truncating) to its precision.
        let (amount, unit) = if unit > self.precision {
            convert_down(amount, unit, self.precision)
        } else {
            (amount, unit)
        };
        // Beyond ±10,000 years (in any unit) the result is out of range anyway;
        // bounding it first keeps the arithmetic below from overflowing.
        if amount.unsigned_abs() > 400_000_000_000_000 {
            return None;
        }
        match unit {
            Precision::Year | Precision::Month => {
                let months = if unit == Precision::Year {
                    amount.saturating_mul(12)
                } else {
                    amount
                };
                let total = (i64::from(f[0]) * 12 + i64::from(f[1] - 1)).checked_add(months)?;
                f[0] = i32::try_from(total.div_euclid(12)).ok()?;
                f[1] = (total.rem_euclid(12) + 1) as i32;
                f[2] = f[2].min(days_in_month(f[0], f[1]));
            }
            Precision::Day => {
                let days = days_from_civil(f[0], f[1], f[2]).checked_add(amount)?;
                if days.unsigned_abs() > 4_000_000 {
                    return None;
                }
                let (y, m, d) = civil_from_days(days);
                f[0] = y;
                f[1] = m;
                f[2] = d;
            }
            Precision::Hour => add_ms(&mut f, amount.checked_mul(3_600_000)?)?,
            Precision::Minute => add_ms(&mut f, amount.checked_mul(60_000)?)?,
            Precision::Second => add_ms(&mut f, amount.checked_mul(1000)?)?,
            Precision::Millisecond => add_ms(&mut f, amount)?,
        }
        if !(1..=9999).contains(&f[0]) {
            return None;
        }
        Some(DateTime::new(f, self.precision, self.offset()))
    }

    /// Keeps only components up to `p`.
    pub fn truncate(&self, p: Precision) -> DateTime {
        if p >= self.precision {
            return *self;
        }
        let mut f = self.f();
        for (i, x) in f.iter_mut().enumerate().skip(p as usize + 1) {
            *x = if i <= 2 { 1 } else { 0 };
        }
        DateTime::new(f, p, self.offset())
    }

    /// The successor/predecessor at this value's precision.
    pub fn step(&self, forward: bool) -> Option<DateTime> {
        self.add(if forward { 1 } else { -1 }, self.precision)
    }

    pub fn min_value(date_only: bool) -> DateTime {
        if date_only {
            DateTime::date(1, 1, 1, Precision::Day)
        } else {
            DateTime::new([1, 1, 1, 0, 0, 0, 0], Precision::Millisecond, Some(0))
        }
    }

    pub fn max_value(date_only: bool) -> DateTime {
        if date_only {
            DateTime::date(9999, 12, 31, Precision::Day)
        } else {
            DateTime::new(
                [9999, 12, 31, 23, 59, 59, 999],
                Precision::Millisecond,
                Some(0),
            )
        }
    }

    pub fn format(&self, date_only: bool) -> String {
        let f = self.f();
        let mut s = format!("{:04}", f[0]);
        let p = self.precision;
        if p >= Precision::Month {
            s.push_str(&format!("-{:02}", f[1]));
        }
        if p >= Precision::Day {
            s.push_str(&format!("-{:02}", f[2]));
        }
        if date_only {
            return s;
        }
        if p >= Precision::Hour {
            s.push_str(&format!("T{:02}", f[3]));
            if p >= Precision::Minute {
                s.push_str(&format!(":{:02}", f[4]));
            }
            if p >= Precision::Second {
                s.push_str(&format!(":{:02}", f[5]));
            }
            if p >= Precision::Millisecond {
                s.push_str(&format!(".{:03}", f[6]));
            }
            if let Some(o) = self.offset() {
                if o == 0 {
                    s.push('Z');
                } else {
                    let sign = if o < 0 { '-' } else { '+' };
                    s.push_str(&format!("{sign}{:02}:{:02}", o.abs() / 60, o.abs() % 60));
                }
            }
        }
        s
    }
}

/// Adds milliseconds to the time of day in `f`, carrying into the date.
fn add_ms(f: &mut [i32; 7], ms: i64) -> Option<()> {
    let day_ms = (((i64::from(f[3]) * 60 + i64::from(f[4])) * 60 + i64::from(f[5])) * 1000
        + i64::from(f[6]))
    .checked_add(ms)?;
    let days = day_ms.div_euclid(86_400_000);
    let rem = day_ms.rem_euclid(86_400_000);
    f[3] = (rem / 3_600_000) as i32;
    f[4] = (rem / 60_000 % 60) as i32;
    f[5] = (rem / 1000 % 60) as i32;
    f[6] = (rem % 1000) as i32;
    if days != 0 {
        let days = days_from_civil(f[0], f[1], f[2]).checked_add(days)?;
        if days.unsigned_abs() > 4_000_000 {
            return None;
        }
        let (y, m, d) = civil_from_days(days);
        f[0] = y;
        f[1] = m;
        f[2] = d;
    }
    Some(())
}

fn convert_down(amount: i64, unit: Precision, to: Precision) -> (i64, Precision) {
    let unit_ms: i64 = match unit {
        Precision::Year | Precision::Month => return (amount / 12, to),
        Precision::Day => 86_400_000,
        Precision::Hour => 3_600_000,
        Precision::Minute => 60_000,
        Precision::Second => 1000,
        Precision::Millisecond => 1,
    };
    let to_ms: i64 = match to {
        Precision::Year => 365 * 86_400_000,
        Precision::Month => 30 * 86_400_000,
        Precision::Day => 86_400_000,
        Precision::Hour => 3_600_000,
        Precision::Minute => 60_000,
        Precision::Second => 1000,
        Precision::Millisecond => 1,
    };
    (amount.saturating_mul(unit_ms) / to_ms, to)
}

fn split_offset(s: &str) -> Option<(&str, Option<i32>)> {
    if let Some(t) = s.strip_suffix('Z') {
        return Some((t, Some(0)));
    }
    if let Some(i) = s.rfind(['+', '-']) {
        let (t, o) = s.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let mut parts = o[1..].split(':');
        let h: i32 = parts.next()?.parse().ok()?;
        let m: i32 = parts.next().unwrap_or("0").parse().ok()?;
        return Some((t, Some(sign * (h * 60 + m))));
    }
    Some((s, None))
}

/// Parses `hh[:mm[:ss[.fff]]]` into (precision, [h, m, s, ms]).
pub fn parse_time_parts(s: &str) -> Option<(Precision, [i32; 4])> {
    let mut t = [0; 4];
    let mut prec = Precision::Hour;
    let (hms, frac) = match s.find('.') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    for (i, part) in hms.split(':').enumerate() {
        if i > 2 {
            return None;
        }
        t[i] = part.parse().ok()?;
        prec = Precision::from_index(3 + i);
    }
    if let Some(frac) = frac {
        let digits: String = frac.chars().chain("000".chars()).take(3).collect();
        t[3] = digits.parse().ok()?;
        prec = Precision::Millisecond;
    }
    if t[0] > 23 || t[1] > 59 || t[2] > 59 {
        return None;
    }
    Some((prec, t))
}

/// A CQL Time: a DateTime on 0000-01-01 without offset, at hour precision or finer.
pub fn parse_time(s: &str) -> Option<DateTime> {
    let s = s.trim_start_matches('@').trim_start_matches('T');
    let (p, t) = parse_time_parts(s)?;
    Some(DateTime::new([0, 1, 1, t[0], t[1], t[2], t[3]], p, None))
}
