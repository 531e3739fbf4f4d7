//! FHIR search over the typed index: parameters parsed against the search-parameter registry,
//! run by the store as one query, paged by a cursor.

mod everything;
mod include;
mod parse;
mod shape;
mod values;

use crate::fhir::{IssueType, ResourceType};
use crate::store::{Clause, SearchPage, SearchQuery, StoredResource};

use super::{RecordError, Records};
use parse::Refusal;
pub use shape::Shape;

/// Page size when `_count` is absent, and the most a page may hold.
pub const DEFAULT_COUNT: usize = 50;
pub const MAX_COUNT: usize = 1000;

/// A search as the client asked for it.
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    /// `(name, value)` pairs in order, as decoded from the query string or form body.
    pub params: Vec<(String, String)>,
    /// `Prefer: handling=strict`: an unknown parameter is an error, not ignored.
    pub strict: bool,
    /// Only resources in this patient's compartment (`/Patient/[id]/[type]`).
    pub compartment: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SearchResult {
    pub page: SearchPage,
    /// The parameters that took effect, for the `self` and paging links.
    pub used: Vec<(String, String)>,
    /// Parameters ignored because the server does not know them.
    pub ignored: Vec<String>,
    pub count: usize,
    /// Resources `_include`/`_revinclude` added (search mode `include`).
    pub included: Vec<StoredResource>,
    /// `_summary=count`: the Bundle carries the total only.
    pub count_only: bool,
    /// `_elements` / `_summary`: how much of each match to return.
    pub shape: Shape,
}

/// Parameters that shape the result rather than select resources.
const CONTROL: [&str; 4] = ["_count", "_total", "_format", "_pretty"];

impl Records {
    /// Searches one resource type.
    pub async fn search(
        &self,
        resource_type: ResourceType,
        request: &SearchRequest,
    ) -> Result<SearchResult, RecordError> {
        let registry = self.checks.registry();
        let mut clauses = Vec::new();
        let mut used = Vec::new();
        let mut ignored = Vec::new();
        let mut count = DEFAULT_COUNT;
        let mut total = false;
        let mut after = None;
        let mut includes = Vec::new();
        let mut count_only = false;
        let mut sort = Vec::new();
        let mut shape = Shape::Full;
        if let Some(patient) = &request.compartment {
            clauses.push(Clause::Compartment(patient.clone()));
        }
        for (key, value) in &request.params {
            match key.as_str() {
                "_count" => {
                    count = value
                        .parse::<usize>()
                        .map_err(|_| {
                            bad(format!("_count '{}' is not a whole number", short(value)))
                        })?
                        .min(MAX_COUNT);
                    continue;
                }
                "_total" => {
                    total = match value.as_str() {
                        "none" => false,
                        "estimate" | "accurate" => true,
                        _ => return Err(bad("_total must be none, estimate or accurate".into())),
                    };
                    used.push((key.clone(), value.clone()));
                    continue;
                }
                "_page" => {
                    after = Some(value.clone());
                    continue;
                }
                "_sort" => {
                    sort = parse::sort(registry, resource_type, value)?;
                    used.push((key.clone(), value.clone()));
                    continue;
                }
                "_summary" if value != "count" => {
                    shape = match value.as_str() {
                        "false" => Shape::Full,
                        "text" => Shape::Text,
                        "data" => Shape::Data,
                        _ => {
                            return Err(bad(format!(
                                "_summary '{}' is not supported; use count, text, data or false",
                                short(value)
                            )))
                        }
                    };
                    used.push((key.clone(), value.clone()));
                    continue;
                }
                "_elements" => {
                    shape = Shape::Elements(
                        value
                            .split(',')
                            .map(|e| e.trim().to_owned())
                            .filter(|e| !e.is_empty())
                            .collect(),
                    );
                    used.push((key.clone(), value.clone()));
                    continue;
                }
                "_summary" if value == "count" => {
                    count_only = true;
                    total = true;
                    count = 0;
                    used.push((key.clone(), value.clone()));
                    continue;
                }
                k if k.starts_with("_include") || k.starts_with("_revinclude") => {
                    includes.push(include::Include::parse(k, value)?);
                    used.push((key.clone(), value.clone()));
                    continue;
                }
                _ if CONTROL.contains(&key.as_str()) => continue,
                _ => {}
            }
            match parse::clause(registry, resource_type, key, value) {
                Ok(clause) => {
                    clauses.push(clause);
                    used.push((key.clone(), value.clone()));
                }
                Err(Refusal::Invalid(error)) => return Err(error),
                Err(Refusal::Unknown(name)) if request.strict => {
                    return Err(bad(format!(
                        "unknown or unsupported search parameter '{}' on {resource_type}",
                        short(&name)
                    )))
                }
                Err(Refusal::Unknown(name)) => ignored.push(name),
            }
        }
        let query = SearchQuery {
            resource_type,
            clauses,
            count,
            after,
            total,
            sort,
        };
        let page = self.store.search(&query).await?;
        let included = if includes.is_empty() {
            Vec::new()
        } else {
            include::resolve(self.store.as_ref(), &includes, &page.entries).await?
        };
        Ok(SearchResult {
            page,
            used,
            ignored,
            count,
            included,
            count_only,
            shape,
        })
    }
}

fn bad(message: String) -> RecordError {
    RecordError::invalid(IssueType::Invalid, message, None)
}

fn short(text: &str) -> String {
    crate::fhir::truncate(text)
}
