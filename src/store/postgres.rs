//! PostgreSQL: the production backend. Bodies are JSONB; concurrent writers serialise per
//! resource with `SELECT … FOR UPDATE`, and a write that loses a race on a new id is retried.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Executor;

use super::deferred_index;
use super::sql::SqlTx;
use super::write::apply_all;
use super::{HistoryPage, HistoryQuery, ResourceStore, StoreError, StoreOptions, StoredResource};
use super::{WriteOp, WriteOutcome};
use crate::fhir::{now_instant, Id, ResourceType};

pub struct PostgresStore {
    pool: PgPool,
}

/// Attempts for a write that collides with a concurrent one (same new id, deadlock).
const WRITE_ATTEMPTS: usize = 5;

impl PostgresStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<PostgresStore, StoreError> {
        // Plan every execution with its values: a prepared search's generic plan assumes an
        // average code and patient, and for a common code it scanned 115k index rows (2.5 s)
        // where the custom plan starts from the patient's 28 (1 ms, planning included).
        let mut connect =
            PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
        if let Some(schema) = &options.pg_schema {
            let setup = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(connect.clone())
                .await?;
            setup
                .execute(
                    format!(
                        "CREATE SCHEMA IF NOT EXISTS \"{}\"",
                        schema.replace('"', "")
                    )
                    .as_str(),
                )
                .await?;
            setup.close().await;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.pool_size.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        deferred_index::build(&pool, &dialect()).await?;
        Ok(PostgresStore { pool })
    }

    async fn create_unless_once(
        &self,
        criteria: &super::Criteria,
        op: &WriteOp,
    ) -> Result<super::CreateUnless, StoreError> {
        let mut tx = SqlTx {
            tx: self.pool.begin().await?,
            lock: " FOR UPDATE",
            body_cast: "::jsonb",
        };
        let mut found = find(&mut tx, criteria).await?;
        if !found.is_empty() {
            found.truncate(criteria.query.count.max(1));
            return Ok(super::CreateUnless::Found(found));
        }
        let mut outcomes = apply_all(&mut tx, std::slice::from_ref(op), now_instant()).await?;
        tx.tx.commit().await?;
        outcomes
            .pop()
            .map(super::CreateUnless::Created)
            .ok_or_else(|| StoreError::Corrupt("a write returned no outcome".into()))
    }

    async fn write_once(
        &self,
        ops: &[WriteOp],
        guards: &[super::Criteria],
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut tx = SqlTx {
            tx: self.pool.begin().await?,
            lock: " FOR UPDATE",
            body_cast: "::jsonb",
        };
        // Locks in key order, so two transactions with the same criteria never deadlock.
        let mut ordered: Vec<&super::Criteria> = guards.iter().collect();
        ordered.sort_by_key(|g| g.lock_key);
        for guard in ordered {
            if !guard.still_finds(&find(&mut tx, guard).await?) {
                return Err(StoreError::ConditionChanged);
            }
        }
        let outcomes = apply_all(&mut tx, ops, now_instant()).await?;
        tx.tx.commit().await?;
        Ok(outcomes)
    }
}

/// Takes a conditional create's advisory lock, held until commit, then searches: a second
/// create on the same criteria waits for the lock, and its search (a new statement under
/// READ COMMITTED) then sees the first one's resource.
async fn find(
    tx: &mut SqlTx<'_, sqlx::Postgres>,
    criteria: &super::Criteria,
) -> Result<Vec<StoredResource>, StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(criteria.lock_key)
        .execute(&mut *tx.tx)
        .await?;
    let statement = super::search_page::page_sql(&criteria.query, "v.body::text");
    let rows: Vec<super::VersionRow> =
        sqlx::query_as_with(&statement.sql, statement.arguments::<sqlx::Postgres>()?)
            .fetch_all(&mut *tx.tx)
            .await?;
    rows.into_iter().map(super::from_row).collect()
}

/// Unique violation, serialization failure or deadlock: another writer won; try again.
fn is_race(error: &StoreError) -> bool {
    match error.root() {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("23505" | "40001" | "40P01"))
        }
        _ => false,
    }
}

#[async_trait]
impl ResourceStore for PostgresStore {
    async fn read(
        &self,
        resource_type: ResourceType,
        id: &Id,
    ) -> Result<Option<StoredResource>, StoreError> {
        super::reads::current(&self.pool, "v.body::text", resource_type, id).await
    }

    async fn vread(
        &self,
        resource_type: ResourceType,
        id: &Id,
        version: i64,
    ) -> Result<Option<StoredResource>, StoreError> {
        super::reads::version(&self.pool, "v.body::text", resource_type, id, version).await
    }

    async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, StoreError> {
        self.write_guarded(ops, &[]).await
    }

    async fn write_guarded(
        &self,
        ops: Vec<WriteOp>,
        guards: &[super::Criteria],
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut attempt = 1;
        loop {
            match self.write_once(&ops, guards).await {
                Err(error) if attempt < WRITE_ATTEMPTS && is_race(&error) => attempt += 1,
                result => return result,
            }
        }
    }

    async fn create_unless(
        &self,
        criteria: &super::Criteria,
        op: WriteOp,
    ) -> Result<super::CreateUnless, StoreError> {
        let mut attempt = 1;
        loop {
            match self.create_unless_once(criteria, &op).await {
                Err(error) if attempt < WRITE_ATTEMPTS && is_race(&error) => attempt += 1,
                result => return result,
            }
        }
    }

    async fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        super::reads::history(&self.pool, "v.body::text", query).await
    }

    async fn search(&self, query: &super::SearchQuery) -> Result<super::SearchPage, StoreError> {
        super::search::run(&self.pool, query, "v.body::text").await
    }

    async fn references(
        &self,
        resource_type: ResourceType,
        ids: &[String],
        code: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        super::search::references(&self.pool, resource_type, ids, code).await
    }

    async fn replace_index(&self, rows: &[super::Reindexed<'_>]) -> Result<(), StoreError> {
        use super::write::WriteTx;
        let mut tx = SqlTx {
            tx: self.pool.begin().await?,
            lock: " FOR UPDATE",
            body_cast: "::jsonb",
        };
        tx.replace_index(rows).await?;
        tx.tx.commit().await?;
        Ok(())
    }

    async fn everything(
        &self,
        query: &super::EverythingQuery,
    ) -> Result<super::SearchPage, StoreError> {
        super::everything::everything(&self.pool, query, "v.body::text").await
    }

    async fn patient_compartments(
        &self,
        patient_ids: &[String],
    ) -> Result<Vec<(String, Value)>, StoreError> {
        super::compartment_reads::compartments(&self.pool, "v.body::text", patient_ids, None).await
    }

    async fn patient_compartments_read(
        &self,
        patient_ids: &[String],
        read: &super::CompartmentRead,
    ) -> Result<Vec<super::RawResource>, StoreError> {
        super::compartment_reads::compartments_raw(&self.pool, "v.body::text", patient_ids, read)
            .await
    }

    async fn patient_compartment(&self, patient_id: &str) -> Result<Vec<Value>, StoreError> {
        super::reads::compartment(&self.pool, "v.body::text", patient_id).await
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
        .fetch_all(&self.pool)
        .await?)
    }

    async fn list_ids_in_creation_order(
        &self,
        resource_type: ResourceType,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        super::reads::ids_in_creation_order(&self.pool, resource_type, after, limit).await
    }

    async fn list_all(&self, resource_type: ResourceType) -> Result<Vec<Value>, StoreError> {
        let bodies: Vec<sqlx::types::Json<Value>> = sqlx::query_scalar(
            "SELECT v.body FROM resource r JOIN resource_version v ON v.seq = r.seq \
             WHERE r.res_type = $1 AND NOT r.deleted ORDER BY r.res_id",
        )
        .bind(resource_type.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(bodies.into_iter().map(|body| body.0).collect())
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
            let bodies: Vec<sqlx::types::Json<Value>> = select.fetch_all(&self.pool).await?;
            out.extend(bodies.into_iter().map(|body| body.0));
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
            .fetch_one(&self.pool)
            .await?;
            marker = marker
                .saturating_add(seq.unwrap_or(0))
                .saturating_add(versions);
        }
        Ok(marker)
    }

    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        // Autovacuum analyses on its own schedule, which lags far behind a bulk load. VACUUM
        // too: it sets the visibility map (index-only scans stop visiting the heap) and hint
        // bits (reads stop dirtying pages). Only this store's tables: others sharing the
        // database are not ours to lock.
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()",
        )
        .fetch_all(&self.pool)
        .await?;
        if !tables.is_empty() {
            sqlx::query(&format!("VACUUM (ANALYZE) {}", tables.join(", ")))
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    async fn defer_indexes(&self) -> Result<usize, StoreError> {
        deferred_index::defer(&self.pool, &dialect()).await
    }

    async fn build_deferred_indexes(&self) -> Result<usize, StoreError> {
        deferred_index::build(&self.pool, &dialect()).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// Index builds sort in memory up to 1 GiB; replicas opening together build each index once.
fn dialect() -> deferred_index::Dialect {
    deferred_index::Dialect {
        record: "INSERT INTO deferred_index (name, definition) SELECT indexname, indexdef \
                 FROM pg_indexes WHERE schemaname = current_schema() \
                 AND (tablename LIKE 'idx\\_%' OR indexname IN ($1, $2))",
        setup: vec!["SET maintenance_work_mem = '1GB'".into()],
        teardown: &["RESET maintenance_work_mem"],
        lock: Some("SELECT pg_advisory_xact_lock(4849017236)"),
        after_each: None,
    }
}
