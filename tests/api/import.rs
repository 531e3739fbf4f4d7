//! `hearth import`: NDJSON straight into the store, next to a running server that then serves it.

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

fn line(value: Value) -> String {
    format!("{value}\n")
}

/// A running server and the database it serves, for `hearth::import` to load into beside it.
async fn app_and_database() -> (TestApp, String, hearth::store::StoreOptions) {
    let mut database = None;
    let app = spawn_app_with(|config| {
        database = Some((config.database_url.clone(), config.store.clone()));
    })
    .await;
    let (url, options) = database.expect("the test database");
    (app, url, options)
}

#[tokio::test]
async fn import_stores_every_valid_line_and_names_each_refused_one() {
    let (app, url, options) = app_and_database().await;

    let dir = tempfile::tempdir().unwrap();
    let patients = dir.path().join("Patient.ndjson");
    let observations = dir.path().join("Observation.ndjson");
    std::fs::write(
        &patients,
        [
            line(json!({"resourceType": "Patient", "id": "imp-1", "name": [{"family": "Okafor"}]})),
            line(json!({"resourceType": "Patient", "name": [{"family": "Idowu"}]})),
            // An impossible date: refused by validation, the rest of the batch is kept.
            line(json!({"resourceType": "Patient", "id": "imp-3", "birthDate": "1970-13-01"})),
            "not json at all\n".to_owned(),
            "\n".to_owned(),
        ]
        .concat(),
    )
    .unwrap();
    std::fs::write(
        &observations,
        line(json!({
            "resourceType": "Observation", "id": "imp-obs", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
            "subject": {"reference": "Patient/imp-1"}
        })),
    )
    .unwrap();

    let settings = |batch, concurrency| hearth::import::ImportSettings {
        batch,
        concurrency,
        base_url: None,
    };
    let summary = hearth::import(
        &url,
        &options,
        &[dir.path().to_path_buf()],
        &settings(2, 2),
        &|_| {},
    )
    .await
    .expect("import runs");
    assert_eq!(summary.stored, 3);
    assert_eq!(summary.refused.len(), 2, "{:?}", summary.refused);
    let file = patients.display().to_string();
    assert!(summary.refused[0].starts_with(&format!("{file}:3: ")));
    assert!(
        summary.refused[0].contains("birthDate"),
        "{}",
        summary.refused[0]
    );
    assert!(summary.refused[1].starts_with(&format!("{file}:4: not JSON")));

    // The running server sees the imported resources, indexed and in their compartment.
    let found: Value = app
        .get("Observation?patient=Patient/imp-1&code=http://loinc.org|4548-4")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["entry"][0]["resource"]["id"], "imp-obs");
    let named: Value = app.get("Patient?family=Idowu").await.json().await.unwrap();
    assert_eq!(named["entry"].as_array().map(Vec::len), Some(1));
    assert_eq!(app.get("Patient/imp-3").await.status(), 404);

    // Ids are kept, so importing the same files again updates instead of duplicating.
    let again = hearth::import(&url, &options, &[patients], &settings(10, 1), &|_| {})
        .await
        .expect("import runs");
    assert_eq!(again.stored, 2);
    let everyone: Value = app
        .get("Patient?_summary=count")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(everyone["total"], 3);
}

/// After a bulk load the query planner knows the tables are no longer empty; without
/// statistics PostgreSQL picked plans for patient-scoped searches 100× slower.
#[tokio::test]
async fn import_leaves_planner_statistics_behind() {
    let (_app, url, options) = app_and_database().await;
    let dir = tempfile::tempdir().unwrap();
    let patients: String = (0..20)
        .map(|n| line(json!({"resourceType": "Patient", "id": format!("stat-{n}")})))
        .collect();
    std::fs::write(dir.path().join("Patient.ndjson"), patients).unwrap();
    let settings = hearth::import::ImportSettings {
        batch: 10,
        concurrency: 1,
        base_url: None,
    };
    let summary = hearth::import(
        &url,
        &options,
        &[dir.path().to_path_buf()],
        &settings,
        &|_| {},
    )
    .await
    .expect("import runs");
    assert_eq!(summary.stored, 20);

    let analysed_tables: i64 = if let Some(schema) = &options.pg_schema {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_user_tables \
             WHERE schemaname = $1 AND relname = 'resource' AND last_analyze IS NOT NULL",
        )
        .bind(schema)
        .fetch_one(&pool)
        .await
        .unwrap()
    } else {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'resource'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert!(analysed_tables > 0, "no planner statistics after import");
}
