//! Absolute references to this server, `$everything` by clinical date, Bundle parameters.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, status_and_json};
use crate::search_support::{ids, names, observation, put_all};

const LOINC: &str = "http://loinc.org";

#[tokio::test]
async fn absolute_references_to_our_base_are_local() {
    let app =
        spawn_app_with(|config| config.base_url = Some("http://hearth.test/fhir/".into())).await;
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "p1"}),
            observation(
                "o1",
                "http://hearth.test/fhir/Patient/p1",
                (LOINC, "1"),
                json!({}),
            ),
            observation("o2", "Patient/p1", (LOINC, "1"), json!({})),
            observation(
                "o3",
                "http://other.example/fhir/Patient/p1",
                (LOINC, "1"),
                json!({}),
            ),
        ],
    )
    .await;
    assert_eq!(
        ids(&app, "Observation?subject=Patient/p1").await,
        names(&["o1", "o2"])
    );
    assert_eq!(
        ids(
            &app,
            "Observation?subject=http://hearth.test/fhir/Patient/p1"
        )
        .await,
        names(&["o1", "o2"])
    );
    assert_eq!(
        ids(
            &app,
            "Observation?subject=http://other.example/fhir/Patient/p1"
        )
        .await,
        names(&["o3"])
    );
    // A chain may end in any clause, not only an index match.
    assert_eq!(
        ids(&app, "Observation?subject:Patient.name:missing=true").await,
        names(&["o1", "o2"])
    );
    assert_eq!(
        ids(&app, "Observation?subject:Patient._id=p1").await,
        names(&["o1", "o2"])
    );
    assert!(ids(&app, "Observation?subject:Patient._id=p2")
        .await
        .is_empty());
}

/// `Type/id` of each entry, in Bundle order.
fn typed(bundle: &Value) -> Vec<String> {
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
        })
        .collect()
}

#[tokio::test]
async fn everything_by_clinical_date_since_and_type() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "p1"}),
            observation(
                "a",
                "Patient/p1",
                (LOINC, "1"),
                json!({"effectiveDateTime": "2020-01-01"}),
            ),
            observation(
                "b",
                "Patient/p1",
                (LOINC, "1"),
                json!({"effectiveDateTime": "2023-06-01"}),
            ),
            observation("c", "Patient/p1", (LOINC, "1"), json!({})),
            json!({"resourceType": "Encounter", "id": "e", "status": "finished",
                   "class": {"code": "AMB"}, "subject": {"reference": "Patient/p1"},
                   "period": {"start": "2023-01-01", "end": "2023-01-05"}}),
            json!({"resourceType": "Condition", "id": "k", "subject": {"reference": "Patient/p1"},
                   "onsetDateTime": "2019-05-05"}),
        ],
    )
    .await;
    let everything = |query: &'static str| {
        let app = &app;
        async move {
            let (status, bundle) =
                status_and_json(app.get(&format!("Patient/p1/$everything{query}")).await).await;
            assert_eq!(status, StatusCode::OK, "{query}: {bundle}");
            typed(&bundle)
        }
    };
    assert_eq!(
        everything("?start=2022-01-01&end=2023-12-31").await,
        names(&[
            "Encounter/e",
            "Observation/b",
            "Observation/c",
            "Patient/p1"
        ])
    );
    assert_eq!(
        everything("?start=2023-03").await,
        names(&["Observation/b", "Observation/c", "Patient/p1"])
    );
    assert_eq!(
        everything("?end=2019").await,
        names(&["Condition/k", "Observation/c", "Patient/p1"])
    );
    assert_eq!(
        everything("?end=2020&_type=Observation,Condition").await,
        names(&["Condition/k", "Observation/a", "Observation/c"])
    );
    assert!(everything("?_since=2999-01-01T00:00:00Z").await.is_empty());
    let (status, _) = status_and_json(app.get("Patient/p1/$everything?start=soon").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bundle_parameters_on_documents_and_messages() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[
            json!({"resourceType": "Bundle", "id": "doc", "type": "document",
                   "identifier": {"system": "urn:docs", "value": "1"},
                   "timestamp": "2024-03-01T10:00:00Z",
                   "entry": [{"fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
                              "resource": {"resourceType": "Composition", "status": "final",
                                  "type": {"coding": [{"system": LOINC, "code": "11488-4"}]},
                                  "subject": {"reference": "Patient/p1"},
                                  "date": "2024-03-01", "author": [{"display": "Dr A"}],
                                  "title": "Note"}}]}),
            json!({"resourceType": "Bundle", "id": "msg", "type": "message",
                   "timestamp": "2024-04-01T10:00:00Z",
                   "entry": [{"fullUrl": "urn:uuid:1c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
                              "resource": {"resourceType": "MessageHeader",
                                  "eventCoding": {"system": "urn:events", "code": "admit"},
                                  "source": {"endpoint": "urn:source"},
                                  "focus": [{"reference": "Patient/p1"}]}}]}),
            json!({"resourceType": "Bundle", "id": "set", "type": "collection"}),
        ],
    )
    .await;
    assert_eq!(ids(&app, "Bundle?type=document").await, names(&["doc"]));
    assert_eq!(
        ids(&app, "Bundle?identifier=urn:docs|1").await,
        names(&["doc"])
    );
    assert_eq!(
        ids(&app, "Bundle?timestamp=ge2024-03-15").await,
        names(&["msg"])
    );
    assert_eq!(
        ids(&app, "Bundle?composition.subject=Patient/p1").await,
        names(&["doc"])
    );
    assert_eq!(
        ids(&app, "Bundle?message.focus=Patient/p1").await,
        names(&["msg"])
    );
    assert!(ids(&app, "Bundle?composition.subject=Patient/p2")
        .await
        .is_empty());
}

/// A patient's search with further criteria: the patient drives, each other criterion (and a
/// `:not`) is checked per match, on both backends alike.
#[tokio::test]
async fn patient_scoped_search_checks_every_other_criterion() {
    let app = spawn_app().await;
    let at = |date: &str| json!({"effectiveDateTime": date});
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "p1"}),
            json!({"resourceType": "Patient", "id": "p2"}),
            observation("a", "Patient/p1", (LOINC, "85354-9"), at("2024-02-01")),
            observation("b", "Patient/p1", (LOINC, "85354-9"), at("2022-02-01")),
            observation("c", "Patient/p1", (LOINC, "8867-4"), at("2024-02-01")),
            observation("d", "Patient/p2", (LOINC, "85354-9"), at("2024-02-01")),
        ],
    )
    .await;
    assert_eq!(
        ids(
            &app,
            "Observation?patient=p1&code=http://loinc.org|85354-9&date=ge2023-01-01"
        )
        .await,
        names(&["a"])
    );
    assert_eq!(
        ids(&app, "Observation?patient=p1&code:not=85354-9").await,
        names(&["c"])
    );
    assert_eq!(
        ids(&app, "Observation?patient=p2&date=lt2023-01-01").await,
        Vec::<String>::new()
    );
}
