use axum::extract::State;
use axum::http::StatusCode;

use crate::api::request::{IfMatch, ReturnPreference, Target};
use crate::api::response::FhirResponse;
use crate::api::{ApiError, AppState};
use crate::fhir::OperationOutcome;

/// `DELETE /{type}/{id}`: logical delete. Deleting what is absent or already deleted succeeds
/// and writes nothing, as the spec allows.
pub async fn delete(
    State(state): State<AppState>,
    target: Target,
    preference: ReturnPreference,
    IfMatch(if_match): IfMatch,
) -> Result<FhirResponse, ApiError> {
    let id = target.id()?.clone();
    let name = format!("{}/{id}", target.resource_type);
    let outcome = state
        .records
        .delete(target.resource_type, id, if_match)
        .await?;
    let message = match &outcome.stored {
        Some(stored) => format!("{name} deleted: version {}", stored.version),
        None => format!("{name} did not exist or was already deleted; nothing to do"),
    };
    let response = match preference {
        ReturnPreference::OperationOutcome => FhirResponse::new(
            StatusCode::OK,
            OperationOutcome::information(message).to_json(),
        ),
        _ => FhirResponse::empty(StatusCode::NO_CONTENT),
    };
    Ok(match &outcome.stored {
        Some(stored) => response.with_version_headers(stored),
        None => response,
    })
}
