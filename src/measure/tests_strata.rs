//! Stratifiers defined by functions, stratifier components and per-stratum
//! observations and scores, on the hand-written test library.

use serde_json::{json, Value as J};

use super::report;
use super::tests::{engine_with, patient, prop};
use super::{CompiledMeasure, Doc, PatientData, PatientRecord, PatientResult, Period, Stratum};

const EXT: &str = "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/";

pub(super) fn pop(code: &str, expr: &str) -> J {
    json!({"code": {"coding": [{"code": code}]}, "criteria": {"expression": expr}})
}

/// A measure observation whose aggregate method is written as `valueString`,
/// observing the population named by `reference` (an id or a code).
pub(super) fn observation(expr: &str, method: &str, reference: &str) -> J {
    json!({"code": {"coding": [{"code": "measure-observation"}]},
        "extension": [{"url": format!("{EXT}cqfm-aggregateMethod"), "valueString": method},
            {"url": format!("{EXT}cqfm-criteriaReference"), "valueString": reference}],
        "criteria": {"expression": expr}})
}

fn operand(name: &str) -> J {
    json!({"type": "OperandRef", "name": name})
}

fn function(name: &str, of: &str, body: J) -> J {
    json!({"name": name, "type": "FunctionDef", "context": "Patient",
        "operand": [{"name": "X", "operandTypeSpecifier": {"type": "NamedTypeSpecifier",
            "name": format!("{{http://hl7.org/fhir}}{of}")}}],
        "expression": body})
}

/// The day of month a visit started on, its status, its month, the patient's
/// gender and birth month (functions of the Patient) and a fixed band.
pub(super) fn defs() -> Vec<J> {
    let start = |f: &str| {
        json!({"type": "DateTimeComponentFrom", "precision": f, "operand": {"type": "Start",
            "operand": {"type": "FunctionRef", "name": "PeriodInterval",
                "operand": [prop("period", operand("X"))]}}})
    };
    vec![
        function("Visit Day", "Encounter", start("Day")),
        function("Visit Month", "Encounter", start("Month")),
        function(
            "Visit Status",
            "Encounter",
            prop("value", prop("status", operand("X"))),
        ),
        function(
            "Gender Of",
            "Patient",
            prop("value", prop("gender", operand("X"))),
        ),
        function(
            "Birth Month",
            "Patient",
            json!({"type": "DateTimeComponentFrom",
            "precision": "Month", "operand": prop("value", prop("birthDate", operand("X")))}),
        ),
        json!({"name": "Band", "context": "Patient", "expression":
            {"type": "Literal", "valueType": "{urn:hl7-org:elm-types:r1}String", "value": "adult"}}),
    ]
}

/// The test measure over `defs()`, its Measure resource adjusted by `setup`.
fn compiled(setup: impl FnOnce(&mut J)) -> CompiledMeasure {
    engine_with(defs(), setup)
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("{e}"))
}

fn evaluate(m: &CompiledMeasure, p: &PatientRecord) -> PatientResult {
    m.evaluate_patient(p, &period())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn period() -> Period {
    Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn episode_basis(m: &mut J, scoring: &str) {
    m["scoring"] = json!({"coding": [{"code": scoring}]});
    m["extension"] =
        json!([{"url": format!("{EXT}cqfm-populationBasis"), "valueCode": "Encounter"}]);
}

/// The same record, with a female Patient.
fn female(p: PatientRecord) -> PatientRecord {
    let mut patient = p
        .resources("Patient")
        .first()
        .map(Doc::to_json)
        .unwrap_or_default();
    patient["gender"] = json!("female");
    PatientRecord::new(
        [patient]
            .into_iter()
            .chain(p.resources("Encounter").iter().map(Doc::to_json)),
    )
}

fn keys(strata: &[Stratum]) -> Vec<&str> {
    strata.iter().map(|s| s.key.as_str()).collect()
}

#[test]
fn function_stratifier_gives_each_stratum_its_observations_and_score() {
    let m = compiled(|m| {
        episode_basis(m, "continuous-variable");
        let mut mp = pop("measure-population", "Qualifying Visits");
        mp["id"] = json!("mp");
        m["group"] = json!([{"population": [
            pop("initial-population", "Qualifying Visits"), mp,
            // Named by the population's code rather than its id.
            observation("Visit Day", "median", "measure-population")],
            "stratifier": [{"id": "status", "criteria": {"expression": "Visit Status"}}]}]);
    });
    assert_eq!(m.groups[0].observations[0].aggregate, "median");
    let p1 = patient(
        "1980-05-01",
        &[
            ("office", "2025-03-01", "finished"),
            ("office", "2025-03-05", "finished"),
            ("office", "2025-07-10", "planned"),
        ],
    );
    let r1 = evaluate(&m, &p1);
    let strata = &r1.groups[0].strata[0].1;
    assert_eq!(keys(strata), ["finished", "planned"]);
    assert_eq!(strata[0].observations, vec![vec![1.0, 5.0]]);
    assert_eq!(strata[1].observations, vec![vec![10.0]]);
    assert_eq!(strata[0].counts[1], ("measure-population".to_owned(), 2));

    let ind = report::individual(&m, "p1", &period(), &r1.groups);
    let g = &ind["group"][0];
    assert_eq!(g["measureScore"]["value"], 5.0);
    let s = &g["stratifier"][0]["stratum"];
    assert_eq!(s[0]["value"]["text"], "finished");
    // Each stratum reports its own observation count and median.
    assert_eq!(
        s[0]["population"][2]["code"]["coding"][0]["code"],
        "measure-observation"
    );
    assert_eq!(s[0]["population"][2]["count"], 2);
    assert_eq!(s[0]["measureScore"]["value"], 3.0);
    assert_eq!(s[1]["measureScore"]["value"], 10.0);
    // The individual report carries each observed value.
    let observed: Vec<&J> = ind["contained"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["resourceType"] == "Observation")
        .collect();
    assert_eq!(observed.len(), 3);
    assert_eq!(observed[2]["valueQuantity"]["value"], 10.0);
    assert_eq!(observed[0]["extension"][0]["valueString"], "Visit Day");

    // Over two patients the strata pool their observations.
    let p2 = patient("1970-01-01", &[("office", "2025-02-20", "finished")]);
    let r2 = evaluate(&m, &p2);
    let sum = report::summary(&m, &period(), &[r1.groups, r2.groups]);
    let s = &sum["group"][0]["stratifier"][0]["stratum"];
    assert_eq!(s[0]["value"]["text"], "finished");
    assert_eq!(s[0]["population"][0]["count"], 3);
    assert_eq!(s[0]["measureScore"]["value"], 5.0);
    assert_eq!(s[1]["population"][2]["count"], 1);
}

#[test]
fn stratifier_components_key_strata_by_the_tuple_of_values() {
    let m = compiled(|m| {
        episode_basis(m, "proportion");
        m["group"] = json!([{"population": [
            pop("initial-population", "Qualifying Visits"),
            pop("denominator", "Qualifying Visits"),
            pop("numerator", "Qualifying Visits")],
            "stratifier": [{"id": "month-status-band", "component": [
                {"code": {"text": "month"}, "criteria": {"expression": "Visit Month"}},
                {"code": {"text": "status"}, "criteria": {"expression": "Visit Status"}},
                {"code": {"text": "band"}, "criteria": {"expression": "Band"}},
                // A function of the Patient in an episode-based group gets the patient.
                {"code": {"text": "gender"}, "criteria": {"expression": "Gender Of"}}]}]}]);
    });
    let p = female(patient(
        "1980-05-01",
        &[
            ("office", "2025-03-01", "finished"),
            ("office", "2025-03-05", "finished"),
            ("office", "2025-03-09", "planned"),
            ("office", "2025-07-10", "finished"),
        ],
    ));
    let r = evaluate(&m, &p);
    let strata = &r.groups[0].strata[0].1;
    let sep = super::program::STRATUM_SEPARATOR;
    assert_eq!(
        keys(strata),
        [
            format!("3{sep}finished{sep}adult{sep}female"),
            format!("3{sep}planned{sep}adult{sep}female"),
            format!("7{sep}finished{sep}adult{sep}female"),
        ]
    );
    assert_eq!(strata[0].counts[0], ("initial-population".to_owned(), 2));
    let ind = report::individual(&m, "p1", &period(), &r.groups);
    let s = &ind["group"][0]["stratifier"][0]["stratum"];
    assert_eq!(
        s[1]["component"],
        json!([{"code": {"text": "month"}, "value": {"text": "3"}},
               {"code": {"text": "status"}, "value": {"text": "planned"}},
               {"code": {"text": "band"}, "value": {"text": "adult"}},
               {"code": {"text": "gender"}, "value": {"text": "female"}}])
    );
    assert_eq!(s[1]["population"][0]["count"], 1);
    assert_eq!(s[1]["measureScore"]["value"], 1.0);
}

#[test]
fn patient_based_function_stratifier_gets_the_patient() {
    let m = compiled(|m| {
        m["group"][0]["stratifier"] =
            json!([{"id": "gender", "criteria": {"expression": "Gender Of"}}]);
    });
    let p = female(patient(
        "1980-05-01",
        &[("office", "2025-03-01", "finished")],
    ));
    let r = evaluate(&m, &p);
    let strata = &r.groups[0].strata[0].1;
    assert_eq!(keys(strata), ["female"]);
    assert_eq!(strata[0].counts, r.groups[0].counts);
    let ind = report::individual(&m, "p1", &period(), &r.groups);
    assert_eq!(
        ind["group"][0]["stratifier"][0]["stratum"][0]["measureScore"]["value"],
        1.0
    );
}

#[test]
fn ratio_strata_score_their_own_observation_aggregates() {
    let m = compiled(|m| {
        episode_basis(m, "ratio");
        let mut den = pop("denominator", "Qualifying Visits");
        den["id"] = json!("den");
        let mut num = pop("numerator", "Qualifying Visits");
        num["id"] = json!("num");
        m["group"] = json!([{"population": [
            pop("initial-population", "Qualifying Visits"), den, num,
            observation("Visit Day", "sum", "num"),
            observation("Visit Day", "count", "den")],
            "stratifier": [{"criteria": {"expression": "Visit Month"}}]}]);
    });
    let p = patient(
        "1980-05-01",
        &[
            ("office", "2025-03-02", "finished"),
            ("office", "2025-03-04", "finished"),
            ("office", "2025-05-09", "finished"),
        ],
    );
    let r = evaluate(&m, &p);
    let ind = report::individual(&m, "p1", &period(), &r.groups);
    let g = &ind["group"][0];
    // (2 + 4 + 9) / 3 overall; (2 + 4) / 2 in March, 9 / 1 in May.
    assert_eq!(g["measureScore"]["value"], 5.0);
    let s = &g["stratifier"][0]["stratum"];
    assert_eq!(s[0]["value"]["text"], "3");
    assert_eq!(s[0]["measureScore"]["value"], 3.0);
    assert_eq!(s[1]["measureScore"]["value"], 9.0);
}

#[test]
fn patient_based_observations_of_the_patient_are_stratified_too() {
    let m = compiled(|m| {
        m["scoring"] = json!({"coding": [{"code": "continuous-variable"}]});
        m["group"] = json!([{"population": [
            pop("initial-population", "Initial Population"),
            pop("measure-population", "Initial Population"),
            observation("Birth Month", "average", "measure-population")],
            "stratifier": [{"criteria": {"expression": "Gender Of"}}]}]);
    });
    let visit = [("office", "2025-03-01", "finished")];
    let r1 = evaluate(&m, &female(patient("1980-05-01", &visit)));
    let r2 = evaluate(&m, &patient("1970-09-01", &visit));
    assert_eq!(r1.groups[0].observations, vec![vec![5.0]]);
    let sum = report::summary(&m, &period(), &[r1.groups, r2.groups]);
    let g = &sum["group"][0];
    assert_eq!(g["measureScore"]["value"], 7.0);
    let s = &g["stratifier"][0]["stratum"];
    assert_eq!(s[0]["value"]["text"], "female");
    assert_eq!(s[0]["measureScore"]["value"], 5.0);
    assert_eq!(s[1]["value"]["text"], "null");
    assert_eq!(s[1]["measureScore"]["value"], 9.0);
}

/// Population runs leave a patient's criteria after the initial population unevaluated when
/// the patient is in none: counts, strata (zero-count ones included) and observations must
/// still be those of a full evaluation, for every kind of group.
#[test]
fn population_runs_match_full_evaluation_outside_the_initial_population() {
    let patients = [
        patient("1980-05-01", &[("office", "2025-03-01", "finished")]),
        patient("1980-05-01", &[("office", "2025-03-01", "planned")]),
        // Too young, no qualifying visit, no visit at all: outside the initial population.
        patient("2015-05-01", &[("office", "2025-03-01", "finished")]),
        patient("1980-05-01", &[("other", "2025-03-01", "finished")]),
        female(patient("1980-05-01", &[])),
    ];
    let strata = json!([{"id": "gender", "criteria": {"expression": "Gender Of"}},
        {"id": "band", "criteria": {"expression": "Band"}}]);
    let setups: [&dyn Fn(&mut J); 5] = [
        &|_| {},
        &|m| m["group"][0]["stratifier"] = strata.clone(),
        &|m| {
            episode_basis(m, "proportion");
            m["group"] = json!([{"population": [
                pop("initial-population", "Qualifying Visits"),
                pop("denominator", "Qualifying Visits"),
                pop("numerator", "Qualifying Visits")]}]);
        },
        &|m| {
            episode_basis(m, "proportion");
            m["group"] = json!([{"population": [
                pop("initial-population", "Qualifying Visits"),
                pop("denominator", "Qualifying Visits"),
                pop("numerator", "Qualifying Visits")],
                "stratifier": [{"id": "status", "criteria": {"expression": "Visit Status"}}]}]);
        },
        &|m| {
            episode_basis(m, "continuous-variable");
            m["group"] = json!([{"population": [
                pop("initial-population", "Qualifying Visits"),
                pop("measure-population", "Qualifying Visits"),
                observation("Visit Day", "median", "measure-population")]}]);
        },
    ];
    for (n, setup) in setups.into_iter().enumerate() {
        let m = compiled(setup);
        let batch = m.evaluate_patients(&patients, &period(), &Default::default());
        for (i, (p, r)) in patients.iter().zip(batch).enumerate() {
            let r = r.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r, evaluate(&m, p), "measure {n}, patient {i}");
        }
    }
}
