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
        app.post("Patinet", &json!({"resourceType": "Patinet"}))
            .await,
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
        app.put("Patient/a", &json!({"resourceType": "Patient"}))
            .await,
        StatusCode::BAD_REQUEST,
        "must carry the resource's id",
    )
    .await;
    assert_outcome(
        app.send(reqwest::Method::PATCH, "Patient/a", &json!({}))
            .await,
        StatusCode::METHOD_NOT_ALLOWED,
        "PATCH",
    )
    .await;
    assert_outcome(
        app.get("no/such/route/here").await,
        StatusCode::NOT_FOUND,
        "",
    )
    .await;
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
        let response = raw(
            &app,
            reqwest::Method::POST,
            "Patient",
            content_type,
            body.clone(),
        )
        .await;
        assert_outcome(
            response,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/fhir+json",
        )
        .await;
    }
    let response = app
        .client
        .post(app.url("Patient"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_outcome(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "no Content-Type",
    )
    .await;
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
    let response = raw(
        &app,
        reqwest::Method::POST,
        "Patient",
        "application/fhir+json",
        huge,
    )
    .await;
    assert_outcome(
        response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "limit of 1048576 bytes",
    )
    .await;
    still_up(&app).await;
}

#[tokio::test]
async fn schema_violations_are_each_reported_at_their_location() {
    let app = spawn_app().await;
    let patient = json!({
        "resourceType": "Patient",
        "active": "yes",
        "birthDate": "2025-13-45",
        "favouriteColour": "blue",
        "name": [{"given": ["Ada", 7]}],
    });
    let body = assert_outcome(
        app.post("Patient", &patient).await,
        StatusCode::BAD_REQUEST,
        "",
    )
    .await;
    let located: Vec<String> = body["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| {
            format!(
                "{} {}",
                issue["expression"][0].as_str().unwrap_or("?"),
                issue["code"].as_str().unwrap_or("?")
            )
        })
        .collect();
    for expected in [
        "Patient.active",
        "Patient.birthDate",
        "Patient.favouriteColour",
        "Patient.name[0].given[1]",
    ] {
        assert!(
            located.iter().any(|l| l.starts_with(expected)),
            "{expected} missing from {located:?}"
        );
    }
    let text = body.to_string();
    assert!(!text.contains("oneOf"), "no generic schema message: {text}");
    still_up(&app).await;
}

#[tokio::test]
async fn nesting_and_giant_strings_inside_the_body_limit() {
    let app = spawn_app().await;
    let mut nested = json!({"url": "http://example.org/leaf", "valueString": "x"});
    for level in 0..50 {
        nested = json!({"url": format!("http://example.org/level{level}"), "extension": [nested]});
    }
    // 50 levels of extensions (100 levels of JSON) are legal FHIR: stored and read back whole.
    let id = app
        .create(&json!({"resourceType": "Patient", "extension": [nested.clone()]}))
        .await;
    let (_, read) = crate::helpers::status_and_json(app.get(&format!("Patient/{id}")).await).await;
    assert_eq!(read["extension"][0], nested);
    // 100 levels of bare arrays are not.
    let arrays = format!(
        "{{\"resourceType\": \"Patient\", \"extension\": {}{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    let response = raw(
        &app,
        reqwest::Method::POST,
        "Patient",
        "application/fhir+json",
        arrays.into_bytes(),
    )
    .await;
    assert_outcome(response, StatusCode::BAD_REQUEST, "").await;
    // A 10 MB string where a code belongs.
    let huge = json!({"resourceType": "Patient", "gender": "x".repeat(10 * 1024 * 1024)});
    let body = assert_outcome(
        app.post("Patient", &huge).await,
        StatusCode::BAD_REQUEST,
        "",
    )
    .await;
    assert_eq!(body["issue"][0]["expression"][0], "Patient.gender");
    assert!(
        body.to_string().len() < 10_000,
        "the error does not echo the 10 MB value"
    );
    still_up(&app).await;
}

#[tokio::test]
async fn validate_operation_reports_without_storing() {
    let app = spawn_app().await;
    let (status, ok) = crate::helpers::status_and_json(
        app.post(
            "Patient/$validate",
            &json!({"resourceType": "Patient", "active": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ok["issue"][0]["severity"], "information");
    let invalid = json!({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {"resourceType": "Patient", "birthDate": "yesterday"}}]});
    let (status, outcome) =
        crate::helpers::status_and_json(app.post("Patient/$validate", &invalid).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outcome["issue"][0]["severity"], "error");
    assert_eq!(outcome["issue"][0]["expression"][0], "Patient.birthDate");
    let (_, history) = crate::helpers::status_and_json(app.get("Patient/_history").await).await;
    assert_eq!(
        history["entry"].as_array().map_or(0, Vec::len),
        0,
        "$validate stores nothing"
    );
}

#[tokio::test]
async fn control_characters_are_refused_not_stored_or_crashed_on() {
    let app = spawn_app().await;
    let body = r#"{"resourceType": "Patient", "name": [{"text": "nul\u0000here"}]}"#;
    let response = raw(
        &app,
        reqwest::Method::POST,
        "Patient",
        "application/fhir+json",
        body.as_bytes().to_vec(),
    )
    .await;
    let outcome = assert_outcome(response, StatusCode::BAD_REQUEST, "control characters").await;
    assert_eq!(outcome["issue"][0]["expression"][0], "Patient.name[0].text");
    still_up(&app).await;
}
