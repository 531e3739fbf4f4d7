//! Less common CQL operators: regular expressions, tree navigation,
//! boundaries, ratios, list products and code-system membership.

use std::sync::Arc;

use regex::Regex;

use super::datetime::{days_in_month, DateTime, Precision};
use super::eval::{rt_err, R};
use super::model::model;
use super::node::{Op1, Op2};
use super::value::{self, Doc, Text, Tuple, Value};

fn text(s: &str) -> Value<'static> {
    Value::Str(Text::Shared(Arc::from(s)))
}

fn regex(pattern: &str, anchored: bool) -> Result<Regex, super::MeasureError> {
    let p = if anchored {
        format!("^(?:{pattern})$")
    } else {
        pattern.to_owned()
    };
    Regex::new(&p).map_err(|e| rt_err(format!("invalid regular expression: {e}")))
}

/// Unary operators that need the raw value (FHIR nodes for navigation).
pub fn op1<'a>(op: Op1, v: Value<'a>) -> R<'a> {
    Ok(match op {
        Op1::Children => match v {
            Value::Null => Value::Null,
            v => Value::list(children(&v)),
        },
        Op1::Descendents => match v {
            Value::Null => Value::Null,
            v => Value::list(descendents(&v)),
        },
        Op1::ToChars => match v.into_system() {
            Value::Str(s) => Value::list(s.chars().map(|c| text(&c.to_string())).collect()),
            _ => Value::Null,
        },
        Op1::ToRatio => match v.into_system() {
            Value::Str(s) => to_ratio(&s),
            r @ Value::Ratio(_) => r,
            _ => Value::Null,
        },
        other => return Err(rt_err(format!("operator {other:?}"))),
    })
}

/// `n:d` with each side a quantity (`1 'mg'`) or a bare number.
fn to_ratio(s: &str) -> Value<'static> {
    let Some((n, d)) = s.split_once(':') else {
        return Value::Null;
    };
    match (super::ops::parse_quantity(n), super::ops::parse_quantity(d)) {
        (Value::Quantity(n), Value::Quantity(d)) => Value::Ratio(Arc::new((n, d))),
        _ => Value::Null,
    }
}

fn push_flat<'a>(out: &mut Vec<Value<'a>>, v: Value<'a>) {
    match v {
        Value::Null => {}
        Value::List(l) => out.extend(l.iter().filter(|x| !x.is_null()).cloned()),
        x => out.push(x),
    }
}

/// Direct children: FHIR elements in document order, tuple fields, list members' children.
pub fn children<'a>(v: &Value<'a>) -> Vec<Value<'a>> {
    let mut out = Vec::new();
    match v {
        Value::Fhir(node, ty) => {
            if let Doc::Object(m) = node {
                for k in m.keys() {
                    if k.starts_with('_') || k == "resourceType" {
                        continue;
                    }
                    push_flat(&mut out, model().child(node, ty, k));
                }
            }
        }
        Value::Tuple(t) => {
            for (_, f) in &t.fields {
                push_flat(&mut out, f.clone());
            }
        }
        Value::List(l) => {
            for x in l.iter() {
                out.extend(children(x));
            }
        }
        _ => {}
    }
    out
}

/// Every descendant, depth first; bounded so malformed data cannot run away.
pub fn descendents<'a>(v: &Value<'a>) -> Vec<Value<'a>> {
    const LIMIT: usize = 100_000;
    let mut out = Vec::new();
    let mut stack: Vec<Value<'a>> = children(v).into_iter().rev().collect();
    while let Some(x) = stack.pop() {
        if out.len() >= LIMIT {
            break;
        }
        stack.extend(children(&x).into_iter().rev());
        out.push(x);
    }
    out
}

/// Binary operators added to `ops2::binary`; `x`/`y` are raw values.
pub fn binary<'a>(op: Op2, x: Value<'a>, y: Value<'a>) -> R<'a> {
    if op == Op2::Times {
        return times(x, y);
    }
    if matches!(op, Op2::InCodeSystem | Op2::AnyInCodeSystem) {
        return in_code_system(op, x, &y);
    }
    let (x, y) = (x.into_system(), y.into_system());
    if x.is_null() || (y.is_null() && !matches!(op, Op2::LowBoundary | Op2::HighBoundary)) {
        return Ok(Value::Null);
    }
    Ok(match (op, &x, &y) {
        (Op2::Matches, Value::Str(s), Value::Str(p)) => Value::Bool(regex(p, true)?.is_match(s)),
        (Op2::SplitOnMatches, Value::Str(s), Value::Str(p)) => {
            Value::list(regex(p, false)?.split(s).map(text).collect())
        }
        (Op2::CanConvertQuantity, Value::Quantity(q), Value::Str(u)) => {
            Value::Bool(super::units::convert(q, u).is_some())
        }
        (Op2::LowBoundary | Op2::HighBoundary, _, _) => {
            let digits = match &y {
                Value::Int(i) => Some(*i),
                _ => None,
            };
            boundary(&x, digits, op == Op2::HighBoundary)
        }
        (op, a, b) => {
            return Err(rt_err(format!(
                "operator {op:?} on {} and {}",
                a.type_name(),
                b.type_name()
            )))
        }
    })
}

/// `ReplaceMatches(argument, pattern, substitution)`.
pub fn replace_matches<'a>(args: &[Value<'a>]) -> R<'a> {
    match args {
        [Value::Str(s), Value::Str(p), Value::Str(r)] => {
            Ok(text(&regex(p, false)?.replace_all(s, &**r)))
        }
        _ => Ok(Value::Null),
    }
}

/// Cartesian product of two lists of tuples, each result merging both tuples' elements.
fn times<'a>(x: Value<'a>, y: Value<'a>) -> R<'a> {
    let (Value::List(a), Value::List(b)) = (&x, &y) else {
        return Ok(Value::Null);
    };
    let mut out = Vec::with_capacity(a.len() * b.len());
    for p in a.iter() {
        for q in b.iter() {
            let mut fields = Vec::new();
            for t in [p, q] {
                match t {
                    Value::Tuple(t) => {
                        for (n, v) in &t.fields {
                            if !fields.iter().any(|(m, _): &(Arc<str>, Value)| m == n) {
                                fields.push((n.clone(), v.clone()));
                            }
                        }
                    }
                    Value::Null => {}
                    other => return Err(rt_err(format!("Times of {}", other.type_name()))),
                }
            }
            out.push(Value::Tuple(Arc::new(Tuple {
                class: None,
                fields,
            })));
        }
    }
    Ok(Value::list(out))
}

fn in_code_system<'a>(op: Op2, x: Value<'a>, cs: &Value<'a>) -> R<'a> {
    let id = match cs {
        Value::Tuple(t) => match t.get("id") {
            Some(Value::Str(s)) => s.to_string(),
            _ => return Ok(Value::Null),
        },
        Value::Null => return Ok(Value::Null),
        other => return Err(rt_err(format!("code system {}", other.type_name()))),
    };
    let one =
        |v: &Value| -> Result<bool, super::MeasureError> {
            Ok(match v.to_system() {
                Value::Code(c) => c.system.as_deref() == Some(id.as_str()),
                Value::Concept(c) => c
                    .codes
                    .iter()
                    .any(|c| c.system.as_deref() == Some(id.as_str())),
                Value::Null => false,
                Value::Str(_) => return Err(rt_err(
                    "membership of a bare code string in a code system needs a terminology service",
                )),
                other => return Err(rt_err(format!("{} in a code system", other.type_name()))),
            })
        };
    Ok(match (op, &x) {
        (_, Value::Null) => Value::Null,
        (Op2::AnyInCodeSystem, Value::List(l)) => {
            let mut any = false;
            for v in l.iter() {
                any |= one(v)?;
            }
            Value::Bool(any)
        }
        (_, v) => Value::Bool(one(v)?),
    })
}

/// `LowBoundary`/`HighBoundary` of a decimal (digits after the point) or a
/// temporal value (digits of its ISO form: 4 year ... 17 millisecond).
fn boundary<'a>(x: &Value<'a>, digits: Option<i64>, high: bool) -> Value<'a> {
    match x {
        Value::Dec(d) => {
            let p = digits.unwrap_or(8);
            let have = value::decimal_places(*d) as i64;
            if !(0..=8).contains(&p) || p < have {
                return Value::Null;
            }
            let slack = 10f64.powi(-(have as i32)) - 10f64.powi(-(p as i32));
            // The unknown digits widen the value away from zero.
            let v = match (high, *d < 0.0) {
                (true, false) => d + slack,
                (false, true) => d - slack,
                _ => *d,
            };
            Value::Dec(super::units::round8(v))
        }
        Value::Date(t) => {
            temporal(t, digits.unwrap_or(8), high, true).map_or(Value::Null, Value::Date)
        }
        Value::DateTime(t) => {
            temporal(t, digits.unwrap_or(17), high, false).map_or(Value::Null, Value::DateTime)
        }
        Value::Time(t) => {
            // Time digits count from the hour: 2 hour, 4 minute, 6 second, 9 millisecond.
            let p = digits.unwrap_or(9);
            let iso = match p {
                2 => 10,
                4 => 12,
                6 => 14,
                9 => 17,
                _ => return Value::Null,
            };
            temporal(t, iso, high, false).map_or(Value::Null, Value::Time)
        }
        _ => Value::Null,
    }
}

fn temporal(t: &DateTime, digits: i64, high: bool, date_only: bool) -> Option<DateTime> {
    let target = match digits {
        4 => Precision::Year,
        6 => Precision::Month,
        8 => Precision::Day,
        10 if !date_only => Precision::Hour,
        12 if !date_only => Precision::Minute,
        14 if !date_only => Precision::Second,
        17 if !date_only => Precision::Millisecond,
        _ => return None,
    };
    if target < t.precision {
        return None;
    }
    let mut f = t.f();
    let known = t.precision as usize;
    for (i, part) in f.iter_mut().enumerate().skip(known + 1) {
        *part = match (i, high) {
            (1 | 2, false) => 1,
            (1, true) => 12,
            (2, true) => 0,
            (3, true) => 23,
            (4 | 5, true) => 59,
            (6, true) => 999,
            _ => 0,
        };
    }
    if high && known < 2 {
        f[2] = days_in_month(f[0], f[1]);
    }
    Some(DateTime::new(f, target, t.offset()))
}
