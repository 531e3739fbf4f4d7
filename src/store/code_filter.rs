//! Deciding from a body's text, before it is parsed into a JSON tree, whether a resource may
//! carry one of the codes a reader wants. Only the one element is decoded (serde skips the
//! rest without building anything), which costs a fraction of a full parse; resources dropped
//! here are never parsed at all.
//!
//! Exact in one direction only, which is the one that matters: a resource is dropped only when
//! its element holds at least one code and none of them is wanted. Anything else (no code at
//! all, say a `medicationReference`; an element in an unexpected shape; text that does not
//! decode) is kept, and the measure engine applies its own filter to what is kept.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::json_members::Members;

/// Keep only resources whose top-level `element` (a CodeableConcept, a list of them or a
/// Coding; for a choice such as `medication[x]` the stem, so `medicationCodeableConcept`
/// counts) has a `code` in `codes`, or has no code.
#[derive(Debug, Clone)]
pub struct CodeFilter {
    pub element: &'static str,
    pub codes: HashSet<String>,
}

impl CodeFilter {
    /// Whether the resource whose JSON text is `body` may be wanted.
    pub fn keeps(&self, body: &str) -> bool {
        self.keeps_walking(body)
            .unwrap_or_else(|| self.keeps_parsing(body))
    }

    /// `keeps` decided from a body's [`stored_codes`], without the body.
    pub fn keeps_stored(&self, stored: &str) -> bool {
        stored.is_empty() || split_stored(stored).any(|c| self.codes.contains(c))
    }

    /// `keeps` by walking the body's top-level members (see `json_members`), decoding only
    /// the element; `None` where the walk cannot tell.
    fn keeps_walking(&self, body: &str) -> Option<bool> {
        Some(
            match walk(self.element, body, &mut |c| self.codes.contains(c))? {
                Walked::Seen(seen) => seen.keeps(),
                // As when parsing: an element the filter cannot read keeps the resource.
                Walked::Unreadable => true,
            },
        )
    }

    /// `keeps` by a serde read of the body, skipping every member but the element.
    fn keeps_parsing(&self, body: &str) -> bool {
        let mut deserializer = serde_json::Deserializer::from_str(body);
        let decided = Cell::new(None);
        let top = Top {
            filter: self,
            decided: &decided,
        };
        match (top.deserialize(&mut deserializer), decided.get()) {
            (_, Some(keep)) => keep,
            (Ok(seen), None) => seen.keeps(),
            (Err(_), None) => true,
        }
    }
}

/// The element a read of this resource type can be narrowed by: the property its retrieves
/// filter codes on (a CodeableConcept, a list of them, or a `[x]` choice of one).
pub fn code_element(resource_type: &str) -> Option<&'static str> {
    Some(match resource_type {
        "Observation" | "Condition" | "Procedure" | "ServiceRequest" | "DiagnosticReport"
        | "AllergyIntolerance" => "code",
        "MedicationRequest"
        | "MedicationAdministration"
        | "MedicationDispense"
        | "MedicationStatement" => "medication",
        "Encounter" => "type",
        "Immunization" => "vaccineCode",
        _ => return None,
    })
}

/// Between the codes of [`stored_codes`]: a control character, which the validator refuses
/// in any text.
const CODE_SEPARATOR: char = '\u{1d}';

/// The codes of a non-empty [`stored_codes`] value.
pub(super) fn split_stored(stored: &str) -> impl Iterator<Item = &str> {
    stored.split(CODE_SEPARATOR)
}

/// What a filter on `element` needs to know of a body, kept beside it so reads can decide
/// without the body: the element's codes, joined; empty when every filter keeps the resource
/// (no code, no element, an element in another shape). `None` where only the body can tell.
pub fn stored_codes(element: &str, body: &str) -> Option<String> {
    let mut codes = String::new();
    let mut separate = false;
    let walked = walk(element, body, &mut |code| {
        if std::mem::replace(&mut separate, true) {
            codes.push(CODE_SEPARATOR);
        }
        codes.push_str(code);
        false
    })?;
    match walked {
        Walked::Seen(seen) if seen.occurrences == 1 && !seen.unknown => {
            let count = codes.split(CODE_SEPARATOR).count();
            // A code holding the separator cannot be told apart from two codes.
            (count == seen.codes as usize || codes.is_empty()).then_some(codes)
        }
        _ => Some(String::new()),
    }
}

/// What walking a body's top-level members found of an element.
enum Walked {
    Seen(Seen),
    /// The element is there but does not decode as codes.
    Unreadable,
}

/// Walks the body's top-level members, decoding only `element` (and its choice variants) and
/// asking `wanted` about each of its codes; `None` where the walk cannot tell.
fn walk(element: &str, body: &str, wanted: &mut dyn FnMut(&str) -> bool) -> Option<Walked> {
    let mut members = Members::new(body);
    let mut seen = Seen::default();
    while let Some(member) = members.next_member() {
        let (key, value) = member?;
        if !names(element, key) {
            continue;
        }
        seen.occurrences += 1;
        match serde_json::from_str::<Element>(value) {
            Ok(Element::Codes(codes)) => codes.iter().for_each(|c| seen.code(&c.0, wanted)),
            Ok(Element::Other) => seen.unknown = true,
            Err(_) => return Some(Walked::Unreadable),
        }
        if key == element {
            return Some(Walked::Seen(seen));
        }
    }
    Some(Walked::Seen(seen))
}

/// Whether `key` names the element: itself, or one of its choice-type variants.
fn names(element: &str, key: &str) -> bool {
    key.strip_prefix(element)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// What the element held.
#[derive(Default)]
struct Seen {
    /// How many keys named the element (several choice variants: keep, whatever they hold).
    occurrences: u32,
    /// How many non-empty codes it held, and whether one was wanted.
    codes: u32,
    matched: bool,
    /// The element had a shape codes are not read from.
    unknown: bool,
}

impl Seen {
    fn keeps(&self) -> bool {
        self.occurrences != 1 || self.unknown || self.matched || self.codes == 0
    }

    fn code(&mut self, code: &str, wanted: &mut dyn FnMut(&str) -> bool) {
        // The token index, which search shares, skips empty codes the same way.
        if !code.is_empty() {
            self.codes += 1;
            self.matched |= wanted(code);
        }
    }
}

/// The resource object: every member skipped except the element.
struct Top<'f> {
    filter: &'f CodeFilter,
    /// Set when the element itself (not a choice variant) has been read: stored bodies are
    /// written from a parsed JSON object (`store::write::stamp`), so no key occurs twice and
    /// the rest of the body need not be scanned. Reading stops there with an error.
    decided: &'f Cell<Option<bool>>,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Seen;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Seen, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Seen;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a resource object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Seen, A::Error> {
        let mut seen = Seen::default();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if names(self.filter.element, &key) {
                seen.occurrences += 1;
                let element: Element = map.next_value()?;
                match element {
                    Element::Codes(codes) => codes
                        .iter()
                        .for_each(|c| seen.code(&c.0, &mut |c| self.filter.codes.contains(c))),
                    Element::Other => seen.unknown = true,
                }
                if *key == *self.filter.element {
                    self.decided.set(Some(seen.keeps()));
                    return Err(de::Error::custom("decided"));
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(seen)
    }
}

/// A string, borrowed from the body unless it had escapes (serde's `Cow` always copies).
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor(PhantomData))
    }
}

struct TextVisitor<'a>(PhantomData<&'a str>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'a>, E> {
        Ok(Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'a>, E> {
        Ok(Text(Cow::Owned(text.to_owned())))
    }
}

/// The codes of a CodeableConcept (`coding[].code`), a list of them, or a Coding (`code`).
enum Element<'de> {
    Codes(Vec<Text<'de>>),
    Other,
}

#[derive(Deserialize)]
struct Concept<'a> {
    #[serde(borrow, default)]
    coding: Vec<Coding<'a>>,
    #[serde(borrow, default)]
    code: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Coding<'a> {
    #[serde(borrow, default)]
    code: Option<Text<'a>>,
}

impl<'a> Concept<'a> {
    fn codes(self, out: &mut Vec<Text<'a>>) {
        out.extend(self.code);
        out.extend(self.coding.into_iter().filter_map(|c| c.code));
    }
}

impl<'de> Deserialize<'de> for Element<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CodeableConcept, a list of them or a Coding")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element<'de>, A::Error> {
        let concept = Concept::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let mut codes = Vec::new();
        concept.codes(&mut codes);
        Ok(Element::Codes(codes))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element<'de>, A::Error> {
        let mut codes = Vec::new();
        while let Some(concept) = seq.next_element::<Concept>()? {
            concept.codes(&mut codes);
        }
        Ok(Element::Codes(codes))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::{stored_codes, CodeFilter};

    fn filter(element: &'static str, codes: &[&str]) -> CodeFilter {
        CodeFilter {
            element,
            codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn drops_only_resources_whose_codes_are_all_unwanted() {
        let f = filter("code", &["8480-6", "85354-9"]);
        let obs = |coding: &str| {
            format!(
                r#"{{"resourceType":"Observation","id":"a","code":{{"coding":[{coding}]}},"status":"final"}}"#
            )
        };
        assert!(f.keeps(&obs(r#"{"system":"http://loinc.org","code":"85354-9"}"#)));
        assert!(f.keeps(&obs(
            r#"{"code":"1-1"},{"system":"http://loinc.org","code":"8480-6"}"#
        )));
        assert!(!f.keeps(&obs(r#"{"system":"http://loinc.org","code":"1-1"}"#)));
        // A code written with escapes is the same code.
        assert!(f.keeps(&obs(r#"{"code":"\u0038480-6"}"#)));
        // The code somewhere else in the resource does not count; a code elsewhere is ignored.
        let elsewhere = r#"{"resourceType":"Observation","code":{"coding":[{"code":"1-1"}]},"valueCodeableConcept":{"coding":[{"code":"8480-6"}]},"note":[{"text":"\"code\":\"8480-6\""}]}"#;
        assert!(!f.keeps(elsewhere));
    }

    #[test]
    fn keeps_resources_without_codes_or_in_unexpected_shapes() {
        let f = filter("medication", &["123"]);
        assert!(f.keeps(
            r#"{"resourceType":"MedicationRequest","medicationReference":{"reference":"Medication/m"}}"#
        ));
        assert!(f.keeps(
            r#"{"resourceType":"MedicationRequest","medicationCodeableConcept":{"text":"aspirin","coding":[{"code":""}]}}"#
        ));
        assert!(!f.keeps(
            r#"{"resourceType":"MedicationRequest","medicationCodeableConcept":{"coding":[{"code":"9"}]}}"#
        ));
        assert!(f.keeps(r#"{"resourceType":"MedicationRequest"}"#));
        // Two choice variants at once: not decided here.
        assert!(f.keeps(
            r#"{"medicationCodeableConcept":{"coding":[{"code":"9"}]},"medicationReference":{"reference":"Medication/m"}}"#
        ));
        // Not JSON the filter understands: kept, and the full parse reports it.
        assert!(f.keeps(r#"{"medicationCodeableConcept":{"coding":[{"code":9}]}}"#));
        assert!(f.keeps("not json"));
        // A key that only starts like the element is another element.
        assert!(!f.keeps(
            r#"{"medicationCodeableConcept":{"coding":[{"code":"9"}]},"medicationsOther":{"coding":[{"code":"123"}]}}"#
        ));
    }

    /// Walking the members answers as the serde read does, wherever it answers.
    #[test]
    fn walking_agrees_with_parsing() {
        let f = filter("code", &["8480-6"]);
        let bodies = [
            r#"{"resourceType":"Observation","id":"a","code":{"coding":[{"code":"8480-6"}]}}"#,
            r#"{"resourceType":"Observation","id":"a","code":{"coding":[{"code":"1"}]}}"#,
            r#" { "id" : "a\"}" , "note":[{"text":"{\"code\":1"}], "code" : { "coding" : [ { "code" : "1" } ] } } "#,
            r#"{"codeCodeableConcept":{"coding":[{"code":"1"}]},"code":{"coding":[{"code":"2"}]}}"#,
            r#"{"codeCodeableConcept":{"coding":[{"code":"1"}]}}"#,
            r#"{"codeCodeableConcept":{"coding":[{"code":"1"}]},"codeString":"x"}"#,
            r#"{"code":[{"coding":[{"code":"1"}]},{"coding":[{"code":"8480-6"}]}]}"#,
            r#"{"code":{"coding":[{"code":"1"}]},"rest":"#,
            r#"{"code":{"coding":[{"code":9}]}}"#,
            r#"{"code":"8480-6"}"#,
            r#"{"code":{"text":"no codes"}}"#,
            r#"{"codes":{"coding":[{"code":"1"}]}}"#,
            r#"{"id":"a","n":-1.5,"b":false,"z":null}"#,
            r#"{}"#,
            "[]",
            "",
        ];
        for body in bodies {
            if let Some(walked) = f.keeps_walking(body) {
                assert_eq!(walked, f.keeps_parsing(body), "{body}");
            }
            assert_eq!(f.keeps(body), f.keeps_parsing(body), "{body}");
        }
        // The common shapes are answered by the walk.
        assert_eq!(f.keeps_walking(bodies[0]), Some(true));
        assert_eq!(f.keeps_walking(bodies[2]), Some(false));
        assert_eq!(f.keeps_walking(bodies[5]), Some(true));
    }

    /// Deciding on the codes kept beside a body answers as the body does, wherever they were
    /// kept; the common shapes always keep them.
    #[test]
    fn stored_codes_decide_as_the_body_does() {
        let bodies = [
            r#"{"resourceType":"Observation","code":{"coding":[{"code":"8480-6"},{"code":"1"}]}}"#,
            r#"{"resourceType":"Observation","code":{"coding":[{"code":"1"},{"code":""}]}}"#,
            r#"{"code":{"text":"no codes"}}"#,
            r#"{"code":{"coding":[{"code":9}]}}"#,
            r#"{"code":"8480-6"}"#,
            r#"{"code":[{"coding":[{"code":"1"}]},{"coding":[{"code":"8480-6"}]}]}"#,
            r#"{"codeCodeableConcept":{"coding":[{"code":"1"}]},"codeString":"x"}"#,
            r#"{"codeCodeableConcept":{"coding":[{"code":"1"}]}}"#,
            r#"{"id":"no element"}"#,
            r#"{"code":{"coding":[{"code":"8480\u001d6"}]}}"#,
            r#"{"code":{"coding":[{"code":"1"}]},"rest":"#,
            "not json",
        ];
        for codes in [&["8480-6"][..], &["1"], &["x"]] {
            let f = filter("code", codes);
            for body in bodies {
                if let Some(stored) = stored_codes("code", body) {
                    assert_eq!(f.keeps_stored(&stored), f.keeps(body), "{codes:?} {body}");
                }
            }
        }
        assert_eq!(
            stored_codes("code", bodies[0]).as_deref(),
            Some("8480-6\u{1d}1")
        );
        assert_eq!(stored_codes("code", bodies[2]).as_deref(), Some(""));
        // A code holding the separator: only the body can tell.
        assert_eq!(stored_codes("code", bodies[9]), None);
    }

    #[test]
    fn reads_lists_of_concepts() {
        let f = filter("type", &["185349003"]);
        assert!(f.keeps(
            r#"{"resourceType":"Encounter","type":[{"coding":[{"code":"1"}]},{"coding":[{"code":"185349003"}]}]}"#
        ));
        assert!(!f.keeps(
            r#"{"resourceType":"Encounter","type":[{"coding":[{"code":"1"}]},{"text":"visit"}]}"#
        ));
        assert!(f.keeps(r#"{"resourceType":"Encounter","type":[]}"#));
    }
}
