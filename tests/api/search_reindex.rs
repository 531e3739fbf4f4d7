//! Custom SearchParameters take effect after `hearth reindex` (the library call the CLI makes).

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
            json!({"resourceType": "SearchParameter", "id": "nickname",
                   "url": "http://example.org/SearchParameter/patient-nickname",
                   "name": "nickname", "status": "active", "description": "Nickname",
                   "code": "nickname", "base": ["Patient"], "type": "string",
                   "expression": "Patient.name.where(use = 'nickname').given"}),
            json!({"resourceType": "Patient", "id": "p1",
                   "name": [{"use": "nickname", "given": ["Bobby"]}, {"family": "Smith"}]}),
            json!({"resourceType": "Patient", "id": "p2", "name": [{"given": ["Bobby"]}]}),
        ],
    )
    .await;
    // Unknown before: ignored, so every Patient matches.
    assert_eq!(
        ids(&first, "Patient?nickname=bob").await,
        names(&["p1", "p2"])
    );
    let indexed = hearth::reindex(&url, &options).await.expect("reindex");
    assert!(indexed >= 3, "indexed {indexed}");
    let second = spawn_app_with(|config| {
        config.database_url = url.clone();
        config.store = options.clone();
    })
    .await;
    assert_eq!(ids(&second, "Patient?nickname=bob").await, names(&["p1"]));
    assert_eq!(ids(&second, "Patient?family=smith").await, names(&["p1"]));
}
