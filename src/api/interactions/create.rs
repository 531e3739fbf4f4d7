use axum::extract::State;
use axum::http::StatusCode;

use super::written;
use crate::api::request::{BaseUrl, FhirJson, ReturnPreference, Target};
use crate::api::response::FhirResponse;
use crate::api::{ApiError, AppState};
use crate::record::ConditionalCreate;

/// `POST /{type}`: the server assigns the id.
pub async fn create(
    State(state): State<AppState>,
    target: Target,
    BaseUrl(base): BaseUrl,
    preference: ReturnPreference,
    headers: axum::http::HeaderMap,
    FhirJson(resource): FhirJson,
) -> Result<FhirResponse, ApiError> {
    let criteria = headers
        .get("if-none-exist")
        .map(|v| {
            v.to_str().map(str::to_owned).map_err(|_| {
                ApiError::BadRequest("If-None-Exist must be a query string in ASCII".into())
            })
        })
        .transpose()?;
    let outcome = match criteria {
        None => state.records.create(target.resource_type, resource).await?,
        Some(criteria) => {
            let criteria = criteria.trim_start_matches('?');
            let criteria = criteria.split_once('?').map_or(criteria, |(_, q)| q);
            match state
                .records
                .create_if_none_exist(target.resource_type, resource, criteria)
                .await?
            {
                ConditionalCreate::Created(outcome) => outcome,
                ConditionalCreate::Exists(stored) => {
                    return Ok(written(StatusCode::OK, &stored, &base, preference))
                }
            }
        }
    };
    let stored = outcome
        .stored
        .ok_or_else(|| ApiError::BadRequest("nothing was created".into()))?;
    Ok(written(StatusCode::CREATED, &stored, &base, preference))
}
