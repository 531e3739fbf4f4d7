//! Batch and transaction Bundles (`POST /`). A transaction is processed in the spec's order
//! (DELETE, POST, PUT, GET), its `urn:uuid:` fullUrls are replaced by the assigned ids in every
//! reference, and all its writes commit in one store transaction or not at all.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

mod parse;

use super::{Checks, RecordError, Records};
use crate::fhir::{Id, IssueType, ResourceType};
use crate::store::{Criteria, StoreError, StoredResource, WriteOp, WriteOutcome};
pub use parse::parse_etag;
use parse::{has_criteria, parse_bundle};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleKind {
    Batch,
    Transaction,
}

/// What happened to one entry, in the order of `Bundle.entry`.
#[derive(Debug)]
pub enum EntryResult {
    Written(WriteOutcome),
    Read(StoredResource),
}

#[derive(Debug)]
pub struct BundleOutcome {
    pub kind: BundleKind,
    pub entries: Vec<Result<EntryResult, RecordError>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Method {
    // Declared in transaction processing order.
    Delete,
    Post,
    Put,
    Get,
}

#[derive(Clone)]
struct Entry {
    index: usize,
    method: Method,
    resource_type: ResourceType,
    id: Option<Id>,
    version: Option<i64>,
    full_url: Option<String>,
    resource: Option<Value>,
    if_match: Option<i64>,
    /// `request.ifNoneExist` of a POST, or the search criteria of a conditional PUT/DELETE.
    criteria: Option<String>,
}

/// Plans of a transaction (or of a batch entry) with conditional writes, at most, when other
/// writes on the same criteria keep winning.
const CONDITIONAL_ATTEMPTS: usize = 3;

impl Records {
    pub async fn bundle(&self, bundle: Value) -> Result<BundleOutcome, RecordError> {
        // A transaction whose ifNoneExist create lost a race to another create is planned
        // again: its entry then reads the resource the other one stored.
        let mut attempts = CONDITIONAL_ATTEMPTS;
        let retry = has_criteria(&bundle).then(|| bundle.clone());
        let (kind, entries) = parse_bundle(bundle)?;
        if kind == BundleKind::Batch {
            return Ok(self.batch(entries).await);
        }
        let mut outcome = self.transaction(entries).await;
        while let (Some(again), Err(RecordError::Store(StoreError::ConditionChanged))) =
            (&retry, &outcome)
        {
            attempts -= 1;
            if attempts == 0 {
                break;
            }
            let (_, entries) = parse_bundle(again.clone())?;
            outcome = self.transaction(entries).await;
        }
        outcome
    }

    async fn transaction(
        &self,
        entries: Vec<Result<Entry, RecordError>>,
    ) -> Result<BundleOutcome, RecordError> {
        let mut entries = entries.into_iter().collect::<Result<Vec<_>, _>>()?;
        let count = entries.len();
        let mut guards = Vec::new();
        for entry in entries.iter_mut() {
            let guard = self
                .resolve_conditional(entry)
                .await
                .map_err(|e| e.in_entry(entry.index))?;
            guards.extend(guard);
        }
        assign_ids(&mut entries)?;
        let conditional = self.conditional_references(&entries).await?;
        rewrite_references(&mut entries, conditional)?;
        entries.sort_by_key(|entry| (entry.method, entry.index));

        // Validation and index extraction are CPU work: keep them off the async runtime, where
        // they would delay every other request and the store's writer.
        let records = self.clone();
        let checks = self.current_checks().await?;
        let (entries, ops, op_entries) = tokio::task::spawn_blocking(move || {
            let mut entries = entries;
            let mut ops = Vec::new();
            let mut op_entries = Vec::new();
            for entry in entries.iter_mut().filter(|e| e.method != Method::Get) {
                ops.push(
                    records
                        .write_op(&checks, entry)
                        .map_err(|e| e.in_entry(entry.index))?,
                );
                op_entries.push(entry.index);
            }
            Ok::<_, RecordError>((entries, ops, op_entries))
        })
        .await
        .map_err(|_| {
            RecordError::Internal("the validation task of a transaction failed".into())
        })??;
        let parameters = ops
            .iter()
            .any(|op| op.resource_type.as_str() == "SearchParameter");
        let written = self.store.write_guarded(ops, &guards).await;
        if parameters {
            self.checks.invalidate();
        }
        let outcomes = written.map_err(|error| match error {
            StoreError::InOperation { index, source } => {
                let entry = op_entries.get(index).copied().unwrap_or(index);
                RecordError::Store(*source).in_entry(entry)
            }
            other => RecordError::Store(other),
        })?;

        let mut results: Vec<Option<Result<EntryResult, RecordError>>> =
            (0..count).map(|_| None).collect();
        for (entry_index, outcome) in op_entries.into_iter().zip(outcomes) {
            results[entry_index] = Some(Ok(EntryResult::Written(outcome)));
        }
        for entry in entries.iter().filter(|e| e.method == Method::Get) {
            results[entry.index] = Some(self.get(entry).await);
        }
        Ok(BundleOutcome {
            kind: BundleKind::Transaction,
            entries: results
                .into_iter()
                .map(|result| {
                    result.unwrap_or_else(|| {
                        Err(RecordError::NotSupported("entry was not processed".into()))
                    })
                })
                .collect(),
        })
    }

    async fn batch(&self, entries: Vec<Result<Entry, RecordError>>) -> BundleOutcome {
        let mut results = Vec::with_capacity(entries.len());
        for entry in entries {
            let result = match entry {
                Err(error) => Err(error),
                Ok(entry) => self.batch_entry(entry).await,
            };
            results.push(result);
        }
        BundleOutcome {
            kind: BundleKind::Batch,
            entries: results,
        }
    }

    /// Turns a conditional entry into a plain one: an `ifNoneExist` POST that matches one
    /// resource becomes a read of it; a conditional PUT or DELETE gets the id of its match.
    /// A conditional write returns the guard it must pass: under the criteria's lock, the
    /// search still finds what it found here (nothing, for a create).
    async fn resolve_conditional(
        &self,
        entry: &mut Entry,
    ) -> Result<Option<Criteria>, RecordError> {
        let Some(criteria) = entry.criteria.take() else {
            return Ok(None);
        };
        let found = self.matching(entry.resource_type, &criteria).await?;
        if found.len() > 1 {
            return Err(RecordError::MultipleMatches(format!(
                "the criteria match more than one {}; make them more selective",
                entry.resource_type
            )));
        }
        let guard = match (entry.method, found.as_slice()) {
            (Method::Post, [_]) | (Method::Get, _) => None,
            _ => Some(self.guard(entry.resource_type, &criteria, &found).await?),
        };
        let matched = found.into_iter().next();
        match (entry.method, matched) {
            (Method::Post, None) => {}
            (Method::Post, Some(existing)) => {
                entry.method = Method::Get;
                entry.resource = None;
                entry.id = Some(stored_id(&existing)?);
            }
            (Method::Put, Some(existing)) => {
                let id = stored_id(&existing)?;
                if let Some(Value::Object(fields)) = &mut entry.resource {
                    fields.insert("id".into(), Value::String(id.to_string()));
                }
                entry.id = Some(id);
            }
            (Method::Put, None) => {
                let id = match entry
                    .resource
                    .as_ref()
                    .and_then(|r| r.get("id"))
                    .and_then(Value::as_str)
                {
                    Some(id) => Id::parse(id).map_err(|e| {
                        RecordError::invalid(IssueType::Value, e.to_string(), Some("resource.id"))
                    })?,
                    None => Id::generate(),
                };
                if let Some(Value::Object(fields)) = &mut entry.resource {
                    fields.insert("id".into(), Value::String(id.to_string()));
                }
                entry.id = Some(id);
            }
            // Nothing matches: deleting a fresh id writes nothing and succeeds.
            (Method::Delete, matched) => {
                entry.id = Some(match matched {
                    Some(existing) => stored_id(&existing)?,
                    None => Id::generate(),
                });
            }
            (Method::Get, _) => {}
        }
        Ok(guard)
    }

    /// Resolves references written as search criteria (`Patient?identifier=…`) to the one
    /// resource they match; none or several fails the transaction.
    async fn conditional_references(
        &self,
        entries: &[Entry],
    ) -> Result<HashMap<String, String>, RecordError> {
        let mut criteria = Vec::new();
        for entry in entries {
            if let Some(resource) = &entry.resource {
                collect_conditional(resource, &mut criteria);
            }
        }
        let mut resolved = HashMap::new();
        for reference in criteria {
            if resolved.contains_key(&reference) {
                continue;
            }
            let not_found = |why: &str| {
                RecordError::Unprocessable(vec![crate::fhir::OutcomeIssue::error(
                    IssueType::NotFound,
                    format!(
                        "conditional reference '{}' {why}",
                        crate::fhir::truncate(&reference)
                    ),
                )])
            };
            let (type_name, query) = reference.split_once('?').unwrap_or((&reference, ""));
            let resource_type: ResourceType = type_name
                .parse()
                .map_err(|_| not_found("names no resource type"))?;
            let found = self.matching(resource_type, query).await?;
            match found.as_slice() {
                [one] => {
                    resolved.insert(reference.clone(), format!("{resource_type}/{}", one.id));
                }
                [] => return Err(not_found("matches no resource")),
                _ => {
                    return Err(RecordError::MultipleMatches(format!(
                        "conditional reference '{}' matches more than one resource",
                        crate::fhir::truncate(&reference)
                    )))
                }
            }
        }
        Ok(resolved)
    }

    /// A batch entry on its own; a conditional one is resolved again when a concurrent write
    /// changed what its criteria match before it could write.
    async fn batch_entry(&self, entry: Entry) -> Result<EntryResult, RecordError> {
        let mut attempts = CONDITIONAL_ATTEMPTS;
        loop {
            let mut attempt = entry.clone();
            match self.batch_entry_once(&mut attempt).await {
                Err(RecordError::Store(StoreError::ConditionChanged)) if attempts > 1 => {
                    attempts -= 1;
                }
                done => return done,
            }
        }
    }

    async fn batch_entry_once(&self, entry: &mut Entry) -> Result<EntryResult, RecordError> {
        let guard = self.resolve_conditional(entry).await?;
        if entry.method == Method::Get {
            return self.get(entry).await;
        }
        if entry.method == Method::Post {
            entry.id = Some(Id::generate());
        }
        let checks = self.current_checks().await?;
        let op = self.write_op(&checks, entry)?;
        self.write_guarded(op, guard)
            .await
            .map(EntryResult::Written)
    }

    fn write_op(&self, checks: &Checks, entry: &mut Entry) -> Result<WriteOp, RecordError> {
        let id = entry.id.clone().ok_or_else(|| {
            RecordError::invalid(
                IssueType::Required,
                "request.url must name the resource id",
                Some("request.url"),
            )
        })?;
        let op = match entry.method {
            Method::Delete => WriteOp::delete(entry.resource_type, id),
            Method::Post => checks.create(entry.resource_type, take_resource(entry)?, id)?,
            Method::Put => checks.update(entry.resource_type, id, take_resource(entry)?)?,
            Method::Get => return Err(RecordError::NotSupported("GET is not a write".into())),
        };
        Ok(op.if_match(entry.if_match))
    }

    async fn get(&self, entry: &Entry) -> Result<EntryResult, RecordError> {
        let Some(id) = &entry.id else {
            return Err(RecordError::NotSupported(
                "search inside a Bundle is not supported yet; GET entries must read one resource"
                    .into(),
            ));
        };
        let stored = match entry.version {
            Some(version) => self.vread(entry.resource_type, id, version).await?,
            None => self.read(entry.resource_type, id).await?,
        };
        Ok(EntryResult::Read(stored))
    }
}

fn take_resource(entry: &mut Entry) -> Result<Value, RecordError> {
    entry.resource.take().ok_or_else(|| {
        RecordError::invalid(
            IssueType::Required,
            "this request needs a resource",
            Some("resource"),
        )
    })
}

fn stored_id(stored: &StoredResource) -> Result<Id, RecordError> {
    Id::parse(&stored.id).map_err(|e| RecordError::Store(StoreError::Corrupt(e.to_string())))
}

/// Every `reference` in `value` written as search criteria (`Type?param=value`).
fn collect_conditional(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(reference)) = fields.get("reference") {
                if reference.contains('?') && !reference.contains("://") {
                    out.push(reference.clone());
                }
            }
            fields.values().for_each(|v| collect_conditional(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_conditional(v, out)),
        _ => {}
    }
}

/// Gives POSTed entries their ids and maps every entry's fullUrl to `Type/id`.
fn assign_ids(entries: &mut [Entry]) -> Result<(), RecordError> {
    let mut seen = HashSet::new();
    for entry in entries.iter_mut() {
        if entry.method == Method::Post {
            entry.id = Some(Id::generate());
        }
        if entry.method != Method::Get {
            if let Some(id) = &entry.id {
                if !seen.insert((entry.resource_type, id.clone())) {
                    return Err(RecordError::invalid(
                        IssueType::Duplicate,
                        format!(
                            "{}/{id} appears in more than one entry of the transaction",
                            entry.resource_type
                        ),
                        Some("request.url"),
                    )
                    .in_entry(entry.index));
                }
            }
        }
    }
    Ok(())
}

/// Replaces every reference to an entry's fullUrl by the entry's `Type/id`.
fn rewrite_references(
    entries: &mut [Entry],
    mut targets: HashMap<String, String>,
) -> Result<(), RecordError> {
    for entry in entries.iter() {
        if let (Some(full_url), Some(id)) = (&entry.full_url, &entry.id) {
            targets.insert(full_url.clone(), format!("{}/{id}", entry.resource_type));
        }
    }
    for entry in entries.iter_mut() {
        if let Some(resource) = &mut entry.resource {
            rewrite(resource, &targets).map_err(|e| e.in_entry(entry.index))?;
        }
    }
    Ok(())
}

fn rewrite(value: &mut Value, targets: &HashMap<String, String>) -> Result<(), RecordError> {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(reference)) = fields.get_mut("reference") {
                if let Some(target) = targets.get(reference.as_str()) {
                    *reference = target.clone();
                } else if reference.starts_with("urn:uuid:") || reference.starts_with("urn:oid:") {
                    return Err(RecordError::invalid(
                        IssueType::NotFound,
                        format!(
                            "reference '{}' matches no entry's fullUrl in this transaction",
                            crate::fhir::truncate(reference)
                        ),
                        None,
                    ));
                }
            }
            for field in fields.values_mut() {
                rewrite(field, targets)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite(item, targets)?;
            }
        }
        _ => {}
    }
    Ok(())
}
