//! Type knowledge the evaluator needs: which JSON properties an element name maps to (choice
//! types such as `Observation.value[x]`), and the FHIR type of each element, for `is`, `as`
//! and `ofType()`.
//!
//! Built once, lazily, from the official R4 JSON schema shipped in `fhir-profiles/` (embedded
//! with `include_str!`, so the binary is self-contained). Deriving it at start instead of from
//! a generated table keeps one source of truth and no build script; it costs one parse of the
//! 2.7 MB schema (tens of milliseconds) the first time a FHIRPath expression is evaluated.
//! The schema does not mark choice elements, so they are recognised by their property names:
//! `<name><Type>` where `<Type>` is the element's own type, with at least two such siblings
//! and no plain `<name>` property.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use serde_json::Value;

/// Maps keyed by element and type names. Every lookup on the evaluation path goes through
/// them, so they use FNV-1a rather than SipHash: the keys come from the schema, and inputs
/// only probe, so there is no hash-flooding exposure.
type FastMap<V> = HashMap<Box<str>, V, BuildHasherDefault<Fnv>>;

#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

static SCHEMA: &str = include_str!("../../../fhir-profiles/fhir.schema.json");

/// Index of a type in [`TypeModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeId(u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    Primitive,
    Complex,
    Backbone,
    Resource,
    /// `Resource`/`ResourceList`: the concrete type is read from the JSON `resourceType`.
    AnyResource,
    /// Abstract bases (`Element`, `BackboneElement`, `DomainResource`).
    Abstract,
}

/// How an element name maps to JSON properties.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    Single(TypeId),
    /// A choice element `name[x]`: the JSON property of each allowed type.
    Choice(Box<[(Box<str>, TypeId)]>),
}

#[derive(Debug)]
struct TypeInfo {
    /// Schema definition name, e.g. `Observation_Component`.
    name: Box<str>,
    kind: TypeKind,
    base: Option<TypeId>,
    elements: FastMap<Element>,
}

/// The FHIR R4 type model.
#[derive(Debug)]
pub struct TypeModel {
    types: Vec<TypeInfo>,
    by_name: FastMap<TypeId>,
    any_resource: TypeId,
}

/// Error building the model from the schema (only possible if the embedded file is damaged).
#[derive(Debug, thiserror::Error)]
#[error("the embedded FHIR schema cannot be read: {0}")]
pub struct ModelError(String);

/// `Quantity` profiles and primitive specialisations, which `is`/`ofType` treat as subtypes.
const SUBTYPES: &[(&str, &str)] = &[
    ("Age", "Quantity"),
    ("Count", "Quantity"),
    ("Distance", "Quantity"),
    ("Duration", "Quantity"),
    ("SimpleQuantity", "Quantity"),
    ("MoneyQuantity", "Quantity"),
    ("code", "string"),
    ("id", "string"),
    ("markdown", "string"),
    ("url", "uri"),
    ("canonical", "uri"),
    ("oid", "uri"),
    ("uuid", "uri"),
    ("positiveInt", "integer"),
    ("unsignedInt", "integer"),
    ("DomainResource", "Resource"),
    ("BackboneElement", "Element"),
];

/// Resources that are not DomainResources.
const PLAIN_RESOURCES: &[&str] = &["Binary", "Bundle", "Parameters"];

impl TypeModel {
    /// The shared R4 model, built on first use.
    pub fn r4() -> Result<&'static TypeModel, ModelError> {
        static MODEL: OnceLock<Result<TypeModel, String>> = OnceLock::new();
        MODEL
            .get_or_init(|| TypeModel::from_schema_text(SCHEMA).map_err(|e| e.0))
            .as_ref()
            .map_err(|e| ModelError(e.clone()))
    }

    /// Builds a model from the text of a FHIR JSON schema.
    pub fn from_schema_text(text: &str) -> Result<TypeModel, ModelError> {
        let schema: Value = serde_json::from_str(text).map_err(|e| ModelError(e.to_string()))?;
        let defs = schema
            .get("definitions")
            .and_then(Value::as_object)
            .ok_or_else(|| ModelError("no definitions".into()))?;
        let resources: Vec<&str> = defs
            .get("ResourceList")
            .and_then(|r| r.get("oneOf"))
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(ref_name).collect())
            .unwrap_or_default();
        let mut model = TypeModel {
            types: Vec::new(),
            by_name: FastMap::default(),
            any_resource: TypeId(0),
        };
        model.any_resource = model.add("Resource", TypeKind::AnyResource);
        model.add("ResourceList", TypeKind::AnyResource);
        for name in ["DomainResource", "BackboneElement", "Element"] {
            model.add(name, TypeKind::Abstract);
        }
        for name in defs.keys() {
            let kind = if resources.contains(&name.as_str()) {
                TypeKind::Resource
            } else if name.starts_with(|c: char| c.is_ascii_lowercase()) {
                TypeKind::Primitive
            } else if name.contains('_') {
                TypeKind::Backbone
            } else {
                TypeKind::Complex
            };
            if !model.by_name.contains_key(name.as_str()) {
                model.add(name, kind);
            }
        }
        model.link_bases();
        for (name, def) in defs {
            let Some(props) = def.get("properties").and_then(Value::as_object) else {
                continue;
            };
            let elements = model.elements_of(props);
            if let Some(id) = model.id(name) {
                model.types[id.0 as usize].elements = elements;
            }
        }
        Ok(model)
    }

    fn add(&mut self, name: &str, kind: TypeKind) -> TypeId {
        let id = TypeId(self.types.len() as u32);
        self.types.push(TypeInfo {
            name: name.into(),
            kind,
            base: None,
            elements: FastMap::default(),
        });
        self.by_name.insert(name.into(), id);
        id
    }

    fn link_bases(&mut self) {
        for i in 0..self.types.len() {
            let info = &self.types[i];
            let base_name = SUBTYPES
                .iter()
                .find(|(sub, _)| *sub == &*info.name)
                .map(|(_, base)| *base)
                .or(match info.kind {
                    TypeKind::Resource if PLAIN_RESOURCES.contains(&&*info.name) => {
                        Some("Resource")
                    }
                    TypeKind::Resource => Some("DomainResource"),
                    TypeKind::Backbone => Some("BackboneElement"),
                    TypeKind::Complex if &*info.name != "Element" => Some("Element"),
                    _ => None,
                });
            let base = base_name.and_then(|b| self.id(b));
            self.types[i].base = base;
        }
    }

    /// Element table of one definition: plain elements, then choice groups.
    fn elements_of(&self, props: &serde_json::Map<String, Value>) -> FastMap<Element> {
        let mut elements = FastMap::default();
        let mut groups: HashMap<&str, Vec<(Box<str>, TypeId)>> = HashMap::new();
        for (name, prop) in props {
            if name.starts_with('_') || name == "resourceType" || name == "fhir_comments" {
                continue;
            }
            let declared = prop
                .get("$ref")
                .or_else(|| prop.get("items").and_then(|i| i.get("$ref")))
                .and_then(ref_name)
                .and_then(|n| self.id(n));
            let declared = declared.or_else(|| {
                (prop.get("enum").is_some() || prop.pointer("/items/enum").is_some())
                    .then(|| self.id("code"))
                    .flatten()
            });
            // Inline-pattern primitives (most `value[x]` primitives) name their type only
            // through the property suffix.
            let suffix = choice_split(name, |suffix| self.suffix_type(suffix, declared));
            let ty = declared.or(suffix.map(|(_, t)| t));
            if let Some((prefix, t)) = suffix {
                groups
                    .entry(prefix)
                    .or_default()
                    .push((name.as_str().into(), t));
            }
            if let Some(ty) = ty.or_else(|| self.id("string")) {
                elements.insert(name.as_str().into(), Element::Single(ty));
            }
        }
        for (prefix, members) in groups {
            if members.len() >= 2 && !props.contains_key(prefix) {
                elements.insert(prefix.into(), Element::Choice(members.into_boxed_slice()));
            }
        }
        elements
    }

    /// The type a choice suffix such as `Quantity` or `DateTime` names, when it agrees with the
    /// declared type of the property (or the property declares none).
    fn suffix_type(&self, suffix: &str, declared: Option<TypeId>) -> Option<TypeId> {
        let ty = self.id(suffix).or_else(|| {
            let mut lower = suffix.to_owned();
            lower[..1].make_ascii_lowercase();
            self.id(&lower)
                .filter(|t| self.kind(*t) == TypeKind::Primitive)
        })?;
        match declared {
            Some(d) if d != ty => None,
            _ => Some(ty),
        }
    }

    /// Looks a type up by its schema name.
    pub fn id(&self, name: &str) -> Option<TypeId> {
        self.by_name.get(name).copied()
    }

    /// The names of all resource types.
    pub fn resource_types(&self) -> impl Iterator<Item = &str> + '_ {
        self.types
            .iter()
            .filter(|t| t.kind == TypeKind::Resource)
            .map(|t| &*t.name)
    }

    /// The schema name of a type.
    pub fn name(&self, ty: TypeId) -> &str {
        self.types.get(ty.0 as usize).map_or("", |t| &t.name)
    }

    pub fn kind(&self, ty: TypeId) -> TypeKind {
        self.types
            .get(ty.0 as usize)
            .map_or(TypeKind::Abstract, |t| t.kind)
    }

    /// The element `name` of `ty`, if the model knows it.
    pub fn element(&self, ty: TypeId, name: &str) -> Option<&Element> {
        self.types.get(ty.0 as usize)?.elements.get(name)
    }

    /// The type for a JSON value whose declared type is `ty`: a polymorphic resource slot takes
    /// the concrete type from `resourceType`.
    pub fn concrete(&self, ty: TypeId, json: &Value) -> TypeId {
        if self.kind(ty) != TypeKind::AnyResource {
            return ty;
        }
        json.get("resourceType")
            .and_then(Value::as_str)
            .and_then(|n| self.id(n))
            .unwrap_or(self.any_resource)
    }

    /// The type of a resource by its `resourceType`.
    pub fn resource_type(&self, json: &Value) -> TypeId {
        self.concrete(self.any_resource, json)
    }

    /// Whether `ty` is `name` or derives from it (`Age` is a `Quantity`, `code` a `string`,
    /// every resource a `Resource`). Backbone elements also answer to their path-style name.
    pub fn is_a(&self, ty: TypeId, name: &str) -> bool {
        let mut current = Some(ty);
        let mut guard = 0;
        while let Some(t) = current {
            if self.name(t) == name {
                return true;
            }
            guard += 1;
            if guard > 8 {
                break;
            }
            current = self.types.get(t.0 as usize).and_then(|i| i.base);
        }
        false
    }
}

fn ref_name(v: &Value) -> Option<&str> {
    v.as_str()
        .or_else(|| v.get("$ref").and_then(Value::as_str))
        .and_then(|r| r.strip_prefix("#/definitions/"))
}

/// Finds the first split `prefix` + `Suffix` (Suffix starting upper-case) accepted by `accept`.
fn choice_split(name: &str, accept: impl Fn(&str) -> Option<TypeId>) -> Option<(&str, TypeId)> {
    name.char_indices()
        .skip(1)
        .filter(|(_, c)| c.is_ascii_uppercase())
        .find_map(|(i, _)| accept(&name[i..]).map(|t| (&name[..i], t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> &'static TypeModel {
        TypeModel::r4().unwrap()
    }

    fn choice_members(ty: &str, name: &str) -> Vec<(String, String)> {
        let m = model();
        let Some(Element::Choice(members)) = m.element(m.id(ty).unwrap(), name) else {
            panic!("{ty}.{name} is not a choice");
        };
        members
            .iter()
            .map(|(p, t)| (p.to_string(), m.name(*t).to_owned()))
            .collect()
    }

    #[test]
    fn finds_choice_elements_with_their_types() {
        let value = choice_members("Observation", "value");
        assert!(value.contains(&("valueQuantity".into(), "Quantity".into())));
        assert!(value.contains(&("valueString".into(), "string".into())));
        assert!(value.contains(&("valueDateTime".into(), "dateTime".into())));
        assert_eq!(value.len(), 11);
        let deceased = choice_members("Patient", "deceased");
        assert_eq!(deceased.len(), 2);
        let onset = choice_members("Condition", "onset");
        assert!(onset.contains(&("onsetAge".into(), "Age".into())));
    }

    #[test]
    fn plain_elements_are_not_choices() {
        let m = model();
        let task = m.id("Task").unwrap();
        // Task.reasonCode (CodeableConcept) and Task.reasonReference are separate elements.
        assert!(m.element(task, "reason").is_none());
        let obs = m.id("Observation").unwrap();
        let Some(Element::Single(code)) = m.element(obs, "code") else {
            panic!("Observation.code missing");
        };
        assert_eq!(m.name(*code), "CodeableConcept");
        let Some(Element::Single(status)) = m.element(obs, "status") else {
            panic!("Observation.status missing");
        };
        assert_eq!(m.name(*status), "code");
    }

    #[test]
    fn subtype_chains() {
        let m = model();
        assert!(m.is_a(m.id("Age").unwrap(), "Quantity"));
        assert!(m.is_a(m.id("code").unwrap(), "string"));
        assert!(m.is_a(m.id("Patient").unwrap(), "DomainResource"));
        assert!(m.is_a(m.id("Bundle").unwrap(), "Resource"));
        assert!(!m.is_a(m.id("Bundle").unwrap(), "DomainResource"));
        assert!(!m.is_a(m.id("Quantity").unwrap(), "Age"));
    }
}
