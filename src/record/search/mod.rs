//! FHIR search over the typed index: parameters parsed against the search-parameter registry,
//! run by the store as one query, paged by a cursor.

mod everything;
mod include;
mod parse;
mod shape;
mod sort;
mod summary;
mod values;
mod valueset;

use crate::fhir::{IssueType, ResourceType};
use crate::store::{Clause, SearchPage, SearchQuery, StoredResource};

use super::{RecordError, Records};
use parse::{Context, Refusal};
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
    /// The base URL the client addressed: absolute references to it are local.
    pub base: Option<String>,
}

/// What a search covers.
#[derive(Clone, Debug)]
enum Scope {
    Type(ResourceType),
    /// `GET /?_type=…`: these types, or every type when empty.
    System(Vec<ResourceType>),
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
    /// The `_page` cursor this page was asked for, for its `self` link.
    pub cursor: Option<String>,
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
        self.run_search(Scope::Type(resource_type), request).await
    }

    /// Searches across the types `_type` lists (every type without it): `GET /?…`.
    pub async fn search_system(
        &self,
        request: &SearchRequest,
    ) -> Result<SearchResult, RecordError> {
        let mut types = Vec::new();
        for (_, value) in request.params.iter().filter(|(k, _)| k == "_type") {
            for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let t: ResourceType = name.parse().map_err(|_| {
                    bad(format!(
                        "_type names '{}', which is not a FHIR R4 resource type",
                        short(name)
                    ))
                })?;
                if !types.contains(&t) {
                    types.push(t);
                }
            }
        }
        self.run_search(Scope::System(types), request).await
    }

    async fn run_search(
        &self,
        scope: Scope,
        request: &SearchRequest,
    ) -> Result<SearchResult, RecordError> {
        let prepared = self.prepare(scope, request).await?;
        let page = self.store.search(&prepared.query).await?;
        let included = if prepared.includes.is_empty() {
            Vec::new()
        } else {
            include::resolve(self.store.as_ref(), &prepared.includes, &page.entries).await?
        };
        Ok(SearchResult {
            page,
            used: prepared.used,
            ignored: prepared.ignored,
            count: prepared.count,
            included,
            count_only: prepared.count_only,
            shape: prepared.shape,
            cursor: request
                .params
                .iter()
                .rev()
                .find(|(k, _)| k == "_page")
                .map(|(_, v)| v.clone()),
        })
    }

    /// The store query of a search on one type, for a caller that runs it itself.
    pub(super) async fn search_query(
        &self,
        resource_type: ResourceType,
        request: &SearchRequest,
    ) -> Result<SearchQuery, RecordError> {
        Ok(self
            .prepare(Scope::Type(resource_type), request)
            .await?
            .query)
    }

    /// Parses a search's parameters into a store query and what shapes its result.
    async fn prepare(
        &self,
        scope: Scope,
        request: &SearchRequest,
    ) -> Result<Prepared, RecordError> {
        let checks = self.current_checks().await?;
        let value_sets = valueset::resolve(self.store.as_ref(), &request.params).await?;
        let cx = Context {
            registry: checks.registry(),
            base: request.base.as_deref().or(checks.base_url()),
            value_sets: &value_sets,
        };
        let (resource_type, system) = match &scope {
            Scope::Type(t) => (*t, None),
            Scope::System(types) => {
                let probe = types
                    .first()
                    .copied()
                    .or_else(|| ResourceType::all().next());
                let probe =
                    probe.ok_or_else(|| RecordError::Internal("no resource types".into()))?;
                (probe, Some(types.clone()))
            }
        };
        let mut clauses = Vec::new();
        let mut used = Vec::new();
        let mut ignored = Vec::new();
        let mut count = DEFAULT_COUNT;
        let mut total = false;
        let mut after = None;
        let mut before = None;
        let mut includes = Vec::new();
        let mut count_only = false;
        let mut sort = Vec::new();
        let mut shape = Shape::Full;
        if let Some(patient) = &request.compartment {
            clauses.push(Clause::Compartment(patient.clone()));
        }
        for (key, value) in &request.params {
            match key.as_str() {
                "_type" if system.is_some() => {
                    used.push((key.clone(), value.clone()));
                    continue;
                }
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
                    let cursor = value.strip_prefix('~');
                    let text = cursor.unwrap_or(value);
                    if system.is_some() && !text.contains('/') {
                        return Err(bad("_page is not a cursor this server issued".into()));
                    }
                    match cursor {
                        Some(c) => before = Some(c.to_owned()),
                        None => after = Some(value.clone()),
                    }
                    continue;
                }
                "_sort" => {
                    sort = match &system {
                        None => sort::sort(cx.registry, resource_type, value)?,
                        Some(types) => sort::system_sort(cx.registry, types, value)?,
                    };
                    used.push((key.clone(), value.clone()));
                    continue;
                }
                "_summary" if value != "count" => {
                    shape = match value.as_str() {
                        "false" => Shape::Full,
                        "true" => Shape::Summary,
                        "text" => Shape::Text,
                        "data" => Shape::Data,
                        _ => {
                            return Err(bad(format!(
                            "_summary '{}' is not supported; use true, count, text, data or false",
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
            let parsed = match &system {
                None => parse::clause(&cx, resource_type, key, value),
                Some(types) => parse::system_clause(&cx, types, key, value),
            };
            match parsed {
                Ok(clause) => {
                    clauses.push(clause);
                    used.push((key.clone(), value.clone()));
                }
                Err(Refusal::Invalid(error)) => return Err(error),
                Err(Refusal::Unknown(name)) if request.strict => {
                    let on = match &system {
                        None => resource_type.to_string(),
                        Some(_) => "every type searched".to_owned(),
                    };
                    return Err(bad(format!(
                        "unknown or unsupported search parameter '{}' on {on}",
                        short(&name)
                    )));
                }
                Err(Refusal::Unknown(name)) => ignored.push(name),
            }
        }
        let query = SearchQuery {
            resource_type,
            system,
            clauses,
            count,
            after,
            before,
            total,
            sort,
        };
        Ok(Prepared {
            query,
            used,
            ignored,
            count,
            includes,
            count_only,
            shape,
        })
    }
}

/// A parsed search, before it runs.
struct Prepared {
    query: SearchQuery,
    used: Vec<(String, String)>,
    ignored: Vec<String>,
    count: usize,
    includes: Vec<include::Include>,
    count_only: bool,
    shape: Shape,
}

fn bad(message: String) -> RecordError {
    RecordError::invalid(IssueType::Invalid, message, None)
}

fn short(text: &str) -> String {
    crate::fhir::truncate(text)
}
