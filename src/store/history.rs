//! History queries: one SQL shape for both backends, paged by the version sequence number so a
//! page stays correct while new versions arrive.

use super::sql::{Bind, Statement};
use super::StoredResource;
use crate::fhir::{Id, Instant, ResourceType};

#[derive(Clone, Debug)]
pub enum HistoryScope {
    System,
    Type(ResourceType),
    Instance(ResourceType, Id),
}

#[derive(Clone, Debug)]
pub struct HistoryQuery {
    pub scope: HistoryScope,
    /// Only versions written at or after this instant (`_since`).
    pub since: Option<Instant>,
    /// Only versions that were current at some point in `[start, end)` (`_at`).
    pub at: Option<(Instant, Instant)>,
    /// Page size.
    pub count: usize,
    /// Continue below this sequence number (the cursor of the previous page).
    pub before_seq: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct HistoryPage {
    pub entries: Vec<StoredResource>,
    /// The cursor for the next (older) page, if there is one.
    pub next_before_seq: Option<i64>,
}

/// Builds the history SELECT; `body_column` is how the backend reads a body as text.
pub(super) fn history_statement<'a>(query: &'a HistoryQuery, body_column: &str) -> Statement<'a> {
    let mut statement = Statement::new(&format!(
        "SELECT v.seq, v.res_type, v.res_id, v.version, v.last_updated, v.method, {body_column} \
         FROM resource_version v WHERE 1=1"
    ));
    match &query.scope {
        HistoryScope::System => {}
        HistoryScope::Type(resource_type) => {
            statement
                .push(" AND v.res_type = ")
                .bind(Bind::Text(resource_type.as_str()));
        }
        HistoryScope::Instance(resource_type, id) => {
            statement
                .push(" AND v.res_type = ")
                .bind(Bind::Text(resource_type.as_str()));
            statement
                .push(" AND v.res_id = ")
                .bind(Bind::Text(id.as_str()));
        }
    }
    if let Some(since) = query.since {
        statement
            .push(" AND v.last_updated >= ")
            .bind(Bind::Int(since));
    }
    if let Some((start, end)) = query.at {
        statement
            .push(" AND v.last_updated < ")
            .bind(Bind::Int(end));
        // A version stops being current when the next one is written.
        statement
            .push(
                " AND NOT EXISTS (SELECT 1 FROM resource_version n WHERE n.res_type = v.res_type \
                 AND n.res_id = v.res_id AND n.version > v.version AND n.last_updated <= ",
            )
            .bind(Bind::Int(start))
            .push(")");
    }
    if let Some(before) = query.before_seq {
        statement.push(" AND v.seq < ").bind(Bind::Int(before));
    }
    let limit = i64::try_from(query.count)
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    statement
        .push(" ORDER BY v.seq DESC LIMIT ")
        .bind(Bind::Int(limit));
    statement
}

/// Splits the one extra row fetched into the next page's cursor.
pub(super) fn into_page(mut rows: Vec<(i64, StoredResource)>, count: usize) -> HistoryPage {
    let next_before_seq = if rows.len() > count {
        rows.truncate(count);
        rows.last().map(|(seq, _)| *seq)
    } else {
        None
    };
    HistoryPage {
        entries: rows.into_iter().map(|(_, resource)| resource).collect(),
        next_before_seq,
    }
}
