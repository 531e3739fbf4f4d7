//! The values FHIRPath collections hold: elements of the resource (JSON plus FHIR type) and
//! system values produced by literals and functions.

use std::borrow::Cow;

use serde_json::Value;

use super::model::{TypeId, TypeModel};
use super::temporal::DateRange;

/// One item of a FHIRPath collection. `'a` is the lifetime of the resource: elements borrow
/// from it instead of copying.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    /// An element of the resource with its FHIR type (`None` when the model does not know the
    /// path, e.g. inside an unknown extension).
    Node {
        json: &'a Value,
        ty: Option<TypeId>,
        /// For a primitive, its `_name` sibling (id and extensions). `json` is `null` when the
        /// primitive has extensions but no value.
        ext: Option<&'a Value>,
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
        Item::Node {
            json,
            ty,
            ext: None,
        }
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
            (Prim::Str(a), Prim::Str(b)) if a == b => true,
            // Date/time values are equal as instants (`10:00+01:00` = `09:00Z`); of different
            // precisions they are equal only if that cannot be known (empty).
            (Prim::Str(a), Prim::Str(b)) => match temporal_order(a, b) {
                Some(Temporal::Ordered(ord)) => ord.is_eq(),
                Some(Temporal::Uncertain) => return None,
                None => false,
            },
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

    /// Ordering for `<`, `>`, ...: numbers numerically, dates and times as instants (with
    /// FHIRPath precision rules), other strings lexically.
    pub(crate) fn compare(&self, other: &Item<'_>) -> Comparison {
        use std::cmp::Ordering;
        let numeric = |o: Option<Ordering>| o.map_or(Comparison::Incomparable, Comparison::Ordered);
        match (self.prim(), other.prim()) {
            (Prim::Int(a), Prim::Int(b)) => Comparison::Ordered(a.cmp(&b)),
            (Prim::Int(a), Prim::Dec(b)) => numeric((a as f64).partial_cmp(&b)),
            (Prim::Dec(a), Prim::Int(b)) => numeric(a.partial_cmp(&(b as f64))),
            (Prim::Dec(a), Prim::Dec(b)) => numeric(a.partial_cmp(&b)),
            (Prim::Str(a), Prim::Str(b)) => match temporal_order(a, b) {
                Some(Temporal::Ordered(ord)) => Comparison::Ordered(ord),
                Some(Temporal::Uncertain) => Comparison::Unknown,
                None => Comparison::Ordered(a.cmp(b)),
            },
            _ => Comparison::Incomparable,
        }
    }

    /// The item as a Boolean for logic operators: a Boolean is itself, any other single item is
    /// true (FHIRPath singleton evaluation).
    pub(crate) fn truthy(&self) -> bool {
        !matches!(self.prim(), Prim::Bool(false))
    }
}

/// The outcome of comparing two items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Ordered(std::cmp::Ordering),
    /// Date/times of different precision that overlap: the result is empty.
    Unknown,
    /// Values of types that have no order between them.
    Incomparable,
}

enum Temporal {
    Ordered(std::cmp::Ordering),
    Uncertain,
}

/// Orders two strings that are both FHIR dates/dateTimes/instants: at equal precision by
/// instant; at different precisions only when their ranges do not overlap. `None` when either
/// is not a date.
fn temporal_order(a: &str, b: &str) -> Option<Temporal> {
    let starts_with_digit = |s: &str| s.as_bytes().first().is_some_and(u8::is_ascii_digit);
    if !starts_with_digit(a) || !starts_with_digit(b) {
        return None;
    }
    let (x, px) = DateRange::parse_with_precision(a)?;
    let (y, py) = DateRange::parse_with_precision(b)?;
    Some(if px == py {
        Temporal::Ordered(x.low.cmp(&y.low))
    } else if x.high < y.low {
        Temporal::Ordered(std::cmp::Ordering::Less)
    } else if x.low > y.high {
        Temporal::Ordered(std::cmp::Ordering::Greater)
    } else {
        Temporal::Uncertain
    })
}
