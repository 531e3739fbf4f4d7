//! The values FHIRPath collections hold: elements of the resource (JSON plus FHIR type) and
//! system values produced by literals and functions.

use std::borrow::Cow;

use serde_json::Value;

use super::model::{TypeId, TypeModel};

/// One item of a FHIRPath collection. `'a` is the lifetime of the resource: elements borrow
/// from it instead of copying.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    /// An element of the resource with its FHIR type (`None` when the model does not know the
    /// path, e.g. inside an unknown extension).
    Node {
        json: &'a Value,
        ty: Option<TypeId>,
    },
    Boolean(bool),
    Integer(i64),
    Decimal(f64),
    String(Cow<'a, str>),
    /// The target of a reference that cannot be read here: only its type is known (from the
    /// reference string), which is all `resolve() is Patient` needs.
    ResolvedType(&'a str),
}

/// A primitive view of an item for comparisons.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prim<'a> {
    Bool(bool),
    Int(i64),
    Dec(f64),
    Str(&'a str),
    Complex(&'a Value),
    Type(&'a str),
}

impl<'a> Item<'a> {
    pub(crate) fn node(json: &'a Value, ty: Option<TypeId>) -> Item<'a> {
        Item::Node { json, ty }
    }

    /// The JSON behind a resource element, if this is one.
    pub fn json(&self) -> Option<&'a Value> {
        match self {
            Item::Node { json, .. } => Some(json),
            _ => None,
        }
    }

    /// The FHIR type name of the item (schema spelling, e.g. `Quantity`, `dateTime`,
    /// `Observation_Component`), or the system type name for computed values.
    pub fn type_name<'m>(&self, model: &'m TypeModel) -> Option<&'m str>
    where
        'a: 'm,
    {
        match self {
            Item::Node { ty: Some(t), .. } => Some(model.name(*t)),
            Item::Node { ty: None, .. } => None,
            Item::Boolean(_) => Some("boolean"),
            Item::Integer(_) => Some("integer"),
            Item::Decimal(_) => Some("decimal"),
            Item::String(_) => Some("string"),
            Item::ResolvedType(t) => Some(t),
        }
    }

    /// The text of a string-like item (FHIR string/code/uri/date... or a system string).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Item::Node { json, .. } => json.as_str(),
            Item::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn prim(&self) -> Prim<'_> {
        match self {
            Item::Node { json, .. } => match json {
                Value::Bool(b) => Prim::Bool(*b),
                Value::Number(n) => n
                    .as_i64()
                    .map(Prim::Int)
                    .unwrap_or_else(|| Prim::Dec(n.as_f64().unwrap_or(f64::NAN))),
                Value::String(s) => Prim::Str(s),
                other => Prim::Complex(other),
            },
            Item::Boolean(b) => Prim::Bool(*b),
            Item::Integer(i) => Prim::Int(*i),
            Item::Decimal(d) => Prim::Dec(*d),
            Item::String(s) => Prim::Str(s),
            Item::ResolvedType(t) => Prim::Type(t),
        }
    }

    /// FHIRPath equality (`=`) between two single items; `None` when it is undefined.
    pub(crate) fn equals(&self, other: &Item<'_>) -> Option<bool> {
        Some(match (self.prim(), other.prim()) {
            (Prim::Bool(a), Prim::Bool(b)) => a == b,
            (Prim::Int(a), Prim::Int(b)) => a == b,
            (Prim::Int(a), Prim::Dec(b)) | (Prim::Dec(b), Prim::Int(a)) => (a as f64) == b,
            (Prim::Dec(a), Prim::Dec(b)) => a == b,
            (Prim::Str(a), Prim::Str(b)) => a == b,
            (Prim::Complex(a), Prim::Complex(b)) => std::ptr::eq(a, b) || a == b,
            (Prim::Type(a), Prim::Type(b)) => a == b,
            _ => false,
        })
    }

    /// FHIRPath equivalence (`~`): case- and whitespace-insensitive for strings.
    pub(crate) fn equivalent(&self, other: &Item<'_>) -> bool {
        match (self.prim(), other.prim()) {
            (Prim::Str(a), Prim::Str(b)) => {
                let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
                norm(a).to_lowercase() == norm(b).to_lowercase()
            }
            _ => self.equals(other).unwrap_or(false),
        }
    }

    /// Ordering for `<`, `>`, ...: numbers numerically, strings (and dates of equal precision)
    /// lexically.
    pub(crate) fn compare(&self, other: &Item<'_>) -> Option<std::cmp::Ordering> {
        match (self.prim(), other.prim()) {
            (Prim::Int(a), Prim::Int(b)) => Some(a.cmp(&b)),
            (Prim::Int(a), Prim::Dec(b)) => (a as f64).partial_cmp(&b),
            (Prim::Dec(a), Prim::Int(b)) => a.partial_cmp(&(b as f64)),
            (Prim::Dec(a), Prim::Dec(b)) => a.partial_cmp(&b),
            (Prim::Str(a), Prim::Str(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// The item as a Boolean for logic operators: a Boolean is itself, any other single item is
    /// true (FHIRPath singleton evaluation).
    pub(crate) fn truthy(&self) -> bool {
        !matches!(self.prim(), Prim::Bool(false))
    }
}
