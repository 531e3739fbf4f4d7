//! `hearth reindex`: recompute the search-index rows of every current resource, in batches,
//! e.g. after custom SearchParameters were added. Custom SearchParameter resources stored in
//! the database join the registry when the server (or this command) starts.

use std::sync::Arc;

use serde_json::Value;

use super::{Checks, RecordError, Records};
use crate::fhir::{Id, ResourceType};
use crate::store::{Reindexed, ResourceStore, SearchQuery, StoredResource};

/// Resources per batch (and per index transaction).
const BATCH: usize = 500;

/// Every current resource of one type, a batch at a time.
async fn each_batch<F>(
    store: &dyn ResourceStore,
    resource_type: ResourceType,
    mut visit: F,
) -> Result<(), RecordError>
where
    F: AsyncFnMut(Vec<StoredResource>) -> Result<(), RecordError>,
{
    let mut after = None;
    loop {
        let page = store
            .search(&SearchQuery {
                resource_type,
                system: None,
                clauses: Vec::new(),
                count: BATCH,
                after: after.take(),
                before: None,
                total: false,
                sort: Vec::new(),
            })
            .await?;
        let next = page.next_after.clone();
        visit(page.entries).await?;
        match next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(()),
        }
    }
}

fn body(stored: &StoredResource) -> Result<Option<Value>, RecordError> {
    stored
        .body
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| RecordError::Store(crate::store::StoreError::Corrupt(e.to_string())))
}

/// The SearchParameter resources stored in the database (custom parameters). A plain loop
/// rather than [`each_batch`]: request handlers await this, and their futures must be `Send`.
pub async fn stored_search_parameters(
    store: &dyn ResourceStore,
) -> Result<Vec<Value>, RecordError> {
    let mut found = Vec::new();
    let resource_type = super::live::search_parameter_type()?;
    let mut after = None;
    loop {
        let page = store
            .search(&SearchQuery {
                resource_type,
                system: None,
                clauses: Vec::new(),
                count: BATCH,
                after: after.take(),
                before: None,
                total: false,
                sort: Vec::new(),
            })
            .await?;
        for stored in &page.entries {
            found.extend(body(stored)?);
        }
        match page.next_after {
            Some(cursor) => after = Some(cursor),
            None => return Ok(found),
        }
    }
}

impl Checks {
    /// The R4 checks with the stored active custom SearchParameters added to the registry; returns
    /// how many were added (invalid or R4-duplicate ones are skipped).
    pub fn with_custom_parameters(mut self, custom: &[Value]) -> (Self, usize) {
        let mut added = 0;
        if let Some(registry) = Arc::get_mut(&mut self.registry) {
            for resource in custom {
                let url = resource.get("url").and_then(Value::as_str).unwrap_or("");
                let active = resource.get("status").and_then(Value::as_str) == Some("active");
                if active && registry.by_url(url).is_none() && registry.add(resource).is_ok() {
                    added += 1;
                }
            }
        }
        (self, added)
    }
}

impl Records {
    /// Recomputes the index rows of every current resource; returns how many were indexed.
    pub async fn reindex(&self) -> Result<u64, RecordError> {
        let mut done = 0u64;
        let checks = self.current_checks().await?;
        for resource_type in ResourceType::all() {
            each_batch(self.store.as_ref(), resource_type, async |batch| {
                let mut rows = Vec::with_capacity(batch.len());
                for stored in &batch {
                    let (Some(resource), Some(text)) = (body(stored)?, stored.body.as_deref())
                    else {
                        continue;
                    };
                    let id = Id::parse(&stored.id).map_err(|e| {
                        RecordError::Store(crate::store::StoreError::Corrupt(e.to_string()))
                    })?;
                    rows.push(Reindexed {
                        resource_type,
                        id,
                        index: checks.index_of(&resource),
                        body: text,
                    });
                }
                done += rows.len() as u64;
                self.store.replace_index(&rows).await?;
                Ok(())
            })
            .await?;
        }
        Ok(done)
    }
}
