//! OperationOutcome: how every error, and some successes, are told to a client.

use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueSeverity {
    Fatal,
    Error,
    Warning,
    Information,
}

/// The FHIR `issue-type` codes Hearth reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueType {
    Invalid,
    Structure,
    Required,
    Value,
    CodeInvalid,
    TooCostly,
    Invariant,
    Security,
    Forbidden,
    NotSupported,
    NotFound,
    Deleted,
    Duplicate,
    Conflict,
    TooLong,
    BusinessRule,
    Exception,
    Timeout,
    Informational,
    Processing,
    Incomplete,
}

impl IssueSeverity {
    pub fn code(self) -> &'static str {
        match self {
            IssueSeverity::Fatal => "fatal",
            IssueSeverity::Error => "error",
            IssueSeverity::Warning => "warning",
            IssueSeverity::Information => "information",
        }
    }
}

impl IssueType {
    pub fn code(self) -> &'static str {
        match self {
            IssueType::Invalid => "invalid",
            IssueType::Structure => "structure",
            IssueType::Required => "required",
            IssueType::Value => "value",
            IssueType::CodeInvalid => "code-invalid",
            IssueType::TooCostly => "too-costly",
            IssueType::Invariant => "invariant",
            IssueType::Security => "security",
            IssueType::Forbidden => "forbidden",
            IssueType::NotSupported => "not-supported",
            IssueType::NotFound => "not-found",
            IssueType::Deleted => "deleted",
            IssueType::Duplicate => "duplicate",
            IssueType::Conflict => "conflict",
            IssueType::TooLong => "too-long",
            IssueType::BusinessRule => "business-rule",
            IssueType::Exception => "exception",
            IssueType::Timeout => "timeout",
            IssueType::Informational => "informational",
            IssueType::Processing => "processing",
            IssueType::Incomplete => "incomplete",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeIssue {
    pub severity: IssueSeverity,
    pub code: IssueType,
    pub diagnostics: String,
    /// FHIRPath locations of the problem, e.g. `Patient.birthDate`.
    pub expression: Vec<String>,
}

impl OutcomeIssue {
    pub fn error(code: IssueType, diagnostics: impl Into<String>) -> Self {
        OutcomeIssue {
            severity: IssueSeverity::Error,
            code,
            diagnostics: diagnostics.into(),
            expression: Vec::new(),
        }
    }

    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression.push(expression.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut issue = json!({
            "severity": self.severity.code(),
            "code": self.code.code(),
            "diagnostics": self.diagnostics,
        });
        if !self.expression.is_empty() {
            issue["expression"] = json!(self.expression);
        }
        issue
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OperationOutcome {
    pub issues: Vec<OutcomeIssue>,
}

impl OperationOutcome {
    pub fn new(issues: Vec<OutcomeIssue>) -> Self {
        OperationOutcome { issues }
    }

    pub fn single(issue: OutcomeIssue) -> Self {
        OperationOutcome {
            issues: vec![issue],
        }
    }

    pub fn information(diagnostics: impl Into<String>) -> Self {
        OperationOutcome::single(OutcomeIssue {
            severity: IssueSeverity::Information,
            code: IssueType::Informational,
            diagnostics: diagnostics.into(),
            expression: Vec::new(),
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "resourceType": "OperationOutcome",
            "issue": self.issues.iter().map(OutcomeIssue::to_json).collect::<Vec<_>>(),
        })
    }
}
