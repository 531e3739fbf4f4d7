//! `resolve()` without a database: contained references resolve to the contained resource,
//! other references to their target type read from the reference string, which is what search
//! expressions such as `subject.where(resolve() is Patient)` need.

use serde_json::Value;

use super::item::Item;
use super::model::{TypeKind, TypeModel};

/// Resolves a Reference (or canonical/uri) item to its target. Implement it to resolve against
/// a store or a Bundle; [`LocalResolver`] is the default.
pub trait ReferenceResolver: Sync {
    fn resolve<'a>(&self, reference: &Item<'a>, root: &Item<'a>) -> Option<Item<'a>>;
}

/// Resolves `#id` to a contained resource and anything else to the type its URL names.
#[derive(Debug, Clone, Copy)]
pub struct LocalResolver {
    pub(crate) model: &'static TypeModel,
}

impl LocalResolver {
    pub fn new(model: &'static TypeModel) -> Self {
        Self { model }
    }
}

impl ReferenceResolver for LocalResolver {
    fn resolve<'a>(&self, reference: &Item<'a>, root: &Item<'a>) -> Option<Item<'a>> {
        let json = reference.json()?;
        let (text, declared_type) = match json {
            Value::String(s) => (Some(s.as_str()), None),
            Value::Object(obj) => (
                obj.get("reference").and_then(Value::as_str),
                obj.get("type").and_then(Value::as_str),
            ),
            _ => return None,
        };
        if let Some(local) = text.and_then(|t| t.strip_prefix('#')) {
            let contained = root.json()?.get("contained")?.as_array()?;
            let target = contained
                .iter()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(local))?;
            return Some(Item::node(target, Some(self.model.resource_type(target))));
        }
        let is_resource = |t: &str| {
            self.model
                .id(t)
                .is_some_and(|id| self.model.kind(id) == TypeKind::Resource)
        };
        let from_url = text
            .and_then(|t| ReferenceParts::parse(t).resource_type)
            .filter(|t| is_resource(t));
        from_url
            .or(declared_type.filter(|t| is_resource(t)))
            .map(Item::ResolvedType)
    }
}

/// The pieces of a literal reference: `Patient/1`, `Patient/1/_history/2`,
/// `https://host/fhir/Patient/1`, `#contained`, `urn:uuid:...`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReferenceParts<'s> {
    /// Service base of an absolute reference, without the trailing `/`.
    pub base: Option<&'s str>,
    pub resource_type: Option<&'s str>,
    pub id: Option<&'s str>,
    pub version: Option<&'s str>,
}

impl<'s> ReferenceParts<'s> {
    /// Splits a reference string. Type and id are only set for the `[base/]Type/id[/_history/v]`
    /// shape, with a type that starts upper-case; other strings yield empty parts.
    pub fn parse(reference: &'s str) -> ReferenceParts<'s> {
        let reference = reference.split(['?', '#']).next().unwrap_or(reference);
        let (path, version) = match reference.find("/_history/") {
            Some(i) => (&reference[..i], Some(&reference[i + "/_history/".len()..])),
            None => (reference, None),
        };
        if path.starts_with("urn:") {
            return ReferenceParts::default();
        }
        let mut segments = path.rsplitn(3, '/');
        let (Some(id), Some(ty)) = (segments.next(), segments.next()) else {
            return ReferenceParts::default();
        };
        let valid_type = ty.starts_with(|c: char| c.is_ascii_uppercase())
            && ty.chars().all(|c| c.is_ascii_alphanumeric());
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid_type || !valid_id {
            return ReferenceParts::default();
        }
        ReferenceParts {
            base: segments.next().filter(|b| b.contains("://")),
            resource_type: Some(ty),
            id: Some(id),
            version: version.filter(|v| !v.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_relative_absolute_and_versioned_references() {
        let p = ReferenceParts::parse("Patient/123");
        assert_eq!(
            (p.resource_type, p.id, p.base),
            (Some("Patient"), Some("123"), None)
        );
        let p = ReferenceParts::parse("https://ehr.example/fhir/R4/Patient/a-1/_history/3");
        assert_eq!(p.base, Some("https://ehr.example/fhir/R4"));
        assert_eq!(p.resource_type, Some("Patient"));
        assert_eq!(p.id, Some("a-1"));
        assert_eq!(p.version, Some("3"));
        assert_eq!(
            ReferenceParts::parse("urn:uuid:1234"),
            ReferenceParts::default()
        );
        assert_eq!(ReferenceParts::parse("#p1"), ReferenceParts::default());
        assert_eq!(
            ReferenceParts::parse("patient/1"),
            ReferenceParts::default()
        );
    }
}
