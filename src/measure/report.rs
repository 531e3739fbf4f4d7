//! FHIR MeasureReport rendering: individual (one patient) and summary
//! (a population run) reports.

use serde_json::json;

use super::program::{
    CompiledMeasure, Group, GroupResult, PatientResult, Period, Stratifier, Stratum,
    STRATUM_SEPARATOR,
};
use super::strata::StrataTally;
use super::value::Json;

pub(super) fn populations(counts: &[(String, i64)]) -> Vec<Json> {
    counts
        .iter()
        .map(|(code, n)| {
            json!({
                "code": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/measure-population",
                    "code": code,
                }]},
                "count": n,
            })
        })
        .collect()
}

/// Population counts of one group or stratum, in the Measure's order.
pub type Counts = Vec<(String, i64)>;

/// The `population` entries (counts, then one `measure-observation` entry per
/// observation with the number of values) and the measure score of a group
/// or stratum.
fn scored(
    def: &Group,
    counts: &[(String, i64)],
    observations: &[Vec<f64>],
) -> (Vec<Json>, Option<f64>) {
    let mut pops = populations(counts);
    for (o, values) in def.observations.iter().zip(observations) {
        let mut p = json!({
            "code": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/measure-population",
                "code": "measure-observation",
            }]},
            "count": values.len(),
        });
        if let Some(id) = &o.id {
            p["id"] = json!(id);
        }
        pops.push(p);
    }
    let score = if def.observations.is_empty() {
        match def.scoring.as_str() {
            "cohort" | "continuous-variable" => None,
            _ => proportion_score(counts),
        }
    } else {
        super::observation::score(def, observations)
    };
    (pops, score)
}

pub(super) fn group_json(
    def: &Group,
    counts: &[(String, i64)],
    observations: &[Vec<f64>],
    stratifiers: Vec<Json>,
) -> Json {
    let (pops, score) = scored(def, counts, observations);
    let mut group = json!({ "population": pops });
    if let Some(score) = score {
        group["measureScore"] = json!({ "value": score });
    }
    if let Some(id) = &def.id {
        group["id"] = json!(id);
    }
    if !stratifiers.is_empty() {
        group["stratifier"] = Json::Array(stratifiers);
    }
    group
}

/// One stratum: its value (or, for a component stratifier, each
/// component's code and value), its population counts and observations, and
/// its own measure score.
pub(super) fn stratum_json(def: &Group, s: &Stratifier, stratum: &Stratum) -> Json {
    let (pops, score) = scored(def, &stratum.counts, &stratum.observations);
    let mut j = json!({ "population": pops });
    if let Some(score) = score {
        j["measureScore"] = json!({ "value": score });
    }
    if s.parts.iter().any(|p| p.code.is_some()) {
        let components: Vec<Json> = s
            .parts
            .iter()
            .zip(stratum.key.split(STRATUM_SEPARATOR))
            .map(|(p, v)| json!({"code": p.code.clone().unwrap_or(Json::Null), "value": {"text": v}}))
            .collect();
        j["component"] = Json::Array(components);
    } else {
        j["value"] = json!({ "text": stratum.key });
    }
    j
}

pub(super) fn stratifier_json(s: &Stratifier, strata: Vec<Json>) -> Json {
    let mut j = json!({ "stratum": strata });
    if let Some(id) = &s.id {
        j["id"] = json!(id);
    }
    if let Some(code) = &s.code {
        j["code"] = json!([code]);
    }
    j
}

pub(super) fn report(
    measure: &CompiledMeasure,
    kind: &str,
    period: &Period,
    groups: Vec<Json>,
) -> Json {
    json!({
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": kind,
        "measure": measure.url.clone().unwrap_or_else(|| measure.name.clone()),
        "period": {
            "start": period.start.format(false),
            "end": period.end.format(false),
        },
        "group": groups,
    })
}

/// An `individual` MeasureReport for one patient.
pub fn individual(
    measure: &CompiledMeasure,
    patient_id: &str,
    period: &Period,
    results: &[GroupResult],
) -> Json {
    let mut r = individual_bare(measure, patient_id, period, results);
    attach(
        &mut r,
        super::observation::contained(measure, results),
        Vec::new(),
    );
    r
}

/// The individual report before contained resources are attached.
fn individual_bare(
    measure: &CompiledMeasure,
    patient_id: &str,
    period: &Period,
    results: &[GroupResult],
) -> Json {
    let groups = results
        .iter()
        .zip(&measure.groups)
        .map(|(g, def)| {
            let strata = g
                .strata
                .iter()
                .zip(&def.stratifiers)
                .map(|((_, per), s)| {
                    let strata = per.iter().map(|x| stratum_json(def, s, x)).collect();
                    stratifier_json(s, strata)
                })
                .collect();
            group_json(def, &g.counts, &g.observations, strata)
        })
        .collect();
    let mut r = report(measure, "individual", period, groups);
    r["subject"] = json!({"reference": format!("Patient/{patient_id}")});
    r
}

/// An individual report with the patient's supplemental data (contained
/// before the observed values).
pub fn individual_with_data(
    measure: &CompiledMeasure,
    patient_id: &str,
    period: &Period,
    result: &PatientResult,
) -> Json {
    let mut r = individual_bare(measure, patient_id, period, &result.groups);
    let (mut contained, ext) = super::supplemental::individual(measure, &result.supplemental);
    contained.extend(super::observation::contained(measure, &result.groups));
    attach(&mut r, contained, ext);
    r
}

/// Appends contained resources and report extensions.
pub(super) fn attach(r: &mut Json, contained: Vec<Json>, ext: Vec<Json>) {
    for (key, items) in [("contained", contained), ("extension", ext)] {
        if items.is_empty() {
            continue;
        }
        match r.get_mut(key).and_then(Json::as_array_mut) {
            Some(a) => a.extend(items),
            None => r[key] = Json::Array(items),
        }
    }
}

/// A `summary` MeasureReport: counts summed over the patients' results.
pub fn summary(measure: &CompiledMeasure, period: &Period, patients: &[Vec<GroupResult>]) -> Json {
    let groups = measure
        .groups
        .iter()
        .enumerate()
        .map(|(gi, def)| {
            let mut counts: Vec<(String, i64)> = def
                .populations
                .iter()
                .map(|p| (p.code.clone(), 0))
                .collect();
            let mut observations = vec![Vec::new(); def.observations.len()];
            let mut strata = StrataTally::new(def);
            for g in patients.iter().filter_map(|p| p.get(gi)) {
                add(&mut counts, &g.counts);
                for (all, mine) in observations.iter_mut().zip(&g.observations) {
                    all.extend_from_slice(mine);
                }
                strata.add(&g.strata);
            }
            let stratifiers = strata.render(def);
            group_json(def, &counts, &observations, stratifiers)
        })
        .collect();
    report(measure, "summary", period, groups)
}

pub(super) fn zeroed(counts: &[(String, i64)]) -> Vec<(String, i64)> {
    counts.iter().map(|(c, _)| (c.clone(), 0)).collect()
}

pub(super) fn add(into: &mut [(String, i64)], from: &[(String, i64)]) {
    for (code, n) in from {
        if let Some(slot) = into.iter_mut().find(|(c, _)| c == code) {
            slot.1 += n;
        }
    }
}

/// numerator / (denominator − exclusions − exceptions), when defined.
pub fn proportion_score(counts: &[(String, i64)]) -> Option<f64> {
    let get = |c: &str| counts.iter().find(|(k, _)| k == c).map(|(_, n)| *n);
    let num = get("numerator")? - get("numerator-exclusion").unwrap_or(0);
    let den = get("denominator")?
        - get("denominator-exclusion").unwrap_or(0)
        - get("denominator-exception").unwrap_or(0);
    (den > 0).then(|| num as f64 / den as f64)
}
