//! Validation issues, shaped like OperationOutcome.issue so the API can render them directly.

use std::fmt;

/// OperationOutcome.issue.severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

impl Severity {
    /// The FHIR code (`http://hl7.org/fhir/issue-severity`).
    pub fn code(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// OperationOutcome.issue.code: the subset of `http://hl7.org/fhir/issue-type` validation emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueType {
    /// Wrong JSON type, unknown element, not an object.
    Structure,
    /// A required element is missing.
    Required,
    /// A primitive value does not have the right format.
    Value,
    /// A code is not one of the allowed values.
    CodeInvalid,
    /// A value exceeds a size limit.
    TooLong,
    /// Validation stopped early (too many issues, nesting too deep).
    TooCostly,
    /// A nested resource has a `resourceType` this server does not know.
    NotSupported,
    /// A constraint on the value not covered by the codes above.
    Invariant,
}

impl IssueType {
    /// The FHIR code (`http://hl7.org/fhir/issue-type`).
    pub fn code(self) -> &'static str {
        match self {
            IssueType::Structure => "structure",
            IssueType::Required => "required",
            IssueType::Value => "value",
            IssueType::CodeInvalid => "code-invalid",
            IssueType::TooLong => "too-long",
            IssueType::TooCostly => "too-costly",
            IssueType::NotSupported => "not-supported",
            IssueType::Invariant => "invariant",
        }
    }
}

/// One problem found in a resource.
///
/// `diagnostics` may quote (a truncated piece of) the submitted value: return it to the client
/// that sent it, but do not log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub severity: Severity,
    pub code: IssueType,
    /// FHIRPath-style location, e.g. `Bundle.entry[2].resource.name[0].given[1]`.
    pub expression: String,
    /// What is wrong, phrased so a person can fix it.
    pub diagnostics: String,
}

impl Issue {
    pub(crate) fn error(code: IssueType, expression: String, diagnostics: String) -> Self {
        Self {
            severity: Severity::Error,
            code,
            expression,
            diagnostics,
        }
    }
}

impl Issue {
    /// The issue as an `OperationOutcome.issue` element.
    pub fn to_fhir_json(&self) -> serde_json::Value {
        let mut issue = serde_json::json!({
            "severity": self.severity.code(),
            "code": self.code.code(),
            "diagnostics": self.diagnostics,
        });
        if !self.expression.is_empty() {
            issue["expression"] = serde_json::json!([self.expression]);
        }
        issue
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.severity.code(),
            self.code.code(),
            self.expression,
            self.diagnostics
        )
    }
}
