//! `_summary=true` at every depth: backbone elements and datatypes keep only their own summary
//! (and mandatory) elements.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, status_and_json};
use crate::search_support::put_all;

/// The first match of a search, without `meta` (server-assigned), after checking it is
/// tagged SUBSETTED.
fn first_match(bundle: &Value) -> Value {
    let mut resource = bundle["entry"][0]["resource"].clone();
    let tags = resource["meta"]["tag"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(tags.iter().any(|t| t["code"] == "SUBSETTED"), "{resource}");
    if let Some(fields) = resource.as_object_mut() {
        fields.remove("meta");
    }
    resource
}

#[tokio::test]
async fn summary_true_trims_nested_elements() {
    let app = spawn_app().await;
    let name_extension = json!([{"url": "urn:name-source", "valueString": "registry"}]);
    put_all(
        &app,
        &[
            json!({
                "resourceType": "Patient", "id": "p1",
                "identifier": [{"system": "urn:mrn", "value": "42",
                                "type": {"coding": [{"system": "urn:t", "code": "MR"}], "text": "MRN"}}],
                "name": [{"family": "Doe", "given": ["Ann"], "use": "official",
                          "extension": name_extension}],
                "photo": [{"contentType": "image/png", "data": "aGVsbG8=", "title": "face"}],
                "contact": [{"name": {"family": "Roe"}}],
                "communication": [{"language": {"text": "en"}, "preferred": true}],
                "link": [{"other": {"reference": "Patient/p2", "display": "twin"}, "type": "seealso",
                          "extension": [{"url": "urn:link-note", "valueString": "n"}]}],
                "maritalStatus": {"text": "M"},
                "gender": "female",
            }),
            json!({
                "resourceType": "Observation", "id": "o1", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9",
                                     "display": "Blood pressure"}]},
                "subject": {"reference": "Patient/p1"},
                "component": [{
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                    "valueQuantity": {"value": 120, "unit": "mm[Hg]"},
                    "interpretation": [{"text": "high"}],
                    "referenceRange": [{"high": {"value": 110}}],
                }],
                "referenceRange": [{"low": {"value": 1}}],
            }),
            json!({
                "resourceType": "DocumentReference", "id": "d1", "status": "current",
                "content": [{"attachment": {"contentType": "text/plain", "data": "aGVsbG8=",
                                            "title": "note"}}],
            }),
        ],
    )
    .await;
    let (status, bundle) = status_and_json(app.get("Patient?_summary=true").await).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    // Identifier, HumanName and Reference children are all summary; Element.extension is not.
    assert_eq!(
        first_match(&bundle),
        json!({
            "resourceType": "Patient", "id": "p1",
            "identifier": [{"system": "urn:mrn", "value": "42",
                            "type": {"coding": [{"system": "urn:t", "code": "MR"}], "text": "MRN"}}],
            "name": [{"family": "Doe", "given": ["Ann"], "use": "official"}],
            "link": [{"other": {"reference": "Patient/p2", "display": "twin"}, "type": "seealso"}],
            "gender": "female",
        })
    );
    let (status, bundle) = status_and_json(app.get("Observation?_summary=true").await).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(
        first_match(&bundle),
        json!({
            "resourceType": "Observation", "id": "o1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9",
                                 "display": "Blood pressure"}]},
            "subject": {"reference": "Patient/p1"},
            "component": [{
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 120, "unit": "mm[Hg]"},
            }],
        })
    );
    // Attachment.data is not summary, its other elements are.
    let (status, bundle) = status_and_json(app.get("DocumentReference?_summary=true").await).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(
        first_match(&bundle),
        json!({
            "resourceType": "DocumentReference", "id": "d1", "status": "current",
            "content": [{"attachment": {"contentType": "text/plain", "title": "note"}}],
        })
    );
}
