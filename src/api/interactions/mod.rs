//! One file per FHIR interaction.

mod batch;
mod capabilities;
mod conditional;
mod create;
mod delete;
mod history;
mod read;
mod search;
mod update;
mod written;

use axum::routing::{get, post};
use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            post(batch::batch_or_transaction).get(search::system_get),
        )
        .route("/_search", post(search::system_post))
        .route("/metadata", get(capabilities::capability_statement))
        .route("/_history", get(history::system_history))
        .route(
            "/{type}",
            post(create::create)
                .get(search::search_get)
                .put(conditional::update)
                .delete(conditional::delete),
        )
        .route("/{type}/_search", post(search::search_post))
        .route("/{type}/_history", get(history::type_history))
        .route(
            "/{type}/{id}",
            get(read::read).put(update::update).delete(delete::delete),
        )
        .route("/{type}/{id}/_history", get(history::instance_history))
        .route(
            "/{type}/{id}/{compartment}",
            get(search::compartment_search),
        )
        .route("/{type}/{id}/_history/{vid}", get(read::vread))
}

pub(super) use written::written;
