//! Supplemental data elements in MeasureReports, as the DEQM IG and the
//! reference implementations (HAPI FHIR clinical reasoning) report them:
//! contained Observations referenced from the report by the
//! `extension-supplementalData` extension, each pointing back at its SDE
//! with `extension-criteriaReference`. Individual reports carry the
//! patient's value; summary reports one Observation per distinct value,
//! with the number of patients who had it.

use std::collections::BTreeMap;

use serde_json::json;

use super::program::CompiledMeasure;
use super::value::{to_json, Json, Value};

const SDE_EXT: &str =
    "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-supplementalData";
const CRITERIA_EXT: &str =
    "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-criteriaReference";

/// A value as a CodeableConcept: codes keep their coding, other values their text.
/// Lists give one entry per (distinct) member; tuples report their `code` or
/// `codes` element; resources are not values and are left out.
pub fn values(v: &Value) -> Vec<Json> {
    let mut out: Vec<Json> = Vec::new();
    collect(v, &mut out);
    out.dedup();
    out
}

fn collect(v: &Value, out: &mut Vec<Json>) {
    match v {
        Value::List(l) => {
            for x in l.iter() {
                collect(x, out);
            }
        }
        // SDE Payer gives {code, period}; SDE Race and Ethnicity {codes, display}.
        Value::Tuple(t) if t.get("code").is_some() || t.get("codes").is_some() => {
            if let Some(c) = t.get("code").or_else(|| t.get("codes")) {
                collect(c, out);
            }
        }
        Value::Fhir(node, _) if node.get("resourceType").is_some() => {}
        Value::Null => {}
        v => {
            let cc = match v.to_system() {
                Value::Code(c) => json!({"coding": [coding(&c)]}),
                Value::Concept(c) => {
                    json!({"coding": c.codes.iter().map(coding).collect::<Vec<_>>()})
                }
                Value::Fhir(..) | Value::Tuple(_) | Value::List(_) => return,
                other => {
                    let text = match to_json(&other) {
                        Json::String(s) => s,
                        j => j.to_string(),
                    };
                    json!({ "text": text })
                }
            };
            if !out.contains(&cc) {
                out.push(cc);
            }
        }
    }
}

fn coding(c: &super::value::Code) -> Json {
    let mut j = json!({"code": &*c.code});
    if let Some(s) = &c.system {
        j["system"] = json!(&**s);
    }
    if let Some(d) = &c.display {
        j["display"] = json!(&**d);
    }
    j
}

fn observation(id: &str, sde: &str, code: Json, value: (&str, Json)) -> Json {
    let mut o = json!({
        "resourceType": "Observation",
        "id": id,
        "extension": [{"url": CRITERIA_EXT, "valueString": sde}],
        "status": "final",
        "code": code,
    });
    o[value.0] = value.1;
    o
}

fn reference(id: &str) -> Json {
    json!({"url": SDE_EXT, "valueReference": {"reference": format!("#{id}")}})
}

/// Contained Observations and report extensions for one patient's values.
pub fn individual(measure: &CompiledMeasure, values: &[Vec<Json>]) -> (Vec<Json>, Vec<Json>) {
    let (mut contained, mut ext) = (Vec::new(), Vec::new());
    for (i, (sde, vals)) in measure.sde.iter().zip(values).enumerate() {
        for (k, v) in vals.iter().enumerate() {
            let id = format!("sde-{i}-{k}");
            let code = json!({"text": sde.id});
            contained.push(observation(
                &id,
                &sde.id,
                code,
                ("valueCodeableConcept", v.clone()),
            ));
            ext.push(reference(&id));
        }
    }
    (contained, ext)
}

/// Per SDE: each distinct value and the number of patients with it.
#[derive(Debug, Default)]
pub struct Tally {
    counts: Vec<BTreeMap<String, (Json, i64)>>,
}

impl Tally {
    pub fn new(n: usize) -> Tally {
        Tally {
            counts: vec![BTreeMap::new(); n],
        }
    }

    pub fn add(&mut self, values: &[Vec<Json>]) {
        for (map, vals) in self.counts.iter_mut().zip(values) {
            for v in vals {
                map.entry(v.to_string()).or_insert_with(|| (v.clone(), 0)).1 += 1;
            }
        }
    }

    /// Contained Observations (the value as code, the count as value) and extensions.
    pub fn render(&self, measure: &CompiledMeasure) -> (Vec<Json>, Vec<Json>) {
        let (mut contained, mut ext) = (Vec::new(), Vec::new());
        for (i, (sde, map)) in measure.sde.iter().zip(&self.counts).enumerate() {
            for (k, (value, n)) in map.values().enumerate() {
                let id = format!("sde-{i}-{k}");
                contained.push(observation(
                    &id,
                    &sde.id,
                    value.clone(),
                    ("valueInteger", json!(n)),
                ));
                ext.push(reference(&id));
            }
        }
        (contained, ext)
    }
}
