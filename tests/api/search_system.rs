//! Search across types (`GET /?_type=…`, `POST /_search`), `previous` links, `_summary=true`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_outcome, spawn_app, status_and_json, TestApp};
use crate::search_support::{link, match_ids, names, observation, put_all};

/// `Type/id` of each match, in Bundle order.
fn typed(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .filter_map(|e| {
            Some(format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str()?,
                e["resource"]["id"].as_str()?
            ))
        })
        .collect()
}

async fn get(app: &TestApp, path: &str) -> Value {
    let (status, bundle) = status_and_json(app.get(path).await).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {bundle}");
    bundle
}

/// The path of a link, relative to the server.
fn relative(app: &TestApp, url: &str) -> String {
    url.strip_prefix(&app.base).unwrap_or(url).to_owned()
}

#[tokio::test]
async fn system_search_with_common_parameters() {
    let app = spawn_app().await;
    let tagged = json!({"tag": [{"system": "urn:t", "code": "vip"}],
                        "profile": ["http://example.org/p"], "source": "urn:src:a",
                        "security": [{"system": "urn:s", "code": "R"}]});
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "p1", "meta": tagged}),
            json!({"resourceType": "Patient", "id": "p2"}),
            observation(
                "o1",
                "Patient/p1",
                ("http://loinc.org", "1"),
                json!({"meta": tagged}),
            ),
            observation("o2", "Patient/p1", ("http://loinc.org", "1"), json!({})),
            json!({"resourceType": "Practitioner", "id": "d1", "meta": tagged}),
        ],
    )
    .await;
    let bundle = get(&app, "?_type=Patient,Observation&_tag=urn:t|vip").await;
    assert_eq!(typed(&bundle), names(&["Observation/o1", "Patient/p1"]));
    assert_eq!(bundle["total"], 2);
    let every = get(&app, "?_tag=vip").await;
    assert_eq!(
        typed(&every),
        names(&["Observation/o1", "Patient/p1", "Practitioner/d1"])
    );
    for query in [
        "?_profile=http://example.org/p",
        "?_security=urn:s|R",
        "?_source=urn:src:a",
    ] {
        assert_eq!(
            typed(&get(&app, query).await),
            names(&["Observation/o1", "Patient/p1", "Practitioner/d1"]),
            "{query}"
        );
    }
    assert_eq!(
        typed(&get(&app, "?_type=Patient,Observation&_id=p2,o2").await),
        names(&["Observation/o2", "Patient/p2"])
    );
    assert_eq!(
        typed(&get(&app, "?_type=Observation&_tag:not=vip").await),
        names(&["Observation/o2"])
    );
    // Paging across types keeps (type, id) order, forward and back.
    let first = get(&app, "?_type=Patient,Observation,Practitioner&_count=2").await;
    assert_eq!(typed(&first), names(&["Observation/o1", "Observation/o2"]));
    assert!(link(&first, "previous").is_none());
    let next = link(&first, "next").expect("next link");
    let second = get(&app, &relative(&app, &next)).await;
    assert_eq!(typed(&second), names(&["Patient/p1", "Patient/p2"]));
    assert_eq!(link(&second, "self"), Some(next.clone()));
    let back = link(&second, "previous").expect("previous link");
    assert_eq!(
        typed(&get(&app, &relative(&app, &back)).await),
        names(&["Observation/o1", "Observation/o2"])
    );
    // POST /_search takes _type in the form.
    let response = app
        .client
        .post(app.url("_search"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("_type=Patient&_tag=vip")
        .send()
        .await
        .expect("sent");
    let (status, bundle) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(typed(&bundle), names(&["Patient/p1"]));
    assert_outcome(
        app.get("?_type=Patient,Nonsense").await,
        StatusCode::BAD_REQUEST,
        "Nonsense",
    )
    .await;
    // A parameter only some of the types have is not a system-level one.
    let response = app
        .client
        .get(app.url("?_type=Patient,Observation&gender=male"))
        .header("prefer", "handling=strict")
        .send()
        .await
        .expect("sent");
    assert_outcome(response, StatusCode::BAD_REQUEST, "gender").await;
}

#[tokio::test]
async fn previous_links_walk_back_stably() {
    let app = spawn_app().await;
    let patient = |id: &str| json!({"resourceType": "Patient", "id": id, "gender": "female"});
    let all: Vec<Value> = ["a", "c", "e", "g", "i", "k", "m"]
        .iter()
        .map(|id| patient(id))
        .collect();
    put_all(&app, &all).await;
    let mut pages = Vec::new();
    let mut next = Some("Patient?gender=female&_count=3".to_owned());
    while let Some(url) = next {
        let bundle = get(&app, &relative(&app, &url)).await;
        next = link(&bundle, "next");
        pages.push(bundle);
    }
    assert_eq!(pages.len(), 3);
    assert!(link(&pages[0], "previous").is_none());
    // Written before going back: one before the first page's end, one inside page two.
    put_all(&app, &[patient("b"), patient("h")]).await;
    let back = link(&pages[2], "previous").expect("previous of page 3");
    let page2 = get(&app, &relative(&app, &back)).await;
    assert_eq!(match_ids(&page2), names(&["h", "i", "k"]));
    let back = link(&page2, "previous").expect("previous of page 2");
    let page1 = get(&app, &relative(&app, &back)).await;
    assert_eq!(match_ids(&page1), names(&["c", "e", "g"]));
    let back = link(&page1, "previous").expect("previous of page 1");
    let page0 = get(&app, &relative(&app, &back)).await;
    assert_eq!(match_ids(&page0), names(&["a", "b"]));
    assert!(link(&page0, "previous").is_none());
    let forward = link(&page0, "next").expect("next from the start");
    assert_eq!(
        match_ids(&get(&app, &relative(&app, &forward)).await),
        names(&["c", "e", "g"])
    );
    // Sorted searches go back in sort order.
    let sorted = get(&app, "Patient?_sort=-_id&_count=4").await;
    let next = link(&sorted, "next").expect("next");
    let second = get(&app, &relative(&app, &next)).await;
    assert_eq!(match_ids(&second), names(&["b", "c", "e", "g"]));
    let back = link(&second, "previous").expect("previous");
    assert_eq!(
        match_ids(&get(&app, &relative(&app, &back)).await),
        names(&["h", "i", "k", "m"])
    );
    // $everything pages back too.
    put_all(
        &app,
        &[
            observation("o1", "Patient/a", ("http://loinc.org", "1"), json!({})),
            observation("o2", "Patient/a", ("http://loinc.org", "1"), json!({})),
        ],
    )
    .await;
    let first = get(&app, "Patient/a/$everything?_count=2").await;
    let next = link(&first, "next").expect("next");
    let last = get(&app, &relative(&app, &next)).await;
    assert_eq!(typed(&last), names(&["Patient/a"]));
    let back = link(&last, "previous").expect("previous");
    assert_eq!(
        typed(&get(&app, &relative(&app, &back)).await),
        names(&["Observation/o1", "Observation/o2"])
    );
}

#[tokio::test]
async fn summary_true_keeps_summary_elements() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[observation(
            "o1",
            "Patient/p1",
            ("http://loinc.org", "1"),
            json!({"text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
                   "valueQuantity": {"value": 5, "unit": "mg"},
                   "note": [{"text": "private"}],
                   "interpretation": [{"text": "high"}],
                   "effectiveDateTime": "2024-01-01",
                   "_effectiveDateTime": {"extension": [{"url": "urn:x", "valueString": "y"}]}}),
        )],
    )
    .await;
    let bundle = get(&app, "Observation?_summary=true").await;
    let resource = &bundle["entry"][0]["resource"];
    let mut keys: Vec<&str> = resource
        .as_object()
        .expect("resource")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "_effectiveDateTime",
            "code",
            "effectiveDateTime",
            "id",
            "meta",
            "resourceType",
            "status",
            "subject",
            "valueQuantity"
        ]
    );
    let tags = resource["meta"]["tag"].as_array().expect("tags");
    assert!(tags.iter().any(|t| t["code"] == "SUBSETTED"), "{resource}");
    assert_outcome(
        app.get("Observation?_summary=maybe").await,
        StatusCode::BAD_REQUEST,
        "true, count",
    )
    .await;
}
