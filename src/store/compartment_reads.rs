//! Reading many patients' compartments at once, for population runs: whole, or only the
//! resource types a caller names and, for some types, only resources with given codes.
//!
//! Each query aggregates its resources into one text value (`type US patient US body`, joined
//! by RS): the driver then hands over one value instead of building a row object per resource,
//! thousands per page. Valid JSON never holds a raw control character (inside strings they must
//! be escaped, and outside only space, tab, CR and LF are allowed), so the separators cannot
//! occur in a body. The text is split, code-filtered and parsed on the rayon pool, in parallel
//! and off the async runtime.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

use super::code_filter::CodeFilter;
use super::date_span::DateFilter;
use super::reads::Reader;
use super::sql::{Bind, Statement};
use super::StoreError;
use crate::fhir::ResourceType;

/// What to read of each patient's compartment: only these types.
#[derive(Debug, Clone)]
pub struct CompartmentRead {
    pub types: Vec<TypeRead>,
}

/// One resource type to read; with `codes`, only resources its filter keeps; with `dates`,
/// not those whose stored span (`date_span`) lies outside the windows kept for their codes.
#[derive(Debug, Clone)]
pub struct TypeRead {
    pub resource_type: ResourceType,
    pub codes: Option<Arc<CodeFilter>>,
    pub dates: Option<Arc<DateFilter>>,
}

impl TypeRead {
    /// Read through the index first (see `narrowed_reads`), not whole.
    fn narrowed(&self) -> bool {
        self.codes.is_some() || self.dates.is_some()
    }
}

/// Patients per statement: keeps it far below both bind limits, and the packed text of one
/// statement to tens of megabytes.
pub(super) const PER_QUERY: usize = 500;

/// Between resources, and between the fields of one resource (ASCII control characters).
pub(super) const ROW: u8 = 0x1e;
pub(super) const FIELD: u8 = 0x1f;
/// The same, as SQL text parameters.
pub(super) const ROW_TEXT: &str = "\u{1e}";
pub(super) const FIELD_TEXT: &str = "\u{1f}";

/// `SELECT` of one packed text of the versions `v` a statement goes on to select (`FROM …`
/// follows), each as `type FIELD patient FIELD body`, as [`split`] reads them.
pub(super) fn packed_select<P: Reader>(body: &str) -> Statement<'static> {
    let mut statement = Statement::new(&format!("SELECT {}(v.res_type || ", P::AGGREGATE));
    statement
        .bind(Bind::Text(FIELD_TEXT))
        .push(" || v.patient || ")
        .bind(Bind::Text(FIELD_TEXT))
        .push(&format!(" || {body}, "))
        .bind(Bind::Text(ROW_TEXT))
        .push(") ");
    statement
}

/// One stored resource of a packed read, split out but not parsed: its fields are slices of
/// the page's packed text, which every resource of the page shares. Parsing (and the code
/// filter) waits until a reader asks for the type, so types a patient's evaluation never
/// reaches are never parsed.
#[derive(Clone)]
pub struct RawResource {
    text: Arc<String>,
    resource_type: Range<usize>,
    patient: Range<usize>,
    body: Range<usize>,
    codes: Option<Arc<CodeFilter>>,
}

impl RawResource {
    pub fn resource_type(&self) -> &str {
        &self.text[self.resource_type.clone()]
    }

    pub fn patient(&self) -> &str {
        &self.text[self.patient.clone()]
    }

    /// The resource, unless the read's code filter for its type rules it out.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Option<Result<T, StoreError>> {
        let body = &self.text[self.body.clone()];
        if self.codes.as_ref().is_some_and(|f| !f.keeps(body)) {
            return None;
        }
        Some(serde_json::from_str(body).map_err(|e| StoreError::Corrupt(e.to_string())))
    }
}

impl std::fmt::Debug for RawResource {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("RawResource")
            .field("resource_type", &self.resource_type())
            .field("patient", &self.patient())
            .finish_non_exhaustive()
    }
}

/// Every current resource in these patients' compartments (of the types `read` names, if
/// given), as `(patient id, resource)` pairs in no particular order.
pub(super) async fn compartments<P: Reader>(
    pool: &P,
    body: &str,
    patient_ids: &[String],
    read: Option<&CompartmentRead>,
) -> Result<Vec<(String, Value)>, StoreError> {
    let filters: HashMap<&'static str, Arc<CodeFilter>> = read
        .into_iter()
        .flat_map(|r| &r.types)
        .filter_map(|t| Some((t.resource_type.as_str(), t.codes.clone()?)))
        .collect();
    let types: Option<Vec<&str>> =
        read.map(|r| r.types.iter().map(|t| t.resource_type.as_str()).collect());
    let packed = packed(pool, body, patient_ids, types.as_deref()).await?;
    if packed.is_empty() {
        return Ok(Vec::new());
    }
    on_rayon(move || unpack(&packed, &filters)).await?
}

/// The resources of the types `read` names in these patients' compartments, split but not
/// parsed (see [`RawResource`]), in no particular order. Types narrowed by code or date are read
/// through the index first (see `narrowed_reads`).
pub(super) async fn compartments_raw<P: Reader>(
    pool: &P,
    body: &str,
    patient_ids: &[String],
    read: &CompartmentRead,
) -> Result<Vec<RawResource>, StoreError> {
    let filters: HashMap<&'static str, Arc<CodeFilter>> = read
        .types
        .iter()
        .filter_map(|t| Some((t.resource_type.as_str(), t.codes.clone()?)))
        .collect();
    let whole: Vec<&str> = read
        .types
        .iter()
        .filter(|t| !t.narrowed())
        .map(|t| t.resource_type.as_str())
        .collect();
    let narrowed: Vec<&TypeRead> = read.types.iter().filter(|t| t.narrowed()).collect();
    // Bodies already known to be wanted need no filter; the others are filtered as parsed.
    let mut wanted = Vec::new();
    if !whole.is_empty() {
        wanted = packed(pool, body, patient_ids, Some(&whole)).await?;
    }
    let mut undecided = Vec::new();
    if !narrowed.is_empty() {
        let chosen = super::narrowed_reads::choose(pool, patient_ids, &narrowed).await?;
        wanted.extend(super::narrowed_reads::bodies(pool, body, &chosen.kept).await?);
        undecided = super::narrowed_reads::bodies(pool, body, &chosen.undecided).await?;
    }
    if wanted.is_empty() && undecided.is_empty() {
        return Ok(Vec::new());
    }
    on_rayon(move || {
        let mut resources = split(wanted, &HashMap::new())?;
        resources.extend(split(undecided, &filters)?);
        Ok(resources)
    })
    .await?
}

/// One packed text per statement (see the module comment).
async fn packed<P: Reader>(
    pool: &P,
    body: &str,
    patient_ids: &[String],
    types: Option<&[&str]>,
) -> Result<Vec<String>, StoreError> {
    let mut packed = Vec::new();
    for chunk in patient_ids.chunks(PER_QUERY) {
        let mut statement = packed_select::<P>(body);
        statement.push(
            "FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE NOT r.deleted AND ",
        );
        statement.in_list("r.patient", chunk.iter().map(String::as_str), P::ARRAYS);
        if let Some(types) = types {
            statement.in_list(" AND r.res_type", types.iter().copied(), P::ARRAYS);
        }
        let rows: Vec<(Option<String>,)> = pool.rows(&statement).await?;
        packed.extend(rows.into_iter().filter_map(|(text,)| text));
    }
    Ok(packed)
}

/// Splits packed texts into unparsed resources, each carrying its type's code filter.
fn split(
    packed: Vec<String>,
    filters: &HashMap<&'static str, Arc<CodeFilter>>,
) -> Result<Vec<RawResource>, StoreError> {
    let mut out = Vec::new();
    for text in packed {
        let text = Arc::new(text);
        for range in rows(&text) {
            let row = &text.as_bytes()[range.clone()];
            let lacks = || StoreError::Corrupt("a packed compartment row lacks a field".into());
            // The separators are ASCII: byte offsets of them are character boundaries.
            let first = memchr::memchr(FIELD, row).ok_or_else(lacks)?;
            let second = first + 1 + memchr::memchr(FIELD, &row[first + 1..]).ok_or_else(lacks)?;
            let at = |from: usize, to: usize| range.start + from..range.start + to;
            let resource_type = at(0, first);
            out.push(RawResource {
                codes: filters.get(&text[resource_type.clone()]).cloned(),
                resource_type,
                patient: at(first + 1, second),
                body: at(second + 1, row.len()),
                text: text.clone(),
            });
        }
    }
    Ok(out)
}

/// The byte ranges of the non-empty rows of a packed text. Rows are found with the memchr
/// crate's vectorised search: the text is tens of megabytes, and `str::split` by a char
/// walked it several times slower.
fn rows(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let ends = memchr::memchr_iter(ROW, text.as_bytes()).chain([text.len()]);
    let mut start = 0;
    ends.filter_map(move |end| {
        let range = start..end;
        start = end + 1;
        (!range.is_empty()).then_some(range)
    })
}

/// Runs CPU work on the rayon pool and waits for it without holding an async thread.
async fn on_rayon<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    let (done, result) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        // The receiver is gone only if the caller was cancelled; nobody wants the result then.
        let _ = done.send(work());
    });
    result
        .await
        .map_err(|_| StoreError::Corrupt("parsing a page of stored resources failed".into()))
}

/// Splits packed texts into resources, drops those a code filter rules out, parses the rest.
fn unpack(
    packed: &[String],
    filters: &HashMap<&'static str, Arc<CodeFilter>>,
) -> Result<Vec<(String, Value)>, StoreError> {
    let rows: Vec<&str> = packed
        .iter()
        .flat_map(|text| text.split(char::from(ROW)))
        .filter(|row| !row.is_empty())
        .collect();
    rows.par_iter()
        .filter_map(|row| {
            let mut fields = row.splitn(3, char::from(FIELD));
            let (Some(resource_type), Some(patient), Some(body)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Some(Err(StoreError::Corrupt(
                    "a packed compartment row lacks a field".into(),
                )));
            };
            if filters
                .get(resource_type)
                .is_some_and(|filter| !filter.keeps(body))
            {
                return None;
            }
            Some(
                serde_json::from_str(body)
                    .map(|resource| (patient.to_owned(), resource))
                    .map_err(|e| StoreError::Corrupt(e.to_string())),
            )
        })
        .collect()
}
