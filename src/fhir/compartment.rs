//! The patient compartment key: which Patient a resource belongs to, per the R4 Patient
//! CompartmentDefinition (embedded `fhir-profiles/compartment-patient.json`). For each resource
//! type it lists search parameters (`Observation`: subject, performer); their expressions are
//! evaluated in that order and the first reference to a Patient gives the key. A Patient is its
//! own compartment. This runs on every write, so the expressions are parsed and specialised to
//! each type once, and the search for the first key stops at the first match.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;
use thiserror::Error;

use super::fhirpath::{Engine, Expression, Item, ModelError, ReferenceParts};
use super::search_params::{SearchParamError, SearchParamRegistry};

static PATIENT_COMPARTMENT: &str = include_str!("../../fhir-profiles/compartment-patient.json");

#[derive(Debug, Error)]
pub enum CompartmentError {
    #[error("the compartment definition is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("compartment parameter {resource_type}.{code} is not a known search parameter")]
    UnknownParam { resource_type: String, code: String },
    #[error(transparent)]
    SearchParams(#[from] SearchParamError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// The Patient compartment: per resource type, the expressions that point at its patient.
#[derive(Debug, Clone)]
pub struct PatientCompartment {
    engine: Engine<'static>,
    by_type: HashMap<String, Vec<Expression>>,
}

impl PatientCompartment {
    /// The R4 Patient compartment, with parameter expressions from `registry`.
    pub fn r4(registry: &SearchParamRegistry) -> Result<PatientCompartment, CompartmentError> {
        let definition: Value = serde_json::from_str(PATIENT_COMPARTMENT)?;
        let mut by_type = HashMap::new();
        let resources = definition
            .get("resource")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for entry in resources {
            let Some(ty) = entry.get("code").and_then(Value::as_str) else {
                continue;
            };
            let mut expressions = Vec::new();
            for code in entry
                .get("param")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                // `{def}` marks the compartment's own resource (Patient.link handled below).
                let param =
                    registry
                        .get(ty, code)
                        .ok_or_else(|| CompartmentError::UnknownParam {
                            resource_type: ty.to_owned(),
                            code: code.to_owned(),
                        })?;
                if let Some(expr) = &param.expression {
                    expressions.push(expr.clone());
                }
            }
            if !expressions.is_empty() {
                by_type.insert(ty.to_owned(), expressions);
            }
        }
        // R4 leaves Task out of the Patient compartment, but quality measures (QI-Core) retrieve
        // a patient's Tasks with the rest of the record: the storage key follows `Task.for`.
        if !by_type.contains_key("Task") {
            if let Some(expr) = registry
                .get("Task", "patient")
                .and_then(|p| p.expression.clone())
            {
                by_type.insert("Task".to_owned(), vec![expr]);
            }
        }
        Ok(PatientCompartment {
            engine: Engine::r4()?,
            by_type,
        })
    }

    /// The id of the patient `resource` belongs to: its own id for a Patient, else the first
    /// Patient reference found by the compartment parameters; `None` when it is in no patient's
    /// compartment. Absolute references (`https://host/fhir/Patient/1`) count like relative
    /// ones; `urn:uuid:` references must be rewritten (as a transaction does) before this runs.
    pub fn patient_id<'a>(&self, resource: &'a Value) -> Option<&'a str> {
        let ty = resource.get("resourceType").and_then(Value::as_str)?;
        if ty == "Patient" {
            return resource.get("id").and_then(Value::as_str);
        }
        let mut found = None;
        self.visit(ty, resource, &mut |id| {
            found = Some(id);
            false
        });
        found
    }

    /// Every patient the resource belongs to, first key first, without duplicates. A Patient
    /// also belongs to the compartments of the patients it links to.
    pub fn patient_ids<'a>(&self, resource: &'a Value) -> Vec<&'a str> {
        let Some(ty) = resource.get("resourceType").and_then(Value::as_str) else {
            return Vec::new();
        };
        let mut ids: Vec<&'a str> = Vec::new();
        if ty == "Patient" {
            ids.extend(resource.get("id").and_then(Value::as_str));
        }
        self.visit(ty, resource, &mut |id| {
            if !ids.contains(&id) {
                ids.push(id);
            }
            true
        });
        ids
    }

    /// Calls `found` with each Patient id the compartment expressions reach, until it returns
    /// false.
    fn visit<'a>(&self, ty: &str, resource: &'a Value, found: &mut dyn FnMut(&'a str) -> bool) {
        let Some(expressions) = self.by_type.get(ty) else {
            return;
        };
        for expr in expressions {
            // A failing expression (malformed resource) puts nothing in the compartment.
            let Ok(items) = self.engine.evaluate(expr, resource) else {
                continue;
            };
            for item in items {
                if let Some(id) = patient_reference(&item) {
                    if !found(id) {
                        return;
                    }
                }
            }
        }
    }
}

/// The Patient id of a Reference item (`Patient/1`, `https://host/fhir/Patient/1`).
fn patient_reference<'a>(item: &Item<'a>) -> Option<&'a str> {
    let reference = item.json()?.get("reference")?.as_str()?;
    let parts = ReferenceParts::parse(reference);
    (parts.resource_type == Some("Patient"))
        .then_some(parts.id)
        .flatten()
}

fn shared() -> Option<&'static PatientCompartment> {
    static SHARED: OnceLock<Option<PatientCompartment>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let registry = SearchParamRegistry::r4().ok()?;
            PatientCompartment::r4(&registry).ok()
        })
        .as_ref()
}

/// The patient compartment key of `resource` (see [`PatientCompartment::patient_id`]), using
/// the embedded R4 definitions.
pub fn patient_compartment(resource: &Value) -> Option<String> {
    shared()?.patient_id(resource).map(str::to_owned)
}

/// All patient ids of `resource` (see [`PatientCompartment::patient_ids`]).
pub fn patient_compartments(resource: &Value) -> Vec<String> {
    shared().map_or_else(Vec::new, |c| {
        c.patient_ids(resource)
            .into_iter()
            .map(str::to_owned)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn observation_subject_is_the_key_and_performer_a_second_patient() {
        let obs = json!({
            "resourceType": "Observation",
            "subject": {"reference": "Patient/p1"},
            "performer": [
                {"reference": "Practitioner/d1"},
                {"reference": "https://ehr.example/fhir/Patient/p2"},
                {"reference": "Patient/p1"}
            ]
        });
        assert_eq!(patient_compartment(&obs).as_deref(), Some("p1"));
        assert_eq!(patient_compartments(&obs), vec!["p1", "p2"]);
    }

    #[test]
    fn group_subjects_and_non_patient_references_give_no_key() {
        let obs = json!({"resourceType": "Observation", "subject": {"reference": "Group/g1"}});
        assert_eq!(patient_compartment(&obs), None);
        let enc = json!({"resourceType": "Encounter", "subject": {"reference": "urn:uuid:abc"}});
        assert_eq!(patient_compartment(&enc), None);
        // Not in the patient compartment at all.
        let org = json!({"resourceType": "Organization", "id": "o"});
        assert_eq!(patient_compartment(&org), None);
        assert_eq!(patient_compartment(&json!({"id": "x"})), None);
    }

    #[test]
    fn patient_is_its_own_compartment_and_joins_linked_patients() {
        let patient = json!({
            "resourceType": "Patient", "id": "p1",
            "link": [{"other": {"reference": "Patient/p0"}, "type": "replaces"}]
        });
        assert_eq!(patient_compartment(&patient).as_deref(), Some("p1"));
        assert_eq!(patient_compartments(&patient), vec!["p1", "p0"]);
    }

    #[test]
    fn later_parameters_are_used_when_earlier_ones_are_empty() {
        // AllergyIntolerance: patient, recorder, asserter.
        let allergy = json!({
            "resourceType": "AllergyIntolerance",
            "recorder": {"reference": "Practitioner/d1"},
            "asserter": {"reference": "Patient/p9"}
        });
        assert_eq!(patient_compartment(&allergy).as_deref(), Some("p9"));
        // Encounter.patient is `Encounter.subject.where(resolve() is Patient)`.
        let enc = json!({"resourceType": "Encounter", "subject": {"reference": "Patient/p3"}});
        assert_eq!(patient_compartment(&enc).as_deref(), Some("p3"));
    }

    #[test]
    fn shared_types_are_thread_safe() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<PatientCompartment>();
        send_sync::<SearchParamRegistry>();
        send_sync::<Engine<'static>>();
        send_sync::<crate::fhir::index::IndexEntry<'static>>();
    }

    #[test]
    fn every_compartment_parameter_exists() {
        let registry = SearchParamRegistry::r4().unwrap();
        let compartment = PatientCompartment::r4(&registry).unwrap();
        // The 66 types of the R4 definition plus Task (placed by `Task.for`).
        assert_eq!(compartment.by_type.len(), 67);
        let task = serde_json::json!({"resourceType": "Task", "for": {"reference": "Patient/p1"}});
        assert_eq!(compartment.patient_id(&task), Some("p1"));
    }
}
