//! SQLite: the embedded default. One writer connection (SQLite serialises writers anyway, and a
//! single writer never meets SQLITE_BUSY) and a pool of read-only connections, all in WAL mode.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::checkpoint::{Checkpointer, RestartWanted};
use super::deferred_index;
use super::group_commit::GroupCommit;
use super::sql::SqlTx;
use super::{HistoryPage, HistoryQuery, ResourceStore, StoreError, StoreOptions, StoredResource};
use super::{WriteOp, WriteOutcome};
use crate::fhir::{Id, ResourceType};

/// How long a connection waits for a lock before giving up with SQLITE_BUSY.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    writer: SqlitePool,
    commits: GroupCommit,
    reader: SqlitePool,
    checkpointer: Checkpointer,
    /// Held across a conditional write's search and write: only this process writes.
    conditional: tokio::sync::Mutex<()>,
}

impl SqliteStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<SqliteStore, StoreError> {
        let base = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            // WAL: readers never block the writer and a killed process loses no committed write.
            .journal_mode(SqliteJournalMode::Wal)
            // FULL (the default): every commit is fsynced, so a committed write survives power
            // loss too. NORMAL still never loses or half-applies a commit when the process dies.
            .synchronous(if options.sqlite_full_sync {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // 16 MiB of page cache per connection: SQLite truncates the cache at every commit,
            // so a larger one costs the writer time and every reader memory.
            .pragma("cache_size", "-16384")
            .pragma("temp_store", "memory")
            // A WAL emptied by a checkpoint is cut back to this size, not left at its peak.
            .pragma("journal_size_limit", "67108864");
        if let Some(dir) = base.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
            }
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // The checkpointer copies the WAL back; the writer only writes.
            .connect_with(base.clone().pragma("wal_autocheckpoint", "0"))
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&writer).await?;
        deferred_index::build(&writer, &dialect()).await?;
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.pool_size.max(1))
            // Population runs read gigabytes of pages: mapped, each costs no system call and no
            // copy (a third of a run's time went to `pread`). Readers only: writes stay
            // buffered, so a failing disk fails a write with an error.
            .connect_with(
                base.read_only(true)
                    .pragma("mmap_size", options.sqlite_mmap_size.to_string()),
            )
            .await?;
        let restart = RestartWanted::default();
        Ok(SqliteStore {
            checkpointer: Checkpointer::start(checkpoints, restart.clone()),
            commits: GroupCommit::start(writer.clone(), restart)?,
            writer,
            reader,
            conditional: tokio::sync::Mutex::new(()),
        })
    }
}

#[async_trait]
impl ResourceStore for SqliteStore {
    async fn read(
        &self,
        resource_type: ResourceType,
        id: &Id,
    ) -> Result<Option<StoredResource>, StoreError> {
        super::reads::current(&self.reader, "v.body", resource_type, id).await
    }

    async fn vread(
        &self,
        resource_type: ResourceType,
        id: &Id,
        version: i64,
    ) -> Result<Option<StoredResource>, StoreError> {
        super::reads::version(&self.reader, "v.body", resource_type, id, version).await
    }

    async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, StoreError> {
        self.commits.write(ops).await
    }

    async fn write_guarded(
        &self,
        ops: Vec<WriteOp>,
        guards: &[super::Criteria],
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        if guards.is_empty() {
            return self.commits.write(ops).await;
        }
        let _held = self.conditional.lock().await;
        for guard in guards {
            let found = super::search::run(&self.reader, &guard.query, "v.body").await?;
            if !guard.still_finds(&found.entries) {
                return Err(StoreError::ConditionChanged);
            }
        }
        self.commits.write(ops).await
    }

    async fn create_unless(
        &self,
        criteria: &super::Criteria,
        op: WriteOp,
    ) -> Result<super::CreateUnless, StoreError> {
        // One lock for every criteria: writes are serial here anyway, and the search is short.
        let _held = self.conditional.lock().await;
        let found = super::search::run(&self.reader, &criteria.query, "v.body").await?;
        if !found.entries.is_empty() {
            return Ok(super::CreateUnless::Found(found.entries));
        }
        let mut outcomes = self.commits.write(vec![op]).await?;
        outcomes
            .pop()
            .map(super::CreateUnless::Created)
            .ok_or_else(|| StoreError::Corrupt("a write returned no outcome".into()))
    }

    async fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        super::reads::history(&self.reader, "v.body", query).await
    }

    async fn search(&self, query: &super::SearchQuery) -> Result<super::SearchPage, StoreError> {
        super::search::run(&self.reader, query, "v.body").await
    }

    async fn references(
        &self,
        resource_type: ResourceType,
        ids: &[String],
        code: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        super::search::references(&self.reader, resource_type, ids, code).await
    }

    async fn replace_index(&self, rows: &[super::Reindexed<'_>]) -> Result<(), StoreError> {
        use super::write::WriteTx;
        let mut tx = SqlTx {
            tx: self.writer.begin_with("BEGIN IMMEDIATE").await?,
            lock: "",
            body_cast: "",
        };
        tx.replace_index(rows).await?;
        tx.tx.commit().await?;
        Ok(())
    }

    async fn everything(
        &self,
        query: &super::EverythingQuery,
    ) -> Result<super::SearchPage, StoreError> {
        super::everything::everything(&self.reader, query, "v.body").await
    }

    async fn patient_compartments(
        &self,
        patient_ids: &[String],
    ) -> Result<Vec<(String, Value)>, StoreError> {
        super::compartment_reads::compartments(&self.reader, "v.body", patient_ids, None).await
    }

    async fn patient_compartments_read(
        &self,
        patient_ids: &[String],
        read: &super::CompartmentRead,
    ) -> Result<Vec<super::RawResource>, StoreError> {
        super::compartment_reads::compartments_raw(&self.reader, "v.body", patient_ids, read).await
    }

    async fn patient_compartment(&self, patient_id: &str) -> Result<Vec<Value>, StoreError> {
        super::reads::compartment(&self.reader, "v.body", patient_id).await
    }

    async fn list_ids(
        &self,
        resource_type: ResourceType,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT res_id FROM resource WHERE res_type = $1 AND res_id > $2 AND NOT deleted \
             ORDER BY res_id LIMIT $3",
        )
        .bind(resource_type.as_str())
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?)
    }

    async fn list_ids_in_creation_order(
        &self,
        resource_type: ResourceType,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        super::reads::ids_in_creation_order(&self.reader, resource_type, after, limit).await
    }

    async fn list_all(&self, resource_type: ResourceType) -> Result<Vec<Value>, StoreError> {
        let bodies: Vec<String> = sqlx::query_scalar(
            "SELECT v.body FROM resource r JOIN resource_version v ON v.seq = r.seq \
             WHERE r.res_type = $1 AND NOT r.deleted ORDER BY r.res_id",
        )
        .bind(resource_type.as_str())
        .fetch_all(&self.reader)
        .await?;
        bodies
            .iter()
            .map(|body| serde_json::from_str(body).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    async fn read_many(
        &self,
        resource_type: ResourceType,
        ids: &[String],
    ) -> Result<Vec<Value>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        // Chunks keep the statement under every backend's bind-parameter limit.
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT v.body FROM resource r JOIN resource_version v ON v.seq = r.seq \
                 WHERE r.res_type = $1 AND NOT r.deleted AND r.res_id IN ({})",
                marks.join(",")
            );
            let mut select = sqlx::query_scalar(&sql).bind(resource_type.as_str());
            for id in chunk {
                select = select.bind(id);
            }
            let bodies: Vec<String> = select.fetch_all(&self.reader).await?;
            for body in &bodies {
                out.push(
                    serde_json::from_str(body).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                );
            }
        }
        Ok(out)
    }

    async fn change_marker(&self, types: &[ResourceType]) -> Result<i64, StoreError> {
        // The newest sequence number plus the number of versions: sequence numbers can commit
        // out of order on PostgreSQL, so a version committed after a larger one moves only the
        // count; every committed write moves the sum.
        let mut marker = 0i64;
        for resource_type in types {
            let (seq, versions): (Option<i64>, i64) = sqlx::query_as(
                "SELECT MAX(seq), COUNT(*) FROM resource_version WHERE res_type = $1",
            )
            .bind(resource_type.as_str())
            .fetch_one(&self.reader)
            .await?;
            marker = marker
                .saturating_add(seq.unwrap_or(0))
                .saturating_add(versions);
        }
        Ok(marker)
    }

    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        // A bounded sample per index keeps ANALYZE to seconds on a database of many GB.
        let mut connection = self.writer.acquire().await?;
        sqlx::query("PRAGMA analysis_limit = 1000")
            .execute(&mut *connection)
            .await?;
        sqlx::query("ANALYZE").execute(&mut *connection).await?;
        Ok(())
    }

    async fn defer_indexes(&self) -> Result<usize, StoreError> {
        deferred_index::defer(&self.writer, &dialect()).await
    }

    async fn build_deferred_indexes(&self) -> Result<usize, StoreError> {
        deferred_index::build(&self.writer, &dialect()).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn close(&self) {
        self.checkpointer.stop();
        self.reader.close().await;
        // Leave the database file complete and the WAL empty for the next start.
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(error = %error, "the final WAL checkpoint failed");
        }
        self.writer.close().await;
    }
}

/// Index builds sort in temporary files (tens of millions of keys do not belong in memory) with
/// helper threads on every core, and each build's pages are copied from the WAL into the
/// database before the next.
fn dialect() -> deferred_index::Dialect {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    deferred_index::Dialect {
        record:
            "INSERT INTO deferred_index (name, definition) SELECT name, sql FROM sqlite_master \
                 WHERE type = 'index' AND sql IS NOT NULL \
                 AND (tbl_name LIKE 'idx\\_%' ESCAPE '\\' OR name IN ($1, $2))",
        setup: vec![
            "PRAGMA temp_store = FILE".into(),
            format!("PRAGMA threads = {threads}"),
        ],
        teardown: &["PRAGMA temp_store = MEMORY", "PRAGMA threads = 0"],
        lock: None,
        // The writer never checkpoints, and at open no checkpointer runs yet: without this
        // the WAL held every index built (18.6 GB at 8.5 M resources) until the store closed,
        // and the database needed twice their size on disk.
        after_each: Some("PRAGMA wal_checkpoint(TRUNCATE)"),
    }
}
