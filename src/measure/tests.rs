//! End-to-end tests of the engine on a small hand-written ELM library, and
//! unit tests of the CQL value semantics.

use base64::Engine as _;
use serde_json::json;

use super::datetime::{DateTime, Precision};
use super::library::{add_resource, Content};
use super::value::{equal, equivalent, Value};
use super::{Engine, MeasureError, PatientRecord, Period};

pub(super) fn lit_int(v: i64) -> serde_json::Value {
    json!({"type": "Literal", "valueType": "{urn:hl7-org:elm-types:r1}Integer", "value": v.to_string()})
}

pub(super) fn lit_str(v: &str) -> serde_json::Value {
    json!({"type": "Literal", "valueType": "{urn:hl7-org:elm-types:r1}String", "value": v})
}

pub(super) fn prop(path: &str, source: serde_json::Value) -> serde_json::Value {
    json!({"type": "Property", "path": path, "source": source})
}

fn mini_elm(extra: Vec<serde_json::Value>) -> serde_json::Value {
    let period = |p: &str| {
        json!({"type": "Interval", "lowClosed": true, "highClosed": true,
            "low": prop("value", prop("start", json!({"type": "OperandRef", "name": p}))),
            "high": prop("value", prop("end", json!({"type": "OperandRef", "name": p})))})
    };
    let visits = json!({"type": "Query",
        "source": [{"alias": "E", "expression": {"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Encounter",
            "codeProperty": "type", "codeComparator": "in", "codes": {"type": "ValueSetRef", "name": "Visits"}}}],
        "relationship": [],
        "where": {"type": "IncludedIn", "precision": "Day", "operand": [
            {"type": "FunctionRef", "name": "PeriodInterval", "operand": [prop("period", json!({"type": "AliasRef", "name": "E"}))]},
            {"type": "ParameterRef", "name": "Measurement Period"}]}});
    let age = json!({"type": "CalculateAgeAt", "precision": "Year", "operand": [
        prop("value", prop("birthDate", json!({"type": "ExpressionRef", "name": "Patient"}))),
        {"type": "DateFrom", "operand": {"type": "End", "operand": {"type": "ParameterRef", "name": "Measurement Period"}}}]});
    let mut defs = vec![
        json!({"name": "Patient", "context": "Patient", "expression": {"type": "SingletonFrom",
            "operand": {"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Patient"}}}),
        json!({"name": "PeriodInterval", "type": "FunctionDef", "context": "Patient",
            "operand": [{"name": "p", "operandTypeSpecifier": {"type": "NamedTypeSpecifier", "name": "{http://hl7.org/fhir}Period"}}],
            "expression": period("p")}),
        json!({"name": "Qualifying Visits", "context": "Patient", "expression": visits}),
        json!({"name": "Initial Population", "context": "Patient", "expression": {"type": "And", "operand": [
            {"type": "GreaterOrEqual", "operand": [age, lit_int(18)]},
            {"type": "Exists", "operand": {"type": "ExpressionRef", "name": "Qualifying Visits"}}]}}),
        json!({"name": "Numerator", "context": "Patient", "expression": {"type": "Exists", "operand": {"type": "Query",
            "source": [{"alias": "V", "expression": {"type": "ExpressionRef", "name": "Qualifying Visits"}}],
            "where": {"type": "Equal", "operand": [prop("value", prop("status", json!({"type": "AliasRef", "name": "V"}))), lit_str("finished")]}}}}),
    ];
    defs.extend(extra);
    json!({"library": {
        "identifier": {"id": "Mini", "version": "1.0.0"},
        "includes": {"def": [{"localIdentifier": "FHIRHelpers",
            "path": "http://example.org/FHIRHelpers", "version": "4.4.000"}]},
        "parameters": {"def": [{"name": "Measurement Period", "accessLevel": "Public"}]},
        "valueSets": {"def": [{"name": "Visits", "id": "http://example.org/vs/visits"}]},
        "codeSystems": {"def": [{"name": "EX", "id": "http://example.org/cs", "version": "1"}]},
        "statements": {"def": defs}}})
}

pub(super) fn engine(extra: Vec<serde_json::Value>) -> Engine {
    engine_with(extra, |_| {})
}

/// `engine`, with the Measure resource adjusted by `measure`.
pub(super) fn engine_with(
    extra: Vec<serde_json::Value>,
    measure: impl FnOnce(&mut serde_json::Value),
) -> Engine {
    engine_from(extra, stub_helpers(), measure)
}

/// `engine_with`, with `helpers` as the FHIRHelpers Library resource.
pub(super) fn engine_from(
    extra: Vec<serde_json::Value>,
    helpers: serde_json::Value,
    measure: impl FnOnce(&mut serde_json::Value),
) -> Engine {
    let mut content = Content::default();
    for r in content_resources_from(extra, helpers, measure) {
        if let Err(e) = add_resource(&mut content, r) {
            panic!("bad test content: {e}");
        }
    }
    Engine::from_content(content)
}

/// A FHIRHelpers Library that only declares its external functions, as the real one does.
fn stub_helpers() -> serde_json::Value {
    let helpers = json!({"library": {"identifier": {"id": "FHIRHelpers", "version": "4.4.000"},
        "statements": {"def": [{"name": "resolve", "type": "FunctionDef", "external": true, "context": "Patient",
            "operand": [{"name": "reference", "operandTypeSpecifier":
                {"type": "NamedTypeSpecifier", "name": "{http://hl7.org/fhir}Reference"}}]},
            {"name": "conformsTo", "type": "FunctionDef", "external": true, "context": "Patient",
            "operand": [{"name": "resource", "operandTypeSpecifier":
                {"type": "NamedTypeSpecifier", "name": "{http://hl7.org/fhir}Resource"}},
                {"name": "structure", "operandTypeSpecifier":
                {"type": "NamedTypeSpecifier", "name": "{urn:hl7-org:elm-types:r1}String"}}]}]}}});
    let helpers = base64::engine::general_purpose::STANDARD.encode(helpers.to_string());
    json!({"resourceType": "Library", "url": "http://example.org/Library/FHIRHelpers", "name": "FHIRHelpers",
        "content": [{"contentType": "application/elm+json", "data": helpers}]})
}

/// The Library, ValueSet and Measure resources `engine_with` loads.
pub(super) fn content_resources(
    extra: Vec<serde_json::Value>,
    measure: impl FnOnce(&mut serde_json::Value),
) -> [serde_json::Value; 4] {
    content_resources_from(extra, stub_helpers(), measure)
}

fn content_resources_from(
    extra: Vec<serde_json::Value>,
    helpers: serde_json::Value,
    measure: impl FnOnce(&mut serde_json::Value),
) -> [serde_json::Value; 4] {
    // Every extra definition is a supplemental expression, so tests can
    // evaluate it with `evaluate_expression`.
    let sde: Vec<serde_json::Value> = extra
        .iter()
        .filter_map(|d| d.get("name"))
        .map(|e| json!({"criteria": {"expression": e}}))
        .collect();
    let elm = base64::engine::general_purpose::STANDARD.encode(mini_elm(extra).to_string());
    let resources = [
        helpers,
        json!({"resourceType": "Library", "url": "http://example.org/Library/Mini", "name": "Mini", "version": "1.0.0",
            "content": [{"contentType": "application/elm+json", "data": elm}]}),
        json!({"resourceType": "ValueSet", "url": "http://example.org/vs/visits",
            "expansion": {"contains": [{"system": "http://example.org/cs", "code": "office"}]}}),
        json!({"resourceType": "Measure", "name": "MiniMeasure", "url": "http://example.org/Measure/Mini",
            "library": ["http://example.org/Library/Mini"],
            "group": [{"population": [
                {"code": {"coding": [{"code": "initial-population"}]}, "criteria": {"expression": "Initial Population"}},
                {"code": {"coding": [{"code": "denominator"}]}, "criteria": {"expression": "Initial Population"}},
                {"code": {"coding": [{"code": "numerator"}]}, "criteria": {"expression": "Numerator"}}]}],
            "supplementalData": sde}),
    ];
    let mut resources = resources;
    measure(&mut resources[3]);
    resources
}

pub(super) fn patient(birth: &str, visits: &[(&str, &str, &str)]) -> PatientRecord {
    let mut res = vec![json!({"resourceType": "Patient", "id": "p1", "birthDate": birth})];
    for (i, (code, start, status)) in visits.iter().enumerate() {
        res.push(
            json!({"resourceType": "Encounter", "id": format!("e{i}"), "status": status,
            "type": [{"coding": [{"system": "http://example.org/cs", "code": code}]}],
            "subject": {"reference": "Patient/p1"},
            "period": {"start": start, "end": start}}),
        );
    }
    PatientRecord::new(res)
}

fn counts(engine: &Engine, p: &PatientRecord) -> Vec<i64> {
    let m = engine
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("compile: {e}"));
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    let r = m
        .evaluate(p, &period)
        .unwrap_or_else(|e| panic!("evaluate: {e}"));
    r[0].counts.iter().map(|(_, n)| *n).collect()
}

#[test]
fn evaluates_populations_from_elm() {
    let e = engine(Vec::new());
    assert_eq!(
        counts(
            &e,
            &patient(
                "1980-05-01",
                &[("office", "2025-03-01T10:00:00Z", "finished")]
            )
        ),
        [1, 1, 1]
    );
    // Visit outside the measurement period, or with a code outside the value set.
    assert_eq!(
        counts(
            &e,
            &patient("1980-05-01", &[("office", "2024-12-31", "finished")])
        ),
        [0, 0, 0]
    );
    assert_eq!(
        counts(
            &e,
            &patient("1980-05-01", &[("home", "2025-03-01", "finished")])
        ),
        [0, 0, 0]
    );
    // Too young at the end of the period (turns 18 on 2026-01-01).
    assert_eq!(
        counts(
            &e,
            &patient("2008-01-01", &[("office", "2025-03-01", "finished")])
        ),
        [0, 0, 0]
    );
    assert_eq!(
        counts(
            &e,
            &patient("2007-12-31", &[("office", "2025-03-01", "finished")])
        ),
        [1, 1, 1]
    );
    // In the denominator but not the numerator.
    assert_eq!(
        counts(
            &e,
            &patient("1980-05-01", &[("office", "2025-03-01", "in-progress")])
        ),
        [1, 1, 0]
    );
}

#[test]
fn unsupported_elm_is_reported_with_its_location() {
    let e = engine(vec![json!({"name": "Numerator", "context": "Patient",
        "expression": {"type": "Search", "path": "code"}})]);
    // The duplicate "Numerator" definition shadows the first one.
    match e.compile_measure("MiniMeasure") {
        Err(MeasureError::Unsupported {
            what,
            library,
            expression,
        }) => {
            assert!(what.contains("Search"), "{what}");
            assert_eq!(library, "Mini");
            assert_eq!(expression, "Numerator");
        }
        other => panic!("expected an unsupported-node error, got {other:?}"),
    }
}

pub(super) fn dt(s: &str) -> DateTime {
    DateTime::parse(s).unwrap_or_else(|| panic!("bad datetime {s}"))
}

#[test]
fn datetime_comparison_respects_precision_and_offsets() {
    use std::cmp::Ordering::*;
    assert_eq!(
        dt("2025-03-01").compare(&dt("2025-03-01T10:00:00Z"), None),
        None
    );
    assert_eq!(
        dt("2025-03-01").compare(&dt("2025-03-01T10:00:00Z"), Some(Precision::Day)),
        Some(Equal)
    );
    assert_eq!(
        dt("2025-03-01").compare(&dt("2025-04-01T10:00:00Z"), None),
        Some(Less)
    );
    // 23:30 at -05:00 is 04:30 UTC the next day.
    assert_eq!(
        dt("2025-12-31T23:30:00-05:00").compare(&dt("2026-01-01T04:30:00Z"), None),
        Some(Equal)
    );
    assert_eq!(
        dt("2025-12-31T23:30:00-05:00").compare(&dt("2025-12-31T23:59:59.999Z"), None),
        Some(Greater)
    );
}

#[test]
fn datetime_arithmetic_clamps_month_ends() {
    let d = dt("2024-01-31")
        .add(1, Precision::Month)
        .map(|d| d.format(true));
    assert_eq!(d.as_deref(), Some("2024-02-29"));
    let d = dt("2025-12-31T23:00:00Z")
        .add(2, Precision::Hour)
        .map(|d| d.format(false));
    assert_eq!(d.as_deref(), Some("2026-01-01T01:00:00Z"));
    assert_eq!(
        super::ops2::duration(&dt("2000-02-29"), &dt("2025-02-28"), Precision::Year),
        Some(24)
    );
    assert_eq!(
        super::ops2::duration(&dt("2000-02-29"), &dt("2025-03-01"), Precision::Year),
        Some(25)
    );
}

#[test]
fn three_valued_equality_and_equivalence() {
    let s = Value::str;
    assert_eq!(equal(&s("a"), &Value::Null), None);
    assert!(equivalent(&Value::Null, &Value::Null));
    assert!(equivalent(&s("Hello  World"), &s("hello world")));
    assert_eq!(equal(&Value::Int(1), &Value::Dec(1.0)), Some(true));
    let q = |v: f64, u: &str| {
        Value::Quantity(super::value::Quantity {
            value: v,
            unit: u.into(),
        })
    };
    assert_eq!(equal(&q(1.0, "g"), &q(1000.0, "mg")), Some(true));
    assert_eq!(
        super::value::compare(&q(139.0, "mm[Hg]"), &q(140.0, "mm[Hg]")),
        Some(std::cmp::Ordering::Less)
    );
}

#[test]
fn interval_relations_follow_closed_null_semantics() {
    use super::interval::relate;
    use super::node::Op2;
    let d = |s: &str| Value::DateTime(dt(s));
    let mp = Value::interval(
        d("2025-01-01T00:00:00.000Z"),
        d("2025-12-31T23:59:59.999Z"),
        true,
        true,
    );
    // A closed null end means "still ongoing": it overlaps everything after its start.
    let ongoing = Value::interval(d("2020-01-01"), Value::Null, true, true);
    assert_eq!(relate(Op2::Overlaps, &ongoing, &mp, None), Some(true));
    // An open null start is unknown.
    let unknown_start = Value::interval(Value::Null, d("2025-06-01"), false, true);
    assert_eq!(relate(Op2::IncludedIn, &unknown_start, &mp, None), None);
    let before = Value::interval(d("2024-01-01"), d("2024-12-31"), true, true);
    assert_eq!(
        relate(Op2::Before, &before, &mp, Some(Precision::Day)),
        Some(true)
    );
    assert_eq!(
        relate(Op2::Overlaps, &before, &mp, Some(Precision::Day)),
        Some(false)
    );
}

#[test]
fn population_run_builds_a_summary_report() {
    let e = engine(Vec::new());
    let m = e
        .compile_measure("http://example.org/Measure/Mini")
        .unwrap_or_else(|e| panic!("{e}"));
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    let patients = vec![
        patient("1980-05-01", &[("office", "2025-03-01", "finished")]),
        patient("1980-05-01", &[("office", "2025-03-01", "planned")]),
        patient("2015-05-01", &[("office", "2025-03-01", "finished")]),
    ];
    let results: Vec<_> = m
        .evaluate_all(&patients, &period)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let report = super::report::summary(&m, &period, &results);
    let counts: Vec<i64> = report["group"][0]["population"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["count"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(counts, [2, 2, 1]);
    assert_eq!(
        report["group"][0]["measureScore"]["value"].as_f64(),
        Some(0.5)
    );
    assert_eq!(report["type"], "summary");
}

fn group(codes: &[&str], boolean: bool, scoring: &str) -> super::program::Group {
    super::program::Group {
        id: None,
        populations: codes
            .iter()
            .map(|c| super::program::Population {
                id: None,
                code: (*c).to_owned(),
                expression: String::new(),
                def: 0,
                criteria_reference: None,
            })
            .collect(),
        stratifiers: Vec::new(),
        observations: Vec::new(),
        boolean_basis: boolean,
        scoring: scoring.to_owned(),
    }
}

#[test]
fn episode_populations_are_nested_and_exclusions_remove_members() {
    let g = group(
        &[
            "initial-population",
            "denominator",
            "denominator-exclusion",
            "numerator",
        ],
        false,
        "proportion",
    );
    let (a, b, c) = (
        Value::str("enc-a"),
        Value::str("enc-b"),
        Value::str("enc-c"),
    );
    let raw = vec![
        Value::list(vec![a.clone(), b.clone(), c.clone()]),
        Value::list(vec![a.clone(), b.clone()]),
        Value::list(vec![b.clone()]),
        // c is not in the denominator and b is excluded: only a counts.
        Value::list(vec![a, b, c]),
    ];
    let counts: Vec<i64> = super::scoring::counts(&g, &raw)
        .iter()
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(counts, [3, 2, 1, 1]);
}

#[test]
fn ratio_numerator_comes_from_the_initial_population() {
    let codes = [
        "initial-population",
        "denominator",
        "denominator-exclusion",
        "numerator",
    ];
    let raw = [
        Value::Bool(true),
        Value::Bool(true),
        Value::Bool(true),
        Value::Bool(true),
    ];
    let count = |scoring: &str| -> Vec<i64> {
        super::scoring::counts(&group(&codes, true, scoring), &raw)
            .iter()
            .map(|(_, n)| *n)
            .collect()
    };
    assert_eq!(count("proportion"), [1, 1, 1, 0]);
    assert_eq!(count("ratio"), [1, 1, 1, 1]);
}

#[test]
fn care_gaps_follow_improvement_notation() {
    let e = engine(Vec::new());
    let m = e
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.improvement_notation, "increase");
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    let eval = |p: &PatientRecord| m.evaluate(p, &period).unwrap_or_else(|e| panic!("{e}"));
    let open = eval(&patient(
        "1980-05-01",
        &[("office", "2025-03-01", "planned")],
    ));
    let closed = eval(&patient(
        "1980-05-01",
        &[("office", "2025-03-01", "finished")],
    ));
    let ineligible = eval(&patient(
        "2015-05-01",
        &[("office", "2025-03-01", "planned")],
    ));
    assert!(open[0].care_gap(true));
    assert!(!closed[0].care_gap(true));
    assert!(closed[0].care_gap(false));
    assert!(!ineligible[0].care_gap(true));
}

pub(super) fn list(items: Vec<serde_json::Value>) -> serde_json::Value {
    json!({"type": "List", "element": items})
}

pub(super) fn alias(name: &str) -> serde_json::Value {
    json!({"type": "AliasRef", "name": name})
}

#[test]
fn queries_sort_aggregate_let_and_without() {
    let ints = |v: &[i64]| list(v.iter().map(|i| lit_int(*i)).collect());
    let visit_dates = json!({"name": "Visit Dates", "context": "Patient", "expression": {"type": "Query",
        "source": [{"alias": "V", "expression": {"type": "ExpressionRef", "name": "Qualifying Visits"}}],
        "return": {"expression": {"type": "DateFrom", "operand": {"type": "Start", "operand":
            {"type": "FunctionRef", "name": "PeriodInterval", "operand": [prop("period", alias("V"))]}}}},
        "sort": {"by": [{"type": "ByDirection", "direction": "desc"}]}}});
    let sum = json!({"name": "Sum", "context": "Patient", "expression": {"type": "Query",
        "source": [{"alias": "N", "expression": ints(&[1, 2, 3, 4])}],
        "aggregate": {"identifier": "R", "distinct": false, "starting": lit_int(0),
            "expression": {"type": "Add", "operand": [alias("R"), alias("N")]}}}});
    let pairs = json!({"name": "Pairs", "context": "Patient", "expression": {"type": "Query",
        "source": [{"alias": "A", "expression": ints(&[1, 2])}, {"alias": "B", "expression": ints(&[10, 20])}],
        "let": [{"identifier": "S", "expression": {"type": "Add", "operand": [alias("A"), alias("B")]}}],
        "where": {"type": "Greater", "operand": [{"type": "QueryLetRef", "name": "S"}, lit_int(11)]},
        "return": {"expression": {"type": "QueryLetRef", "name": "S"}}}});
    let unmatched = json!({"name": "Unmatched", "context": "Patient", "expression": {"type": "Query",
        "source": [{"alias": "A", "expression": ints(&[1, 2, 3, 2])}],
        "relationship": [{"type": "Without", "alias": "B", "expression": ints(&[2]),
            "suchThat": {"type": "Equal", "operand": [alias("A"), alias("B")]}}]}});
    // A null single source still yields one row (CQMCommon's hospitalization() relies on it).
    let null_source = json!({"name": "Null Source", "context": "Patient", "expression": {"type": "Query",
        "source": [{"alias": "X", "expression": {"type": "Null"}}],
        "return": {"expression": {"type": "If", "condition": {"type": "IsNull", "operand": alias("X")},
            "then": lit_int(1), "else": lit_int(2)}}}});
    let subject_id = json!({"name": "Subject Id", "context": "Patient", "expression":
        prop("value", prop("id", json!({"type": "FunctionRef", "libraryName": "FHIRHelpers", "name": "resolve",
            "operand": [prop("subject", json!({"type": "First", "source":
                {"type": "ExpressionRef", "name": "Qualifying Visits"}}))]})))});
    let converts = json!({"name": "Converts", "context": "Patient", "expression": list(vec![
        json!({"type": "ConvertsToInteger", "operand": lit_str("12")}),
        json!({"type": "ConvertsToInteger", "operand": lit_str("twelve")}),
        json!({"type": "ConvertsToDate", "operand": lit_str("2025-02-30")}),
    ])});
    let e = engine(vec![
        visit_dates,
        sum,
        pairs,
        unmatched,
        null_source,
        subject_id,
        converts,
    ]);
    let m = e
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    let p = patient(
        "1980-05-01",
        &[
            ("office", "2025-03-01T10:00:00Z", "finished"),
            ("office", "2025-07-01", "finished"),
            ("office", "2025-03-01T16:00:00Z", "finished"),
        ],
    );
    let eval = |name: &str| {
        m.evaluate_expression(&p, &period, name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    // Distinct dates, latest first.
    assert_eq!(eval("Visit Dates"), json!(["2025-07-01", "2025-03-01"]));
    assert_eq!(eval("Sum"), json!(10));
    assert_eq!(eval("Pairs"), json!([21, 12, 22]));
    // Without keeps duplicates of unmatched rows only (no return clause: no distinct).
    assert_eq!(eval("Unmatched"), json!([1, 3]));
    assert_eq!(eval("Null Source"), json!(1));
    // FHIRHelpers.resolve is external in the ELM and runs natively over the patient's data.
    assert_eq!(eval("Subject Id"), json!("p1"));
    assert_eq!(eval("Converts"), json!([true, false, false]));
}

#[test]
fn compiled_measures_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<super::CompiledMeasure>();
    assert_send_sync::<PatientRecord>();
}

#[test]
fn collapse_per_day_merges_adjacent_days() {
    use super::interval::collapse_per;
    use super::value::Interval;
    let iv = |a: &str, b: &str| Interval {
        low: Value::DateTime(dt(a)),
        high: Value::DateTime(dt(b)),
        low_closed: true,
        high_closed: true,
    };
    let items = vec![
        iv("2025-01-06T08:00:00Z", "2025-01-08T00:00:00Z"),
        iv("2025-01-01T10:00:00Z", "2025-01-05T10:00:00Z"),
    ];
    assert_eq!(collapse_per(items.clone(), None).len(), 2);
    let merged = collapse_per(items, Some(Precision::Day));
    assert_eq!(merged.len(), 1);
    assert!(
        matches!(&merged[0].high, Value::DateTime(d) if d.format(false) == "2025-01-08T00:00:00Z")
    );
}

#[test]
fn extreme_arithmetic_yields_null_not_a_panic() {
    assert!(dt("2025-01-01T00:00:00Z")
        .add(i64::MAX, Precision::Hour)
        .is_none());
    assert!(dt("2025-01-01").add(i64::MIN, Precision::Day).is_none());
    assert!(dt("9999-12-31").add(1, Precision::Day).is_none());
    let min = Value::Int(i64::MIN);
    assert!(
        super::ops2::arith(super::node::Op2::TruncatedDivide, &min, &Value::Int(-1))
            .is_ok_and(|v| v.is_null())
    );
    assert!(
        super::ops2::arith(super::node::Op2::Modulo, &Value::Int(5), &Value::Int(0))
            .is_ok_and(|v| v.is_null())
    );
}

#[test]
fn vital_signs_profile_retrieves_keep_only_the_profile_code() {
    // `["observation-bp"]` as CMS165 writes it: no code filter in the ELM.
    let ids = |name: &str, template: &str| {
        json!({"name": name, "context": "Patient", "expression": {"type": "Query",
            "source": [{"alias": "O", "expression": {"type": "Retrieve",
                "dataType": "{http://hl7.org/fhir}Observation", "templateId": template}}],
            "return": {"expression": prop("value", prop("id", alias("O")))},
            "sort": {"by": [{"type": "ByDirection", "direction": "asc"}]}}})
    };
    let e = engine(vec![
        ids(
            "Blood Pressures",
            "http://hl7.org/fhir/StructureDefinition/bp",
        ),
        ids(
            "Observations",
            "http://hl7.org/fhir/StructureDefinition/Observation",
        ),
    ]);
    let m = e
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let obs = |id: &str, code: &str| {
        json!({"resourceType": "Observation", "id": id, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2025-03-01"})
    };
    let p = PatientRecord::new([
        json!({"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01"}),
        obs("bmi", "39156-5"),
        obs("bp", "85354-9"),
        obs("pulse", "8867-4"),
    ]);
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    let eval = |name: &str| {
        m.evaluate_expression(&p, &period, name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    // Untagged data (no `meta.profile`) conforms to the BP profile only by its code.
    assert_eq!(eval("Blood Pressures"), json!(["bp"]));
    assert_eq!(eval("Observations"), json!(["bmi", "bp", "pulse"]));
}
