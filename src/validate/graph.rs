//! The element-type graph of the schema: which FHIR type each property of each definition has.
//!
//! It serves two purposes: finding the nested resources and extensions in an instance, which are
//! validated separately (see [`super::schema::SEPARATELY_VALIDATED`]), and naming the FHIR type
//! of an element in messages.

use serde_json::Value;
use std::collections::HashMap;

use super::schema::{primitive_for_pattern, ref_target, Definitions, EXTENSION, RESOURCE_LIST};

/// Index of a definition in [`TypeGraph`].
pub(crate) type DefId = usize;

/// The FHIR type of one property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElementType {
    /// A named definition: a datatype, a primitive, a resource or a backbone element.
    Def(DefId),
    /// Any resource, validated by its own `resourceType`'s validator.
    Resource,
    /// A primitive declared inline (choice elements such as `valueDateTime`, coded enums).
    Inline(&'static str),
}

#[derive(Debug)]
struct Definition {
    name: String,
    properties: HashMap<String, ElementType>,
}

/// What the walk over an instance does with an element of some type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visit {
    /// A nested resource: check it with its own type's validator.
    Resource,
    /// An extension: check it with the extension validator, then walk into it.
    Extension(DefId),
    /// A datatype or backbone element: walk into it to find the two above.
    Complex(DefId),
}

#[derive(Debug)]
pub(crate) struct TypeGraph {
    defs: Vec<Definition>,
    index: HashMap<String, DefId>,
    extension: Option<DefId>,
}

impl TypeGraph {
    pub(crate) fn build(definitions: &Definitions) -> Self {
        let index: HashMap<String, DefId> = definitions
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        let defs = definitions
            .iter()
            .map(|(name, def)| Definition {
                name: name.clone(),
                properties: properties_of(def, &index),
            })
            .collect();
        let extension = index.get(EXTENSION).copied();
        Self {
            defs,
            index,
            extension,
        }
    }

    /// How the walk treats an element of type `ty`; `None` for primitives (nothing inside).
    pub(crate) fn visit(&self, ty: ElementType) -> Option<Visit> {
        match ty {
            ElementType::Resource => Some(Visit::Resource),
            ElementType::Def(id) if Some(id) == self.extension => Some(Visit::Extension(id)),
            ElementType::Def(id) => self
                .defs
                .get(id)
                .filter(|d| !d.properties.is_empty())
                .map(|_| Visit::Complex(id)),
            ElementType::Inline(_) => None,
        }
    }

    pub(crate) fn id(&self, name: &str) -> Option<DefId> {
        self.index.get(name).copied()
    }

    pub(crate) fn name(&self, id: DefId) -> &str {
        self.defs.get(id).map_or("", |d| d.name.as_str())
    }

    /// The type of `prop` on an element of type `ty`, if the schema declares it.
    pub(crate) fn property(&self, ty: ElementType, prop: &str) -> Option<ElementType> {
        match ty {
            ElementType::Def(id) => self.defs.get(id)?.properties.get(prop).copied(),
            ElementType::Resource | ElementType::Inline(_) => None,
        }
    }

    /// The declared property names of a definition, for "did you mean" hints.
    pub(crate) fn property_names(&self, ty: ElementType) -> impl Iterator<Item = &str> {
        let props = match ty {
            ElementType::Def(id) => self.defs.get(id).map(|d| &d.properties),
            ElementType::Resource | ElementType::Inline(_) => None,
        };
        props.into_iter().flat_map(|p| p.keys().map(String::as_str))
    }

    /// The FHIR type name of an element type, for messages.
    pub(crate) fn type_name(&self, ty: ElementType) -> &str {
        match ty {
            ElementType::Def(id) => self.name(id),
            ElementType::Resource => "Resource",
            ElementType::Inline(name) => name,
        }
    }
}

fn properties_of(def: &Value, index: &HashMap<String, DefId>) -> HashMap<String, ElementType> {
    let Some(props) = def.get("properties").and_then(Value::as_object) else {
        return HashMap::new();
    };
    props
        .iter()
        .filter_map(|(name, schema)| {
            // Arrays declare their element type under `items`.
            let element = schema.get("items").unwrap_or(schema);
            element_type(element, index).map(|ty| (name.clone(), ty))
        })
        .collect()
}

fn element_type(schema: &Value, index: &HashMap<String, DefId>) -> Option<ElementType> {
    if let Some(target) = ref_target(schema) {
        if target == RESOURCE_LIST {
            return Some(ElementType::Resource);
        }
        return index.get(target).map(|id| ElementType::Def(*id));
    }
    if schema.get("enum").is_some() {
        return Some(ElementType::Inline("code"));
    }
    if schema.get("const").is_some() {
        return Some(ElementType::Inline("code"));
    }
    let pattern = schema.get("pattern").and_then(Value::as_str)?;
    let json_type = schema.get("type").and_then(Value::as_str)?;
    let name = match json_type {
        "boolean" => "boolean",
        "number" => match pattern {
            "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?$" => "decimal",
            "^[1-9][0-9]*$" => "positiveInt",
            "^[0]|([1-9][0-9]*)$" => "unsignedInt",
            _ => "integer",
        },
        _ => primitive_for_pattern(pattern)?,
    };
    Some(ElementType::Inline(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::schema::SHIPPED_SCHEMA;

    fn graph() -> TypeGraph {
        match Definitions::parse(SHIPPED_SCHEMA) {
            Ok(defs) => TypeGraph::build(&defs),
            Err(e) => panic!("shipped schema does not parse: {e}"),
        }
    }

    fn visit_of(g: &TypeGraph, def: &str, prop: &str) -> Option<Visit> {
        let ty = ElementType::Def(g.id(def).unwrap_or(usize::MAX));
        g.property(ty, prop).and_then(|t| g.visit(t))
    }

    #[test]
    fn walk_finds_resources_extensions_and_complex_elements() {
        let g = graph();
        let ext = g.id("Extension").unwrap_or(usize::MAX);
        assert_eq!(visit_of(&g, "Patient", "contained"), Some(Visit::Resource));
        assert_eq!(
            visit_of(&g, "Bundle_Entry", "resource"),
            Some(Visit::Resource)
        );
        assert_eq!(
            visit_of(&g, "Parameters_Parameter", "resource"),
            Some(Visit::Resource)
        );
        assert_eq!(
            visit_of(&g, "HumanName", "extension"),
            Some(Visit::Extension(ext))
        );
        assert_eq!(
            visit_of(&g, "Patient", "modifierExtension"),
            Some(Visit::Extension(ext))
        );
        let element = g.id("Element").unwrap_or(usize::MAX);
        assert_eq!(
            visit_of(&g, "Patient", "_birthDate"),
            Some(Visit::Complex(element))
        );
        assert_eq!(visit_of(&g, "Patient", "birthDate"), None);
        assert_eq!(visit_of(&g, "Observation", "valueBoolean"), None);
    }

    #[test]
    fn element_types_follow_references_and_inline_primitives() {
        let g = graph();
        let patient = ElementType::Def(g.id("Patient").unwrap_or(usize::MAX));
        let birth = g
            .property(patient, "birthDate")
            .map(|t| g.type_name(t).to_owned());
        assert_eq!(birth.as_deref(), Some("date"));
        let name = g
            .property(patient, "name")
            .map(|t| g.type_name(t).to_owned());
        assert_eq!(name.as_deref(), Some("HumanName"));
        let obs = ElementType::Def(g.id("Observation").unwrap_or(usize::MAX));
        let vdt = g
            .property(obs, "effectiveDateTime")
            .map(|t| g.type_name(t).to_owned());
        assert_eq!(vdt.as_deref(), Some("dateTime"));
    }
}
