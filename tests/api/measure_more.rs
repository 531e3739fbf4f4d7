//! Measure operations on a small hand-written measure (no published content needed):
//! supplemental data and failed patients in population reports, and `$care-gaps`
//! by practitioner, organization and program.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, status_and_json, TestApp};
use crate::measure_pushdown::put;

const PERIOD: &str = "periodStart=2025-01-01&periodEnd=2025-12-31";

fn prop(path: &str, source: Value) -> Value {
    json!({"type": "Property", "path": path, "source": source})
}

/// ELM for: Initial Population = exists [Encounter]; Denominator = singleton
/// from [Encounter] is not null (fails for a patient with two encounters);
/// Numerator = exists finished encounters; SDE Sex = Patient.gender.
fn library() -> Value {
    let encounters = json!({"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Encounter"});
    let patient = json!({"type": "SingletonFrom", "operand":
        {"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Patient"}});
    let finished = json!({"type": "Query", "source": [{"alias": "E", "expression": encounters}],
        "where": {"type": "Equal", "operand": [
            prop("value", prop("status", json!({"type": "AliasRef", "name": "E"}))),
            {"type": "Literal", "valueType": "{urn:hl7-org:elm-types:r1}String", "value": "finished"}]}});
    let def = |name: &str, expression: Value| json!({"name": name, "context": "Patient", "expression": expression});
    let elm = json!({"library": {
    "identifier": {"id": "Gaps", "version": "1.0.0"},
    "parameters": {"def": [{"name": "Measurement Period"}]},
    "statements": {"def": [
        def("Patient", patient.clone()),
        def("Initial Population", json!({"type": "Exists", "operand": encounters})),
        def("Denominator", json!({"type": "Not", "operand": {"type": "IsNull", "operand":
            {"type": "SingletonFrom", "operand": encounters}}})),
        def("Numerator", json!({"type": "Exists", "operand": finished})),
        def("SDE Sex", prop("value", prop("gender", json!({"type": "ExpressionRef", "name": "Patient"})))),
    ]}}});
    json!({"resourceType": "Library", "id": "gaps", "url": "http://example.org/Library/Gaps",
        "name": "Gaps", "version": "1.0.0", "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
        "content": [{"contentType": "application/elm+json",
            "data": base64::engine::general_purpose::STANDARD.encode(elm.to_string())}]})
}

fn measure(program: Option<&str>) -> Value {
    let pop = |code: &str, expr: &str| {
        json!({
        "code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-population", "code": code}]},
        "criteria": {"language": "text/cql-identifier", "expression": expr}})
    };
    let mut m = json!({"resourceType": "Measure", "id": "gaps", "url": "http://example.org/Measure/Gaps",
        "name": "Gaps", "status": "active", "library": ["http://example.org/Library/Gaps"],
        "scoring": {"coding": [{"code": "proportion"}]},
        "group": [{"population": [pop("initial-population", "Initial Population"),
            pop("denominator", "Denominator"), pop("numerator", "Numerator")]}],
        "supplementalData": [{"id": "sde-sex", "criteria": {"language": "text/cql-identifier", "expression": "SDE Sex"}}]});
    if let Some(p) = program {
        m["useContext"] = json!([{"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "program"},
            "valueCodeableConcept": {"text": p}}]);
    }
    m
}

/// Patients: a (finished visit, dr1 and org1), b (planned visit, dr1), c (two visits: fails).
async fn setup(program: Option<&str>) -> TestApp {
    let app = spawn_app().await;
    put(&app, &library()).await;
    put(&app, &measure(program)).await;
    let patients = [
        ("a", "female", Some("dr1"), Some("org1"), vec!["finished"]),
        ("b", "male", Some("dr1"), None, vec!["planned"]),
        (
            "c",
            "female",
            None,
            Some("org1"),
            vec!["finished", "finished"],
        ),
    ];
    for (id, gender, dr, org, visits) in patients {
        let mut p = json!({"resourceType": "Patient", "id": id, "gender": gender});
        if let Some(dr) = dr {
            p["generalPractitioner"] = json!([{"reference": format!("Practitioner/{dr}")}]);
        }
        if let Some(org) = org {
            p["managingOrganization"] = json!({"reference": format!("Organization/{org}")});
        }
        put(&app, &p).await;
        for (i, status) in visits.into_iter().enumerate() {
            put(
                &app,
                &json!({"resourceType": "Encounter", "id": format!("{id}-e{i}"), "status": status,
                "class": {"code": "AMB"}, "subject": {"reference": format!("Patient/{id}")},
                "period": {"start": "2025-03-01", "end": "2025-03-01"}}),
            )
            .await;
        }
    }
    put(
        &app,
        &json!({"resourceType": "Group", "id": "all", "type": "person", "actual": true,
        "member": [{"entity": {"reference": "Patient/a"}}, {"entity": {"reference": "Patient/b"}},
            {"entity": {"reference": "Patient/c"}}]}),
    )
    .await;
    app
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    status_and_json(app.get(path).await).await
}

fn counts(group: &Value) -> Vec<(String, i64)> {
    group["population"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["code"]["coding"][0]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                p["count"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// Patient ids of the gaps Bundles in a `$care-gaps` answer.
fn gap_patients(answer: &Value) -> Vec<String> {
    let mut ids: Vec<String> = answer["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "return")
        .map(|p| {
            p["resource"]["entry"][0]["resource"]["subject"]["reference"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn population_reports_carry_supplemental_data_and_failed_patients() {
    let app = setup(None).await;
    let (status, report) = get(
        &app,
        &format!("/Measure/gaps/$evaluate-measure?{PERIOD}&reportType=population"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    // c fails (two encounters under SingletonFrom) and is left out of the counts.
    assert_eq!(
        counts(&report["group"][0]),
        [
            ("initial-population".to_owned(), 2),
            ("denominator".to_owned(), 2),
            ("numerator".to_owned(), 1)
        ]
    );
    let contained = report["contained"].as_array().expect("contained resources");
    let sde: Vec<(&str, i64)> = contained
        .iter()
        .filter(|r| r["resourceType"] == "Observation")
        .map(|o| {
            (
                o["code"]["text"].as_str().unwrap_or_default(),
                o["valueInteger"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(sde, [("female", 1), ("male", 1)]);
    let outcome = contained
        .iter()
        .find(|r| r["resourceType"] == "OperationOutcome")
        .expect("an OperationOutcome");
    assert_eq!(outcome["id"], "evaluation-errors");
    let text = outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.starts_with("1 patient(s) could not be evaluated"),
        "{text}"
    );
    assert!(
        outcome["issue"][1]["diagnostics"]
            .as_str()
            .unwrap_or_default()
            .contains("singleton"),
        "{outcome}"
    );
    let urls: Vec<&str> = report["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["url"].as_str())
        .collect();
    assert_eq!(
        urls.iter()
            .filter(|u| u.ends_with("extension-supplementalData"))
            .count(),
        2
    );
    assert!(urls.contains(&"http://hl7.org/fhir/StructureDefinition/cqf-messages"));

    let (status, individual) = get(
        &app,
        &format!("/Measure/gaps/$evaluate-measure?{PERIOD}&subject=Patient/a"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{individual}");
    assert_eq!(
        individual["contained"][0]["valueCodeableConcept"],
        json!({"text": "female"})
    );
    assert_eq!(
        individual["contained"][0]["extension"][0]["valueString"],
        "sde-sex"
    );
}

#[tokio::test]
async fn care_gaps_by_practitioner_organization_and_group() {
    let app = setup(None).await;
    let ask = |filter: &str, status: &str| {
        format!("/Measure/$care-gaps?{PERIOD}&measureId=gaps&{filter}&status={status}")
    };
    let cases = [
        (
            "practitioner=Practitioner/dr1",
            "open-gap",
            vec!["Patient/b"],
        ),
        ("practitioner=dr1", "closed-gap", vec!["Patient/a"]),
        ("organization=Organization/org1", "open-gap", vec![]),
        ("organization=org1", "closed-gap", vec!["Patient/a"]),
        ("practitioner=dr1&organization=org1", "open-gap", vec![]),
        ("practitioner=nobody", "open-gap", vec![]),
    ];
    for (filter, status, expected) in cases {
        let (code, answer) = get(&app, &ask(filter, status)).await;
        assert_eq!(code, StatusCode::OK, "{filter}: {answer}");
        assert_eq!(gap_patients(&answer), expected, "{filter} {status}");
    }
    // c's evaluation fails: the others are still answered, and the failure is reported.
    let (code, answer) = get(&app, &ask("subjectGroup=Group/all", "open-gap")).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(gap_patients(&answer), ["Patient/b"]);
    let outcome = answer["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "outcome")
        .expect("an outcome parameter");
    assert_eq!(outcome["resource"]["issue"][0]["severity"], "error");
    let (code, answer) = get(&app, &ask("subject=Patient/a&practitioner=dr1", "open-gap")).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["resourceType"], "OperationOutcome");
    let (code, answer) = get(
        &app,
        &format!("/Measure/$care-gaps?{PERIOD}&measureId=gaps&status=open-gap"),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{answer}");
}

#[tokio::test]
async fn care_gaps_select_measures_by_program() {
    let app = setup(Some("MIPS")).await;
    let (code, answer) = get(
        &app,
        &format!("/Measure/$care-gaps?{PERIOD}&program=MIPS&subject=Patient/b&status=open-gap"),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(gap_patients(&answer), ["Patient/b"]);
    let (code, answer) = get(
        &app,
        &format!("/Measure/$care-gaps?{PERIOD}&program=Other&subject=Patient/b&status=open-gap"),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{answer}");

    // No Measure declares a program: the parameter is ignored with a warning.
    let app = setup(None).await;
    let (code, answer) = get(&app, &format!(
        "/Measure/$care-gaps?{PERIOD}&program=MIPS&measureId=gaps&subject=Patient/b&status=open-gap")).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(gap_patients(&answer), ["Patient/b"]);
    let outcome = answer["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "outcome")
        .expect("an outcome parameter");
    assert_eq!(outcome["resource"]["issue"][0]["severity"], "warning");
    let (code, _) = get(
        &app,
        &format!("/Measure/$care-gaps?{PERIOD}&program=MIPS&subject=Patient/b&status=open-gap"),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}
