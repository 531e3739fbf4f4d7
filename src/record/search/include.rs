//! `_include` and `_revinclude` (with `:iterate` and `*`): the resources a page's matches
//! reference, and those that reference them, found through the reference index.

use std::collections::{BTreeMap, HashSet};

use crate::fhir::{IssueType, ResourceType};
use crate::record::RecordError;
use crate::store::{Clause, Cond, IndexMatch, ResourceStore, SearchQuery, StoredResource};

/// Included resources per request at most, so `*:iterate` cannot walk a whole database.
const MAX_INCLUDED: usize = 1000;
/// Rounds of `:iterate`.
const MAX_ROUNDS: usize = 4;

/// One `_include` or `_revinclude` value: `Source:param[:Target]` or `*`.
#[derive(Clone, Debug)]
pub(super) struct Include {
    reverse: bool,
    iterate: bool,
    /// `None` for `*`.
    source: Option<ResourceType>,
    code: Option<String>,
    target: Option<ResourceType>,
}

impl Include {
    pub(super) fn parse(key: &str, value: &str) -> Result<Include, RecordError> {
        let (name, modifier) = key.split_once(':').unwrap_or((key, ""));
        let bad = || {
            RecordError::invalid(
                IssueType::Invalid,
                format!(
                    "{name} '{}' must be Type:parameter[:TargetType] or *",
                    crate::fhir::truncate(value)
                ),
                None,
            )
        };
        let iterate = matches!(modifier, "iterate" | "recurse");
        if value == "*" {
            return Ok(Include {
                reverse: name == "_revinclude",
                iterate,
                source: None,
                code: None,
                target: None,
            });
        }
        let mut parts = value.split(':');
        let source = parts.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
        let code = parts.next().filter(|c| !c.is_empty()).ok_or_else(bad)?;
        let target = match parts.next() {
            Some(t) => Some(t.parse().map_err(|_| bad())?),
            None => None,
        };
        Ok(Include {
            reverse: name == "_revinclude",
            iterate,
            source: Some(source),
            code: Some(code.to_owned()),
            target,
        })
    }
}

/// The resources the includes add to `matches`, without repeating any match.
pub(super) async fn resolve(
    store: &dyn ResourceStore,
    includes: &[Include],
    matches: &[StoredResource],
) -> Result<Vec<StoredResource>, RecordError> {
    let mut seen: HashSet<(ResourceType, String)> = matches
        .iter()
        .map(|m| (m.resource_type, m.id.clone()))
        .collect();
    let mut included = Vec::new();
    let mut frontier: Vec<StoredResource> = matches.to_vec();
    for round in 0..MAX_ROUNDS {
        let mut found = Vec::new();
        for include in includes.iter().filter(|i| round == 0 || i.iterate) {
            let batch = if include.reverse {
                reverse(store, include, &frontier).await?
            } else {
                forward(store, include, &frontier).await?
            };
            found.extend(batch);
        }
        let fresh: Vec<StoredResource> = found
            .into_iter()
            .filter(|r| seen.insert((r.resource_type, r.id.clone())))
            .collect();
        if fresh.is_empty() || included.len() >= MAX_INCLUDED {
            break;
        }
        included.extend(fresh.iter().cloned());
        frontier = fresh;
    }
    included.truncate(MAX_INCLUDED);
    Ok(included)
}

/// Groups resources by type, keeping the types an include applies to.
fn by_type(
    resources: &[StoredResource],
    only: Option<ResourceType>,
) -> BTreeMap<ResourceType, Vec<String>> {
    let mut groups: BTreeMap<ResourceType, Vec<String>> = BTreeMap::new();
    for r in resources
        .iter()
        .filter(|r| only.is_none_or(|t| t == r.resource_type))
    {
        groups
            .entry(r.resource_type)
            .or_default()
            .push(r.id.clone());
    }
    groups
}

async fn forward(
    store: &dyn ResourceStore,
    include: &Include,
    from: &[StoredResource],
) -> Result<Vec<StoredResource>, RecordError> {
    let mut targets: BTreeMap<ResourceType, Vec<String>> = BTreeMap::new();
    for (resource_type, ids) in by_type(from, include.source) {
        for (target_type, target_id) in store
            .references(resource_type, &ids, include.code.as_deref())
            .await?
        {
            let Ok(target_type) = target_type.parse::<ResourceType>() else {
                continue;
            };
            if include.target.is_none_or(|t| t == target_type) {
                targets.entry(target_type).or_default().push(target_id);
            }
        }
    }
    let mut out = Vec::new();
    for (resource_type, ids) in targets {
        out.extend(fetch(store, resource_type, vec![Clause::Ids(ids)]).await?);
    }
    Ok(out)
}

async fn reverse(
    store: &dyn ResourceStore,
    include: &Include,
    to: &[StoredResource],
) -> Result<Vec<StoredResource>, RecordError> {
    let (Some(source), Some(code)) = (include.source, &include.code) else {
        // `_revinclude=*` would mean every resource of every type: not offered.
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (target_type, ids) in by_type(to, include.target) {
        let any = ids
            .iter()
            .map(|id| {
                vec![
                    Cond::text("target_type", target_type.as_str()),
                    Cond::text("target_id", id),
                ]
            })
            .collect();
        let clause = Clause::Has(IndexMatch {
            table: "idx_reference",
            resource_type: Some(source),
            code: code.clone(),
            any,
            chain: None,
        });
        out.extend(fetch(store, source, vec![clause]).await?);
    }
    Ok(out)
}

async fn fetch(
    store: &dyn ResourceStore,
    resource_type: ResourceType,
    clauses: Vec<Clause>,
) -> Result<Vec<StoredResource>, RecordError> {
    let page = store
        .search(&SearchQuery {
            resource_type,
            system: None,
            clauses,
            count: MAX_INCLUDED,
            after: None,
            before: None,
            total: false,
            sort: Vec::new(),
        })
        .await?;
    Ok(page.entries)
}
