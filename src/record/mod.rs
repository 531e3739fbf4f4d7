//! The shared care record: every write enters through here, is checked and placed in its
//! patient's compartment, then stored. Handlers call these functions and only map the result.

mod bundle;
mod conditional;
mod error;
mod live;
mod prepare;
mod reindex;
mod search;

use std::sync::Arc;

use serde_json::Value;

use crate::fhir::{Id, ResourceType};
use crate::store::{
    HistoryPage, HistoryQuery, ResourceStore, StoredResource, WriteOp, WriteOutcome,
};

pub use bundle::{parse_etag, BundleKind, BundleOutcome, EntryResult};
pub use conditional::ConditionalCreate;
pub use error::RecordError;
pub use prepare::Checks;
pub use reindex::stored_search_parameters;
pub use search::{SearchRequest, SearchResult, Shape, DEFAULT_COUNT, MAX_COUNT};

#[derive(Clone)]
pub struct Records {
    store: Arc<dyn ResourceStore>,
    checks: Arc<live::LiveChecks>,
}

impl Records {
    /// Records whose checks follow the stored SearchParameters from the first use on.
    pub fn new(store: Arc<dyn ResourceStore>, checks: Arc<Checks>) -> Self {
        Records::loaded_at(store, checks, None)
    }

    /// Records whose checks hold the SearchParameters stored as of change marker `marker`.
    pub fn loaded_at(
        store: Arc<dyn ResourceStore>,
        checks: Arc<Checks>,
        marker: Option<i64>,
    ) -> Self {
        Records {
            store,
            checks: Arc::new(live::LiveChecks::new(checks, marker)),
        }
    }

    pub fn store(&self) -> &Arc<dyn ResourceStore> {
        &self.store
    }

    /// The checks as last loaded (see [`Records::current_checks`] for up-to-date ones).
    pub fn checks(&self) -> Arc<Checks> {
        self.checks.get()
    }

    /// The checks with every stored SearchParameter in effect.
    pub async fn current_checks(&self) -> Result<Arc<Checks>, RecordError> {
        self.checks.fresh(self.store.as_ref()).await
    }

    /// Create with a server-assigned id (any id in the body is replaced, as the spec requires).
    pub async fn create(
        &self,
        resource_type: ResourceType,
        resource: Value,
    ) -> Result<WriteOutcome, RecordError> {
        let op = self
            .current_checks()
            .await?
            .create(resource_type, resource, Id::generate())?;
        self.write_one(op).await
    }

    /// Update, or create with the client's id when the resource does not exist yet.
    pub async fn update(
        &self,
        resource_type: ResourceType,
        id: Id,
        resource: Value,
        if_match: Option<i64>,
    ) -> Result<WriteOutcome, RecordError> {
        let op = self
            .current_checks()
            .await?
            .update(resource_type, id, resource)?
            .if_match(if_match);
        self.write_one(op).await
    }

    pub async fn delete(
        &self,
        resource_type: ResourceType,
        id: Id,
        if_match: Option<i64>,
    ) -> Result<WriteOutcome, RecordError> {
        self.write_one(WriteOp::delete(resource_type, id).if_match(if_match))
            .await
    }

    /// The current version; a deleted resource is `Gone`, an unknown one `NotFound`.
    pub async fn read(
        &self,
        resource_type: ResourceType,
        id: &Id,
    ) -> Result<StoredResource, RecordError> {
        let found = self.store.read(resource_type, id).await?;
        existing(found, || format!("{resource_type}/{id}"))
    }

    pub async fn vread(
        &self,
        resource_type: ResourceType,
        id: &Id,
        version: i64,
    ) -> Result<StoredResource, RecordError> {
        let found = self.store.vread(resource_type, id, version).await?;
        existing(found, || format!("{resource_type}/{id}/_history/{version}"))
    }

    pub async fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, RecordError> {
        Ok(self.store.history(query).await?)
    }

    async fn write_one(&self, op: WriteOp) -> Result<WriteOutcome, RecordError> {
        self.write_guarded(op, None).await
    }

    /// One write, refused with `ConditionChanged` unless `guard`'s search, under its lock,
    /// still finds what the write was decided on.
    async fn write_guarded(
        &self,
        op: WriteOp,
        guard: impl Into<Option<crate::store::Criteria>>,
    ) -> Result<WriteOutcome, RecordError> {
        let parameter = op.resource_type == live::search_parameter_type()?;
        let written = match guard.into() {
            None => self.store.write(vec![op]).await,
            Some(guard) => self.store.write_guarded(vec![op], &[guard]).await,
        };
        if parameter {
            self.checks.invalidate();
        }
        let mut outcomes = written.map_err(|e| match e {
            crate::store::StoreError::InOperation { source, .. } => *source,
            other => other,
        })?;
        outcomes.pop().ok_or_else(|| {
            RecordError::Store(crate::store::StoreError::Corrupt(
                "a write returned no outcome".into(),
            ))
        })
    }
}

fn existing(
    found: Option<StoredResource>,
    name: impl FnOnce() -> String,
) -> Result<StoredResource, RecordError> {
    match found {
        None => Err(RecordError::NotFound(format!(
            "{} is not known to this server",
            name()
        ))),
        Some(stored) if stored.is_deleted() => Err(RecordError::Gone(format!(
            "{} was deleted (version {})",
            name(),
            stored.version
        ))),
        Some(stored) => Ok(stored),
    }
}
