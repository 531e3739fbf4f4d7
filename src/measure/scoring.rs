//! Turning population expression results into counts. Exclusions and
//! exceptions remove members from the populations below them (proportion
//! rules); in ratio measures the numerator is drawn from the (last) initial
//! population rather than the denominator. Patient-based populations are
//! handled as episode lists holding at most the patient itself.

use super::eval::same;
use super::program::Group;
use super::value::Value;

pub type Members<'v, 'a> = Vec<&'v Value<'a>>;

fn within<'v, 'a>(xs: Members<'v, 'a>, of: &[&Value]) -> Members<'v, 'a> {
    xs.into_iter()
        .filter(|x| of.iter().any(|o| same(o, x)))
        .collect()
}

fn without<'v, 'a>(xs: Members<'v, 'a>, not: &[&Value]) -> Members<'v, 'a> {
    xs.into_iter()
        .filter(|x| !not.iter().any(|o| same(o, x)))
        .collect()
}

static PATIENT: Value<'static> = Value::Bool(true);

fn members<'v, 'a>(v: &'v Value<'a>, boolean: bool) -> Members<'v, 'a> {
    if boolean {
        return if v.as_bool() == Some(true) {
            vec![&PATIENT]
        } else {
            Vec::new()
        };
    }
    match v {
        Value::List(l) => l.iter().filter(|x| !x.is_null()).collect(),
        Value::Null => Vec::new(),
        x => vec![x],
    }
}

/// Whether a criteria result has no members.
pub fn is_empty(v: &Value, boolean: bool) -> bool {
    members(v, boolean).is_empty()
}

/// Codes `populations` counts only within an initial population: when every initial
/// population is empty, each of them counts zero.
const WITHIN_INITIAL: [&str; 8] = [
    "initial-population",
    "denominator",
    "denominator-exclusion",
    "denominator-exception",
    "numerator",
    "numerator-exclusion",
    "measure-population",
    "measure-population-exclusion",
];

/// Whether a patient outside every initial population of `g` gets the same result with its
/// other criteria left as null: the initial populations come first, every population is one
/// `populations` counts within them, no measure observation looks at members, and
/// stratifiers (if any) take the patient's counts, not episodes.
pub fn skippable(g: &Group) -> bool {
    let initial = g
        .populations
        .iter()
        .take_while(|p| p.code == "initial-population")
        .count();
    initial > 0
        && g.populations[initial..]
            .iter()
            .all(|p| p.code != "initial-population")
        && g.populations
            .iter()
            .all(|p| WITHIN_INITIAL.contains(&p.code.as_str()))
        && g.observations.is_empty()
        && (g.stratifiers.is_empty() || g.boolean_basis)
}

/// Counts per population, in the Measure's population order; `raw` holds the
/// criteria results in the same order.
#[cfg(test)]
pub fn counts(g: &Group, raw: &[Value]) -> Vec<(String, i64)> {
    populations(g, raw).0
}

/// Counts, and per population the members measure observations apply to
/// (those left after the population's exclusions and exceptions).
pub fn populations<'v, 'a>(
    g: &Group,
    raw: &'v [Value<'a>],
) -> (Vec<(String, i64)>, Vec<Members<'v, 'a>>) {
    let sets: Vec<Members> = raw.iter().map(|v| members(v, g.boolean_basis)).collect();
    let find = |code: &str| g.populations.iter().position(|p| p.code == code);
    let get = |code: &str| find(code).map(|i| sets[i].clone());
    let ips: Vec<usize> = (0..g.populations.len())
        .filter(|i| g.populations[*i].code == "initial-population")
        .collect();
    // The initial population a denominator or numerator names by
    // criteriaReference, else the first (denominator) or last (numerator).
    let ip_for = |code: &str, fallback: Option<&usize>| {
        let named = find(code)
            .and_then(|i| g.populations[i].criteria_reference.as_deref())
            .and_then(|r| {
                ips.iter()
                    .find(|i| g.populations[**i].id.as_deref() == Some(r))
            });
        named
            .or(fallback)
            .map(|i| sets[*i].clone())
            .unwrap_or_default()
    };
    let ip_denominator = ip_for("denominator", ips.first());
    let ip_numerator = ip_for("numerator", ips.last());
    let ratio = g.scoring == "ratio";

    let denom =
        get("denominator").map_or_else(|| ip_denominator.clone(), |d| within(d, &ip_denominator));
    let dex = within(get("denominator-exclusion").unwrap_or_default(), &denom);
    let num = match get("numerator") {
        Some(n) if ratio => within(n, &ip_numerator),
        Some(n) => without(within(n, &denom), &dex),
        None => Vec::new(),
    };
    let nex = within(get("numerator-exclusion").unwrap_or_default(), &num);
    let dexc = without(
        without(
            within(get("denominator-exception").unwrap_or_default(), &denom),
            &dex,
        ),
        &num,
    );
    let mp = get("measure-population")
        .map_or_else(|| ip_denominator.clone(), |m| within(m, &ip_denominator));
    let mpx = within(get("measure-population-exclusion").unwrap_or_default(), &mp);

    let counts = g
        .populations
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let n = match p.code.as_str() {
                "initial-population" => sets[i].len(),
                "denominator" => denom.len(),
                "denominator-exclusion" => dex.len(),
                "denominator-exception" => dexc.len(),
                "numerator" => num.len(),
                "numerator-exclusion" => nex.len(),
                "measure-population" => mp.len(),
                "measure-population-exclusion" => mpx.len(),
                _ => sets[i].len(),
            };
            (p.code.clone(), n as i64)
        })
        .collect();
    let observed = g
        .populations
        .iter()
        .enumerate()
        .map(|(i, p)| match p.code.as_str() {
            "measure-population" => without(mp.clone(), &mpx),
            "numerator" => without(num.clone(), &nex),
            "denominator" => without(without(denom.clone(), &dex), &dexc),
            _ => sets[i].clone(),
        })
        .collect();
    (counts, observed)
}
