//! Binary operators: logic, comparison, arithmetic, membership, list and
//! interval relations, temporal differences and terminology.

use std::cmp::Ordering;
use std::sync::Arc;

use super::datetime::{days_from_civil, DateTime, Precision};
use super::eval::{distinct, rt_err, same, Cx, R};
use super::interval::{self, and, or, B};
use super::node::{Node, Op2};
use super::ops::list_contains;
use super::program::Program;
use super::units;
use super::value::{self, Doc, Quantity, Text, Value};

fn b<'a>(x: B) -> Value<'a> {
    x.map_or(Value::Null, Value::Bool)
}

pub fn op2<'a>(cx: &mut Cx<'a>, op: Op2, args: &[Node; 2], p: Option<Precision>) -> R<'a> {
    // Logical operators short-circuit where three-valued logic allows.
    match op {
        Op2::And | Op2::Or | Op2::Implies => {
            let x = cx.eval(&args[0])?.as_bool();
            match (op, x) {
                (Op2::And, Some(false)) => return Ok(Value::Bool(false)),
                (Op2::Or, Some(true)) => return Ok(Value::Bool(true)),
                (Op2::Implies, Some(false)) => return Ok(Value::Bool(true)),
                _ => {}
            }
            let y = cx.eval(&args[1])?.as_bool();
            return Ok(b(match op {
                Op2::And => and(x, y),
                Op2::Or => or(x, y),
                _ => or(x.map(|v| !v), y),
            }));
        }
        _ => {}
    }
    let x = cx.eval(&args[0])?;
    let y = cx.eval(&args[1])?;
    binary(cx.prog, op, x, y, p)
}

pub fn binary<'a>(
    prog: &Program,
    op: Op2,
    x: Value<'a>,
    y: Value<'a>,
    p: Option<Precision>,
) -> R<'a> {
    use Op2 as O;
    match op {
        O::Xor => {
            return Ok(b(match (x.as_bool(), y.as_bool()) {
                (Some(a), Some(c)) => Some(a != c),
                _ => None,
            }))
        }
        O::Equivalent => return Ok(Value::Bool(value::equivalent(&x, &y))),
        O::InValueSet | O::AnyInValueSet => {
            if x.is_null() {
                return Ok(Value::Bool(false));
            }
            return Ok(Value::Bool(code_matches(prog, &x, &y)));
        }
        O::Union => return union(x, y),
        O::Intersect => return intersect(x, y, p),
        O::Except => return except(x, y),
        O::In | O::Contains => {
            let (container, item) = if op == O::In { (y, x) } else { (x, y) };
            // `"Value Set" contains X` (the translator has no terminology overload
            // of Contains): membership in the value set, as `X in "Value Set"`.
            if is_value_set(&container) {
                return Ok(Value::Bool(
                    !item.is_null() && code_matches(prog, &item, &container),
                ));
            }
            return membership(container, item, p);
        }
        O::ProperIn | O::ProperContains => {
            let (container, item) = if op == O::ProperIn { (y, x) } else { (x, y) };
            return Ok(match &container {
                Value::Interval(i) => b(and(
                    interval::contains_point(i, &item.to_system(), p),
                    and(
                        interval::cmp(&interval::start(i), &item.to_system(), p)
                            .map(|o| o != Ordering::Equal),
                        interval::cmp(&interval::end(i), &item.to_system(), p)
                            .map(|o| o != Ordering::Equal),
                    ),
                )),
                Value::List(l) => {
                    let found = membership(container.clone(), item.clone(), p)?;
                    match found.as_bool() {
                        Some(true) => Value::Bool(l.iter().any(|e| !same(e, &item))),
                        other => other.map_or(Value::Null, Value::Bool),
                    }
                }
                _ => Value::Null,
            });
        }
        O::IndexOf => {
            return Ok(match &x {
                Value::List(l) if !y.is_null() => {
                    Value::Int(l.iter().position(|e| same(e, &y)).map_or(-1, |i| i as i64))
                }
                _ => Value::Null,
            })
        }
        O::Indexer => {
            return Ok(match (&x, &y.to_system()) {
                (Value::List(l), Value::Int(i)) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| l.get(i))
                    .cloned()
                    .unwrap_or_default(),
                (Value::Str(s), Value::Int(i)) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| s.chars().nth(i))
                    .map_or(Value::Null, |c| {
                        Value::Str(Text::Shared(Arc::from(c.to_string().as_str())))
                    }),
                _ => Value::Null,
            })
        }
        O::Includes | O::IncludedIn | O::ProperIncludes | O::ProperIncludedIn
            if matches!(x, Value::List(_)) || matches!(y, Value::List(_)) =>
        {
            return list_includes(op, &x, &y)
        }
        O::Expand => return super::ops_interval::expand(x, y),
        O::Times
        | O::Matches
        | O::SplitOnMatches
        | O::LowBoundary
        | O::HighBoundary
        | O::CanConvertQuantity
        | O::InCodeSystem
        | O::AnyInCodeSystem => return super::ops_more::binary(op, x, y),
        O::CollapsePer => return super::ops::collapse_per(&x, &y),
        _ => {}
    }
    let (x, y) = (x.into_system(), y.into_system());
    if x.is_null() || y.is_null() {
        return Ok(Value::Null);
    }
    Ok(match op {
        O::Equal => b(value::equal(&x, &y)),
        O::NotEqual => b(value::equal(&x, &y).map(|v| !v)),
        O::Less => b(interval::cmp(&x, &y, p).map(|o| o == Ordering::Less)),
        O::Greater => b(interval::cmp(&x, &y, p).map(|o| o == Ordering::Greater)),
        O::LessOrEqual => b(interval::cmp(&x, &y, p).map(|o| o != Ordering::Greater)),
        O::GreaterOrEqual => b(interval::cmp(&x, &y, p).map(|o| o != Ordering::Less)),
        O::Add
        | O::Subtract
        | O::Multiply
        | O::Divide
        | O::TruncatedDivide
        | O::Modulo
        | O::Power => arith(op, &x, &y)?,
        O::Log => match (value::to_f64(&x), value::to_f64(&y)) {
            (Some(a), Some(base)) => Value::Dec(a.ln() / base.ln()),
            _ => Value::Null,
        },
        O::Round => match (value::to_f64(&x), &y) {
            (Some(a), Value::Int(d)) => {
                let f = 10f64.powi(i32::try_from(*d).unwrap_or(0));
                Value::Dec((a * f).round() / f)
            }
            _ => Value::Null,
        },
        O::Overlaps
        | O::OverlapsBefore
        | O::OverlapsAfter
        | O::Before
        | O::After
        | O::SameAs
        | O::SameOrBefore
        | O::SameOrAfter
        | O::Meets
        | O::MeetsBefore
        | O::MeetsAfter
        | O::Starts
        | O::Ends
        | O::Includes
        | O::IncludedIn
        | O::ProperIncludes
        | O::ProperIncludedIn => b(interval::relate(op, &x, &y, p)),
        O::DurationBetween | O::CalculateAgeAt => temporal_diff(&x, &y, p, false),
        O::DifferenceBetween => temporal_diff(&x, &y, p, true),
        O::StartsWith | O::EndsWith => match (&x, &y) {
            (Value::Str(s), Value::Str(t)) => Value::Bool(if op == O::StartsWith {
                s.starts_with(&**t)
            } else {
                s.ends_with(&**t)
            }),
            _ => Value::Null,
        },
        O::Split => match (&x, &y) {
            (Value::Str(s), Value::Str(sep)) => {
                // A one-character separator (`Split(reference, '/')`, evaluated per resource
                // in some measures) by the char searcher: the same pieces, without the
                // substring searcher's setup on every call.
                let mut chars = sep.chars();
                let parts = match (chars.next(), chars.next()) {
                    (Some(c), None) => s.split(c).map(Value::str).collect(),
                    _ => s.split(&**sep).map(Value::str).collect(),
                };
                Value::list(parts)
            }
            _ => Value::Null,
        },
        O::ConvertQuantity => match (&x, &y) {
            (Value::Quantity(q), Value::Str(u)) => {
                units::convert(q, u).map_or(Value::Null, Value::Quantity)
            }
            _ => Value::Null,
        },
        other => {
            return Err(rt_err(format!(
                "operator {other:?} on {} and {}",
                x.type_name(),
                y.type_name()
            )))
        }
    })
}

pub fn arith<'a>(op: Op2, x: &Value<'a>, y: &Value<'a>) -> R<'a> {
    use Op2 as O;
    Ok(match (x, y) {
        (Value::Int(a), Value::Int(c)) => match op {
            O::Add => a.checked_add(*c).map_or(Value::Null, Value::Int),
            O::Subtract => a.checked_sub(*c).map_or(Value::Null, Value::Int),
            O::Multiply => a.checked_mul(*c).map_or(Value::Null, Value::Int),
            O::Divide if *c != 0 => Value::Dec(units::round8(*a as f64 / *c as f64)),
            O::TruncatedDivide => a.checked_div(*c).map_or(Value::Null, Value::Int),
            O::Modulo => a.checked_rem(*c).map_or(Value::Null, Value::Int),
            O::Power => u32::try_from(*c)
                .ok()
                .and_then(|e| a.checked_pow(e))
                .map_or_else(|| Value::Dec((*a as f64).powf(*c as f64)), Value::Int),
            _ => Value::Null,
        },
        (Value::Int(_) | Value::Dec(_), Value::Int(_) | Value::Dec(_)) => {
            let (a, c) = (
                value::to_f64(x).unwrap_or_default(),
                value::to_f64(y).unwrap_or_default(),
            );
            let dec = |x: f64| Value::Dec(units::round8(x));
            match op {
                O::Add => dec(a + c),
                O::Subtract => dec(a - c),
                O::Multiply => dec(a * c),
                O::Divide if c != 0.0 => dec(a / c),
                O::TruncatedDivide if c != 0.0 => Value::Dec((a / c).trunc()),
                O::Modulo if c != 0.0 => Value::Dec(a % c),
                O::Power => Value::Dec(a.powf(c)),
                _ => Value::Null,
            }
        }
        (Value::Quantity(a), Value::Quantity(c)) => match op {
            O::Add | O::Subtract => match units::convert(c, &a.unit) {
                Some(c) => Value::Quantity(Quantity {
                    value: if op == O::Add {
                        a.value + c.value
                    } else {
                        a.value - c.value
                    },
                    unit: a.unit.clone(),
                }),
                None => Value::Null,
            },
            O::Divide => match units::convert(c, &a.unit) {
                Some(c) if c.value != 0.0 => Value::Quantity(Quantity {
                    value: a.value / c.value,
                    unit: Arc::from("1"),
                }),
                _ => Value::Null,
            },
            O::Multiply if &*c.unit == "1" => Value::Quantity(Quantity {
                value: a.value * c.value,
                unit: a.unit.clone(),
            }),
            O::Multiply if &*a.unit == "1" => Value::Quantity(Quantity {
                value: a.value * c.value,
                unit: c.unit.clone(),
            }),
            _ => {
                return Err(rt_err(format!(
                    "{op:?} of quantities in {} and {}",
                    a.unit, c.unit
                )))
            }
        },
        (Value::Quantity(a), n @ (Value::Int(_) | Value::Dec(_))) => {
            let n = value::to_f64(n).unwrap_or_default();
            match op {
                O::Multiply => Value::Quantity(Quantity {
                    value: a.value * n,
                    unit: a.unit.clone(),
                }),
                O::Divide if n != 0.0 => Value::Quantity(Quantity {
                    value: a.value / n,
                    unit: a.unit.clone(),
                }),
                _ => Value::Null,
            }
        }
        (n @ (Value::Int(_) | Value::Dec(_)), Value::Quantity(a)) if op == O::Multiply => {
            let n = value::to_f64(n).unwrap_or_default();
            Value::Quantity(Quantity {
                value: a.value * n,
                unit: a.unit.clone(),
            })
        }
        (Value::Date(d) | Value::DateTime(d) | Value::Time(d), Value::Quantity(q))
            if matches!(op, O::Add | O::Subtract) =>
        {
            let (amount, unit) = units::temporal_amount(q)
                .ok_or_else(|| rt_err(format!("cannot add {} to a date/time", q.unit)))?;
            let amount = if op == O::Subtract { -amount } else { amount };
            match d.add(amount, unit) {
                Some(r) => match x {
                    Value::Date(_) => Value::Date(r),
                    Value::Time(_) => Value::Time(r),
                    _ => Value::DateTime(r),
                },
                None => Value::Null,
            }
        }
        (Value::Str(a), Value::Str(c)) if op == O::Add => {
            Value::Str(Text::Shared(Arc::from(format!("{a}{c}").as_str())))
        }
        _ => {
            return Err(rt_err(format!(
                "{op:?} is not defined for {} and {}",
                x.type_name(),
                y.type_name()
            )))
        }
    })
}

pub(crate) fn membership<'a>(container: Value<'a>, item: Value<'a>, p: Option<Precision>) -> R<'a> {
    Ok(match &container {
        Value::Null => {
            if matches!(item, Value::Null) {
                Value::Null
            } else {
                Value::Bool(false)
            }
        }
        Value::List(l) => {
            if item.is_null() {
                return Ok(Value::Bool(l.iter().any(Value::is_null)));
            }
            let item = item.to_system();
            let mut unknown = false;
            for e in l.iter() {
                match value::equal(&e.to_system(), &item) {
                    Some(true) => return Ok(Value::Bool(true)),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown && l.iter().all(|e| !e.is_null()) {
                Value::Null
            } else {
                Value::Bool(false)
            }
        }
        Value::Interval(i) => b(interval::contains_point(i, &item.to_system(), p)),
        other => return Err(rt_err(format!("membership in {}", other.type_name()))),
    })
}

fn list_includes<'a>(op: Op2, x: &Value<'a>, y: &Value<'a>) -> R<'a> {
    let (outer, inner) = match op {
        Op2::Includes | Op2::ProperIncludes => (x, y),
        _ => (y, x),
    };
    let Value::List(o) = outer else {
        return Ok(Value::Null);
    };
    let inner_items: Vec<Value> = match inner {
        Value::List(l) => l.to_vec(),
        Value::Null => return Ok(Value::Null),
        v => vec![v.clone()],
    };
    let all = inner_items.iter().all(|e| list_contains(o, e));
    let proper = matches!(op, Op2::ProperIncludes | Op2::ProperIncludedIn);
    Ok(Value::Bool(all && (!proper || o.len() > inner_items.len())))
}

fn union<'a>(x: Value<'a>, y: Value<'a>) -> R<'a> {
    match (x, y) {
        (Value::List(a), Value::List(c)) => {
            let mut all = a.to_vec();
            all.extend(c.iter().cloned());
            Ok(Value::list(distinct(all)))
        }
        (Value::List(a), Value::Null) | (Value::Null, Value::List(a)) => {
            Ok(Value::list(distinct(a.to_vec())))
        }
        (Value::Interval(a), Value::Interval(c)) => {
            let joined = interval::collapse(vec![(*a).clone(), (*c).clone()]);
            Ok(match joined.as_slice() {
                [one] => Value::Interval(Arc::new(one.clone())),
                _ => Value::Null,
            })
        }
        (Value::Null, _) | (_, Value::Null) => Ok(Value::Null),
        (a, c) => Err(rt_err(format!(
            "union of {} and {}",
            a.type_name(),
            c.type_name()
        ))),
    }
}

fn intersect<'a>(x: Value<'a>, y: Value<'a>, p: Option<Precision>) -> R<'a> {
    match (x, y) {
        (Value::List(a), Value::List(c)) => Ok(Value::list(distinct(
            a.iter().filter(|e| list_contains(&c, e)).cloned().collect(),
        ))),
        (Value::Interval(a), Value::Interval(c)) => {
            if interval::relate(
                Op2::Overlaps,
                &Value::Interval(a.clone()),
                &Value::Interval(c.clone()),
                p,
            ) != Some(true)
            {
                return Ok(Value::Null);
            }
            let (s1, s2) = (interval::start(&a), interval::start(&c));
            let (e1, e2) = (interval::end(&a), interval::end(&c));
            let lo = if interval::lt(&s1, &s2, None) == Some(true) {
                s2
            } else {
                s1
            };
            let hi = if interval::lt(&e1, &e2, None) == Some(true) {
                e1
            } else {
                e2
            };
            Ok(Value::interval(lo, hi, true, true))
        }
        _ => Ok(Value::Null),
    }
}

fn except<'a>(x: Value<'a>, y: Value<'a>) -> R<'a> {
    match (x, y) {
        (Value::List(a), Value::List(c)) => Ok(Value::list(distinct(
            a.iter()
                .filter(|e| !list_contains(&c, e))
                .cloned()
                .collect(),
        ))),
        (Value::List(a), Value::Null) => Ok(Value::List(a)),
        (Value::Interval(a), Value::Interval(c)) => Ok(super::ops_interval::except(&a, &c)),
        (Value::Null, _) | (Value::Interval(_), Value::Null) => Ok(Value::Null),
        (a, c) => Err(rt_err(format!(
            "except of {} and {}",
            a.type_name(),
            c.type_name()
        ))),
    }
}

fn temporal_diff<'a>(
    x: &Value<'a>,
    y: &Value<'a>,
    p: Option<Precision>,
    boundaries: bool,
) -> Value<'a> {
    let (
        Value::Date(a) | Value::DateTime(a) | Value::Time(a),
        Value::Date(c) | Value::DateTime(c) | Value::Time(c),
    ) = (x, y)
    else {
        return Value::Null;
    };
    let p = p.unwrap_or(Precision::Day);
    let (mut a, mut c) = (*a, *c);
    if a.precision >= Precision::Hour && c.precision >= Precision::Hour {
        a = a.to_offset(0);
        c = c.to_offset(0);
    }
    if boundaries && p == Precision::Year {
        // Year boundaries crossed need only the years (`duration` would want months).
        return Value::Int(i64::from(c.f()[0] - a.f()[0]));
    }
    if boundaries {
        a = a.truncate(p);
        c = c.truncate(p);
    }
    duration(&a, &c, p).map_or(Value::Null, Value::Int)
}

/// Whole `p` units from `a` to `c`.
pub fn duration(a: &DateTime, c: &DateTime, p: Precision) -> Option<i64> {
    let needed = if p == Precision::Year {
        Precision::Month
    } else {
        p
    };
    if a.precision.min(c.precision) < needed.min(Precision::Day) {
        return None;
    }
    Some(match p {
        Precision::Year | Precision::Month => {
            let (af, cf) = (a.f(), c.f());
            let mut m = i64::from(cf[0] - af[0]) * 12 + i64::from(cf[1] - af[1]);
            let rest = |f: &[i32; 7]| (f[2], f[3], f[4], f[5], f[6]);
            if m > 0 && rest(&cf) < rest(&af) {
                m -= 1;
            } else if m < 0 && rest(&cf) > rest(&af) {
                m += 1;
            }
            if p == Precision::Year {
                m / 12
            } else {
                m
            }
        }
        _ => {
            let ms = |d: &DateTime| {
                let f = d.f();
                let days = days_from_civil(f[0], f[1], f[2]);
                ((days * 24 + i64::from(f[3])) * 60 + i64::from(f[4])) * 60_000
                    + i64::from(f[5]) * 1000
                    + i64::from(f[6])
            };
            let diff = ms(c) - ms(a);
            let unit = match p {
                Precision::Day => 86_400_000,
                Precision::Hour => 3_600_000,
                Precision::Minute => 60_000,
                Precision::Second => 1000,
                _ => 1,
            };
            diff / unit
        }
    })
}

/// Calls `f(system, code)` for every code a value carries; stops at the first `true`.
fn any_code(v: &Value, f: &mut dyn FnMut(Option<&str>, &str) -> bool) -> bool {
    match v {
        Value::Str(s) => f(None, s),
        Value::Code(c) => f(c.system.as_deref(), &c.code),
        Value::Concept(c) => c.codes.iter().any(|c| f(c.system.as_deref(), &c.code)),
        Value::List(l) => l.iter().any(|x| any_code(x, f)),
        Value::Fhir(node, _) => fhir_codes(node, f),
        _ => false,
    }
}

fn fhir_codes(node: &Doc, f: &mut dyn FnMut(Option<&str>, &str) -> bool) -> bool {
    match node {
        Doc::String(s) => f(None, s),
        Doc::Array(a) => a.iter().any(|n| fhir_codes(n, f)),
        Doc::Object(_) => {
            if let Some(Doc::Array(codings)) = node.get("coding") {
                return codings.iter().any(|c| fhir_codes(c, f));
            }
            match node.get("code").and_then(Doc::as_str) {
                Some(code) => f(node.get("system").and_then(Doc::as_str), code),
                None => false,
            }
        }
        _ => false,
    }
}

fn is_value_set(v: &Value) -> bool {
    match v {
        Value::ValueSet(_) => true,
        Value::Tuple(t) => t.class.as_deref() == Some("ValueSet"),
        _ => false,
    }
}

/// Whether value `v` has a code in `codes` (a value set, a code, a concept or a list of codes).
pub fn code_matches(prog: &Program, v: &Value, codes: &Value) -> bool {
    match codes {
        Value::ValueSet(i) => {
            let term = prog.terminology();
            any_code(v, &mut |system, code| term.contains(*i, system, code))
        }
        // `System.ValueSet { id: url }` built by CQL (FHIRHelpers.ToValueSet).
        Value::Tuple(t) if t.class.as_deref() == Some("ValueSet") => {
            let url = t.get("id").map(Value::to_system);
            let idx = match &url {
                Some(Value::Str(u)) => prog.terminology().lookup(u),
                _ => None,
            };
            idx.is_some_and(|i| code_matches(prog, v, &Value::ValueSet(i)))
        }
        other => any_code(v, &mut |system, code| {
            any_code(other, &mut |s2, c2| {
                code == c2 && (system.is_none() || s2.is_none() || system == s2)
            })
        }),
    }
}
