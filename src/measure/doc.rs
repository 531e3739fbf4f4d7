//! FHIR data as the evaluator reads it: a JSON tree whose objects are lists of fields.
//!
//! Population runs parse every stored resource they reach, and parsing into
//! `serde_json::Value` (an order-keeping hash map per object, every key hashed) was the
//! largest cost of a run. FHIR objects have a handful of fields each, so a linear scan finds a
//! field as fast as a hash would, and building a list instead of a map parses about 40% faster.
//! Numbers stay `serde_json::Number`, so comparing two trees behaves as it did on `Value`.

use std::cell::Cell;
use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

pub use super::doc_text::Text;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Doc {
    #[default]
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Text),
    Array(Vec<Doc>),
    Object(Fields),
}

/// An object's fields in document order. A key given twice keeps both; `get` finds the first.
#[derive(Debug, Clone, Default)]
pub struct Fields(Box<[(Text, Doc)]>);

/// Objects are equal with the same fields in any order, as JSON objects are.
impl PartialEq for Fields {
    fn eq(&self, other: &Fields) -> bool {
        self.0.len() == other.0.len()
            && (self.0.iter().zip(other.0.iter()).all(|(a, b)| a == b)
                || self.iter().all(|(k, v)| other.get(k) == Some(v)))
    }
}

impl Fields {
    pub fn get(&self, key: &str) -> Option<&Doc> {
        self.0.iter().find(|(k, _)| &**k == key).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Doc)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Doc {
    /// The field `key` of an object; `None` for anything else.
    pub fn get(&self, key: &str) -> Option<&Doc> {
        match self {
            Doc::Object(fields) => fields.get(key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Doc::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Doc>> {
        match self {
            Doc::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Fields> {
        match self {
            Doc::Object(fields) => Some(fields),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Doc::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Doc::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Doc::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Doc::Array(_))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Doc::Null)
    }

    /// The same tree as `serde_json::Value`, for reports and the API.
    pub fn to_json(&self) -> serde_json::Value {
        // Cannot fail: every key is a string and every number finite.
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// `doc["key"]`: the field, or null where there is none (as on `serde_json::Value`).
impl std::ops::Index<&str> for Doc {
    type Output = Doc;

    fn index(&self, key: &str) -> &Doc {
        static NULL: Doc = Doc::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl From<&serde_json::Value> for Doc {
    fn from(value: &serde_json::Value) -> Doc {
        // Cannot fail: the visitor takes every JSON value.
        Doc::deserialize(value).unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Doc, D::Error> {
        // One scratch per thread, kept between documents: a run parses millions of objects.
        let mut scratch = SCRATCH.take();
        scratch.fields.clear();
        scratch.items.clear();
        let doc = DocSeed {
            scratch: &mut scratch,
        }
        .deserialize(deserializer);
        SCRATCH.set(scratch);
        doc
    }
}

thread_local! {
    static SCRATCH: Cell<Scratch> = Cell::new(Scratch::default());
}

/// Members and items of the objects and arrays being parsed, innermost last. Each object
/// or array is collected here and then moved into an allocation of its exact size: pushing
/// into a fresh `Vec` (serde_json gives no size hint) grows it several times and shrinks it
/// once, each a reallocation and a copy.
#[derive(Default)]
struct Scratch {
    fields: Vec<(Text, Doc)>,
    items: Vec<Doc>,
}

struct DocSeed<'s> {
    scratch: &'s mut Scratch,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_> {
    type Value = Doc;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Doc, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_> {
    type Value = Doc;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Doc, E> {
        Ok(Doc::Null)
    }

    fn visit_none<E>(self) -> Result<Doc, E> {
        Ok(Doc::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Doc, E> {
        Ok(Doc::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Doc, E> {
        Ok(Doc::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Doc, E> {
        Ok(Doc::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Doc, E> {
        // JSON text has no NaN or infinity; serde_json's `Value` makes them null as well.
        Ok(serde_json::Number::from_f64(n).map_or(Doc::Null, Doc::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Doc, E> {
        Ok(Doc::String(s.into()))
    }

    fn visit_string<E>(self, s: String) -> Result<Doc, E> {
        Ok(Doc::String(s.into()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
        let start = self.scratch.items.len();
        while let Some(item) = seq.next_element_seed(DocSeed {
            scratch: &mut *self.scratch,
        })? {
            self.scratch.items.push(item);
        }
        Ok(Doc::Array(self.scratch.items.drain(start..).collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
        let start = self.scratch.fields.len();
        while let Some(key) = map.next_key::<Key>()? {
            let value = map.next_value_seed(DocSeed {
                scratch: &mut *self.scratch,
            })?;
            self.scratch.fields.push((key.0, value));
        }
        let fields: Box<[(Text, Doc)]> = self.scratch.fields.drain(start..).collect();
        Ok(Doc::Object(Fields(fields)))
    }
}

/// A field name, taken from the input without an intermediate `String` where it can be.
struct Key(Text);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, s: &str) -> Result<Key, E> {
                Ok(Key(s.into()))
            }
            fn visit_string<E>(self, s: String) -> Result<Key, E> {
                Ok(Key(s.into()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Doc::Null => serializer.serialize_unit(),
            Doc::Bool(b) => serializer.serialize_bool(*b),
            Doc::Number(n) => n.serialize(serializer),
            Doc::String(s) => serializer.serialize_str(s),
            Doc::Array(items) => serializer.collect_seq(items),
            Doc::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (k, v) in fields.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Doc;
    use serde_json::json;

    #[test]
    fn parses_fields_in_order_and_keeps_numbers_exact() {
        let text = r#"{"resourceType":"Observation","valueQuantity":{"value":120.50,"unit":"mm[Hg]"},"component":[{"n":7},{"n":-3}],"flag":true,"none":null}"#;
        let doc: Doc = serde_json::from_str(text).expect("valid JSON");
        let keys: Vec<&str> = doc.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            ["resourceType", "valueQuantity", "component", "flag", "none"]
        );
        assert_eq!(
            doc.get("valueQuantity")
                .and_then(|q| q.get("value"))
                .and_then(Doc::as_f64),
            Some(120.5)
        );
        let component = doc.get("component").and_then(Doc::as_array).expect("array");
        assert_eq!(component[1].get("n").and_then(Doc::as_i64), Some(-3));
        assert_eq!(doc.get("flag").and_then(Doc::as_bool), Some(true));
        assert!(doc.get("none").is_some_and(Doc::is_null));
        assert_eq!(doc.get("missing"), None);
    }

    #[test]
    fn converts_to_and_from_serde_json_unchanged() {
        let value = json!({"id": "a", "n": [1, 2.5, -4], "s": "é\"", "o": {"b": false}});
        let doc = Doc::from(&value);
        assert_eq!(doc.to_json(), value);
        let parsed: Doc = serde_json::from_str(&value.to_string()).expect("valid JSON");
        assert_eq!(parsed, doc);
        assert_eq!(serde_json::to_value(&doc).expect("serializable"), value);
    }

    #[test]
    fn objects_compare_without_regard_to_field_order() {
        let a: Doc = serde_json::from_str(r#"{"system":"s","code":"c"}"#).expect("valid JSON");
        let b: Doc = serde_json::from_str(r#"{"code":"c","system":"s"}"#).expect("valid JSON");
        let c: Doc = serde_json::from_str(r#"{"code":"c","system":"t"}"#).expect("valid JSON");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, Doc::from(&json!({"code": "c"})));
    }
}
