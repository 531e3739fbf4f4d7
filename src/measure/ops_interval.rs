//! Interval list operators: `expand`, `collapse ... per` a non-temporal
//! quantity, and `except` between two intervals.

use std::cmp::Ordering;
use std::sync::Arc;

use super::datetime::Precision;
use super::eval::R;
use super::interval;
use super::node::Op2;
use super::ops2::arith;
use super::value::{self, Quantity, Value};

/// `a except c` for intervals: the part of `a` outside `c`, null when that is
/// not one interval (`c` inside `a`) or nothing is left.
pub fn except<'a>(a: &value::Interval<'a>, c: &value::Interval<'a>) -> Value<'a> {
    let (sa, ea, sc, ec) = (
        interval::start(a),
        interval::end(a),
        interval::start(c),
        interval::end(c),
    );
    let whole = || Value::Interval(Arc::new(a.clone()));
    // Disjoint: nothing removed.
    if interval::lt(&ec, &sa, None) == Some(true) || interval::lt(&ea, &sc, None) == Some(true) {
        return whole();
    }
    let starts_before = interval::le(&sc, &sa, None);
    let ends_after = interval::le(&ea, &ec, None);
    match (starts_before, ends_after) {
        // `c` covers `a`.
        (Some(true), Some(true)) => Value::Null,
        // `c` removes the beginning of `a`.
        (Some(true), Some(false)) => Value::interval(interval::step(&ec, true), ea, true, true),
        // `c` removes the end of `a`.
        (Some(false), Some(true)) => Value::interval(sa, interval::step(&sc, false), true, true),
        _ => Value::Null,
    }
}

pub fn expand<'a>(x: Value<'a>, per: Value<'a>) -> R<'a> {
    // `expand Interval[...]` (one interval) gives the points; a list gives unit intervals.
    let (items, points) = match x {
        Value::List(l) => (l, false),
        i @ Value::Interval(_) => (Arc::new(vec![i]), true),
        _ => return Ok(Value::Null),
    };
    let mut out = Vec::new();
    for i in items.iter() {
        let Value::Interval(i) = i else { continue };
        let (mut cur, end) = (interval::start(i), interval::end(i));
        // Without `per`: 1 for numbers, one unit for quantities, and the
        // coarsest precision of the boundaries for dates and times.
        let step = match (&per, &cur) {
            (Value::Quantity(q), _) => Some(Value::Quantity(q.clone())),
            (Value::Null, Value::Int(_)) => Some(Value::Int(1)),
            (Value::Null, Value::Dec(_)) => Some(Value::Dec(1.0)),
            (Value::Null, Value::Quantity(q)) => Some(Value::Quantity(Quantity {
                value: 1.0,
                unit: q.unit.clone(),
            })),
            (Value::Null, Value::Date(a) | Value::DateTime(a) | Value::Time(a)) => {
                let p = match &end {
                    Value::Date(b) | Value::DateTime(b) | Value::Time(b) => {
                        a.precision.min(b.precision)
                    }
                    _ => a.precision,
                };
                Some(Value::Quantity(Quantity {
                    value: 1.0,
                    unit: Arc::from(precision_unit(p)),
                }))
            }
            _ => None,
        };
        let Some(step) = step else { continue };
        let mut guard = 0;
        while interval::le(&cur, &end, None) == Some(true) && guard < 100_000 {
            guard += 1;
            let next = arith(Op2::Add, &cur, &step)?;
            // No progress (a per finer than the points, e.g. hours on Dates): stop.
            if next.is_null() || interval::le(&next, &cur, None) != Some(false) {
                break;
            }
            if points {
                out.push(cur.clone());
                cur = next;
                continue;
            }
            let hi = interval::step(&next, false);
            if interval::le(&hi, &end, None) != Some(true) {
                break;
            }
            out.push(Value::interval(cur.clone(), hi, true, true));
            cur = next;
        }
    }
    Ok(Value::list(out))
}

fn precision_unit(p: Precision) -> &'static str {
    match p {
        Precision::Year => "year",
        Precision::Month => "month",
        Precision::Day => "day",
        Precision::Hour => "hour",
        Precision::Minute => "minute",
        Precision::Second => "second",
        Precision::Millisecond => "millisecond",
    }
}

/// Collapse where intervals separated by at most `per` (of the points' unit)
/// merge: with points on a grid of `per`, those that meet at that grid.
pub fn collapse_within<'a>(v: &Value<'a>, per: &super::value::Quantity) -> R<'a> {
    use interval::{end, le, lt, start};
    let Value::List(l) = v else {
        return Ok(Value::Null);
    };
    let mut items: Vec<value::Interval<'a>> = l
        .iter()
        .filter_map(|x| match x {
            Value::Interval(i) => Some((**i).clone()),
            _ => None,
        })
        .collect();
    items.sort_by(|a, b| interval::cmp(&start(a), &start(b), None).unwrap_or(Ordering::Equal));
    let mut out: Vec<value::Interval<'a>> = Vec::new();
    for it in items {
        if let Some(last) = out.last_mut() {
            let step = match end(last) {
                Value::Int(_) if per.value.fract() == 0.0 => Value::Int(per.value as i64),
                Value::Int(_) | Value::Dec(_) => Value::Dec(per.value),
                _ => Value::Quantity(per.clone()),
            };
            let reach = arith(Op2::Add, &end(last), &step)?;
            if le(&start(&it), &reach, None) == Some(true) {
                if lt(&end(last), &end(&it), None) == Some(true) {
                    last.high = it.high.clone();
                    last.high_closed = it.high_closed;
                }
                continue;
            }
        }
        out.push(it);
    }
    Ok(Value::list(
        out.into_iter()
            .map(|i| Value::Interval(Arc::new(i)))
            .collect(),
    ))
}
