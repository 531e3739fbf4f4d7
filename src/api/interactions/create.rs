use axum::extract::State;
use axum::http::StatusCode;

use super::written;
use crate::api::request::{BaseUrl, FhirJson, ReturnPreference, Target};
use crate::api::response::FhirResponse;
use crate::api::{ApiError, AppState};

/// `POST /{type}`: the server assigns the id.
pub async fn create(
    State(state): State<AppState>,
    target: Target,
    BaseUrl(base): BaseUrl,
    preference: ReturnPreference,
    headers: axum::http::HeaderMap,
    FhirJson(resource): FhirJson,
) -> Result<FhirResponse, ApiError> {
    if headers.contains_key("if-none-exist") {
        return Err(ApiError::Record(crate::record::RecordError::NotSupported(
            "conditional create (If-None-Exist) needs search, which is not supported yet".into(),
        )));
    }
    let outcome = state.records.create(target.resource_type, resource).await?;
    let stored = outcome
        .stored
        .ok_or_else(|| ApiError::BadRequest("nothing was created".into()))?;
    Ok(written(StatusCode::CREATED, &stored, &base, preference))
}
