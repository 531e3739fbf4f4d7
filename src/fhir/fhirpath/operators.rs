//! Non-logic binary operators: union, equality, comparison, membership and arithmetic.

use std::borrow::Cow;

use super::ast::BinaryOp;
use super::error::EvalError;
use super::eval::{bool_result, Collection};
use super::item::{Comparison, Item, Prim};

pub(crate) fn apply<'a>(
    op: BinaryOp,
    l: Collection<'a>,
    r: Collection<'a>,
) -> Result<Collection<'a>, EvalError> {
    match op {
        BinaryOp::Union => Ok(union(l, r)),
        BinaryOp::Eq => Ok(bool_result(equal(&l, &r))),
        BinaryOp::Ne => Ok(bool_result(equal(&l, &r).map(|b| !b))),
        BinaryOp::Equiv => Ok(vec![Item::Boolean(equivalent(&l, &r))]),
        BinaryOp::NotEquiv => Ok(vec![Item::Boolean(!equivalent(&l, &r))]),
        BinaryOp::Lt | BinaryOp::Gt | BinaryOp::Le | BinaryOp::Ge => compare(op, &l, &r),
        BinaryOp::In => membership(&l, &r),
        BinaryOp::Contains => membership(&r, &l),
        BinaryOp::Concat => {
            let text = |c: &[Item<'_>]| c.first().and_then(|i| i.as_str().map(str::to_owned));
            let joined = text(&l).unwrap_or_default() + &text(&r).unwrap_or_default();
            Ok(vec![Item::String(Cow::Owned(joined))])
        }
        _ => arithmetic(op, &l, &r),
    }
}

/// Above this size `|` de-duplicates by hashing instead of comparing every pair (a ValueSet
/// expansion can hold thousands of codes).
const QUADRATIC_UNION_MAX: usize = 32;

/// `|`: both collections, without duplicates.
pub(crate) fn union<'a>(l: Collection<'a>, r: Collection<'a>) -> Collection<'a> {
    let total = l.len() + r.len();
    let mut out: Collection<'a> = Vec::with_capacity(total);
    if total <= QUADRATIC_UNION_MAX {
        for item in l.into_iter().chain(r) {
            if !out.iter().any(|o| o.equals(&item) == Some(true)) {
                out.push(item);
            }
        }
        return out;
    }
    // Large collections: exact keys (same text, same number, same element). Unlike `=`, this
    // keeps date/times that are equal only as instants, and equal copies of complex elements.
    out.extend(l);
    out.extend(r);
    let keep: Vec<bool> = {
        let mut seen = std::collections::HashSet::with_capacity(total);
        out.iter()
            .map(|item| seen.insert(dedupe_key(item)))
            .collect()
    };
    out.into_iter()
        .zip(keep)
        .filter_map(|(item, keep)| keep.then_some(item))
        .collect()
}

#[derive(PartialEq, Eq, Hash)]
enum Key<'k> {
    Bool(bool),
    Int(i64),
    Dec(u64),
    Str(&'k str),
    Element(usize),
    Type(&'k str),
}

fn dedupe_key<'k>(item: &'k Item<'_>) -> Key<'k> {
    match item.prim() {
        Prim::Bool(b) => Key::Bool(b),
        Prim::Int(i) => Key::Int(i),
        Prim::Dec(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => Key::Int(d as i64),
        Prim::Dec(d) => Key::Dec(d.to_bits()),
        Prim::Str(s) => Key::Str(s),
        Prim::Complex(v) => Key::Element(std::ptr::from_ref(v) as usize),
        Prim::Type(t) => Key::Type(t),
    }
}

fn equal(l: &[Item<'_>], r: &[Item<'_>]) -> Option<bool> {
    if l.is_empty() || r.is_empty() {
        return None;
    }
    if l.len() != r.len() {
        return Some(false);
    }
    let mut all = true;
    for (a, b) in l.iter().zip(r) {
        match a.equals(b) {
            Some(true) => {}
            Some(false) => return Some(false),
            None => all = false,
        }
    }
    all.then_some(true)
}

fn equivalent(l: &[Item<'_>], r: &[Item<'_>]) -> bool {
    l.len() == r.len() && l.iter().all(|a| r.iter().any(|b| a.equivalent(b)))
}

fn compare<'a>(op: BinaryOp, l: &[Item<'a>], r: &[Item<'a>]) -> Result<Collection<'a>, EvalError> {
    let (a, b) = match (l, r) {
        ([], _) | (_, []) => return Ok(Vec::new()),
        ([a], [b]) => (a, b),
        _ => {
            return Err(EvalError::NotSingleton {
                function: "comparison",
                count: l.len().max(r.len()),
            })
        }
    };
    let ord = match a.compare(b) {
        Comparison::Ordered(ord) => ord,
        Comparison::Unknown => return Ok(Vec::new()),
        Comparison::Incomparable => {
            return Err(EvalError::TypeMismatch {
                operation: "comparison",
            })
        }
    };
    let result = match op {
        BinaryOp::Lt => ord.is_lt(),
        BinaryOp::Gt => ord.is_gt(),
        BinaryOp::Le => ord.is_le(),
        _ => ord.is_ge(),
    };
    Ok(vec![Item::Boolean(result)])
}

fn membership<'a>(item: &[Item<'a>], coll: &[Item<'a>]) -> Result<Collection<'a>, EvalError> {
    match item {
        [] => Ok(Vec::new()),
        [one] => Ok(vec![Item::Boolean(
            coll.iter().any(|c| c.equals(one) == Some(true)),
        )]),
        _ => Err(EvalError::NotSingleton {
            function: "in/contains",
            count: item.len(),
        }),
    }
}

fn arithmetic<'a>(
    op: BinaryOp,
    l: &[Item<'a>],
    r: &[Item<'a>],
) -> Result<Collection<'a>, EvalError> {
    let (a, b) = match (l, r) {
        ([], _) | (_, []) => return Ok(Vec::new()),
        ([a], [b]) => (a.prim(), b.prim()),
        _ => {
            return Err(EvalError::NotSingleton {
                function: "arithmetic",
                count: l.len().max(r.len()),
            })
        }
    };
    if let (BinaryOp::Add, Prim::Str(x), Prim::Str(y)) = (op, &a, &b) {
        return Ok(vec![Item::String(Cow::Owned(format!("{x}{y}")))]);
    }
    if let (Prim::Int(x), Prim::Int(y)) = (&a, &b) {
        let (x, y) = (*x, *y);
        let v = match op {
            BinaryOp::Add => x.checked_add(y),
            BinaryOp::Sub => x.checked_sub(y),
            BinaryOp::Mul => x.checked_mul(y),
            BinaryOp::IntDiv => x.checked_div(y),
            BinaryOp::Mod => x.checked_rem(y),
            _ => None,
        };
        if op != BinaryOp::Div {
            return Ok(v.map(Item::Integer).into_iter().collect());
        }
    }
    let num = |p: &Prim<'_>| match p {
        Prim::Int(i) => Some(*i as f64),
        Prim::Dec(d) => Some(*d),
        _ => None,
    };
    let (Some(x), Some(y)) = (num(&a), num(&b)) else {
        return Err(EvalError::Unsupported("arithmetic on non-numeric values"));
    };
    let v = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div if y != 0.0 => x / y,
        BinaryOp::IntDiv if y != 0.0 => return Ok(vec![Item::Integer((x / y).trunc() as i64)]),
        BinaryOp::Mod if y != 0.0 => x % y,
        _ => return Ok(Vec::new()),
    };
    Ok(vec![Item::Decimal(v)])
}
