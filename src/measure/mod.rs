//! Quality-measure engine: evaluates published eCQMs from their ELM.
//!
//! ```text
//! let engine = Engine::load(dir)?;                  // or Engine::from_resources(store rows)
//! let measure = engine.compile_measure(url_or_name)?; // ELM compiled once; Send + Sync
//! let period = Period::parse("2025-01-01", "2025-12-31")?;
//! let bindings = measure.bind_parameters(&parameters_resource)?; // CQL parameters, optional
//! let result = measure.evaluate_patient_with(&patient, &period, &bindings)?;
//! let groups = measure.evaluate(&patient, &period)?;  // one patient's compartment (PatientData)
//! let all = measure.evaluate_all(&patients, &period); // rayon, input order kept
//! report::individual(&measure, id, &period, &groups); report::summary(&measure, &period, &all);
//! groups[0].care_gap(measure.improvement_notation != "decrease");
//! ```
//!
//! Layers: `library` (loading content, value sets as hash sets) → `compile*`
//! (ELM → `node::Node` with every reference resolved) → `eval*`/`ops*`/
//! `interval`/`native` (CQL semantics) → `scoring`/`observation`/`strata`/
//! `report` (populations, measure observations, strata, MeasureReport).
//! `parameters` binds CQL parameter values given with an evaluation. `model`
//! supplies the FHIR R4 knowledge FHIR-ModelInfo would (element types,
//! choices), derived from the R4 JSON schema in `fhir-profiles/`.
//! `conformance::run` checks the engine against published test cases
//! (`conformance_case` reads one case and compares it).

pub mod care_gaps;
pub mod commands;
mod compile;
mod compile_more;
mod compile_query;
mod compile_refs;
mod compile_tables;
pub mod conformance;
mod conformance_case;
mod conformance_strata;
pub mod date_needs;
pub mod datetime;
pub mod doc;
mod doc_text;
mod eval;
mod eval_query;
mod eval_retrieve;
mod hoist;
mod interval;
mod keyed;
pub mod library;
mod measure_def;
mod memo;
pub mod model;
mod native;
mod node;
pub mod observation;
mod ops;
mod ops2;
mod ops_interval;
mod ops_more;
mod parameters;
mod patients;
pub mod population;
mod program;
pub mod report;
pub mod requirements;
mod scoring;
pub mod service;
mod strata;
pub mod supplemental;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_conformance;
#[cfg(test)]
mod tests_elm;
#[cfg(test)]
mod tests_elm_cov;
#[cfg(test)]
mod tests_elm_gaps;
#[cfg(test)]
mod tests_elm_idioms;
#[cfg(test)]
mod tests_elm_ops;
#[cfg(test)]
mod tests_elm_queries;
#[cfg(test)]
mod tests_fhirhelpers;
#[cfg(test)]
mod tests_keyed;
#[cfg(test)]
mod tests_memo;
#[cfg(test)]
mod tests_params;
#[cfg(test)]
mod tests_published;
#[cfg(test)]
mod tests_report;
#[cfg(test)]
mod tests_strata;
mod units;
pub mod value;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::store::RawResource;

pub use doc::Doc;
pub use parameters::Bindings;
pub use program::{CompiledMeasure, Engine, GroupResult, PatientResult, Period, Stratum};
pub use value::Json;

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("invalid JSON in {0}: {1}")]
    Json(PathBuf, #[source] serde_json::Error),
    #[error("measure content: {0}")]
    Content(String),
    #[error("unsupported {what} (library {library}, expression {expression})")]
    Unsupported {
        what: String,
        library: String,
        expression: String,
    },
    #[error("evaluation failed: {0}")]
    Eval(String),
}

/// One patient's data: every resource of the patient's compartment, by type.
pub trait PatientData: Sync {
    fn resources(&self, resource_type: &str) -> &[Doc];
}

/// An in-memory `PatientData`: resources parsed up front, or stored text parsed a type at a
/// time when evaluation first retrieves the type (population runs: most patients fall out of
/// the initial population after a few retrieves, and the types they never reach cost only
/// the read).
#[derive(Debug, Default, Clone)]
pub struct PatientRecord {
    by_type: HashMap<String, Resources>,
    /// Why a stored resource could not be parsed, if one could not: the caller fails the run.
    corrupt: OnceLock<String>,
}

#[derive(Debug, Default, Clone)]
struct Resources {
    raw: Vec<RawResource>,
    parsed: OnceLock<Vec<Doc>>,
}

impl PatientRecord {
    pub fn new(resources: impl IntoIterator<Item = Json>) -> PatientRecord {
        let mut by_type: HashMap<String, Vec<Doc>> = HashMap::new();
        for r in resources {
            if let Some(t) = r.get("resourceType").and_then(Json::as_str) {
                by_type.entry(t.to_owned()).or_default().push(Doc::from(&r));
            }
        }
        let by_type = by_type
            .into_iter()
            .map(|(t, list)| {
                let parsed = OnceLock::from(list);
                (
                    t,
                    Resources {
                        raw: Vec::new(),
                        parsed,
                    },
                )
            })
            .collect();
        PatientRecord {
            by_type,
            corrupt: OnceLock::new(),
        }
    }

    /// A record of stored resources, each type parsed when first asked for.
    pub fn unparsed(resources: impl IntoIterator<Item = RawResource>) -> PatientRecord {
        let mut by_type: HashMap<String, Resources> = HashMap::new();
        for r in resources {
            match by_type.get_mut(r.resource_type()) {
                Some(entry) => entry.raw.push(r),
                None => {
                    let t = r.resource_type().to_owned();
                    let entry = Resources {
                        raw: vec![r],
                        parsed: OnceLock::new(),
                    };
                    by_type.insert(t, entry);
                }
            }
        }
        PatientRecord {
            by_type,
            corrupt: OnceLock::new(),
        }
    }

    pub fn patient_id(&self) -> Option<&str> {
        self.resources("Patient").first()?.get("id")?.as_str()
    }

    /// Every resource, all types parsed.
    pub fn all(&self) -> impl Iterator<Item = &Doc> {
        self.by_type.keys().flat_map(|t| self.resources(t))
    }

    /// Adds a parsed resource (a shared one a compartment references) to its type.
    pub fn push(&mut self, resource: Doc) {
        let Some(t) = resource.get("resourceType").and_then(Doc::as_str) else {
            return;
        };
        let t = t.to_owned();
        // Parse the type's stored text first: once `parsed` is set, `raw` is never read again.
        self.resources(&t);
        let entry = self.by_type.entry(t).or_default();
        match entry.parsed.get_mut() {
            Some(list) => list.push(resource),
            None => entry.parsed = OnceLock::from(vec![resource]),
        }
    }

    /// Moves the `types` entries of `other` into this record, parsed or not (a type this
    /// record has already stays as it is).
    pub(crate) fn adopt(&mut self, other: &mut PatientRecord, types: &[&str]) {
        for t in types {
            if let Some(entry) = other.by_type.remove(*t) {
                self.by_type.entry((*t).to_owned()).or_insert(entry);
            }
        }
    }

    /// Why a stored resource of this record could not be parsed, if one was asked for and
    /// could not be.
    pub fn corrupt(&self) -> Option<&str> {
        self.corrupt.get().map(String::as_str)
    }
}

impl PatientData for PatientRecord {
    fn resources(&self, resource_type: &str) -> &[Doc] {
        let Some(entry) = self.by_type.get(resource_type) else {
            return &[];
        };
        entry.parsed.get_or_init(|| {
            let mut list = Vec::with_capacity(entry.raw.len());
            for parsed in entry.raw.iter().filter_map(RawResource::parse::<Doc>) {
                match parsed {
                    Ok(r) => list.push(r),
                    Err(e) => {
                        let _ = self.corrupt.set(e.to_string());
                    }
                }
            }
            list
        })
    }
}
