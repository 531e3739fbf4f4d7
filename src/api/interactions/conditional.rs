//! Conditional update `PUT /[type]?criteria` and conditional delete `DELETE /[type]?criteria`.

use axum::extract::State;
use axum::http::{StatusCode, Uri};

use super::written;
use crate::api::request::{BaseUrl, FhirJson, IfMatch, ReturnPreference, Target};
use crate::api::response::FhirResponse;
use crate::api::{ApiError, AppState};
use crate::fhir::OperationOutcome;

/// `PUT /[type]?criteria`
pub async fn update(
    State(state): State<AppState>,
    target: Target,
    BaseUrl(base): BaseUrl,
    preference: ReturnPreference,
    IfMatch(if_match): IfMatch,
    uri: Uri,
    FhirJson(resource): FhirJson,
) -> Result<FhirResponse, ApiError> {
    let criteria = uri.query().unwrap_or_default();
    let outcome = state
        .records
        .conditional_update(target.resource_type, criteria, resource, if_match)
        .await?;
    let stored = outcome
        .stored
        .ok_or_else(|| ApiError::BadRequest("nothing was updated".into()))?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(written(status, &stored, &base, preference))
}

/// `DELETE /[type]?criteria`
pub async fn delete(
    State(state): State<AppState>,
    target: Target,
    preference: ReturnPreference,
    uri: Uri,
) -> Result<FhirResponse, ApiError> {
    let criteria = uri.query().unwrap_or_default();
    let outcome = state
        .records
        .conditional_delete(target.resource_type, criteria)
        .await?;
    let message = match outcome.as_ref().and_then(|o| o.stored.as_ref()) {
        Some(stored) => format!(
            "{}/{} deleted: version {}",
            stored.resource_type, stored.id, stored.version
        ),
        None => "no resource matched; nothing to do".to_owned(),
    };
    Ok(match preference {
        ReturnPreference::OperationOutcome => FhirResponse::new(
            StatusCode::OK,
            OperationOutcome::information(message).to_json(),
        ),
        _ => FhirResponse::empty(StatusCode::NO_CONTENT),
    })
}
