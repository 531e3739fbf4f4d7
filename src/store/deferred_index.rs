//! Index builds deferred past a bulk load into an empty store. Resource ids are random, so each
//! search-index row lands at a random place in every index over `res_id`; once the indexes
//! outgrow memory each insert is a page miss, and the single SQLite writer spends most of a load
//! walking B-trees. Dropping those indexes before the load and building them after sorts every
//! key once instead.
//!
//! The definitions are recorded in `deferred_index` in the transaction that drops them, so a load
//! that is killed leaves its committed resources and the list behind, and the next open of the
//! store builds what is listed before anything is served.

use std::time::Instant;

use sqlx::{Connection, Database, Executor, FromRow, Pool};

use super::StoreError;

/// Indexes over random ids outside the search-index tables, whose indexes are all deferred.
/// Primary keys and the version uniqueness stay: the load looks resources up by them.
pub(super) const OUTSIDE_INDEX_TABLES: [&str; 2] =
    ["resource_version_instance_seq", "resource_patient"];

/// How a backend takes part: where its catalog lists index definitions, and what a build needs.
pub(super) struct Dialect {
    /// `INSERT INTO deferred_index (name, definition) SELECT …` of the deferred indexes, with the
    /// names of [`OUTSIDE_INDEX_TABLES`] as `$1` and `$2`.
    pub record: &'static str,
    /// Run on the build's connection before and after building (sort memory, helper threads).
    pub setup: Vec<String>,
    pub teardown: &'static [&'static str],
    /// Run first in each build's transaction, so replicas starting together build an index once.
    pub lock: Option<&'static str>,
    /// Run after each build's commit, so the log it wrote is emptied before the next build.
    pub after_each: Option<&'static str>,
}

/// When the store has never held a resource, drops the deferred indexes and records them; the
/// number dropped (0 for a store with data, whose indexes must stay).
pub(super) async fn defer<DB>(pool: &Pool<DB>, dialect: &Dialect) -> Result<usize, StoreError>
where
    DB: Database,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
{
    let mut tx = pool.begin().await?;
    let occupied: Option<(String,)> = sqlx::query_as("SELECT res_id FROM resource_version LIMIT 1")
        .fetch_optional(&mut *tx)
        .await?;
    if occupied.is_some() {
        return Ok(0);
    }
    sqlx::query(dialect.record)
        .bind(OUTSIDE_INDEX_TABLES[0])
        .bind(OUTSIDE_INDEX_TABLES[1])
        .execute(&mut *tx)
        .await?;
    let names: Vec<(String,)> = sqlx::query_as("SELECT name FROM deferred_index")
        .fetch_all(&mut *tx)
        .await?;
    for (name,) in &names {
        sqlx::query(&format!(
            "DROP INDEX IF EXISTS \"{}\"",
            name.replace('"', "")
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(names.len())
}

/// Builds every deferred index, each in its own transaction with the removal of its record;
/// the number built.
pub(super) async fn build<DB>(pool: &Pool<DB>, dialect: &Dialect) -> Result<usize, StoreError>
where
    DB: Database,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
{
    let pending: Vec<(String,)> = sqlx::query_as("SELECT name FROM deferred_index ORDER BY name")
        .fetch_all(pool)
        .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    tracing::info!(
        indexes = pending.len(),
        "building the search indexes a bulk load deferred"
    );
    let mut connection = pool.acquire().await?;
    for statement in &dialect.setup {
        sqlx::query(statement).execute(&mut *connection).await?;
    }
    let mut built = 0;
    for (name,) in pending {
        let started = Instant::now();
        let mut tx = connection.begin().await?;
        if let Some(lock) = dialect.lock {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        // Another process may have built it since the list was read.
        let definition: Option<(String,)> =
            sqlx::query_as("DELETE FROM deferred_index WHERE name = $1 RETURNING definition")
                .bind(name.clone())
                .fetch_optional(&mut *tx)
                .await?;
        let Some((definition,)) = definition else {
            continue;
        };
        sqlx::query(&if_not_exists(&definition))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if let Some(statement) = dialect.after_each {
            sqlx::query(statement).execute(&mut *connection).await?;
        }
        built += 1;
        tracing::info!(
            index = %name,
            seconds = started.elapsed().as_secs_f64(),
            "built a deferred index"
        );
    }
    for statement in dialect.teardown {
        sqlx::query(statement).execute(&mut *connection).await?;
    }
    Ok(built)
}

/// A recorded `CREATE INDEX` that succeeds when the index exists already, so one made by hand
/// under that name does not stop every open.
fn if_not_exists(definition: &str) -> String {
    match definition.strip_prefix("CREATE INDEX ") {
        Some(rest) if !rest.starts_with("IF NOT EXISTS") => {
            format!("CREATE INDEX IF NOT EXISTS {rest}")
        }
        _ => definition.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::if_not_exists;

    #[test]
    fn recorded_definitions_tolerate_an_existing_index() {
        assert_eq!(
            if_not_exists("CREATE INDEX a ON t (x)"),
            "CREATE INDEX IF NOT EXISTS a ON t (x)"
        );
        assert_eq!(
            if_not_exists("CREATE INDEX IF NOT EXISTS a ON t (x)"),
            "CREATE INDEX IF NOT EXISTS a ON t (x)"
        );
    }
}
