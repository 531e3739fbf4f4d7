//! Conversion of FHIRPath results into index values, by search-parameter type and the FHIR
//! type of each result (the token of a Coding differs from that of an Identifier).

use std::borrow::Cow;

use serde_json::Value;

use super::text::normalize;
use super::ucum;
use super::{IndexValue, QuantityValue, ReferenceValue, StringValue, Token};
use crate::fhir::fhirpath::{DateRange, Item, ReferenceParts, TypeId, TypeModel};
use crate::fhir::search_params::ParamType;

const UCUM: &str = "http://unitsofmeasure.org";
const CURRENCY: &str = "urn:iso:std:iso:4217";

/// Complex types whose conversion is specific, looked up once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Coding,
    CodeableConcept,
    Identifier,
    ContactPoint,
    HumanName,
    Address,
    Period,
    Timing,
    Reference,
    Money,
    Quantity,
    Other,
}

pub(crate) struct Converter {
    shapes: Vec<(TypeId, Shape)>,
}

impl Converter {
    pub(crate) fn new(model: &'static TypeModel) -> Self {
        let named = [
            ("Coding", Shape::Coding),
            ("CodeableConcept", Shape::CodeableConcept),
            ("Identifier", Shape::Identifier),
            ("ContactPoint", Shape::ContactPoint),
            ("HumanName", Shape::HumanName),
            ("Address", Shape::Address),
            ("Period", Shape::Period),
            ("Timing", Shape::Timing),
            ("Reference", Shape::Reference),
            ("Money", Shape::Money),
            ("Quantity", Shape::Quantity),
            ("Age", Shape::Quantity),
            ("Duration", Shape::Quantity),
            ("Distance", Shape::Quantity),
            ("Count", Shape::Quantity),
        ];
        let shapes = named
            .iter()
            .filter_map(|(n, s)| model.id(n).map(|t| (t, *s)))
            .collect();
        Converter { shapes }
    }

    fn shape(&self, ty: Option<TypeId>) -> Shape {
        ty.and_then(|t| self.shapes.iter().find(|(id, _)| *id == t))
            .map_or(Shape::Other, |(_, s)| *s)
    }

    /// Converts one result for a parameter of type `kind`, passing each value to `sink`.
    pub(crate) fn push<'a>(
        &self,
        kind: ParamType,
        item: &Item<'a>,
        sink: &mut dyn FnMut(IndexValue<'a>),
    ) {
        match item {
            Item::Node { json, ty, .. } => self.push_node(kind, json, self.shape(*ty), sink),
            Item::Boolean(b) if kind == ParamType::Token => sink(IndexValue::Token(Token {
                code: Some(Cow::Borrowed(if *b { "true" } else { "false" })),
                ..Token::default()
            })),
            Item::String(s) => self.push_text(kind, s.clone(), sink),
            Item::Integer(i) if kind == ParamType::Number => sink(IndexValue::Number(*i as f64)),
            Item::Decimal(d) if kind == ParamType::Number => sink(IndexValue::Number(*d)),
            _ => {}
        }
    }

    fn push_node<'a>(
        &self,
        kind: ParamType,
        json: &'a Value,
        shape: Shape,
        sink: &mut dyn FnMut(IndexValue<'a>),
    ) {
        match json {
            Value::String(s) => return self.push_text(kind, Cow::Borrowed(s), sink),
            Value::Bool(b) if kind == ParamType::Token => {
                return sink(IndexValue::Token(Token {
                    code: Some(Cow::Borrowed(if *b { "true" } else { "false" })),
                    ..Token::default()
                }))
            }
            Value::Number(n) => {
                match kind {
                    ParamType::Number => sink(IndexValue::Number(n.as_f64().unwrap_or(f64::NAN))),
                    ParamType::Token => sink(IndexValue::Token(Token {
                        code: Some(Cow::Owned(n.to_string())),
                        ..Token::default()
                    })),
                    _ => {}
                }
                return;
            }
            Value::Object(_) => {}
            _ => return,
        }
        match kind {
            ParamType::Token => token(json, shape, sink),
            ParamType::String => string(json, shape, sink),
            ParamType::Date => date(json, shape, sink),
            ParamType::Reference => {
                if shape == Shape::Reference || shape == Shape::Other {
                    if let Some(r) = reference(json) {
                        sink(IndexValue::Reference(r));
                    }
                }
            }
            ParamType::Quantity => {
                if let Some(q) = quantity(json, shape) {
                    sink(IndexValue::Quantity(q));
                }
            }
            ParamType::Uri => {
                if let Some(u) = str_of(json, "url") {
                    sink(IndexValue::Uri(u));
                }
            }
            ParamType::Number | ParamType::Composite | ParamType::Special => {}
        }
    }

    /// For an Identifier with a type, the tokens `:of-type` searches: per type coding, its
    /// system, and its code and the identifier's value joined by `|`.
    pub(crate) fn identifier_types<'a>(&self, item: &Item<'a>) -> Vec<Token<'a>> {
        let Item::Node { json, ty, .. } = item else {
            return Vec::new();
        };
        let Some(value) = str_of(json, "value").filter(|_| self.shape(*ty) == Shape::Identifier)
        else {
            return Vec::new();
        };
        json.get("type")
            .and_then(|t| t.get("coding"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|coding| {
                let code = str_of(coding, "code")?;
                Some(Token {
                    system: str_of(coding, "system"),
                    code: Some(Cow::Owned(format!("{code}|{value}"))),
                    text: None,
                })
            })
            .collect()
    }

    /// A string-valued primitive (string, code, uri, date, ...) for each parameter type.
    fn push_text<'a>(
        &self,
        kind: ParamType,
        s: Cow<'a, str>,
        sink: &mut dyn FnMut(IndexValue<'a>),
    ) {
        match kind {
            ParamType::Token => sink(IndexValue::Token(Token {
                code: Some(s),
                ..Token::default()
            })),
            ParamType::String => sink(IndexValue::String(string_value(s))),
            ParamType::Date => {
                if let Some(r) = DateRange::parse(&s) {
                    sink(IndexValue::Date(r));
                }
            }
            ParamType::Uri => sink(IndexValue::Uri(s)),
            ParamType::Reference => sink(IndexValue::Reference(canonical_reference(s))),
            ParamType::Number => {
                if let Ok(v) = s.parse() {
                    sink(IndexValue::Number(v));
                }
            }
            ParamType::Quantity | ParamType::Composite | ParamType::Special => {}
        }
    }
}

fn str_of<'a>(json: &'a Value, key: &str) -> Option<Cow<'a, str>> {
    json.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(Cow::Borrowed)
}

fn strs_of<'a>(json: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    json.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn coding_token(coding: &Value) -> Token<'_> {
    Token {
        system: str_of(coding, "system"),
        code: str_of(coding, "code"),
        text: str_of(coding, "display"),
    }
}

fn token<'a>(json: &'a Value, shape: Shape, sink: &mut dyn FnMut(IndexValue<'a>)) {
    match shape {
        Shape::Coding => sink(IndexValue::Token(coding_token(json))),
        Shape::CodeableConcept => {
            for coding in json
                .get("coding")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let t = coding_token(coding);
                if t.code.is_some() || t.system.is_some() || t.text.is_some() {
                    sink(IndexValue::Token(t));
                }
            }
            if let Some(text) = str_of(json, "text") {
                sink(IndexValue::Token(Token {
                    text: Some(text),
                    ..Token::default()
                }));
            }
        }
        Shape::Identifier if json.get("value").is_some() || json.get("system").is_some() => {
            sink(IndexValue::Token(Token {
                system: str_of(json, "system"),
                code: str_of(json, "value"),
                text: json.get("type").and_then(|t| str_of(t, "text")),
            }));
        }
        Shape::ContactPoint => {
            if let Some(value) = str_of(json, "value") {
                sink(IndexValue::Token(Token {
                    code: Some(value),
                    ..Token::default()
                }));
            }
        }
        Shape::Quantity => {
            // Token search on a Quantity matches its unit code.
            if let Some(code) = str_of(json, "code") {
                sink(IndexValue::Token(Token {
                    system: str_of(json, "system"),
                    code: Some(code),
                    text: str_of(json, "unit"),
                }));
            }
        }
        _ => {}
    }
}

fn string_value(s: Cow<'_, str>) -> StringValue<'_> {
    let normalized = match &s {
        Cow::Borrowed(b) => normalize(b),
        Cow::Owned(o) => Cow::Owned(normalize(o).into_owned()),
    };
    StringValue {
        normalized,
        exact: s,
    }
}

fn string<'a>(json: &'a Value, shape: Shape, sink: &mut dyn FnMut(IndexValue<'a>)) {
    let (single, lists): (&[&str], &[&str]) = match shape {
        Shape::HumanName => (&["family", "text"], &["given", "prefix", "suffix"]),
        Shape::Address => (
            &["city", "district", "state", "postalCode", "country", "text"],
            &["line"],
        ),
        _ => {
            // Other complex types (e.g. Annotation): their own string elements.
            if let Value::Object(obj) = json {
                for v in obj.values() {
                    if let Value::String(s) = v {
                        sink(IndexValue::String(string_value(Cow::Borrowed(s))));
                    }
                }
            }
            return;
        }
    };
    for key in single {
        if let Some(s) = str_of(json, key) {
            sink(IndexValue::String(string_value(s)));
        }
    }
    for key in lists {
        for s in strs_of(json, key) {
            sink(IndexValue::String(string_value(Cow::Borrowed(s))));
        }
    }
}

fn date<'a>(json: &'a Value, shape: Shape, sink: &mut dyn FnMut(IndexValue<'a>)) {
    let period = |p: &Value| {
        DateRange::period(
            p.get("start").and_then(Value::as_str),
            p.get("end").and_then(Value::as_str),
        )
    };
    match shape {
        Shape::Period => {
            if let Some(r) = period(json) {
                sink(IndexValue::Date(r));
            }
        }
        Shape::Timing => {
            let mut any = false;
            for event in strs_of(json, "event") {
                if let Some(r) = DateRange::parse(event) {
                    any = true;
                    sink(IndexValue::Date(r));
                }
            }
            if !any {
                if let Some(r) = json.pointer("/repeat/boundsPeriod").and_then(period) {
                    sink(IndexValue::Date(r));
                }
            }
        }
        _ => {}
    }
}

/// A Reference element.
fn reference(json: &Value) -> Option<ReferenceValue<'_>> {
    let text = json.get("reference").and_then(Value::as_str);
    let identifier = json.get("identifier").and_then(|i| {
        let t = Token {
            system: str_of(i, "system"),
            code: str_of(i, "value"),
            text: None,
        };
        (t.code.is_some()).then_some(t)
    });
    let mut value = match text {
        Some(t) => literal_reference(t),
        None => ReferenceValue::default(),
    };
    if value.resource_type.is_none() {
        value.resource_type = str_of(json, "type");
    }
    value.identifier = identifier;
    (value.url.is_some() || value.identifier.is_some()).then_some(value)
}

fn literal_reference(text: &str) -> ReferenceValue<'_> {
    let parts = ReferenceParts::parse(text);
    ReferenceValue {
        resource_type: parts.resource_type.map(Cow::Borrowed),
        id: parts.id.map(Cow::Borrowed),
        version: parts.version.map(Cow::Borrowed),
        base: parts.base.map(Cow::Borrowed),
        url: Some(Cow::Borrowed(text)),
        identifier: None,
    }
}

/// A canonical or uri used as a reference (`url|version`).
fn canonical_reference(s: Cow<'_, str>) -> ReferenceValue<'_> {
    match s {
        Cow::Borrowed(b) => {
            let (url, version) = match b.split_once('|') {
                Some((u, v)) => (u, Some(v)),
                None => (b, None),
            };
            let mut value = literal_reference(url);
            value.url = Some(Cow::Borrowed(b));
            if version.is_some() {
                value.version = version.map(Cow::Borrowed);
            }
            value
        }
        Cow::Owned(o) => ReferenceValue {
            url: Some(Cow::Owned(o)),
            ..ReferenceValue::default()
        },
    }
}

fn quantity(json: &Value, shape: Shape) -> Option<QuantityValue<'_>> {
    let value = json.get("value").and_then(Value::as_f64)?;
    if shape == Shape::Money {
        return Some(QuantityValue {
            value,
            system: Some(Cow::Borrowed(CURRENCY)),
            code: str_of(json, "currency"),
            unit: None,
            canonical: None,
        });
    }
    let system = str_of(json, "system");
    let code = str_of(json, "code");
    let unit = str_of(json, "unit");
    // UCUM codes convert; a bare unit converts only when no other code system is named.
    let ucum_unit = match (&system, &code) {
        (Some(s), Some(c)) if s == UCUM => Some(c.as_ref()),
        (None, _) => unit.as_deref(),
        _ => None,
    };
    Some(QuantityValue {
        canonical: ucum_unit.and_then(|u| ucum::canonicalize(value, u)),
        value,
        system,
        code,
        unit,
    })
}
