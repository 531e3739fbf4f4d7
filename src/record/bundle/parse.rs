//! Reading a batch or transaction Bundle into entries: each entry's method, target, body,
//! preconditions and conditional criteria, checked before anything is written.

use serde_json::Value;

use super::{BundleKind, Entry, Method};
use crate::fhir::{Id, IssueType, ResourceType};
use crate::record::RecordError;

/// Whether any entry of a Bundle carries conditional criteria.
pub(super) fn has_criteria(bundle: &Value) -> bool {
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .is_some_and(|entries| {
            entries.iter().any(|e| {
                e.pointer("/request/ifNoneExist").is_some()
                    || e.pointer("/request/url")
                        .and_then(Value::as_str)
                        .is_some_and(|url| url.contains('?'))
            })
        })
}

pub(super) fn parse_bundle(
    bundle: Value,
) -> Result<(BundleKind, Vec<Result<Entry, RecordError>>), RecordError> {
    let Value::Object(mut fields) = bundle else {
        return Err(RecordError::invalid(
            IssueType::Structure,
            "a Bundle must be a JSON object",
            None,
        ));
    };
    if fields.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(RecordError::invalid(
            IssueType::Invalid,
            "POST to the server base takes a batch or transaction Bundle",
            Some("resourceType"),
        ));
    }
    let kind = match fields.get("type").and_then(Value::as_str) {
        Some("transaction") => BundleKind::Transaction,
        Some("batch") => BundleKind::Batch,
        other => {
            return Err(RecordError::invalid(
                IssueType::Value,
                format!(
                    "Bundle.type must be 'batch' or 'transaction' to be processed, not {}",
                    other.map_or("missing".to_owned(), |t| format!("'{t}'"))
                ),
                Some("Bundle.type"),
            ))
        }
    };
    let entries = match fields.remove("entry") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(RecordError::invalid(
                IssueType::Structure,
                "Bundle.entry must be an array",
                Some("Bundle.entry"),
            ))
        }
    };
    let parsed = entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| parse_entry(index, entry).map_err(|e| e.in_entry(index)))
        .collect();
    Ok((kind, parsed))
}

fn parse_entry(index: usize, entry: Value) -> Result<Entry, RecordError> {
    let Value::Object(mut entry) = entry else {
        return Err(RecordError::invalid(
            IssueType::Structure,
            "an entry must be a JSON object",
            None,
        ));
    };
    let request = entry.get("request").ok_or_else(|| {
        RecordError::invalid(
            IssueType::Required,
            "the entry has no request",
            Some("request"),
        )
    })?;
    let method = match request.get("method").and_then(Value::as_str) {
        Some("GET") | Some("HEAD") => Method::Get,
        Some("POST") => Method::Post,
        Some("PUT") => Method::Put,
        Some("DELETE") => Method::Delete,
        Some("PATCH") => return Err(RecordError::NotSupported("PATCH is not supported".into())),
        _ => {
            return Err(RecordError::invalid(
                IssueType::Required,
                "request.method must be GET, HEAD, POST, PUT or DELETE",
                Some("request.method"),
            ))
        }
    };
    let url = request.get("url").and_then(Value::as_str).ok_or_else(|| {
        RecordError::invalid(
            IssueType::Required,
            "the entry has no request.url",
            Some("request.url"),
        )
    })?;
    if request.get("ifNoneMatch").is_some() || request.get("ifModifiedSince").is_some() {
        return Err(RecordError::NotSupported(
            "conditional reads (ifNoneMatch, ifModifiedSince) are not supported".into(),
        ));
    }
    let if_none_exist = match request.get("ifNoneExist") {
        None => None,
        Some(Value::String(criteria)) if method == Method::Post => {
            Some(criteria.trim_start_matches('?').to_owned())
        }
        Some(_) => {
            return Err(RecordError::invalid(
                IssueType::Invalid,
                "ifNoneExist must be a query string, on a POST entry",
                Some("request.ifNoneExist"),
            ))
        }
    };
    let if_match = match request.get("ifMatch").and_then(Value::as_str) {
        Some(tag) => Some(parse_etag(tag).ok_or_else(|| {
            RecordError::invalid(
                IssueType::Value,
                format!("ifMatch '{tag}' is not an ETag like W/\"3\""),
                Some("request.ifMatch"),
            )
        })?),
        None => None,
    };
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (url, None),
    };
    let (resource_type, id, version) = parse_url(path)?;
    let criteria =
        match (method, query) {
            (Method::Put | Method::Delete, Some(query)) if id.is_none() => Some(query),
            (Method::Post, None) => if_none_exist,
            (_, None) if method == Method::Get || id.is_some() => None,
            (Method::Get, Some(_)) => return Err(RecordError::NotSupported(
                "search inside a Bundle is not supported yet; GET entries must read one resource"
                    .into(),
            )),
            _ => {
                return Err(RecordError::invalid(
                    IssueType::Required,
                    "request.url must name the resource id or give search criteria",
                    Some("request.url"),
                ))
            }
        };
    let resource = entry.remove("resource");
    if let Some(resource) = &resource {
        let declared = crate::record::prepare::resource_type_of(resource)?;
        if declared != resource_type {
            return Err(RecordError::invalid(
                IssueType::Invalid,
                format!(
                    "the entry's resource is a {declared} but request.url names {resource_type}"
                ),
                Some("request.url"),
            ));
        }
    }
    Ok(Entry {
        index,
        method,
        resource_type,
        id: if method == Method::Post { None } else { id },
        version,
        full_url: entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_owned),
        resource,
        if_match,
        criteria,
    })
}

/// `Type`, `Type/id` or `Type/id/_history/version`, relative to the server base.
fn parse_url(url: &str) -> Result<(ResourceType, Option<Id>, Option<i64>), RecordError> {
    let bad = |why: &str| {
        RecordError::invalid(
            IssueType::Value,
            format!("request.url '{}': {why}", crate::fhir::truncate(url)),
            Some("request.url"),
        )
    };
    let segments: Vec<&str> = url.trim_start_matches('/').split('/').collect();
    let resource_type: ResourceType = segments[0]
        .parse()
        .map_err(|_| bad("unknown resource type"))?;
    let id = match segments.get(1) {
        Some(id) => Some(Id::parse(id).map_err(|_| bad("invalid id"))?),
        None => None,
    };
    let version = match (segments.get(2), segments.get(3), segments.len()) {
        (None, None, _) => None,
        (Some(&"_history"), Some(v), 4) => Some(v.parse().map_err(|_| bad("invalid version"))?),
        _ => return Err(bad("expected Type, Type/id or Type/id/_history/version")),
    };
    Ok((resource_type, id, version))
}

/// `W/"3"` or `"3"` or `3`.
pub fn parse_etag(tag: &str) -> Option<i64> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"').parse().ok()
}
