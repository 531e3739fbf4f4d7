//! Turning a submitted resource into a write: shape checks, validation, compartment placement.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use super::RecordError;
use crate::fhir::compartment::{CompartmentError, PatientCompartment};
use crate::fhir::index::{self, IndexEntry, IndexValue};
use crate::fhir::search_params::{SearchParamError, SearchParamRegistry};
use crate::fhir::{Id, IssueSeverity, IssueType, OutcomeIssue, ResourceType};
use crate::store::WriteOp;
use crate::validate::{self, ValidationFailure, Validator};

/// The checks every incoming resource passes before it is stored.
pub struct Checks {
    validator: Arc<Validator>,
    compartment: PatientCompartment,
    pub(super) registry: Arc<SearchParamRegistry>,
    /// The server's base URL as configured: absolute references to it are local ones.
    base_url: Option<String>,
}

impl Checks {
    /// Loads the R4 definitions the checks need (search parameters, the Patient compartment).
    pub fn r4(validator: Arc<Validator>) -> Result<Self, CompartmentError> {
        let registry = SearchParamRegistry::r4()?;
        Ok(Checks {
            validator,
            compartment: PatientCompartment::r4(&registry)?,
            registry: Arc::new(registry),
            base_url: None,
        })
    }

    /// Absolute references to `base` are indexed as the local references they are; others
    /// keep only their URL, so `subject=Patient/1` never matches another server's Patient 1.
    pub fn with_base_url(mut self, base: Option<&str>) -> Self {
        self.base_url = base.map(|b| b.trim_end_matches('/').to_owned());
        self
    }

    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    /// The R4 checks again, with the same validator and base, before custom parameters.
    pub(super) fn rebuilt(&self) -> Result<Checks, CompartmentError> {
        Ok(Checks::r4(self.validator.clone())?.with_base_url(self.base_url.as_deref()))
    }

    /// The search parameters resources are indexed by and searched with.
    pub fn registry(&self) -> &Arc<SearchParamRegistry> {
        &self.registry
    }

    /// The search-index entries of a resource. `_id` and `_lastUpdated` are columns of the
    /// resource table, so they get no rows; token text is normalized for `:text`.
    pub fn index_of(&self, resource: &Value) -> Vec<IndexEntry<'static>> {
        let mut entries = self.own_index(resource);
        entries.extend(self.embedded_index(resource));
        entries
    }

    /// A document's Composition or a message's MessageHeader (the first entry of a Bundle)
    /// indexed on the Bundle as `composition.[code]` / `message.[code]`, for
    /// `Bundle?composition.subject=…`.
    fn embedded_index(&self, resource: &Value) -> Vec<IndexEntry<'static>> {
        if resource.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return Vec::new();
        }
        let Some(first) = resource.pointer("/entry/0/resource") else {
            return Vec::new();
        };
        let prefix = match first.get("resourceType").and_then(Value::as_str) {
            Some("Composition") => "composition",
            Some("MessageHeader") => "message",
            _ => return Vec::new(),
        };
        self.own_index(first)
            .into_iter()
            .map(|mut entry| {
                entry.code = Cow::Owned(format!("{prefix}.{}", entry.code));
                entry
            })
            .collect()
    }

    fn own_index(&self, resource: &Value) -> Vec<IndexEntry<'static>> {
        let Ok(index) = index::extract(&self.registry, resource) else {
            return Vec::new();
        };
        index
            .entries
            .into_iter()
            .filter(|entry| !matches!(entry.code.as_ref(), "_id" | "_lastUpdated"))
            .map(|entry| {
                let mut entry = entry.into_owned();
                match &mut entry.value {
                    IndexValue::Token(token) => {
                        if let Some(text) = &token.text {
                            token.text = Some(Cow::Owned(index::normalize(text).into_owned()));
                        }
                    }
                    IndexValue::Reference(reference) => {
                        let foreign = match (&reference.base, &self.base_url) {
                            (Some(base), Some(ours)) => base.trim_end_matches('/') != ours,
                            _ => false,
                        };
                        if foreign {
                            reference.resource_type = None;
                            reference.id = None;
                        }
                    }
                    _ => {}
                }
                entry
            })
            .collect()
    }

    pub(super) fn create(
        &self,
        resource_type: ResourceType,
        resource: Value,
        id: Id,
    ) -> Result<WriteOp, RecordError> {
        self.check(Some(resource_type), &resource)?;
        let patient = self.patient_of(resource_type, &id, &resource);
        let index = self.index_of(&resource);
        Ok(WriteOp::create(resource_type, id, resource, patient).with_index(index))
    }

    pub(super) fn update(
        &self,
        resource_type: ResourceType,
        id: Id,
        resource: Value,
    ) -> Result<WriteOp, RecordError> {
        self.check(Some(resource_type), &resource)?;
        match resource.get("id").and_then(Value::as_str) {
            Some(body_id) if body_id == id.as_str() => {}
            Some(_) => {
                return Err(RecordError::invalid(
                    IssueType::Invalid,
                    format!("the resource's id does not match the id in the URL ({id})"),
                    Some(&format!("{resource_type}.id")),
                ))
            }
            None => {
                return Err(RecordError::invalid(
                    IssueType::Required,
                    format!("an update must carry the resource's id ({id}) in the body"),
                    Some(&format!("{resource_type}.id")),
                ))
            }
        }
        let patient = self.patient_of(resource_type, &id, &resource);
        let index = self.index_of(&resource);
        Ok(WriteOp::update(resource_type, id, resource, patient).with_index(index))
    }

    /// Checks a resource as submitted; `expected` is the type the URL names, if any.
    pub fn check(
        &self,
        expected: Option<ResourceType>,
        resource: &Value,
    ) -> Result<ResourceType, RecordError> {
        let resource_type = resource_type_of(resource)?;
        if let Some(expected) = expected {
            if expected != resource_type {
                return Err(RecordError::invalid(
                    IssueType::Invalid,
                    format!("the body is a {resource_type} but the URL names {expected}"),
                    Some("resourceType"),
                ));
            }
        }
        if let Some(id) = resource.get("id") {
            let valid = id.as_str().is_some_and(|text| Id::parse(text).is_ok());
            if !valid {
                return Err(RecordError::invalid(
                    IssueType::Value,
                    "id must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'",
                    Some(&format!("{resource_type}.id")),
                ));
            }
        }
        self.validator
            .validate(resource)
            .map_err(|failure| match failure {
                ValidationFailure::UnknownResourceType(name) => RecordError::invalid(
                    IssueType::Value,
                    format!(
                        "'{}' is not a FHIR R4 resource type",
                        crate::fhir::truncate(&name)
                    ),
                    Some("resourceType"),
                ),
                ValidationFailure::Invalid(issues) => {
                    RecordError::Invalid(issues.iter().map(outcome_issue).collect())
                }
            })?;
        if resource_type.as_str() == "SearchParameter" {
            self.check_search_parameter(resource)?;
        }
        Ok(resource_type)
    }

    /// An active SearchParameter is put to use as soon as it is stored: one that could not
    /// be (its expression does not parse, its type or base is unusable) is refused rather
    /// than stored and then skipped without a word.
    fn check_search_parameter(&self, resource: &Value) -> Result<(), RecordError> {
        if resource.get("status").and_then(Value::as_str) != Some("active") {
            return Ok(());
        }
        self.registry.check(resource).map_err(|error| {
            let field = match &error {
                SearchParamError::Expression { .. } => "expression",
                SearchParamError::Invalid { field, .. } => field,
                _ => "base",
            };
            RecordError::Unprocessable(vec![OutcomeIssue::error(
                IssueType::Invalid,
                error.to_string(),
            )
            .at(format!("SearchParameter.{field}"))])
        })
    }

    /// The Patient whose compartment the resource joins; a Patient is its own.
    fn patient_of(&self, resource_type: ResourceType, id: &Id, resource: &Value) -> Option<String> {
        if resource_type.as_str() == "Patient" {
            return Some(id.to_string());
        }
        self.compartment.patient_id(resource).map(str::to_owned)
    }
}

/// A schema finding as an OperationOutcome issue.
fn outcome_issue(issue: &validate::Issue) -> OutcomeIssue {
    let code = match issue.code {
        validate::IssueType::Structure => IssueType::Structure,
        validate::IssueType::Required => IssueType::Required,
        validate::IssueType::Value => IssueType::Value,
        validate::IssueType::CodeInvalid => IssueType::CodeInvalid,
        validate::IssueType::TooLong => IssueType::TooLong,
        validate::IssueType::TooCostly => IssueType::TooCostly,
        validate::IssueType::NotSupported => IssueType::NotSupported,
        validate::IssueType::Invariant => IssueType::Invariant,
    };
    let severity = match issue.severity {
        validate::Severity::Fatal => IssueSeverity::Fatal,
        validate::Severity::Error => IssueSeverity::Error,
        validate::Severity::Warning => IssueSeverity::Warning,
        validate::Severity::Information => IssueSeverity::Information,
    };
    OutcomeIssue {
        severity,
        code,
        diagnostics: issue.diagnostics.clone(),
        expression: if issue.expression.is_empty() {
            Vec::new()
        } else {
            vec![issue.expression.clone()]
        },
    }
}

/// The resource's declared type, or a precise complaint about it.
pub(crate) fn resource_type_of(resource: &Value) -> Result<ResourceType, RecordError> {
    let Some(fields) = resource.as_object() else {
        return Err(RecordError::invalid(
            IssueType::Structure,
            "a resource must be a JSON object",
            None,
        ));
    };
    match fields.get("resourceType") {
        None => Err(RecordError::invalid(
            IssueType::Required,
            "the resource has no resourceType",
            Some("resourceType"),
        )),
        Some(Value::String(name)) => name.parse().map_err(|e: crate::fhir::UnknownResourceType| {
            RecordError::invalid(IssueType::Value, e.to_string(), Some("resourceType"))
        }),
        Some(_) => Err(RecordError::invalid(
            IssueType::Structure,
            "resourceType must be a string",
            Some("resourceType"),
        )),
    }
}
