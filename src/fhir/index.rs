//! Search-index extraction: for each search parameter of a resource's type, evaluate its
//! expression and turn the results into typed index values (token, string, date range,
//! reference, quantity, number, uri, composite). The storage layer writes these into its typed
//! index tables; nothing here knows SQL.
//!
//! ```no_run
//! use hearth::fhir::index::{extract, IndexValue};
//! use hearth::fhir::search_params::SearchParamRegistry;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = SearchParamRegistry::r4()?; // once, at start; share it behind an Arc
//! let resource: serde_json::Value = serde_json::from_str(r#"{"resourceType": "Patient"}"#)?;
//! let index = extract(&registry, &resource)?;
//! for entry in &index.entries {
//!     match &entry.value {
//!         IndexValue::Token(t) => { /* (code, system, value, text) row */ }
//!         IndexValue::Date(range) => { /* (code, range.low, range.high) in UTC epoch ms */ }
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod text;
pub mod ucum;
mod values;

use std::borrow::Cow;

use serde_json::Value;
use thiserror::Error;

use super::fhirpath::{Engine, EvalError, ModelError};
use super::search_params::{ParamType, SearchParamRegistry};

pub use super::fhirpath::{DateRange, DATE_MAX, DATE_MIN};
pub use text::normalize;
pub use ucum::Canonical;

/// At most this many tuples per composite value, so a resource with many codings and many
/// values cannot multiply into an unbounded number of rows.
const MAX_COMPOSITE_TUPLES: usize = 64;

/// Values of one parameter are de-duplicated while there are at most this many.
const DEDUPE_MAX: usize = 32;

#[derive(Debug, Error)]
pub enum IndexError {
    #[error("the resource has no resourceType")]
    MissingResourceType,
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// One index row: the parameter code and one value.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry<'a> {
    pub code: Cow<'a, str>,
    pub value: IndexValue<'a>,
}

impl IndexEntry<'_> {
    /// A copy that owns its text, e.g. to hand the entries to another task.
    pub fn into_owned(self) -> IndexEntry<'static> {
        IndexEntry {
            code: owned(self.code),
            value: self.value.into_owned(),
        }
    }
}

fn owned(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

fn owned_opt(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    c.map(owned)
}

impl IndexValue<'_> {
    /// A copy that owns its text.
    pub fn into_owned(self) -> IndexValue<'static> {
        match self {
            IndexValue::Token(t) => IndexValue::Token(t.into_owned()),
            IndexValue::String(s) => IndexValue::String(StringValue {
                normalized: owned(s.normalized),
                exact: owned(s.exact),
            }),
            IndexValue::Date(d) => IndexValue::Date(d),
            IndexValue::Reference(r) => IndexValue::Reference(ReferenceValue {
                resource_type: owned_opt(r.resource_type),
                id: owned_opt(r.id),
                version: owned_opt(r.version),
                base: owned_opt(r.base),
                url: owned_opt(r.url),
                identifier: r.identifier.map(Token::into_owned),
            }),
            IndexValue::Quantity(q) => IndexValue::Quantity(QuantityValue {
                value: q.value,
                system: owned_opt(q.system),
                code: owned_opt(q.code),
                unit: owned_opt(q.unit),
                canonical: q.canonical,
            }),
            IndexValue::Number(n) => IndexValue::Number(n),
            IndexValue::Uri(u) => IndexValue::Uri(owned(u)),
            IndexValue::Composite(parts) => {
                IndexValue::Composite(parts.into_iter().map(IndexValue::into_owned).collect())
            }
        }
    }
}

impl Token<'_> {
    pub fn into_owned(self) -> Token<'static> {
        Token {
            system: owned_opt(self.system),
            code: owned_opt(self.code),
            text: owned_opt(self.text),
        }
    }
}

/// A typed index value. Text borrows from the resource where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue<'a> {
    Token(Token<'a>),
    String(StringValue<'a>),
    Date(DateRange),
    Reference(ReferenceValue<'a>),
    Quantity(QuantityValue<'a>),
    Number(f64),
    Uri(Cow<'a, str>),
    /// One tuple of a composite parameter, one value per component, in component order.
    Composite(Vec<IndexValue<'a>>),
}

/// A token: `system|code`, with the display text for `:text`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Token<'a> {
    pub system: Option<Cow<'a, str>>,
    pub code: Option<Cow<'a, str>>,
    /// `CodeableConcept.text` or `Coding.display`, for the `:text` modifier.
    pub text: Option<Cow<'a, str>>,
}

/// A string: `normalized` (lower case, accents stripped) for the default starts-with match,
/// `exact` as written for `:exact`.
#[derive(Debug, Clone, PartialEq)]
pub struct StringValue<'a> {
    pub normalized: Cow<'a, str>,
    pub exact: Cow<'a, str>,
}

/// A reference, with whatever of its parts are known.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReferenceValue<'a> {
    /// Target type, from the URL or `Reference.type`.
    pub resource_type: Option<Cow<'a, str>>,
    pub id: Option<Cow<'a, str>>,
    pub version: Option<Cow<'a, str>>,
    /// Service base for absolute references (`https://host/fhir`).
    pub base: Option<Cow<'a, str>>,
    /// The reference (or canonical) as written.
    pub url: Option<Cow<'a, str>>,
    /// `Reference.identifier`, for `:identifier`.
    pub identifier: Option<Token<'a>>,
}

impl ReferenceValue<'_> {
    /// The reference as written when a search can name it only by URL: an absolute URL, a
    /// `urn:`, or a canonical. A relative `Type/id` is searched by its target type and id.
    pub fn searched_url(&self) -> Option<&str> {
        self.url.as_deref().filter(|url| is_absolute_reference(url))
    }
}

/// Whether a reference is written as an absolute URL or a URN rather than `Type/id`.
pub fn is_absolute_reference(text: &str) -> bool {
    text.contains("://") || text.starts_with("urn:")
}

/// A quantity with its UCUM-canonical form when the unit converts.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantityValue<'a> {
    pub value: f64,
    pub system: Option<Cow<'a, str>>,
    pub code: Option<Cow<'a, str>>,
    pub unit: Option<Cow<'a, str>>,
    pub canonical: Option<Canonical>,
}

/// The implicit range of a decimal search value by its precision (FHIR search, number and
/// quantity): `100` is [99.5, 100.5), `5.40` is [5.395, 5.405). Also accepts exponents
/// (`1e2` has the precision of its mantissa). `None` if `text` is not a decimal.
pub fn implicit_range(text: &str) -> Option<(f64, f64)> {
    let value: f64 = text.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let decimals = mantissa.split_once('.').map_or(0, |(_, f)| f.len() as i32);
    let half = 0.5 * 10f64.powi(exponent - decimals);
    Some((value - half, value + half))
}

/// The result of indexing one resource. `skipped` lists parameters whose expression failed on
/// this resource (e.g. `is` over several items); the rest are still indexed.
#[derive(Debug, Clone, Default)]
pub struct ResourceIndex<'a> {
    pub entries: Vec<IndexEntry<'a>>,
    pub skipped: Vec<(&'a str, EvalError)>,
}

/// Extracts the index entries of `resource` for the parameters `registry` defines on its type.
pub fn extract<'a>(
    registry: &'a SearchParamRegistry,
    resource: &'a Value,
) -> Result<ResourceIndex<'a>, IndexError> {
    let engine = Engine::r4()?;
    extract_with(&engine, registry, resource)
}

/// [`extract`] with a given engine (e.g. one whose `resolve()` sees a Bundle).
pub fn extract_with<'a>(
    engine: &Engine<'_>,
    registry: &'a SearchParamRegistry,
    resource: &'a Value,
) -> Result<ResourceIndex<'a>, IndexError> {
    let ty = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .ok_or(IndexError::MissingResourceType)?;
    let convert = values::Converter::new(engine.model());
    let root_item = engine.root(resource);
    let root = std::slice::from_ref(&root_item);
    let mut index = ResourceIndex::default();
    for param in registry.for_type(ty) {
        let Some(expr) = &param.expression else {
            continue;
        };
        let code = param.code();
        let items = match engine.evaluate_in(expr, &root_item, root) {
            Ok(items) => items,
            Err(e) => {
                index.skipped.push((code, e));
                continue;
            }
        };
        let kind = param.param.param_type;
        if kind == ParamType::Token {
            for item in &items {
                for token in convert.identifier_types(item) {
                    index.entries.push(IndexEntry {
                        code: Cow::Owned(format!("{code}:of-type")),
                        value: IndexValue::Token(token),
                    });
                }
            }
        }
        if kind != ParamType::Composite {
            let first = index.entries.len();
            for item in &items {
                convert.push(kind, item, &mut |value| {
                    // The same value from two elements (a given name in two HumanNames) is one
                    // row; only checked for ordinary sizes to stay linear on huge ValueSets.
                    let added = &index.entries[first..];
                    if added.len() > DEDUPE_MAX || !added.iter().any(|e| e.value == value) {
                        index.entries.push(IndexEntry {
                            code: Cow::Borrowed(code),
                            value,
                        });
                    }
                });
            }
            continue;
        }
        for item in &items {
            match composite_tuples(engine, &convert, param, &root_item, item) {
                Ok(tuples) => index.entries.extend(tuples.into_iter().map(|t| IndexEntry {
                    code: Cow::Borrowed(code),
                    value: IndexValue::Composite(t),
                })),
                Err(e) => index.skipped.push((code, e)),
            }
        }
    }
    Ok(index)
}

/// The component tuples of one item of a composite parameter: the cartesian product of each
/// component's values, capped at [`MAX_COMPOSITE_TUPLES`].
fn composite_tuples<'a>(
    engine: &Engine<'_>,
    convert: &values::Converter,
    param: &'a super::search_params::TypedParam,
    root: &super::fhirpath::Item<'a>,
    item: &super::fhirpath::Item<'a>,
) -> Result<Vec<Vec<IndexValue<'a>>>, EvalError> {
    let mut tuples: Vec<Vec<IndexValue<'a>>> = vec![Vec::new()];
    for component in &param.param.components {
        let Some(kind) = component.param_type else {
            return Ok(Vec::new());
        };
        let results =
            engine.evaluate_in(&component.expression, root, std::slice::from_ref(item))?;
        let mut values = Vec::new();
        for r in &results {
            convert.push(kind, r, &mut |v| {
                // A text-only token (CodeableConcept.text) cannot match a `system|code$value`
                // composite search.
                let text_only = matches!(&v, IndexValue::Token(t) if t.code.is_none());
                if !text_only {
                    values.push(v);
                }
            });
        }
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let mut next = Vec::with_capacity(tuples.len() * values.len());
        for t in &tuples {
            for v in &values {
                if next.len() == MAX_COMPOSITE_TUPLES {
                    break;
                }
                let mut t = t.clone();
                t.push(v.clone());
                next.push(t);
            }
        }
        tuples = next;
    }
    Ok(tuples)
}

#[cfg(test)]
mod tests;
