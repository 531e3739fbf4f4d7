//! SQL both backends share. Statements are built with `$n` placeholders (which SQLite and
//! PostgreSQL both accept) and a list of values; each backend only runs them.

use sqlx::{Arguments, Database, Encode, Type};

use super::index_rows::{delete_index, insert_index};
use super::write::{Applied, Planned, Reindexed};
use super::StoreError;
use crate::fhir::index::IndexEntry;
use crate::fhir::{Id, ResourceType};

/// Rows per multi-row statement: keeps every statement far below both backends' bind limits.
pub(super) const CHUNK: usize = 500;

pub(super) enum Bind<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    /// Text made while building the statement (a LIKE pattern, a range bound).
    Owned(String),
    Int(i64),
    OptInt(Option<i64>),
    Float(f64),
    OptFloat(Option<f64>),
    Bool(bool),
    /// A list bound as one array parameter (`= ANY($n)`), on backends that have arrays.
    TextList(Vec<&'a str>),
}

/// How a backend binds a list of values. PostgreSQL evaluates `IN ($2, …, $501)` as an array it
/// rebuilds for every row it rechecks; one `text[]` parameter is built once. SQLite has no
/// array parameters, and its `IN (?, …)` probes an index built once per statement.
pub(super) trait ListBinds: Database {
    const ARRAYS: bool;
    /// How multi-row inserts begin. A failed write rolls back its whole transaction on both
    /// backends, so no statement ever needs undoing on its own; SQLite is told so with
    /// `OR FAIL`, which spares it a statement journal copying every page an insert touches.
    const INSERT: &'static str;

    fn add_list<'a>(
        arguments: &mut Self::Arguments<'a>,
        list: &[&'a str],
    ) -> Result<(), sqlx::error::BoxDynError>;
}

impl ListBinds for sqlx::Postgres {
    const ARRAYS: bool = true;
    const INSERT: &'static str = "INSERT INTO";

    fn add_list<'a>(
        arguments: &mut Self::Arguments<'a>,
        list: &[&'a str],
    ) -> Result<(), sqlx::error::BoxDynError> {
        arguments.add(list.to_vec())
    }
}

impl ListBinds for sqlx::Sqlite {
    const ARRAYS: bool = false;
    const INSERT: &'static str = "INSERT OR FAIL INTO";

    fn add_list<'a>(
        _: &mut Self::Arguments<'a>,
        _: &[&'a str],
    ) -> Result<(), sqlx::error::BoxDynError> {
        Err("SQLite has no array parameters".into())
    }
}

/// A statement under construction: SQL text and its values, numbered as they are pushed.
#[derive(Default)]
pub(super) struct Statement<'a> {
    pub sql: String,
    pub binds: Vec<Bind<'a>>,
}

impl<'a> Statement<'a> {
    pub fn new(sql: &str) -> Self {
        Statement {
            sql: sql.to_owned(),
            binds: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    pub fn bind(&mut self, value: Bind<'a>) -> &mut Self {
        self.binds.push(value);
        self.sql.push('$');
        self.sql.push_str(&self.binds.len().to_string());
        self
    }

    /// The SQL text for backend `DB`. SQLite finds a numbered parameter's position by walking
    /// the statement's parameter names once per parameter, so a multi-row INSERT with thousands
    /// of `$n` binds in quadratic time; anonymous `?` parameters bind in order, in linear time.
    /// `column IN (…)` over `values`, as one array parameter where the backend has arrays.
    pub fn in_list(
        &mut self,
        column: &str,
        values: impl IntoIterator<Item = &'a str>,
        arrays: bool,
    ) -> &mut Self {
        self.push(column);
        if arrays {
            self.push(" = ANY(")
                .bind(Bind::TextList(values.into_iter().collect()))
                .push(")")
        } else {
            self.push(" IN (");
            for (n, value) in values.into_iter().enumerate() {
                if n > 0 {
                    self.push(", ");
                }
                self.bind(Bind::Text(value));
            }
            self.push(")")
        }
    }

    pub fn text<DB: Database>(&self) -> std::borrow::Cow<'_, str> {
        if DB::NAME == "SQLite" {
            if let Some(anonymous) = anonymous_placeholders(&self.sql) {
                return std::borrow::Cow::Owned(anonymous);
            }
        }
        std::borrow::Cow::Borrowed(&self.sql)
    }

    pub fn arguments<DB>(&self) -> Result<DB::Arguments<'a>, StoreError>
    where
        DB: ListBinds,
        &'a str: Encode<'a, DB> + Type<DB>,
        Option<&'a str>: Encode<'a, DB> + Type<DB>,
        String: Encode<'a, DB> + Type<DB>,
        i64: Encode<'a, DB> + Type<DB>,
        Option<i64>: Encode<'a, DB> + Type<DB>,
        f64: Encode<'a, DB> + Type<DB>,
        Option<f64>: Encode<'a, DB> + Type<DB>,
        bool: Encode<'a, DB> + Type<DB>,
    {
        let mut arguments = DB::Arguments::default();
        for bind in &self.binds {
            let added = match bind {
                Bind::Text(text) => arguments.add(*text),
                Bind::OptText(text) => arguments.add(*text),
                Bind::Owned(text) => arguments.add(text.clone()),
                Bind::Int(number) => arguments.add(*number),
                Bind::OptInt(number) => arguments.add(*number),
                Bind::Float(number) => arguments.add(*number),
                Bind::OptFloat(number) => arguments.add(*number),
                Bind::Bool(flag) => arguments.add(*flag),
                Bind::TextList(list) => DB::add_list(&mut arguments, list),
            };
            added.map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
        }
        Ok(arguments)
    }
}

/// `sql` with its `$1`, `$2`, … replaced by `?`; `None` unless they appear exactly once each, in
/// order, as [`Statement::bind`] writes them.
fn anonymous_placeholders(sql: &str) -> Option<String> {
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1usize;
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            out.push('$');
            rest = after;
            continue;
        }
        if after[..digits].parse::<usize>().ok()? != expected {
            return None;
        }
        expected += 1;
        out.push('?');
        rest = &after[digits..];
    }
    out.push_str(rest);
    Some(out)
}

/// One SELECT per resource type for the current rows of `keys` (sorted by type).
pub(super) fn select_current<'a>(
    keys: &[(ResourceType, &'a Id)],
    lock: &str,
    arrays: bool,
) -> Vec<Statement<'a>> {
    let mut statements = Vec::new();
    for group in keys.chunk_by(|a, b| a.0 == b.0) {
        for chunk in group.chunks(CHUNK) {
            let mut statement = Statement::new(
                "SELECT res_type, res_id, version, deleted FROM resource WHERE res_type = ",
            );
            statement
                .bind(Bind::Text(chunk[0].0.as_str()))
                .in_list(
                    " AND res_id",
                    chunk.iter().map(|(_, id)| id.as_str()),
                    arrays,
                )
                .push(lock);
            statements.push(statement);
        }
    }
    statements
}

/// Inserts versions, returning `(res_type, res_id, seq)` for each; `body_cast` is how the
/// backend turns a text parameter into its body column type.
pub(super) fn insert_versions<'a>(
    rows: &[(ResourceType, &'a Id, &'a Planned)],
    insert: &str,
    body_cast: &str,
) -> Vec<Statement<'a>> {
    rows.chunks(CHUNK)
        .map(|chunk| {
            let mut statement = Statement::new(&format!(
                "{insert} resource_version (res_type, res_id, version, last_updated, method, patient, body) VALUES ",
            ));
            for (n, (resource_type, id, planned)) in chunk.iter().enumerate() {
                statement.push(if n > 0 { ", (" } else { "(" });
                statement.bind(Bind::Text(resource_type.as_str())).push(", ");
                statement.bind(Bind::Text(id.as_str())).push(", ");
                statement.bind(Bind::Int(planned.version)).push(", ");
                statement.bind(Bind::Int(planned.last_updated)).push(", ");
                statement.bind(Bind::Text(planned.method)).push(", ");
                statement.bind(Bind::OptText(planned.patient.as_deref())).push(", ");
                statement
                    .bind(Bind::OptText(planned.body.as_deref()))
                    .push(body_cast)
                    .push(")");
            }
            statement.push(" RETURNING res_type, res_id, seq");
            statement
        })
        .collect()
}

/// Points each resource's current row at its newest version.
pub(super) fn upsert_current<'a>(
    rows: &[(ResourceType, &'a Id, &'a Planned, i64)],
) -> Vec<Statement<'a>> {
    rows.chunks(CHUNK)
        .map(|chunk| {
            let mut statement = Statement::new(
                "INSERT INTO resource (res_type, res_id, version, seq, last_updated, deleted, patient, codes, span_low, span_high) VALUES ",
            );
            for (n, (resource_type, id, planned, seq)) in chunk.iter().enumerate() {
                statement.push(if n > 0 { ", (" } else { "(" });
                statement.bind(Bind::Text(resource_type.as_str())).push(", ");
                statement.bind(Bind::Text(id.as_str())).push(", ");
                statement.bind(Bind::Int(planned.version)).push(", ");
                statement.bind(Bind::Int(*seq)).push(", ");
                statement.bind(Bind::Int(planned.last_updated)).push(", ");
                statement.bind(Bind::Bool(planned.body.is_none())).push(", ");
                statement.bind(Bind::OptText(planned.patient.as_deref())).push(", ");
                statement.bind(Bind::OptText(planned.codes.as_deref())).push(", ");
                statement.bind(Bind::OptInt(planned.span.map(|s| s.low))).push(", ");
                statement.bind(Bind::OptInt(planned.span.map(|s| s.high))).push(")");
            }
            statement.push(
                " ON CONFLICT (res_type, res_id) DO UPDATE SET version = excluded.version, seq = excluded.seq, \
                 last_updated = excluded.last_updated, deleted = excluded.deleted, patient = excluded.patient, \
                 codes = excluded.codes, span_low = excluded.span_low, span_high = excluded.span_high",
            );
            statement
        })
        .collect()
}

/// A write transaction on either backend: `lock` is appended to current-row SELECTs
/// (`FOR UPDATE` on PostgreSQL), `body_cast` to the body parameter (`::jsonb`).
pub(super) struct SqlTx<'c, DB: Database> {
    pub tx: sqlx::Transaction<'c, DB>,
    pub lock: &'static str,
    pub body_cast: &'static str,
}

#[async_trait::async_trait]
impl<DB> super::write::WriteTx for SqlTx<'_, DB>
where
    DB: ListBinds,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<f64>: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'r> (String, String, i64, bool): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, String, i64): sqlx::FromRow<'r, DB::Row>,
{
    async fn current(
        &mut self,
        keys: &[(ResourceType, &Id)],
    ) -> Result<std::collections::HashMap<(ResourceType, String), super::write::Current>, StoreError>
    {
        let mut current = std::collections::HashMap::with_capacity(keys.len());
        for statement in select_current(keys, self.lock, DB::ARRAYS) {
            let rows: Vec<(String, String, i64, bool)> =
                sqlx::query_as_with(&statement.text::<DB>(), statement.arguments::<DB>()?)
                    .fetch_all(&mut *self.tx)
                    .await?;
            for (resource_type, id, version, deleted) in rows {
                current.insert(
                    (super::parse_type(&resource_type)?, id),
                    super::write::Current { version, deleted },
                );
            }
        }
        Ok(current)
    }

    async fn replace_index(&mut self, rows: &[Reindexed<'_>]) -> Result<(), StoreError> {
        let mut keys: Vec<(ResourceType, &Id)> =
            rows.iter().map(|r| (r.resource_type, &r.id)).collect();
        keys.sort();
        let fresh: Vec<(ResourceType, &Id, &[IndexEntry<'static>])> = rows
            .iter()
            .map(|r| (r.resource_type, &r.id, r.index.as_slice()))
            .collect();
        for statement in delete_index(&keys, DB::ARRAYS)
            .into_iter()
            .chain(insert_index(&fresh, DB::INSERT))
        {
            sqlx::query_with(&statement.text::<DB>(), statement.arguments::<DB>()?)
                .execute(&mut *self.tx)
                .await?;
        }
        // Stores written before codes and spans were kept get them here.
        for row in rows {
            let codes = super::write::stored_codes(row.resource_type, row.body);
            let span = super::date_span::stored_span(row.resource_type.as_str(), &row.index);
            if codes.is_none() && span.is_none() {
                continue;
            }
            let mut statement = Statement::new("UPDATE resource SET codes = ");
            statement
                .bind(Bind::OptText(codes.as_deref()))
                .push(", span_low = ")
                .bind(Bind::OptInt(span.map(|s| s.low)))
                .push(", span_high = ")
                .bind(Bind::OptInt(span.map(|s| s.high)))
                .push(" WHERE res_type = ")
                .bind(Bind::Text(row.resource_type.as_str()))
                .push(" AND res_id = ")
                .bind(Bind::Text(row.id.as_str()));
            sqlx::query_with(&statement.text::<DB>(), statement.arguments::<DB>()?)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn apply(&mut self, rows: &[Applied<'_>]) -> Result<(), StoreError> {
        let mut seqs = std::collections::HashMap::with_capacity(rows.len());
        let versions: Vec<(ResourceType, &Id, &Planned)> = rows
            .iter()
            .map(|a| (a.resource_type, a.id, a.planned))
            .collect();
        for statement in insert_versions(&versions, DB::INSERT, self.body_cast) {
            let inserted: Vec<(String, String, i64)> =
                sqlx::query_as_with(&statement.text::<DB>(), statement.arguments::<DB>()?)
                    .fetch_all(&mut *self.tx)
                    .await?;
            for (resource_type, id, seq) in inserted {
                seqs.insert((resource_type, id), seq);
            }
        }
        let with_seq = versions
            .iter()
            .map(|(resource_type, id, planned)| {
                let seq = seqs
                    .get(&(resource_type.as_str().to_owned(), id.to_string()))
                    .copied()
                    .ok_or_else(|| {
                        StoreError::Corrupt(
                            "an inserted version returned no sequence number".into(),
                        )
                    })?;
                Ok((*resource_type, *id, *planned, seq))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut stale: Vec<(ResourceType, &Id)> = rows
            .iter()
            .filter(|a| a.replaces_index)
            .map(|a| (a.resource_type, a.id))
            .collect();
        stale.sort();
        let fresh: Vec<(ResourceType, &Id, &[IndexEntry<'static>])> = rows
            .iter()
            .filter(|a| a.planned.body.is_some() && !a.index.is_empty())
            .map(|a| (a.resource_type, a.id, a.index))
            .collect();
        let statements = upsert_current(&with_seq)
            .into_iter()
            .chain(delete_index(&stale, DB::ARRAYS))
            .chain(insert_index(&fresh, DB::INSERT));
        for statement in statements {
            sqlx::query_with(&statement.text::<DB>(), statement.arguments::<DB>()?)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::anonymous_placeholders;

    #[test]
    fn numbered_placeholders_become_anonymous_only_when_in_order() {
        assert_eq!(
            anonymous_placeholders("SELECT $1, $2 WHERE a IN ($3, $4)").as_deref(),
            Some("SELECT ?, ? WHERE a IN (?, ?)")
        );
        assert_eq!(anonymous_placeholders("SELECT $2, $1"), None);
        assert_eq!(anonymous_placeholders("SELECT $1, $1"), None);
        assert_eq!(
            anonymous_placeholders("SELECT '$' || $1").as_deref(),
            Some("SELECT '$' || ?")
        );
    }
}
