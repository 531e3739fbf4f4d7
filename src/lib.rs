//! Hearth: a FHIR R4 interoperability gateway for patient-centred medical homes.
//!
//! `main.rs` parses the command line and calls into this library; tests start the same
//! [`Application`] on port 0.

pub mod api;
pub mod config;
pub mod demo;
pub mod fhir;
pub mod generate;
pub mod import;
pub mod measure;
pub mod record;
pub mod store;
pub mod validate;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::record::{Checks, Records};
use crate::store::{ResourceStore, StoreError};
use crate::validate::Validator;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot load the FHIR definitions: {0}")]
    Definitions(#[from] crate::fhir::compartment::CompartmentError),
    #[error("cannot load the FHIR schema: {0}")]
    Schema(#[from] crate::validate::ValidateError),
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
    #[error("cannot load the stored SearchParameters: {0}")]
    Record(#[from] crate::record::RecordError),
}

/// The checks every write passes, with the custom SearchParameters stored in `store`, and
/// the change marker of SearchParameters they were loaded at.
async fn load_checks(
    store: &dyn ResourceStore,
    base_url: Option<&str>,
) -> Result<(Checks, i64), StartError> {
    let parameters: crate::fhir::ResourceType =
        "SearchParameter"
            .parse()
            .map_err(|e: crate::fhir::UnknownResourceType| {
                record::RecordError::Internal(e.to_string())
            })?;
    // The marker first: a SearchParameter written meanwhile makes the checks look stale.
    let marker = store.change_marker(&[parameters]).await?;
    let custom = record::stored_search_parameters(store).await?;
    let (checks, _) = Checks::r4(Arc::new(Validator::load()?))?
        .with_base_url(base_url)
        .with_custom_parameters(&custom);
    Ok((checks, marker))
}

/// `hearth reindex`: recomputes every current resource's search-index rows (after adding
/// custom SearchParameters, or a change in indexing); returns how many were indexed.
/// `base_url` is the one the server runs with (absolute references to it index as local).
pub async fn reindex(
    url: &str,
    options: &store::StoreOptions,
    base_url: Option<&str>,
) -> Result<u64, StartError> {
    let store = store::open(url, options).await?;
    let (checks, marker) = load_checks(store.as_ref(), base_url).await?;
    let records = Records::loaded_at(store.clone(), Arc::new(checks), Some(marker));
    let indexed = records.reindex().await;
    let analysed = match indexed {
        Ok(_) => store.refresh_statistics().await,
        Err(_) => Ok(()),
    };
    store.close().await;
    let indexed = indexed?;
    analysed?;
    Ok(indexed)
}

/// `hearth import`: loads NDJSON files into the store at `url` (see [`import::import`]).
pub async fn import(
    url: &str,
    options: &store::StoreOptions,
    files: &[std::path::PathBuf],
    settings: &import::ImportSettings,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<import::ImportSummary> {
    let files = import::ndjson_files(files)?;
    let store = store::open(url, options).await?;
    let (checks, marker) = load_checks(store.as_ref(), settings.base_url.as_deref()).await?;
    let records = Records::loaded_at(store.clone(), Arc::new(checks), Some(marker));
    let deferred = match settings.defer_indexes {
        true => store.defer_indexes().await?,
        false => 0,
    };
    let summary = import::import(&records, &files, settings, progress).await;
    // Built whether or not the load went through: what it committed must be searchable.
    let building = std::time::Instant::now();
    let built = store.build_deferred_indexes().await;
    let index_build = building.elapsed();
    let analysed = match (&summary, &built) {
        (Ok(_), Ok(_)) => store.refresh_statistics().await,
        _ => Ok(()),
    };
    store.close().await;
    let mut summary = summary?;
    built?;
    analysed?;
    summary.deferred_indexes = deferred;
    summary.index_build = index_build;
    Ok(summary)
}

/// A server that is bound and connected, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: Arc<dyn ResourceStore>,
}

impl Application {
    /// Opens (and migrates) the database and binds the listen address.
    pub async fn build(config: &Config) -> Result<Application, StartError> {
        let store = store::open(&config.database_url, &config.store).await?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let base_url: Option<Arc<str>> = config
            .base_url
            .as_deref()
            .map(|base| Arc::from(base.trim_end_matches('/')));
        let (checks, marker) = load_checks(store.as_ref(), base_url.as_deref()).await?;
        let state = api::AppState {
            measures: Arc::new(measure::service::MeasureService::new(store.clone())),
            records: Records::loaded_at(store.clone(), Arc::new(checks), Some(marker)),
            max_body_bytes: config.max_body_bytes,
            base_url,
        };
        Ok(Application {
            listener,
            router: api::router(state),
            store,
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr, std::io::Error> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish, then closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        self.store.close().await;
        served.map_err(StartError::Serve)
    }
}
