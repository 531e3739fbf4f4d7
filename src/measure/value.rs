//! Runtime values of the evaluator. FHIR data is borrowed from the patient's
//! resources (`Value::Fhir`), never copied; CQL system values are small and
//! share their heap parts through `Arc` so cloning is cheap.

use std::cmp::Ordering;
use std::sync::Arc;

use super::datetime::DateTime;
pub use super::doc::Doc;
use super::model;
use super::units;

pub type Json = serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub code: Arc<str>,
    pub system: Option<Arc<str>>,
    pub version: Option<Arc<str>>,
    pub display: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    pub codes: Vec<Code>,
    pub display: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub value: f64,
    pub unit: Arc<str>,
}

#[derive(Debug, Clone)]
pub struct Interval<'a> {
    pub low: Value<'a>,
    pub high: Value<'a>,
    pub low_closed: bool,
    pub high_closed: bool,
}

#[derive(Debug, Clone)]
pub struct Tuple<'a> {
    /// Class name for `Instance` values (e.g. FHIR `Reference`), `None` for tuples.
    pub class: Option<Arc<str>>,
    pub fields: Vec<(Arc<str>, Value<'a>)>,
}

impl<'a> Tuple<'a> {
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.fields
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v)
    }
}

/// A string value: borrowed from the patient's data when read from FHIR
/// (no allocation), shared otherwise.
#[derive(Debug, Clone)]
pub enum Text<'a> {
    Borrowed(&'a str),
    Shared(Arc<str>),
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Shared(s) => s,
        }
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Text<'_> {}

impl std::hash::Hash for Text<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl PartialOrd for Text<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl From<Arc<str>> for Text<'_> {
    fn from(s: Arc<str>) -> Self {
        Text::Shared(s)
    }
}

impl Text<'_> {
    pub fn to_arc(&self) -> Arc<str> {
        match self {
            Text::Borrowed(s) => Arc::from(*s),
            Text::Shared(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub enum Value<'a> {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Dec(f64),
    Str(Text<'a>),
    Date(DateTime),
    DateTime(DateTime),
    Time(DateTime),
    Quantity(Quantity),
    Ratio(Arc<(Quantity, Quantity)>),
    Code(Arc<Code>),
    Concept(Arc<Concept>),
    Interval(Arc<Interval<'a>>),
    List(Arc<Vec<Value<'a>>>),
    Tuple(Arc<Tuple<'a>>),
    /// A FHIR element or resource borrowed from patient data, with its FHIR type name.
    Fhir(&'a Doc, &'static str),
    /// A loaded value set, by index into the engine's terminology.
    ValueSet(u32),
}

impl<'a> Value<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn str(s: &str) -> Value<'a> {
        Value::Str(Text::Shared(Arc::from(s)))
    }

    pub fn list(v: Vec<Value<'a>>) -> Value<'a> {
        Value::List(Arc::new(v))
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Fhir(Doc::Bool(b), _) => Some(*b),
            _ => None,
        }
    }

    pub fn interval(low: Value<'a>, high: Value<'a>, lc: bool, hc: bool) -> Value<'a> {
        Value::Interval(Arc::new(Interval {
            low,
            high,
            low_closed: lc,
            high_closed: hc,
        }))
    }

    /// The CQL type name of a value, used by `Is`/`As` and overload dispatch.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Null => "Any",
            Value::Bool(_) => "Boolean",
            Value::Int(_) => "Integer",
            Value::Dec(_) => "Decimal",
            Value::Str(_) => "String",
            Value::Date(_) => "Date",
            Value::DateTime(_) => "DateTime",
            Value::Time(_) => "Time",
            Value::Quantity(_) => "Quantity",
            Value::Ratio(_) => "Ratio",
            Value::Code(_) => "Code",
            Value::Concept(_) => "Concept",
            Value::Interval(_) => "Interval",
            Value::List(_) => "List",
            Value::Tuple(t) => t.class.as_deref().unwrap_or("Tuple"),
            Value::Fhir(_, t) => t,
            Value::ValueSet(_) => "ValueSet",
        }
    }

    /// `to_system` that moves non-FHIR values instead of cloning them.
    pub fn into_system(self) -> Value<'a> {
        match self {
            Value::Fhir(..) | Value::Tuple(_) => self.to_system(),
            v => v,
        }
    }

    /// Converts FHIR data to the CQL system value it denotes (FHIR primitives to
    /// their `.value`, Coding to Code, CodeableConcept to Concept, Quantity,
    /// Period to Interval); other values are returned unchanged.
    pub fn to_system(&self) -> Value<'a> {
        match self {
            Value::Fhir(node, ty) => fhir_to_system(node, ty).unwrap_or_else(|| self.clone()),
            Value::Tuple(t) if t.class.is_some() => match t.get("value") {
                Some(v) if model::is_primitive(t.class.as_deref().unwrap_or("")) => v.to_system(),
                _ => self.clone(),
            },
            _ => self.clone(),
        }
    }
}

/// Reads the `.value` of a FHIR primitive of type `ty` as a system value.
pub fn primitive_value<'a>(node: &'a Doc, ty: &str) -> Value<'a> {
    let node = match node {
        Doc::Object(_) => match node.get("value") {
            Some(v) => v,
            None => return Value::Null,
        },
        n => n,
    };
    match node {
        Doc::Bool(b) => Value::Bool(*b),
        Doc::Number(n) => match (ty, n.as_i64()) {
            ("decimal", _) | (_, None) => n.as_f64().map_or(Value::Null, Value::Dec),
            (_, Some(i)) => Value::Int(i),
        },
        Doc::String(s) => match ty {
            "date" => DateTime::parse(s).map_or(Value::Null, |d| {
                if d.precision <= super::datetime::Precision::Day {
                    Value::Date(d)
                } else {
                    Value::DateTime(d)
                }
            }),
            "dateTime" | "instant" => DateTime::parse(s).map_or(Value::Null, Value::DateTime),
            "time" => super::datetime::parse_time(s).map_or(Value::Null, Value::Time),
            "decimal" => s.parse().map_or(Value::Null, Value::Dec),
            "integer" | "positiveInt" | "unsignedInt" => s.parse().map_or(Value::Null, Value::Int),
            _ => Value::Str(Text::Borrowed(s)),
        },
        _ => Value::Null,
    }
}

fn json_str(node: &Doc, key: &str) -> Option<Arc<str>> {
    node.get(key).and_then(Doc::as_str).map(Arc::from)
}

pub fn coding_to_code(node: &Doc) -> Option<Code> {
    Some(Code {
        code: json_str(node, "code")?,
        system: json_str(node, "system"),
        version: json_str(node, "version"),
        display: json_str(node, "display"),
    })
}

pub fn concept_of(node: &Doc) -> Concept {
    let codes = node
        .get("coding")
        .and_then(Doc::as_array)
        .map(|a| a.iter().filter_map(coding_to_code).collect())
        .unwrap_or_default();
    Concept {
        codes,
        display: json_str(node, "text"),
    }
}

fn fhir_to_system<'a>(node: &'a Doc, ty: &str) -> Option<Value<'a>> {
    if model::is_primitive(ty) {
        return Some(primitive_value(node, ty));
    }
    Some(match ty {
        "Coding" => coding_to_code(node).map_or(Value::Null, |c| Value::Code(Arc::new(c))),
        "CodeableConcept" => Value::Concept(Arc::new(concept_of(node))),
        "Quantity" | "Age" | "Duration" | "Distance" | "Count" | "SimpleQuantity"
        | "MoneyQuantity" => {
            let value = node.get("value").and_then(Doc::as_f64)?;
            let unit = node
                .get("code")
                .or_else(|| node.get("unit"))
                .and_then(Doc::as_str)
                .unwrap_or("1");
            Value::Quantity(Quantity {
                value,
                unit: Arc::from(units::calendar_unit(unit)),
            })
        }
        "Period" => {
            let start = node.get("start").map(|s| primitive_value(s, "dateTime"));
            let end = node.get("end").map(|s| primitive_value(s, "dateTime"));
            match (start, end) {
                (None, end) => Value::interval(Value::Null, end.unwrap_or_default(), false, true),
                (Some(s), end) => Value::interval(s, end.unwrap_or_default(), true, true),
            }
        }
        _ => return None,
    })
}

/// CQL `=`: `None` when the result is unknown.
pub fn equal(a: &Value, b: &Value) -> Option<bool> {
    use Value as V;
    match (a, b) {
        (V::Null, _) | (_, V::Null) => None,
        (V::Fhir(..), _) | (_, V::Fhir(..)) => {
            let (a, b) = (a.to_system(), b.to_system());
            if matches!(a, V::Fhir(..)) || matches!(b, V::Fhir(..)) {
                return Some(fhir_identical(&a, &b));
            }
            equal(&a, &b)
        }
        (V::Bool(x), V::Bool(y)) => Some(x == y),
        (V::Str(x), V::Str(y)) => Some(x == y),
        (V::Int(_) | V::Dec(_), V::Int(_) | V::Dec(_)) => Some(compare(a, b)? == Ordering::Equal),
        (V::Date(_) | V::DateTime(_) | V::Time(_), _) => Some(compare(a, b)? == Ordering::Equal),
        (V::Quantity(x), V::Quantity(y)) => Some(units::compare(x, y)? == Ordering::Equal),
        (V::Ratio(x), V::Ratio(y)) => Some(
            units::compare(&x.0, &y.0)? == Ordering::Equal
                && units::compare(&x.1, &y.1)? == Ordering::Equal,
        ),
        (V::Code(x), V::Code(y)) => {
            Some(x.code == y.code && x.system == y.system && x.version == y.version)
        }
        (V::Concept(x), V::Concept(y)) => Some(
            x.codes.len() == y.codes.len()
                && x.codes
                    .iter()
                    .zip(&y.codes)
                    .all(|(p, q)| p.code == q.code && p.system == q.system),
        ),
        (V::Interval(x), V::Interval(y)) => {
            let lo = bound_equal(&x.low, x.low_closed, &y.low, y.low_closed)?;
            let hi = bound_equal(&x.high, x.high_closed, &y.high, y.high_closed)?;
            Some(lo && hi)
        }
        (V::List(x), V::List(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            let mut unknown = false;
            for (p, q) in x.iter().zip(y.iter()) {
                match equal(p, q) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(true)
            }
        }
        (V::Tuple(x), V::Tuple(y)) => {
            if x.fields.len() != y.fields.len() {
                return Some(false);
            }
            let mut unknown = false;
            for (n, v) in &x.fields {
                let Some(w) = y.get(n) else {
                    return Some(false);
                };
                if v.is_null() && w.is_null() {
                    continue;
                }
                match equal(v, w) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(true)
            }
        }
        (V::ValueSet(x), V::ValueSet(y)) => Some(x == y),
        _ => Some(false),
    }
}

fn bound_equal(a: &Value, ac: bool, b: &Value, bc: bool) -> Option<bool> {
    if a.is_null() && b.is_null() {
        return Some(ac == bc);
    }
    if ac != bc {
        return Some(false);
    }
    equal(a, b)
}

fn fhir_identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Fhir(x, _), Value::Fhir(y, _)) => std::ptr::eq(*x, *y) || x == y,
        _ => false,
    }
}

/// CQL `~`: never unknown.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    use Value as V;
    match (a, b) {
        (V::Null, V::Null) => true,
        (V::Null, _) | (_, V::Null) => false,
        (V::Fhir(..), _) | (_, V::Fhir(..)) => {
            let (a, b) = (a.to_system(), b.to_system());
            if matches!(a, V::Fhir(..)) || matches!(b, V::Fhir(..)) {
                return fhir_identical(&a, &b);
            }
            equivalent(&a, &b)
        }
        (V::Str(x), V::Str(y)) => {
            let norm = |s: &str| {
                s.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            };
            norm(x) == norm(y)
        }
        (V::Dec(_), _) | (_, V::Dec(_)) => match (to_f64(a), to_f64(b)) {
            (Some(x), Some(y)) => {
                // Equivalence of decimals is at the precision of the least precise operand.
                let digits = decimal_places(x).min(decimal_places(y));
                let f = 10f64.powi(digits as i32);
                (x * f).round() == (y * f).round()
            }
            _ => false,
        },
        (V::Code(x), V::Code(y)) => x.code == y.code && x.system == y.system,
        (V::Code(x), V::Concept(c)) | (V::Concept(c), V::Code(x)) => c
            .codes
            .iter()
            .any(|y| x.code == y.code && x.system == y.system),
        (V::Concept(x), V::Concept(y)) => x.codes.iter().any(|p| {
            y.codes
                .iter()
                .any(|q| p.code == q.code && p.system == q.system)
        }),
        (V::Date(_) | V::DateTime(_) | V::Time(_), _) => {
            matches!(compare(a, b), Some(Ordering::Equal))
        }
        (V::List(x), V::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equivalent(p, q))
        }
        (V::Tuple(x), V::Tuple(y)) => {
            x.fields.len() == y.fields.len()
                && x.fields
                    .iter()
                    .all(|(n, v)| y.get(n).is_some_and(|w| equivalent(v, w)))
        }
        (V::Interval(x), V::Interval(y)) => {
            equivalent(&x.low, &y.low)
                && equivalent(&x.high, &y.high)
                && x.low_closed == y.low_closed
                && x.high_closed == y.high_closed
        }
        _ => equal(a, b).unwrap_or(false),
    }
}

pub(crate) fn decimal_places(x: f64) -> usize {
    let s = format!("{x}");
    s.split_once('.').map_or(0, |(_, f)| f.len()).min(8)
}

pub fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Dec(d) => Some(*d),
        _ => None,
    }
}

/// Ordering of two comparable values; `None` when unknown or incomparable.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    compare_at(a, b, None)
}

pub fn compare_at(
    a: &Value,
    b: &Value,
    precision: Option<super::datetime::Precision>,
) -> Option<Ordering> {
    use Value as V;
    match (a, b) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Int(_) | V::Dec(_), V::Int(_) | V::Dec(_)) => to_f64(a)?.partial_cmp(&to_f64(b)?),
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Date(x) | V::DateTime(x), V::Date(y) | V::DateTime(y)) => {
            if matches!(a, V::Date(_)) != matches!(b, V::Date(_)) {
                // Date against DateTime: the Date is converted to a DateTime
                // (implicit conversion), which keeps its day precision.
                return x.compare(y, precision);
            }
            x.compare(y, precision)
        }
        (V::Time(x), V::Time(y)) => x.compare(y, precision),
        (V::Quantity(x), V::Quantity(y)) => units::compare(x, y),
        (V::Fhir(..), _) | (_, V::Fhir(..)) => {
            let (a2, b2) = (a.to_system(), b.to_system());
            if matches!(a2, V::Fhir(..)) || matches!(b2, V::Fhir(..)) {
                return None;
            }
            compare_at(&a2, &b2, precision)
        }
        _ => None,
    }
}

/// Renders a value as JSON (FHIR data as itself, temporal values as ISO
/// strings), for reports, debugging and the API.
pub fn to_json(v: &Value) -> Json {
    use serde_json::json;
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Dec(d) => json!(d),
        Value::Str(s) => json!(&**s),
        Value::Date(d) => json!(d.format(true)),
        Value::DateTime(d) => json!(d.format(false)),
        Value::Time(d) => json!(d
            .format(false)
            .split_once('T')
            .map_or(String::new(), |(_, t)| t.to_owned())),
        Value::Quantity(q) => json!({"value": q.value, "unit": &*q.unit}),
        Value::Ratio(r) => json!({
            "numerator": {"value": r.0.value, "unit": &*r.0.unit},
            "denominator": {"value": r.1.value, "unit": &*r.1.unit},
        }),
        Value::Code(c) => {
            json!({"code": &*c.code, "system": c.system.as_deref(), "display": c.display.as_deref()})
        }
        Value::Concept(c) => json!({
            "codes": c.codes.iter().map(|c| json!({"code": &*c.code, "system": c.system.as_deref()})).collect::<Vec<_>>(),
            "display": c.display.as_deref(),
        }),
        Value::Interval(i) => json!({
            "low": to_json(&i.low),
            "high": to_json(&i.high),
            "lowClosed": i.low_closed,
            "highClosed": i.high_closed,
        }),
        Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
        Value::Tuple(t) => Json::Object(
            t.fields
                .iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
        Value::Fhir(node, _) => node.to_json(),
        Value::ValueSet(i) => json!({"valueSet": i}),
    }
}
