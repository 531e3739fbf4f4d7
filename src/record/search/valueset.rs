//! The ValueSets that token `:in` / `:not-in` name, read from the store and turned into the
//! codes they hold: the expansion when there is one, else the concepts listed in
//! `compose.include` (less those in `compose.exclude`). A ValueSet defined by filters or by
//! other ValueSets needs a terminology server, so it is refused with what to do instead.

use std::collections::HashMap;

use serde_json::Value;

use super::values::split_or;
use super::{bad, short};
use crate::fhir::ResourceType;
use crate::record::RecordError;
use crate::store::{Clause, Cond, IndexMatch, ResourceStore, SearchQuery};

/// `(system, code)` pairs per ValueSet URL.
pub(super) type ValueSets = HashMap<String, Vec<(Option<String>, String)>>;

/// Codes per ValueSet a search may compare with: each is a bind parameter pair.
const MAX_CODES: usize = 5000;

/// The ValueSets named by the `:in`/`:not-in` parameters of a search.
pub(super) async fn resolve(
    store: &dyn ResourceStore,
    params: &[(String, String)],
) -> Result<ValueSets, RecordError> {
    let mut found = ValueSets::new();
    for (key, value) in params {
        let names_value_set = key
            .split('.')
            .any(|part| matches!(part.split_once(':').map(|(_, m)| m), Some("in" | "not-in")));
        if !names_value_set {
            continue;
        }
        for url in split_or(value) {
            if found.contains_key(&url) {
                continue;
            }
            let value_set = read(store, key, &url).await?;
            let codes = codes(&value_set).map_err(|why| {
                bad(format!(
                    "{key}: ValueSet '{}' {why}; store it with an expansion \
                     (expansion.contains) or with compose.include concept lists",
                    short(&url)
                ))
            })?;
            if codes.len() > MAX_CODES {
                return Err(RecordError::invalid(
                    crate::fhir::IssueType::TooCostly,
                    format!(
                        "{key}: ValueSet '{}' holds {} codes; at most {MAX_CODES} can be searched",
                        short(&url),
                        codes.len()
                    ),
                    None,
                ));
            }
            found.insert(url, codes);
        }
    }
    Ok(found)
}

/// The stored ValueSet whose `url` is `url`.
async fn read(store: &dyn ResourceStore, key: &str, url: &str) -> Result<Value, RecordError> {
    let resource_type: ResourceType = "ValueSet"
        .parse()
        .map_err(|e: crate::fhir::UnknownResourceType| RecordError::Internal(e.to_string()))?;
    let page = store
        .search(&SearchQuery {
            resource_type,
            system: None,
            clauses: vec![Clause::Has(IndexMatch {
                table: "idx_uri",
                resource_type: Some(resource_type),
                code: "url".into(),
                any: vec![vec![Cond::text("uri", url)]],
                chain: None,
            })],
            count: 1,
            after: None,
            before: None,
            total: false,
            sort: Vec::new(),
        })
        .await?;
    let stored = page.entries.into_iter().next().ok_or_else(|| {
        bad(format!(
            "{key}: no ValueSet with url '{}' is stored on this server; store it first \
             (PUT /ValueSet/[id])",
            short(url)
        ))
    })?;
    let body = stored.body.as_deref().unwrap_or("null");
    serde_json::from_str(body)
        .map_err(|e| RecordError::Store(crate::store::StoreError::Corrupt(e.to_string())))
}

/// The codes of a ValueSet, or why they cannot be known here.
fn codes(value_set: &Value) -> Result<Vec<(Option<String>, String)>, &'static str> {
    if let Some(expansion) = value_set.get("expansion") {
        let mut out = Vec::new();
        contains(expansion, &mut out);
        return Ok(out);
    }
    let compose = value_set
        .get("compose")
        .ok_or("has neither an expansion nor a compose")?;
    let listed = |part: &str| -> Result<Vec<(Option<String>, String)>, &'static str> {
        let mut out = Vec::new();
        for set in array(compose, part) {
            if set.get("valueSet").is_some() || set.get("filter").is_some() {
                return Err("is defined by filters or other ValueSets");
            }
            let system = set.get("system").and_then(Value::as_str).map(str::to_owned);
            let concepts = set
                .get("concept")
                .and_then(Value::as_array)
                .ok_or("includes a whole code system")?;
            for concept in concepts {
                if let Some(code) = concept.get("code").and_then(Value::as_str) {
                    out.push((system.clone(), code.to_owned()));
                }
            }
        }
        Ok(out)
    };
    let excluded = listed("exclude")?;
    Ok(listed("include")?
        .into_iter()
        .filter(|c| !excluded.contains(c))
        .collect())
}

/// `expansion.contains`, nested ones included (abstract entries carry no usable code).
fn contains(node: &Value, out: &mut Vec<(Option<String>, String)>) {
    for item in array(node, "contains") {
        let is_abstract = item.get("abstract").and_then(Value::as_bool) == Some(true);
        if let (Some(code), false) = (item.get("code").and_then(Value::as_str), is_abstract) {
            let system = item
                .get("system")
                .and_then(Value::as_str)
                .map(str::to_owned);
            out.push((system, code.to_owned()));
        }
        contains(item, out);
    }
}

fn array<'a>(node: &'a Value, key: &str) -> &'a [Value] {
    node.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}
