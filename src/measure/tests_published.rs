//! The shared libraries of the published QI-Core measures, run from their
//! published ELM in `../shared/ecqm`: CumulativeMedicationDuration 4.1 over
//! hand-made MedicationRequests and MedicationDispenses (expected days follow
//! the library's documented formulas) and QICoreCommon 2.1's timing functions
//! (`prevalenceInterval`, `toInterval`, `earliest`, ...).

use base64::Engine as _;
use serde_json::{json, Value as J};

use super::library::{add_resource, Content};
use super::{Engine, PatientRecord, Period};

const FHIR: &str = "{http://hl7.org/fhir}";
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/ecqm/libraries");

/// The published libraries CumulativeMedicationDuration needs, or `None`
/// (test skipped) without the shared data.
fn published(names: &[&str]) -> Option<Vec<J>> {
    let mut out = Vec::new();
    for n in names {
        let path = format!("{SHARED}/{n}.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("SKIPPED: {path} not found");
            return None;
        };
        out.push(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}")));
    }
    Some(out)
}

/// `CMD.name(argument)`, the overload taking `ty`.
fn cmd(name: &str, ty: J, argument: J) -> J {
    json!({"type": "FunctionRef", "libraryName": "CMD", "name": name,
        "signature": [ty], "operand": [argument]})
}

fn named(ty: &str) -> J {
    json!({"type": "NamedTypeSpecifier", "name": format!("{FHIR}{ty}")})
}

fn retrieve(ty: &str) -> J {
    json!({"type": "Retrieve", "dataType": format!("{FHIR}{ty}")})
}

/// A list of MedicationRequests and MedicationDispenses, as CMD's list operand.
fn medications(ty: &str) -> J {
    json!({"type": "Query", "source": [{"alias": "M", "expression": retrieve(ty)}],
        "return": {"distinct": false, "expression": {"type": "AliasRef", "name": "M"}}})
}

/// Evaluates `defs` (name, expression) in a library including CMD (as `CMD`)
/// and QICoreCommon, for the patient born 1980-05-01 with `resources`.
fn run(defs: Vec<(&str, J)>, resources: Vec<J>) -> Option<Vec<J>> {
    let libraries = published(&[
        "FHIRHelpers",
        "QICoreCommon",
        "CumulativeMedicationDuration",
    ])?;
    let include = |alias: &str, name: &str, version: &str| json!({"localIdentifier": alias, "path": format!("http://ecqi.healthit.gov/ecqms/{name}"), "version": version});
    let statements: Vec<J> = defs
        .iter()
        .map(|(n, e)| json!({"name": n, "context": "Patient", "expression": e}))
        .collect();
    let elm = json!({"library": {"identifier": {"id": "CmdTest", "version": "1.0.0"},
        "includes": {"def": [include("FHIRHelpers", "FHIRHelpers", "4.4.000"),
            include("CMD", "CumulativeMedicationDuration", "4.1.000"),
            include("QICoreCommon", "QICoreCommon", "2.1.000")]},
        "statements": {"def": statements}}});
    let data = base64::engine::general_purpose::STANDARD.encode(elm.to_string());
    let sde: Vec<J> = defs
        .iter()
        .map(|(n, _)| json!({"criteria": {"expression": n}}))
        .collect();
    let mut content = Content::default();
    for r in libraries.into_iter().chain([
        json!({"resourceType": "Library", "url": "http://example.org/Library/CmdTest", "name": "CmdTest",
            "version": "1.0.0", "content": [{"contentType": "application/elm+json", "data": data}]}),
        json!({"resourceType": "Measure", "name": "CmdMeasure", "url": "http://example.org/Measure/Cmd",
            "library": ["http://example.org/Library/CmdTest"], "supplementalData": sde}),
    ]) {
        add_resource(&mut content, r).unwrap_or_else(|e| panic!("content: {e}"));
    }
    let m = Engine::from_content(content)
        .compile_measure("CmdMeasure")
        .unwrap_or_else(|e| panic!("compile: {e}"));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let mut all = vec![json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"})];
    all.extend(resources);
    let p = PatientRecord::new(all);
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    Some(
        defs.iter()
            .map(|(n, _)| {
                m.evaluate_expression(&p, &period, n)
                    .unwrap_or_else(|e| panic!("{n}: {e}"))
            })
            .collect(),
    )
}

fn days(value: f64) -> J {
    json!({"value": value, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"})
}

fn request(id: &str, authored: &str, extra: J) -> J {
    let mut r = json!({"resourceType": "MedicationRequest", "id": id, "status": "active",
        "intent": "order", "authoredOn": authored});
    if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
        r.extend(extra.clone());
    }
    r
}

fn dates(low: &str, high: &str) -> J {
    json!({"low": low, "high": high, "lowClosed": true, "highClosed": true})
}

#[test]
fn medication_request_periods_and_cumulative_duration() {
    let requests = vec![
        // Supply of 30 days with 2 refills: 90 days from the order.
        request(
            "supply",
            "2025-01-01",
            json!({"dispenseRequest": {"expectedSupplyDuration": days(30.0), "numberOfRepeatsAllowed": 2}}),
        ),
        // 60 tablets at 1 tablet twice a day: 30 days.
        request(
            "dosage",
            "2025-06-01",
            json!({"dispenseRequest": {"quantity": {"value": 60, "unit": "tablet"}},
                "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}]}),
        ),
        // Nothing to compute a duration from.
        request("unknown", "2025-09-01", json!({})),
        // Only bounds: from their start to their end.
        request(
            "bounded",
            "2025-09-28",
            json!({"dosageInstruction": [{"timing": {"repeat": {
                "boundsPeriod": {"start": "2025-10-01", "end": "2025-10-10"}}}}]}),
        ),
    ];
    let period = cmd(
        "MedicationRequestPeriod",
        named("MedicationRequest"),
        json!({"type": "AliasRef", "name": "R"}),
    );
    let list_of_choice = json!({"type": "ListTypeSpecifier", "elementType": {"type": "ChoiceTypeSpecifier",
        "choice": [named("MedicationRequest"), named("MedicationDispense")]}});
    let Some(r) = run(
        vec![
            (
                "Periods",
                json!({"type": "Query", "source": [{"alias": "R", "expression": retrieve("MedicationRequest")}],
                    "return": {"distinct": false, "expression": period}}),
            ),
            (
                "Cumulative",
                cmd(
                    "CumulativeMedicationDuration",
                    list_of_choice,
                    medications("MedicationRequest"),
                ),
            ),
        ],
        requests,
    ) else {
        return;
    };
    assert_eq!(
        r[0],
        json!([
            dates("2025-01-01", "2025-03-31"),
            dates("2025-06-01", "2025-06-30"),
            null,
            dates("2025-10-01", "2025-10-10")
        ])
    );
    assert_eq!(r[1], json!(90 + 30 + 10));
}

#[test]
fn dispenses_are_rolled_out_end_to_end() {
    let dispense = |id: &str, handed_over: &str| {
        json!({"resourceType": "MedicationDispense", "id": id, "status": "completed",
            "whenHandedOver": handed_over, "daysSupply": days(30.0)})
    };
    let list_of_choice = json!({"type": "ListTypeSpecifier", "elementType": {"type": "ChoiceTypeSpecifier",
        "choice": [named("MedicationRequest"), named("MedicationDispense")]}});
    let Some(r) = run(
        vec![(
            "Cumulative",
            cmd(
                "CumulativeMedicationDuration",
                list_of_choice,
                medications("MedicationDispense"),
            ),
        )],
        // The second fill starts before the first runs out: it is laid after it,
        // [01-01, 01-30] then [01-31, 03-01], 60 days in all.
        vec![
            dispense("first", "2025-01-01T09:00:00Z"),
            dispense("second", "2025-01-20T09:00:00Z"),
        ],
    ) else {
        return;
    };
    assert_eq!(r[0], json!(60));
}

/// `QICoreCommon.name(operands)`, as the translator calls it (no signature).
fn common(name: &str, operands: Vec<J>) -> J {
    json!({"type": "FunctionRef", "libraryName": "QICoreCommon", "name": name,
        "signature": [], "operand": operands})
}

/// `X.element` converted by `FHIRHelpers.ToValue`, as choice arguments are.
fn to_value(element: &str, alias: &str) -> J {
    json!({"type": "FunctionRef", "libraryName": "FHIRHelpers", "name": "ToValue", "signature": [],
        "operand": [{"type": "Property", "path": element, "scope": alias}]})
}

fn each(ty: &str, alias: &str, ret: J) -> J {
    json!({"type": "Query", "source": [{"alias": alias, "expression": retrieve(ty)}],
        "return": {"distinct": false, "expression": ret}})
}

#[test]
fn condition_prevalence_and_observation_timing() {
    let status = |code: &str| json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": code}]});
    let condition = |id: &str, clinical: &str, extra: J| {
        let mut c =
            json!({"resourceType": "Condition", "id": id, "clinicalStatus": status(clinical)});
        if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(extra.clone());
        }
        c
    };
    let resources = vec![
        condition(
            "active",
            "active",
            json!({"onsetDateTime": "2024-05-01T00:00:00Z"}),
        ),
        condition(
            "resolved",
            "resolved",
            json!({"onsetDateTime": "2024-01-01", "abatementDateTime": "2024-03-01"}),
        ),
        condition(
            "inactive",
            "inactive",
            json!({"onsetDateTime": "2024-01-01"}),
        ),
        // Onset at age 40 of a patient born 1980-05-01.
        condition(
            "by-age",
            "active",
            json!({"onsetAge": {"value": 40, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}}),
        ),
        json!({"resourceType": "Observation", "id": "period", "status": "final",
            "effectivePeriod": {"start": "2025-01-01T10:00:00Z", "end": "2025-01-01T12:00:00Z"}}),
        json!({"resourceType": "Observation", "id": "end-only", "status": "final",
            "effectivePeriod": {"end": "2025-01-02T08:00:00Z"}}),
        json!({"resourceType": "Observation", "id": "instant", "status": "final",
            "effectiveDateTime": "2025-01-03T08:00:00Z"}),
    ];
    let prevalence = || {
        common(
            "prevalenceInterval",
            vec![json!({"type": "AliasRef", "name": "C"})],
        )
    };
    let at = |v: &str| json!({"type": "Literal", "valueType": "{urn:hl7-org:elm-types:r1}DateTime", "value": v});
    let row = json!({"type": "Tuple", "element": [
        {"name": "start", "value": {"type": "Start", "operand": prevalence()}},
        {"name": "end", "value": {"type": "End", "operand": prevalence()}},
        {"name": "in2030", "value": {"type": "In", "operand": [at("2030-01-01T00:00:00.000Z"), prevalence()]}},
        {"name": "active", "value": common("isActive", vec![json!({"type": "AliasRef", "name": "C"})])}]});
    let Some(r) = run(
        vec![
            ("Prevalence", each("Condition", "C", row)),
            (
                "Earliest",
                each(
                    "Observation",
                    "O",
                    common("earliest", vec![to_value("effective", "O")]),
                ),
            ),
            (
                "Id",
                common(
                    "getId",
                    vec![json!({"type": "Literal",
                    "valueType": "{urn:hl7-org:elm-types:r1}String", "value": "Patient/123"})],
                ),
            ),
        ],
        resources,
    ) else {
        return;
    };
    const MAX: &str = "9999-12-31T23:59:59.999Z";
    let row = |start: J, end: J, in2030: J, active: bool| json!({"start": start, "end": end, "in2030": in2030, "active": active});
    assert_eq!(
        r[0],
        json!([
            // Active: ongoing, a closed null end is the maximum DateTime.
            row(json!("2024-05-01T00:00:00Z"), json!(MAX), json!(true), true),
            row(
                json!("2024-01-01"),
                json!("2024-03-01"),
                json!(false),
                false
            ),
            // Not active and no abatement: the end is unknown.
            row(json!("2024-01-01"), J::Null, J::Null, false),
            row(json!("2020-05-01"), json!(MAX), json!(true), true),
        ])
    );
    assert_eq!(
        r[1],
        json!([
            "2025-01-01T10:00:00Z",
            "2025-01-02T08:00:00Z",
            "2025-01-03T08:00:00Z"
        ])
    );
    assert_eq!(r[2], json!("123"));
}
