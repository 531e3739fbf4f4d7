//! Everything the population generator produces is accepted by the real server, and reads back
//! as it was generated.

use futures::stream::{self, StreamExt};
use hearth::generate::{Config, Population};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, status_and_json, TestApp};

async fn post_transaction(app: &TestApp, bundle: &Value) {
    let (status, body) = status_and_json(app.post("", bundle).await).await;
    assert_eq!(status, StatusCode::OK, "generated bundle refused: {body}");
    assert_eq!(body["type"], "transaction-response");
}

#[tokio::test]
async fn every_generated_bundle_is_accepted_and_every_resource_reads_back() {
    let app = spawn_app().await;
    let population = Population::new(Config {
        patients: 20,
        ..Config::default()
    })
    .unwrap();
    post_transaction(&app, &population.directory_bundle()).await;
    let mut expected: Vec<Value> = population.directory_resources().cloned().collect();
    let mut bundles = 0;
    for person in population.patients() {
        for bundle in person.bundles() {
            post_transaction(&app, &bundle).await;
            bundles += 1;
        }
        expected.extend(person.latest_resources().into_iter().cloned());
    }
    assert!(bundles > 20, "only {bundles} bundles for 20 persons");

    let kinds: std::collections::BTreeSet<&str> = expected
        .iter()
        .filter_map(|r| r["resourceType"].as_str())
        .collect();
    for kind in ["Patient", "Encounter", "Observation", "Condition"] {
        assert!(kinds.contains(kind), "no {kind} generated: {kinds:?}");
    }

    let app = &app;
    let mismatches: Vec<String> = stream::iter(expected.iter())
        .map(|generated| async move {
            let path = format!(
                "{}/{}",
                generated["resourceType"].as_str().unwrap(),
                generated["id"].as_str().unwrap()
            );
            let (status, mut stored) = status_and_json(app.get(&path).await).await;
            if status != StatusCode::OK {
                return Some(format!("{path}: {status}"));
            }
            // The server adds meta; everything else must be as generated, references included.
            stored.as_object_mut().unwrap().remove("meta");
            (&stored != generated).then(|| format!("{path} differs: {stored}"))
        })
        .buffer_unordered(8)
        .filter_map(|mismatch| async { mismatch })
        .collect()
        .await;
    assert!(
        mismatches.is_empty(),
        "{} of {} resources did not read back as generated; first: {}",
        mismatches.len(),
        expected.len(),
        mismatches[0]
    );
}
