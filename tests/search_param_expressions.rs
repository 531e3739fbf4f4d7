//! Every R4 SearchParameter expression parses and evaluates: against an empty resource of each
//! base type, and against the FHIR R4 spec examples (hl7.fhir.r4.examples 4.0.1, read from
//! .fhir-packages/ or $HEARTH_FHIR_EXAMPLES when present).

use hearth::fhir::compartment::patient_compartment;
use hearth::fhir::fhirpath::Engine;
use hearth::fhir::index::extract;
use hearth::fhir::search_params::{ParamType, SearchParamRegistry};
use serde_json::{json, Value};

mod common;

#[test]
fn every_expression_evaluates_on_an_empty_resource_of_its_type() {
    let registry = SearchParamRegistry::r4().unwrap();
    let engine = Engine::r4().unwrap();
    let mut evaluated = 0;
    let mut failures = Vec::new();
    for ty in engine.model().resource_types() {
        let resource = json!({ "resourceType": ty });
        for p in registry.for_type(ty) {
            let Some(expr) = &p.expression else { continue };
            evaluated += 1;
            match engine.evaluate(expr, &resource) {
                // Only composites rooted at the resource itself (`Observation`) and the computed
                // `deceased` flag yield something on an empty resource.
                Ok(items) => assert!(
                    items.is_empty()
                        || p.param.param_type == ParamType::Composite
                        || p.code() == "deceased",
                    "{ty}.{}",
                    p.code()
                ),
                Err(e) => failures.push(format!("{ty}.{}: {e}", p.code())),
            }
        }
    }
    println!("evaluated {evaluated} (type, parameter) expressions on empty resources");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_expression_evaluates_on_the_spec_examples() {
    let dir = common::examples_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: the R4 examples package is missing at {}",
            dir.display()
        );
        return;
    }
    let registry = SearchParamRegistry::r4().unwrap();
    let engine = Engine::r4().unwrap();
    let mut resources = 0;
    let mut evaluations = 0;
    let mut failures = Vec::new();
    let mut non_empty = std::collections::HashMap::<(String, String), usize>::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(resource) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let Some(ty) = resource.get("resourceType").and_then(Value::as_str) else {
            continue;
        };
        resources += 1;
        for p in registry.for_type(ty) {
            let Some(expr) = &p.expression else { continue };
            evaluations += 1;
            match engine.evaluate(expr, &resource) {
                Ok(items) if !items.is_empty() => {
                    *non_empty
                        .entry((ty.to_owned(), p.code().to_owned()))
                        .or_default() += 1;
                    // Composite components evaluate against each item.
                    for c in &p.param.components {
                        for item in &items {
                            if let Err(e) = engine.evaluate_on(
                                &c.expression,
                                &resource,
                                std::slice::from_ref(item),
                            ) {
                                failures.push(format!(
                                    "{}: {ty}.{} component: {e}",
                                    path.display(),
                                    p.code()
                                ));
                            }
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => failures.push(format!("{}: {ty}.{}: {e}", path.display(), p.code())),
            }
        }
    }
    println!(
        "{resources} example resources, {evaluations} evaluations, {} failures, {} (type, parameter) pairs with values",
        failures.len(),
        non_empty.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    for (ty, code) in [
        ("Observation", "code"),
        ("Observation", "subject"),
        ("Observation", "patient"),
        ("Observation", "value-quantity"),
        ("Observation", "date"),
        ("Observation", "code-value-quantity"),
        ("Patient", "name"),
        ("Patient", "birthdate"),
        ("Patient", "identifier"),
        ("Encounter", "subject"),
        ("Encounter", "patient"),
        ("Condition", "onset-date"),
        ("MedicationRequest", "code"),
        ("Bundle", "composition"),
    ] {
        let n = non_empty
            .get(&(ty.to_owned(), code.to_owned()))
            .copied()
            .unwrap_or(0);
        assert!(n > 0, "{ty}.{code} found nothing in the examples");
    }
}

#[test]
fn every_spec_example_indexes_and_gets_its_compartment() {
    let dir = common::examples_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: the R4 examples package is missing at {}",
            dir.display()
        );
        return;
    }
    let registry = SearchParamRegistry::r4().unwrap();
    let (mut resources, mut entries, mut with_key, mut skipped) = (0, 0, 0, Vec::new());
    for path in std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
    {
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(resource) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if resource.get("resourceType").is_none() {
            continue;
        }
        resources += 1;
        let index = extract(&registry, &resource).unwrap();
        entries += index.entries.len();
        for (code, e) in &index.skipped {
            skipped.push(format!("{}: {code}: {e}", path.display()));
        }
        if patient_compartment(&resource).is_some() {
            with_key += 1;
        }
    }
    println!(
        "{resources} examples: {entries} index entries, {with_key} with a patient compartment key"
    );
    assert!(skipped.is_empty(), "{skipped:#?}");
    // About 400 of the examples are clinical resources that reference a Patient (most of the
    // 5,306 are conformance resources, which are in no patient compartment).
    assert!(
        with_key > 350,
        "only {with_key} examples have a patient key"
    );
}
