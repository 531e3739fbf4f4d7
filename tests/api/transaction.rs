use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_outcome, spawn_app, status_and_json, TestApp};

/// An encounter bundle as an EHR pushes it: everything linked by urn:uuid fullUrls.
fn encounter_bundle(kind: &str) -> Value {
    let patient = "urn:uuid:7f1b5b1e-0000-4000-8000-000000000001";
    let encounter = "urn:uuid:7f1b5b1e-0000-4000-8000-000000000002";
    let condition = "urn:uuid:7f1b5b1e-0000-4000-8000-000000000003";
    let entry = |full_url: &str, resource: Value| {
        let resource_type = resource["resourceType"].as_str().unwrap().to_owned();
        json!({"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": resource_type}})
    };
    json!({
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            entry(patient, json!({"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN1"}], "name": [{"family": "Push"}]})),
            entry(encounter, json!({"resourceType": "Encounter", "status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}, "subject": {"reference": patient}})),
            entry(condition, json!({"resourceType": "Condition", "subject": {"reference": patient}, "encounter": {"reference": encounter}, "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]}})),
            entry("urn:uuid:7f1b5b1e-0000-4000-8000-000000000004", json!({"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "subject": {"reference": patient}, "encounter": {"reference": encounter}, "valueQuantity": {"value": 128, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}})),
            entry("urn:uuid:7f1b5b1e-0000-4000-8000-000000000005", json!({"resourceType": "Procedure", "status": "completed", "subject": {"reference": patient}, "encounter": {"reference": encounter}, "reasonReference": [{"reference": condition}]})),
            entry("urn:uuid:7f1b5b1e-0000-4000-8000-000000000006", json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order", "medicationCodeableConcept": {"text": "lisinopril"}, "subject": {"reference": patient}, "encounter": {"reference": encounter}})),
        ]
    })
}

async fn count(app: &TestApp, resource_type: &str) -> usize {
    let (_, bundle) = status_and_json(
        app.get(&format!("{resource_type}/_history?_count=1000"))
            .await,
    )
    .await;
    bundle["entry"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn transaction_stores_an_encounter_bundle_and_rewrites_references() {
    let app = spawn_app().await;
    let (status, response) =
        status_and_json(app.post("", &encounter_bundle("transaction")).await).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["type"], "transaction-response");
    let entries = response["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 6);
    let locations: Vec<&str> = entries
        .iter()
        .map(|e| e["response"]["location"].as_str().unwrap())
        .collect();
    for (entry, expected) in entries.iter().zip([
        "Patient/",
        "Encounter/",
        "Condition/",
        "Observation/",
        "Procedure/",
        "MedicationRequest/",
    ]) {
        assert_eq!(entry["response"]["status"], "201 Created");
        assert!(entry["response"]["location"]
            .as_str()
            .unwrap()
            .starts_with(expected));
        assert_eq!(entry["response"]["etag"], "W/\"1\"");
    }
    let patient_ref = locations[0].split("/_history").next().unwrap();
    let encounter_ref = locations[1].split("/_history").next().unwrap();
    let condition_ref = locations[2].split("/_history").next().unwrap();
    let (_, observation) = status_and_json(
        app.get(locations[3].split("/_history").next().unwrap())
            .await,
    )
    .await;
    assert_eq!(observation["subject"]["reference"], patient_ref);
    assert_eq!(observation["encounter"]["reference"], encounter_ref);
    let (_, procedure) = status_and_json(
        app.get(locations[4].split("/_history").next().unwrap())
            .await,
    )
    .await;
    assert_eq!(procedure["reasonReference"][0]["reference"], condition_ref);
}

#[tokio::test]
async fn a_failing_entry_rolls_back_the_whole_transaction() {
    let app = spawn_app().await;
    let existing = app.create(&json!({"resourceType": "Patient"})).await;
    let mut bundle = encounter_bundle("transaction");
    // The last entry updates a resource at the wrong version: nothing of the bundle may stay.
    bundle["entry"].as_array_mut().unwrap().push(json!({
        "resource": {"resourceType": "Patient", "id": existing},
        "request": {"method": "PUT", "url": format!("Patient/{existing}"), "ifMatch": "W/\"9\""}
    }));
    let body = assert_outcome(
        app.post("", &bundle).await,
        StatusCode::PRECONDITION_FAILED,
        "Bundle.entry[6]",
    )
    .await;
    assert_eq!(body["issue"][0]["expression"][0], "Bundle.entry[6]");
    assert_eq!(
        count(&app, "Patient").await,
        1,
        "only the patient created before the transaction"
    );
    assert_eq!(count(&app, "Observation").await, 0);
    assert_eq!(count(&app, "Encounter").await, 0);
}

#[tokio::test]
async fn transaction_rejects_dangling_and_duplicate_entries() {
    let app = spawn_app().await;
    let mut bundle = encounter_bundle("transaction");
    bundle["entry"][3]["resource"]["subject"]["reference"] =
        json!("urn:uuid:00000000-0000-4000-8000-00000000dead");
    assert_outcome(
        app.post("", &bundle).await,
        StatusCode::BAD_REQUEST,
        "Bundle.entry[3]: reference 'urn:uuid:00000000-0000-4000-8000-00000000dead'",
    )
    .await;
    let twice = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": "a"}, "request": {"method": "PUT", "url": "Patient/a"}},
        {"resource": {"resourceType": "Patient", "id": "a"}, "request": {"method": "PUT", "url": "Patient/a"}},
    ]});
    assert_outcome(
        app.post("", &twice).await,
        StatusCode::BAD_REQUEST,
        "more than one entry",
    )
    .await;
    assert_eq!(count(&app, "Patient").await, 0);
}

#[tokio::test]
async fn transaction_processes_deletes_before_creates_and_reads_last() {
    let app = spawn_app().await;
    let doomed = app.create(&json!({"resourceType": "Patient"})).await;
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": "Patient/kept"}},
        {"resource": {"resourceType": "Patient", "id": "kept", "active": true}, "request": {"method": "PUT", "url": "Patient/kept"}},
        {"request": {"method": "DELETE", "url": format!("Patient/{doomed}")}},
    ]});
    let (status, response) = status_and_json(app.post("", &bundle).await).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["entry"][0]["response"]["status"], "200 OK");
    assert_eq!(
        response["entry"][0]["resource"]["active"], true,
        "the GET sees the PUT of the same transaction"
    );
    assert_eq!(response["entry"][1]["response"]["status"], "201 Created");
    assert_eq!(response["entry"][2]["response"]["status"], "204 No Content");
    assert_eq!(
        app.get(&format!("Patient/{doomed}")).await.status(),
        StatusCode::GONE
    );
}

#[tokio::test]
async fn batch_reports_each_entry_on_its_own() {
    let app = spawn_app().await;
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Patient", "active": true}, "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation"}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/missing"}},
        {"resource": {"resourceType": "Patient", "id": "b1"}, "request": {"method": "PUT", "url": "Patient/b1"}},
    ]});
    let (status, response) = status_and_json(app.post("", &bundle).await).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["type"], "batch-response");
    let statuses: Vec<&str> = response["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "201 Created",
            "400 Bad Request",
            "404 Not Found",
            "201 Created"
        ]
    );
    assert_eq!(
        response["entry"][1]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(count(&app, "Patient").await, 2);
}

#[tokio::test]
async fn base_post_refuses_what_is_not_a_batch_or_transaction() {
    let app = spawn_app().await;
    assert_outcome(
        app.post("", &json!({"resourceType": "Patient"})).await,
        StatusCode::BAD_REQUEST,
        "batch or transaction Bundle",
    )
    .await;
    assert_outcome(
        app.post("", &json!({"resourceType": "Bundle", "type": "collection"}))
            .await,
        StatusCode::BAD_REQUEST,
        "'collection'",
    )
    .await;
}
