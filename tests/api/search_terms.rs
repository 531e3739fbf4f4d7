//! Token `:in` / `:not-in` against stored ValueSets, `:of-type`, `:text`, and the modifiers
//! a token refuses.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_outcome, spawn_app};
use crate::search_support::{ids, names, observation, put_all};

const LOINC: &str = "http://loinc.org";

#[tokio::test]
async fn token_in_and_not_in_use_stored_value_sets() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[
            json!({"resourceType": "ValueSet", "id": "expanded", "status": "active",
                   "url": "http://example.org/vs/expanded",
                   "expansion": {"timestamp": "2024-01-01T00:00:00Z", "contains": [
                       {"system": LOINC, "code": "1"},
                       {"abstract": true, "code": "group", "contains": [
                           {"system": LOINC, "code": "3"}]}]}}),
            json!({"resourceType": "ValueSet", "id": "composed", "status": "active",
                   "url": "http://example.org/vs/composed",
                   "compose": {"include": [{"system": LOINC, "concept": [{"code": "2"}, {"code": "3"}]}],
                               "exclude": [{"system": LOINC, "concept": [{"code": "3"}]}]}}),
            json!({"resourceType": "ValueSet", "id": "filtered", "status": "active",
                   "url": "http://example.org/vs/filtered",
                   "compose": {"include": [{"system": LOINC,
                       "filter": [{"property": "concept", "op": "is-a", "value": "1"}]}]}}),
            observation("o1", "Patient/p", (LOINC, "1"), json!({})),
            observation("o2", "Patient/p", (LOINC, "2"), json!({})),
            observation("o3", "Patient/p", (LOINC, "3"), json!({})),
            observation("o4", "Patient/p", ("http://snomed.info/sct", "1"), json!({})),
        ],
    )
    .await;
    assert_eq!(
        ids(&app, "Observation?code:in=http://example.org/vs/expanded").await,
        names(&["o1", "o3"])
    );
    assert_eq!(
        ids(&app, "Observation?code:in=http://example.org/vs/composed").await,
        names(&["o2"])
    );
    assert_eq!(
        ids(
            &app,
            "Observation?code:in=http://example.org/vs/composed,http://example.org/vs/expanded"
        )
        .await,
        names(&["o1", "o2", "o3"])
    );
    assert_eq!(
        ids(
            &app,
            "Observation?code:not-in=http://example.org/vs/expanded"
        )
        .await,
        names(&["o2", "o4"])
    );
    assert_outcome(
        app.get("Observation?code:in=http://example.org/vs/missing")
            .await,
        StatusCode::BAD_REQUEST,
        "no ValueSet with url 'http://example.org/vs/missing' is stored",
    )
    .await;
    assert_outcome(
        app.get("Observation?code:in=http://example.org/vs/filtered")
            .await,
        StatusCode::BAD_REQUEST,
        "store it with an expansion",
    )
    .await;
}

#[tokio::test]
async fn token_of_type_text_and_refused_modifiers() {
    let app = spawn_app().await;
    let v2 = "http://terminology.hl7.org/CodeSystem/v2-0203";
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "p1", "identifier": [
                {"type": {"coding": [{"system": v2, "code": "MR"}], "text": "Medical record"},
                 "system": "urn:a", "value": "123"}]}),
            json!({"resourceType": "Patient", "id": "p2", "identifier": [
                {"type": {"coding": [{"system": v2, "code": "SS"}]},
                 "system": "urn:b", "value": "123"}]}),
            json!({"resourceType": "Patient", "id": "p3", "identifier": [
                {"system": "urn:a", "value": "123"}]}),
            observation("o1", "Patient/p1", (LOINC, "1"),
                json!({"code": {"coding": [{"system": LOINC, "code": "1", "display": "Body Weight"}]}})),
        ],
    )
    .await;
    assert_eq!(
        ids(&app, &format!("Patient?identifier:of-type={v2}|MR|123")).await,
        names(&["p1"])
    );
    assert_eq!(
        ids(&app, &format!("Patient?identifier:of-type={v2}|SS|123")).await,
        names(&["p2"])
    );
    assert!(
        ids(&app, &format!("Patient?identifier:of-type={v2}|MR|999"))
            .await
            .is_empty()
    );
    // The type's codes are not identifier values.
    assert!(ids(&app, "Patient?identifier=MR").await.is_empty());
    assert_eq!(
        ids(&app, "Patient?identifier=123").await,
        names(&["p1", "p2", "p3"])
    );
    assert_outcome(
        app.get("Patient?identifier:of-type=MR|123").await,
        StatusCode::BAD_REQUEST,
        "system|code|value",
    )
    .await;
    assert_eq!(
        ids(&app, "Observation?code:text=body").await,
        names(&["o1"])
    );
    assert_outcome(
        app.get("Observation?code:below=http://loinc.org|1").await,
        StatusCode::BAD_REQUEST,
        "hierarchy",
    )
    .await;
}
