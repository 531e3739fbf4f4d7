//! Every failure leaves the server as an OperationOutcome. The status and issue code of each
//! kind of error live in the one table below.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::response::FhirResponse;
use crate::fhir::{IssueType, OperationOutcome, OutcomeIssue};
use crate::measure::service::ServiceError;
use crate::record::RecordError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("the request body is larger than the server's limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Measure(#[from] ServiceError),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::Record(RecordError::Store(error))
    }
}

impl ApiError {
    /// The HTTP status and the OperationOutcome issues that tell the client what went wrong.
    pub fn status_and_issues(&self) -> (StatusCode, Vec<OutcomeIssue>) {
        let issue = |code: IssueType| vec![OutcomeIssue::error(code, self.to_string())];
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, issue(IssueType::Invalid)),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, issue(IssueType::NotFound)),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                issue(IssueType::NotSupported),
            ),
            ApiError::NotAcceptable(_) => {
                (StatusCode::NOT_ACCEPTABLE, issue(IssueType::NotSupported))
            }
            ApiError::PreconditionFailed(_) => {
                (StatusCode::PRECONDITION_FAILED, issue(IssueType::Conflict))
            }
            ApiError::PayloadTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, issue(IssueType::TooLong))
            }
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                issue(IssueType::NotSupported),
            ),
            ApiError::Record(error) => record_status(error),
            ApiError::Measure(error) => measure_status(error),
        }
    }
}

fn record_status(error: &RecordError) -> (StatusCode, Vec<OutcomeIssue>) {
    let issue = |code: IssueType| vec![OutcomeIssue::error(code, error.to_string())];
    match error {
        RecordError::Invalid(issues) => (StatusCode::BAD_REQUEST, issues.clone()),
        RecordError::Unprocessable(issues) => (StatusCode::UNPROCESSABLE_ENTITY, issues.clone()),
        RecordError::NotFound(_) => (StatusCode::NOT_FOUND, issue(IssueType::NotFound)),
        RecordError::Gone(_) => (StatusCode::GONE, issue(IssueType::Deleted)),
        RecordError::MultipleMatches(_) => {
            (StatusCode::PRECONDITION_FAILED, issue(IssueType::Duplicate))
        }
        RecordError::NotSupported(_) => {
            (StatusCode::NOT_IMPLEMENTED, issue(IssueType::NotSupported))
        }
        RecordError::Internal(_) => {
            tracing::error!(error = %error, "internal failure");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                issue(IssueType::Exception),
            )
        }
        RecordError::InEntry { index, source } => {
            let (status, issues) = record_status(source);
            let located = issues
                .into_iter()
                .map(|mut issue| {
                    issue.diagnostics = format!("Bundle.entry[{index}]: {}", issue.diagnostics);
                    issue.expression = if issue.expression.is_empty() {
                        vec![format!("Bundle.entry[{index}]")]
                    } else {
                        issue
                            .expression
                            .iter()
                            .map(|at| format!("Bundle.entry[{index}].{at}"))
                            .collect()
                    };
                    issue
                })
                .collect();
            (status, located)
        }
        RecordError::Store(store) => store_status(store),
    }
}

fn measure_status(error: &ServiceError) -> (StatusCode, Vec<OutcomeIssue>) {
    let issue = |code: IssueType| vec![OutcomeIssue::error(code, error.to_string())];
    match error {
        ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, issue(IssueType::NotFound)),
        ServiceError::BadRequest(_) => (StatusCode::BAD_REQUEST, issue(IssueType::Invalid)),
        // The measure's content cannot be run (unsupported ELM, broken library): the request
        // was fine, the stored content is not.
        ServiceError::Measure(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            issue(IssueType::Processing),
        ),
        ServiceError::Store(store) => store_status(store),
        ServiceError::Interrupted => (
            StatusCode::INTERNAL_SERVER_ERROR,
            issue(IssueType::Exception),
        ),
    }
}

fn store_status(error: &StoreError) -> (StatusCode, Vec<OutcomeIssue>) {
    let issue = |code: IssueType| vec![OutcomeIssue::error(code, error.to_string())];
    match error {
        StoreError::VersionConflict { .. } | StoreError::PreconditionOnMissing { .. } => {
            (StatusCode::PRECONDITION_FAILED, issue(IssueType::Conflict))
        }
        StoreError::AlreadyExists { .. } => (StatusCode::CONFLICT, issue(IssueType::Duplicate)),
        StoreError::ConditionChanged => (StatusCode::CONFLICT, issue(IssueType::Conflict)),
        StoreError::InOperation { source, .. } => store_status(source),
        StoreError::Busy | StoreError::Closed | StoreError::Database(sqlx::Error::PoolTimedOut) => {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                vec![OutcomeIssue::error(
                    IssueType::Timeout,
                    "the database is busy; try again shortly",
                )],
            )
        }
        StoreError::Corrupt(_)
        | StoreError::Commit(_)
        | StoreError::Database(_)
        | StoreError::Migrate(_) => {
            // The detail goes to the log (it names no resource content); the client gets no internals.
            tracing::error!(error = %error, "storage failure");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                vec![OutcomeIssue::error(
                    IssueType::Exception,
                    "the server could not complete the request because of a storage failure",
                )],
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, issues) = self.status_and_issues();
        FhirResponse::new(status, OperationOutcome::new(issues).to_json()).into_response()
    }
}
