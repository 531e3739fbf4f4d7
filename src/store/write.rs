//! What a write does, decided once for both backends: version checks, the next version number,
//! and the stamped body. Backends only read the current row and apply the plan.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{StoreError, StoredResource};
use crate::fhir::fhirpath::DateRange;
use crate::fhir::index::IndexEntry;
use crate::fhir::{format_instant, Id, Instant, ResourceType};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
    Delete,
}

/// One operation of a write. The caller has assigned the id and computed the compartment.
#[derive(Clone, Debug)]
pub struct WriteOp {
    pub kind: WriteKind,
    pub resource_type: ResourceType,
    pub id: Id,
    /// The resource to store; `None` for a delete.
    pub resource: Option<Value>,
    /// The Patient compartment the resource belongs to.
    pub patient: Option<String>,
    /// Version the current resource must be at (`If-Match`).
    pub if_match: Option<i64>,
    /// The search-index entries of `resource`, written with it and replacing the previous
    /// version's.
    pub index: Vec<IndexEntry<'static>>,
}

impl WriteOp {
    pub fn create(
        resource_type: ResourceType,
        id: Id,
        resource: Value,
        patient: Option<String>,
    ) -> Self {
        WriteOp {
            kind: WriteKind::Create,
            resource_type,
            id,
            resource: Some(resource),
            patient,
            if_match: None,
            index: Vec::new(),
        }
    }

    pub fn update(
        resource_type: ResourceType,
        id: Id,
        resource: Value,
        patient: Option<String>,
    ) -> Self {
        WriteOp {
            kind: WriteKind::Update,
            resource: Some(resource),
            patient,
            ..WriteOp::delete(resource_type, id)
        }
    }

    pub fn delete(resource_type: ResourceType, id: Id) -> Self {
        WriteOp {
            kind: WriteKind::Delete,
            resource_type,
            id,
            resource: None,
            patient: None,
            if_match: None,
            index: Vec::new(),
        }
    }

    pub fn with_index(mut self, index: Vec<IndexEntry<'static>>) -> Self {
        self.index = index;
        self
    }

    pub fn if_match(mut self, version: Option<i64>) -> Self {
        self.if_match = version;
        self
    }
}

/// What one operation did.
#[derive(Clone, Debug)]
pub struct WriteOutcome {
    /// The version written; `None` when a delete found nothing to delete.
    pub stored: Option<StoredResource>,
    /// True when the write brought a resource into existence (create, update-as-create, or an
    /// update of a deleted resource).
    pub created: bool,
}

/// The current row of a resource, as a backend reads it inside the write transaction.
#[derive(Clone, Copy, Debug)]
pub(super) struct Current {
    pub version: i64,
    pub deleted: bool,
}

/// The version a backend must insert.
pub(super) struct Planned {
    pub version: i64,
    pub method: &'static str,
    pub body: Option<String>,
    pub patient: Option<String>,
    /// What reads narrowed by code need of the body (see `code_filter::stored_codes`).
    pub codes: Option<String>,
    /// The span of the principal date element (see `date_span`).
    pub span: Option<DateRange>,
    pub last_updated: Instant,
}

/// One planned version as a backend applies it, with its index entries.
pub(super) struct Applied<'a> {
    pub resource_type: ResourceType,
    pub id: &'a Id,
    pub planned: &'a Planned,
    pub index: &'a [IndexEntry<'static>],
    /// The current version is live, so its index rows must go.
    pub replaces_index: bool,
}

/// The two steps of a write, implemented by each backend's transaction. Each works on many
/// resources per statement, so a 50-entry Bundle costs a handful of round trips, not 150.
#[async_trait]
pub(super) trait WriteTx: Send {
    /// The current rows of these resources (and, on PostgreSQL, a lock on them).
    async fn current(
        &mut self,
        keys: &[(ResourceType, &Id)],
    ) -> Result<HashMap<(ResourceType, String), Current>, StoreError>;
    /// Inserts the versions and moves the current pointers to them.
    async fn apply(&mut self, rows: &[Applied<'_>]) -> Result<(), StoreError>;
    /// Rewrites what is derived from these resources' bodies (reindexing).
    async fn replace_index(&mut self, rows: &[Reindexed<'_>]) -> Result<(), StoreError>;
}

/// A current resource as `hearth reindex` rewrites it: its search-index entries, computed by
/// the caller, and its stored body, from which the store derives the rest.
pub struct Reindexed<'a> {
    pub resource_type: ResourceType,
    pub id: Id,
    pub index: Vec<IndexEntry<'static>>,
    pub body: &'a str,
}

/// What a resource's current row keeps of its body for reads narrowed by code.
pub(super) fn stored_codes(resource_type: ResourceType, body: &str) -> Option<String> {
    let element = super::code_element(resource_type.as_str())?;
    super::code_filter::stored_codes(element, body)
}

/// Runs every operation through one transaction; the first failure names its operation.
pub(super) async fn apply_all<T: WriteTx>(
    tx: &mut T,
    ops: &[WriteOp],
    now: Instant,
) -> Result<Vec<WriteOutcome>, StoreError> {
    let mut keys: Vec<(ResourceType, &Id)> =
        ops.iter().map(|op| (op.resource_type, &op.id)).collect();
    let distinct = {
        let mut seen = std::collections::HashSet::with_capacity(keys.len());
        keys.iter().all(|key| seen.insert(*key))
    };
    if !distinct {
        // The same resource twice: each operation must see the one before it, so go one by one.
        let mut outcomes = Vec::with_capacity(ops.len());
        for (index, op) in ops.iter().enumerate() {
            let mut one = apply_batch(tx, std::slice::from_ref(op), &keys[index..=index], now)
                .await
                .map_err(|e| renumber(e, index))?;
            outcomes.append(&mut one);
        }
        return Ok(outcomes);
    }
    keys.sort();
    apply_batch(tx, ops, &keys, now).await
}

fn renumber(error: StoreError, index: usize) -> StoreError {
    match error {
        StoreError::InOperation { source, .. } => StoreError::InOperation { index, source },
        other => other,
    }
}

async fn apply_batch<T: WriteTx>(
    tx: &mut T,
    ops: &[WriteOp],
    keys: &[(ResourceType, &Id)],
    now: Instant,
) -> Result<Vec<WriteOutcome>, StoreError> {
    let current = tx.current(keys).await?;
    let mut planned = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        let row = current.get(&(op.resource_type, op.id.to_string())).copied();
        let plan = plan(op, row, now).map_err(|source| StoreError::InOperation {
            index,
            source: Box::new(source),
        })?;
        planned.push((row, plan));
    }
    let rows: Vec<Applied<'_>> = ops
        .iter()
        .zip(&planned)
        .filter_map(|(op, (row, plan))| {
            plan.as_ref().map(|plan| Applied {
                resource_type: op.resource_type,
                id: &op.id,
                planned: plan,
                index: &op.index,
                replaces_index: row.is_some_and(|c| !c.deleted),
            })
        })
        .collect();
    if !rows.is_empty() {
        tx.apply(&rows).await?;
    }
    Ok(ops
        .iter()
        .zip(planned)
        .map(|(op, (row, plan))| match plan {
            None => WriteOutcome {
                stored: None,
                created: false,
            },
            Some(plan) => WriteOutcome {
                created: op.kind != WriteKind::Delete && row.is_none_or(|c| c.deleted),
                stored: Some(StoredResource {
                    resource_type: op.resource_type,
                    id: op.id.to_string(),
                    version: plan.version,
                    last_updated: plan.last_updated,
                    body: plan.body,
                    method: plan.method.to_owned(),
                }),
            },
        })
        .collect())
}

/// Decides the next version, or `None` when a delete has nothing to delete.
fn plan(
    op: &WriteOp,
    current: Option<Current>,
    now: Instant,
) -> Result<Option<Planned>, StoreError> {
    if let Some(expected) = op.if_match {
        match current {
            None => {
                return Err(StoreError::PreconditionOnMissing {
                    resource_type: op.resource_type,
                    id: op.id.to_string(),
                    expected,
                })
            }
            Some(c) if c.version != expected => {
                return Err(StoreError::VersionConflict {
                    resource_type: op.resource_type,
                    id: op.id.to_string(),
                    expected,
                    actual: c.version,
                })
            }
            Some(_) => {}
        }
    }
    let version = current.map_or(1, |c| c.version + 1);
    let (method, body) = match (op.kind, &op.resource) {
        (WriteKind::Delete, _) | (_, None) => {
            if current.is_none_or(|c| c.deleted) {
                return Ok(None);
            }
            ("DELETE", None)
        }
        (WriteKind::Create, Some(resource)) => {
            if current.is_some() {
                return Err(StoreError::AlreadyExists {
                    resource_type: op.resource_type,
                    id: op.id.to_string(),
                });
            }
            ("POST", Some(stamp(resource, &op.id, version, now)))
        }
        (WriteKind::Update, Some(resource)) => ("PUT", Some(stamp(resource, &op.id, version, now))),
    };
    let codes = body
        .as_deref()
        .and_then(|body| stored_codes(op.resource_type, body));
    let span = body
        .as_ref()
        .and_then(|_| super::date_span::stored_span(op.resource_type.as_str(), &op.index));
    Ok(Some(Planned {
        version,
        method,
        body,
        patient: op.patient.clone(),
        codes,
        span,
        last_updated: now,
    }))
}

/// The body as stored: the server's id, versionId and lastUpdated written into it.
fn stamp(resource: &Value, id: &Id, version: i64, now: Instant) -> String {
    let mut resource = resource.clone();
    if let Value::Object(fields) = &mut resource {
        fields.insert("id".into(), Value::String(id.to_string()));
        let meta = fields
            .entry("meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            meta.insert("versionId".into(), Value::String(version.to_string()));
            meta.insert("lastUpdated".into(), Value::String(format_instant(now)));
        }
        // Keep resourceType first, id second, meta third, as the spec's examples are ordered.
        let mut ordered = Map::with_capacity(fields.len());
        for key in ["resourceType", "id", "meta"] {
            if let Some(value) = fields.remove(key) {
                ordered.insert(key.to_owned(), value);
            }
        }
        ordered.append(fields);
        resource = Value::Object(ordered);
    }
    resource.to_string()
}
