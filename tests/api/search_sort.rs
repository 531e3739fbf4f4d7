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

/// `Type/id` of each match across every page, and the last page's Bundle.
async fn typed_pages(app: &TestApp, query: &str) -> (Vec<String>, serde_json::Value) {
    let mut found = Vec::new();
    let mut next = Some(query.to_owned());
    let mut last = serde_json::Value::Null;
    while let Some(url) = next {
        let path = url.strip_prefix(&app.base).unwrap_or(&url).to_owned();
        let (status, bundle) = status_and_json(app.get(&path).await).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {bundle}");
        found.extend(typed(&bundle));
        next = link(&bundle, "next");
        last = bundle;
    }
    (found, last)
}

fn typed(bundle: &serde_json::Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let r = &e["resource"];
            Some(format!(
                "{}/{}",
                r["resourceType"].as_str()?,
                r["id"].as_str()?
            ))
        })
        .collect()
}

#[tokio::test]
async fn system_search_sorts_by_common_parameters_and_pages_stably() {
    let app = spawn_app().await;
    let patient = |id: &str| json!({"resourceType": "Patient", "id": id});
    let obs =
        |id: &str, subject: &str| observation(id, subject, ("http://loinc.org", "1"), json!({}));
    // Written in this order, so lastUpdated follows it.
    put_all(
        &app,
        &[
            patient("b"),
            obs("a", "Patient/b"),
            patient("a"),
            obs("c", "Patient/a"),
        ],
    )
    .await;
    let types = "?_type=Patient,Observation";
    let (status, first) = status_and_json(
        app.get(&format!("{types}&_sort=_lastUpdated&_count=2"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(typed(&first), names(&["Patient/b", "Observation/a"]));
    // Written after the first page: it comes last, and nothing repeats or goes missing.
    put_all(&app, &[patient("z")]).await;
    let next = link(&first, "next").expect("next");
    let (rest, _) = typed_pages(&app, &next).await;
    assert_eq!(rest, names(&["Patient/a", "Observation/c", "Patient/z"]));

    let (status, newest) = status_and_json(
        app.get(&format!("{types}&_sort=-_lastUpdated&_count=2"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{newest}");
    assert_eq!(typed(&newest), names(&["Patient/z", "Observation/c"]));
    // Newer than the first page: going forward never shows it; going back stays in order.
    put_all(&app, &[obs("y", "Patient/a")]).await;
    let next = link(&newest, "next").expect("next");
    let (status, second) = status_and_json(app.get(&next.replace(&app.base, "")).await).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(typed(&second), names(&["Patient/a", "Observation/a"]));
    let back = link(&second, "previous").expect("previous");
    let (_, previous) = status_and_json(app.get(&back.replace(&app.base, "")).await).await;
    assert_eq!(typed(&previous), names(&["Patient/z", "Observation/c"]));
    let (rest, _) = typed_pages(&app, &next).await;
    assert_eq!(rest, names(&["Patient/a", "Observation/a", "Patient/b"]));

    // By id, then type.
    let (by_id, _) = typed_pages(&app, &format!("{types}&_sort=_id&_count=2")).await;
    assert_eq!(
        by_id,
        names(&[
            "Observation/a",
            "Patient/a",
            "Patient/b",
            "Observation/c",
            "Observation/y",
            "Patient/z"
        ])
    );
    let (by_id, _) = typed_pages(&app, &format!("{types}&_sort=-_id&_count=4")).await;
    assert_eq!(
        by_id,
        names(&[
            "Patient/z",
            "Observation/y",
            "Observation/c",
            "Patient/b",
            "Observation/a",
            "Patient/a"
        ])
    );
    // A parameter both types define the same way (clinical-patient on Observation and
    // Condition) sorts; one only some types have does not.
    put_all(
        &app,
        &[json!({"resourceType": "Condition", "id": "k",
                 "subject": {"reference": "Patient/a"}})],
    )
    .await;
    let (by_patient, _) =
        typed_pages(&app, "?_type=Observation,Condition&_sort=-patient,_id").await;
    assert_eq!(
        by_patient,
        names(&[
            "Observation/a",
            "Observation/c",
            "Condition/k",
            "Observation/y"
        ])
    );
    assert_eq!(
        app.get(&format!("{types}&_sort=gender")).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn last_updated_window_alone_pages_in_change_order() {
    let app = spawn_app().await;
    let patient = |id: &str| json!({"resourceType": "Patient", "id": id});
    put_all(&app, &[patient("c"), patient("a"), patient("b")]).await;
    let query = "Patient?_lastUpdated=ge2000-01-01&_count=2";
    let (status, first) = status_and_json(app.get(query).await).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(typed(&first), names(&["Patient/c", "Patient/a"]));
    // A change after the first page comes last; an update moves its resource there too.
    put_all(&app, &[patient("0"), patient("c")]).await;
    let next = link(&first, "next").expect("next");
    let (rest, last) = typed_pages(&app, &next).await;
    assert_eq!(rest, names(&["Patient/b", "Patient/0", "Patient/c"]));
    let back = link(&last, "previous").expect("previous");
    let (_, previous) = status_and_json(app.get(&back.replace(&app.base, "")).await).await;
    assert_eq!(typed(&previous), names(&["Patient/b", "Patient/0"]));
    // With another criterion, id order as before.
    assert_eq!(
        typed_pages(&app, "Patient?_lastUpdated=ge2000-01-01&_id=c,a,b&_count=2")
            .await
            .0,
        names(&["Patient/a", "Patient/b", "Patient/c"])
    );
}

/// Everything that changed, across every type, oldest first: a sync client's feed. Served by
/// the `(last_updated, res_type, res_id)` index, and pages under writes as typed lists do.
#[tokio::test]
async fn every_type_sorted_by_last_updated_pages_in_write_order() {
    let app = spawn_app().await;
    let patient = |id: &str| json!({"resourceType": "Patient", "id": id});
    let obs =
        |id: &str, subject: &str| observation(id, subject, ("http://loinc.org", "1"), json!({}));
    put_all(&app, &[patient("m"), obs("k", "Patient/m"), patient("l")]).await;
    let (status, page) = status_and_json(app.get("?_sort=_lastUpdated&_count=2").await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(typed(&page), names(&["Patient/m", "Observation/k"]));
    let (all, _) = typed_pages(&app, "?_sort=_lastUpdated&_count=2").await;
    assert_eq!(all, names(&["Patient/m", "Observation/k", "Patient/l"]));
    let (newest, _) = typed_pages(&app, "?_sort=-_lastUpdated&_count=2").await;
    assert_eq!(newest, names(&["Patient/l", "Observation/k", "Patient/m"]));
}

#[tokio::test]
async fn a_type_list_sorted_by_last_updated_pages_in_write_order() {
    let app = spawn_app().await;
    let patient = |id: &str| json!({"resourceType": "Patient", "id": id});
    let obs =
        |id: &str, subject: &str| observation(id, subject, ("http://loinc.org", "1"), json!({}));
    let condition =
        json!({"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/m"}});
    put_all(
        &app,
        &[
            patient("m"),
            obs("k", "Patient/m"),
            condition,
            patient("l"),
            obs("j", "Patient/l"),
        ],
    )
    .await;
    let query = "?_type=Observation,Patient,Observation&_sort=_lastUpdated&_count=2";
    let (oldest, _) = typed_pages(&app, query).await;
    assert_eq!(
        oldest,
        names(&["Patient/m", "Observation/k", "Patient/l", "Observation/j"])
    );
    let (newest, last) = typed_pages(
        &app,
        "?_type=Patient,Observation&_sort=-_lastUpdated&_count=3",
    )
    .await;
    assert_eq!(
        newest,
        names(&["Observation/j", "Patient/l", "Observation/k", "Patient/m"])
    );
    // Back from the last page: the page before it, in the same order.
    let previous = link(&last, "previous").expect("a previous link on the last page");
    let path = previous.strip_prefix(&app.base).unwrap_or(&previous);
    let (status, page) = status_and_json(app.get(path).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        typed(&page),
        names(&["Observation/j", "Patient/l", "Observation/k"])
    );
    // Other criteria still apply within each type.
    let (status, page) = status_and_json(
        app.get("?_type=Patient,Observation&_id=k,l&_sort=_lastUpdated")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(typed(&page), names(&["Observation/k", "Patient/l"]));
}
