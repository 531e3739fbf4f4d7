//! One file per `$operation`.

mod validate;

use axum::routing::post;
use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{type}/$validate", post(validate::validate))
        .route("/{type}/{id}/$validate", post(validate::validate))
}
