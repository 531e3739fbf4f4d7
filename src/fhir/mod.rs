//! The FHIR model the rest of Hearth speaks: resource types, ids, instants and OperationOutcome.
//! Knows nothing of HTTP or SQL.

mod id;
mod instant;
pub mod outcome;
mod resource_type;
mod resource_types;

pub use id::{Id, IdError};
pub use instant::{format_instant, now as now_instant, parse_date_range, parse_instant, Instant};
pub use outcome::{IssueSeverity, IssueType, OperationOutcome, OutcomeIssue};
pub use resource_type::{truncate_for_message as truncate, ResourceType, UnknownResourceType};
pub use resource_types::RESOURCE_TYPES;
