use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, status_and_json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_lose_nothing() {
    let app = std::sync::Arc::new(spawn_app().await);
    let id = app.create(&json!({"resourceType": "Patient"})).await;
    let writers = 16;
    let writes_each = 5;
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let app = app.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            for write in 0..writes_each {
                let body =
                    json!({"resourceType": "Patient", "id": id, "name": [{"text": format!("{writer}-{write}")}]});
                let response = app.put(&format!("Patient/{id}"), &body).await;
                assert_eq!(response.status(), StatusCode::OK);
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer finished");
    }
    let (_, current) = status_and_json(app.get(&format!("Patient/{id}")).await).await;
    let expected = 1 + writers * writes_each;
    assert_eq!(current["meta"]["versionId"], expected.to_string());
    let (_, history) =
        status_and_json(app.get(&format!("Patient/{id}/_history?_count=1000")).await).await;
    let mut versions: Vec<String> = history["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["resource"]["meta"]["versionId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    versions.dedup();
    assert_eq!(versions.len(), expected, "every write has its own version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_update_as_create_of_one_id_makes_one_resource() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"resourceType": "Patient", "id": "race", "name": [{"text": writer.to_string()}]});
            app.put("Patient/race", &body).await.status()
        }));
    }
    let mut created = 0;
    for task in tasks {
        let status = task.await.expect("writer finished");
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "status {status}"
        );
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 1, "exactly one writer creates");
    let (_, current) = status_and_json(app.get("Patient/race").await).await;
    assert_eq!(current["meta"]["versionId"], "8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transactions_commit_or_fail_each_on_their_own() {
    let app = std::sync::Arc::new(spawn_app().await);
    let guarded = app.create(&json!({"resourceType": "Patient"})).await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let app = app.clone();
        let guarded = guarded.clone();
        tasks.push(tokio::spawn(async move {
            let patient = format!("urn:uuid:00000000-0000-4000-8000-{n:012}");
            let mut entries = vec![
                json!({"fullUrl": patient, "resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}}),
                json!({"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": patient}},
                       "request": {"method": "POST", "url": "Observation"}}),
            ];
            if n % 2 == 1 {
                // A stale If-Match: the store refuses this entry, so the whole transaction fails.
                entries.push(json!({"resource": {"resourceType": "Patient", "id": guarded},
                                    "request": {"method": "PUT", "url": format!("Patient/{guarded}"), "ifMatch": "W/\"99\""}}));
            }
            let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
            (n, app.post("", &bundle).await.status())
        }));
    }
    for task in tasks {
        let (n, status) = task.await.expect("client finished");
        let expected = if n % 2 == 1 {
            StatusCode::PRECONDITION_FAILED
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "transaction {n}");
    }
    let count = |resource_type: &'static str| {
        let app = app.clone();
        async move {
            let (_, bundle) = status_and_json(
                app.get(&format!("{resource_type}/_history?_count=1000"))
                    .await,
            )
            .await;
            bundle["entry"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(
        count("Observation").await,
        8,
        "only the eight good transactions stored anything"
    );
    assert_eq!(count("Patient").await, 9);
}
