//! Search as SQL: a typed query (clauses over the index tables) turned into one SELECT that
//! both backends run. Results are ordered by id and paged by a keyset cursor (the last id of
//! the page), so a page never repeats or skips a resource while others are inserted.

use sqlx::{Database, Encode, Type};

use super::sql::{Bind, Statement};
use super::{from_row, StoreError, StoredResource, VersionRow};
use crate::fhir::ResourceType;

/// A value a condition compares a column with.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Text(String),
    Int(i64),
    Float(f64),
}

/// How a column is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    IsNull,
    /// The column starts with the value.
    StartsWith,
    /// The column contains the value.
    Contains,
    /// The value starts with the column (`uri:above`).
    PrefixOf,
}

/// One comparison of an index column.
#[derive(Clone, Debug, PartialEq)]
pub struct Cond {
    pub column: &'static str,
    pub op: Op,
    pub value: Option<SqlValue>,
}

impl Cond {
    pub fn new(column: &'static str, op: Op, value: SqlValue) -> Self {
        Cond {
            column,
            op,
            value: Some(value),
        }
    }

    pub fn text(column: &'static str, value: &str) -> Self {
        Cond::new(column, Op::Eq, SqlValue::Text(value.to_owned()))
    }

    pub fn null(column: &'static str) -> Self {
        Cond {
            column,
            op: Op::IsNull,
            value: None,
        }
    }
}

/// Matches the index rows of one parameter: any of `any` (each a conjunction) holds.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexMatch {
    pub table: &'static str,
    pub resource_type: ResourceType,
    pub code: String,
    pub any: Vec<Vec<Cond>>,
    /// Rows whose reference target is itself a search result (chaining): the row's
    /// `target_id` must be among the ids `chain` finds, of type `chain.resource_type`.
    pub chain: Option<Box<Clause>>,
}

/// One AND-ed part of a search.
#[derive(Clone, Debug, PartialEq)]
pub enum Clause {
    /// The resource has an index row the match accepts.
    Has(IndexMatch),
    /// The resource has no index row the match accepts (`:not`, `:missing=true`).
    HasNot(IndexMatch),
    /// `_id`: one of these ids.
    Ids(Vec<String>),
    /// `_lastUpdated`: any of these conjunctions over `r.last_updated` (microseconds).
    LastUpdated(Vec<Vec<(Op, i64)>>),
    /// Reverse chaining (`_has`): resources of `source` whose `code` reference points at the
    /// resource and which `inner` accepts.
    Referenced {
        source: ResourceType,
        code: String,
        target: ResourceType,
        inner: Box<Clause>,
    },
    /// The resource is in the patient's compartment.
    Compartment(String),
    /// No resource matches (an OR over nothing).
    Nothing,
}

/// What a sort key reads.
#[derive(Clone, Debug, PartialEq)]
pub enum SortBy {
    Id,
    LastUpdated,
    /// The smallest (ascending) or largest (descending) value of a parameter's index rows;
    /// resources without one sort as `missing`.
    Index {
        table: &'static str,
        column: &'static str,
        code: String,
        missing: SqlValue,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub by: SortBy,
    pub descending: bool,
}

/// A search over one resource type.
#[derive(Clone, Debug)]
pub struct SearchQuery {
    pub resource_type: ResourceType,
    pub clauses: Vec<Clause>,
    pub count: usize,
    /// Continue after this id (the cursor of the previous page).
    pub after: Option<String>,
    /// Count every match, not only this page's.
    pub total: bool,
    /// `_sort` keys; the id always breaks ties, ascending.
    pub sort: Vec<SortKey>,
}

#[derive(Clone, Debug)]
pub struct SearchPage {
    pub entries: Vec<StoredResource>,
    /// The cursor of the next page, if there is one.
    pub next_after: Option<String>,
    pub total: Option<u64>,
}

fn push_value<'a>(statement: &mut Statement<'a>, value: &'a SqlValue) {
    match value {
        SqlValue::Text(text) => statement.bind(Bind::Text(text)),
        SqlValue::Int(number) => statement.bind(Bind::Int(*number)),
        SqlValue::Float(number) => statement.bind(Bind::Float(*number)),
    };
}

fn push_cond<'a>(statement: &mut Statement<'a>, alias: &str, cond: &'a Cond) {
    let column = format!("{alias}.{}", cond.column);
    let Some(value) = &cond.value else {
        statement.push(&format!("{column} IS NULL"));
        return;
    };
    let compare = |statement: &mut Statement<'a>, op: &str| {
        statement.push(&format!("{column} {op} "));
        push_value(statement, value);
    };
    match cond.op {
        Op::Eq => compare(statement, "="),
        Op::Lt => compare(statement, "<"),
        Op::Le => compare(statement, "<="),
        Op::Gt => compare(statement, ">"),
        Op::Ge => compare(statement, ">="),
        Op::IsNull => {
            statement.push(&format!("{column} IS NULL"));
        }
        Op::StartsWith => {
            // A range rather than LIKE: both backends compare bytes here (BINARY, "C"), so the
            // index serves it.
            compare(statement, ">=");
            if let SqlValue::Text(text) = value {
                statement.push(&format!(" AND {column} < "));
                statement.bind(Bind::Owned(format!("{text}{}", char::MAX)));
            }
        }
        Op::Contains => {
            if let SqlValue::Text(text) = value {
                statement.push(&format!("{column} LIKE "));
                statement.bind(Bind::Owned(format!("%{}%", escape_like(text))));
                statement.push(" ESCAPE '\\'");
            }
        }
        Op::PrefixOf => {
            statement.push("substr(");
            push_value(statement, value);
            statement.push(&format!(", 1, length({column})) = {column}"));
        }
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `res_id IN (…)` for the clause that drives the query; `EXISTS` (probing the resource's own
/// rows through the `(res_type, res_id)` index) for the others, so a patient-scoped search
/// never materializes every resource with a common code.
fn push_index<'a>(statement: &mut Statement<'a>, m: &'a IndexMatch, negate: bool, drive: bool) {
    if drive && !negate {
        statement.push("r.res_id IN (");
        push_index_ids(statement, m);
    } else {
        statement.push(if negate { "NOT EXISTS (" } else { "EXISTS (" });
        push_index_ids(statement, m);
        statement.push(" AND i.res_id = r.res_id");
    }
    statement.push(")");
}

/// `SELECT res_id FROM <table> WHERE …` selecting the resources with a matching row.
fn push_index_ids<'a>(statement: &mut Statement<'a>, m: &'a IndexMatch) {
    statement.push(&format!(
        "SELECT i.res_id FROM {} i WHERE i.res_type = ",
        m.table
    ));
    statement.bind(Bind::Text(m.resource_type.as_str()));
    statement.push(" AND i.code = ");
    statement.bind(Bind::Text(&m.code));
    if !m.any.is_empty() {
        statement.push(" AND (");
        for (n, all) in m.any.iter().enumerate() {
            statement.push(if n > 0 { " OR (" } else { "(" });
            for (k, cond) in all.iter().enumerate() {
                if k > 0 {
                    statement.push(" AND ");
                }
                push_cond(statement, "i", cond);
            }
            if all.is_empty() {
                statement.push("1=1");
            }
            statement.push(")");
        }
        statement.push(")");
    }
    if let Some(chain) = &m.chain {
        statement.push(" AND i.target_id IN (");
        push_clause_ids(statement, chain);
        statement.push(")");
    }
}

/// The ids of the resources a clause accepts, for a chain.
fn push_clause_ids<'a>(statement: &mut Statement<'a>, clause: &'a Clause) {
    match clause {
        Clause::Has(m) => push_index_ids(statement, m),
        Clause::Referenced {
            source,
            code,
            target,
            inner,
        } => {
            statement.push("SELECT h.target_id FROM idx_reference h WHERE h.res_type = ");
            statement.bind(Bind::Text(source.as_str()));
            statement.push(" AND h.code = ");
            statement.bind(Bind::Text(code));
            statement.push(" AND h.target_type = ");
            statement.bind(Bind::Text(target.as_str()));
            statement.push(" AND h.res_id IN (");
            push_clause_ids(statement, inner);
            statement.push(")");
        }
        _ => {
            statement.push("SELECT NULL WHERE 1=0");
        }
    }
}

fn push_clause<'a>(statement: &mut Statement<'a>, clause: &'a Clause, drive: bool) {
    match clause {
        Clause::Has(m) => push_index(statement, m, false, drive),
        Clause::HasNot(m) => push_index(statement, m, true, drive),
        Clause::Ids(ids) => {
            statement.push("r.res_id IN (");
            for (n, id) in ids.iter().enumerate() {
                if n > 0 {
                    statement.push(", ");
                }
                statement.bind(Bind::Text(id));
            }
            statement.push(")");
        }
        Clause::LastUpdated(any) => {
            statement.push("(");
            for (n, all) in any.iter().enumerate() {
                statement.push(if n > 0 { " OR (" } else { "(" });
                for (k, (op, at)) in all.iter().enumerate() {
                    if k > 0 {
                        statement.push(" AND ");
                    }
                    let cond = Cond::new("last_updated", *op, SqlValue::Int(*at));
                    statement.push(&sql_of_int_cond(&cond));
                    statement.bind(Bind::Int(*at));
                }
                statement.push(")");
            }
            statement.push(")");
        }
        Clause::Referenced { .. } => {
            statement.push("r.res_id IN (");
            push_clause_ids(statement, clause);
            statement.push(")");
        }
        Clause::Compartment(patient) => {
            statement.push("r.patient = ");
            statement.bind(Bind::Text(patient));
        }
        Clause::Nothing => {
            statement.push("1=0");
        }
    }
}

fn sql_of_int_cond(cond: &Cond) -> String {
    let op = match cond.op {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        _ => "=",
    };
    format!("r.{} {op} ", cond.column)
}

fn push_where<'a>(statement: &mut Statement<'a>, query: &'a SearchQuery) {
    statement.push(" WHERE r.res_type = ");
    statement.bind(Bind::Text(query.resource_type.as_str()));
    statement.push(" AND NOT r.deleted");
    // References (a patient, a focus) are the most selective: let the first one drive.
    let mut clauses: Vec<&Clause> = query.clauses.iter().collect();
    clauses.sort_by_key(|c| match c {
        Clause::Ids(_) | Clause::Nothing => 0,
        Clause::Has(m) if m.table == "idx_reference" => 1,
        Clause::Compartment(_) => 2,
        Clause::Has(_) => 3,
        _ => 4,
    });
    let drive = clauses.iter().position(|c| matches!(c, Clause::Has(_)));
    for (n, clause) in clauses.into_iter().enumerate() {
        statement.push(" AND ");
        push_clause(statement, clause, Some(n) == drive && n == 0);
    }
}

/// The page SELECT: one row more than the page, to know whether there is a next page.
pub(super) fn page_sql<'a>(query: &'a SearchQuery, body_column: &str) -> Statement<'a> {
    let mut statement = Statement::new(&format!(
        "SELECT v.res_type, v.res_id, v.version, v.last_updated, v.method, {body_column} \
         FROM resource r JOIN resource_version v ON v.seq = r.seq"
    ));
    push_where(&mut statement, query);
    if let Some(after) = &query.after {
        statement.push(" AND ");
        push_keyset(&mut statement, query, after);
    }
    statement.push(" ORDER BY ");
    for key in &query.sort {
        push_key(&mut statement, query.resource_type, key, None);
        statement.push(if key.descending { " DESC, " } else { " ASC, " });
    }
    statement.push("r.res_id LIMIT ");
    let limit = i64::try_from(query.count)
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    statement.bind(Bind::Int(limit));
    statement
}

/// A sort key's value for the row (`cursor` `None`) or for the cursor's resource, so the
/// keyset condition needs only the last id of the previous page.
fn push_key<'a>(
    statement: &mut Statement<'a>,
    resource_type: ResourceType,
    key: &'a SortKey,
    cursor: Option<&'a str>,
) {
    let push_id = |statement: &mut Statement<'a>| match cursor {
        None => {
            statement.push("r.res_id");
        }
        Some(id) => {
            statement.bind(Bind::Text(id));
        }
    };
    match &key.by {
        SortBy::Id => push_id(statement),
        SortBy::LastUpdated => {
            statement.push("COALESCE((SELECT c.last_updated FROM resource c WHERE c.res_type = ");
            statement.bind(Bind::Text(resource_type.as_str()));
            statement.push(" AND c.res_id = ");
            push_id(statement);
            statement.push("), 0)");
        }
        SortBy::Index {
            table,
            column,
            code,
            missing,
        } => {
            let aggregate = if key.descending { "MAX" } else { "MIN" };
            statement.push(&format!(
                "COALESCE((SELECT {aggregate}(s.{column}) FROM {table} s WHERE s.res_type = "
            ));
            statement.bind(Bind::Text(resource_type.as_str()));
            statement.push(" AND s.code = ");
            statement.bind(Bind::Text(code));
            statement.push(" AND s.res_id = ");
            push_id(statement);
            statement.push("), ");
            push_value(statement, missing);
            statement.push(")");
        }
    }
}

/// Rows after the cursor in sort order: for some key, all earlier keys equal and this one
/// beyond; or every key equal and a larger id.
fn push_keyset<'a>(statement: &mut Statement<'a>, query: &'a SearchQuery, after: &'a str) {
    let t = query.resource_type;
    statement.push("(");
    for (n, key) in query.sort.iter().enumerate() {
        statement.push("(");
        for earlier in &query.sort[..n] {
            push_key(statement, t, earlier, None);
            statement.push(" = ");
            push_key(statement, t, earlier, Some(after));
            statement.push(" AND ");
        }
        push_key(statement, t, key, None);
        statement.push(if key.descending { " < " } else { " > " });
        push_key(statement, t, key, Some(after));
        statement.push(") OR ");
    }
    statement.push("(");
    for key in &query.sort {
        push_key(statement, t, key, None);
        statement.push(" = ");
        push_key(statement, t, key, Some(after));
        statement.push(" AND ");
    }
    statement.push("r.res_id > ");
    statement.bind(Bind::Text(after));
    statement.push("))");
}

pub(super) fn count_sql(query: &SearchQuery) -> Statement<'_> {
    let mut statement = Statement::new("SELECT COUNT(*) FROM resource r");
    push_where(&mut statement, query);
    statement
}

/// Runs a search on either backend's pool; `body_column` reads a body as text.
pub(super) async fn run<'p, DB>(
    pool: &'p sqlx::Pool<DB>,
    query: &SearchQuery,
    body_column: &str,
) -> Result<SearchPage, StoreError>
where
    DB: Database,
    for<'e> &'e sqlx::Pool<DB>: sqlx::Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<f64>: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'r> VersionRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    let statement = page_sql(query, body_column);
    let rows: Vec<VersionRow> = sqlx::query_as_with(&statement.sql, statement.arguments::<DB>()?)
        .fetch_all(pool)
        .await?;
    let mut entries = rows
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let next_after = if entries.len() > query.count {
        entries.truncate(query.count);
        entries.last().map(|e| e.id.clone())
    } else {
        None
    };
    let total = if query.total {
        let statement = count_sql(query);
        let (count,): (i64,) = sqlx::query_as_with(&statement.sql, statement.arguments::<DB>()?)
            .fetch_one(pool)
            .await?;
        Some(u64::try_from(count).unwrap_or(0))
    } else if query.after.is_none() && next_after.is_none() {
        // The first page holds every match: the total is known for free.
        Some(entries.len() as u64)
    } else {
        None
    };
    Ok(SearchPage {
        entries,
        next_after,
        total,
    })
}

/// The `(target_type, target_id)` of the references `ids` of `resource_type` hold in
/// parameter `code` (every reference parameter when `None`), for `_include`.
pub(super) fn references_sql<'a>(
    resource_type: ResourceType,
    ids: &'a [String],
    code: Option<&'a str>,
) -> Statement<'a> {
    let mut statement = Statement::new(
        "SELECT DISTINCT target_type, target_id FROM idx_reference WHERE target_type IS NOT NULL \
         AND target_id IS NOT NULL AND res_type = ",
    );
    statement.bind(Bind::Text(resource_type.as_str()));
    if let Some(code) = code {
        statement.push(" AND code = ");
        statement.bind(Bind::Text(code));
    }
    statement.push(" AND res_id IN (");
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            statement.push(", ");
        }
        statement.bind(Bind::Text(id));
    }
    statement.push(")");
    statement
}

/// Runs [`references_sql`] on either backend's pool.
pub(super) async fn references<DB>(
    pool: &sqlx::Pool<DB>,
    resource_type: ResourceType,
    ids: &[String],
    code: Option<&str>,
) -> Result<Vec<(String, String)>, StoreError>
where
    DB: Database,
    for<'e> &'e sqlx::Pool<DB>: sqlx::Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<f64>: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'r> VersionRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, String): sqlx::FromRow<'r, DB::Row>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let statement = references_sql(resource_type, ids, code);
    let rows: Vec<(String, String)> =
        sqlx::query_as_with(&statement.sql, statement.arguments::<DB>()?)
            .fetch_all(pool)
            .await?;
    Ok(rows)
}

/// `Patient/[id]/$everything`: the current resources of one compartment, ordered by type and
/// id, paged by a `Type/id` cursor.
#[derive(Clone, Debug)]
pub struct EverythingQuery {
    pub patient: String,
    /// `_type`: only these types (all when empty).
    pub types: Vec<ResourceType>,
    /// `_since`: only resources changed at or after this instant (microseconds).
    pub since: Option<i64>,
    pub count: usize,
    /// Continue after this `(type, id)`.
    pub after: Option<(ResourceType, String)>,
}

fn everything_sql<'a>(query: &'a EverythingQuery, body_column: &str) -> Statement<'a> {
    let mut statement = Statement::new(&format!(
        "SELECT v.res_type, v.res_id, v.version, v.last_updated, v.method, {body_column} \
         FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE r.patient = "
    ));
    statement.bind(Bind::Text(&query.patient));
    statement.push(" AND NOT r.deleted");
    if !query.types.is_empty() {
        statement.push(" AND r.res_type IN (");
        for (n, t) in query.types.iter().enumerate() {
            if n > 0 {
                statement.push(", ");
            }
            statement.bind(Bind::Text(t.as_str()));
        }
        statement.push(")");
    }
    if let Some(since) = query.since {
        statement.push(" AND r.last_updated >= ");
        statement.bind(Bind::Int(since));
    }
    if let Some((t, id)) = &query.after {
        statement.push(" AND (r.res_type > ");
        statement.bind(Bind::Text(t.as_str()));
        statement.push(" OR (r.res_type = ");
        statement.bind(Bind::Text(t.as_str()));
        statement.push(" AND r.res_id > ");
        statement.bind(Bind::Text(id));
        statement.push("))");
    }
    statement.push(" ORDER BY r.res_type, r.res_id LIMIT ");
    statement.bind(Bind::Int(
        i64::try_from(query.count)
            .unwrap_or(i64::MAX)
            .saturating_add(1),
    ));
    statement
}

/// Runs an [`EverythingQuery`]; the page's cursor is `Type/id` of its last resource.
pub(super) async fn everything<DB>(
    pool: &sqlx::Pool<DB>,
    query: &EverythingQuery,
    body_column: &str,
) -> Result<SearchPage, StoreError>
where
    DB: Database,
    for<'e> &'e sqlx::Pool<DB>: sqlx::Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<f64>: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'r> VersionRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    let statement = everything_sql(query, body_column);
    let rows: Vec<VersionRow> = sqlx::query_as_with(&statement.sql, statement.arguments::<DB>()?)
        .fetch_all(pool)
        .await?;
    let mut entries = rows
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let next_after = if entries.len() > query.count {
        entries.truncate(query.count);
        entries
            .last()
            .map(|e| format!("{}/{}", e.resource_type, e.id))
    } else {
        None
    };
    let total = (query.after.is_none() && next_after.is_none()).then_some(entries.len() as u64);
    Ok(SearchPage {
        entries,
        next_after,
        total,
    })
}
