//! FHIR MeasureReport rendering: individual (one patient) and summary
//! (a population run) reports.

use std::collections::BTreeMap;

use serde_json::json;

use super::program::{CompiledMeasure, GroupResult, Period};
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

pub(super) fn group_json(
    id: Option<&String>,
    counts: &[(String, i64)],
    stratifiers: Vec<Json>,
) -> Json {
    let mut group = json!({ "population": populations(counts) });
    if let Some(score) = proportion_score(counts) {
        group["measureScore"] = json!({ "value": score });
    }
    if let Some(id) = id {
        group["id"] = json!(id);
    }
    if !stratifiers.is_empty() {
        group["stratifier"] = Json::Array(stratifiers);
    }
    group
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
    groups: &[GroupResult],
) -> Json {
    let groups = groups
        .iter()
        .map(|g| {
            let strata = g
                .strata
                .iter()
                .map(|(id, value)| {
                    json!({
                        "id": id,
                        "stratum": [{"value": {"text": value}, "population": populations(&g.counts)}],
                    })
                })
                .collect();
            group_json(g.id.as_ref(), &g.counts, strata)
        })
        .collect();
    let mut r = report(measure, "individual", period, groups);
    r["subject"] = json!({"reference": format!("Patient/{patient_id}")});
    r
}

/// A `summary` MeasureReport: counts summed over the patients' results.
pub fn summary(measure: &CompiledMeasure, period: &Period, patients: &[Vec<GroupResult>]) -> Json {
    let groups = (0..measure.groups.len())
        .map(|gi| {
            let mut counts: Vec<(String, i64)> = measure.groups[gi]
                .populations
                .iter()
                .map(|p| (p.code.clone(), 0))
                .collect();
            // stratifier index → stratum value → counts
            let mut strata: Vec<BTreeMap<String, Vec<(String, i64)>>> =
                vec![BTreeMap::new(); measure.groups[gi].stratifiers.len()];
            for g in patients.iter().filter_map(|p| p.get(gi)) {
                add(&mut counts, &g.counts);
                for (si, (_, value)) in g.strata.iter().enumerate() {
                    if let Some(map) = strata.get_mut(si) {
                        let entry = map.entry(value.clone()).or_insert_with(|| zeroed(&g.counts));
                        add(entry, &g.counts);
                    }
                }
            }
            let stratifiers = strata
                .into_iter()
                .zip(&measure.groups[gi].stratifiers)
                .map(|(map, s)| {
                    let stratum: Vec<Json> = map
                        .into_iter()
                        .map(|(value, c)| json!({"value": {"text": value}, "population": populations(&c)}))
                        .collect();
                    json!({"id": s.id, "stratum": stratum})
                })
                .collect();
            group_json(measure.groups[gi].id.as_ref(), &counts, stratifiers)
        })
        .collect();
    report(measure, "summary", period, groups)
}

fn zeroed(counts: &[(String, i64)]) -> Vec<(String, i64)> {
    counts.iter().map(|(c, _)| (c.clone(), 0)).collect()
}

fn add(into: &mut [(String, i64)], from: &[(String, i64)]) {
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
