//! FHIR R4 model knowledge the evaluator needs in place of FHIR-ModelInfo:
//! element types, list-ness and choice elements, derived once from the
//! official R4 JSON schema shipped in `fhir-profiles/`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use super::value::{primitive_value, Doc, Json, Value};

const SCHEMA: &str = include_str!("../../fhir-profiles/fhir.schema.json");

const PRIMITIVES: &[&str] = &[
    "boolean",
    "integer",
    "string",
    "decimal",
    "uri",
    "url",
    "canonical",
    "base64Binary",
    "instant",
    "date",
    "dateTime",
    "time",
    "code",
    "oid",
    "id",
    "markdown",
    "unsignedInt",
    "positiveInt",
    "uuid",
    "xhtml",
];

pub fn is_primitive(ty: &str) -> bool {
    PRIMITIVES.contains(&ty)
}

/// FxHash: property lookups hash short element names on every access, where
/// SipHash's DoS resistance buys nothing (the keys come from the FHIR schema).
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

#[derive(Debug)]
struct Elem {
    /// Type names live as long as the process-wide model, hence `'static`.
    ty: &'static str,
    list: bool,
}

#[derive(Debug, Default)]
struct TypeInfo {
    elements: FxMap<String, Elem>,
    /// Choice element name (`effective`) → JSON keys and their types.
    choices: FxMap<String, Vec<(String, &'static str)>>,
}

#[derive(Debug, Default)]
pub struct Model {
    types: FxMap<String, TypeInfo>,
    resources: Vec<String>,
}

/// A type name for the process-wide model (built once, never dropped).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

static MODEL: OnceLock<Model> = OnceLock::new();

pub fn model() -> &'static Model {
    MODEL.get_or_init(|| {
        serde_json::from_str::<Json>(SCHEMA)
            .map(|s| Model::from_schema(&s))
            .unwrap_or_default()
    })
}

fn ref_name(v: &Json) -> Option<&str> {
    v.get("$ref")?.as_str()?.strip_prefix("#/definitions/")
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

impl Model {
    fn from_schema(schema: &Json) -> Model {
        let mut model = Model::default();
        let Some(defs) = schema.get("definitions").and_then(Json::as_object) else {
            return model;
        };
        if let Some(list) = defs
            .get("ResourceList")
            .and_then(|r| r.get("oneOf"))
            .and_then(Json::as_array)
        {
            model.resources = list
                .iter()
                .filter_map(ref_name)
                .map(str::to_owned)
                .collect();
        }
        for (name, def) in defs {
            let Some(props) = def.get("properties").and_then(Json::as_object) else {
                continue;
            };
            let mut info = TypeInfo::default();
            for (key, p) in props {
                if key.starts_with('_') || key == "resourceType" {
                    continue;
                }
                let (ty, list) = match p.get("items") {
                    Some(items) => (ref_name(items), true),
                    None => (ref_name(p), false),
                };
                let ty = match ty {
                    Some("ResourceList") => "Resource".to_owned(),
                    Some(t) => t.to_owned(),
                    // Primitive choices (`onsetDateTime`) are inlined: the key's suffix names the type.
                    None => match primitive_suffix(key) {
                        Some(t) => t.to_owned(),
                        None if p.get("enum").is_some() => "code".to_owned(),
                        None => "string".to_owned(),
                    },
                };
                let suffix = upper_first(&ty);
                let ty = leak(ty);
                if let Some(prefix) = key.strip_suffix(suffix.as_str()) {
                    if !prefix.is_empty() && !list {
                        info.choices
                            .entry(prefix.to_owned())
                            .or_default()
                            .push((key.clone(), ty));
                    }
                }
                info.elements.insert(key.clone(), Elem { ty, list });
            }
            model.types.insert(name.clone(), info);
        }
        model
    }

    pub fn is_resource(&self, ty: &str) -> bool {
        self.resources.iter().any(|r| r == ty)
    }

    /// The interned (static) spelling of a FHIR type name.
    pub fn intern(&'static self, ty: &str) -> Option<&'static str> {
        if let Some((k, _)) = self.types.get_key_value(ty) {
            return Some(k.as_str());
        }
        PRIMITIVES.iter().find(|p| **p == ty).copied()
    }

    /// Whether FHIR type `actual` is `target` or derives from it.
    pub fn is_subtype(&self, actual: &str, target: &str) -> bool {
        if actual == target {
            return true;
        }
        match target {
            "Resource" | "DomainResource" => self.is_resource(actual),
            "Element" => !self.is_resource(actual),
            "Quantity" => matches!(
                actual,
                "Age" | "Distance" | "Duration" | "Count" | "SimpleQuantity" | "MoneyQuantity"
            ),
            "string" => matches!(actual, "code" | "id" | "markdown"),
            "uri" => matches!(actual, "url" | "canonical" | "oid" | "uuid"),
            "integer" => matches!(actual, "positiveInt" | "unsignedInt"),
            _ => false,
        }
    }

    /// `node.name` for a FHIR node of type `ty`.
    pub fn child<'a>(&'static self, node: &'a Doc, ty: &'static str, name: &str) -> Value<'a> {
        if is_primitive(ty) {
            return if name == "value" {
                primitive_value(node, ty)
            } else {
                Value::Null
            };
        }
        let info = self.types.get(ty);
        if let Some(v) = node.get(name) {
            let (ety, list) = match info.and_then(|i| i.elements.get_key_value(name)) {
                Some((_, e)) => (e.ty, e.list),
                None => (guess_type(v), v.is_array()),
            };
            return wrap(v, ety, list);
        }
        if let Some(choices) = info.and_then(|i| i.choices.get(name)) {
            for (key, cty) in choices {
                if let Some(v) = node.get(key) {
                    return wrap(v, cty, false);
                }
            }
        } else if info.is_none() {
            // Unknown type: find a choice-style key `name` + TypeName.
            if let Some(obj) = node.as_object() {
                for (k, v) in obj.iter() {
                    if let Some(rest) = k.strip_prefix(name) {
                        if rest.starts_with(|c: char| c.is_ascii_uppercase()) {
                            let lower = lower_first(rest);
                            let ty = self
                                .intern(rest)
                                .or_else(|| self.intern(&lower))
                                .unwrap_or("Element");
                            return wrap(v, ty, false);
                        }
                    }
                }
            }
        }
        Value::Null
    }

    /// A resource as a FHIR value typed by its `resourceType`.
    pub fn resource<'a>(&'static self, node: &'a Doc) -> Value<'a> {
        let ty = node
            .get("resourceType")
            .and_then(Doc::as_str)
            .and_then(|t| self.intern(t))
            .unwrap_or("Resource");
        Value::Fhir(node, ty)
    }
}

/// The primitive type a choice key ends with (`onsetDateTime` → `dateTime`).
fn primitive_suffix(key: &str) -> Option<&'static str> {
    PRIMITIVES
        .iter()
        .filter(|p| {
            let up = upper_first(p);
            key.len() > up.len() && key.ends_with(up.as_str())
        })
        .max_by_key(|p| p.len())
        .copied()
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn guess_type(v: &Doc) -> &'static str {
    match v {
        Doc::Bool(_) => "boolean",
        Doc::Number(n) if n.is_i64() => "integer",
        Doc::Number(_) => "decimal",
        Doc::String(_) => "string",
        _ => "Element",
    }
}

fn wrap<'a>(v: &'a Doc, ty: &'static str, list: bool) -> Value<'a> {
    let one = |x: &'a Doc| {
        if ty == "Resource" {
            model().resource(x)
        } else {
            Value::Fhir(x, ty)
        }
    };
    match v {
        Doc::Array(items) => Value::List(Arc::new(items.iter().map(one).collect())),
        Doc::Null => Value::Null,
        x if list => Value::List(Arc::new(vec![one(x)])),
        x => one(x),
    }
}
