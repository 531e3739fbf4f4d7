//! `$evaluate-measure` with `parameters`: CQL parameter values posted as a Parameters
//! resource reach the measure's library, and wrong ones are refused with a 400 that says
//! what to fix.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_outcome, spawn_app, status_and_json, TestApp};
use crate::search_support::put_all;

const SYS: &str = "{urn:hl7-org:elm-types:r1}";
const MEASURE: &str = "Measure/visits/$evaluate-measure";

fn prop(path: &str, source: Value) -> Value {
    json!({"type": "Property", "path": path, "source": source})
}

fn literal(ty: &str, value: &str) -> Value {
    json!({"type": "Literal", "valueType": format!("{SYS}{ty}"), "value": value})
}

/// ELM for: Initial Population = Count(encounters with status "Wanted Status") >=
/// "Minimum Visits"; Numerator = Initial Population. Both parameters have defaults
/// ("finished", 1).
fn library() -> Value {
    let wanted = json!({"type": "Query",
        "source": [{"alias": "E", "expression": {"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Encounter"}}],
        "where": {"type": "Equal", "operand": [
            prop("value", prop("status", json!({"type": "AliasRef", "name": "E"}))),
            {"type": "ParameterRef", "name": "Wanted Status"}]}});
    let named = |ty: &str| json!({"type": "NamedTypeSpecifier", "name": format!("{SYS}{ty}")});
    let def = |name: &str, expression: Value| json!({"name": name, "context": "Patient", "expression": expression});
    let elm = json!({"library": {
    "identifier": {"id": "Visits", "version": "1.0.0"},
    "parameters": {"def": [
        {"name": "Measurement Period", "parameterTypeSpecifier":
            {"type": "IntervalTypeSpecifier", "pointType": named("DateTime")}},
        {"name": "Minimum Visits", "parameterTypeSpecifier": named("Integer"),
            "default": literal("Integer", "1")},
        {"name": "Wanted Status", "parameterTypeSpecifier": named("String"),
            "default": literal("String", "finished")}]},
    "statements": {"def": [
        def("Initial Population", json!({"type": "GreaterOrEqual", "operand": [
            {"type": "Count", "source": wanted},
            {"type": "ParameterRef", "name": "Minimum Visits"}]})),
        def("Numerator", json!({"type": "ExpressionRef", "name": "Initial Population"})),
    ]}}});
    json!({"resourceType": "Library", "id": "visits", "url": "http://example.org/Library/Visits",
        "name": "Visits", "version": "1.0.0", "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
        "content": [{"contentType": "application/elm+json",
            "data": base64::engine::general_purpose::STANDARD.encode(elm.to_string())}]})
}

fn measure() -> Value {
    let pop = |code: &str, expr: &str| {
        json!({
        "code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-population", "code": code}]},
        "criteria": {"language": "text/cql-identifier", "expression": expr}})
    };
    json!({"resourceType": "Measure", "id": "visits", "url": "http://example.org/Measure/Visits",
        "name": "Visits", "status": "active", "library": ["http://example.org/Library/Visits"],
        "scoring": {"coding": [{"code": "proportion"}]},
        "group": [{"population": [pop("initial-population", "Initial Population"),
            pop("denominator", "Initial Population"), pop("numerator", "Numerator")]}]})
}

/// Patient p has two finished visits and one planned one.
async fn setup() -> TestApp {
    let app = spawn_app().await;
    let mut resources = vec![
        library(),
        measure(),
        json!({"resourceType": "Patient", "id": "p"}),
    ];
    for (i, status) in ["finished", "finished", "planned"].iter().enumerate() {
        resources.push(
            json!({"resourceType": "Encounter", "id": format!("e{i}"), "status": status,
            "class": {"code": "AMB"}, "subject": {"reference": "Patient/p"},
            "period": {"start": "2025-03-01", "end": "2025-03-01"}}),
        );
    }
    put_all(&app, &resources).await;
    app
}

/// The operation's body: the period, `extra` parameters, and `cql` as `parameters`.
fn body(cql: Option<Vec<Value>>, extra: Vec<Value>) -> Value {
    let mut parameter = vec![
        json!({"name": "periodStart", "valueDate": "2025-01-01"}),
        json!({"name": "periodEnd", "valueDate": "2025-12-31"}),
        json!({"name": "subject", "valueString": "Patient/p"}),
    ];
    parameter.extend(extra);
    if let Some(cql) = cql {
        parameter.push(json!({"name": "parameters",
            "resource": {"resourceType": "Parameters", "parameter": cql}}));
    }
    json!({"resourceType": "Parameters", "parameter": parameter})
}

async fn initial_population(app: &TestApp, path: &str, body: &Value) -> i64 {
    let (status, report) = status_and_json(app.post(path, body).await).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report["group"][0]["population"][0]["code"]["coding"][0]["code"],
        "initial-population"
    );
    report["group"][0]["population"][0]["count"]
        .as_i64()
        .unwrap_or(-1)
}

#[tokio::test]
async fn parameters_reach_the_library_on_instance_and_type_level() {
    let app = setup().await;
    // Defaults: two finished visits, at least one wanted.
    assert_eq!(
        initial_population(&app, MEASURE, &body(None, vec![])).await,
        1
    );
    let three = json!({"name": "Minimum Visits", "valueInteger": 3});
    assert_eq!(
        initial_population(&app, MEASURE, &body(Some(vec![three]), vec![])).await,
        0
    );
    let planned = json!({"name": "Wanted Status", "valueString": "planned"});
    assert_eq!(
        initial_population(&app, MEASURE, &body(Some(vec![planned.clone()]), vec![])).await,
        1
    );
    let two = json!({"name": "Minimum Visits", "valueInteger": 2});
    let by_url = json!({"name": "measure", "valueCanonical": "http://example.org/Measure/Visits"});
    assert_eq!(
        initial_population(
            &app,
            "Measure/$evaluate-measure",
            &body(Some(vec![planned, two]), vec![by_url])
        )
        .await,
        0
    );
    // A population report binds them for every patient too.
    let mut everyone = body(
        Some(vec![json!({"name": "Minimum Visits", "valueInteger": 3})]),
        vec![],
    );
    if let Some(list) = everyone["parameter"].as_array_mut() {
        list.retain(|p| p["name"] != "subject");
    }
    assert_eq!(initial_population(&app, MEASURE, &everyone).await, 0);
    everyone["parameter"][2]["resource"]["parameter"][0]["valueInteger"] = json!(2);
    assert_eq!(initial_population(&app, MEASURE, &everyone).await, 1);
}

#[tokio::test]
async fn wrong_parameters_are_refused_with_what_to_fix() {
    let app = setup().await;
    let cases = [
        (
            vec![json!({"name": "Minimum Vists", "valueInteger": 2})],
            "has no parameter 'Minimum Vists' (it declares: Minimum Visits, Wanted Status)",
        ),
        (
            vec![json!({"name": "Measurement Period", "valuePeriod":
                {"start": "2024-01-01", "end": "2024-12-31"}})],
            "set it with periodStart and periodEnd",
        ),
        (
            vec![
                json!({"name": "Minimum Visits", "valueInteger": 2}),
                json!({"name": "Minimum Visits", "valueInteger": 3}),
            ],
            "'Minimum Visits' is given more than once",
        ),
        (
            vec![json!({"name": "Minimum Visits", "valueString": "two"})],
            "'Minimum Visits' is a CQL Integer; valueString does not convert to it (give valueInteger)",
        ),
    ];
    for (cql, needle) in cases {
        let response = app.post(MEASURE, &body(Some(cql), vec![])).await;
        assert_outcome(response, StatusCode::BAD_REQUEST, needle).await;
    }
    // `parameters` must be a resource, and only one.
    let response = app
        .post(
            MEASURE,
            &body(
                None,
                vec![json!({"name": "parameters", "valueString": "x"})],
            ),
        )
        .await;
    assert_outcome(
        response,
        StatusCode::BAD_REQUEST,
        "must be a Parameters resource",
    )
    .await;
    let twice = json!({"name": "parameters", "resource": {"resourceType": "Parameters"}});
    let response = app.post(MEASURE, &body(Some(vec![]), vec![twice])).await;
    assert_outcome(response, StatusCode::BAD_REQUEST, "may be given only once").await;
}

#[test]
fn measure_eval_takes_a_parameters_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let content = dir.path().join("content");
    for (folder, resource) in [("libraries", library()), ("measures", measure())] {
        std::fs::create_dir_all(content.join(folder)).expect("folder");
        std::fs::write(content.join(folder).join("r.json"), resource.to_string()).expect("write");
    }
    let database = format!("sqlite:{}", dir.path().join("hearth.db").display());
    let hearth = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(args)
            .args(["--database-url", &database])
            .output()
            .expect("hearth runs")
    };
    let loaded = hearth(&["measure", "load", &content.display().to_string()]);
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let file = dir.path().join("parameters.json");
    let eval = |parameters: Value| {
        std::fs::write(&file, parameters.to_string()).expect("write");
        hearth(&[
            "measure",
            "eval",
            "--measure",
            "visits",
            "--period-start",
            "2025-01-01",
            "--period-end",
            "2025-12-31",
            "--parameters",
            &file.display().to_string(),
        ])
    };
    let good = eval(json!({"resourceType": "Parameters",
        "parameter": [{"name": "Minimum Visits", "valueInteger": 2}]}));
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let report: Value = serde_json::from_slice(&good.stdout).expect("a MeasureReport");
    assert_eq!(report["resourceType"], "MeasureReport");
    let bad = eval(json!({"resourceType": "Parameters",
        "parameter": [{"name": "Minimum Visits", "valueBoolean": true}]}));
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("'Minimum Visits' is a CQL Integer"),
        "{stderr}"
    );
}
