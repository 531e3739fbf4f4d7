//! Stratifiers: splitting one patient's populations into strata, each with
//! its own counts and measure observations, and adding strata up over
//! patients.
//!
//! A stratifier (or each of its components) is a definition or a function.
//! In a patient-based group the patient falls in one stratum, keyed by the
//! values of the definitions (a function gets the Patient resource). In an
//! episode-based group every episode is keyed on its own: a function gets the
//! episode, a definition returning a list of episodes puts its episodes under
//! `true` and the others under `false`, and any other value applies to all of
//! the patient's episodes. Component values are joined by
//! `STRATUM_SEPARATOR`, so strata are keyed by the tuple of component values.

use std::collections::BTreeMap;

use super::eval::{is_type, same, Cx};
use super::observation::Observed;
use super::program::{Group, Stratifier, STRATUM_SEPARATOR};
use super::report::{self, Counts};
use super::value::{Json, Value};
use super::MeasureError;

/// One stratum of a stratifier: its key, counts and observation values.
#[derive(Debug, Clone, PartialEq)]
pub struct Stratum {
    /// The stratum value as text; component values joined by `STRATUM_SEPARATOR`.
    pub key: String,
    pub counts: Counts,
    /// Per measure observation of the group: the values observed in this stratum.
    pub observations: Vec<Vec<f64>>,
}

/// What one stratifier part yields for a patient.
enum Part<'a> {
    /// A value shared by all the patient's episodes.
    Fixed(String),
    /// Episodes the definition returned: `true` for them, `false` for the rest.
    Episodes(Vec<Value<'a>>),
    /// A function of the episode (or of the patient).
    Function(usize),
}

/// The strata of one patient for stratifier `s` of group `g`; `raw` holds the
/// population criteria results, `counts` and `observed` the group's.
pub(crate) fn stratify<'a>(
    cx: &mut Cx<'a>,
    g: &Group,
    s: &Stratifier,
    raw: &[Value<'a>],
    counts: &Counts,
    observed: &Observed<'_, 'a>,
) -> Result<Vec<Stratum>, MeasureError> {
    let mut parts = Vec::with_capacity(s.parts.len());
    for p in &s.parts {
        let function = cx.prog.defs.get(p.def).and_then(Option::as_ref);
        if function.is_some_and(|d| d.function && !d.operands.is_empty()) {
            parts.push(Part::Function(p.def));
            continue;
        }
        let v = if function.is_some_and(|d| d.function) {
            cx.call_values(p.def, Vec::new())?
        } else {
            cx.expression(p.def)?
        };
        parts.push(match v {
            Value::List(l) if !g.boolean_basis => Part::Episodes(l.to_vec()),
            other => Part::Fixed(stratum_text(&other)),
        });
    }
    let per_episode = parts
        .iter()
        .any(|p| matches!(p, Part::Function(_) | Part::Episodes(_)));
    let patient = cx
        .data
        .resources("Patient")
        .first()
        .map_or(Value::Null, |p| Value::Fhir(p, "Patient"));
    if g.boolean_basis || !per_episode {
        // The patient (or all of the patient's episodes) in one stratum.
        let key = key_for(cx, &parts, &patient, &patient)?;
        return Ok(vec![Stratum {
            key,
            counts: counts.clone(),
            observations: observed.values(),
        }]);
    }
    let mut episodes: Vec<&Value<'a>> = Vec::new();
    for v in raw {
        if let Value::List(l) = v {
            for x in l.iter().filter(|x| !x.is_null()) {
                if !episodes.iter().any(|e| same(e, x)) {
                    episodes.push(x);
                }
            }
        }
    }
    let mut keys = Vec::with_capacity(episodes.len());
    for e in &episodes {
        keys.push(key_for(cx, &parts, e, &patient)?);
    }
    let mut order: Vec<&String> = Vec::new();
    for k in &keys {
        if !order.contains(&k) {
            order.push(k);
        }
    }
    // Membership strata list `true` before `false`, as the criteria read.
    order.sort_by_key(|k| k.as_str() != "true");
    let key_of = |x: &Value| {
        episodes
            .iter()
            .position(|e| same(e, x))
            .map(|i| keys[i].as_str())
    };
    let mut out = Vec::new();
    for key in order {
        let inside = |x: &Value| key_of(x) == Some(key.as_str());
        let part: Vec<Value> = raw
            .iter()
            .map(|v| match v {
                Value::List(l) => Value::list(l.iter().filter(|x| inside(x)).cloned().collect()),
                other => other.clone(),
            })
            .collect();
        let counts = super::scoring::populations(g, &part).0;
        if counts.iter().all(|(_, n)| *n == 0) {
            continue;
        }
        out.push(Stratum {
            key: key.clone(),
            counts,
            observations: observed.values_where(inside),
        });
    }
    Ok(out)
}

/// The stratum key of one episode (or of the patient). A function gets the
/// episode, or the patient when that is what it takes.
fn key_for<'a>(
    cx: &mut Cx<'a>,
    parts: &[Part<'a>],
    subject: &Value<'a>,
    patient: &Value<'a>,
) -> Result<String, MeasureError> {
    let mut key = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            key.push(STRATUM_SEPARATOR);
        }
        match p {
            Part::Fixed(text) => key.push_str(text),
            Part::Episodes(chosen) => {
                let member = chosen.iter().any(|c| same(c, subject));
                key.push_str(if member { "true" } else { "false" });
            }
            Part::Function(def) => {
                let takes = cx.prog.defs.get(*def).and_then(Option::as_ref);
                let takes = takes.and_then(|d| d.operands.first());
                let arg = match takes {
                    Some(t) if !is_type(subject, t) && is_type(patient, t) => patient,
                    _ => subject,
                };
                let v = cx.call_values(*def, vec![arg.clone()])?;
                key.push_str(&stratum_text(&v));
            }
        }
    }
    Ok(key)
}

/// A stratum value as text (booleans, numbers, strings, codes).
pub(crate) fn stratum_text(v: &Value) -> String {
    match v.to_system() {
        Value::Code(c) => c.code.to_string(),
        Value::Concept(c) => c
            .codes
            .first()
            .map(|c| c.code.to_string())
            .unwrap_or_default(),
        Value::Null => "null".to_owned(),
        other => super::ops::to_string(&other).unwrap_or_else(|| other.type_name().to_owned()),
    }
}

/// Strata added up over patients: per stratifier, stratum key → totals.
#[derive(Debug, Clone)]
pub(crate) struct StrataTally(Vec<BTreeMap<String, Stratum>>);

impl StrataTally {
    pub(crate) fn new(g: &Group) -> StrataTally {
        StrataTally(vec![BTreeMap::new(); g.stratifiers.len()])
    }

    pub(crate) fn add(&mut self, strata: &[(Option<String>, Vec<Stratum>)]) {
        for (map, (_, per)) in self.0.iter_mut().zip(strata) {
            for s in per {
                let entry = map.entry(s.key.clone()).or_insert_with(|| Stratum {
                    key: s.key.clone(),
                    counts: report::zeroed(&s.counts),
                    observations: vec![Vec::new(); s.observations.len()],
                });
                report::add(&mut entry.counts, &s.counts);
                for (all, mine) in entry.observations.iter_mut().zip(&s.observations) {
                    all.extend_from_slice(mine);
                }
            }
        }
    }

    /// The group's `stratifier` elements, strata in key order.
    pub(crate) fn render(self, def: &Group) -> Vec<Json> {
        self.0
            .into_iter()
            .zip(&def.stratifiers)
            .map(|(map, s)| {
                let strata = map
                    .values()
                    .map(|x| report::stratum_json(def, s, x))
                    .collect();
                report::stratifier_json(s, strata)
            })
            .collect()
    }
}
