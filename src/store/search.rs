//! Search as a typed query (clauses over the index tables) that both backends run as one
//! SELECT (built in `search_sql` and `search_page`). Results are ordered by the sort keys and id and paged by a
//! keyset cursor (the last id of the page going forward, the first going back), so a page
//! never repeats or skips a resource while others are inserted.

use super::reads::Reader;
use super::search_page::page_sql;
use super::search_sql::{count_sql, references_sql};
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
    /// The type whose rows match; `None` for the searched resource's own type (a system-level
    /// search over several types).
    pub resource_type: Option<ResourceType>,
    pub code: String,
    pub any: Vec<Vec<Cond>>,
    /// Rows whose reference target is itself a search result (chaining): the row's
    /// `target_id` must be among the ids of the resources of that type the clause accepts.
    pub chain: Option<Box<(ResourceType, Clause)>>,
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
    /// Every resource matches (the negation of an OR over nothing).
    Anything,
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

/// A search over one resource type, or over several (`GET /?_type=…`).
#[derive(Clone, Debug)]
pub struct SearchQuery {
    pub resource_type: ResourceType,
    /// A system-level search over these types (every type when empty); `resource_type` is
    /// then unused and cursors are `Type/id`.
    pub system: Option<Vec<ResourceType>>,
    pub clauses: Vec<Clause>,
    pub count: usize,
    /// Continue after this cursor (the last resource of the previous page).
    pub after: Option<String>,
    /// Go back: the page that ends just before this cursor (the first resource of the page
    /// that links to it as `previous`). Used only when `after` is `None`.
    pub before: Option<String>,
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
    /// The cursor of the previous page (`before` it), on every page but the first.
    pub prev_before: Option<String>,
    pub total: Option<u64>,
}

impl SearchQuery {
    /// The cursor that names a resource of this search's results.
    pub(super) fn cursor_of(&self, entry: &StoredResource) -> String {
        match self.system {
            Some(_) => format!("{}/{}", entry.resource_type, entry.id),
            None => entry.id.clone(),
        }
    }
}

/// Runs a search on either backend's pool; `body_column` reads a body as text.
pub(super) async fn run(
    pool: &impl Reader,
    query: &SearchQuery,
    body_column: &str,
) -> Result<SearchPage, StoreError> {
    let statement = page_sql(query, body_column);
    let rows: Vec<VersionRow> = pool.rows(&statement).await?;
    let mut entries = rows
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let more = entries.len() > query.count;
    entries.truncate(query.count);
    let backward = query.after.is_none() && query.before.is_some();
    if backward {
        // Read in reverse order from the cursor: put the page back in order.
        entries.reverse();
    }
    let first = entries.first().map(|e| query.cursor_of(e));
    let last = entries.last().map(|e| query.cursor_of(e));
    let (next_after, prev_before) = if backward {
        // Going back, the cursor's resource (or what follows it) comes next.
        (
            last.or_else(|| query.before.clone()),
            first.filter(|_| more),
        )
    } else {
        (
            last.filter(|_| more),
            query
                .after
                .as_ref()
                .map(|after| first.unwrap_or_else(|| after.clone())),
        )
    };
    let first_page = query.after.is_none() && query.before.is_none();
    let total = if query.total {
        let statement = count_sql(query);
        let rows: Vec<(i64,)> = pool.rows(&statement).await?;
        let count = rows.first().map_or(0, |(count,)| *count);
        Some(u64::try_from(count).unwrap_or(0))
    } else if first_page && !more {
        // The first page holds every match: the total is known for free.
        Some(entries.len() as u64)
    } else {
        None
    };
    Ok(SearchPage {
        entries,
        next_after,
        prev_before,
        total,
    })
}

/// The `(target_type, target_id)` of the references `ids` of `resource_type` hold in
/// parameter `code` (every reference parameter when `None`), for `_include`.
pub(super) async fn references(
    pool: &impl Reader,
    resource_type: ResourceType,
    ids: &[String],
    code: Option<&str>,
) -> Result<Vec<(String, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    pool.rows(&references_sql(resource_type, ids, code)).await
}
