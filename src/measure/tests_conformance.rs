//! `hearth measure test` on a small content folder written to a tempdir:
//! a case held as one Bundle, cases held one file per resource, and the
//! comparison of MADiE observation entries (by code or by id) and measure
//! scores.

use std::path::Path;

use serde_json::{json, Value as J};

use super::conformance;
use super::tests::content_resources;
use super::tests_strata::{defs, episode_basis, observation, pop};

fn write(path: &Path, json: &J) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, json.to_string()).unwrap();
}

/// The test library's continuous-variable, episode-based measure with these groups, written
/// as the content folder's one Bundle.
fn write_content(root: &Path, groups: J) {
    let content = content_resources(defs(), |m| {
        episode_basis(m, "continuous-variable");
        m["group"] = groups;
    });
    write(
        &root.join("measures/content.json"),
        &json!({"resourceType": "Bundle", "type": "collection",
            "entry": content.iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()}),
    );
}

/// A failure's differences as (what, expected, actual).
fn triples(failure: &conformance::CaseFailure) -> Vec<(&str, &str, &str)> {
    failure
        .diffs
        .iter()
        .map(|d| (d.what.as_str(), d.expected.as_str(), d.actual.as_str()))
        .collect()
}

fn encounter(id: &str, start: &str) -> J {
    json!({"resourceType": "Encounter", "id": id, "status": "finished",
        "type": [{"coding": [{"system": "http://example.org/cs", "code": "office"}]}],
        "subject": {"reference": "Patient/p1"}, "period": {"start": start, "end": start}})
}

fn entry(code: &str, count: i64) -> J {
    json!({"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-population",
        "code": code}]}, "count": count})
}

/// The expected report of a patient with visits on days 1 and 5: two
/// episodes, MADiE observation entries holding the observed days.
fn expected(days: [i64; 2], score: f64) -> J {
    json!({"resourceType": "MeasureReport", "id": "expected", "status": "complete",
        "type": "individual", "period": {"start": "2025-01-01", "end": "2025-12-31"},
        "extension": [{"url": "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-testCaseDescription",
            "valueMarkdown": "two visits"}],
        "group": [{"population": [entry("initial-population", 2), entry("measure-population", 2),
            entry("measure-population-observation", days[0]),
            entry("measure-population-observation", days[1])],
            "measureScore": {"value": score}}]})
}

#[test]
fn cases_may_be_bundles_and_observations_are_compared() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_content(
        root,
        json!([{"population": [
            pop("initial-population", "Qualifying Visits"),
            pop("measure-population", "Qualifying Visits"),
            observation("Visit Day", "average", "measure-population")]}]),
    );
    let patient = json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"});
    let visits = [encounter("e1", "2025-03-01"), encounter("e2", "2025-03-05")];
    let cases = root.join("tests/MiniMeasure");

    // A single Bundle holding the resources and the expected report; one
    // encounter is also written beside it, and counted once.
    let mut entries = vec![json!({"resource": patient})];
    entries.extend(visits.iter().map(|v| json!({"resource": v})));
    entries.push(json!({"resource": expected([5, 1], 3.0)}));
    write(
        &cases.join("bundled/case.json"),
        &json!({"resourceType": "Bundle", "type": "collection", "entry": entries}),
    );
    write(&cases.join("bundled/Encounter-e1.json"), &visits[0]);

    // One file per resource; the expected observations and score disagree.
    write(&cases.join("files/Patient-p1.json"), &patient);
    write(&cases.join("files/Encounter-e1.json"), &visits[0]);
    write(&cases.join("files/Encounter-e2.json"), &visits[1]);
    write(
        &cases.join("files/MeasureReport.json"),
        &expected([1, 6], 3.5),
    );

    // Per-member `measure-observation` entries named MeasureObservation_G_O_M
    // hold observed values too.
    let mut by_id = expected([1, 5], 3.0);
    if let Some(entries) = by_id["group"][0]["population"].as_array_mut() {
        for (m, p) in entries[2..].iter_mut().enumerate() {
            p["code"]["coding"][0]["code"] = json!("measure-observation");
            p["id"] = json!(format!("MeasureObservation_1_1_{}", m + 1));
        }
    }
    let files = [
        ("Patient-p1", &patient),
        ("Encounter-e1", &visits[0]),
        ("Encounter-e2", &visits[1]),
        ("MeasureReport", &by_id),
    ];
    for (name, r) in files {
        write(&cases.join(format!("ids/{name}.json")), r);
    }

    let summary = conformance::run(root, &root.join("no-known-differences.md")).unwrap();
    let m = &summary.measures[0];
    assert_eq!((m.passed, m.total), (2, 3), "{}", summary.render());
    let failure = &m.failures[0];
    assert_eq!(failure.case, "MiniMeasure/files");
    assert_eq!(
        triples(failure),
        [
            ("measure-population-observation", "[1, 6]", "[1, 5]"),
            ("measureScore", "3.5", "3"),
        ]
    );
    assert!(summary
        .render()
        .contains("group 0 measure-population-observation: expected [1, 6], got [1, 5]"));
}

/// An expected report of a patient with a finished and a planned visit,
/// stratified by visit status; `strata` are (status, initial population,
/// measure population).
fn stratified(strata: &[(&str, i64, i64)]) -> J {
    let strata: Vec<J> = strata
        .iter()
        .map(|(status, ip, mp)| {
            json!({"value": {"text": status},
                "population": [entry("initial-population", *ip), entry("measure-population", *mp)]})
        })
        .collect();
    json!({"resourceType": "MeasureReport", "id": "expected", "status": "complete",
        "type": "individual", "period": {"start": "2025-01-01", "end": "2025-12-31"},
        "group": [{"population": [entry("initial-population", 2), entry("measure-population", 2)],
            "stratifier": [{"id": "status", "stratum": strata}]}]})
}

#[test]
fn strata_counts_are_compared_by_stratum_value() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_content(
        root,
        json!([{"population": [
            pop("initial-population", "Qualifying Visits"),
            pop("measure-population", "Qualifying Visits")],
            "stratifier": [{"id": "status", "criteria": {"expression": "Visit Status"}}]}]),
    );
    let patient = json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"});
    let mut planned = encounter("e2", "2025-03-05");
    planned["status"] = json!("planned");
    let visits = [encounter("e1", "2025-03-01"), planned];
    let cases = root.join("tests/MiniMeasure");
    // A stratum nobody falls in may be listed with zero counts, or left out.
    let good = stratified(&[("finished", 1, 1), ("planned", 1, 1), ("cancelled", 0, 0)]);
    let bad = stratified(&[("finished", 1, 2), ("arrived", 1, 0)]);
    for (case, expected) in [("good", &good), ("bad", &bad)] {
        write(&cases.join(format!("{case}/Patient-p1.json")), &patient);
        for v in &visits {
            let id = v["id"].as_str().unwrap();
            write(&cases.join(format!("{case}/Encounter-{id}.json")), v);
        }
        write(&cases.join(format!("{case}/MeasureReport.json")), expected);
    }

    let summary = conformance::run(root, &root.join("no-known-differences.md")).unwrap();
    let m = &summary.measures[0];
    assert_eq!((m.passed, m.total), (1, 2), "{}", summary.render());
    assert_eq!(m.failures[0].case, "MiniMeasure/bad");
    assert_eq!(
        triples(&m.failures[0]),
        [
            (
                "stratifier status stratum finished measure-population",
                "2",
                "1"
            ),
            (
                "stratifier status stratum arrived initial-population",
                "1",
                "0"
            ),
        ]
    );
}
