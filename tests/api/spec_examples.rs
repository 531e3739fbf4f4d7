//! Spec-example conformance: every example of the R4 examples package that passes the schema can
//! be stored with its own id and read back JSON-equal, apart from meta.versionId/lastUpdated.

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::examples_dir;
use crate::helpers::spawn_app_with;

/// The example without the server-maintained meta fields (and without meta once it is empty).
fn comparable(mut resource: Value) -> Value {
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            resource.as_object_mut().map(|fields| fields.remove("meta"));
        }
    }
    resource
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_schema_valid_example_round_trips() {
    let dir = examples_dir();
    let Ok(listing) = std::fs::read_dir(&dir) else {
        println!(
            "SKIPPED: the R4 examples package is absent at {} (run scripts/fetch-fhir-packages.sh or set HEARTH_FHIR_EXAMPLES)",
            dir.display()
        );
        return;
    };
    let mut files: Vec<PathBuf> = listing
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "json") && !path.ends_with("package.json")
        })
        .collect();
    files.sort();
    let app = Arc::new(spawn_app_with(|config| config.max_body_bytes = 64 * 1024 * 1024).await);
    let validator = Arc::new(hearth::validate::Validator::load().expect("schema loads"));

    let files = Arc::new(files);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (app, validator, files, next) =
            (app.clone(), validator.clone(), files.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let (mut passed, mut invalid, mut failures) = (0usize, 0usize, Vec::new());
            loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(index) else { break };
                let text = std::fs::read_to_string(path).expect("example readable");
                let example: Value = serde_json::from_str(&text).expect("example is JSON");
                let (Some(resource_type), Some(id)) =
                    (example["resourceType"].as_str(), example["id"].as_str())
                else {
                    failures.push(format!("{}: no resourceType or id", path.display()));
                    continue;
                };
                if validator.validate(&example).is_err() {
                    invalid += 1;
                    continue;
                }
                let location = format!("{resource_type}/{id}");
                let response = app.put(&location, &example).await;
                let status = response.status();
                if status != StatusCode::CREATED && status != StatusCode::OK {
                    let body = response.text().await.unwrap_or_default();
                    failures.push(format!(
                        "{location}: PUT answered {status}: {}",
                        &body[..body.len().min(300)]
                    ));
                    continue;
                }
                let read: Value = app
                    .get(&location)
                    .await
                    .json()
                    .await
                    .expect("read back as JSON");
                if comparable(read) == comparable(example) {
                    passed += 1;
                } else {
                    failures.push(format!("{location}: read back differs from the example"));
                }
            }
            (passed, invalid, failures)
        }));
    }
    let (mut passed, mut invalid, mut failures) = (0, 0, Vec::new());
    for worker in workers {
        let (p, i, f) = worker.await.expect("worker finished");
        passed += p;
        invalid += i;
        failures.extend(f);
    }
    println!(
        "R4 examples: {passed} passed / {invalid} schema-invalid / {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} examples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(passed > 5000, "only {passed} examples passed");
}
