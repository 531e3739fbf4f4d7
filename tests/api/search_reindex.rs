//! Custom SearchParameters: new writes are indexed by them as soon as they are stored;
//! earlier resources after `hearth reindex` (the library call the CLI makes).

use serde_json::json;

use crate::helpers::{spawn_app_with, TestApp};
use crate::search_support::{ids, names, put_all};

#[tokio::test]
async fn custom_search_parameter_after_reindex() {
    let mut setup = None;
    let first: TestApp =
        spawn_app_with(|config| setup = Some((config.database_url.clone(), config.store.clone())))
            .await;
    let (url, options) = setup.expect("configuration seen");
    put_all(
        &first,
        &[
            json!({"resourceType": "Patient", "id": "p1",
                   "name": [{"use": "nickname", "given": ["Bobby"]}, {"family": "Smith"}]}),
            json!({"resourceType": "Patient", "id": "p2", "name": [{"given": ["Bobby"]}]}),
            json!({"resourceType": "SearchParameter", "id": "nickname",
                   "url": "http://example.org/SearchParameter/patient-nickname",
                   "name": "nickname", "status": "active", "description": "Nickname",
                   "code": "nickname", "base": ["Patient"], "type": "string",
                   "expression": "Patient.name.where(use = 'nickname').given"}),
        ],
    )
    .await;
    // Known at once, but the Patients were written before it: not indexed by it yet.
    assert!(ids(&first, "Patient?nickname=bob").await.is_empty());
    let indexed = hearth::reindex(&url, &options, None)
        .await
        .expect("reindex");
    assert!(indexed >= 3, "indexed {indexed}");
    let second = spawn_app_with(|config| {
        config.database_url = url.clone();
        config.store = options.clone();
    })
    .await;
    assert_eq!(ids(&second, "Patient?nickname=bob").await, names(&["p1"]));
    assert_eq!(ids(&second, "Patient?family=smith").await, names(&["p1"]));
}

#[tokio::test]
async fn posted_search_parameter_indexes_new_writes_at_once() {
    let app = crate::helpers::spawn_app().await;
    put_all(
        &app,
        &[json!({"resourceType": "Patient", "id": "before",
                 "name": [{"use": "nickname", "given": ["Bobby"]}]})],
    )
    .await;
    app.create(&json!({"resourceType": "SearchParameter",
        "url": "http://example.org/SearchParameter/patient-nickname",
        "name": "nickname", "status": "active", "description": "Nickname",
        "code": "nickname", "base": ["Patient"], "type": "string",
        "expression": "Patient.name.where(use = 'nickname').given"}))
        .await;
    app.create(&json!({"resourceType": "SearchParameter",
        "url": "http://example.org/SearchParameter/patient-retired",
        "name": "retired", "status": "retired", "description": "Retired",
        "code": "retired", "base": ["Patient"], "type": "string",
        "expression": "Patient.name.family"}))
        .await;
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "after",
                   "name": [{"use": "nickname", "given": ["Bobby"]}]}),
            json!({"resourceType": "Patient", "id": "other", "name": [{"given": ["Bobby"]}]}),
        ],
    )
    .await;
    // Written before the parameter existed: found only after a reindex.
    assert_eq!(ids(&app, "Patient?nickname=bob").await, names(&["after"]));
    let (_, metadata) = crate::helpers::status_and_json(app.get("metadata").await).await;
    let patient = metadata["rest"][0]["resource"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["type"] == "Patient"))
        .expect("Patient in metadata")
        .clone();
    let params: Vec<&str> = patient["searchParam"]
        .as_array()
        .expect("searchParam")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(params.contains(&"nickname"), "{params:?}");
    assert!(!params.contains(&"retired"), "{params:?}");
}

fn search_parameter(code: &str, expression: &str, base: &str, kind: &str) -> serde_json::Value {
    json!({"resourceType": "SearchParameter",
        "url": format!("http://example.org/SearchParameter/{code}"),
        "name": code, "status": "active", "description": code,
        "code": code, "base": [base], "type": kind, "expression": expression})
}

#[tokio::test]
async fn unusable_search_parameters_are_refused() {
    use crate::helpers::{assert_outcome, status_and_json};
    use reqwest::StatusCode;
    let app = crate::helpers::spawn_app().await;
    let broken = "Patient.name.where(use = 'nickname'";
    let outcome = assert_outcome(
        app.post(
            "SearchParameter",
            &search_parameter("broken", broken, "Patient", "string"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "does not parse",
    )
    .await;
    assert!(outcome.to_string().contains(broken), "{outcome}");
    let mut put = search_parameter("broken", broken, "Patient", "string");
    put["id"] = json!("broken");
    assert_outcome(
        app.put("SearchParameter/broken", &put).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        broken,
    )
    .await;
    let outcome = assert_outcome(
        app.post(
            "SearchParameter",
            &search_parameter("elsewhere", "Patient.name", "Nonsense", "string"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Nonsense",
    )
    .await;
    assert!(outcome.to_string().contains("base"), "{outcome}");
    // A bad parameter fails its whole transaction: the Patient beside it is not written.
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1"},
         "request": {"method": "PUT", "url": "Patient/p1"}},
        {"resource": search_parameter("broken", broken, "Patient", "string"),
         "request": {"method": "POST", "url": "SearchParameter"}},
    ]});
    let (status, outcome) = status_and_json(app.post("", &transaction).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert!(outcome.to_string().contains(broken), "{outcome}");
    assert_eq!(app.get("Patient/p1").await.status(), StatusCode::NOT_FOUND);
    assert!(ids(&app, "SearchParameter").await.is_empty());
    // Drafts are not put to use, so they are stored as they are.
    let mut draft = search_parameter("draft", broken, "Patient", "string");
    draft["status"] = json!("draft");
    assert_eq!(
        app.post("SearchParameter", &draft).await.status(),
        StatusCode::CREATED
    );
}
