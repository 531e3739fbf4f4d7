//! The searchset Bundle: unknown parameters, paging under concurrent inserts, index upkeep on
//! update and delete, compartments and POST _search.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_outcome, spawn_app, status_and_json};
use crate::search_support::{ids, link, match_ids, names, observation, put_all};

#[tokio::test]
async fn unknown_parameters_are_reported_or_refused() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[json!({"resourceType": "Patient", "id": "p1", "gender": "female"})],
    )
    .await;
    let (status, bundle) =
        status_and_json(app.get("Patient?gender=female&colour=blue").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(match_ids(&bundle), names(&["p1"]));
    let outcome = bundle["entry"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["search"]["mode"] == "outcome"))
        .expect("an outcome entry");
    assert!(outcome["resource"].to_string().contains("colour"));
    let self_link = link(&bundle, "self").expect("self link");
    assert!(
        self_link.contains("gender=female") && !self_link.contains("colour"),
        "{self_link}"
    );
    assert_eq!(bundle["total"], 1);

    let strict = reqwest::Client::new()
        .get(app.url("Patient?colour=blue"))
        .header("prefer", "handling=strict")
        .send()
        .await
        .expect("sent");
    assert_outcome(strict, StatusCode::BAD_REQUEST, "colour").await;
    assert_outcome(
        app.get("Patient?birthdate=soon").await,
        StatusCode::BAD_REQUEST,
        "birthdate",
    )
    .await;
}

#[tokio::test]
async fn paging_is_stable_under_concurrent_inserts() {
    let app = spawn_app().await;
    let patient = |id: &str| json!({"resourceType": "Patient", "id": id, "gender": "male"});
    let first: Vec<_> = ["b", "d", "f", "h", "j", "l", "n"]
        .iter()
        .map(|id| patient(id))
        .collect();
    put_all(&app, &first).await;
    let mut seen = Vec::new();
    let mut next = Some("Patient?gender=male&_count=3".to_owned());
    let mut pages = 0;
    while let Some(url) = next {
        let url = url
            .split_once("/Patient")
            .map_or(url.clone(), |(_, rest)| format!("Patient{rest}"));
        let (status, bundle) = status_and_json(app.get(&url).await).await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        seen.extend(match_ids(&bundle));
        next = link(&bundle, "next");
        if pages == 0 {
            // Written between pages: one sorts before the cursor, one after it.
            put_all(&app, &[patient("a"), patient("m")]).await;
        }
        pages += 1;
    }
    assert_eq!(seen, names(&["b", "d", "f", "h", "j", "l", "m", "n"]));
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn index_follows_update_and_delete() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[observation(
            "o",
            "Patient/p1",
            ("http://loinc.org", "1"),
            json!({}),
        )],
    )
    .await;
    assert_eq!(ids(&app, "Observation?code=1").await, names(&["o"]));
    put_all(
        &app,
        &[observation(
            "o",
            "Patient/p1",
            ("http://loinc.org", "2"),
            json!({}),
        )],
    )
    .await;
    assert_eq!(ids(&app, "Observation?code=1").await, names(&[]));
    assert_eq!(ids(&app, "Observation?code=2").await, names(&["o"]));
    app.delete("Observation/o").await;
    assert_eq!(ids(&app, "Observation?code=2").await, names(&[]));
    assert_eq!(ids(&app, "Observation").await, names(&[]));
}

#[tokio::test]
async fn compartment_and_post_search() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "p1"}),
            json!({"resourceType": "Patient", "id": "p2"}),
            observation("a", "Patient/p1", ("http://loinc.org", "1"), json!({})),
            observation("b", "Patient/p1", ("http://loinc.org", "2"), json!({})),
            observation("c", "Patient/p2", ("http://loinc.org", "1"), json!({})),
        ],
    )
    .await;
    assert_eq!(
        ids(&app, "Patient/p1/Observation").await,
        names(&["a", "b"])
    );
    assert_eq!(
        ids(&app, "Patient/p1/Observation?code=1").await,
        names(&["a"])
    );
    let response = reqwest::Client::new()
        .post(app.url("Observation/_search"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("code=1&_lastUpdated=ge2000-01-01")
        .send()
        .await
        .expect("sent");
    let (status, bundle) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(match_ids(&bundle), names(&["a", "c"]));
    assert_eq!(
        ids(&app, "Observation?_lastUpdated=lt2000-01-01").await,
        names(&[])
    );
}

fn mode_ids(bundle: &serde_json::Value, mode: &str) -> Vec<String> {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == mode)
        .filter_map(|e| {
            Some(format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str()?,
                e["resource"]["id"].as_str()?
            ))
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn includes_revincludes_iterate_and_summary_count() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[
            json!({"resourceType": "Organization", "id": "org"}),
            json!({"resourceType": "Patient", "id": "p1", "managingOrganization": {"reference": "Organization/org"}}),
            json!({"resourceType": "Patient", "id": "p2"}),
            observation("a", "Patient/p1", ("http://loinc.org", "1"), json!({})),
            observation("b", "Patient/p1", ("http://loinc.org", "2"), json!({})),
            observation("c", "Patient/p2", ("http://loinc.org", "1"), json!({})),
        ],
    )
    .await;
    let (_, bundle) = status_and_json(
        app.get("Observation?code=1&_include=Observation:subject")
            .await,
    )
    .await;
    assert_eq!(
        mode_ids(&bundle, "match"),
        names(&["Observation/a", "Observation/c"])
    );
    assert_eq!(
        mode_ids(&bundle, "include"),
        names(&["Patient/p1", "Patient/p2"])
    );

    let (_, bundle) = status_and_json(
        app.get(
            "Observation?_id=a&_include=Observation:patient&_include:iterate=Patient:organization",
        )
        .await,
    )
    .await;
    assert_eq!(
        mode_ids(&bundle, "include"),
        names(&["Organization/org", "Patient/p1"])
    );

    let (_, bundle) = status_and_json(
        app.get("Patient?_id=p1&_revinclude=Observation:subject")
            .await,
    )
    .await;
    assert_eq!(mode_ids(&bundle, "match"), names(&["Patient/p1"]));
    assert_eq!(
        mode_ids(&bundle, "include"),
        names(&["Observation/a", "Observation/b"])
    );

    let (_, bundle) = status_and_json(app.get("Observation?_id=b&_include=*").await).await;
    assert_eq!(mode_ids(&bundle, "include"), names(&["Patient/p1"]));

    let (_, bundle) = status_and_json(app.get("Observation?code=1&_summary=count").await).await;
    assert_eq!(bundle["total"], 2);
    assert_eq!(mode_ids(&bundle, "match"), names(&[]));

    let (_, bundle) = status_and_json(app.get("Observation?_count=1&_total=accurate").await).await;
    assert_eq!(bundle["total"], 3);
    assert_eq!(mode_ids(&bundle, "match").len(), 1);
}

#[tokio::test]
async fn capability_statement_lists_search_parameters() {
    let app = spawn_app().await;
    let (_, statement) = status_and_json(app.get("metadata").await).await;
    let resources = statement["rest"][0]["resource"]
        .as_array()
        .expect("resources");
    let observation = resources
        .iter()
        .find(|r| r["type"] == "Observation")
        .expect("Observation");
    let interactions = observation["interaction"].to_string();
    assert!(interactions.contains("search-type"), "{interactions}");
    let params: Vec<&str> = observation["searchParam"]
        .as_array()
        .expect("searchParam")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in [
        "code",
        "patient",
        "date",
        "value-quantity",
        "component-code-value-quantity",
        "_id",
        "_lastUpdated",
        "_tag",
    ] {
        assert!(params.contains(&name), "{name} missing from {params:?}");
    }
    assert_eq!(observation["conditionalCreate"], true);
}

#[tokio::test]
async fn everything_pages_through_one_compartment() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "p1"}),
            json!({"resourceType": "Patient", "id": "p2"}),
            observation("a", "Patient/p1", ("http://loinc.org", "1"), json!({})),
            observation("b", "Patient/p1", ("http://loinc.org", "2"), json!({})),
            observation("c", "Patient/p2", ("http://loinc.org", "1"), json!({})),
            json!({"resourceType": "Encounter", "id": "e", "status": "finished",
                   "class": {"code": "IMP"}, "subject": {"reference": "Patient/p1"}}),
        ],
    )
    .await;
    let mut seen = Vec::new();
    let mut next = Some("Patient/p1/$everything?_count=2".to_owned());
    while let Some(url) = next {
        let path = url
            .split_once("/Patient")
            .map_or(url.clone(), |(_, r)| format!("Patient{r}"));
        let (status, bundle) = status_and_json(app.get(&path).await).await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        seen.extend(
            bundle["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    Some(format!(
                        "{}/{}",
                        e["resource"]["resourceType"].as_str()?,
                        e["resource"]["id"].as_str()?
                    ))
                }),
        );
        next = link(&bundle, "next");
    }
    assert_eq!(
        seen,
        names(&[
            "Encounter/e",
            "Observation/a",
            "Observation/b",
            "Patient/p1"
        ])
    );
    let (_, bundle) =
        status_and_json(app.get("Patient/p1/$everything?_type=Observation").await).await;
    assert_eq!(match_ids(&bundle), names(&["a", "b"]));
    assert_eq!(
        app.get("Patient/nobody/$everything").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn elements_and_summary_trim_matches() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[json!({"resourceType": "Patient", "id": "p1", "active": true, "gender": "female",
                 "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}})],
    )
    .await;
    let first = |bundle: &serde_json::Value| bundle["entry"][0]["resource"].clone();
    let (_, bundle) = status_and_json(app.get("Patient?_elements=gender").await).await;
    let resource = first(&bundle);
    assert_eq!(resource["gender"], "female");
    assert!(
        resource.get("active").is_none() && resource.get("text").is_none(),
        "{resource}"
    );
    assert!(resource["meta"]["tag"].to_string().contains("SUBSETTED"));
    let (_, bundle) = status_and_json(app.get("Patient?_summary=data").await).await;
    let resource = first(&bundle);
    assert!(
        resource.get("text").is_none() && resource["active"] == true,
        "{resource}"
    );
    let (_, bundle) = status_and_json(app.get("Patient?_summary=text").await).await;
    let resource = first(&bundle);
    assert!(
        resource.get("text").is_some() && resource.get("gender").is_none(),
        "{resource}"
    );
    let (_, bundle) = status_and_json(app.get("Patient?_summary=false").await).await;
    assert_eq!(first(&bundle)["gender"], "female");
}

#[tokio::test]
async fn last_updated_respects_precision() {
    let app = spawn_app().await;
    put_all(&app, &[json!({"resourceType": "Patient", "id": "p1"})]).await;
    let (_, patient) = status_and_json(app.get("Patient/p1").await).await;
    let stamp = patient["meta"]["lastUpdated"]
        .as_str()
        .expect("lastUpdated")
        .to_owned();
    let day = &stamp[..10];
    assert_eq!(
        ids(&app, &format!("Patient?_lastUpdated={day}")).await,
        names(&["p1"])
    );
    assert_eq!(
        ids(&app, &format!("Patient?_lastUpdated=le{day}")).await,
        names(&["p1"])
    );
    assert_eq!(
        ids(&app, &format!("Patient?_lastUpdated=gt{day}")).await,
        names(&[])
    );
    assert_eq!(
        ids(&app, &format!("Patient?_lastUpdated=sa{day}")).await,
        names(&[])
    );
    assert_eq!(
        ids(&app, &format!("Patient?_lastUpdated=eb{day}")).await,
        names(&[])
    );
    assert_eq!(
        ids(&app, &format!("Patient?_lastUpdated=ge{day}")).await,
        names(&["p1"])
    );
}
