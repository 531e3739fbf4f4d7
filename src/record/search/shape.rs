//! `_elements` and `_summary` (`true`, `text`, `data`, `false`): what of each matched resource
//! the Bundle carries. A trimmed resource is tagged SUBSETTED, as the spec requires.

use serde_json::{json, Map, Value};

/// How much of each match to return.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Shape {
    #[default]
    Full,
    /// `_summary=true`: the elements R4 marks isSummary, and the mandatory ones, at every
    /// depth (within a kept element, its type's or backbone's own summary elements).
    Summary,
    /// `_summary=text`: text, id, meta and the top-level mandatory elements we know of.
    Text,
    /// `_summary=data`: everything but the narrative.
    Data,
    /// `_elements=a,b`: these top-level elements (plus id and meta).
    Elements(Vec<String>),
}

impl Shape {
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(mut fields) = resource else {
            return resource;
        };
        let keep: Vec<&str> = match self {
            Shape::Full => return Value::Object(fields),
            Shape::Data => {
                fields.remove("text");
                return subsetted(fields);
            }
            Shape::Summary => {
                let resource_type = fields
                    .get("resourceType")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let mut kept = Map::new();
                for key in ["resourceType", "id", "meta"] {
                    if let Some(value) = fields.remove(key) {
                        kept.insert(key.to_owned(), value);
                    }
                }
                kept.extend(super::summary::trim_resource(&resource_type, fields));
                return subsetted(kept);
            }
            Shape::Text => vec!["text", "status"],
            Shape::Elements(names) => names.iter().map(String::as_str).collect(),
        };
        let mut kept = Map::new();
        for key in ["resourceType", "id", "meta"] {
            if let Some(value) = fields.remove(key) {
                kept.insert(key.to_owned(), value);
            }
        }
        for key in keep {
            if let Some(value) = fields.remove(key) {
                kept.insert(key.to_owned(), value);
            }
            // A primitive's id and extensions travel with it.
            let extra = format!("_{key}");
            if let Some(value) = fields.remove(&extra) {
                kept.insert(extra, value);
            }
        }
        subsetted(kept)
    }
}

fn subsetted(mut fields: Map<String, Value>) -> Value {
    let meta = fields.entry("meta").or_insert_with(|| json!({}));
    if let Value::Object(meta) = meta {
        let tags = meta.entry("tag").or_insert_with(|| json!([]));
        if let Value::Array(tags) = tags {
            tags.push(json!({
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                "code": "SUBSETTED",
            }));
        }
    }
    Value::Object(fields)
}
