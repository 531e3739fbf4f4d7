use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_outcome, spawn_app, status_and_json};

fn versions(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    format!(
                        "{} {}",
                        e["request"]["method"].as_str().unwrap_or("?"),
                        e["response"]["etag"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn instance_history_lists_versions_newest_first() {
    let app = spawn_app().await;
    let id = app
        .create(&json!({"resourceType": "Patient", "active": true}))
        .await;
    app.put(
        &format!("Patient/{id}"),
        &json!({"resourceType": "Patient", "id": id, "active": false}),
    )
    .await;
    app.delete(&format!("Patient/{id}")).await;
    let (status, bundle) = status_and_json(app.get(&format!("Patient/{id}/_history")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["type"], "history");
    assert_eq!(
        versions(&bundle),
        ["DELETE W/\"3\"", "PUT W/\"2\"", "POST W/\"1\""]
    );
    assert!(
        bundle["entry"][0].get("resource").is_none(),
        "a deletion carries no resource"
    );
    assert_eq!(bundle["entry"][1]["resource"]["active"], false);
    assert_outcome(
        app.get("Patient/unknown/_history").await,
        StatusCode::NOT_FOUND,
        "not known",
    )
    .await;
}

#[tokio::test]
async fn type_and_system_history_with_since_and_paging() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.create(&json!({"resourceType": "Patient"})).await;
    }
    let (_, before) = status_and_json(app.get("Patient/_history").await).await;
    let cutoff = before["entry"][0]["response"]["lastModified"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    for _ in 0..4 {
        app.create(
            &json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}),
        )
        .await;
    }
    let (_, patients) = status_and_json(app.get("Patient/_history").await).await;
    assert_eq!(patients["entry"].as_array().unwrap().len(), 3);

    let since: String = url::form_urlencoded::byte_serialize(cutoff.as_bytes()).collect();
    let (_, recent) = status_and_json(app.get(&format!("_history?_since={since}")).await).await;
    let types: Vec<&str> = recent["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["resourceType"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "Observation",
            "Observation",
            "Observation",
            "Observation",
            "Patient"
        ],
        "_since includes its bound"
    );

    // Walk the system history two at a time; a write during the walk must not shift pages.
    let mut seen = Vec::new();
    let mut next = Some(app.url("_history?_count=2"));
    let mut pages = 0;
    while let Some(url) = next {
        let (_, page) = status_and_json(app.client.get(&url).send().await.unwrap()).await;
        if pages == 0 {
            app.create(&json!({"resourceType": "Patient"})).await;
        }
        pages += 1;
        for entry in page["entry"].as_array().unwrap() {
            seen.push(entry["fullUrl"].as_str().unwrap().to_owned());
        }
        next = page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned);
    }
    assert_eq!(pages, 4);
    assert_eq!(seen.len(), 7);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7, "no entry appears twice");
}

#[tokio::test]
async fn history_at_returns_versions_current_then() {
    let app = spawn_app().await;
    let id = app
        .create(&json!({"resourceType": "Patient", "active": true}))
        .await;
    let (_, first) = status_and_json(app.get(&format!("Patient/{id}")).await).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.put(
        &format!("Patient/{id}"),
        &json!({"resourceType": "Patient", "id": id, "active": false}),
    )
    .await;
    let at: String = url::form_urlencoded::byte_serialize(
        first["meta"]["lastUpdated"].as_str().unwrap().as_bytes(),
    )
    .collect();
    let (_, then) =
        status_and_json(app.get(&format!("Patient/{id}/_history?_at={at}")).await).await;
    assert_eq!(versions(&then), ["POST W/\"1\""]);
    assert_outcome(
        app.get("_history?_since=last-week").await,
        StatusCode::BAD_REQUEST,
        "_since",
    )
    .await;
}

#[tokio::test]
async fn history_entries_carry_each_version_as_read() {
    let app = spawn_app().await;
    let first = json!({
        "resourceType": "Patient",
        "name": [{"family": "Ó'Brien \"Jr\"", "given": ["Zoë"]}],
        "birthDate": "1970-01-01",
        "extension": [{"url": "http://example.org/weight", "valueDecimal": 70.50}]
    });
    let id = app.create(&first).await;
    let mut second = first.clone();
    second["id"] = json!(id);
    second["active"] = json!(true);
    app.put(&format!("Patient/{id}"), &second).await;
    let (status, bundle) = status_and_json(app.get(&format!("Patient/{id}/_history")).await).await;
    assert_eq!(status, StatusCode::OK);
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2);
    for entry in entries {
        let version = entry["resource"]["meta"]["versionId"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, read) =
            status_and_json(app.get(&format!("Patient/{id}/_history/{version}")).await).await;
        assert_eq!(
            entry["resource"], read,
            "version {version} differs from its vread"
        );
        assert!(entry["fullUrl"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Patient/{id}")));
    }
}
