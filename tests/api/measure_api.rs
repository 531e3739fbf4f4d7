//! `$evaluate-measure` and `$care-gaps` over HTTP, judged by the published eCQM test cases in
//! `../shared/ecqm`: measure content and test patients go in through the REST API, and the
//! reports that come out must carry the counts of the cases' expected MeasureReports.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

pub(crate) const MEASURES: [&str; 3] = [
    "ControllingHighBloodPressureFHIR",
    "BreastCancerScreeningFHIR",
    "CRLReceiptofSpecialistReportFHIR",
];
/// Test cases of each measure posted to the server (enough for every population to vary).
const CASES_PER_MEASURE: usize = 6;
pub(crate) const PERIOD: &str = "periodStart=2025-01-01&periodEnd=2025-12-31";

pub(crate) fn ecqm_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/ecqm");
    if dir.join("measures").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: the eCQM test content is not at {}; measure API tests need it",
            dir.display()
        );
        None
    }
}

pub(crate) fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable file")).expect("JSON")
}

pub(crate) fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// One test case as stored: its patient id and expected counts per group (code → count).
pub(crate) struct Case {
    pub(crate) patient: String,
    pub(crate) expected: Vec<BTreeMap<String, i64>>,
}

pub(crate) fn counts(report: &Value) -> Vec<BTreeMap<String, i64>> {
    report["group"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            g["population"]
                .as_array()
                .expect("populations")
                .iter()
                .map(|p| {
                    (
                        p["code"]["coding"][0]["code"]
                            .as_str()
                            .expect("code")
                            .to_owned(),
                        p["count"].as_i64().expect("count"),
                    )
                })
                .collect()
        })
        .collect()
}

/// Rewrites `Type/id` references through `ids`.
fn rewrite(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::Object(fields) => {
            for (key, v) in fields.iter_mut() {
                match (key.as_str(), v.as_str().and_then(|r| ids.get(r))) {
                    ("reference", Some(new)) => *v = json!(new),
                    _ => rewrite(v, ids),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite(i, ids)),
        _ => {}
    }
}

/// Loads the measure content, then the first cases of each measure in one transaction per
/// case. Ids other than the Patient's get a per-case suffix: cases reuse ids like Encounter-1.
pub(crate) async fn load(app: &TestApp, dir: &Path) -> HashMap<&'static str, Vec<Case>> {
    for folder in ["valuesets", "libraries", "measures"] {
        for file in json_files(&dir.join(folder)) {
            let resource = read_json(&file);
            let path = format!(
                "{}/{}",
                resource["resourceType"].as_str().expect("type"),
                resource["id"].as_str().expect("id")
            );
            let response = app.put(&path, &resource).await;
            assert!(
                response.status().is_success(),
                "PUT {path}: {}",
                response.text().await.unwrap_or_default()
            );
        }
    }
    let mut cases = HashMap::new();
    for (mi, measure) in MEASURES.iter().enumerate() {
        let mut case_dirs: Vec<PathBuf> = std::fs::read_dir(dir.join("tests").join(measure))
            .expect("test cases")
            .map(|e| e.expect("entry").path())
            .collect();
        case_dirs.sort();
        // Some cases in the numerator and some not, so every population count varies.
        let (met, unmet): (Vec<PathBuf>, Vec<PathBuf>) =
            case_dirs.into_iter().partition(|d| in_numerator(d));
        let chosen = met.iter().take(CASES_PER_MEASURE / 2).chain(unmet.iter());
        let mut loaded = Vec::new();
        for (ci, case_dir) in chosen.take(CASES_PER_MEASURE).enumerate() {
            loaded.push(post_case(app, case_dir, &format!("m{mi}c{ci}")).await);
        }
        cases.insert(*measure, loaded);
    }
    cases
}

fn in_numerator(case_dir: &Path) -> bool {
    json_files(case_dir)
        .iter()
        .map(|f| read_json(f))
        .filter(|r| r["resourceType"] == "MeasureReport")
        .any(|r| counts(&r).iter().any(|g| g.get("numerator") > Some(&0)))
}

async fn post_case(app: &TestApp, case_dir: &Path, suffix: &str) -> Case {
    let (case, entries) = case_entries(case_dir, suffix, false);
    transaction(app, entries).await;
    case
}

/// Posts the entries as one transaction Bundle, which must succeed.
pub(crate) async fn transaction(app: &TestApp, entries: Vec<Value>) {
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let response = app.post("/", &bundle).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap_or_default()
    );
}

/// A test case's resources as transaction entries (PUT), and its expected counts. Ids other
/// than the Patient's get `suffix` (cases reuse ids like Encounter-1); with `copy`, the
/// Patient's too, so one case can be stored many times as different patients.
pub(crate) fn case_entries(case_dir: &Path, suffix: &str, copy: bool) -> (Case, Vec<Value>) {
    let mut resources = Vec::new();
    let mut expected = Vec::new();
    for file in json_files(case_dir) {
        let resource = read_json(&file);
        if resource["resourceType"] == "MeasureReport" {
            expected = counts(&resource);
        } else {
            resources.push(resource);
        }
    }
    let mut ids = HashMap::new();
    let mut patient = String::new();
    for r in &resources {
        let (t, id) = (
            r["resourceType"].as_str().expect("type"),
            r["id"].as_str().expect("id"),
        );
        let new = if t == "Patient" && !copy {
            id.to_owned()
        } else {
            // Ids are ASCII and at most 64 characters; keep the suffix, shorten the id.
            format!("{}-{suffix}", &id[..id.len().min(63 - suffix.len())])
        };
        if t == "Patient" {
            patient = new.clone();
        }
        ids.insert(format!("{t}/{id}"), format!("{t}/{new}"));
    }
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|mut r| {
            let key = format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            let new = ids[&key].clone();
            rewrite(&mut r, &ids);
            r["id"] = json!(new.split_once('/').expect("Type/id").1);
            json!({"resource": r, "request": {"method": "PUT", "url": new}})
        })
        .collect();
    (Case { patient, expected }, entries)
}

pub(crate) async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let response = app.get(path).await;
    let status = response.status();
    (status, response.json().await.expect("JSON response"))
}

pub(crate) fn summed(cases: &[Case]) -> Vec<BTreeMap<String, i64>> {
    let mut total: Vec<BTreeMap<String, i64>> = Vec::new();
    for case in cases {
        total.resize(case.expected.len().max(total.len()), BTreeMap::new());
        for (sum, group) in total.iter_mut().zip(&case.expected) {
            for (code, n) in group {
                *sum.entry(code.clone()).or_default() += n;
            }
        }
    }
    total
}

#[tokio::test]
async fn evaluate_measure_matches_the_published_test_cases() {
    let Some(dir) = ecqm_dir() else { return };
    let app = spawn_app().await;
    let cases = load(&app, &dir).await;

    for measure in MEASURES {
        let cases = &cases[measure];
        // Individual reports, by id and by url, GET and POST.
        for case in cases {
            let (status, report) = get_json(
                &app,
                &format!(
                    "/Measure/{measure}/$evaluate-measure?{PERIOD}&subject=Patient/{}",
                    case.patient
                ),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{report}");
            assert_eq!(report["type"], "individual");
            assert_eq!(counts(&report), case.expected, "{measure} {}", case.patient);
            assert!(report["evaluatedResource"]
                .as_array()
                .is_some_and(|r| !r.is_empty()));
        }
        let case = &cases[0];
        let parameters = json!({"resourceType": "Parameters", "parameter": [
            {"name": "measure", "valueString": format!("https://madie.cms.gov/Measure/{measure}")},
            {"name": "periodStart", "valueDate": "2025-01-01"},
            {"name": "periodEnd", "valueDate": "2025-12-31"},
            {"name": "subject", "valueString": format!("Patient/{}", case.patient)},
            {"name": "lastReceivedOn", "valueDateTime": "2026-01-15T10:00:00Z"},
        ]});
        let response = app.post("/Measure/$evaluate-measure", &parameters).await;
        assert_eq!(response.status(), StatusCode::OK);
        let report: Value = response.json().await.expect("JSON");
        assert_eq!(counts(&report), case.expected);
        // Supplemental-data extensions come first; lastReceivedOn is added after them.
        let received = report["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| {
                e["url"]
                    .as_str()
                    .is_some_and(|u| u.ends_with("extension-lastReceivedOn"))
            })
            .expect("the lastReceivedOn extension");
        assert_eq!(received["valueDateTime"], "2026-01-15T10:00:00Z");

        // A Group of this measure's cases: population and subject-list reports.
        let group = json!({"resourceType": "Group", "id": measure, "type": "person", "actual": true,
            "member": cases.iter().map(|c| json!({"entity": {"reference": format!("Patient/{}", c.patient)}})).collect::<Vec<_>>()});
        let response = app.put(&format!("/Group/{measure}"), &group).await;
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap_or_default()
        );
        let expected = summed(cases);
        let (status, summary) = get_json(
            &app,
            &format!("/Measure/{measure}/$evaluate-measure?{PERIOD}&subject=Group/{measure}&reportType=population"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{summary}");
        assert_eq!(summary["type"], "summary");
        assert_eq!(counts(&summary), expected, "{measure} population");

        let (status, list) = get_json(
            &app,
            &format!("/Measure/{measure}/$evaluate-measure?{PERIOD}&subject=Group/{measure}&reportType=subject-list"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["type"], "subject-list");
        assert_eq!(counts(&list), expected);
        let contained: HashMap<String, usize> = list["contained"]
            .as_array()
            .expect("contained lists")
            .iter()
            .map(|l| {
                (
                    format!("#{}", l["id"].as_str().expect("id")),
                    l["entry"].as_array().map_or(0, Vec::len),
                )
            })
            .collect();
        for population in list["group"][0]["population"]
            .as_array()
            .expect("populations")
        {
            let members = contained[population["subjectResults"]["reference"]
                .as_str()
                .expect("ref")];
            // Patient-based measures count each member once.
            assert!(members as i64 <= population["count"].as_i64().expect("count"));
            assert_eq!(members > 0, population["count"].as_i64() > Some(0));
        }
    }

    // A whole-population run covers every stored patient.
    let (status, all) = get_json(
        &app,
        &format!(
            "/Measure/$evaluate-measure?measure=https://madie.cms.gov/Measure/{}&{PERIOD}",
            MEASURES[0]
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let everyone = counts(&all)[0]["initial-population"];
    assert!(everyone >= summed(&cases[MEASURES[0]])[0]["initial-population"]);
}

#[tokio::test]
async fn measure_errors_are_operation_outcomes() {
    let Some(dir) = ecqm_dir() else { return };
    let app = spawn_app().await;
    // Unknown measure, before any content exists and after.
    let (status, outcome) =
        get_json(&app, &format!("/Measure/nope/$evaluate-measure?{PERIOD}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let measure = read_json(&dir.join("measures/BreastCancerScreeningFHIR.json"));
    let response = app
        .put("/Measure/BreastCancerScreeningFHIR", &measure)
        .await;
    assert!(response.status().is_success());
    let (status, outcome) = get_json(
        &app,
        &format!("/Measure/$evaluate-measure?measure=http://example.org/none&{PERIOD}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(outcome["issue"][0]["code"], "not-found");
    for bad in [
        "periodStart=2025-13-01&periodEnd=2025-12-31",
        "periodStart=2025-12-31&periodEnd=2025-01-01",
        "periodEnd=2025-12-31",
    ] {
        let (status, outcome) = get_json(
            &app,
            &format!("/Measure/BreastCancerScreeningFHIR/$evaluate-measure?{bad}"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
    }
    let (status, _) = get_json(
        &app,
        &format!(
            "/Measure/BreastCancerScreeningFHIR/$evaluate-measure?{PERIOD}&reportType=everything"
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

fn eligible(case: &Case) -> bool {
    let g = &case.expected[0];
    g.get("denominator") > Some(&0)
        && g.get("denominator-exclusion").copied().unwrap_or(0) == 0
        && g.get("denominator-exception").copied().unwrap_or(0) == 0
}

#[tokio::test]
async fn care_gaps_are_open_outside_the_numerator_and_closed_inside() {
    let Some(dir) = ecqm_dir() else { return };
    let app = spawn_app().await;
    let cases = load(&app, &dir).await;
    let measure = "BreastCancerScreeningFHIR";
    let cases = &cases[measure];
    let open = cases
        .iter()
        .find(|c| eligible(c) && c.expected[0]["numerator"] == 0)
        .expect("a loaded case with an open gap");
    let closed = cases
        .iter()
        .find(|c| eligible(c) && c.expected[0]["numerator"] > 0)
        .expect("a loaded case with a closed gap");
    for (case, status, other) in [
        (open, "open-gap", "closed-gap"),
        (closed, "closed-gap", "open-gap"),
    ] {
        let query = format!(
            "/Measure/$care-gaps?{PERIOD}&subject=Patient/{}&measureId={measure}",
            case.patient
        );
        let (status_code, answer) = get_json(&app, &format!("{query}&status={status}")).await;
        assert_eq!(status_code, StatusCode::OK, "{answer}");
        let bundles = answer["parameter"].as_array().expect("parameters");
        assert_eq!(bundles.len(), 1, "{status}");
        let entries = bundles[0]["resource"]["entry"].as_array().expect("entries");
        assert_eq!(entries[0]["resource"]["resourceType"], "Composition");
        let issue = entries
            .iter()
            .find(|e| e["resource"]["resourceType"] == "DetectedIssue")
            .expect("a DetectedIssue");
        assert_eq!(
            issue["resource"]["modifierExtension"][0]["valueCodeableConcept"]["coding"][0]["code"],
            status
        );
        let report = entries
            .iter()
            .find(|e| e["resource"]["resourceType"] == "MeasureReport")
            .expect("the MeasureReport");
        assert_eq!(counts(&report["resource"]), case.expected);
        // Asking only for the other status gives no bundle for this patient.
        let (_, none) = get_json(&app, &format!("{query}&status={other}")).await;
        assert_eq!(none["parameter"].as_array().map_or(0, Vec::len), 0);
    }
    let (status, outcome) = get_json(
        &app,
        &format!(
            "/Measure/$care-gaps?{PERIOD}&subject=Patient/{}&status=open-gap",
            open.patient
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
}
