//! One file per `$operation`.

mod care_gaps;
mod evaluate_measure;
mod params;
mod validate;

use axum::routing::{get, post};
use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{type}/$validate", post(validate::validate))
        .route("/{type}/{id}/$validate", post(validate::validate))
        .route(
            "/{type}/$evaluate-measure",
            get(evaluate_measure::type_get).post(evaluate_measure::type_post),
        )
        .route(
            "/{type}/$care-gaps",
            get(care_gaps::get).post(care_gaps::post),
        )
        .route(
            "/{type}/{id}/$evaluate-measure",
            get(evaluate_measure::instance_get).post(evaluate_measure::instance_post),
        )
}
