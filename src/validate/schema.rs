//! The shipped R4 JSON schema, cut into one small schema per resource type.
//!
//! Compiling the whole schema (root `oneOf` over 146 types, 680 definitions) once per type costs
//! gigabytes, and validating against the root `oneOf` yields only "not valid under any of the
//! schemas". So each resource type gets a schema holding just the definitions it reaches, with
//! `ResourceList` (contained resources, Bundle entries, Parameters resources) and `Extension`
//! replaced by a plain object check: those are validated separately by their own validators.

use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

use super::formats::format_name;
use super::ValidateError;

/// The official FHIR R4 JSON schema, built into the binary so it is self-contained.
pub(crate) const SHIPPED_SCHEMA: &str = include_str!("../../fhir-profiles/fhir.schema.json");

/// The definition every nested resource points at (a `oneOf` over all resource types).
pub(crate) const RESOURCE_LIST: &str = "ResourceList";

/// The definition of extensions.
pub(crate) const EXTENSION: &str = "Extension";

/// The definition of a primitive's id and extensions (`_birthDate`).
const ELEMENT: &str = "Element";

/// Definitions that compiled schemas only check to be objects; they get their own validators.
///
/// Nested resources go to their own type's validator. Extensions are everywhere (every element
/// has `extension`) and their `value[x]` reaches every datatype, so jsonschema, which inlines
/// each `$ref` at each use, would copy all datatypes under every element: seconds to compile and
/// most of a gigabyte for 146 types. Validated separately they compile once.
pub(crate) const SEPARATELY_VALIDATED: &[&str] = &[RESOURCE_LIST, EXTENSION];

/// FHIR caps strings at 1 MB; checking the length first also spares the regex a huge input.
pub(crate) const MAX_STRING_CHARS: u64 = 1_048_576;

const DEF_PREFIX: &str = "#/definitions/";

// Patterns of the number-typed primitives. JSON-schema `pattern` ignores numbers, so the published
// schema lets 1.5 pass as an `integer`; these are tightened to JSON-schema integers.
const INTEGER_PATTERN: &str = "^-?([0]|([1-9][0-9]*))$";
const POSITIVE_INT_PATTERN: &str = "^[1-9][0-9]*$";
const UNSIGNED_INT_PATTERN: &str = "^[0]|([1-9][0-9]*)$";
const STRING_PATTERN: &str = "^[ \\r\\n\\t\\S]+$";

/// The `definitions` of the shipped schema.
pub(crate) struct Definitions {
    defs: Map<String, Value>,
    /// The resource type names of the root discriminator, sorted.
    resource_types: Vec<String>,
}

impl Definitions {
    pub(crate) fn parse(text: &str) -> Result<Self, ValidateError> {
        let mut root: Value = serde_json::from_str(text).map_err(ValidateError::SchemaJson)?;
        let defs = match root.get_mut("definitions").map(Value::take) {
            Some(Value::Object(defs)) => defs,
            _ => return Err(ValidateError::SchemaShape("no `definitions` object".into())),
        };
        let mapping = root
            .pointer("/discriminator/mapping")
            .and_then(Value::as_object)
            .ok_or_else(|| ValidateError::SchemaShape("no `discriminator.mapping`".into()))?;
        let mut resource_types: Vec<String> = mapping.keys().cloned().collect();
        resource_types.sort();
        let mut defs = defs;
        add_canonical_extensions(&mut defs);
        // Extension.url is 1..1 in R4; the JSON schema, mirroring an XML attribute, omits it.
        if let Some(extension) = defs.get_mut(EXTENSION).and_then(Value::as_object_mut) {
            extension.insert("required".to_owned(), json!(["url"]));
        }
        Ok(Self {
            defs,
            resource_types,
        })
    }

    pub(crate) fn resource_types(&self) -> &[String] {
        &self.resource_types
    }

    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.defs.get(name)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.defs.iter()
    }

    /// A standalone draft-06 schema rooted at one definition (a resource type, or `Extension`):
    /// the root inline, plus the definitions it reaches, with descriptions dropped, primitives
    /// tightened, and the [`SEPARATELY_VALIDATED`] definitions reduced to an object check.
    pub(crate) fn pruned_schema(&self, root: &str) -> Result<Value, ValidateError> {
        let root_def = self
            .defs
            .get(root)
            .ok_or_else(|| ValidateError::SchemaShape(format!("no definition for {root}")))?;
        let mut reached = BTreeSet::new();
        let mut pending = Vec::new();
        collect_refs(root_def, &mut pending);
        while let Some(name) = pending.pop() {
            if !reached.insert(name.clone()) || SEPARATELY_VALIDATED.contains(&name.as_str()) {
                continue;
            }
            let def = self.defs.get(&name).ok_or_else(|| {
                ValidateError::SchemaShape(format!("dangling reference to {name}"))
            })?;
            collect_refs(def, &mut pending);
        }
        let mut definitions = Map::new();
        for name in reached {
            let def = if SEPARATELY_VALIDATED.contains(&name.as_str()) {
                json!({ "type": "object" })
            } else {
                self.defs
                    .get(&name)
                    .map(|def| tighten(def, &self.defs))
                    .unwrap_or(Value::Null)
            };
            definitions.insert(name, def);
        }
        let mut schema = match tighten(root_def, &self.defs) {
            Value::Object(map) => map,
            _ => {
                return Err(ValidateError::SchemaShape(format!(
                    "{root} is not an object"
                )))
            }
        };
        schema.insert(
            "$schema".to_owned(),
            json!("http://json-schema.org/draft-06/schema#"),
        );
        schema.insert("definitions".to_owned(), Value::Object(definitions));
        Ok(Value::Object(schema))
    }
}

/// Adds the `_name` sibling (id and extensions of a primitive) that the published R4 schema
/// forgets for `canonical` elements, e.g. `StructureDefinition._baseDefinition`, which the
/// official examples use.
fn add_canonical_extensions(defs: &mut Map<String, Value>) {
    const CANONICAL: &str = "#/definitions/canonical";
    for def in defs.values_mut() {
        let Some(props) = def.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        let missing: Vec<(String, bool)> = props
            .iter()
            .filter(|(name, _)| !props.contains_key(&format!("_{name}")))
            .filter_map(|(name, schema)| {
                let single = schema.get("$ref").and_then(Value::as_str) == Some(CANONICAL);
                let many = schema.pointer("/items/$ref").and_then(Value::as_str) == Some(CANONICAL);
                (single || many).then(|| (name.clone(), many))
            })
            .collect();
        for (name, many) in missing {
            let element = json!({ "$ref": format!("{DEF_PREFIX}Element") });
            let schema = if many {
                json!({ "items": element, "type": "array" })
            } else {
                element
            };
            props.insert(format!("_{name}"), schema);
        }
    }
}

/// The definition name a `$ref` points at, if it is a local definition reference.
pub(crate) fn ref_target(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix(DEF_PREFIX)
}

fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(target) = ref_target(schema) {
                out.push(target.to_owned());
            }
            // Descriptions are text; but an element may be *named* `description`.
            for (key, value) in map {
                if !(key == "description" && value.is_string()) {
                    collect_refs(value, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}

/// A copy of a schema node without descriptions and with the primitive checks tightened.
fn tighten(schema: &Value, defs: &Map<String, Value>) -> Value {
    match schema {
        Value::Object(map) => {
            if let Some(replacement) = tightened_primitive(map) {
                return replacement;
            }
            let mut out: Map<String, Value> = map
                .iter()
                .filter(|(key, value)| !(key.as_str() == "description" && value.is_string()))
                .map(|(key, value)| {
                    // `properties` and `enum`/`const` hold data, not schemas: only recurse into
                    // the values of a `properties` map.
                    let value = match key.as_str() {
                        "properties" => match value {
                            Value::Object(props) => Value::Object(
                                props
                                    .iter()
                                    .map(|(k, v)| (k.clone(), tighten(v, defs)))
                                    .collect(),
                            ),
                            other => other.clone(),
                        },
                        "items" => tighten_items(value, defs),
                        _ => value.clone(),
                    };
                    (key.clone(), value)
                })
                .collect();
            // ele-1: no element is empty. FHIR JSON has no empty arrays and no empty objects.
            if map.get("type").and_then(Value::as_str) == Some("array") {
                out.insert("minItems".to_owned(), json!(1));
            }
            if map.contains_key("properties") {
                out.insert("minProperties".to_owned(), json!(1));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The replacement for a primitive's `type` + `pattern`, if it has one: integers become JSON
/// integers, string patterns become the formats of [`super::formats`], and the patterns the
/// schema puts on booleans and decimals (which `pattern` ignores anyway) are dropped.
/// Array items of a primitive (`given`) or of its id and extensions (`_given`) may be `null`:
/// FHIR JSON keeps the two arrays aligned with nulls when only some values have extensions
/// (`"given": ["Jo", null], "_given": [null, {"extension": [...]}]`). The published schema
/// forbids that, so those items are inlined with `null` added to their type.
fn tighten_items(items: &Value, defs: &Map<String, Value>) -> Value {
    let target = ref_target(items).and_then(|name| Some((name, defs.get(name)?)));
    match target {
        Some((name, def)) if name == ELEMENT || is_primitive(def) => {
            let mut inlined = tighten(def, defs);
            if let Value::Object(map) = &mut inlined {
                let nullable = match map.get("type") {
                    Some(Value::String(json_type)) => json!([json_type, "null"]),
                    _ => json!(["object", "null"]),
                };
                map.insert("type".to_owned(), nullable);
            }
            inlined
        }
        _ => tighten(items, defs),
    }
}

/// A primitive definition has a JSON `type` and no properties (`xhtml`, `{}`, is left alone).
fn is_primitive(def: &Value) -> bool {
    def.get("properties").is_none() && def.get("type").is_some_and(Value::is_string)
}

fn tightened_primitive(map: &Map<String, Value>) -> Option<Value> {
    let pattern = map.get("pattern")?.as_str()?;
    let json_type = map.get("type")?.as_str()?;
    match (json_type, pattern) {
        ("number", INTEGER_PATTERN) => Some(json!({ "type": "integer" })),
        ("number", POSITIVE_INT_PATTERN) => Some(json!({ "type": "integer", "minimum": 1 })),
        ("number", UNSIGNED_INT_PATTERN) => Some(json!({ "type": "integer", "minimum": 0 })),
        ("number" | "boolean", _) => Some(json!({ "type": json_type })),
        ("string", STRING_PATTERN) => Some(json!({
            "type": "string",
            "maxLength": MAX_STRING_CHARS,
            "format": format_name("string"),
        })),
        ("string", _) => {
            let primitive = primitive_for_pattern(pattern)?;
            Some(json!({ "type": "string", "format": format_name(primitive) }))
        }
        _ => None,
    }
}

/// The FHIR primitive type a `pattern` belongs to, for messages about inline primitive elements.
pub(crate) fn primitive_for_pattern(pattern: &str) -> Option<&'static str> {
    const KNOWN: &[(&str, &str)] = &[
        (STRING_PATTERN, "string"),
        ("^\\S*$", "uri"),
        ("^[^\\s]+(\\s[^\\s]+)*$", "code"),
        ("^[A-Za-z0-9\\-\\.]{1,64}$", "id"),
        ("^urn:oid:[0-2](\\.(0|[1-9][0-9]*))+$", "oid"),
        (
            "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            "uuid",
        ),
        ("^(\\s*([0-9a-zA-Z\\+/=]){4}\\s*)+$", "base64Binary"),
        (
            "^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?$",
            "time",
        ),
    ];
    if let Some((_, name)) = KNOWN.iter().find(|(p, _)| *p == pattern) {
        return Some(name);
    }
    // The three date-like patterns share a prefix; tell them apart by what follows the day.
    if pattern.starts_with("^([0-9]([0-9]([0-9][1-9]") {
        return Some(if pattern.contains("(Z|") {
            if pattern.contains(")?)?)?$") {
                "dateTime"
            } else {
                "instant"
            }
        } else {
            "date"
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Definitions {
        match Definitions::parse(SHIPPED_SCHEMA) {
            Ok(defs) => defs,
            Err(e) => panic!("shipped schema does not parse: {e}"),
        }
    }

    #[test]
    fn pruned_patient_keeps_only_reachable_definitions() {
        let schema = match shipped().pruned_schema("Patient") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let defs = &schema["definitions"];
        assert!(defs.get("HumanName").is_some());
        assert!(defs.get("Patient_Contact").is_some());
        assert!(defs.get("Observation").is_none(), "other resources are cut");
        assert!(defs.get("Dosage").is_none(), "only extensions reach Dosage");
        assert_eq!(defs["ResourceList"], json!({ "type": "object" }));
        assert_eq!(defs["Extension"], json!({ "type": "object" }));
        assert_eq!(
            schema["properties"]["resourceType"],
            json!({ "const": "Patient" })
        );
        assert_eq!(defs["positiveInt"]["type"], "integer");
        assert_eq!(
            defs["date"],
            json!({ "type": "string", "format": "fhir-date" })
        );
        assert_eq!(defs["boolean"], json!({ "type": "boolean" }));
        assert!(schema["properties"]["gender"].get("description").is_none());
    }

    #[test]
    fn date_like_patterns_are_told_apart() {
        let defs = shipped();
        for name in [
            "date", "dateTime", "instant", "time", "id", "code", "oid", "uuid",
        ] {
            let pattern = defs.get(name).and_then(|d| d["pattern"].as_str());
            assert_eq!(
                pattern.and_then(primitive_for_pattern),
                Some(name),
                "{name}"
            );
        }
    }

    #[test]
    fn canonical_elements_get_their_extension_sibling() {
        let defs = shipped();
        let sd = defs.get("StructureDefinition").map(|d| &d["properties"]);
        assert_eq!(
            sd.map(|p| &p["_baseDefinition"]),
            Some(&json!({ "$ref": "#/definitions/Element" }))
        );
        let ty = defs
            .get("ElementDefinition_Type")
            .map(|d| &d["properties"]["_profile"]);
        assert_eq!(ty.map(|p| &p["type"]), Some(&json!("array")));
    }

    #[test]
    fn unknown_type_is_an_error() {
        assert!(shipped().pruned_schema("NotAType").is_err());
    }
}
