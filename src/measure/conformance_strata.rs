//! Stratifier results of one conformance case: each expected stratum's
//! population counts against the stratum of the same value in our report.

use super::conformance::Diff;
use super::conformance_case::entries;
use super::value::Json;

/// Compares group `gi`'s expected stratifiers with ours (`ours` is our report's
/// group). Stratifiers pair by `id`, else by code, else by position; strata by
/// value. A stratum we do not report holds nobody, so it matches an expected
/// stratum whose counts are all zero.
pub(super) fn compare_strata(
    gi: usize,
    expected: &Json,
    ours: Option<&Json>,
    diffs: &mut Vec<Diff>,
) {
    let ours = stratifiers(ours);
    for (si, exp) in stratifiers(Some(expected)).iter().enumerate() {
        let mine = ours
            .iter()
            .find(|s| same_name(s, exp))
            .or_else(|| ours.get(si).filter(|s| unnamed(s) || unnamed(exp)));
        let name = stratifier_name(exp).unwrap_or_else(|| (si + 1).to_string());
        for stratum in strata(exp) {
            let key = stratum_key(stratum);
            let found = mine.and_then(|m| {
                strata(m)
                    .iter()
                    .find(|s| stratum_key(s).eq_ignore_ascii_case(&key))
            });
            compare_counts(
                gi,
                &format!("stratifier {name} stratum {key}"),
                stratum,
                found,
                diffs,
            );
        }
    }
}

/// Population counts of one stratum; a code listed twice pairs with ours in order.
fn compare_counts(gi: usize, label: &str, exp: &Json, ours: Option<&Json>, diffs: &mut Vec<Diff>) {
    let exp = counts(Some(exp));
    let ours = counts(ours);
    for (k, (code, n)) in exp.iter().enumerate() {
        let nth = exp[..k].iter().filter(|(c, _)| c == code).count();
        let actual = ours
            .iter()
            .filter(|(c, _)| c == code)
            .nth(nth)
            .map_or(0, |(_, a)| *a);
        if actual != *n {
            diffs.push(Diff {
                group: gi,
                what: format!("{label} {code}"),
                expected: n.to_string(),
                actual: actual.to_string(),
            });
        }
    }
}

fn counts(stratum: Option<&Json>) -> Vec<(&str, i64)> {
    stratum
        .into_iter()
        .flat_map(entries)
        .map(|(code, p)| (code, p.get("count").and_then(Json::as_i64).unwrap_or(0)))
        .collect()
}

fn stratifiers(group: Option<&Json>) -> &[Json] {
    array(group, "stratifier")
}

fn strata(stratifier: &Json) -> &[Json] {
    array(Some(stratifier), "stratum")
}

fn array<'a>(of: Option<&'a Json>, field: &str) -> &'a [Json] {
    of.and_then(|j| j.get(field))
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A stratifier's `id`, else the text or first code of its first `code`.
fn stratifier_name(s: &Json) -> Option<String> {
    if let Some(id) = s.get("id").and_then(Json::as_str) {
        return Some(id.to_owned());
    }
    let code = s.pointer("/code/0")?;
    concept_text(code)
}

fn unnamed(s: &Json) -> bool {
    stratifier_name(s).is_none()
}

fn same_name(a: &Json, b: &Json) -> bool {
    let id = |s: &Json| s.get("id").and_then(Json::as_str).map(str::to_owned);
    let code = |s: &Json| s.pointer("/code/0").and_then(concept_text);
    match (id(a), id(b)) {
        (Some(x), Some(y)) => x == y,
        _ => code(a).is_some_and(|x| code(b).is_some_and(|y| x.eq_ignore_ascii_case(&y))),
    }
}

/// A stratum's value as text: its first code, else its text; for a component
/// stratum, each component's code and value.
fn stratum_key(stratum: &Json) -> String {
    if let Some(value) = stratum.get("value") {
        return concept_text(value).unwrap_or_default();
    }
    array(Some(stratum), "component")
        .iter()
        .map(|c| {
            let code = c.get("code").and_then(concept_text).unwrap_or_default();
            let value = c.get("value").and_then(concept_text).unwrap_or_default();
            format!("{code}={value}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn concept_text(concept: &Json) -> Option<String> {
    let code = concept.pointer("/coding/0/code").and_then(Json::as_str);
    let text = concept.get("text").and_then(Json::as_str);
    code.or(text).map(str::to_owned)
}
