//! Conditional create, update and delete: the target is found by search criteria, with the
//! spec's rules for no, one and several matches. Criteria are handled strictly, since an
//! ignored parameter would widen the match and touch the wrong resource.

use serde_json::Value;

use super::{RecordError, Records, SearchRequest};
use crate::fhir::{Id, IssueType, ResourceType};
use crate::store::{CreateUnless, Criteria, StoreError, StoredResource, WriteOp, WriteOutcome};

/// Searches and writes of a conditional update or delete, at most, when concurrent writes on
/// the same criteria keep changing what they match.
const CONDITIONAL_ATTEMPTS: usize = 4;

/// What a conditional create did.
pub enum ConditionalCreate {
    Created(WriteOutcome),
    /// One resource already matched; nothing was written.
    Exists(StoredResource),
}

impl Records {
    /// The current resources matching `criteria` (a query string), at most two: enough to
    /// tell none, one and several apart.
    pub async fn matching(
        &self,
        resource_type: ResourceType,
        criteria: &str,
    ) -> Result<Vec<StoredResource>, RecordError> {
        Ok(self
            .search(resource_type, &criteria_request(criteria)?)
            .await?
            .page
            .entries)
    }

    /// `If-None-Exist`: create unless exactly one resource matches; several is an error.
    pub async fn create_if_none_exist(
        &self,
        resource_type: ResourceType,
        resource: Value,
        criteria: &str,
    ) -> Result<ConditionalCreate, RecordError> {
        let request = criteria_request(criteria)?;
        let query = self.search_query(resource_type, &request).await?;
        let lock_key = crate::store::lock_key(resource_type.as_str(), &request.params);
        let op = self
            .current_checks()
            .await?
            .create(resource_type, resource, Id::generate())?;
        // The search and the create run as one step in the store, so two concurrent requests
        // with the same criteria create one resource between them.
        let done = self
            .store
            .create_unless(
                &Criteria {
                    query,
                    lock_key,
                    expected: Vec::new(),
                },
                op,
            )
            .await;
        if resource_type.as_str() == "SearchParameter" {
            self.checks.invalidate();
        }
        match done? {
            CreateUnless::Created(outcome) => Ok(ConditionalCreate::Created(outcome)),
            CreateUnless::Found(mut found) if found.len() == 1 => {
                Ok(ConditionalCreate::Exists(found.remove(0)))
            }
            CreateUnless::Found(_) => Err(several(resource_type)),
        }
    }

    /// `PUT /[type]?criteria`: create when nothing matches, update the one match, refuse
    /// several. The write goes ahead only if the criteria still find the same match under
    /// their lock, so concurrent identical requests make one resource between them.
    pub async fn conditional_update(
        &self,
        resource_type: ResourceType,
        criteria: &str,
        resource: Value,
        if_match: Option<i64>,
    ) -> Result<WriteOutcome, RecordError> {
        let mut attempts = CONDITIONAL_ATTEMPTS;
        loop {
            let found = self.matching(resource_type, criteria).await?;
            let id = update_target(resource_type, &found, &resource)?;
            let guard = self.guard(resource_type, criteria, &found).await?;
            let mut resource = resource.clone();
            if let Value::Object(fields) = &mut resource {
                fields.insert("id".into(), Value::String(id.to_string()));
            }
            let op = self
                .current_checks()
                .await?
                .update(resource_type, id, resource)?
                .if_match(if_match);
            match self.write_guarded(op, guard).await {
                Err(RecordError::Store(StoreError::ConditionChanged)) if attempts > 1 => {
                    attempts -= 1;
                }
                done => return done,
            }
        }
    }

    /// `DELETE /[type]?criteria`: deletes the one match (none is success with nothing done);
    /// several is refused rather than deleting more than the client may expect.
    pub async fn conditional_delete(
        &self,
        resource_type: ResourceType,
        criteria: &str,
    ) -> Result<Option<WriteOutcome>, RecordError> {
        let mut attempts = CONDITIONAL_ATTEMPTS;
        loop {
            let found = self.matching(resource_type, criteria).await?;
            let id = match found.as_slice() {
                [] => return Ok(None),
                [one] => stored_id(one)?,
                _ => return Err(several(resource_type)),
            };
            let guard = self.guard(resource_type, criteria, &found).await?;
            match self
                .write_guarded(WriteOp::delete(resource_type, id), guard)
                .await
            {
                Err(RecordError::Store(StoreError::ConditionChanged)) if attempts > 1 => {
                    attempts -= 1;
                }
                done => return done.map(Some),
            }
        }
    }
}

impl Records {
    /// What keeps a conditional write honest at write time: its criteria's store query and
    /// lock (the same as a conditional create's), expecting the resources its search found.
    pub(super) async fn guard(
        &self,
        resource_type: ResourceType,
        criteria: &str,
        found: &[StoredResource],
    ) -> Result<Criteria, RecordError> {
        let request = criteria_request(criteria)?;
        Ok(Criteria {
            query: self.search_query(resource_type, &request).await?,
            lock_key: crate::store::lock_key(resource_type.as_str(), &request.params),
            expected: found.iter().map(|f| f.id.clone()).collect(),
        })
    }
}

/// The id a conditional update writes: its one match's, else the body's or a new one.
fn update_target(
    resource_type: ResourceType,
    found: &[StoredResource],
    resource: &Value,
) -> Result<Id, RecordError> {
    let body_id = resource.get("id").and_then(Value::as_str);
    match (found, body_id) {
        ([], Some(id)) => Id::parse(id)
            .map_err(|e| RecordError::invalid(IssueType::Value, e.to_string(), Some("id"))),
        ([], None) => Ok(Id::generate()),
        ([one], Some(id)) if id != one.id => Err(RecordError::invalid(
            IssueType::Invalid,
            "the resource's id differs from the id of the resource the criteria match",
            Some("id"),
        )),
        ([one], _) => stored_id(one),
        _ => Err(several(resource_type)),
    }
}

fn stored_id(stored: &StoredResource) -> Result<Id, RecordError> {
    Id::parse(&stored.id).map_err(|e| RecordError::Store(StoreError::Corrupt(e.to_string())))
}

/// Conditional criteria (a query string) as a strict search for at most two matches: enough
/// to tell none, one and several apart.
fn criteria_request(criteria: &str) -> Result<SearchRequest, RecordError> {
    let mut params: Vec<(String, String)> = url::form_urlencoded::parse(criteria.as_bytes())
        .into_owned()
        .filter(|(key, _)| !key.starts_with('_') || key == "_id" || key == "_lastUpdated")
        .collect();
    if params.is_empty() {
        return Err(RecordError::invalid(
            IssueType::Invalid,
            "a conditional request needs at least one search criterion",
            None,
        ));
    }
    params.push(("_count".into(), "2".into()));
    Ok(SearchRequest {
        params,
        strict: true,
        compartment: None,
        base: None,
    })
}

fn several(resource_type: ResourceType) -> RecordError {
    RecordError::MultipleMatches(format!(
        "the criteria match more than one {resource_type}; make them more selective"
    ))
}
