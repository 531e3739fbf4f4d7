//! Conditional create, update and delete with the 0 / 1 / many rules.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_outcome, spawn_app, status_and_json};
use crate::search_support::{ids, names, put_all};

fn patient(id: &str, mrn: &str) -> serde_json::Value {
    json!({"resourceType": "Patient", "id": id,
           "identifier": [{"system": "urn:mrn", "value": mrn}]})
}

#[tokio::test]
async fn conditional_create_matches_none_one_or_many() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[patient("p1", "1"), patient("p2", "2"), patient("p3", "2")],
    )
    .await;
    let create = |criteria: &str| {
        reqwest::Client::new()
            .post(app.url("Patient"))
            .header("content-type", "application/fhir+json")
            .header("if-none-exist", criteria)
            .body(json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "9"}]}).to_string())
            .send()
    };
    let (status, body) = status_and_json(create("identifier=urn:mrn|1").await.expect("sent")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], "p1");
    let (status, _) = status_and_json(create("identifier=urn:mrn|9").await.expect("sent")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = status_and_json(create("identifier=urn:mrn|9").await.expect("sent")).await;
    assert_eq!(status, StatusCode::OK);
    assert_outcome(
        create("identifier=urn:mrn|2").await.expect("sent"),
        StatusCode::PRECONDITION_FAILED,
        "more than one",
    )
    .await;
    assert_outcome(
        create("colour=blue").await.expect("sent"),
        StatusCode::BAD_REQUEST,
        "colour",
    )
    .await;
    assert_eq!(ids(&app, "Patient?identifier=urn:mrn|9").await.len(), 1);
}

#[tokio::test]
async fn conditional_update_and_delete() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[patient("p1", "1"), patient("p2", "2"), patient("p3", "2")],
    )
    .await;
    let mut body = patient("p1", "1");
    body["active"] = json!(true);
    body.as_object_mut().map(|o| o.remove("id"));
    let (status, updated) =
        status_and_json(app.put("Patient?identifier=urn:mrn|1", &body).await).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["id"], "p1");
    assert_eq!(ids(&app, "Patient?active=true").await, names(&["p1"]));
    let (status, created) = status_and_json(
        app.put("Patient?identifier=urn:mrn|5", &patient("p5", "5"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["id"], "p5");
    assert_outcome(
        app.put("Patient?identifier=urn:mrn|2", &patient("p2", "2"))
            .await,
        StatusCode::PRECONDITION_FAILED,
        "more than one",
    )
    .await;
    assert_outcome(
        app.delete("Patient?identifier=urn:mrn|2").await,
        StatusCode::PRECONDITION_FAILED,
        "more than one",
    )
    .await;
    assert_eq!(
        app.delete("Patient?identifier=urn:mrn|1").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete("Patient?identifier=urn:mrn|7").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(ids(&app, "Patient").await, names(&["p2", "p3", "p5"]));
}

#[tokio::test]
async fn transactions_with_if_none_exist_conditional_urls_and_references() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[patient("p1", "1"), patient("p2", "2"), patient("p3", "2")],
    )
    .await;
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
         "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "1"}]},
         "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:mrn|1"}},
        {"resource": {"resourceType": "Observation", "id": "o1", "status": "final",
                      "code": {"text": "x"},
                      "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
                      "performer": [{"reference": "Patient?identifier=urn:mrn|1"}]},
         "request": {"method": "PUT", "url": "Observation/o1"}},
        {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "7"}], "active": true},
         "request": {"method": "PUT", "url": "Patient?identifier=urn:mrn|7"}},
    ]});
    let (status, body) = status_and_json(app.post("", &transaction).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        ids(&app, "Observation?subject=Patient/p1&performer=Patient/p1").await,
        names(&["o1"])
    );
    assert_eq!(
        ids(&app, "Patient?identifier=urn:mrn|1").await,
        names(&["p1"])
    );
    assert_eq!(
        ids(&app, "Patient?identifier=urn:mrn|7&active=true")
            .await
            .len(),
        1
    );

    let ambiguous = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "subject": {"reference": "Patient?identifier=urn:mrn|2"}},
         "request": {"method": "POST", "url": "Observation"}},
    ]});
    assert_outcome(
        app.post("", &ambiguous).await,
        StatusCode::PRECONDITION_FAILED,
        "more than one",
    )
    .await;
    let missing = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "subject": {"reference": "Patient?identifier=urn:mrn|404"}},
         "request": {"method": "POST", "url": "Observation"}},
    ]});
    assert_outcome(
        app.post("", &missing).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "matches no resource",
    )
    .await;
    assert_eq!(ids(&app, "Observation").await, names(&["o1"]));
}

#[tokio::test]
async fn concurrent_conditional_creates_make_one_resource() {
    let app = spawn_app().await;
    let posts = (0..8).map(|_| {
        app.client
            .post(app.url("Patient"))
            .header("content-type", "application/fhir+json")
            .header("if-none-exist", "identifier=urn:mrn|race")
            .body(json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "race"}]}).to_string())
            .send()
    });
    let mut created = 0;
    let mut found = 0;
    let mut ids_seen = std::collections::BTreeSet::new();
    for response in futures::future::join_all(posts).await {
        let (status, body) = status_and_json(response.expect("sent")).await;
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => found += 1,
            other => panic!("unexpected {other}: {body}"),
        }
        ids_seen.insert(body["id"].as_str().expect("id").to_owned());
    }
    assert_eq!((created, found), (1, 7));
    assert_eq!(ids_seen.len(), 1);
    assert_eq!(ids(&app, "Patient?identifier=urn:mrn|race").await.len(), 1);
}

#[tokio::test]
async fn concurrent_transactions_with_if_none_exist_make_one_resource() {
    let app = spawn_app().await;
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
         "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "tx"}]},
         "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:mrn|tx"}},
    ]});
    // Half as transactions, half as conditional creates: one lock for the same criteria.
    let sends = (0..8).map(|n| {
        let request = if n % 2 == 0 {
            app.client.post(app.url("")).body(transaction.to_string())
        } else {
            app.client
                .post(app.url("Patient"))
                .header("if-none-exist", "identifier=urn:mrn|tx")
                .body(transaction["entry"][0]["resource"].to_string())
        };
        request
            .header("content-type", "application/fhir+json")
            .send()
    });
    let mut statuses = Vec::new();
    for response in futures::future::join_all(sends).await {
        let (status, body) = status_and_json(response.expect("sent")).await;
        let entry_status = body["entry"][0]["response"]["status"]
            .as_str()
            .map(str::to_owned);
        statuses.push(entry_status.unwrap_or_else(|| status.as_str().to_owned()));
    }
    let created = statuses.iter().filter(|s| s.starts_with("201")).count();
    let found = statuses.iter().filter(|s| s.starts_with("200")).count();
    assert_eq!((created, found), (1, 7), "{statuses:?}");
    assert_eq!(ids(&app, "Patient?identifier=urn:mrn|tx").await.len(), 1);
}
