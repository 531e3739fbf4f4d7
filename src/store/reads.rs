//! Reads both backends share: one SQL shape, run on either pool. `body` is how the backend
//! reads a body as text (`v.body` on SQLite, `v.body::text` on PostgreSQL).

use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::FromRow;

use super::history::{history_statement, into_page};
use super::sql::{Bind, Statement};
use super::{from_row, HistoryPage, HistoryQuery, StoreError, StoredResource, VersionRow};
use crate::fhir::{Id, ResourceType};

/// A pool the shared reads run on. Implemented for the two concrete pools, so the sqlx
/// bounds are stated once here rather than on every function.
#[async_trait]
pub(super) trait Reader: Sync {
    /// Whether lists bind as one array parameter (see [`super::sql::ListBinds`]).
    const ARRAYS: bool;
    /// The aggregate that joins texts with a separator.
    const AGGREGATE: &'static str;
    /// What goes before and after a text parameter of comma-separated integers to test a
    /// column against them (`seq` + prefix + `$n` + suffix).
    const INTEGERS_IN: (&'static str, &'static str);

    async fn rows<R>(&self, statement: &Statement<'_>) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin;
}

#[async_trait]
impl Reader for SqlitePool {
    const ARRAYS: bool = false;
    const AGGREGATE: &'static str = "group_concat";
    const INTEGERS_IN: (&'static str, &'static str) =
        (" IN (SELECT value FROM json_each('[' || ", " || ']'))");

    async fn rows<R>(&self, statement: &Statement<'_>) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let arguments = statement.arguments::<sqlx::Sqlite>()?;
        Ok(
            sqlx::query_as_with(&statement.text::<sqlx::Sqlite>(), arguments)
                .fetch_all(self)
                .await?,
        )
    }
}

#[async_trait]
impl Reader for PgPool {
    const ARRAYS: bool = true;
    const AGGREGATE: &'static str = "string_agg";
    const INTEGERS_IN: (&'static str, &'static str) =
        (" = ANY(string_to_array(", ", ',')::bigint[])");

    async fn rows<R>(&self, statement: &Statement<'_>) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let arguments = statement.arguments::<sqlx::Postgres>()?;
        Ok(sqlx::query_as_with(&statement.sql, arguments)
            .fetch_all(self)
            .await?)
    }
}

/// A version row with its sequence number, as history selects it.
type SeqRow = (i64, String, String, i64, i64, String, Option<String>);

/// Ids of a type's current resources in creation order, with their positions: a resource's
/// first version holds its place (every resource has one; versions are never removed), found
/// through `(res_type, seq)`.
pub(super) async fn ids_in_creation_order(
    pool: &impl Reader,
    resource_type: ResourceType,
    after: Option<i64>,
    limit: u32,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut statement = Statement::new(
        "SELECT v.seq, v.res_id FROM resource_version v \
         JOIN resource r ON r.res_type = v.res_type AND r.res_id = v.res_id \
         WHERE v.version = 1 AND NOT r.deleted AND v.res_type = ",
    );
    statement
        .bind(Bind::Text(resource_type.as_str()))
        .push(" AND v.seq > ")
        .bind(Bind::Int(after.unwrap_or(0)))
        .push(" ORDER BY v.seq LIMIT ")
        .bind(Bind::Int(i64::from(limit)));
    pool.rows(&statement).await
}

pub(super) async fn current(
    pool: &impl Reader,
    body: &str,
    resource_type: ResourceType,
    id: &Id,
) -> Result<Option<StoredResource>, StoreError> {
    let mut statement = Statement::new(&format!(
        "SELECT v.res_type, v.res_id, v.version, v.last_updated, v.method, {body} \
         FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE r.res_type = "
    ));
    statement
        .bind(Bind::Text(resource_type.as_str()))
        .push(" AND r.res_id = ");
    statement.bind(Bind::Text(id.as_str()));
    one(pool, &statement).await
}

pub(super) async fn version(
    pool: &impl Reader,
    body: &str,
    resource_type: ResourceType,
    id: &Id,
    version: i64,
) -> Result<Option<StoredResource>, StoreError> {
    let mut statement = Statement::new(&format!(
        "SELECT v.res_type, v.res_id, v.version, v.last_updated, v.method, {body} \
         FROM resource_version v WHERE v.res_type = "
    ));
    statement
        .bind(Bind::Text(resource_type.as_str()))
        .push(" AND v.res_id = ");
    statement
        .bind(Bind::Text(id.as_str()))
        .push(" AND v.version = ");
    statement.bind(Bind::Int(version));
    one(pool, &statement).await
}

async fn one(
    pool: &impl Reader,
    statement: &Statement<'_>,
) -> Result<Option<StoredResource>, StoreError> {
    let row: Option<VersionRow> = pool.rows(statement).await?.into_iter().next();
    row.map(from_row).transpose()
}

pub(super) async fn history(
    pool: &impl Reader,
    body: &str,
    query: &HistoryQuery,
) -> Result<HistoryPage, StoreError> {
    let statement = history_statement(query, body);
    let rows: Vec<SeqRow> = pool.rows(&statement).await?;
    let rows = rows
        .into_iter()
        .map(|(seq, t, i, v, u, m, b)| Ok((seq, from_row((t, i, v, u, m, b))?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(into_page(rows, query.count))
}

pub(super) async fn compartment(
    pool: &impl Reader,
    body: &str,
    patient_id: &str,
) -> Result<Vec<Value>, StoreError> {
    let mut statement = Statement::new(&format!(
        "SELECT {body} FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE r.patient = "
    ));
    statement
        .bind(Bind::Text(patient_id))
        .push(" AND NOT r.deleted");
    let bodies: Vec<(String,)> = pool.rows(&statement).await?;
    bodies
        .iter()
        .map(|(body,)| serde_json::from_str(body).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect()
}
