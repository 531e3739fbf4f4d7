//! Turning JSON-schema errors into issues a person can act on: a FHIRPath location and a message
//! naming the element, its FHIR type and what was found instead.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, ValidationError};
use serde_json::Value;

use super::formats::primitive_of_format;
use super::graph::{ElementType, TypeGraph};
use super::issue::{Issue, IssueType};
use super::schema::primitive_for_pattern;

/// How much of a submitted string a message quotes.
const QUOTE_CHARS: usize = 40;
/// How many allowed codes an enum message lists.
const LISTED_CODES: usize = 12;

/// The resource an error was found in, and where that resource sits in the submitted document.
pub(crate) struct Scope<'a> {
    pub(crate) graph: &'a TypeGraph,
    pub(crate) resource: &'a Value,
    pub(crate) resource_type: ElementType,
    /// FHIRPath of the resource itself: `Patient`, or `Bundle.entry[2].resource` when nested.
    pub(crate) prefix: &'a str,
}

/// Where an error points: its FHIRPath, the element's FHIR type and its name.
struct Place {
    expression: String,
    element: Option<ElementType>,
    name: String,
}

impl Scope<'_> {
    /// Appends the issues one schema error stands for (one per unknown element, else one).
    pub(crate) fn issues(&self, error: &ValidationError<'_>, out: &mut Vec<Issue>) {
        let place = self.locate(error.instance_path.as_str());
        let found = error.instance.as_ref();
        let element = place.element;
        let type_name = element.map(|ty| self.graph.type_name(ty));
        let name = &place.name;
        let (code, diagnostics) = match &error.kind {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for prop in unexpected {
                    out.push(Issue::error(
                        IssueType::Structure,
                        format!("{}.{prop}", place.expression),
                        self.unknown_element(element, prop),
                    ));
                }
                return;
            }
            ValidationErrorKind::Required { property } => {
                let prop = property.as_str().unwrap_or_default();
                out.push(Issue::error(
                    IssueType::Required,
                    format!("{}.{prop}", place.expression),
                    format!("missing required element \"{prop}\""),
                ));
                return;
            }
            ValidationErrorKind::Type { kind } => (
                IssueType::Structure,
                format!(
                    "\"{name}\" must be {}, not {}",
                    self.expected(kind, element),
                    describe(found)
                ),
            ),
            ValidationErrorKind::Pattern { pattern } => {
                let primitive = type_name
                    .filter(|t| t.starts_with(char::is_lowercase))
                    .or_else(|| primitive_for_pattern(pattern))
                    .unwrap_or("value");
                (
                    IssueType::Value,
                    format!(
                        "{} is not a valid {primitive}{}",
                        describe_short(found),
                        format_hint(primitive)
                    ),
                )
            }
            ValidationErrorKind::Format { format } => {
                let primitive = type_name
                    .filter(|t| t.starts_with(char::is_lowercase))
                    .or_else(|| primitive_of_format(format))
                    .unwrap_or("value");
                (
                    IssueType::Value,
                    format!(
                        "{} is not a valid {primitive}{}",
                        describe_short(found),
                        format_hint(primitive)
                    ),
                )
            }
            ValidationErrorKind::Enum { options } => (
                IssueType::CodeInvalid,
                format!(
                    "{} is not a valid code for \"{name}\"; allowed: {}",
                    describe_short(found),
                    list_codes(options)
                ),
            ),
            ValidationErrorKind::Constant { expected_value } => (
                IssueType::Value,
                format!("\"{name}\" must be {expected_value}"),
            ),
            ValidationErrorKind::Minimum { limit } => {
                let what = match type_name {
                    Some("positiveInt") => "a positive integer (1 or more)".to_owned(),
                    Some("unsignedInt") => "an unsigned integer (0 or more)".to_owned(),
                    _ => format!("at least {limit}"),
                };
                (
                    IssueType::Value,
                    format!("\"{name}\" must be {what}, not {}", describe(found)),
                )
            }
            ValidationErrorKind::MinItems { .. } => (
                IssueType::Invariant,
                format!("\"{name}\" must not be an empty array; leave the element out instead"),
            ),
            ValidationErrorKind::MinProperties { .. } => (
                IssueType::Invariant,
                format!("\"{name}\" must not be an empty object; leave the element out instead"),
            ),
            ValidationErrorKind::MaxLength { limit } => (
                IssueType::TooLong,
                format!("\"{name}\" is longer than FHIR's limit of {limit} characters"),
            ),
            // Not produced by the R4 schema as pruned here; keep jsonschema's own wording,
            // with the value masked since it may be huge.
            _ => (IssueType::Invariant, error.masked().to_string()),
        };
        out.push(Issue::error(code, place.expression, diagnostics));
    }

    /// Follows a JSON pointer through the resource, building the FHIRPath and the FHIR type.
    fn locate(&self, pointer: &str) -> Place {
        let mut expression = self.prefix.to_owned();
        let mut value = Some(self.resource);
        let mut element = Some(self.resource_type);
        let mut name = self.graph.type_name(self.resource_type).to_owned();
        for raw in pointer.split('/').skip(1) {
            let segment = unescape(raw);
            match value {
                Some(Value::Array(items)) => {
                    expression.push('[');
                    expression.push_str(&segment);
                    expression.push(']');
                    value = segment.parse::<usize>().ok().and_then(|i| items.get(i));
                }
                _ => {
                    expression.push('.');
                    expression.push_str(&segment);
                    value = value.and_then(|v| v.get(segment.as_ref()));
                    element = element.and_then(|ty| self.graph.property(ty, &segment));
                    name = segment.into_owned();
                }
            }
        }
        Place {
            expression,
            element,
            name,
        }
    }

    fn expected(&self, kind: &TypeKind, element: Option<ElementType>) -> String {
        let fhir = element.map_or("", |ty| self.graph.type_name(ty));
        let json_type = match kind {
            TypeKind::Single(t) => *t,
            // A type list is `[T, "null"]` (array items): name T.
            TypeKind::Multiple(set) => match set.iter().find(|t| *t != JsonType::Null) {
                Some(t) => t,
                None => return "of another type".to_owned(),
            },
        };
        let primitive = fhir.starts_with(char::is_lowercase);
        match json_type {
            JsonType::Array if fhir.is_empty() => "an array".to_owned(),
            JsonType::Array => format!("an array of {fhir}"),
            JsonType::Object if fhir == "Resource" => "a resource (a JSON object)".to_owned(),
            JsonType::Object if !fhir.is_empty() && !primitive => {
                format!("an object ({fhir})")
            }
            JsonType::Object => "an object".to_owned(),
            JsonType::Boolean => "a boolean (true or false)".to_owned(),
            JsonType::String if primitive && fhir != "string" => format!("a string ({fhir})"),
            JsonType::String => "a string".to_owned(),
            JsonType::Integer if primitive => format!("an integer ({fhir})"),
            JsonType::Integer => "an integer".to_owned(),
            JsonType::Number if primitive => format!("a number ({fhir})"),
            JsonType::Number => "a number".to_owned(),
            JsonType::Null => "null".to_owned(),
        }
    }

    fn unknown_element(&self, parent: Option<ElementType>, prop: &str) -> String {
        let Some(parent) = parent else {
            return format!("unknown element \"{prop}\"");
        };
        let type_name = self.graph.type_name(parent);
        let close = self
            .graph
            .property_names(parent)
            .find(|known| known.eq_ignore_ascii_case(prop));
        match close {
            Some(known) => {
                format!("unknown element \"{prop}\" in {type_name} (did you mean \"{known}\"?)")
            }
            None => format!("unknown element \"{prop}\" in {type_name}"),
        }
    }
}

fn unescape(segment: &str) -> std::borrow::Cow<'_, str> {
    if segment.contains('~') {
        segment.replace("~1", "/").replace("~0", "~").into()
    } else {
        segment.into()
    }
}

/// What was found, in words: `the string "yes"`, `the number 1.5`, `an object`.
fn describe(value: &Value) -> String {
    match value {
        Value::String(_) => format!("the string {}", describe_short(value)),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A value as it would appear in JSON, strings cut to [`QUOTE_CHARS`] characters.
fn describe_short(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() > QUOTE_CHARS => {
            let head: String = s.chars().take(QUOTE_CHARS).collect();
            let quoted = Value::String(head).to_string();
            let open = quoted.strip_suffix('"').unwrap_or(&quoted);
            format!("{open}…\" ({} characters)", s.chars().count())
        }
        Value::Array(_) | Value::Object(_) => describe(value),
        other => other.to_string(),
    }
}

fn list_codes(options: &Value) -> String {
    let codes: Vec<String> = options
        .as_array()
        .map(|codes| {
            codes
                .iter()
                .take(LISTED_CODES)
                .map(Value::to_string)
                .collect()
        })
        .unwrap_or_default();
    let total = options.as_array().map_or(0, Vec::len);
    if total > codes.len() {
        format!("{}, … ({total} codes)", codes.join(", "))
    } else {
        codes.join(", ")
    }
}

/// The expected format of a primitive, so the message says how to fix the value.
fn format_hint(primitive: &str) -> &'static str {
    match primitive {
        "date" => " (expected YYYY, YYYY-MM or YYYY-MM-DD with a real month and day)",
        "dateTime" => {
            " (expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone, \
             e.g. 2024-05-01T09:30:00Z)"
        }
        "instant" => {
            " (expected YYYY-MM-DDThh:mm:ss[.sss] with a time zone, e.g. 2024-05-01T09:30:00Z)"
        }
        "time" => " (expected hh:mm:ss)",
        "id" => " (1 to 64 characters: letters, digits, '-' and '.')",
        "code" => " (no leading, trailing or repeated whitespace)",
        "string" | "markdown" => " (must not be empty)",
        "uri" | "url" | "canonical" => " (must not contain whitespace)",
        "oid" => " (expected urn:oid: followed by dotted digits)",
        "uuid" => " (expected urn:uuid: followed by a lowercase UUID)",
        "base64Binary" => " (expected base64)",
        _ => "",
    }
}
