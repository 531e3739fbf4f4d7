//! Validation of FHIR R4 resources against the official R4 JSON schema.
//!
//! One validator per resource type, each compiled from a schema pruned to the definitions that
//! type reaches (see [`schema`]). Nested resources (`contained`, `Bundle.entry.resource`,
//! `Parameters.parameter.resource`, ...) are validated by their own type's validator, so every
//! problem is reported at its FHIRPath with a message naming what is wrong, never as a generic
//! "not valid under any of oneOf".
//!
//! ```no_run
//! # fn main() -> Result<(), hearth::validate::ValidateError> {
//! let validator = hearth::validate::Validator::load()?;
//! let patient = serde_json::json!({"resourceType": "Patient", "birthDate": "2025-13-45"});
//! if let Err(failure) = validator.validate(&patient) {
//!     println!("{failure}");
//! }
//! # Ok(())
//! # }
//! ```

mod check;
mod files;
mod formats;
mod graph;
mod issue;
mod messages;
mod schema;
#[cfg(test)]
mod tests;

use serde_json::Value;
use std::fmt;

use check::{Roots, Sink};

pub use files::{validate_files, FileError, FileOutcome};
pub use issue::{Issue, IssueType, Severity};

/// At most this many issues are reported per resource (plus one note saying more were cut).
pub const MAX_ISSUES: usize = 100;

/// Deepest JSON nesting accepted, counting objects and arrays. serde_json refuses more than 128
/// when parsing; this also bounds the recursion of validation for values built in code.
pub const MAX_DEPTH: usize = 128;

/// Loading or compiling the shipped schema failed: a build defect, not bad input.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("the shipped FHIR schema is not valid JSON: {0}")]
    SchemaJson(#[source] serde_json::Error),
    #[error("the shipped FHIR schema is not shaped as expected: {0}")]
    SchemaShape(String),
    #[error("the schema for {definition} does not compile: {message}")]
    Compile { definition: String, message: String },
}

/// Why a resource was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidationFailure {
    /// The top-level `resourceType` names no R4 resource type.
    UnknownResourceType(String),
    /// The resource is malformed; at most [`MAX_ISSUES`] problems (plus a truncation note).
    Invalid(Vec<Issue>),
}

impl fmt::Display for ValidationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationFailure::UnknownResourceType(name) => {
                write!(f, "unknown resource type \"{name}\"")
            }
            ValidationFailure::Invalid(issues) => {
                for (i, issue) in issues.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{issue}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ValidationFailure {}

/// Validates resources against the R4 schema. `Send + Sync`: share one in an `Arc`.
///
/// Cost, measured on a release build (one core of a shared 2-core machine): `load` parses the
/// schema in ~50 ms; each type's validator compiles on first use in ~5 ms; all 146 (+
/// Extension) take 0.4-0.7 s and ~150 MiB, which is why compiling is lazy and
/// [`Self::compile_all`] is left to the caller (e.g. a warm-up in `spawn_blocking`). Validating
/// the 2.5 KB example Patient takes ~11 µs, a 1.7 KB Observation ~3 µs; the 5,306 official
/// examples (161 MB) go through at ~165 MB/s. Large Bundles are CPU work: validate them off the
/// async runtime.
pub struct Validator {
    roots: Roots,
}

impl Validator {
    /// Reads the schema built into the binary. Each resource type's validator is compiled on its
    /// first use (milliseconds); call [`Validator::compile_all`] to pay for all of them at start.
    pub fn load() -> Result<Self, ValidateError> {
        Ok(Self {
            roots: Roots::load(schema::SHIPPED_SCHEMA)?,
        })
    }

    /// Compiles every validator now, so no request pays for it and a broken schema fails the
    /// start rather than a request.
    pub fn compile_all(&self) -> Result<(), ValidateError> {
        self.roots.compile_all()
    }

    /// The resource types this validator knows, sorted.
    pub fn resource_types(&self) -> &[String] {
        self.roots.resource_types()
    }

    /// Checks one resource, with every resource and extension nested in it.
    pub fn validate(&self, resource: &Value) -> Result<(), ValidationFailure> {
        let invalid = |code, expression: &str, diagnostics: &str| {
            ValidationFailure::Invalid(vec![Issue::error(
                code,
                expression.to_owned(),
                diagnostics.to_owned(),
            )])
        };
        let Some(object) = resource.as_object() else {
            return Err(invalid(
                IssueType::Structure,
                "Resource",
                "a resource must be a JSON object",
            ));
        };
        let resource_type = match object.get("resourceType") {
            Some(Value::String(name)) => name,
            Some(_) => {
                return Err(invalid(
                    IssueType::Structure,
                    "Resource.resourceType",
                    check::RESOURCE_TYPE_NOT_STRING,
                ))
            }
            None => {
                return Err(invalid(
                    IssueType::Required,
                    "Resource.resourceType",
                    check::RESOURCE_TYPE_MISSING,
                ))
            }
        };
        let Some(root) = self.roots.resource_root(resource_type) else {
            return Err(ValidationFailure::UnknownResourceType(
                resource_type.clone(),
            ));
        };
        if exceeds_depth(resource, MAX_DEPTH) {
            return Err(invalid(
                IssueType::TooCostly,
                resource_type,
                &format!("the resource is nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        let mut path = resource_type.clone();
        if control_character_at(resource, &mut path) {
            return Err(invalid(
                IssueType::Value,
                &path,
                "text must not contain control characters (U+0000 to U+001F other than tab, \
                 carriage return and line feed)",
            ));
        }
        let mut sink = Sink::default();
        self.roots.check(root, resource, &mut path, &mut sink);
        sink.finish()
    }
}

/// FHIR forbids characters below U+0020 except tab, CR and LF in every string (and PostgreSQL
/// cannot store U+0000 in JSONB). On finding one, `path` is left at its location.
fn control_character_at(value: &Value, path: &mut String) -> bool {
    let forbidden = |text: &str| {
        text.chars()
            .any(|c| c < ' ' && !matches!(c, '\t' | '\r' | '\n'))
    };
    match value {
        Value::String(text) => forbidden(text),
        Value::Array(items) => items.iter().enumerate().any(|(index, item)| {
            let length = path.len();
            path.push_str(&format!("[{index}]"));
            let found = control_character_at(item, path);
            if !found {
                path.truncate(length);
            }
            found
        }),
        Value::Object(fields) => fields.iter().any(|(key, item)| {
            if key == "resourceType" {
                return false;
            }
            let length = path.len();
            path.push('.');
            path.push_str(key);
            let found = forbidden(key) || control_character_at(item, path);
            if !found {
                path.truncate(length);
            }
            found
        }),
        _ => false,
    }
}

/// Whether `value` nests objects/arrays deeper than `limit`, without recursing.
fn exceeds_depth(value: &Value, limit: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((value, depth)) = stack.pop() {
        match value {
            Value::Array(_) | Value::Object(_) if depth > limit => return true,
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
    false
}
