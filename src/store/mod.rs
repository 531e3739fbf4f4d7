//! Durable storage of resources and their history, behind one trait with a SQLite and a
//! PostgreSQL implementation. Every write (resource version + current pointer) commits in one
//! database transaction, and a multi-operation write commits all of its operations or none.

mod checkpoint;
mod code_filter;
mod compartment_reads;
mod conditional;
mod date_span;
mod deferred_index;
mod everything;
mod group_commit;
mod history;
mod index_rows;
mod json_members;
mod narrowed_reads;
mod postgres;
mod reads;
mod search;
mod search_page;
mod search_sql;
mod sql;
mod sqlite;
mod write;

use async_trait::async_trait;
use serde_json::Value;

use crate::fhir::{Id, Instant, ResourceType};

pub use code_filter::{code_element, CodeFilter};
pub use compartment_reads::{CompartmentRead, RawResource, TypeRead};
pub use conditional::{lock_key, CreateUnless, Criteria};
pub use date_span::{date_element, DateFilter, UNBOUNDED};
pub use everything::{ClinicalRange, EverythingQuery};
pub use history::{HistoryPage, HistoryQuery, HistoryScope};
pub use postgres::PostgresStore;
pub use search::{
    Clause, Cond, IndexMatch, Op, SearchPage, SearchQuery, SortBy, SortKey, SqlValue,
};
pub use sqlite::SqliteStore;
pub use write::{Reindexed, WriteKind, WriteOp, WriteOutcome};

/// One version of a resource as stored.
#[derive(Clone, Debug)]
pub struct StoredResource {
    pub resource_type: ResourceType,
    pub id: String,
    pub version: i64,
    pub last_updated: Instant,
    /// `None` when this version is a deletion.
    pub body: Option<String>,
    /// How this version came to be: POST, PUT or DELETE.
    pub method: String,
}

impl StoredResource {
    pub fn is_deleted(&self) -> bool {
        self.body.is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{resource_type}/{id} is at version {actual}, not version {expected}")]
    VersionConflict {
        resource_type: ResourceType,
        id: String,
        expected: i64,
        actual: i64,
    },
    #[error("{resource_type}/{id} does not exist, so it cannot match version {expected}")]
    PreconditionOnMissing {
        resource_type: ResourceType,
        id: String,
        expected: i64,
    },
    #[error("{resource_type}/{id} already exists")]
    AlreadyExists {
        resource_type: ResourceType,
        id: String,
    },
    #[error("operation {index} of the write failed: {source}")]
    InOperation {
        index: usize,
        #[source]
        source: Box<StoreError>,
    },
    #[error("a resource matching a create's ifNoneExist criteria was stored meanwhile; send the request again")]
    ConditionChanged,
    #[error("the database is busy; try again")]
    Busy,
    #[error("the store is shutting down")]
    Closed,
    #[error("the commit failed: {0}")]
    Commit(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// The position of the failing operation in a multi-operation write, if known.
    pub fn operation_index(&self) -> Option<usize> {
        match self {
            StoreError::InOperation { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// The error without its operation position.
    pub fn root(&self) -> &StoreError {
        match self {
            StoreError::InOperation { source, .. } => source.root(),
            other => other,
        }
    }
}

/// Resource persistence. Implementations must make `write` atomic: all operations commit or none.
#[async_trait]
pub trait ResourceStore: Send + Sync + 'static {
    /// The current version of a resource (which may be a deletion), or `None` if it never existed.
    async fn read(
        &self,
        resource_type: ResourceType,
        id: &Id,
    ) -> Result<Option<StoredResource>, StoreError>;

    /// One specific version.
    async fn vread(
        &self,
        resource_type: ResourceType,
        id: &Id,
        version: i64,
    ) -> Result<Option<StoredResource>, StoreError>;

    /// Applies the operations in order inside one database transaction.
    async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, StoreError>;

    /// Creates `op` unless `criteria` finds a resource, atomically with respect to every other
    /// call with the same criteria (conditional create, `If-None-Exist`).
    async fn create_unless(
        &self,
        criteria: &Criteria,
        op: WriteOp,
    ) -> Result<CreateUnless, StoreError>;

    /// [`ResourceStore::write`], refused with [`StoreError::ConditionChanged`] if any of
    /// `guards` finds other resources than it expects once the write holds their locks
    /// (conditional updates and deletes, `ifNoneExist` creates, which found nothing).
    async fn write_guarded(
        &self,
        ops: Vec<WriteOp>,
        guards: &[Criteria],
    ) -> Result<Vec<WriteOutcome>, StoreError>;

    /// Versions newest first, one page at a time.
    async fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, StoreError>;

    /// Current, non-deleted resources matching a search, one page at a time.
    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, StoreError>;

    /// The `(type, id)` targets of the references `ids` hold in parameter `code` (any
    /// reference parameter when `None`).
    async fn references(
        &self,
        resource_type: ResourceType,
        ids: &[String],
        code: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Rewrites what is derived from these resources' current bodies (their search-index rows
    /// and stored codes), in one transaction (`hearth reindex`).
    async fn replace_index(&self, rows: &[Reindexed<'_>]) -> Result<(), StoreError>;

    /// One page of a patient's compartment (`$everything`).
    async fn everything(&self, query: &EverythingQuery) -> Result<SearchPage, StoreError>;

    /// Every current, non-deleted resource in one patient's compartment (including the Patient).
    async fn patient_compartment(&self, patient_id: &str) -> Result<Vec<Value>, StoreError>;

    /// The compartments of many patients in one query, as `(patient id, resource)` pairs.
    async fn patient_compartments(
        &self,
        patient_ids: &[String],
    ) -> Result<Vec<(String, Value)>, StoreError>;

    /// Like `patient_compartments`, but only the types (and codes) `read` names, and
    /// unparsed: each resource is parsed (and code-filtered) when a caller asks for it.
    async fn patient_compartments_read(
        &self,
        patient_ids: &[String],
        read: &CompartmentRead,
    ) -> Result<Vec<RawResource>, StoreError>;

    /// Ids of the current, non-deleted resources of one type, in id order, after `after`:
    /// pages through a type (population runs stream patients this way).
    async fn list_ids(
        &self,
        resource_type: ResourceType,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;

    /// Ids of the current, non-deleted resources of one type in the order they were created,
    /// each with its position, after position `after`. Both stores lay resources out in
    /// write order, and loads write a patient's data together, so reading patients' data in
    /// this order reads the store front to back instead of at random (population runs). A
    /// resource keeps its position when it is updated.
    async fn list_ids_in_creation_order(
        &self,
        resource_type: ResourceType,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, StoreError>;

    /// Every current, non-deleted resource of one type (small types only: measure content).
    async fn list_all(&self, resource_type: ResourceType) -> Result<Vec<Value>, StoreError>;

    /// The current, non-deleted resources of one type with these ids, in no particular order.
    async fn read_many(
        &self,
        resource_type: ResourceType,
        ids: &[String],
    ) -> Result<Vec<Value>, StoreError>;

    /// A number that grows whenever a resource of one of these types is written (and its
    /// write is committed, in whatever order), so caches derived from them (compiled measures,
    /// custom SearchParameters) know when they are stale, on every replica.
    async fn change_marker(&self, types: &[ResourceType]) -> Result<i64, StoreError>;

    /// Brings the query planner's statistics up to date (and, on PostgreSQL, vacuums). Bulk
    /// loads call it: a planner that still believes the tables are empty picks plans that are
    /// orders of magnitude slower.
    async fn refresh_statistics(&self) -> Result<(), StoreError>;

    /// Before a bulk load: when the store has never held a resource, drops the indexes a load
    /// would insert into at random places and records them for [`Self::build_deferred_indexes`];
    /// the number dropped (0 when the store has data).
    async fn defer_indexes(&self) -> Result<usize, StoreError>;

    /// Builds the indexes a bulk load deferred; every open does it too, after a killed load.
    async fn build_deferred_indexes(&self) -> Result<usize, StoreError>;

    /// Answers once the database does.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes connections cleanly; called once at shutdown.
    async fn close(&self);
}

/// Opens the store a URL names: `sqlite:PATH` (created if missing) or `postgres://…`.
pub async fn open(
    url: &str,
    options: &StoreOptions,
) -> Result<std::sync::Arc<dyn ResourceStore>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            PostgresStore::connect(url, options).await?,
        ))
    } else {
        Ok(std::sync::Arc::new(
            SqliteStore::connect(url, options).await?,
        ))
    }
}

/// Runs the migrations of the backend a URL names, without serving.
pub async fn migrate(url: &str, options: &StoreOptions) -> Result<(), StoreError> {
    let store = open(url, options).await?;
    store.close().await;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// PostgreSQL connections; SQLite uses one writer and this many readers.
    pub pool_size: u32,
    /// Extra `search_path` schema on PostgreSQL, created if missing (tests isolate themselves this way).
    pub pg_schema: Option<String>,
    /// SQLite `synchronous=FULL` (fsync every commit) rather than `NORMAL`.
    pub sqlite_full_sync: bool,
    /// How much of a SQLite database its readers map into memory (`mmap_size`), in bytes.
    pub sqlite_mmap_size: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            pool_size: 8,
            pg_schema: None,
            sqlite_full_sync: true,
            // A ceiling, not an allocation: the file is mapped as large as it is. Pages are
            // shared with the OS page cache, so they show in a reader's RSS but cost no memory
            // of their own. `.cargo/config.toml` builds SQLite to allow this much.
            sqlite_mmap_size: 1 << 40,
        }
    }
}

fn parse_type(name: &str) -> Result<ResourceType, StoreError> {
    name.parse()
        .map_err(|_| StoreError::Corrupt(format!("unknown resource type '{name}' in storage")))
}

/// A version row as both backends select it: type, id, version, last_updated, method, body.
type VersionRow = (String, String, i64, i64, String, Option<String>);

fn from_row(
    (resource_type, id, version, last_updated, method, body): VersionRow,
) -> Result<StoredResource, StoreError> {
    Ok(StoredResource {
        resource_type: parse_type(&resource_type)?,
        id,
        version,
        last_updated,
        body,
        method,
    })
}
