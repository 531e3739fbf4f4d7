//! The HTTP face of Hearth: axum routes for the FHIR REST API. Handlers extract, call one
//! record or store function, and map the result; every error renders as an OperationOutcome.

mod error;
mod interactions;
mod metrics;
mod negotiate;
mod operations;
mod request;
mod response;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::measure::service::MeasureService;
use crate::record::Records;

pub use error::ApiError;
pub use response::FHIR_JSON;

/// What every handler can reach. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub records: Records,
    pub measures: Arc<MeasureService>,
    pub max_body_bytes: usize,
    pub base_url: Option<Arc<str>>,
}

pub fn router(state: AppState) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    Router::new()
        .merge(interactions::router())
        .merge(operations::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(negotiate::negotiate))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::disable())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            // The span names the route template, never the raw path: paths carry resource ids.
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("request", method = %request.method(), route, request_id = id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

async fn ready(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    match tokio::time::timeout(Duration::from_secs(2), state.records.store().ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    let first = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if !first.is_empty()
        && first.parse::<crate::fhir::ResourceType>().is_err()
        && !first.starts_with('$')
        && !first.starts_with('_')
    {
        return ApiError::NotFound(format!(
            "'{}' is not a FHIR R4 resource type",
            crate::fhir::truncate(first)
        ));
    }
    ApiError::NotFound(format!(
        "no FHIR interaction lives at {}",
        crate::fhir::truncate(uri.path())
    ))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{method} is not supported on {}",
        crate::fhir::truncate(uri.path())
    ))
}
