//! Fixtures and result-set helpers shared by the search tests.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{status_and_json, TestApp};

/// Stores each resource under its own id (PUT), so tests can name the expected matches.
pub async fn put_all(app: &TestApp, resources: &[Value]) {
    for resource in resources {
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap_or_default(),
            resource["id"].as_str().unwrap_or_default()
        );
        let (status, body) = status_and_json(app.put(&path, resource).await).await;
        assert!(status.is_success(), "PUT {path} failed: {body}");
    }
}

/// The ids of the matches of a search, sorted, after asserting a searchset Bundle.
pub async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let (status, bundle) = status_and_json(app.get(query).await).await;
    assert_eq!(status, StatusCode::OK, "GET {query}: {bundle}");
    match_ids(&bundle)
}

pub fn match_ids(bundle: &Value) -> Vec<String> {
    assert_eq!(bundle["type"], "searchset", "{bundle}");
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

pub fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .and_then(|l| l["url"].as_str())
        .map(str::to_owned)
}

pub fn names(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|s| (*s).to_owned()).collect()
}

pub fn observation(id: &str, subject: &str, code: (&str, &str), extra: Value) -> Value {
    let mut resource = json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": code.0, "code": code.1}]},
        "subject": {"reference": subject},
    });
    if let (Some(fields), Value::Object(extra)) = (resource.as_object_mut(), extra) {
        fields.extend(extra);
    }
    resource
}
