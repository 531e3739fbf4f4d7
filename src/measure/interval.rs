//! Interval and point comparison semantics (CQL 1.5 §19), three-valued.
//! Intervals are read through their closed start/end points; an open null
//! bound is unknown, a closed null bound is the point type's extreme.

use std::cmp::Ordering;

use super::datetime::{DateTime, Precision};
use super::node::Op2;
use super::value::{compare_at, Interval, Value};

pub type B = Option<bool>;

pub fn and(a: B, b: B) -> B {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

pub fn or(a: B, b: B) -> B {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

pub fn cmp(a: &Value, b: &Value, p: Option<Precision>) -> Option<Ordering> {
    if a.is_null() || b.is_null() {
        return None;
    }
    compare_at(a, b, p)
}

pub fn lt(a: &Value, b: &Value, p: Option<Precision>) -> B {
    cmp(a, b, p).map(|o| o == Ordering::Less)
}
pub fn le(a: &Value, b: &Value, p: Option<Precision>) -> B {
    cmp(a, b, p).map(|o| o != Ordering::Greater)
}
pub fn eq(a: &Value, b: &Value, p: Option<Precision>) -> B {
    cmp(a, b, p).map(|o| o == Ordering::Equal)
}

/// Successor / predecessor of a point value.
pub fn step<'a>(v: &Value<'a>, forward: bool) -> Value<'a> {
    let d = if forward { 1 } else { -1 };
    match v {
        Value::Int(i) => Value::Int(i + d),
        Value::Dec(x) => Value::Dec(x + f64::from(d as i32) * 1e-8),
        Value::Quantity(q) => {
            let mut q = q.clone();
            q.value += f64::from(d as i32) * 1e-8;
            Value::Quantity(q)
        }
        Value::Date(x) => x.step(forward).map_or(Value::Null, Value::Date),
        Value::DateTime(x) => x.step(forward).map_or(Value::Null, Value::DateTime),
        Value::Time(x) => x.step(forward).map_or(Value::Null, Value::Time),
        _ => Value::Null,
    }
}

fn extreme<'a>(sample: &Value<'a>, max: bool) -> Value<'a> {
    match sample {
        Value::Int(_) => Value::Int(if max {
            i64::from(i32::MAX)
        } else {
            i64::from(i32::MIN)
        }),
        Value::Dec(_) => Value::Dec(if max { 1e28 } else { -1e28 }),
        Value::Quantity(q) => Value::Quantity(super::value::Quantity {
            value: if max { 1e28 } else { -1e28 },
            unit: q.unit.clone(),
        }),
        Value::Date(_) => Value::Date(if max {
            DateTime::max_value(true)
        } else {
            DateTime::min_value(true)
        }),
        Value::DateTime(_) => Value::DateTime(if max {
            DateTime::max_value(false)
        } else {
            DateTime::min_value(false)
        }),
        Value::Time(_) => Value::Time(DateTime::new(
            if max {
                [0, 1, 1, 23, 59, 59, 999]
            } else {
                [0, 1, 1, 0, 0, 0, 0]
            },
            Precision::Millisecond,
            None,
        )),
        _ => Value::Null,
    }
}

pub fn start<'a>(i: &Interval<'a>) -> Value<'a> {
    match (&i.low, i.low_closed) {
        (Value::Null, true) => extreme(&i.high, false),
        (Value::Null, false) => Value::Null,
        (v, true) => v.clone(),
        (v, false) => step(v, true),
    }
}

pub fn end<'a>(i: &Interval<'a>) -> Value<'a> {
    match (&i.high, i.high_closed) {
        (Value::Null, true) => extreme(&i.low, true),
        (Value::Null, false) => Value::Null,
        (v, true) => v.clone(),
        (v, false) => step(v, false),
    }
}

/// A value seen as an interval: points become unit intervals.
fn span<'a>(v: &Value<'a>) -> Option<(Value<'a>, Value<'a>)> {
    match v {
        Value::Null => None,
        Value::Interval(i) => Some((start(i), end(i))),
        p => Some((p.clone(), p.clone())),
    }
}

/// Interval/point relations shared by `Before`, `After`, `Overlaps`, `Starts`, ...
pub fn relate(op: Op2, a: &Value, b: &Value, p: Option<Precision>) -> B {
    let (Some((as_, ae)), Some((bs, be))) = (span(a), span(b)) else {
        return None;
    };
    match op {
        Op2::Before => lt(&ae, &bs, p),
        Op2::After => lt(&be, &as_, p),
        Op2::SameOrBefore => le(&ae, &bs, p),
        Op2::SameOrAfter => le(&be, &as_, p),
        Op2::SameAs => and(eq(&as_, &bs, p), eq(&ae, &be, p)),
        Op2::Overlaps => and(le(&as_, &be, p), le(&bs, &ae, p)),
        Op2::OverlapsBefore => and(lt(&as_, &bs, p), and(le(&bs, &ae, p), le(&ae, &be, p))),
        Op2::OverlapsAfter => and(lt(&be, &ae, p), and(le(&as_, &be, p), le(&bs, &as_, p))),
        Op2::IncludedIn => and(le(&bs, &as_, p), le(&ae, &be, p)),
        Op2::Includes => and(le(&as_, &bs, p), le(&be, &ae, p)),
        Op2::ProperIncludedIn => and(
            and(le(&bs, &as_, p), le(&ae, &be, p)),
            or(lt(&bs, &as_, p), lt(&ae, &be, p)),
        ),
        Op2::ProperIncludes => and(
            and(le(&as_, &bs, p), le(&be, &ae, p)),
            or(lt(&as_, &bs, p), lt(&be, &ae, p)),
        ),
        Op2::Starts => and(eq(&as_, &bs, p), le(&ae, &be, p)),
        Op2::Ends => and(eq(&ae, &be, p), le(&bs, &as_, p)),
        Op2::MeetsBefore => meets(&ae, &bs, p),
        Op2::MeetsAfter => meets(&be, &as_, p),
        Op2::Meets => or(meets(&ae, &bs, p), meets(&be, &as_, p)),
        _ => None,
    }
}

fn meets(end: &Value, start: &Value, p: Option<Precision>) -> B {
    if end.is_null() || start.is_null() {
        return None;
    }
    let next = match (end, p) {
        (Value::DateTime(d), Some(pr)) | (Value::Date(d), Some(pr)) => {
            let t = d.truncate(pr.min(d.precision));
            let n = t.step(true).map_or(Value::Null, Value::DateTime);
            return eq(&n, start, Some(pr));
        }
        _ => step(end, true),
    };
    eq(&next, start, p)
}

/// Point-in-interval membership.
pub fn contains_point(i: &Interval, point: &Value, p: Option<Precision>) -> B {
    if point.is_null() {
        return None;
    }
    let s = start(i);
    let e = end(i);
    let lower = if i.low.is_null() && !i.low_closed {
        None
    } else {
        le(&s, point, p)
    };
    let upper = if i.high.is_null() && !i.high_closed {
        None
    } else {
        le(point, &e, p)
    };
    and(lower, upper)
}

/// Merges overlapping or adjacent intervals (CQL `collapse`).
pub fn collapse<'a>(items: Vec<Interval<'a>>) -> Vec<Interval<'a>> {
    collapse_per(items, None)
}

/// The point just after `v` at precision `per` (e.g. the next day).
fn next_at<'a>(v: &Value<'a>, per: Option<Precision>) -> Value<'a> {
    match (v, per) {
        (Value::DateTime(d), Some(p)) => {
            let t = d.truncate(p.min(d.precision));
            t.add(1, p).map_or(Value::Null, Value::DateTime)
        }
        (Value::Date(d), Some(p)) => {
            let t = d.truncate(p.min(d.precision));
            t.add(1, p).map_or(Value::Null, Value::Date)
        }
        _ => step(v, true),
    }
}

/// `collapse ... per p`: intervals that overlap or meet at precision `p` merge.
pub fn collapse_per<'a>(mut items: Vec<Interval<'a>>, per: Option<Precision>) -> Vec<Interval<'a>> {
    items.sort_by(|a, b| cmp(&start(a), &start(b), None).unwrap_or(Ordering::Equal));
    let mut out: Vec<Interval<'a>> = Vec::new();
    for it in items {
        if let Some(last) = out.last_mut() {
            let le_end = le(&start(&it), &next_at(&end(last), per), per) == Some(true);
            if le_end {
                if lt(&end(last), &end(&it), None) == Some(true) {
                    last.high = it.high.clone();
                    last.high_closed = it.high_closed;
                }
                continue;
            }
        }
        out.push(it);
    }
    out
}
