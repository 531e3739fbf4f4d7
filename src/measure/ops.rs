//! Unary and n-ary operators: logic, lists, aggregates, conversions, strings.

use std::cmp::Ordering;
use std::sync::Arc;

use super::datetime::{DateTime, Precision};
use super::eval::{distinct, rt_err, same, sort_cmp, Cx, R};
use super::interval;
use super::node::{Conversion, Op1, OpN};
use super::value::{self, Code, Concept, Quantity, Text, Value};

fn list_items<'a>(v: &Value<'a>) -> Option<Arc<Vec<Value<'a>>>> {
    match v {
        Value::List(l) => Some(l.clone()),
        _ => None,
    }
}

fn non_null<'a>(v: &Value<'a>) -> Vec<Value<'a>> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|x| !x.is_null())
            .map(|x| x.to_system())
            .collect(),
        _ => Vec::new(),
    }
}

pub fn op1<'a>(cx: &mut Cx<'a>, op: Op1, v: Value<'a>) -> R<'a> {
    use Op1 as O;
    // Operators that look at the raw value (lists, nulls, FHIR nodes).
    match op {
        O::IsNull => return Ok(Value::Bool(v.is_null())),
        O::IsTrue => return Ok(Value::Bool(v.as_bool() == Some(true))),
        O::IsFalse => return Ok(Value::Bool(v.as_bool() == Some(false))),
        O::Exists => {
            return Ok(Value::Bool(match &v {
                Value::List(l) => l.iter().any(|x| !x.is_null()),
                _ => false,
            }))
        }
        O::SingletonFrom => {
            return match &v {
                Value::List(l) => match l.len() {
                    0 => Ok(Value::Null),
                    1 => Ok(l[0].clone()),
                    _ => Err(rt_err("singleton from a list with more than one element")),
                },
                Value::Null => Ok(Value::Null),
                x => Ok(x.clone()),
            }
        }
        O::First => {
            return Ok(list_items(&v)
                .and_then(|l| l.first().cloned())
                .unwrap_or_default())
        }
        O::Last => {
            return Ok(list_items(&v)
                .and_then(|l| l.last().cloned())
                .unwrap_or_default())
        }
        O::Distinct => {
            return Ok(match list_items(&v) {
                Some(l) => Value::list(distinct(l.to_vec())),
                None => Value::Null,
            })
        }
        O::Flatten => {
            let Some(l) = list_items(&v) else {
                return Ok(Value::Null);
            };
            let mut out = Vec::new();
            for x in l.iter() {
                match x {
                    Value::List(inner) => out.extend(inner.iter().cloned()),
                    x => out.push(x.clone()),
                }
            }
            return Ok(Value::list(out));
        }
        O::Count => {
            return Ok(Value::Int(match &v {
                Value::List(l) => l.iter().filter(|x| !x.is_null()).count() as i64,
                _ => 0,
            }))
        }
        O::ToList => {
            return Ok(match v {
                Value::Null => Value::list(Vec::new()),
                Value::List(_) => v,
                x => Value::list(vec![x]),
            })
        }
        O::Size => {
            return Ok(match &v {
                Value::Interval(i) => width(i, true),
                _ => Value::Null,
            })
        }
        O::ConvertsTo(target) => {
            if v.is_null() {
                return Ok(Value::Null);
            }
            let to = match target {
                Conversion::Boolean => O::ToBoolean,
                Conversion::Date => O::ToDate,
                Conversion::DateTime => O::ToDateTime,
                Conversion::Decimal => O::ToDecimal,
                Conversion::Integer => O::ToInteger,
                Conversion::Quantity => O::ToQuantity,
                Conversion::Ratio => O::ToRatio,
                Conversion::String => O::ToStr,
                Conversion::Time => O::ToTime,
            };
            // A failed conversion (null or an error) means "does not convert".
            return Ok(Value::Bool(op1(cx, to, v).is_ok_and(|r| !r.is_null())));
        }
        O::Children | O::Descendents | O::ToChars | O::ToRatio => {
            return super::ops_more::op1(op, v)
        }
        O::ExpandValueSet => {
            return Ok(match v {
                Value::ValueSet(i) => expand_vs(cx, i),
                _ => Value::Null,
            })
        }
        _ => {}
    }
    let v = v.into_system();
    if v.is_null()
        && !matches!(
            op,
            O::Sum
                | O::Min
                | O::Max
                | O::Avg
                | O::Median
                | O::Mode
                | O::Product
                | O::GeometricMean
                | O::Variance
                | O::StdDev
                | O::PopulationVariance
                | O::PopulationStdDev
                | O::AllTrue
                | O::AnyTrue
        )
    {
        return Ok(Value::Null);
    }
    Ok(match (op, &v) {
        (O::Not, Value::Bool(b)) => Value::Bool(!b),
        (O::Negate, Value::Int(i)) => i.checked_neg().map_or(Value::Null, Value::Int),
        (O::Negate, Value::Dec(d)) => Value::Dec(-d),
        (O::Negate, Value::Quantity(q)) => Value::Quantity(Quantity {
            value: -q.value,
            unit: q.unit.clone(),
        }),
        (O::Abs, Value::Int(i)) => i.checked_abs().map_or(Value::Null, Value::Int),
        (O::Abs, Value::Dec(d)) => Value::Dec(d.abs()),
        (O::Abs, Value::Quantity(q)) => Value::Quantity(Quantity {
            value: q.value.abs(),
            unit: q.unit.clone(),
        }),
        (O::Start, Value::Interval(i)) => interval::start(i),
        (O::End, Value::Interval(i)) => interval::end(i),
        (O::Width, Value::Interval(i)) => width(i, false),
        (O::PointFrom, Value::Interval(i)) => {
            if interval::eq(&interval::start(i), &interval::end(i), None) == Some(true) {
                interval::start(i)
            } else {
                return Err(rt_err("point from a non-unit interval"));
            }
        }
        (
            O::Sum
            | O::Min
            | O::Max
            | O::Avg
            | O::Median
            | O::Mode
            | O::Product
            | O::GeometricMean
            | O::Variance
            | O::StdDev
            | O::PopulationVariance
            | O::PopulationStdDev,
            _,
        ) => aggregate(op, non_null(&v))?,
        (O::AllTrue, _) => Value::Bool(non_null(&v).iter().all(|x| x.as_bool() == Some(true))),
        (O::AnyTrue, _) => Value::Bool(non_null(&v).iter().any(|x| x.as_bool() == Some(true))),
        (O::ToStr, x) => to_string(x).map_or(Value::Null, |s| {
            Value::Str(Text::Shared(Arc::from(s.as_str())))
        }),
        (O::ToInteger, Value::Int(_)) => v.clone(),
        (O::ToInteger, Value::Str(s)) => s.trim().parse().map_or(Value::Null, Value::Int),
        (O::ToInteger, Value::Bool(b)) => Value::Int(i64::from(*b)),
        (O::ToDecimal, Value::Int(i)) => Value::Dec(*i as f64),
        (O::ToDecimal, Value::Dec(_)) => v.clone(),
        (O::ToDecimal, Value::Str(s)) => s.trim().parse().map_or(Value::Null, Value::Dec),
        (O::ToDecimal, Value::Bool(b)) => Value::Dec(if *b { 1.0 } else { 0.0 }),
        (O::ToDateTime, Value::Date(d)) => Value::DateTime(*d),
        (O::ToDateTime, Value::DateTime(_)) => v.clone(),
        (O::ToDateTime, Value::Str(s)) => DateTime::parse(s).map_or(Value::Null, Value::DateTime),
        (O::ToDate | O::DateFrom, Value::DateTime(d) | Value::Date(d)) => {
            Value::Date(d.truncate(d.precision.min(Precision::Day)))
        }
        (O::ToDate, Value::Str(s)) => DateTime::parse(s)
            .filter(|d| d.precision <= Precision::Day)
            .map_or(Value::Null, Value::Date),
        (O::ToTime, Value::Time(_)) => v.clone(),
        (O::ToTime, Value::Str(s)) => {
            super::datetime::parse_time(s).map_or(Value::Null, Value::Time)
        }
        (O::TimeFrom, Value::DateTime(d)) if d.precision >= Precision::Hour => {
            Value::Time(DateTime::new(
                [0, 1, 1, d.f()[3], d.f()[4], d.f()[5], d.f()[6]],
                d.precision,
                None,
            ))
        }
        (O::TimezoneOffsetFrom, Value::DateTime(d)) => d
            .offset()
            .map_or(Value::Null, |o| Value::Dec(f64::from(o) / 60.0)),
        (O::ToQuantity, Value::Int(i)) => Value::Quantity(Quantity {
            value: *i as f64,
            unit: Arc::from("1"),
        }),
        (O::ToQuantity, Value::Dec(d)) => Value::Quantity(Quantity {
            value: *d,
            unit: Arc::from("1"),
        }),
        (O::ToQuantity, Value::Quantity(_)) => v.clone(),
        (O::ToQuantity, Value::Str(s)) => parse_quantity(s),
        (O::ToConcept, Value::Code(c)) => Value::Concept(Arc::new(Concept {
            codes: vec![(**c).clone()],
            display: None,
        })),
        (O::ToConcept, Value::Concept(_)) => v.clone(),
        (O::ToConcept, Value::List(l)) => Value::Concept(Arc::new(Concept {
            codes: l
                .iter()
                .filter_map(|c| match c.to_system() {
                    Value::Code(c) => Some((*c).clone()),
                    _ => None,
                })
                .collect(),
            display: None,
        })),
        (O::ToBoolean, Value::Bool(_)) => v.clone(),
        (O::ToBoolean, Value::Str(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Value::Bool(true),
            "false" | "f" | "no" | "n" | "0" => Value::Bool(false),
            _ => Value::Null,
        },
        (O::Component(p), Value::DateTime(d) | Value::Date(d) | Value::Time(d)) => {
            if d.precision < p {
                Value::Null
            } else {
                Value::Int(i64::from(d.f()[p as usize]))
            }
        }
        (O::Upper, Value::Str(s)) => Value::Str(Text::Shared(Arc::from(s.to_uppercase().as_str()))),
        (O::Lower, Value::Str(s)) => Value::Str(Text::Shared(Arc::from(s.to_lowercase().as_str()))),
        (O::Length, Value::Str(s)) => Value::Int(s.chars().count() as i64),
        (O::Length, Value::List(l)) => Value::Int(l.len() as i64),
        (O::Predecessor, x) => interval::step(x, false),
        (O::Successor, x) => interval::step(x, true),
        (O::Truncate, Value::Dec(d)) => Value::Int(d.trunc() as i64),
        (O::Truncate | O::Floor | O::Ceiling, Value::Int(_)) => v.clone(),
        (O::Floor, Value::Dec(d)) => Value::Int(d.floor() as i64),
        (O::Ceiling, Value::Dec(d)) => Value::Int(d.ceil() as i64),
        (O::Ln, x) => value::to_f64(x).map_or(Value::Null, |f| Value::Dec(f.ln())),
        (O::Exp, x) => value::to_f64(x).map_or(Value::Null, |f| Value::Dec(f.exp())),
        (O::PrecisionOf, Value::DateTime(d) | Value::Date(d)) => Value::Int(match d.precision {
            Precision::Year => 4,
            Precision::Month => 6,
            Precision::Day => 8,
            Precision::Hour => 10,
            Precision::Minute => 12,
            Precision::Second => 14,
            Precision::Millisecond => 17,
        }),
        (op, x) => {
            return Err(rt_err(format!(
                "{op:?} is not defined for {}",
                x.type_name()
            )))
        }
    })
}

fn width<'a>(i: &value::Interval<'a>, inclusive: bool) -> Value<'a> {
    let (s, e) = (interval::start(i), interval::end(i));
    match (&s, &e) {
        (Value::Int(a), Value::Int(b)) => Value::Int(b - a + i64::from(inclusive)),
        (Value::Dec(a), Value::Dec(b)) => Value::Dec(b - a),
        (Value::Quantity(a), Value::Quantity(b)) => {
            super::units::convert(b, &a.unit).map_or(Value::Null, |b| {
                Value::Quantity(Quantity {
                    value: b.value - a.value,
                    unit: a.unit.clone(),
                })
            })
        }
        _ => Value::Null,
    }
}

fn aggregate<'a>(op: Op1, items: Vec<Value<'a>>) -> R<'a> {
    if items.is_empty() {
        return Ok(Value::Null);
    }
    Ok(match op {
        Op1::Min | Op1::Max => {
            let mut best = items[0].clone();
            for x in &items[1..] {
                let o = value::compare(x, &best);
                if (op == Op1::Min && o == Some(Ordering::Less))
                    || (op == Op1::Max && o == Some(Ordering::Greater))
                {
                    best = x.clone();
                }
            }
            best
        }
        Op1::Sum => {
            let mut acc = items[0].clone();
            for x in &items[1..] {
                acc = super::ops2::arith(super::node::Op2::Add, &acc, x)?;
            }
            acc
        }
        Op1::Mode => {
            let mut best = (0, items[0].clone());
            for x in &items {
                let n = items.iter().filter(|y| same(x, y)).count();
                if n > best.0 {
                    best = (n, x.clone());
                }
            }
            best.1
        }
        Op1::Avg
        | Op1::Product
        | Op1::GeometricMean
        | Op1::Variance
        | Op1::StdDev
        | Op1::PopulationVariance
        | Op1::PopulationStdDev => {
            // Numbers, or quantities converted to the first one's unit.
            let unit = match &items[0] {
                Value::Quantity(q) => Some(q.unit.clone()),
                _ => None,
            };
            let nums: Option<Vec<f64>> = items
                .iter()
                .map(|x| match (x, &unit) {
                    (Value::Quantity(q), Some(u)) => super::units::convert(q, u).map(|q| q.value),
                    (x, None) => value::to_f64(x),
                    _ => None,
                })
                .collect();
            let v = nums.ok_or_else(|| rt_err(format!("{op:?} of non-numeric values")))?;
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let ss = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
            let r = match op {
                Op1::Avg => mean,
                Op1::Product => v.iter().product(),
                Op1::GeometricMean => v.iter().product::<f64>().powf(1.0 / n),
                Op1::Variance if n > 1.0 => ss / (n - 1.0),
                Op1::StdDev if n > 1.0 => (ss / (n - 1.0)).sqrt(),
                Op1::PopulationVariance => ss / n,
                Op1::PopulationStdDev => (ss / n).sqrt(),
                _ => return Ok(Value::Null),
            };
            let r = super::units::round8(r);
            match unit {
                Some(u)
                    if !matches!(op, Op1::Product | Op1::Variance | Op1::PopulationVariance) =>
                {
                    Value::Quantity(Quantity { value: r, unit: u })
                }
                _ if op == Op1::Product && items.iter().all(|x| matches!(x, Value::Int(_))) => {
                    Value::Int(r as i64)
                }
                _ => Value::Dec(r),
            }
        }
        _ => {
            let mut sorted = items;
            sorted.sort_by(sort_cmp);
            let n = sorted.len();
            if n % 2 == 1 {
                sorted[n / 2].clone()
            } else {
                let a = value::to_f64(&sorted[n / 2 - 1]).unwrap_or_default();
                let b = value::to_f64(&sorted[n / 2]).unwrap_or_default();
                Value::Dec((a + b) / 2.0)
            }
        }
    })
}

fn collapse_list<'a>(v: &Value<'a>) -> R<'a> {
    let Some(l) = list_items(v) else {
        return Ok(Value::Null);
    };
    let items: Vec<value::Interval<'a>> = l
        .iter()
        .filter_map(|x| match x {
            Value::Interval(i) => Some((**i).clone()),
            _ => None,
        })
        .collect();
    Ok(Value::list(
        interval::collapse(items)
            .into_iter()
            .map(|i| Value::Interval(Arc::new(i)))
            .collect(),
    ))
}

/// `collapse X per q`: with a temporal `q`, intervals meeting at its precision merge.
pub fn collapse_per<'a>(v: &Value<'a>, per: &Value<'a>) -> R<'a> {
    let precision = match per {
        Value::Quantity(q) => super::units::temporal_unit(&q.unit),
        _ => None,
    };
    if precision.is_none() {
        if let Value::Quantity(q) = per {
            // A non-temporal `per` (`collapse X per 1 'mg'`): gaps up to it close.
            return super::ops_interval::collapse_within(v, q);
        }
        return collapse_list(v);
    }
    let Some(l) = list_items(v) else {
        return Ok(Value::Null);
    };
    let items: Vec<value::Interval<'a>> = l
        .iter()
        .filter_map(|x| match x {
            Value::Interval(i) => Some((**i).clone()),
            _ => None,
        })
        .collect();
    Ok(Value::list(
        interval::collapse_per(items, precision)
            .into_iter()
            .map(|i| Value::Interval(Arc::new(i)))
            .collect(),
    ))
}

fn expand_vs<'a>(cx: &Cx<'a>, i: u32) -> Value<'a> {
    let set = cx.prog.terminology().sets.get(i as usize);
    let mut out = Vec::new();
    for (system, codes) in set.into_iter().flatten() {
        for c in codes {
            out.push(Value::Code(Arc::new(Code {
                code: Arc::from(c.as_str()),
                system: Some(Arc::from(system.as_str())),
                version: None,
                display: None,
            })));
        }
    }
    Value::list(out)
}

pub(crate) fn parse_quantity(s: &str) -> Value<'static> {
    let s = s.trim();
    let (num, unit) = match s.find(' ') {
        Some(i) => (&s[..i], s[i + 1..].trim().trim_matches('\'')),
        None => (s, "1"),
    };
    num.parse().map_or(Value::Null, |value| {
        Value::Quantity(Quantity {
            value,
            unit: Arc::from(unit),
        })
    })
}

pub fn to_string(v: &Value) -> Option<String> {
    Some(match v {
        Value::Str(s) => s.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Dec(d) => format!("{}", super::units::round8(*d)),
        Value::Date(d) => d.format(true),
        Value::DateTime(d) => d.format(false),
        Value::Time(d) => d.format(false).split_once('T').map(|(_, t)| t.to_owned())?,
        Value::Quantity(q) => format!("{} '{}'", q.value, q.unit),
        Value::Code(c) => c.code.to_string(),
        _ => return None,
    })
}

pub fn opn<'a>(op: OpN, args: Vec<Value<'a>>) -> R<'a> {
    // Coalesce, Message and Slice pass values through untouched (FHIR data stays FHIR).
    let args: Vec<Value<'a>> = if matches!(op, OpN::Coalesce | OpN::Message | OpN::Slice) {
        args
    } else {
        args.into_iter().map(Value::into_system).collect()
    };
    Ok(match op {
        OpN::Coalesce => {
            if args.len() == 1 {
                if let Value::List(l) = &args[0] {
                    return Ok(l.iter().find(|x| !x.is_null()).cloned().unwrap_or_default());
                }
            }
            args.into_iter().find(|x| !x.is_null()).unwrap_or_default()
        }
        OpN::Concatenate => {
            let mut s = String::new();
            for a in &args {
                match a {
                    Value::Str(x) => s.push_str(x),
                    _ => return Ok(Value::Null),
                }
            }
            Value::Str(Text::Shared(Arc::from(s.as_str())))
        }
        OpN::Message => {
            // An error-severity message whose condition holds stops the evaluation
            // (CQL `Message`); other severities only return the source.
            let mut it = args.into_iter();
            let source = it.next().unwrap_or_default();
            let condition = it.next().and_then(|c| c.as_bool()) == Some(true);
            let code = it.next().and_then(|c| to_string(&c.into_system()));
            let severity = it.next().and_then(|c| to_string(&c.into_system()));
            let message = it.next().and_then(|c| to_string(&c.into_system()));
            if condition
                && severity
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("error"))
            {
                return Err(rt_err(format!(
                    "{}: {}",
                    code.unwrap_or_default(),
                    message.unwrap_or_default()
                )));
            }
            source
        }
        OpN::Slice => match (&args[0], &args[1], &args[2]) {
            (Value::List(l), start, end) => {
                let start = match start {
                    Value::Int(i) => usize::try_from(*i).unwrap_or(0),
                    _ => 0,
                };
                let end = match end {
                    Value::Int(i) => usize::try_from(*i).unwrap_or(0).min(l.len()),
                    _ => l.len(),
                };
                Value::list(if start < end {
                    l[start..end].to_vec()
                } else {
                    Vec::new()
                })
            }
            _ => Value::Null,
        },
        OpN::ReplaceMatches => return super::ops_more::replace_matches(&args),
        OpN::Now | OpN::Today | OpN::TimeOfDay => {
            return Err(rt_err(format!("{op:?} needs the evaluation context")))
        }
        OpN::Date | OpN::DateTime | OpN::Time => temporal_ctor(op, &args),
        OpN::Combine => {
            let sep = match args.get(1) {
                Some(Value::Str(s)) => s.to_string(),
                _ => String::new(),
            };
            let parts: Vec<String> = match args.first() {
                Some(Value::List(l)) => l
                    .iter()
                    .filter_map(|x| match x {
                        Value::Str(s) => Some(s.to_string()),
                        _ => None,
                    })
                    .collect(),
                _ => return Ok(Value::Null),
            };
            Value::Str(Text::Shared(Arc::from(parts.join(&sep).as_str())))
        }
        OpN::Substring => match (&args[0], &args[1], args.get(2)) {
            (Value::Str(s), Value::Int(start), len) => {
                let chars: Vec<char> = s.chars().collect();
                let start = usize::try_from(*start).ok();
                match start {
                    Some(st) if st < chars.len() => {
                        let end = match len {
                            Some(Value::Int(l)) => {
                                (st + usize::try_from(*l).unwrap_or(0)).min(chars.len())
                            }
                            _ => chars.len(),
                        };
                        Value::Str(Text::Shared(Arc::from(
                            chars[st..end].iter().collect::<String>().as_str(),
                        )))
                    }
                    _ => Value::Null,
                }
            }
            _ => Value::Null,
        },
        OpN::PositionOf | OpN::LastPositionOf => match (&args[0], &args[1]) {
            (Value::Str(p), Value::Str(s)) => {
                let pos = if op == OpN::PositionOf {
                    s.find(&**p)
                } else {
                    s.rfind(&**p)
                };
                Value::Int(pos.map_or(-1, |b| s[..b].chars().count() as i64))
            }
            _ => Value::Null,
        },
    })
}

fn temporal_ctor<'a>(op: OpN, args: &[Value<'a>]) -> Value<'a> {
    let int = |i: usize| match args.get(i) {
        Some(Value::Int(v)) => i32::try_from(*v).ok(),
        _ => None,
    };
    let mut f = [0, 1, 1, 0, 0, 0, 0];
    let fields: Vec<usize> = match op {
        OpN::Date => vec![0, 1, 2],
        OpN::Time => vec![3, 4, 5, 6],
        _ => vec![0, 1, 2, 3, 4, 5, 6],
    };
    let mut precision = None;
    for (k, field) in fields.iter().enumerate() {
        match int(k) {
            Some(v) => {
                f[*field] = v;
                precision = Some(*field);
            }
            None => break,
        }
    }
    let Some(p) = precision else {
        return Value::Null;
    };
    let p = match p {
        0 => Precision::Year,
        1 => Precision::Month,
        2 => Precision::Day,
        3 => Precision::Hour,
        4 => Precision::Minute,
        5 => Precision::Second,
        _ => Precision::Millisecond,
    };
    match op {
        OpN::Date => Value::Date(DateTime::new(f, p, None)),
        OpN::Time => Value::Time(DateTime::new(f, p, None)),
        _ => {
            let offset = match args.get(7) {
                Some(Value::Dec(o)) => Some((o * 60.0).round() as i32),
                Some(Value::Int(o)) => i32::try_from(*o * 60).ok(),
                // No offset given: the evaluation's offset (UTC here).
                _ => Some(0),
            };
            Value::DateTime(DateTime::new(f, p, offset))
        }
    }
}

/// Membership used by `same`-based list operators.
pub fn list_contains(l: &[Value], x: &Value) -> bool {
    l.iter().any(|y| same(y, x))
}
