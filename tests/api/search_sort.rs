//! `_sort`: several keys, descending, ties broken by id, and paging that keeps the order.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, status_and_json, TestApp};
use crate::search_support::{link, names, observation, put_all};

/// Match ids in Bundle order, following `next` links to the end.
async fn ordered(app: &TestApp, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = Some(query.to_owned());
    while let Some(url) = next {
        let path = url
            .split_once("/Observation")
            .map_or(url.clone(), |(_, rest)| format!("Observation{rest}"));
        let (status, bundle) = status_and_json(app.get(&path).await).await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        ids.extend(
            bundle["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned)),
        );
        next = link(&bundle, "next");
    }
    ids
}

#[tokio::test]
async fn sort_keys_directions_ties_and_paging() {
    let app = spawn_app().await;
    let at = |id: &str, when: Option<&str>, code: &str| {
        let extra = match when {
            Some(when) => json!({"effectiveDateTime": when}),
            None => json!({}),
        };
        observation(id, "Patient/p1", ("http://loinc.org", code), extra)
    };
    put_all(
        &app,
        &[
            at("a", Some("2025-01-10"), "2"),
            at("b", Some("2025-03-01"), "1"),
            at("c", Some("2025-03-01"), "2"),
            at("d", None, "1"),
            at("e", Some("2024-06-01"), "1"),
        ],
    )
    .await;
    assert_eq!(
        ordered(&app, "Observation?_sort=date").await,
        names(&["e", "a", "b", "c", "d"])
    );
    assert_eq!(
        ordered(&app, "Observation?_sort=-date").await,
        names(&["b", "c", "a", "e", "d"])
    );
    assert_eq!(
        ordered(&app, "Observation?_sort=-date&_count=2").await,
        names(&["b", "c", "a", "e", "d"])
    );
    assert_eq!(
        ordered(&app, "Observation?_sort=code,-date&_count=2").await,
        names(&["b", "e", "d", "c", "a"])
    );
    assert_eq!(
        ordered(&app, "Observation?_sort=-_id&_count=3").await,
        names(&["e", "d", "c", "b", "a"])
    );
    assert_eq!(
        app.get("Observation?_sort=nonsense").await.status(),
        StatusCode::BAD_REQUEST
    );
}
