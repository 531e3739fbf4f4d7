use axum::extract::State;
use axum::http::StatusCode;

use crate::api::request::Target;
use crate::api::response::FhirResponse;
use crate::api::{ApiError, AppState};

/// `GET /{type}/{id}`
pub async fn read(State(state): State<AppState>, target: Target) -> Result<FhirResponse, ApiError> {
    let stored = state
        .records
        .read(target.resource_type, target.id()?)
        .await?;
    Ok(FhirResponse::stored(StatusCode::OK, &stored))
}

/// `GET /{type}/{id}/_history/{vid}`
pub async fn vread(
    State(state): State<AppState>,
    target: Target,
) -> Result<FhirResponse, ApiError> {
    let version = target.version.unwrap_or_default();
    let stored = state
        .records
        .vread(target.resource_type, target.id()?, version)
        .await?;
    Ok(FhirResponse::stored(StatusCode::OK, &stored))
}
