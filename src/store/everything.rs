//! `Patient/[id]/$everything`: the current resources of one compartment in `(type, id)`
//! order, paged by a `Type/id` cursor in either direction, optionally limited by type, by
//! change time (`_since`) and by clinical date (`start`/`end`).

use super::reads::Reader;
use super::search::SearchPage;
use super::sql::{Bind, Statement};
use super::{from_row, StoreError, VersionRow};
use crate::fhir::ResourceType;

#[derive(Clone, Debug)]
pub struct EverythingQuery {
    pub patient: String,
    /// `_type`: only these types (all when empty).
    pub types: Vec<ResourceType>,
    /// `_since`: only resources changed at or after this instant (microseconds).
    pub since: Option<i64>,
    /// `start`/`end`: only resources whose clinical date meets this range.
    pub clinical: Option<ClinicalRange>,
    pub count: usize,
    /// Continue after this `(type, id)`.
    pub after: Option<(ResourceType, String)>,
    /// Go back: the page ending just before this `(type, id)` (when `after` is `None`).
    pub before: Option<(ResourceType, String)>,
}

/// Clinical dates (epoch milliseconds, inclusive) and, per type, the date parameter that
/// holds a resource's clinical date. Resources of other types, or without that date, are
/// kept: the range cannot say they are out of it.
#[derive(Clone, Debug)]
pub struct ClinicalRange {
    pub low: Option<i64>,
    pub high: Option<i64>,
    pub params: Vec<(ResourceType, String)>,
}

/// `idx_date d` rows holding the clinical date of `r`.
fn push_clinical_rows<'a>(statement: &mut Statement<'a>, range: &'a ClinicalRange) {
    statement.push(
        "SELECT 1 FROM idx_date d WHERE d.res_type = r.res_type AND d.res_id = r.res_id \
         AND d.code = CASE r.res_type",
    );
    for (t, code) in &range.params {
        statement.push(" WHEN ");
        statement.bind(Bind::Text(t.as_str()));
        statement.push(" THEN ");
        statement.bind(Bind::Text(code));
    }
    statement.push(" END");
}

fn everything_sql<'a>(query: &'a EverythingQuery, body_column: &str) -> Statement<'a> {
    let mut statement = Statement::new(&format!(
        "SELECT v.res_type, v.res_id, v.version, v.last_updated, v.method, {body_column} \
         FROM (SELECT r.seq AS page_seq, r.res_type AS page_type, r.res_id AS page_id \
         FROM resource r WHERE r.patient = "
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
    if let Some(range) = query.clinical.as_ref().filter(|r| !r.params.is_empty()) {
        statement.push(" AND (NOT EXISTS (");
        push_clinical_rows(&mut statement, range);
        statement.push(") OR EXISTS (");
        push_clinical_rows(&mut statement, range);
        if let Some(low) = range.low {
            statement.push(" AND d.high >= ");
            statement.bind(Bind::Int(low));
        }
        if let Some(high) = range.high {
            statement.push(" AND d.low <= ");
            statement.bind(Bind::Int(high));
        }
        statement.push("))");
    }
    let backward = query.after.is_none() && query.before.is_some();
    if let Some((t, id)) = query.after.as_ref().or(query.before.as_ref()) {
        let beyond = if backward { "<" } else { ">" };
        statement.push(&format!(" AND (r.res_type {beyond} "));
        statement.bind(Bind::Text(t.as_str()));
        statement.push(" OR (r.res_type = ");
        statement.bind(Bind::Text(t.as_str()));
        statement.push(&format!(" AND r.res_id {beyond} "));
        statement.bind(Bind::Text(id));
        statement.push("))");
    }
    let direction = if backward { " DESC" } else { "" };
    statement.push(&format!(
        " ORDER BY r.res_type{direction}, r.res_id{direction} LIMIT "
    ));
    statement.bind(Bind::Int(
        i64::try_from(query.count)
            .unwrap_or(i64::MAX)
            .saturating_add(1),
    ));
    // Bodies are joined to the page only, not to every resource of the compartment.
    statement.push(&format!(
        ") AS page JOIN resource_version v ON v.seq = page.page_seq \
         ORDER BY page.page_type{direction}, page.page_id{direction}"
    ));
    statement
}

/// Runs an [`EverythingQuery`]; cursors are `Type/id` of the page's last (next) or first
/// (previous) resource.
pub(super) async fn everything(
    pool: &impl Reader,
    query: &EverythingQuery,
    body_column: &str,
) -> Result<SearchPage, StoreError> {
    let rows: Vec<VersionRow> = pool.rows(&everything_sql(query, body_column)).await?;
    let mut entries = rows
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let more = entries.len() > query.count;
    entries.truncate(query.count);
    let backward = query.after.is_none() && query.before.is_some();
    if backward {
        entries.reverse();
    }
    let cursor = |e: &super::StoredResource| format!("{}/{}", e.resource_type, e.id);
    let first = entries.first().map(cursor);
    let last = entries.last().map(cursor);
    let named = |c: &(ResourceType, String)| format!("{}/{}", c.0, c.1);
    let (next_after, prev_before) = if backward {
        (
            last.or_else(|| query.before.as_ref().map(named)),
            first.filter(|_| more),
        )
    } else {
        (
            last.filter(|_| more),
            query
                .after
                .as_ref()
                .map(|after| first.unwrap_or_else(|| named(after))),
        )
    };
    let first_page = query.after.is_none() && query.before.is_none();
    let total = (first_page && !more).then_some(entries.len() as u64);
    Ok(SearchPage {
        entries,
        next_after,
        prev_before,
        total,
    })
}
