//! Hostile and malformed requests: each gets its precise 4xx OperationOutcome, and the server
//! keeps answering afterwards.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_outcome, spawn_app, spawn_app_with, TestApp};

async fn still_up(app: &TestApp) {
    assert_eq!(app.get("metadata").await.status(), StatusCode::OK);
}

async fn raw(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_json_and_wrong_shapes() {
    let app = spawn_app().await;
    let post = |body: &'static str| {
        raw(
            &app,
            reqwest::Method::POST,
            "Patient",
            "application/fhir+json",
            body.as_bytes().to_vec(),
        )
    };
    assert_outcome(
        post("{\"resourceType\": \"Patient\",").await,
        StatusCode::BAD_REQUEST,
        "not valid JSON",
    )
    .await;
    assert_outcome(post("").await, StatusCode::BAD_REQUEST, "empty").await;
    assert_outcome(post("[1, 2]").await, StatusCode::BAD_REQUEST, "JSON object").await;
    assert_outcome(
        post("{\"active\": true}").await,
        StatusCode::BAD_REQUEST,
        "no resourceType",
    )
    .await;
    assert_outcome(
        post("{\"resourceType\": 7}").await,
        StatusCode::BAD_REQUEST,
        "must be a string",
    )
    .await;
    assert_outcome(
        post("{\"resourceType\": \"Observation\"}").await,
        StatusCode::BAD_REQUEST,
        "URL names Patient",
    )
    .await;
    assert_outcome(
        post("{\"resourceType\": \"Patient\", \"id\": \"bad id!\"}").await,
        StatusCode::BAD_REQUEST,
        "id must be",
    )
    .await;
    still_up(&app).await;
}

#[tokio::test]
async fn ids_types_and_methods() {
    let app = spawn_app().await;
    assert_outcome(
        app.get("Patinet/1").await,
        StatusCode::NOT_FOUND,
        "'Patinet' is not a FHIR R4 resource type",
    )
    .await;
    assert_outcome(
        app.post("Patinet", &json!({"resourceType": "Patinet"})).await,
        StatusCode::NOT_FOUND,
        "Patinet",
    )
    .await;
    assert_outcome(
        app.get("Patient/has%20space").await,
        StatusCode::BAD_REQUEST,
        "not a valid resource id",
    )
    .await;
    assert_outcome(
        app.get(&format!("Patient/{}", "x".repeat(65))).await,
        StatusCode::BAD_REQUEST,
        "1 to 64",
    )
    .await;
    assert_outcome(
        app.get("Patient/1/_history/abc").await,
        StatusCode::NOT_FOUND,
        "not a version number",
    )
    .await;
    assert_outcome(
        app.put("Patient/a", &json!({"resourceType": "Patient", "id": "b"}))
            .await,
        StatusCode::BAD_REQUEST,
        "does not match",
    )
    .await;
    assert_outcome(
        app.put("Patient/a", &json!({"resourceType": "Patient"})).await,
        StatusCode::BAD_REQUEST,
        "must carry the resource's id",
    )
    .await;
    assert_outcome(
        app.send(reqwest::Method::PATCH, "Patient/a", &json!({})).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "PATCH",
    )
    .await;
    assert_outcome(app.get("no/such/route/here").await, StatusCode::NOT_FOUND, "").await;
    let bad_match = app
        .client
        .delete(app.url("Patient/a"))
        .header("if-match", "banana")
        .send()
        .await
        .unwrap();
    assert_outcome(bad_match, StatusCode::BAD_REQUEST, "If-Match").await;
    still_up(&app).await;
}

#[tokio::test]
async fn content_types_other_than_fhir_json_are_refused() {
    let app = spawn_app().await;
    let body = json!({"resourceType": "Patient"}).to_string().into_bytes();
    for content_type in [
        "text/plain",
        "application/fhir+xml",
        "application/x-www-form-urlencoded",
    ] {
        let response = raw(&app, reqwest::Method::POST, "Patient", content_type, body.clone()).await;
        assert_outcome(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "application/fhir+json").await;
    }
    let response = app
        .client
        .post(app.url("Patient"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_outcome(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "no Content-Type").await;
    let ok = raw(
        &app,
        reqwest::Method::POST,
        "Patient",
        "application/json; charset=utf-8",
        body,
    )
    .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn deep_nesting_and_huge_bodies() {
    let app = spawn_app_with(|config| config.max_body_bytes = 1024 * 1024).await;
    let very_deep = format!(
        "{{\"resourceType\": \"Patient\", \"x\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let response = raw(
        &app,
        reqwest::Method::POST,
        "Patient",
        "application/fhir+json",
        very_deep.into_bytes(),
    )
    .await;
    assert_outcome(response, StatusCode::BAD_REQUEST, "nested too deeply").await;
    let huge = json!({"resourceType": "Patient", "gender": "x".repeat(10 * 1024 * 1024)})
        .to_string()
        .into_bytes();
    let response = raw(&app, reqwest::Method::POST, "Patient", "application/fhir+json", huge).await;
    assert_outcome(response, StatusCode::PAYLOAD_TOO_LARGE, "limit of 1048576 bytes").await;
    still_up(&app).await;
}
