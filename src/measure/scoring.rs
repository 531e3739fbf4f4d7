//! Turning population expression results into counts, following the
//! proportion-measure rules (exclusions and exceptions remove members from
//! the populations below them).

use std::collections::HashMap;

use super::eval::same;
use super::program::Group;
use super::value::Value;

fn truthy(v: Option<&Value>) -> bool {
    v.and_then(Value::as_bool) == Some(true)
}

/// Patient-based populations: each is a boolean.
pub fn boolean_counts(g: &Group, raw: &HashMap<&str, Value>) -> Vec<(String, i64)> {
    let has = |c: &str| raw.contains_key(c);
    let ip = truthy(raw.get("initial-population"));
    let mp = ip && (!has("measure-population") || truthy(raw.get("measure-population")));
    let mpx = mp && truthy(raw.get("measure-population-exclusion"));
    let denom = ip && (!has("denominator") || truthy(raw.get("denominator")));
    let dex = denom && truthy(raw.get("denominator-exclusion"));
    // In a ratio measure the numerator is not drawn from the denominator.
    let num = if g.scoring == "ratio" {
        ip && truthy(raw.get("numerator"))
    } else {
        denom && !dex && truthy(raw.get("numerator"))
    };
    let nex = num && truthy(raw.get("numerator-exclusion"));
    let dexc = denom && !dex && !num && truthy(raw.get("denominator-exception"));
    g.populations
        .iter()
        .map(|p| {
            let v = match p.code.as_str() {
                "initial-population" => ip,
                "denominator" => denom,
                "denominator-exclusion" => dex,
                "denominator-exception" => dexc,
                "numerator" => num,
                "numerator-exclusion" => nex,
                "measure-population" => mp,
                "measure-population-exclusion" => mpx,
                _ => truthy(raw.get(p.code.as_str())),
            };
            (p.code.clone(), i64::from(v))
        })
        .collect()
}

fn within<'v, 'a>(xs: Vec<&'v Value<'a>>, of: &[&Value]) -> Vec<&'v Value<'a>> {
    xs.into_iter()
        .filter(|x| of.iter().any(|o| same(o, x)))
        .collect()
}

fn without<'v, 'a>(xs: Vec<&'v Value<'a>>, not: &[&Value]) -> Vec<&'v Value<'a>> {
    xs.into_iter()
        .filter(|x| !not.iter().any(|o| same(o, x)))
        .collect()
}

fn items<'v, 'a>(v: Option<&'v Value<'a>>) -> Vec<&'v Value<'a>> {
    match v {
        Some(Value::List(l)) => l.iter().filter(|x| !x.is_null()).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(x) => vec![x],
    }
}

/// Episode-based populations: each is a list of resources; membership
/// in lower populations is limited to members of the populations above.
pub fn episode_counts(g: &Group, raw: &HashMap<&str, Value>) -> Vec<(String, i64)> {
    let has = |c: &str| raw.contains_key(c);
    let ip = items(raw.get("initial-population"));
    let denom = if has("denominator") {
        within(items(raw.get("denominator")), &ip)
    } else {
        ip.clone()
    };
    let dex = within(items(raw.get("denominator-exclusion")), &denom);
    let num = if g.scoring == "ratio" {
        within(items(raw.get("numerator")), &ip)
    } else {
        without(within(items(raw.get("numerator")), &denom), &dex)
    };
    let nex = within(items(raw.get("numerator-exclusion")), &num);
    let dexc = without(
        without(
            within(items(raw.get("denominator-exception")), &denom),
            &dex,
        ),
        &num,
    );
    let mp = if has("measure-population") {
        within(items(raw.get("measure-population")), &ip)
    } else {
        ip.clone()
    };
    let mpx = within(items(raw.get("measure-population-exclusion")), &mp);
    g.populations
        .iter()
        .map(|p| {
            let n = match p.code.as_str() {
                "initial-population" => ip.len(),
                "denominator" => denom.len(),
                "denominator-exclusion" => dex.len(),
                "denominator-exception" => dexc.len(),
                "numerator" => num.len(),
                "numerator-exclusion" => nex.len(),
                "measure-population" => mp.len(),
                "measure-population-exclusion" => mpx.len(),
                c => items(raw.get(c)).len(),
            };
            (p.code.clone(), n as i64)
        })
        .collect()
}
