//! How population runs read patients: a page of compartments comes back packed into one text
//! per query and code-filtered before parsing. Counts must not depend on any of that: many
//! pages, patients with no data, bodies with separator-like and escaped text, resources that
//! carry a wanted code only in a later coding.

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use crate::measure_api::{
    case_entries, ecqm_dir, get_json, load, summed, transaction, Case, MEASURES, PERIOD,
};
use crate::measure_pushdown::{population, put};

/// Copies of each test case stored as further patients: with the original cases, more
/// patients than one page of a population run (200) holds.
const COPIES: usize = 36;

/// Text with JSON escapes and the characters a packed read separates fields with.
const AWKWARD: &str = "quote \" backslash \\ tab\t newline\n \u{2028} é 😀 \\u001e }{ ,";

/// Every test case of `measure`, each stored `COPIES` times as new patients whose resources
/// carry awkward text; returns the copies' cases.
async fn store_copies(app: &TestApp, dir: &std::path::Path, measure: &str) -> Vec<Case> {
    let mut case_dirs: Vec<PathBuf> = std::fs::read_dir(dir.join("tests").join(measure))
        .expect("test cases")
        .map(|e| e.expect("entry").path())
        .collect();
    case_dirs.sort();
    let mut copies = Vec::new();
    for copy in 0..COPIES {
        let mut entries = Vec::new();
        for (ci, case_dir) in case_dirs.iter().enumerate() {
            let (case, mut more) = case_entries(case_dir, &format!("k{copy}c{ci}"), true);
            for entry in &mut more {
                let resource = &mut entry["resource"];
                if resource["resourceType"] == "Patient" {
                    resource["name"] = json!([{"family": AWKWARD}]);
                } else if resource
                    .get("code")
                    .is_some_and(|c| c.get("coding").is_some())
                {
                    // A wanted code behind an unwanted one must still be found.
                    let codings = resource["code"]["coding"].as_array_mut().expect("codings");
                    codings.insert(
                        0,
                        json!({"system": "http://example.org/local", "code": "x-1"}),
                    );
                    resource["code"]["text"] = json!(AWKWARD);
                }
            }
            entries.extend(more);
            copies.push(case);
        }
        transaction(app, entries).await;
    }
    copies
}

#[tokio::test]
async fn population_counts_hold_over_many_pages_and_awkward_bodies() {
    let Some(dir) = ecqm_dir() else { return };
    let app = spawn_app().await;
    let cases = load(&app, &dir).await;
    // Patients with nothing but their Patient resource, in every page.
    let bare: Vec<Value> = (0..5)
        .map(|n| {
            json!({"resource": {"resourceType": "Patient", "id": format!("bare-{n}"),
                "gender": "female", "birthDate": "1960-01-01"},
                "request": {"method": "PUT", "url": format!("Patient/bare-{n}")}})
        })
        .collect();
    transaction(&app, bare).await;
    let mut before = BTreeMap::new();
    for measure in MEASURES {
        before.insert(measure, population(&app, measure, "").await);
    }

    let measure = MEASURES[0];
    let copies = store_copies(&app, &dir, measure).await;
    assert!(copies.len() > 200, "{} copies", copies.len());
    let added = summed(&copies);

    // Every stored patient: what was there, plus the copies' expected counts.
    let mut expected = before[measure].clone();
    for (total, group) in expected.iter_mut().zip(&added) {
        for (code, n) in group {
            *total.entry(code.clone()).or_default() += n;
        }
    }
    assert_eq!(
        population(&app, measure, "").await,
        expected,
        "all patients"
    );

    // Runs page through patients by the position of their first version: patients whose
    // current version is a later one are still paged, once.
    for case in copies.iter().step_by(40) {
        let path = format!("/Patient/{}", case.patient);
        let (status, mut patient) = get_json(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{patient}");
        patient["active"] = json!(true);
        let response = app.put(&path, &patient).await;
        assert!(response.status().is_success());
    }
    assert_eq!(
        population(&app, measure, "").await,
        expected,
        "all patients, some updated"
    );

    // A Group of the copies, the bare patients and a member with no data at all: a fixed
    // list read page by page.
    let mut members: Vec<String> = copies.iter().map(|c| c.patient.clone()).collect();
    members.extend((0..5).map(|n| format!("bare-{n}")));
    members.push("never-stored".to_owned());
    let group = json!({"resourceType": "Group", "id": "copies", "type": "person", "actual": true,
        "member": members.iter().map(|m| json!({"entity": {"reference": format!("Patient/{m}")}})).collect::<Vec<_>>()});
    let response = app.put("/Group/copies", &group).await;
    assert!(response.status().is_success());
    assert_eq!(
        population(&app, measure, "&subject=Group/copies").await,
        added,
        "the copies"
    );

    // Subject lists name their members in id order, whatever order they were evaluated in.
    let (status, list) = get_json(
        &app,
        &format!("/Measure/{measure}/$evaluate-measure?{PERIOD}&subject=Group/copies&reportType=subject-list"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let initial = list["contained"]
        .as_array()
        .expect("contained lists")
        .iter()
        .find(|l| l["id"] == "group-0-population-0")
        .expect("the initial population's list");
    let named: Vec<&str> = initial["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["item"]["reference"].as_str().expect("reference"))
        .collect();
    assert!(named.len() > 1, "{initial}");
    assert!(named.windows(2).all(|w| w[0] < w[1]), "{named:?}");

    // The other measures read other types and codes of the same pages: no patient fails.
    for other in &MEASURES[1..] {
        assert!(!cases[other].is_empty());
        assert_eq!(population(&app, other, "").await.len(), before[other].len());
    }
}

/// Packed reads separate resources with U+001E and U+001F. Stored JSON text escapes control
/// characters anyway, and the validator refuses them in the first place (tab, CR and LF aside).
#[tokio::test]
async fn control_characters_in_text_are_refused() {
    let app = spawn_app().await;
    for (n, text) in ["\u{1e}", "a\u{1f}b", "\u{1}"].into_iter().enumerate() {
        let patient = json!({"resourceType": "Patient", "id": format!("ctl-{n}"),
            "name": [{"family": text}]});
        let response = app.put(&format!("Patient/ctl-{n}"), &patient).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let outcome: Value = response.json().await.expect("JSON");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert!(
            outcome.to_string().contains("control characters"),
            "{outcome}"
        );
        let (status, _) = get_json(&app, &format!("/Patient/ctl-{n}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

/// How many current rows keep their codes, or their date spans if fewer do, after forgetting both with `forget`
/// (as in a store written before rows kept them), by SQL on the test's database.
async fn kept_codes(url: &str, options: &hearth::store::StoreOptions, forget: bool) -> i64 {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(url).await.expect("SQLite");
        forget_and_count::<sqlx::Sqlite>(&mut db, forget).await
    } else {
        let mut db = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
        let schema = options.pg_schema.as_deref().expect("a test schema");
        sqlx::query(&format!("SET search_path TO {schema}"))
            .execute(&mut db)
            .await
            .expect("schema");
        forget_and_count::<sqlx::Postgres>(&mut db, forget).await
    }
}

async fn forget_and_count<DB: sqlx::Database>(db: &mut DB::Connection, forget: bool) -> i64
where
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    i64: sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    if forget {
        sqlx::query("UPDATE resource SET codes = NULL, span_low = NULL, span_high = NULL")
            .execute(&mut *db)
            .await
            .expect("cleared");
    }
    // The fewer of the two: both must be kept, or both forgotten.
    sqlx::query_scalar(
        "SELECT CASE WHEN COUNT(codes) < COUNT(span_low) THEN COUNT(codes) ELSE COUNT(span_low) END \
         FROM resource",
    )
        .fetch_one(&mut *db)
        .await
        .expect("count")
}

/// Rows whose codes and date spans were not kept (written before they were) are decided on
/// their bodies, and `hearth reindex` keeps both: the counts never change.
#[tokio::test]
async fn rows_without_kept_codes_count_alike_until_reindex_keeps_them() {
    let Some(dir) = ecqm_dir() else { return };
    let mut setup = None;
    let app =
        spawn_app_with(|config| setup = Some((config.database_url.clone(), config.store.clone())))
            .await;
    let (url, options) = setup.expect("configuration seen");
    load(&app, &dir).await;
    let mut before = BTreeMap::new();
    for measure in MEASURES {
        before.insert(measure, population(&app, measure, "").await);
    }
    assert!(kept_codes(&url, &options, false).await > 0);

    assert_eq!(kept_codes(&url, &options, true).await, 0);
    for measure in MEASURES {
        assert_eq!(
            population(&app, measure, "").await,
            before[measure],
            "{measure}: bodies"
        );
    }

    hearth::reindex(&url, &options, None)
        .await
        .expect("reindex");
    assert!(kept_codes(&url, &options, false).await > 0);
    for measure in MEASURES {
        assert_eq!(
            population(&app, measure, "").await,
            before[measure],
            "{measure}: codes"
        );
    }
}

/// Creation-order pages of Patients, as population runs read them: a patient updated while a
/// run pages does not move to a later page (where it would be counted twice), and a deleted
/// one is not listed.
#[tokio::test]
async fn patients_keep_their_creation_position_when_updated() {
    let mut setup = None;
    let app =
        spawn_app_with(|config| setup = Some((config.database_url.clone(), config.store.clone())))
            .await;
    let (url, options) = setup.expect("configuration seen");
    // Ids against creation order, so id order would not pass.
    let created = ["p-e", "p-d", "p-c", "p-b", "p-a"];
    for id in created {
        put(
            &app,
            &json!({"resourceType": "Patient", "id": id, "gender": "female"}),
        )
        .await;
    }
    let store = hearth::store::open(&url, &options).await.expect("store");
    let patient = "Patient".parse().expect("a type");
    let first = store
        .list_ids_in_creation_order(patient, None, 2)
        .await
        .expect("first page");
    let ids = |page: &[(i64, String)]| page.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ["p-e", "p-d"]);

    // Mid-run: the first page's patients are updated, a later one deleted.
    for id in ["p-e", "p-d"] {
        put(
            &app,
            &json!({"resourceType": "Patient", "id": id, "gender": "male"}),
        )
        .await;
    }
    assert!(app.delete("/Patient/p-b").await.status().is_success());
    let after = first.last().map(|(position, _)| *position);
    let rest = store
        .list_ids_in_creation_order(patient, after, 10)
        .await
        .expect("the rest");
    assert_eq!(ids(&rest), ["p-c", "p-a"]);
    store.close().await;
}
