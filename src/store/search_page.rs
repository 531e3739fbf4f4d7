//! The page of a search: its order (the `_sort` keys, or the default), the keyset condition
//! that continues after (or goes back before) a cursor, and the page SELECT.

use super::search::{Clause, SearchQuery, SortBy, SortKey};
use super::search_sql::{push_value, push_where, push_where_of_type};
use super::sql::{Bind, Statement};
use crate::fhir::ResourceType;

/// The page SELECT: one row more than the page, to know whether there is another page.
/// Going back (`before`), the order is reversed; the caller restores it.
pub(super) fn page_sql<'a>(query: &'a SearchQuery, body_column: &str) -> Statement<'a> {
    let sort = order(query);
    let Some(types) = types_to_merge(query, sort) else {
        let mut statement = Statement::new("");
        push_page(&mut statement, query, sort, body_column, None);
        return statement;
    };
    // Each type's page comes in order from its `(res_type, last_updated, res_id)` range; one
    // range over several types would be read whole and sorted (6.5 s at 4.3 M resources).
    let mut statement = Statement::new("");
    for (n, resource_type) in types.into_iter().enumerate() {
        if n > 0 {
            statement.push(" UNION ALL ");
        }
        statement.push("SELECT * FROM (");
        push_page(
            &mut statement,
            query,
            sort,
            body_column,
            Some(resource_type),
        );
        statement.push(&format!(") AS page_of_type_{n}"));
    }
    let (asc, desc) = directions(query);
    let last_updated = if sort[0].descending { desc } else { asc };
    statement.push(&format!(
        " ORDER BY last_updated{last_updated}, res_type{asc}, res_id{asc} LIMIT "
    ));
    statement.bind(Bind::Int(limit(query)));
    statement
}

/// The types of a search across a `_type` list ordered by `_lastUpdated` alone, whose pages
/// are read per type and merged; `None` for any other search.
fn types_to_merge(query: &SearchQuery, sort: &[SortKey]) -> Option<Vec<ResourceType>> {
    let types = query.system.as_ref().filter(|types| types.len() > 1)?;
    if !matches!(
        sort,
        [SortKey {
            by: SortBy::LastUpdated,
            ..
        }]
    ) {
        return None;
    }
    let mut types = types.clone();
    types.sort_unstable_by_key(|t| t.as_str());
    types.dedup();
    Some(types)
}

/// The SELECT of one page: of the search, or of one of its types.
fn push_page<'a>(
    statement: &mut Statement<'a>,
    query: &'a SearchQuery,
    sort: &'a [SortKey],
    body_column: &str,
    only: Option<ResourceType>,
) {
    // The page is chosen from `resource` alone and only its rows join their bodies: joined
    // before the LIMIT, every match's body was read and converted to be sorted (a common
    // family name, 4,000 matches, took 650 ms on PostgreSQL instead of 150).
    statement.push(&format!(
        "SELECT v.res_type, v.res_id, v.version, v.last_updated, v.method, {body_column} \
         FROM (SELECT r.seq AS page_seq, r.res_type AS page_type, r.res_id AS page_id"
    ));
    for (n, key) in sort.iter().enumerate() {
        statement.push(", ");
        push_key(statement, key, None);
        statement.push(&format!(" AS page_key_{n}"));
    }
    statement.push(" FROM resource r");
    match only {
        Some(resource_type) => push_where_of_type(statement, query, resource_type),
        None => push_where(statement, query),
    }
    if let Some(cursor) = query.after.as_deref().or(query.before.as_deref()) {
        statement.push(" AND ");
        push_keyset(
            statement,
            sort,
            Cursor::parse(query, cursor),
            backward(query),
        );
    }
    push_order(statement, query, sort, "r.res_type", "r.res_id");
    statement.push(" LIMIT ");
    statement.bind(Bind::Int(limit(query)));
    statement.push(") AS page JOIN resource_version v ON v.seq = page.page_seq");
    push_order(statement, query, sort, "page.page_type", "page.page_id");
}

/// ` ORDER BY` the sort keys (by their names in the page's inner SELECT), then `(type,) id`.
fn push_order(
    statement: &mut Statement<'_>,
    query: &SearchQuery,
    sort: &[SortKey],
    res_type: &str,
    res_id: &str,
) {
    let (asc, desc) = directions(query);
    statement.push(" ORDER BY ");
    for (n, key) in sort.iter().enumerate() {
        let direction = if key.descending { desc } else { asc };
        statement.push(&format!("page_key_{n}{direction}, "));
    }
    if query.system.is_some() {
        statement.push(&format!("{res_type}{asc}, "));
    }
    statement.push(&format!("{res_id}{asc}"));
}

fn backward(query: &SearchQuery) -> bool {
    query.after.is_none() && query.before.is_some()
}

/// Ascending and descending as written in SQL: swapped when paging back (`before`).
fn directions(query: &SearchQuery) -> (&'static str, &'static str) {
    if backward(query) {
        (" DESC", " ASC")
    } else {
        (" ASC", " DESC")
    }
}

fn limit(query: &SearchQuery) -> i64 {
    i64::try_from(query.count)
        .unwrap_or(i64::MAX)
        .saturating_add(1)
}

/// Oldest change first: a type search's default order when a `_lastUpdated` window is its
/// only criterion.
static BY_LAST_UPDATED: &[SortKey] = &[SortKey {
    by: SortBy::LastUpdated,
    descending: false,
}];

/// The keys a page is ordered by, before the id: `_sort`'s, else none (id order), except for a
/// type search whose only criterion is a `_lastUpdated` window (a sync client's "what changed
/// since"). Such a window often holds most of the type, and id order would make the database
/// read and sort every match to return one page; in `(last_updated, id)` order the
/// `(res_type, last_updated, res_id)` index hands the page over in order and the scan stops
/// after it. With any other criterion, that criterion drives the query and id order stays
/// (we keep no statistics to tell which criterion is more selective). Paging works as for
/// `_sort=_lastUpdated`: the cursor stays the last id, its key read from that resource.
fn order(query: &SearchQuery) -> &[SortKey] {
    let only_last_updated = !query.clauses.is_empty()
        && query
            .clauses
            .iter()
            .all(|c| matches!(c, Clause::LastUpdated(_)));
    if query.sort.is_empty() && query.system.is_none() && only_last_updated {
        BY_LAST_UPDATED
    } else {
        &query.sort
    }
}

/// The resource a keyset cursor names: an id on a type search, `Type/id` across types.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    res_type: &'a str,
    id: &'a str,
    system: bool,
}

impl<'a> Cursor<'a> {
    fn parse(query: &'a SearchQuery, cursor: &'a str) -> Self {
        match query.system {
            Some(_) => {
                let (res_type, id) = cursor.split_once('/').unwrap_or(("", cursor));
                Cursor {
                    res_type,
                    id,
                    system: true,
                }
            }
            None => Cursor {
                res_type: query.resource_type.as_str(),
                id: cursor,
                system: false,
            },
        }
    }
}

/// A sort key's value for the row (`cursor` `None`) or for the cursor's resource, so the
/// keyset condition needs only the cursor, not the previous page's key values.
fn push_key<'a>(statement: &mut Statement<'a>, key: &'a SortKey, cursor: Option<Cursor<'a>>) {
    // The type and id of the resource whose key is read.
    let push_of = |statement: &mut Statement<'a>, res_type: &str, res_id: &str| match cursor {
        None => {
            statement.push(&format!("{res_type} = r.res_type AND {res_id} = r.res_id"));
        }
        Some(c) => {
            statement.push(&format!("{res_type} = "));
            statement.bind(Bind::Text(c.res_type));
            statement.push(&format!(" AND {res_id} = "));
            statement.bind(Bind::Text(c.id));
        }
    };
    match (&key.by, cursor) {
        (SortBy::Id, None) => {
            statement.push("r.res_id");
        }
        (SortBy::Id, Some(c)) => {
            statement.bind(Bind::Text(c.id));
        }
        // The row's own column, so `(res_type, last_updated, res_id)` orders the scan and a
        // sync client's page of changes reads 50 rows, not every match.
        (SortBy::LastUpdated, None) => {
            statement.push("r.last_updated");
        }
        (SortBy::LastUpdated, Some(_)) => {
            statement.push("COALESCE((SELECT c.last_updated FROM resource c WHERE ");
            push_of(statement, "c.res_type", "c.res_id");
            statement.push("), 0)");
        }
        (
            SortBy::Index {
                table,
                column,
                code,
                missing,
            },
            _,
        ) => {
            let aggregate = if key.descending { "MAX" } else { "MIN" };
            statement.push(&format!(
                "COALESCE((SELECT {aggregate}(s.{column}) FROM {table} s WHERE s.code = "
            ));
            statement.bind(Bind::Text(code));
            statement.push(" AND ");
            push_of(statement, "s.res_type", "s.res_id");
            statement.push("), ");
            push_value(statement, missing);
            statement.push(")");
        }
    }
}

/// Rows after (or, going back, before) the cursor in sort order. When every key ascends, as
/// the tie-breaking `(type,) id` does, that is one row-value comparison, which both databases
/// turn into an index range (`(res_type, last_updated, res_id)` for a changes feed); otherwise,
/// for some key, all earlier keys equal and this one beyond, or every key equal and beyond in
/// `(type,) id` order.
fn push_keyset<'a>(
    statement: &mut Statement<'a>,
    sort: &'a [SortKey],
    cursor: Cursor<'a>,
    backward: bool,
) {
    let beyond = if backward { "<" } else { ">" };
    if sort.iter().all(|key| !key.descending) {
        statement.push("(");
        for key in sort {
            push_key(statement, key, None);
            statement.push(", ");
        }
        if cursor.system {
            statement.push("r.res_type, ");
        }
        statement.push(&format!("r.res_id) {beyond} ("));
        for key in sort {
            push_key(statement, key, Some(cursor));
            statement.push(", ");
        }
        if cursor.system {
            statement.bind(Bind::Text(cursor.res_type));
            statement.push(", ");
        }
        statement.bind(Bind::Text(cursor.id));
        statement.push(")");
        return;
    }
    statement.push("(");
    for (n, key) in sort.iter().enumerate() {
        statement.push("(");
        for earlier in &sort[..n] {
            push_key(statement, earlier, None);
            statement.push(" = ");
            push_key(statement, earlier, Some(cursor));
            statement.push(" AND ");
        }
        push_key(statement, key, None);
        statement.push(if key.descending != backward {
            " < "
        } else {
            " > "
        });
        push_key(statement, key, Some(cursor));
        statement.push(") OR ");
    }
    statement.push("(");
    for key in sort {
        push_key(statement, key, None);
        statement.push(" = ");
        push_key(statement, key, Some(cursor));
        statement.push(" AND ");
    }
    if cursor.system {
        statement.push(&format!("(r.res_type {beyond} "));
        statement.bind(Bind::Text(cursor.res_type));
        statement.push(" OR (r.res_type = ");
        statement.bind(Bind::Text(cursor.res_type));
        statement.push(&format!(" AND r.res_id {beyond} "));
        statement.bind(Bind::Text(cursor.id));
        statement.push("))");
    } else {
        statement.push(&format!("r.res_id {beyond} "));
        statement.bind(Bind::Text(cursor.id));
    }
    statement.push("))");
}
