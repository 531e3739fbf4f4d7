//! What `_summary=true` keeps, at every depth, derived from the R4 StructureDefinitions
//! (isSummary or mandatory) by `scripts/gen-summary-elements.js` into
//! `fhir-profiles/summary-elements.json`: per resource type, backbone element (by path) and
//! complex datatype, the properties kept and the definition that trims each one's value.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

static SUMMARY_ELEMENTS: &str = include_str!("../../../fhir-profiles/summary-elements.json");

/// Kept property → the definition that trims its value (`None`: kept whole).
type Definition = HashMap<String, Option<String>>;

fn definition(name: &str) -> Option<&'static Definition> {
    static TABLE: OnceLock<HashMap<String, Definition>> = OnceLock::new();
    TABLE
        .get_or_init(|| serde_json::from_str(SUMMARY_ELEMENTS).unwrap_or_default())
        .get(name)
}

/// The summary of a resource's properties (without `resourceType`, `id` and `meta`, which the
/// caller keeps); nothing for an unknown type.
pub(super) fn trim_resource(resource_type: &str, fields: Map<String, Value>) -> Map<String, Value> {
    match definition(resource_type) {
        Some(definition) => trim_object(definition, fields),
        None => Map::new(),
    }
}

/// Keeps the properties `definition` lists, in their order, each trimmed by its own
/// definition. A primitive's id and extensions (`_name`) travel with it.
fn trim_object(kept_here: &Definition, fields: Map<String, Value>) -> Map<String, Value> {
    let mut kept = Map::new();
    for (key, value) in fields {
        let name = key.strip_prefix('_').unwrap_or(&key);
        let Some(trimmed_by) = kept_here.get(name) else {
            continue;
        };
        // `_name` holds a primitive's extensions: kept whole.
        let inner = match trimmed_by {
            Some(inner) if !key.starts_with('_') => definition(inner),
            _ => None,
        };
        let value = match inner {
            Some(inner) => trim_value(inner, value),
            None => value,
        };
        kept.insert(key, value);
    }
    kept
}

fn trim_value(definition: &Definition, value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(trim_object(definition, fields)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| trim_value(definition, item))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::{definition, trim_resource};
    use serde_json::json;

    #[test]
    fn summary_elements_come_from_the_definitions() {
        let observation = definition("Observation").expect("Observation");
        for kept in [
            "status",
            "code",
            "subject",
            "valueQuantity",
            "effectiveDateTime",
            "component",
        ] {
            assert!(observation.contains_key(kept), "{kept}");
        }
        for dropped in ["note", "interpretation", "referenceRange", "text"] {
            assert!(!observation.contains_key(dropped), "{dropped}");
        }
        assert_eq!(definition("Patient").map(|d| d.len()), Some(14));
        assert!(definition("Attachment").is_some_and(|d| !d.contains_key("data")));
        assert!(definition("NoSuchType").is_none());
    }

    #[test]
    fn nested_elements_are_trimmed_by_their_own_definitions() {
        let resource = json!({
            "component": [{"code": {"text": "c"}, "interpretation": [{"text": "h"}],
                           "valueQuantity": {"value": 1, "extension": [{"url": "urn:x"}]}}],
            "_status": {"extension": [{"url": "urn:s", "valueString": "v"}]},
            "status": "final",
        });
        let fields = resource.as_object().cloned().unwrap_or_default();
        assert_eq!(
            serde_json::Value::Object(trim_resource("Observation", fields)),
            json!({
                "component": [{"code": {"text": "c"}, "valueQuantity": {"value": 1}}],
                "_status": {"extension": [{"url": "urn:s", "valueString": "v"}]},
                "status": "final",
            })
        );
    }
}
