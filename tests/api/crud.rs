use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_outcome, spawn_app, status_and_json};

fn patient(family: &str) -> serde_json::Value {
    json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Ada"]}], "birthDate": "1970-05-01"})
}

#[tokio::test]
async fn create_assigns_id_version_and_headers() {
    let app = spawn_app().await;
    let response = app
        .post(
            "Patient",
            &json!({"resourceType": "Patient", "id": "client-chosen", "active": true}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["etag"], "W/\"1\"");
    assert!(response.headers().contains_key("last-modified"));
    let (_, body) = status_and_json(response).await;
    let id = body["id"].as_str().unwrap();
    assert_ne!(id, "client-chosen", "create ignores a client id");
    assert_eq!(body["meta"]["versionId"], "1");
    assert!(body["meta"]["lastUpdated"].as_str().unwrap().ends_with('Z'));
    assert_eq!(location, app.url(&format!("Patient/{id}/_history/1")));

    let (status, read) = status_and_json(app.get(&format!("Patient/{id}")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, body);
}

#[tokio::test]
async fn update_versions_and_vread_returns_each_version() {
    let app = spawn_app().await;
    let id = app.create(&patient("Smith")).await;
    let mut changed = patient("Jones");
    changed["id"] = json!(id);
    let response = app.put(&format!("Patient/{id}"), &changed).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "W/\"2\"");

    let (_, v1) = status_and_json(app.get(&format!("Patient/{id}/_history/1")).await).await;
    let (_, v2) = status_and_json(app.get(&format!("Patient/{id}/_history/2")).await).await;
    assert_eq!(v1["name"][0]["family"], "Smith");
    assert_eq!(v2["name"][0]["family"], "Jones");
    assert_eq!(v2["meta"]["versionId"], "2");
    assert_outcome(
        app.get(&format!("Patient/{id}/_history/3")).await,
        StatusCode::NOT_FOUND,
        "_history/3",
    )
    .await;
}

#[tokio::test]
async fn update_with_a_new_client_id_creates() {
    let app = spawn_app().await;
    let response = app
        .put(
            "Patient/mrn-42",
            &json!({"resourceType": "Patient", "id": "mrn-42"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "W/\"1\"");
    let (status, body) = status_and_json(app.get("Patient/mrn-42").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], "mrn-42");
}

#[tokio::test]
async fn delete_is_logical_and_reads_answer_gone() {
    let app = spawn_app().await;
    let id = app.create(&patient("Gone")).await;
    let response = app.delete(&format!("Patient/{id}")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    assert_outcome(
        app.get(&format!("Patient/{id}")).await,
        StatusCode::GONE,
        "deleted",
    )
    .await;
    // The old version stays readable, and deleting again changes nothing.
    assert_eq!(
        app.get(&format!("Patient/{id}/_history/1")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&format!("Patient/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete("Patient/never-was").await.status(),
        StatusCode::NO_CONTENT
    );
    // An update brings it back as version 3.
    let mut again = patient("Back");
    again["id"] = json!(id);
    let response = app.put(&format!("Patient/{id}"), &again).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "W/\"3\"");
}

#[tokio::test]
async fn if_match_guards_update_and_delete() {
    let app = spawn_app().await;
    let id = app.create(&patient("Match")).await;
    let mut body = patient("Match2");
    body["id"] = json!(id);
    let stale = app
        .client
        .put(app.url(&format!("Patient/{id}")))
        .header("content-type", "application/fhir+json")
        .header("if-match", "W/\"7\"")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_outcome(stale, StatusCode::PRECONDITION_FAILED, "not version 7").await;
    let fresh = app
        .client
        .put(app.url(&format!("Patient/{id}")))
        .header("content-type", "application/fhir+json")
        .header("if-match", "W/\"1\"")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    let stale_delete = app
        .client
        .delete(app.url(&format!("Patient/{id}")))
        .header("if-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale_delete.status(), StatusCode::PRECONDITION_FAILED);
    let (status, current) = status_and_json(app.get(&format!("Patient/{id}")).await).await;
    assert_eq!(
        (status, current["meta"]["versionId"].as_str()),
        (StatusCode::OK, Some("2"))
    );
}

#[tokio::test]
async fn prefer_shapes_the_write_response() {
    let app = spawn_app().await;
    let send = |prefer: &'static str| {
        app.client
            .post(app.url("Patient"))
            .header("content-type", "application/fhir+json")
            .header("prefer", prefer)
            .body(patient("Prefer").to_string())
            .send()
    };
    let minimal = send("return=minimal").await.unwrap();
    assert_eq!(minimal.status(), StatusCode::CREATED);
    assert!(minimal.headers().contains_key("location"));
    assert!(minimal.text().await.unwrap().is_empty());
    let (status, outcome) = status_and_json(send("return=OperationOutcome").await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let (_, representation) = status_and_json(send("return=representation").await.unwrap()).await;
    assert_eq!(representation["resourceType"], "Patient");
}

#[tokio::test]
async fn format_and_pretty_are_honoured() {
    let app = spawn_app().await;
    let id = app.create(&patient("Format")).await;
    let pretty = app
        .get(&format!("Patient/{id}?_pretty=true"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        pretty.contains("\n  \"resourceType\": \"Patient\""),
        "{pretty}"
    );
    assert_eq!(
        app.get(&format!("Patient/{id}?_format=json"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("Patient/{id}?_format=application/fhir%2Bjson"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_outcome(
        app.get(&format!("Patient/{id}?_format=xml")).await,
        StatusCode::NOT_ACCEPTABLE,
        "xml",
    )
    .await;
    let xml_only = app
        .client
        .get(app.url(&format!("Patient/{id}")))
        .header("accept", "application/fhir+xml")
        .send()
        .await
        .unwrap();
    assert_outcome(xml_only, StatusCode::NOT_ACCEPTABLE, "excludes JSON").await;
}

#[tokio::test]
async fn capability_statement_describes_the_server() {
    let app = spawn_app().await;
    let (status, statement) = status_and_json(app.get("metadata").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    let resources = statement["rest"][0]["resource"].as_array().unwrap();
    assert_eq!(resources.len(), 146);
    let patient = resources.iter().find(|r| r["type"] == "Patient").unwrap();
    let codes: Vec<&str> = patient["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["code"].as_str())
        .collect();
    assert!(codes.contains(&"vread") && codes.contains(&"history-instance"));
    assert!(
        !codes.contains(&"patch"),
        "patch is not implemented and must not be claimed"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    assert_eq!(app.get("healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("readyz").await.status(), StatusCode::OK);
    let id = app.create(&patient("Metrics")).await;
    app.get(&format!("Patient/{id}")).await;
    let response = app.get("metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("hearth_http_requests_total")
                && l.contains("route=\"/{type}/{id}\"")
                && l.contains("status=\"200\"")),
        "{text}"
    );
    assert!(!text.contains(&id), "metrics never name a resource id");
}
