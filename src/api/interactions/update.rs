use axum::extract::State;
use axum::http::StatusCode;

use super::written;
use crate::api::request::{BaseUrl, FhirJson, IfMatch, ReturnPreference, Target};
use crate::api::response::FhirResponse;
use crate::api::{ApiError, AppState};

/// `PUT /{type}/{id}`: update, or create with the client's id.
pub async fn update(
    State(state): State<AppState>,
    target: Target,
    BaseUrl(base): BaseUrl,
    preference: ReturnPreference,
    IfMatch(if_match): IfMatch,
    FhirJson(resource): FhirJson,
) -> Result<FhirResponse, ApiError> {
    let id = target.id()?.clone();
    let outcome = state
        .records
        .update(target.resource_type, id, resource, if_match)
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
