//! Search as SQL: the WHERE clause of a [`SearchQuery`], its keyset cursor in either
//! direction, and the page, count and `_include` statements both backends run.

use super::search::{Clause, Cond, IndexMatch, Op, SearchQuery, SqlValue};
use super::sql::{Bind, Statement};
use crate::fhir::ResourceType;

pub(super) fn push_value<'a>(statement: &mut Statement<'a>, value: &'a SqlValue) {
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
/// never materializes every resource with a common code. A match on the searched resource's
/// own type (a search across `types`) drives as `(res_type, res_id) IN (…)` over those types.
fn push_index<'a>(
    statement: &mut Statement<'a>,
    m: &'a IndexMatch,
    negate: bool,
    drive: bool,
    types: &[ResourceType],
) {
    match m.resource_type {
        Some(_) if drive && !negate => {
            statement.push("r.res_id IN (");
            push_index_ids(statement, m, "i.res_id", types);
        }
        None if drive && !negate => {
            statement.push("(r.res_type, r.res_id) IN (");
            push_index_ids(statement, m, "i.res_type, i.res_id", types);
        }
        _ => {
            statement.push(if negate { "NOT EXISTS (" } else { "EXISTS (" });
            push_index_ids(statement, m, "i.res_id", &[]);
            // `OFFSET 0` keeps PostgreSQL from turning the probe into a semi join, which at
            // 10k patients merged every active Condition's token row into one patient's
            // search (415 buffers, not 88); SQLite probes per row either way.
            statement.push(" AND i.res_id = r.res_id LIMIT 1 OFFSET 0");
        }
    }
    statement.push(")");
}

/// `SELECT <columns> FROM <table> WHERE …` selecting the resources with a matching row: of
/// the match's type, else of one of `types`, else of the outer resource's own type.
fn push_index_ids<'a>(
    statement: &mut Statement<'a>,
    m: &'a IndexMatch,
    columns: &str,
    types: &[ResourceType],
) {
    statement.push(&format!(
        "SELECT {columns} FROM {} i WHERE i.res_type ",
        m.table
    ));
    match m.resource_type {
        Some(t) => {
            statement.push("= ");
            statement.bind(Bind::Text(t.as_str()));
        }
        None if types.is_empty() => {
            statement.push("= r.res_type");
        }
        None => {
            statement.push("IN (");
            for (n, t) in types.iter().enumerate() {
                if n > 0 {
                    statement.push(", ");
                }
                statement.bind(Bind::Text(t.as_str()));
            }
            statement.push(")");
        }
    }
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
        let (target, clause) = chain.as_ref();
        statement.push(" AND i.target_id IN (");
        push_clause_ids(statement, *target, clause);
        statement.push(")");
    }
}

/// The ids of the resources of `resource_type` a clause accepts, for a chain.
fn push_clause_ids<'a>(
    statement: &mut Statement<'a>,
    resource_type: ResourceType,
    clause: &'a Clause,
) {
    match clause {
        Clause::Has(m) => push_index_ids(statement, m, "i.res_id", &[]),
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
            push_clause_ids(statement, *source, inner);
            statement.push(")");
        }
        // Any other clause reads the resource table; this `r` shadows the outer query's.
        _ => {
            statement.push("SELECT r.res_id FROM resource r WHERE r.res_type = ");
            statement.bind(Bind::Text(resource_type.as_str()));
            statement.push(" AND NOT r.deleted AND ");
            push_clause(statement, clause, false, &[]);
        }
    }
}

fn push_clause<'a>(
    statement: &mut Statement<'a>,
    clause: &'a Clause,
    drive: bool,
    types: &[ResourceType],
) {
    match clause {
        Clause::Has(m) => push_index(statement, m, false, drive, types),
        Clause::HasNot(m) => push_index(statement, m, true, drive, types),
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
        Clause::Referenced { target, .. } => {
            statement.push("r.res_id IN (");
            push_clause_ids(statement, *target, clause);
            statement.push(")");
        }
        Clause::Compartment(patient) => {
            statement.push("r.patient = ");
            statement.bind(Bind::Text(patient));
        }
        Clause::Nothing => {
            statement.push("1=0");
        }
        Clause::Anything => {
            statement.push("1=1");
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

pub(super) fn push_where<'a>(statement: &mut Statement<'a>, query: &'a SearchQuery) {
    match &query.system {
        None => {
            statement.push(" WHERE r.res_type = ");
            statement.bind(Bind::Text(query.resource_type.as_str()));
        }
        Some(types) if !types.is_empty() => {
            statement.push(" WHERE r.res_type IN (");
            for (n, t) in types.iter().enumerate() {
                if n > 0 {
                    statement.push(", ");
                }
                statement.bind(Bind::Text(t.as_str()));
            }
            statement.push(")");
        }
        Some(_) => {
            statement.push(" WHERE 1=1");
        }
    }
    // Across every type, the driving index match still probes per type (its index leads
    // with the type).
    let types: Vec<ResourceType> = match &query.system {
        Some(types) if types.is_empty() => ResourceType::all().collect(),
        Some(types) => types.clone(),
        None => Vec::new(),
    };
    push_criteria(statement, query, &types);
}

/// The WHERE clause of one type of a search across types.
pub(super) fn push_where_of_type<'a>(
    statement: &mut Statement<'a>,
    query: &'a SearchQuery,
    resource_type: ResourceType,
) {
    statement.push(" WHERE r.res_type = ");
    statement.bind(Bind::Text(resource_type.as_str()));
    push_criteria(statement, query, &[resource_type]);
}

fn push_criteria<'a>(
    statement: &mut Statement<'a>,
    query: &'a SearchQuery,
    types: &[ResourceType],
) {
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
        push_clause(statement, clause, Some(n) == drive && n == 0, types);
    }
}

pub(super) fn count_sql(query: &SearchQuery) -> Statement<'_> {
    let mut statement = Statement::new("SELECT COUNT(*) FROM resource r");
    push_where(&mut statement, query);
    statement
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
