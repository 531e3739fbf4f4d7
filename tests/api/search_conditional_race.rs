//! Concurrent identical conditional writes other than the plain conditional create (batch
//! `ifNoneExist`, conditional update and delete, over HTTP and in batches) are serialised on
//! their criteria: eight at once leave exactly one resource.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, status_and_json, TestApp};
use crate::search_support::ids;

/// Sends eight identical requests at once; returns each one's status and body.
async fn eight(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Vec<(StatusCode, Value)> {
    let sends = (0..8).map(|_| {
        let mut request = app.client.request(method.clone(), app.url(path));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/fhir+json")
                .body(body.to_string());
        }
        request.send()
    });
    let mut results = Vec::new();
    for response in futures::future::join_all(sends).await {
        let response = response.expect("sent");
        let status = response.status();
        let text = response.text().await.expect("body");
        results.push((status, serde_json::from_str(&text).unwrap_or(Value::Null)));
    }
    results
}

/// The status line of each batch-response entry, over every response.
fn entry_statuses(results: &[(StatusCode, Value)]) -> Vec<String> {
    let mut statuses = Vec::new();
    for (status, bundle) in results {
        assert_eq!(*status, StatusCode::OK, "{bundle}");
        assert_eq!(bundle["type"], "batch-response", "{bundle}");
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            let line = entry["response"]["status"].as_str().unwrap_or_default();
            statuses.push(line.split(' ').next().unwrap_or_default().to_owned());
        }
    }
    statuses.sort();
    statuses
}

fn patient(mrn: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": mrn}]})
}

fn batch(method: &str, url: &str, if_none_exist: Option<&str>, resource: Value) -> Value {
    let mut request = json!({"method": method, "url": url});
    if let Some(criteria) = if_none_exist {
        request["ifNoneExist"] = json!(criteria);
    }
    json!({"resourceType": "Bundle", "type": "batch",
           "entry": [{"resource": resource, "request": request}]})
}

fn created_then_found() -> Vec<String> {
    let mut expected = vec!["200".to_owned(); 7];
    expected.push("201".to_owned());
    expected
}

#[tokio::test]
async fn concurrent_batch_if_none_exist_makes_one_resource() {
    let app = spawn_app().await;
    let body = batch(
        "POST",
        "Patient",
        Some("identifier=urn:mrn|batch"),
        patient("batch"),
    );
    let results = eight(&app, reqwest::Method::POST, "", Some(&body)).await;
    assert_eq!(entry_statuses(&results), created_then_found());
    assert_eq!(ids(&app, "Patient?identifier=urn:mrn|batch").await.len(), 1);
}

#[tokio::test]
async fn concurrent_conditional_updates_make_one_resource() {
    let app = spawn_app().await;
    let path = "Patient?identifier=urn:mrn|put";
    let results = eight(&app, reqwest::Method::PUT, path, Some(&patient("put"))).await;
    let mut statuses: Vec<u16> = results.iter().map(|(s, _)| s.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 200, 200, 201],
        "{results:?}"
    );
    let written: std::collections::BTreeSet<&str> = results
        .iter()
        .filter_map(|(_, b)| b["id"].as_str())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(ids(&app, path).await.len(), 1);

    // The same as batch entries.
    let body = batch(
        "PUT",
        "Patient?identifier=urn:mrn|batch-put",
        None,
        patient("batch-put"),
    );
    let results = eight(&app, reqwest::Method::POST, "", Some(&body)).await;
    assert_eq!(entry_statuses(&results), created_then_found());
    assert_eq!(
        ids(&app, "Patient?identifier=urn:mrn|batch-put")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn concurrent_conditional_deletes_delete_once() {
    let app = spawn_app().await;
    let id = app.create(&patient("gone")).await;
    let results = eight(
        &app,
        reqwest::Method::DELETE,
        "Patient?identifier=urn:mrn|gone",
        None,
    )
    .await;
    for (status, body) in &results {
        assert!(status.is_success(), "{status}: {body}");
    }
    assert!(ids(&app, "Patient?identifier=urn:mrn|gone")
        .await
        .is_empty());
    // One create and one delete: the other seven found nothing left to delete.
    let (status, history) = status_and_json(app.get(&format!("Patient/{id}/_history")).await).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let methods: Vec<&str> = history["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["request"]["method"].as_str())
        .collect();
    assert_eq!(methods, ["DELETE", "POST"], "{history}");
}
