use crate::fhir::{IssueType, OutcomeIssue};
use crate::store::StoreError;

/// Why the care record refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The request's content is wrong: each issue says where and why.
    #[error("invalid resource: {}", summary(.0))]
    Invalid(Vec<OutcomeIssue>),
    /// Well-formed, but breaks a rule of the server or the spec.
    #[error("{}", summary(.0))]
    Unprocessable(Vec<OutcomeIssue>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    NotSupported(String),
    /// Conditional criteria matched several resources where at most one may.
    #[error("{0}")]
    MultipleMatches(String),
    /// A Bundle entry failed; `index` is its position in `Bundle.entry`.
    #[error("Bundle.entry[{index}]: {source}")]
    InEntry {
        index: usize,
        #[source]
        source: Box<RecordError>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A failure of the server itself, not of the request.
    #[error("{0}")]
    Internal(String),
}

impl RecordError {
    pub fn invalid(code: IssueType, message: impl Into<String>, location: Option<&str>) -> Self {
        let issue = OutcomeIssue::error(code, message);
        RecordError::Invalid(vec![match location {
            Some(at) => issue.at(at),
            None => issue,
        }])
    }

    pub fn in_entry(self, index: usize) -> Self {
        RecordError::InEntry {
            index,
            source: Box::new(self),
        }
    }
}

fn summary(issues: &[OutcomeIssue]) -> String {
    issues
        .iter()
        .map(|issue| issue.diagnostics.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}
