//! `POST /` with a batch or transaction Bundle.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::api::request::{BaseUrl, FhirJson};
use crate::api::response::{etag, FhirResponse};
use crate::api::{ApiError, AppState};
use crate::fhir::{format_instant, OperationOutcome};
use crate::record::{BundleKind, EntryResult, RecordError};
use crate::store::StoredResource;

pub async fn batch_or_transaction(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    FhirJson(bundle): FhirJson,
) -> Result<FhirResponse, ApiError> {
    let with_resources = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("return=representation"));
    let outcome = state.records.bundle(bundle).await?;
    let kind = match outcome.kind {
        BundleKind::Batch => "batch-response",
        BundleKind::Transaction => "transaction-response",
    };
    let entries = outcome
        .entries
        .into_iter()
        .map(|result| response_entry(result, &base, with_resources))
        .collect::<Result<Vec<_>, _>>()?;
    let bundle = json!({
        "resourceType": "Bundle",
        "id": crate::fhir::Id::generate().to_string(),
        "type": kind,
        "link": [{"relation": "self", "url": base}],
        "entry": entries,
    });
    Ok(FhirResponse::new(StatusCode::OK, bundle))
}

fn response_entry(
    result: Result<EntryResult, RecordError>,
    base: &str,
    with_resources: bool,
) -> Result<Value, ApiError> {
    match result {
        Ok(EntryResult::Written(written)) => match written.stored {
            Some(stored) => {
                let status = match (stored.method.as_str(), written.created) {
                    ("DELETE", _) => "204 No Content",
                    (_, true) => "201 Created",
                    _ => "200 OK",
                };
                let mut entry = versioned(&stored, status, base);
                if stored.method != "DELETE" {
                    entry["response"]["location"] = json!(format!(
                        "{}/{}/_history/{}",
                        stored.resource_type, stored.id, stored.version
                    ));
                    if with_resources {
                        entry["resource"] = parse_body(&stored)?;
                    }
                }
                Ok(entry)
            }
            None => Ok(json!({"response": {"status": "204 No Content"}})),
        },
        Ok(EntryResult::Read(stored)) => {
            let mut entry = versioned(&stored, "200 OK", base);
            entry["resource"] = parse_body(&stored)?;
            Ok(entry)
        }
        Err(error) => {
            let (status, issues) = ApiError::Record(error).status_and_issues();
            Ok(json!({"response": {
                "status": format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or_default()),
                "outcome": OperationOutcome::new(issues).to_json(),
            }}))
        }
    }
}

fn versioned(stored: &StoredResource, status: &str, base: &str) -> Value {
    json!({
        "fullUrl": format!("{base}/{}/{}", stored.resource_type, stored.id),
        "response": {
            "status": status,
            "etag": etag(stored.version),
            "lastModified": format_instant(stored.last_updated),
        },
    })
}

fn parse_body(stored: &StoredResource) -> Result<Value, ApiError> {
    let body = stored.body.as_deref().unwrap_or("null");
    serde_json::from_str(body)
        .map_err(|e| ApiError::from(crate::store::StoreError::Corrupt(e.to_string())))
}
