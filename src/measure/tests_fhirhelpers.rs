//! FHIRHelpers 4.4 conversions on every FHIR type the published measures
//! convert (`ToInterval` on Period, Range and Quantity; `ToQuantity`,
//! `ToRatio`, `ToConcept`, `ToCode`, primitives), run through the published
//! FHIRHelpers ELM of `../shared/ecqm` so native shortcuts and the ELM agree.

use serde_json::{json, Value as J};

use super::tests::{alias, engine_from, list, prop};
use super::tests_elm::{lit, op};
use super::{PatientRecord, Period};

const FHIR: &str = "{http://hl7.org/fhir}";

/// The published FHIRHelpers Library, or `None` (test skipped) without the shared data.
fn published_helpers() -> Option<J> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/ecqm/libraries/FHIRHelpers.json"
    );
    match std::fs::read_to_string(path) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))),
        Err(_) => {
            eprintln!("SKIPPED: {path} not found");
            None
        }
    }
}

/// `FHIRHelpers.name(operand)` with the overload for FHIR type `ty`.
fn helper(name: &str, ty: &str, operand: J) -> J {
    json!({"type": "FunctionRef", "libraryName": "FHIRHelpers", "name": name,
        "signature": [{"type": "NamedTypeSpecifier", "name": format!("{FHIR}{ty}")}],
        "operand": [operand]})
}

/// `O.element as ty` for the single Observation of the test patient.
fn element(name: &str, ty: &str) -> J {
    let obs = json!({"type": "SingletonFrom", "operand":
        {"type": "Retrieve", "dataType": format!("{FHIR}Observation")}});
    json!({"type": "As", "asType": format!("{FHIR}{ty}"), "operand": prop(name, obs)})
}

/// Evaluates each `(name, expression)` for a patient with `observation`;
/// errors come back as `{"error": message}`.
fn run(observation: J, defs: Vec<(&str, J)>) -> Option<Vec<J>> {
    let helpers = published_helpers()?;
    let names: Vec<&str> = defs.iter().map(|(n, _)| *n).collect();
    let defs = defs
        .into_iter()
        .map(|(n, e)| json!({"name": n, "context": "Patient", "expression": e}))
        .collect();
    let m = engine_from(defs, helpers, |_| {})
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("compile: {e}"));
    let p = PatientRecord::new(vec![
        json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"}),
        observation,
    ]);
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    Some(
        names
            .iter()
            .map(|n| match m.evaluate_expression(&p, &period, n) {
                Ok(v) => v,
                Err(e) => json!({"error": e.to_string()}),
            })
            .collect(),
    )
}

fn qty(v: f64, unit: &str) -> J {
    json!({"type": "Quantity", "value": v, "unit": unit})
}

fn observation(extra: J) -> J {
    let mut o = json!({"resourceType": "Observation", "id": "o1", "status": "final"});
    if let (Some(o), Some(extra)) = (o.as_object_mut(), extra.as_object()) {
        o.extend(extra.clone());
    }
    o
}

#[test]
fn to_interval_of_period_range_and_quantity() {
    let o = observation(json!({
        "effectivePeriod": {"end": "2025-03-01T10:00:00Z"},
        "valueRange": {"low": {"value": 1, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
            "high": {"value": 5, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}},
        "referenceRange": [{"low": {"value": 10, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}],
        "component": [{"code": {"text": "upper"}, "valueQuantity": {"value": 5, "comparator": "<",
            "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}));
    let period = helper("ToInterval", "Period", element("effective", "Period"));
    let range = helper("ToInterval", "Range", element("value", "Range"));
    let comp = json!({"type": "SingletonFrom", "operand": prop("component", json!({"type": "SingletonFrom",
        "operand": {"type": "Retrieve", "dataType": format!("{FHIR}Observation")}}))});
    let bounded = helper(
        "ToInterval",
        "Quantity",
        json!({"type": "As", "asType": format!("{FHIR}Quantity"), "operand": prop("value", comp)}),
    );
    let Some(r) = run(
        o,
        vec![
            // A Period without a start: an open, unknown start (FHIRHelpers 4.4).
            (
                "Period Start",
                json!({"type": "Start", "operand": period.clone()}),
            ),
            (
                "Period End",
                op(
                    "Equal",
                    vec![
                        json!({"type": "End", "operand": period}),
                        lit("DateTime", "2025-03-01T10:00:00Z"),
                    ],
                ),
            ),
            (
                "Range",
                list(vec![
                    op("In", vec![qty(3.0, "mg"), range.clone()]),
                    op("In", vec![qty(6.0, "mg"), range]),
                ]),
            ),
            // `< 5 mg` is Interval[null, 5 'mg'): below, but not at, 5 mg.
            (
                "Comparator",
                list(vec![
                    op("In", vec![qty(3.0, "mg"), bounded.clone()]),
                    op("In", vec![qty(5.0, "mg"), bounded]),
                ]),
            ),
        ],
    ) else {
        return;
    };
    assert_eq!(r[0], J::Null);
    assert_eq!(r[1], json!(true));
    assert_eq!(r[2], json!([true, false]));
    assert_eq!(r[3], json!([true, false]));
}

#[test]
fn to_quantity_maps_calendar_units_and_refuses_comparators() {
    let run_value = |value: J| {
        run(
            observation(json!({"valueQuantity": value})),
            vec![(
                "Q",
                helper("ToQuantity", "Quantity", element("value", "Quantity")),
            )],
        )
        .map(|mut r| r.remove(0))
    };
    let ucum = "http://unitsofmeasure.org";
    let Some(mg) =
        run_value(json!({"value": 250, "unit": "mg/dL", "system": ucum, "code": "mg/dL"}))
    else {
        return;
    };
    assert_eq!(mg, json!({"value": 250.0, "unit": "mg/dL"}));
    // UCUM `d` and the calendar-units code system both mean the calendar day.
    let days = run_value(json!({"value": 3, "unit": "days", "system": ucum, "code": "d"}));
    assert_eq!(days, Some(json!({"value": 3.0, "unit": "day"})));
    let calendar = run_value(json!({"value": 2, "unit": "weeks",
        "system": "http://hl7.org/fhirpath/CodeSystem/calendar-units", "code": "wk"}));
    assert_eq!(calendar, Some(json!({"value": 2.0, "unit": "week"})));
    // No system: the code (or unit) is taken as it is.
    let bare = run_value(json!({"value": 7, "unit": "mmol/L"}));
    assert_eq!(bare, Some(json!({"value": 7.0, "unit": "mmol/L"})));
    // A comparator or a foreign unit system cannot become a System.Quantity.
    for bad in [
        json!({"value": 5, "comparator": ">", "unit": "mg", "system": ucum, "code": "mg"}),
        json!({"value": 5, "unit": "tablet", "system": "http://example.org/units", "code": "tab"}),
    ] {
        let r = run_value(bad.clone());
        let message = r
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(J::as_str)
            .unwrap_or_default();
        assert!(message.contains("FHIRHelpers.ToQuantity"), "{bad}: {r:?}");
    }
}

#[test]
fn to_ratio_to_concept_and_to_code() {
    let o = observation(json!({
        "valueRatio": {"numerator": {"value": 1, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
            "denominator": {"value": 2, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"}},
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"},
            {"system": "http://example.org/cs", "code": "glu"}], "text": "Glucose"},
        "interpretation": [{"coding": [{"system": "http://example.org/cs", "version": "2", "code": "H", "display": "High"}]}]}));
    let obs = json!({"type": "SingletonFrom", "operand":
        {"type": "Retrieve", "dataType": format!("{FHIR}Observation")}});
    let concept = helper("ToConcept", "CodeableConcept", prop("code", obs.clone()));
    let coding = json!({"type": "SingletonFrom", "operand": prop("coding",
        json!({"type": "SingletonFrom", "operand": prop("interpretation", obs)}))});
    let glu = json!({"type": "ToConcept", "operand": {"type": "Code", "code": "glu", "system": {"name": "EX"}}});
    let Some(r) = run(
        o,
        vec![
            (
                "Ratio",
                helper("ToRatio", "Ratio", element("value", "Ratio")),
            ),
            ("Concept", concept.clone()),
            // `T ~ "code"`: a concept is equivalent to a code it contains.
            ("Equivalent", op("Equivalent", vec![concept, glu])),
            ("Code", helper("ToCode", "Coding", coding)),
        ],
    ) else {
        return;
    };
    assert_eq!(
        r[0],
        json!({"numerator": {"value": 1.0, "unit": "mg"}, "denominator": {"value": 2.0, "unit": "mL"}})
    );
    assert_eq!(
        r[1],
        json!({"codes": [{"code": "2339-0", "system": "http://loinc.org"},
            {"code": "glu", "system": "http://example.org/cs"}], "display": "Glucose"})
    );
    assert_eq!(r[2], json!(true));
    assert_eq!(
        r[3],
        json!({"code": "H", "system": "http://example.org/cs", "display": "High"})
    );
}

#[test]
fn primitives_convert_to_system_values() {
    let o = observation(json!({"issued": "2025-03-01T10:00:00.123Z", "valueBoolean": true}));
    let obs = json!({"type": "SingletonFrom", "operand":
        {"type": "Retrieve", "dataType": format!("{FHIR}Observation")}});
    let Some(r) = run(
        o,
        vec![
            (
                "Status",
                helper("ToString", "ObservationStatus", prop("status", obs.clone())),
            ),
            (
                "Issued",
                helper("ToDateTime", "instant", prop("issued", obs.clone())),
            ),
            (
                "Boolean",
                helper("ToBoolean", "boolean", element("value", "boolean")),
            ),
            (
                "Ids",
                json!({"type": "Query", "source": [{"alias": "O", "expression":
                    {"type": "Retrieve", "dataType": format!("{FHIR}Observation")}}],
                    "return": {"expression": prop("id", alias("O"))}}),
            ),
        ],
    ) else {
        return;
    };
    assert_eq!(r[0], json!("final"));
    assert_eq!(r[1], json!("2025-03-01T10:00:00.123Z"));
    assert_eq!(r[2], json!(true));
    assert_eq!(r[3], json!(["o1"]));
}
