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
