//! FHIR MeasureReport rendering.

use serde_json::json;

use super::program::{CompiledMeasure, GroupResult, Period};
use super::value::Json;

/// An `individual` MeasureReport for one patient.
pub fn individual(
    measure: &CompiledMeasure,
    patient_id: &str,
    period: &Period,
    groups: &[GroupResult],
) -> Json {
    let groups: Vec<Json> = groups
        .iter()
        .map(|g| {
            let pops: Vec<Json> = g
                .counts
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
                .collect();
            let mut group = json!({ "population": pops });
            if let Some(score) = proportion_score(&g.counts) {
                group["measureScore"] = json!({ "value": score });
            }
            if let Some(id) = &g.id {
                group["id"] = json!(id);
            }
            group
        })
        .collect();
    json!({
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "individual",
        "measure": measure.url.clone().unwrap_or_else(|| measure.name.clone()),
        "subject": {"reference": format!("Patient/{patient_id}")},
        "period": {
            "start": period.start.format(false),
            "end": period.end.format(false),
        },
        "group": groups,
    })
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
