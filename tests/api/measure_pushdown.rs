//! Population runs read only the resources a measure retrieves. Patients here also carry
//! resources no measure looks at (other codes, other types, a medication behind a reference);
//! population counts must equal the sums of individual reports, which read whole compartments.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::measure_api::{counts, ecqm_dir, get_json, load, summed, Case, MEASURES, PERIOD};

/// Resources that match no retrieve of the shared measures, for one patient.
fn unrelated(patient: &str) -> Vec<Value> {
    let subject = json!({"reference": format!("Patient/{patient}")});
    vec![
        json!({"resourceType": "Observation", "id": format!("{patient}-obs"), "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "99999-9"}], "text": "unrelated"},
            "subject": subject, "effectiveDateTime": "2025-06-01"}),
        json!({"resourceType": "Condition", "id": format!("{patient}-cond"),
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "999999999"}]},
            "subject": subject, "onsetDateTime": "2025-03-01"}),
        json!({"resourceType": "Immunization", "id": format!("{patient}-imm"), "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}]},
            "patient": subject, "occurrenceDateTime": "2025-02-01"}),
        json!({"resourceType": "MedicationRequest", "id": format!("{patient}-med"),
            "status": "active", "intent": "order", "subject": subject,
            "medicationReference": {"reference": "Medication/unrelated-med"},
            "authoredOn": "2025-04-01"}),
    ]
}

/// Stores `resource` at its type and id, failing the test unless the server accepts it.
pub(crate) async fn put(app: &TestApp, resource: &Value) {
    let path = format!(
        "{}/{}",
        resource["resourceType"].as_str().expect("type"),
        resource["id"].as_str().expect("id")
    );
    let response = app.put(&path, resource).await;
    assert!(
        response.status().is_success(),
        "PUT {path}: {}",
        response.text().await.unwrap_or_default()
    );
}

/// Counts of a summary report for `query`, in which every patient was evaluated.
pub(crate) async fn population(
    app: &TestApp,
    measure: &str,
    query: &str,
) -> Vec<BTreeMap<String, i64>> {
    let (status, report) = get_json(
        app,
        &format!("/Measure/{measure}/$evaluate-measure?{PERIOD}&reportType=population{query}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["type"], "summary");
    assert!(
        report
            .get("contained")
            .is_none_or(|c| !c.to_string().contains("evaluation-errors")),
        "no patient may fail: {report}"
    );
    counts(&report)
}

/// Sum of the individual reports' counts (whole compartments read) of these patients.
async fn individually(
    app: &TestApp,
    measure: &str,
    patients: &[&str],
) -> Vec<BTreeMap<String, i64>> {
    let mut cases = Vec::new();
    for patient in patients {
        let (status, report) = get_json(
            app,
            &format!("/Measure/{measure}/$evaluate-measure?{PERIOD}&subject=Patient/{patient}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        cases.push(Case {
            patient: (*patient).to_owned(),
            expected: counts(&report),
        });
    }
    summed(&cases)
}

#[tokio::test]
async fn population_counts_ignore_resources_the_measure_does_not_retrieve() {
    let Some(dir) = ecqm_dir() else { return };
    let app = spawn_app().await;
    let cases = load(&app, &dir).await;
    put(&app, &json!({"resourceType": "Medication", "id": "unrelated-med",
        "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1"}]}}))
    .await;
    let mut everyone: Vec<&str> = Vec::new();
    for case in cases.values().flatten() {
        for resource in unrelated(&case.patient) {
            put(&app, &resource).await;
        }
        everyone.push(&case.patient);
    }
    everyone.sort_unstable();
    assert_eq!(everyone.len(), 18);

    for measure in MEASURES {
        let mine = &cases[measure];
        let group = json!({"resourceType": "Group", "id": measure, "type": "person", "actual": true,
            "member": mine.iter().map(|c| json!({"entity": {"reference": format!("Patient/{}", c.patient)}})).collect::<Vec<_>>()});
        put(&app, &group).await;
        let expected = summed(mine);
        assert_eq!(
            population(&app, measure, &format!("&subject=Group/{measure}")).await,
            expected,
            "{measure}: the test cases' expected counts"
        );
        let ids: Vec<&str> = mine.iter().map(|c| c.patient.as_str()).collect();
        assert_eq!(
            individually(&app, measure, &ids).await,
            expected,
            "{measure}"
        );

        // Every stored patient, including the other measures' cases.
        assert_eq!(
            population(&app, measure, "").await,
            individually(&app, measure, &everyone).await,
            "{measure}: all patients"
        );
    }
}
