//! Measure observations, stratifier components and supplemental data in
//! MeasureReports, on the hand-written test library.

use serde_json::{json, Value as J};

use super::report;
use super::supplemental;
use super::tests::{alias, engine_with, patient, prop};
use super::{Period, Stratum};

const SYS: &str = "{urn:hl7-org:elm-types:r1}";

fn pop(code: &str, expr: &str) -> J {
    json!({"code": {"coding": [{"code": code}]}, "criteria": {"expression": expr}})
}

fn observation(expr: &str, method: &str, reference: Option<&str>) -> J {
    let mut ext = vec![
        json!({"url": "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-aggregateMethod",
        "valueCode": method}),
    ];
    if let Some(r) = reference {
        ext.push(json!({"url": "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-criteriaReference",
            "valueString": r}));
    }
    json!({"code": {"coding": [{"code": "measure-observation"}]}, "extension": ext,
        "criteria": {"expression": expr}})
}

/// Definitions shared by the tests: the day of month each visit started on,
/// the patient's gender and a fixed age band.
fn defs() -> Vec<J> {
    let start = json!({"type": "Start", "operand": {"type": "FunctionRef", "name": "PeriodInterval",
        "operand": [prop("period", alias("E"))]}});
    let patient = json!({"type": "ExpressionRef", "name": "Patient"});
    vec![
        json!({"name": "Visit Day", "type": "FunctionDef", "context": "Patient",
            "operand": [{"name": "E", "operandTypeSpecifier": {"type": "NamedTypeSpecifier", "name": "{http://hl7.org/fhir}Encounter"}}],
            "expression": {"type": "DateTimeComponentFrom", "precision": "Day", "operand": start}}),
        json!({"name": "Gender", "context": "Patient", "expression": prop("value", prop("gender", patient))}),
        json!({"name": "Band", "context": "Patient", "expression":
            {"type": "Literal", "valueType": format!("{SYS}String"), "value": "adult"}}),
        json!({"name": "SDE Sex", "context": "Patient", "expression":
            {"type": "Code", "code": "F", "system": {"name": "EX"}, "display": "Female"}}),
    ]
}

fn period() -> Period {
    Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn continuous_variable_observations_strata_and_supplemental_data() {
    let e = engine_with(defs(), |m| {
        m["scoring"] = json!({"coding": [{"code": "continuous-variable"}]});
        m["extension"] = json!([{"url": "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-populationBasis",
            "valueCode": "Encounter"}]);
        m["group"] = json!([{"id": "g1", "population": [
            pop("initial-population", "Qualifying Visits"),
            pop("measure-population", "Qualifying Visits"),
            observation("Visit Day", "median", None)],
            "stratifier": [
                {"id": "by-gender", "criteria": {"expression": "Gender"}},
                {"id": "gender-band", "component": [
                    {"code": {"text": "gender"}, "criteria": {"expression": "Gender"}},
                    {"code": {"text": "band"}, "criteria": {"expression": "Band"}}]}]}]);
        m["supplementalData"] = json!([{"id": "sde-sex", "criteria": {"expression": "SDE Sex"}}]);
    });
    let m = e
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("{e}"));
    let visits = [
        ("office", "2025-03-01", "finished"),
        ("office", "2025-03-05", "finished"),
        ("office", "2025-07-10", "finished"),
    ];
    let mut p1 = patient("1980-05-01", &visits);
    let r = m
        .evaluate_patient(&p1, &period())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.groups[0].observations, vec![vec![1.0, 5.0, 10.0]]);
    let ind = report::individual_with_data(&m, "p1", &period(), &r);
    let g = &ind["group"][0];
    assert_eq!(
        g["population"][2]["code"]["coding"][0]["code"],
        "measure-observation"
    );
    assert_eq!(g["population"][2]["count"], 3);
    assert_eq!(g["measureScore"]["value"], 5.0);
    // Gender is absent, so the stratum value is "null"; components carry their codes.
    assert_eq!(g["stratifier"][0]["stratum"][0]["value"]["text"], "null");
    assert_eq!(
        g["stratifier"][1]["stratum"][0]["component"],
        json!([{"code": {"text": "gender"}, "value": {"text": "null"}},
               {"code": {"text": "band"}, "value": {"text": "adult"}}])
    );
    assert_eq!(ind["contained"][0]["resourceType"], "Observation");
    assert_eq!(
        ind["contained"][0]["valueCodeableConcept"],
        json!({"coding": [{"code": "F", "system": "http://example.org/cs", "display": "Female"}]})
    );
    assert_eq!(
        ind["contained"][0]["extension"][0]["valueString"],
        "sde-sex"
    );
    assert_eq!(
        ind["extension"][0]["valueReference"]["reference"],
        "#sde-0-0"
    );

    // A second patient with one visit on day 20: the summary median is over all visits.
    let p2 = patient("1970-01-01", &[("office", "2025-02-20", "finished")]);
    let r2 = m
        .evaluate_patient(&p2, &period())
        .unwrap_or_else(|e| panic!("{e}"));
    let sum = report::summary(&m, &period(), &[r.groups.clone(), r2.groups.clone()]);
    assert_eq!(sum["group"][0]["population"][2]["count"], 4);
    assert_eq!(sum["group"][0]["measureScore"]["value"], 7.5);
    let mut tally = supplemental::Tally::new(m.sde.len());
    tally.add(&r.supplemental);
    tally.add(&r2.supplemental);
    // Outside every initial population: no supplemental data.
    p1 = patient("1980-05-01", &[]);
    let r3 = m
        .evaluate_patient(&p1, &period())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r3.supplemental, vec![Vec::<J>::new()]);
    tally.add(&r3.supplemental);
    let (contained, ext) = tally.render(&m);
    assert_eq!(contained.len(), 1);
    assert_eq!(contained[0]["valueInteger"], 2);
    assert_eq!(contained[0]["code"]["coding"][0]["code"], "F");
    assert_eq!(ext.len(), 1);
}

#[test]
fn ratio_score_divides_the_observation_aggregates() {
    // The numerator uses only the finished visits.
    let mut with_num = defs();
    with_num.push(json!({"name": "Numerator Visits", "context": "Patient", "expression": {"type": "Query",
        "source": [{"alias": "V", "expression": {"type": "ExpressionRef", "name": "Qualifying Visits"}}],
        "where": {"type": "Equal", "operand": [prop("value", prop("status", alias("V"))),
            {"type": "Literal", "valueType": format!("{SYS}String"), "value": "finished"}]}}}));
    let e = engine_with(with_num, |m| {
        m["scoring"] = json!({"coding": [{"code": "ratio"}]});
        m["extension"] = json!([{"url": "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-populationBasis",
            "valueCode": "Encounter"}]);
        let mut den = pop("denominator", "Qualifying Visits");
        den["id"] = json!("den");
        let mut num = pop("numerator", "Numerator Visits");
        num["id"] = json!("num");
        m["group"] = json!([{"population": [
            pop("initial-population", "Qualifying Visits"), den, num,
            observation("Visit Day", "sum", Some("num")),
            observation("Visit Day", "count", Some("den"))]}]);
    });
    let m = e
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("{e}"));
    let p = patient(
        "1980-05-01",
        &[
            ("office", "2025-03-02", "finished"),
            ("office", "2025-03-04", "finished"),
            ("office", "2025-03-09", "planned"),
        ],
    );
    let r = m
        .evaluate_patient(&p, &period())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.groups[0].observations,
        vec![vec![2.0, 4.0], vec![2.0, 4.0, 9.0]]
    );
    let ind = report::individual(&m, "p1", &period(), &r.groups);
    // (2 + 4) / 3 observations.
    assert_eq!(ind["group"][0]["measureScore"]["value"], 2.0);
}

#[test]
fn observations_must_name_a_population_and_a_known_method() {
    let e = engine_with(defs(), |m| {
        m["group"] = json!([{"population": [
            pop("initial-population", "Initial Population"),
            observation("Visit Day", "sum", Some("missing"))]}]);
    });
    let err = e
        .compile_measure("MiniMeasure")
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("criteriaReference missing")),
        "{err:?}"
    );
    let e = engine_with(defs(), |m| {
        m["group"] = json!([{"population": [
            pop("initial-population", "Initial Population"),
            pop("measure-population", "Initial Population"),
            observation("Visit Day", "mode", None)]}]);
    });
    let err = e
        .compile_measure("MiniMeasure")
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("aggregate method mode")),
        "{err:?}"
    );
}

#[test]
fn supplemental_values_flatten_codes_tuples_and_lists() {
    use super::value::{Code, Tuple, Value};
    use std::sync::Arc;
    let code = |c: &str| {
        Value::Code(Arc::new(Code {
            code: Arc::from(c),
            system: Some(Arc::from("urn:oid:2.16.840.1.113883.6.238")),
            version: None,
            display: None,
        }))
    };
    // SDE Race: {codes, display}; the same code twice is reported once.
    let race = Value::Tuple(Arc::new(Tuple {
        class: None,
        fields: vec![
            (
                Arc::from("codes"),
                Value::list(vec![code("2106-3"), code("2106-3"), code("1002-5")]),
            ),
            (Arc::from("display"), Value::str("White")),
        ],
    }));
    let coding =
        |c: &str| json!({"coding": [{"code": c, "system": "urn:oid:2.16.840.1.113883.6.238"}]});
    assert_eq!(
        supplemental::values(&Value::list(vec![race])),
        vec![coding("2106-3"), coding("1002-5")]
    );
    assert_eq!(
        supplemental::values(&Value::Int(3)),
        vec![json!({"text": "3"})]
    );
    assert!(supplemental::values(&Value::Null).is_empty());
}

#[test]
fn episode_based_stratifier_splits_the_episodes() {
    let status_is = |alias_name: &str, status: &str| {
        json!({"type": "Equal", "operand": [prop("value", prop("status", alias(alias_name))),
            {"type": "Literal", "valueType": format!("{SYS}String"), "value": status}]})
    };
    let mut d = defs();
    d.push(json!({"name": "Finished Visits", "context": "Patient", "expression": {"type": "Query",
        "source": [{"alias": "V", "expression": {"type": "ExpressionRef", "name": "Qualifying Visits"}}],
        "where": status_is("V", "finished")}}));
    // The stratifier returns the planned visits: the episodes in its stratum.
    d.push(json!({"name": "Planned Visits", "context": "Patient", "expression": {"type": "Query",
        "source": [{"alias": "V", "expression": {"type": "ExpressionRef", "name": "Qualifying Visits"}}],
        "where": status_is("V", "planned")}}));
    let e = engine_with(d, |m| {
        m["scoring"] = json!({"coding": [{"code": "proportion"}]});
        m["extension"] = json!([{"url": "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-populationBasis",
            "valueCode": "Encounter"}]);
        m["group"] = json!([{"population": [
            pop("initial-population", "Qualifying Visits"),
            pop("denominator", "Qualifying Visits"),
            pop("numerator", "Finished Visits")],
            "stratifier": [{"id": "planned", "criteria": {"expression": "Planned Visits"}},
                {"id": "gender", "criteria": {"expression": "Gender"}}]}]);
    });
    let m = e
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("{e}"));
    let p = patient(
        "1980-05-01",
        &[
            ("office", "2025-03-02", "finished"),
            ("office", "2025-03-04", "finished"),
            ("office", "2025-03-09", "planned"),
        ],
    );
    let r = m
        .evaluate_patient(&p, &period())
        .unwrap_or_else(|e| panic!("{e}"));
    let counts = |ip: i64, den: i64, num: i64| {
        vec![
            ("initial-population".to_owned(), ip),
            ("denominator".to_owned(), den),
            ("numerator".to_owned(), num),
        ]
    };
    assert_eq!(r.groups[0].counts, counts(3, 3, 2));
    let keyed = |strata: &[Stratum]| -> Vec<(String, Vec<(String, i64)>)> {
        strata
            .iter()
            .map(|s| (s.key.clone(), s.counts.clone()))
            .collect()
    };
    assert_eq!(
        keyed(&r.groups[0].strata[0].1),
        vec![
            ("true".to_owned(), counts(1, 1, 0)),
            ("false".to_owned(), counts(2, 2, 2))
        ]
    );
    // A value for the patient puts all of the patient's episodes in one stratum.
    assert_eq!(
        keyed(&r.groups[0].strata[1].1),
        vec![("null".to_owned(), counts(3, 3, 2))]
    );
    let ind = report::individual(&m, "p1", &period(), &r.groups);
    let strata = &ind["group"][0]["stratifier"][0]["stratum"];
    assert_eq!(strata[0]["value"]["text"], "true");
    assert_eq!(strata[0]["population"][0]["count"], 1);
    assert_eq!(strata[1]["value"]["text"], "false");
    assert_eq!(strata[1]["population"][2]["count"], 2);
    // Each stratum is scored on its own counts: 0 of 1, 2 of 2.
    assert_eq!(strata[0]["measureScore"]["value"], 0.0);
    assert_eq!(strata[1]["measureScore"]["value"], 1.0);
    // Summed over two patients, the strata add up episode by episode.
    let sum = report::summary(&m, &period(), &[r.groups.clone(), r.groups.clone()]);
    let strata = &sum["group"][0]["stratifier"][0]["stratum"];
    assert_eq!(strata[1]["value"]["text"], "true");
    assert_eq!(strata[1]["population"][0]["count"], 2);
    assert_eq!(strata[0]["value"]["text"], "false");
    assert_eq!(strata[0]["population"][2]["count"], 4);
}
