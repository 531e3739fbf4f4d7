//! Search values of each parameter type as index-table conditions, per the R4 search page:
//! prefixes and precision for number, date and quantity; systems for tokens; references by
//! type and id, URL or identifier; uri below/above; composite pairs.

use crate::fhir::index::{implicit_range, normalize, ucum, DateRange};
use crate::store::{Cond, Op, SqlValue};

/// A comparison prefix of number, date and quantity values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

/// Splits a leading prefix off a value (`ge2025` → `Ge`, `2025`).
pub(super) fn prefix(value: &str) -> (Prefix, &str) {
    let known = [
        ("eq", Prefix::Eq),
        ("ne", Prefix::Ne),
        ("gt", Prefix::Gt),
        ("lt", Prefix::Lt),
        ("ge", Prefix::Ge),
        ("le", Prefix::Le),
        ("sa", Prefix::Sa),
        ("eb", Prefix::Eb),
        ("ap", Prefix::Ap),
    ];
    for (text, prefix) in known {
        if let Some(rest) = value.strip_prefix(text) {
            return (prefix, rest);
        }
    }
    (Prefix::Eq, value)
}

fn int(column: &'static str, op: Op, value: i64) -> Cond {
    Cond::new(column, op, SqlValue::Int(value))
}

fn float(column: &'static str, op: Op, value: f64) -> Cond {
    Cond::new(column, op, SqlValue::Float(value))
}

/// Conditions on an inclusive range column pair against the search range `[sl, sh]`; each
/// inner list is a conjunction, the outer an alternative.
pub(super) fn date(low: &'static str, high: &'static str, text: &str) -> Option<Vec<Vec<Cond>>> {
    let (prefix, rest) = prefix(text);
    let range = DateRange::parse(rest)?;
    Some(date_range(low, high, prefix, range.low, range.high))
}

pub(super) fn date_range(
    low: &'static str,
    high: &'static str,
    prefix: Prefix,
    sl: i64,
    sh: i64,
) -> Vec<Vec<Cond>> {
    match prefix {
        Prefix::Eq => vec![vec![int(low, Op::Ge, sl), int(high, Op::Le, sh)]],
        Prefix::Ne => vec![vec![int(low, Op::Lt, sl)], vec![int(high, Op::Gt, sh)]],
        Prefix::Gt => vec![vec![int(high, Op::Gt, sh)]],
        Prefix::Lt => vec![vec![int(low, Op::Lt, sl)]],
        Prefix::Ge => vec![vec![int(high, Op::Ge, sl)]],
        Prefix::Le => vec![vec![int(low, Op::Le, sh)]],
        Prefix::Sa => vec![vec![int(low, Op::Gt, sh)]],
        Prefix::Eb => vec![vec![int(high, Op::Lt, sl)]],
        Prefix::Ap => {
            // Approximately: the ranges overlap once the search range is widened by a tenth
            // of its width on each side (at least one day).
            let slack = ((sh - sl) / 10).max(86_400_000);
            vec![vec![
                int(low, Op::Le, sh.saturating_add(slack)),
                int(high, Op::Ge, sl.saturating_sub(slack)),
            ]]
        }
    }
}

/// Conditions on a decimal column against a search number with its implicit precision.
pub(super) fn number(column: &'static str, prefix: Prefix, text: &str) -> Option<Vec<Vec<Cond>>> {
    let value: f64 = text.parse().ok()?;
    let (lo, hi) = implicit_range(text)?;
    Some(number_range(column, prefix, value, lo, hi))
}

fn number_range(
    column: &'static str,
    prefix: Prefix,
    value: f64,
    lo: f64,
    hi: f64,
) -> Vec<Vec<Cond>> {
    match prefix {
        Prefix::Eq => vec![vec![float(column, Op::Ge, lo), float(column, Op::Lt, hi)]],
        Prefix::Ne => vec![
            vec![float(column, Op::Lt, lo)],
            vec![float(column, Op::Ge, hi)],
        ],
        Prefix::Gt | Prefix::Sa => vec![vec![float(column, Op::Gt, value)]],
        Prefix::Lt | Prefix::Eb => vec![vec![float(column, Op::Lt, value)]],
        Prefix::Ge => vec![vec![float(column, Op::Ge, value)]],
        Prefix::Le => vec![vec![float(column, Op::Le, value)]],
        Prefix::Ap => {
            let slack = (value.abs() * 0.1).max(hi - value);
            vec![vec![
                float(column, Op::Ge, value - slack),
                float(column, Op::Le, value + slack),
            ]]
        }
    }
}

const UCUM: &str = "http://unitsofmeasure.org";

/// Conditions on a quantity (`[prefix]value|system|code`): in canonical UCUM units when the
/// unit converts, so `5.5 mmol/L` and a search in another molar unit meet; otherwise on the
/// value as written with its system and code.
pub(super) fn quantity(
    value_col: &'static str,
    canon_col: &'static str,
    system_col: &'static str,
    unit_col: &'static str,
    canon_unit_col: &'static str,
    text: &str,
) -> Option<Vec<Vec<Cond>>> {
    let (prefix, rest) = prefix(text);
    let mut parts = rest.splitn(3, '|');
    let number_text = parts.next()?;
    let system = parts.next().filter(|s| !s.is_empty());
    let code = parts.next().filter(|s| !s.is_empty());
    let value: f64 = number_text.parse().ok()?;
    let (lo, hi) = implicit_range(number_text)?;
    if let Some(code) = code.filter(|_| system.is_none_or(|s| s == UCUM)) {
        if let (Some(c), Some(l), Some(h)) = (
            ucum::canonicalize(value, code),
            ucum::canonicalize(lo, code),
            ucum::canonicalize(hi, code),
        ) {
            let mut any = number_range(canon_col, prefix, c.value, l.value, h.value);
            for all in &mut any {
                all.push(Cond::text(canon_unit_col, &c.unit));
            }
            return Some(any);
        }
    }
    let mut any = number_range(value_col, prefix, value, lo, hi);
    for all in &mut any {
        if let Some(system) = system {
            all.push(Cond::text(system_col, system));
        }
        if let Some(code) = code {
            all.push(Cond::text(unit_col, code));
        }
    }
    Some(any)
}

/// A token value: `code`, `system|code`, `|code` (no system) or `system|`.
pub(super) fn token(system_col: &'static str, value_col: &'static str, text: &str) -> Vec<Cond> {
    match text.split_once('|') {
        None => vec![Cond::text(value_col, text)],
        Some(("", code)) => vec![Cond::null(system_col), Cond::text(value_col, code)],
        Some((system, "")) => vec![Cond::text(system_col, system)],
        Some((system, code)) => vec![Cond::text(system_col, system), Cond::text(value_col, code)],
    }
}

/// An `:of-type` value, `system|code|value`, against the rows indexed for it: the identifier
/// type's coding system, and its code and the identifier value joined by `|`.
pub(super) fn of_type(text: &str) -> Option<Vec<Cond>> {
    let mut parts = text.splitn(3, '|');
    let (Some(system), Some(code), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if system.is_empty() || code.is_empty() || value.is_empty() {
        return None;
    }
    Some(vec![
        Cond::text("system", system),
        Cond::text("value", &format!("{code}|{value}")),
    ])
}

/// A string value: starts-with on the normalized form, `:exact`, or `:contains`.
pub(super) fn string(modifier: Option<&str>, text: &str) -> Option<Vec<Cond>> {
    Some(match modifier {
        None => vec![Cond::new(
            "norm",
            Op::StartsWith,
            SqlValue::Text(normalize(text).into_owned()),
        )],
        Some("exact") => vec![Cond::text("exact", text)],
        Some("contains") => vec![Cond::new(
            "norm",
            Op::Contains,
            SqlValue::Text(normalize(text).into_owned()),
        )],
        Some(_) => return None,
    })
}

/// A reference value: `Type/id`, `id` (with `:Type`), an absolute URL, or `:identifier`.
pub(super) fn reference(modifier: Option<&str>, text: &str) -> Vec<Cond> {
    if modifier == Some("identifier") {
        return token("ident_system", "ident_value", text);
    }
    if crate::fhir::index::is_absolute_reference(text) {
        return vec![Cond::text("url", text)];
    }
    match text.rsplit_once('/') {
        Some((path, id)) => {
            let resource_type = path.rsplit('/').next().unwrap_or(path);
            vec![
                Cond::text("target_type", resource_type),
                Cond::text("target_id", id),
            ]
        }
        None => {
            let mut all = vec![Cond::text("target_id", text)];
            if let Some(resource_type) = modifier {
                all.push(Cond::text("target_type", resource_type));
            }
            all
        }
    }
}

/// A uri value: equal, `:below` (the stored uri starts with it) or `:above` (it starts with
/// the stored uri).
pub(super) fn uri(modifier: Option<&str>, text: &str) -> Option<Vec<Cond>> {
    let op = match modifier {
        None => Op::Eq,
        Some("below") => Op::StartsWith,
        Some("above") => Op::PrefixOf,
        Some(_) => return None,
    };
    Some(vec![Cond::new("uri", op, SqlValue::Text(text.to_owned()))])
}

/// Splits a parameter value at unescaped commas (`\,` is a literal comma; other escapes are
/// kept for the type's own parsing).
pub(super) fn split_or(value: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        let Some(part) = parts.last_mut() else {
            break;
        };
        match c {
            '\\' => match chars.next() {
                Some(',') => part.push(','),
                Some(next) => {
                    part.push('\\');
                    part.push(next);
                }
                None => part.push('\\'),
            },
            ',' => parts.push(String::new()),
            c => part.push(c),
        }
    }
    parts
}
