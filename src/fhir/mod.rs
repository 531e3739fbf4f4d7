//! The FHIR model the rest of Hearth speaks: resource types, ids, instants, OperationOutcome,
//! FHIRPath, search parameters, index extraction and the patient compartment.
//! Knows nothing of HTTP or SQL.

pub mod compartment;
pub mod fhirpath;
mod id;
pub mod index;
mod instant;
pub mod outcome;
mod resource_type;
mod resource_types;
pub mod search_params;

pub use id::{Id, IdError};
pub use instant::{format_instant, now as now_instant, parse_date_range, parse_instant, Instant};
pub use outcome::{IssueSeverity, IssueType, OperationOutcome, OutcomeIssue};
pub use resource_type::{truncate_for_message as truncate, ResourceType, UnknownResourceType};
pub use resource_types::RESOURCE_TYPES;
