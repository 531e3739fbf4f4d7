//! History queries: one SQL shape for both backends, paged by the version sequence number so a
//! page stays correct while new versions arrive.

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

pub(super) enum Bind {
    Text(String),
    Int(i64),
}

/// Builds the history SELECT; `body_column` is how the backend reads a body as text.
pub(super) fn history_sql(query: &HistoryQuery, body_column: &str) -> (String, Vec<Bind>) {
    let mut sql = format!(
        "SELECT v.seq, v.res_type, v.res_id, v.version, v.last_updated, v.method, {body_column} \
         FROM resource_version v WHERE 1=1"
    );
    let mut binds = Vec::new();
    let mut push = |sql: &mut String, clause: &str, bind: Bind| {
        binds.push(bind);
        sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
    };
    match &query.scope {
        HistoryScope::System => {}
        HistoryScope::Type(resource_type) => {
            push(
                &mut sql,
                " AND v.res_type = ?",
                Bind::Text(resource_type.to_string()),
            );
        }
        HistoryScope::Instance(resource_type, id) => {
            push(
                &mut sql,
                " AND v.res_type = ?",
                Bind::Text(resource_type.to_string()),
            );
            push(&mut sql, " AND v.res_id = ?", Bind::Text(id.to_string()));
        }
    }
    if let Some(since) = query.since {
        push(&mut sql, " AND v.last_updated >= ?", Bind::Int(since));
    }
    if let Some((start, end)) = query.at {
        push(&mut sql, " AND v.last_updated < ?", Bind::Int(end));
        // A version stops being current when the next one is written.
        push(
            &mut sql,
            " AND NOT EXISTS (SELECT 1 FROM resource_version n WHERE n.res_type = v.res_type \
             AND n.res_id = v.res_id AND n.version > v.version AND n.last_updated <= ?)",
            Bind::Int(start),
        );
    }
    if let Some(before) = query.before_seq {
        push(&mut sql, " AND v.seq < ?", Bind::Int(before));
    }
    let limit = i64::try_from(query.count)
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    push(&mut sql, " ORDER BY v.seq DESC LIMIT ?", Bind::Int(limit));
    (sql, binds)
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
