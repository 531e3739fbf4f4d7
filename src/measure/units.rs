//! A small UCUM subset: enough to compare and convert the units eCQMs use
//! (mass, length, volume, time, pressure, counts).

use std::cmp::Ordering;
use std::sync::Arc;

use super::datetime::Precision;
use super::value::Quantity;

/// Maps FHIR calendar-unit spellings to the CQL names (`a` → `year`...).
pub fn calendar_unit(unit: &str) -> &str {
    match unit {
        "a" => "year",
        "mo" => "month",
        "wk" => "week",
        "d" => "day",
        "h" => "hour",
        "min" => "minute",
        "s" => "second",
        "ms" => "millisecond",
        u => u,
    }
}

/// A unit without its UCUM annotations (`{beats}/min` is `/min`, `{score}` is `1`):
/// annotations are unity and do not change what the unit measures.
fn without_annotations(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for ch in unit.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let trimmed = out.trim_end_matches('/').trim_start_matches('.');
    if trimmed.is_empty() {
        "1".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// (dimension, factor to the dimension's base unit).
fn base(unit: &str) -> Option<(&'static str, f64)> {
    if unit.contains('{') {
        return base_plain(&without_annotations(unit));
    }
    base_plain(unit)
}

fn base_plain(unit: &str) -> Option<(&'static str, f64)> {
    Some(match unit {
        "1" | "" | "{count}" => ("1", 1.0),
        "%" => ("1", 0.01),
        "g" => ("g", 1.0),
        "mg" => ("g", 1e-3),
        "ug" | "mcg" => ("g", 1e-6),
        "kg" => ("g", 1e3),
        "[lb_av]" => ("g", 453.592_37),
        "[oz_av]" => ("g", 28.349_523_125),
        "m" => ("m", 1.0),
        "cm" => ("m", 1e-2),
        "mm" => ("m", 1e-3),
        "km" => ("m", 1e3),
        "[in_i]" => ("m", 0.0254),
        "[ft_i]" => ("m", 0.3048),
        "L" | "l" => ("L", 1.0),
        "mL" | "ml" => ("L", 1e-3),
        "dL" | "dl" => ("L", 0.1),
        "mm[Hg]" => ("mm[Hg]", 1.0),
        "kg/m2" => ("kg/m2", 1.0),
        "mg/dL" => ("g/L", 1e-2),
        "g/dL" => ("g/L", 10.0),
        "mg/L" => ("g/L", 1e-3),
        "g/L" => ("g/L", 1.0),
        "ug/dL" => ("g/L", 1e-5),
        "ug/mL" => ("g/L", 1e-3),
        "ug/L" => ("g/L", 1e-6),
        "ng/mL" => ("g/L", 1e-6),
        "pg/mL" => ("g/L", 1e-9),
        "mmol/L" => ("mol/L", 1e-3),
        "umol/L" => ("mol/L", 1e-6),
        "mol/L" => ("mol/L", 1.0),
        "meq/L" | "mEq/L" => ("eq/L", 1e-3),
        "[IU]/L" => ("[IU]/L", 1.0),
        "m[IU]/L" => ("[IU]/L", 1e-3),
        "[IU]/mL" => ("[IU]/L", 1e3),
        // Rates: per second, minute, hour, day.
        "/s" | "1/s" => ("1/s", 1.0),
        "/min" | "1/min" => ("1/s", 1.0 / 60.0),
        "/h" | "1/h" => ("1/s", 1.0 / 3600.0),
        "/d" | "1/d" => ("1/s", 1.0 / 86_400.0),
        "mL/min" => ("L/s", 1e-3 / 60.0),
        // Definite-duration time units (seconds).
        "millisecond" | "milliseconds" => ("s", 1e-3),
        "second" | "seconds" => ("s", 1.0),
        "minute" | "minutes" => ("s", 60.0),
        "hour" | "hours" => ("s", 3600.0),
        "day" | "days" => ("s", 86_400.0),
        "week" | "weeks" => ("s", 604_800.0),
        // Calendar months and years keep their own dimension: they have no fixed length.
        "month" | "months" => ("mo", 1.0),
        "year" | "years" => ("mo", 12.0),
        _ => return None,
    })
}

pub fn convert(q: &Quantity, to: &str) -> Option<Quantity> {
    if *q.unit == *to {
        return Some(q.clone());
    }
    let (d1, f1) = base(calendar_unit(&q.unit))?;
    let (d2, f2) = base(calendar_unit(to))?;
    if d1 != d2 {
        return None;
    }
    Some(Quantity {
        value: q.value * f1 / f2,
        unit: Arc::from(to),
    })
}

pub fn compare(a: &Quantity, b: &Quantity) -> Option<Ordering> {
    if a.unit == b.unit {
        return a.value.partial_cmp(&b.value);
    }
    let c = convert(b, &a.unit)?;
    let (x, y) = (round8(a.value), round8(c.value));
    x.partial_cmp(&y)
}

pub fn round8(x: f64) -> f64 {
    (x * 1e8).round() / 1e8
}

/// The temporal precision named by a duration unit, if it is one.
pub fn temporal_unit(unit: &str) -> Option<Precision> {
    match calendar_unit(unit) {
        "week" | "weeks" => Some(Precision::Day),
        u => Precision::parse(u),
    }
}

/// Amount of a time-valued quantity in its temporal unit (weeks as 7 days).
pub fn temporal_amount(q: &Quantity) -> Option<(i64, Precision)> {
    let unit = calendar_unit(&q.unit);
    let p = temporal_unit(unit)?;
    let v = q.value.trunc() as i64;
    Some(if unit.starts_with("week") {
        (v.saturating_mul(7), p)
    } else {
        (v, p)
    })
}
