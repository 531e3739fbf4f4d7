//! Index rows as SQL: the multi-row INSERTs that write a resource's typed index entries and the
//! DELETEs that remove the rows of its previous version. One shape for both backends.

use std::borrow::Cow;

use super::sql::{Bind, Statement, CHUNK};
use crate::fhir::index::{IndexEntry, IndexValue, QuantityValue, ReferenceValue, Token};
use crate::fhir::{Id, ResourceType};

/// Every index table, for removing a resource's rows.
pub(super) const TABLES: [&str; 8] = [
    "idx_token",
    "idx_string",
    "idx_date",
    "idx_reference",
    "idx_quantity",
    "idx_number",
    "idx_uri",
    "idx_composite",
];

/// The columns after `(res_type, res_id, code)` of each table, in bind order.
const COLUMNS: [(&str, &str); 8] = [
    ("idx_token", "system, value, text"),
    ("idx_string", "norm, exact"),
    ("idx_date", "low, high"),
    (
        "idx_reference",
        "target_type, target_id, url, ident_system, ident_value",
    ),
    (
        "idx_quantity",
        "value, system, unit, canon_value, canon_unit",
    ),
    ("idx_number", "value"),
    ("idx_uri", "uri"),
    (
        "idx_composite",
        "c1_system, c1_value, c2_system, c2_value, c2_low, c2_high, c2_number, c2_unit",
    ),
];

fn opt<'a>(value: &'a Option<Cow<'static, str>>) -> Bind<'a> {
    Bind::OptText(value.as_deref())
}

/// The table an entry goes to (its position in [`COLUMNS`]) and its values after the code;
/// `None` for entries no table holds (a composite whose first part is not a token).
fn values<'a>(value: &'a IndexValue<'static>) -> Option<(usize, Vec<Bind<'a>>)> {
    Some(match value {
        IndexValue::Token(t) => (0, vec![opt(&t.system), opt(&t.code), token_text(t)]),
        IndexValue::String(s) => (1, vec![Bind::Text(&s.normalized), Bind::Text(&s.exact)]),
        IndexValue::Date(d) => (2, vec![Bind::Int(d.low), Bind::Int(d.high)]),
        IndexValue::Reference(r) => (3, reference(r)),
        IndexValue::Quantity(q) => (4, quantity(q)),
        IndexValue::Number(n) => (5, vec![Bind::Float(*n)]),
        IndexValue::Uri(u) => (6, vec![Bind::Text(u)]),
        IndexValue::Composite(parts) => (7, composite(parts)?),
    })
}

/// The record layer hands token text over normalized, so `:text` is a case- and
/// accent-insensitive starts-with.
fn token_text<'a>(token: &'a Token<'static>) -> Bind<'a> {
    opt(&token.text)
}

fn reference<'a>(r: &'a ReferenceValue<'static>) -> Vec<Bind<'a>> {
    let (system, value) = match &r.identifier {
        Some(t) => (opt(&t.system), opt(&t.code)),
        None => (Bind::OptText(None), Bind::OptText(None)),
    };
    vec![
        opt(&r.resource_type),
        opt(&r.id),
        Bind::OptText(r.searched_url()),
        system,
        value,
    ]
}

fn quantity<'a>(q: &'a QuantityValue<'static>) -> Vec<Bind<'a>> {
    vec![
        Bind::Float(q.value),
        opt(&q.system),
        Bind::OptText(q.code.as_deref().or(q.unit.as_deref())),
        Bind::OptFloat(q.canonical.as_ref().map(|c| c.value)),
        Bind::OptText(q.canonical.as_ref().map(|c| c.unit.as_str())),
    ]
}

/// A composite tuple: a token first, then one value of any type.
fn composite<'a>(parts: &'a [IndexValue<'static>]) -> Option<Vec<Bind<'a>>> {
    let [IndexValue::Token(first), second] = parts else {
        return None;
    };
    let none = || Bind::OptText(None);
    let (system, value, low, high, number, unit) = match second {
        IndexValue::Token(t) => (opt(&t.system), opt(&t.code), None, None, None, none()),
        IndexValue::String(s) => (none(), Bind::Text(&s.normalized), None, None, None, none()),
        IndexValue::Date(d) => (none(), none(), Some(d.low), Some(d.high), None, none()),
        IndexValue::Number(n) => (none(), none(), None, None, Some(*n), none()),
        IndexValue::Quantity(q) => match &q.canonical {
            Some(c) => (
                none(),
                none(),
                None,
                None,
                Some(c.value),
                Bind::OptText(Some(&c.unit)),
            ),
            None => (
                opt(&q.system),
                none(),
                None,
                None,
                Some(q.value),
                Bind::OptText(q.code.as_deref().or(q.unit.as_deref())),
            ),
        },
        _ => return None,
    };
    Some(vec![
        opt(&first.system),
        opt(&first.code),
        system,
        value,
        Bind::OptInt(low),
        Bind::OptInt(high),
        Bind::OptFloat(number),
        unit,
    ])
}

/// One index row: type, id, parameter code and the table's other values.
type Row<'a> = (ResourceType, &'a Id, &'a str, Vec<Bind<'a>>);

/// Multi-row INSERTs of the entries of `rows`, one statement per table and chunk.
pub(super) fn insert_index<'a>(
    rows: &[(ResourceType, &'a Id, &'a [IndexEntry<'static>])],
    insert: &str,
) -> Vec<Statement<'a>> {
    let mut per_table: Vec<Vec<Row<'a>>> = (0..COLUMNS.len()).map(|_| Vec::new()).collect();
    for (resource_type, id, entries) in rows {
        for entry in entries.iter() {
            if let Some((table, binds)) = values(&entry.value) {
                per_table[table].push((*resource_type, *id, &entry.code, binds));
            }
        }
    }
    let mut statements = Vec::new();
    for ((table, columns), table_rows) in COLUMNS.iter().zip(per_table) {
        let width = 3 + columns.split(',').count();
        let mut rows = table_rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut statement = Statement::new(&format!(
                "{insert} {table} (res_type, res_id, code, {columns}) VALUES "
            ));
            // Keep each statement under the bind limits whatever the table's width.
            let per_statement = (CHUNK * 6 / width).max(1);
            for (n, (resource_type, id, code, binds)) in
                rows.by_ref().take(per_statement).enumerate()
            {
                statement.push(if n > 0 { ", (" } else { "(" });
                statement
                    .bind(Bind::Text(resource_type.as_str()))
                    .push(", ");
                statement.bind(Bind::Text(id.as_str())).push(", ");
                statement.bind(Bind::Text(code));
                for bind in binds {
                    statement.push(", ").bind(bind);
                }
                statement.push(")");
            }
            statements.push(statement);
        }
    }
    statements
}

/// DELETEs of every index row of `keys` (sorted by type), per table and type.
pub(super) fn delete_index<'a>(
    keys: &[(ResourceType, &'a Id)],
    arrays: bool,
) -> Vec<Statement<'a>> {
    let mut statements = Vec::new();
    for group in keys.chunk_by(|a, b| a.0 == b.0) {
        for chunk in group.chunks(CHUNK) {
            for table in TABLES {
                let mut statement =
                    Statement::new(&format!("DELETE FROM {table} WHERE res_type = "));
                statement.bind(Bind::Text(chunk[0].0.as_str())).in_list(
                    " AND res_id",
                    chunk.iter().map(|(_, id)| id.as_str()),
                    arrays,
                );
                statements.push(statement);
            }
        }
    }
    statements
}
