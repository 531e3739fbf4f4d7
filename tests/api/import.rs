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

/// Imports `lines` as one NDJSON file named `name`, deferring indexes into an empty store.
async fn import_file(
    url: &str,
    options: &hearth::store::StoreOptions,
    name: &str,
    lines: &str,
    batch: usize,
    concurrency: usize,
) -> hearth::import::ImportSummary {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), lines).unwrap();
    let settings = hearth::import::ImportSettings {
        batch,
        concurrency,
        base_url: None,
        defer_indexes: true,
    };
    hearth::import(
        url,
        options,
        &[dir.path().to_path_buf()],
        &settings,
        &|_| {},
    )
    .await
    .expect("import runs")
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
        defer_indexes: true,
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
    assert_eq!(
        again.deferred_indexes, 0,
        "a store with data keeps its indexes"
    );
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
    let patients: String = (0..20)
        .map(|n| line(json!({"resourceType": "Patient", "id": format!("stat-{n}")})))
        .collect();
    let summary = import_file(&url, &options, "Patient.ndjson", &patients, 10, 1).await;
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

/// Every index of the database, by name, as its catalog lists them.
async fn index_names(url: &str, options: &hearth::store::StoreOptions) -> Vec<String> {
    if let Some(schema) = &options.pg_schema {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 ORDER BY 1",
        )
        .bind(schema)
        .fetch_all(&pool)
        .await
        .unwrap()
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap()
    }
}

/// A load into an empty store drops the indexes over random ids and builds them at its end:
/// afterwards the database has exactly the indexes it had, and searches use them.
#[tokio::test]
async fn a_load_into_an_empty_store_builds_every_index_it_deferred() {
    let (app, url, options) = app_and_database().await;
    let before = index_names(&url, &options).await;
    assert!(before.iter().any(|name| name == "idx_token_value"));

    let observations: String = (0..30)
        .map(|n| {
            line(json!({
                "resourceType": "Observation", "id": format!("def-{n}"), "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": if n % 3 == 0 { "4548-4" } else { "8480-6" }}]},
                "subject": {"reference": format!("Patient/def-p{}", n % 2)}
            }))
        })
        .collect();
    let summary = import_file(&url, &options, "Observation.ndjson", &observations, 7, 2).await;
    assert_eq!(summary.stored, 30);
    // Every search-index table's indexes, and the two over random ids of the resource tables.
    assert!(
        summary.deferred_indexes >= 18,
        "{}",
        summary.deferred_indexes
    );

    assert_eq!(index_names(&url, &options).await, before);
    let found: Value = app
        .get("Observation?patient=Patient/def-p0&code=http://loinc.org|4548-4&_sort=_id")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = found["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["def-0", "def-12", "def-18", "def-24", "def-6"]);
}

/// A load killed after dropping its indexes leaves them listed; the next open of the store
/// builds them before anything is served.
#[tokio::test]
async fn indexes_a_killed_load_deferred_are_built_by_the_next_open() {
    let (_app, url, options) = app_and_database().await;
    let before = index_names(&url, &options).await;

    let store = hearth::store::open(&url, &options).await.unwrap();
    let dropped = store.defer_indexes().await.unwrap();
    assert!(dropped >= 18, "{dropped}");
    store.close().await;
    let during = index_names(&url, &options).await;
    assert_eq!(during.len() + dropped, before.len(), "{during:?}");

    let reopened = hearth::store::open(&url, &options).await.unwrap();
    assert_eq!(index_names(&url, &options).await, before);
    // Each build's pages were copied into the database as it finished: the WAL is not left
    // holding every index until the store closes (twice their size on disk).
    if let Some(path) = url.strip_prefix("sqlite:") {
        let wal = std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
        assert_eq!(wal, 0, "the WAL after the builds at open");
    }
    assert_eq!(reopened.build_deferred_indexes().await.unwrap(), 0);
    reopened.close().await;
}
