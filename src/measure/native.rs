//! Native implementations of FHIRHelpers' `external` functions (those the
//! ELM declares but does not define), over the patient's data.

use std::sync::Arc;

use super::eval::{property, rt_err, Cx, R};
use super::model::model;
use super::value::{Doc, Tuple, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    Resolve,
    Reference,
    Extension,
    ModifierExtension,
    HasValue,
    GetValue,
    MemberOf,
    CheckModifiers,
    ConformsTo,
    HtmlChecks,
    Subsumes,
    SubsumedBy,
}

impl Native {
    /// The native behind an external function of `library`, if implemented.
    pub fn lookup(library: &str, name: &str) -> Option<Native> {
        if library != "FHIRHelpers" {
            return None;
        }
        Some(match name {
            "resolve" => Native::Resolve,
            "reference" => Native::Reference,
            "extension" => Native::Extension,
            "modifierExtension" => Native::ModifierExtension,
            "hasValue" => Native::HasValue,
            "getValue" => Native::GetValue,
            "memberOf" => Native::MemberOf,
            "checkModifiers" => Native::CheckModifiers,
            "conformsTo" => Native::ConformsTo,
            "htmlChecks" => Native::HtmlChecks,
            "subsumes" => Native::Subsumes,
            "subsumedBy" => Native::SubsumedBy,
            _ => return None,
        })
    }
}

fn text(v: &Value) -> Option<Arc<str>> {
    match v.to_system() {
        Value::Str(s) => Some(s.to_arc()),
        _ => None,
    }
}

/// `Type/id` of a reference string (relative, absolute or versioned).
fn type_and_id(reference: &str) -> Option<(&str, &str)> {
    let r = reference.split("/_history/").next().unwrap_or(reference);
    let mut parts = r.rsplit('/');
    let id = parts.next()?;
    let ty = parts.next()?;
    Some((ty, id))
}

pub fn call<'a>(cx: &mut Cx<'a>, native: Native, args: Vec<Value<'a>>) -> R<'a> {
    let first = args.first().cloned().unwrap_or_default();
    if first.is_null() {
        return Ok(Value::Null);
    }
    match native {
        Native::Resolve => {
            let reference = match &first {
                Value::Str(_) => text(&first),
                other => text(&property(other, "reference")),
            };
            let Some(reference) = reference else {
                return Ok(Value::Null);
            };
            let Some((ty, id)) = type_and_id(&reference) else {
                return Ok(Value::Null);
            };
            let data = cx.data;
            Ok(data
                .resources(ty)
                .iter()
                .find(|r| r.get("id").and_then(Doc::as_str) == Some(id))
                .map_or(Value::Null, |r| model().resource(r)))
        }
        Native::Reference => {
            let Value::Fhir(node, ty) = first else {
                return Err(rt_err("reference() of a non-resource"));
            };
            let id = node.get("id").and_then(Doc::as_str).unwrap_or_default();
            let string = Value::Tuple(Arc::new(Tuple {
                class: Some(Arc::from("string")),
                fields: vec![(Arc::from("value"), Value::str(&format!("{ty}/{id}")))],
            }));
            Ok(Value::Tuple(Arc::new(Tuple {
                class: Some(Arc::from("Reference")),
                fields: vec![(Arc::from("reference"), string)],
            })))
        }
        Native::Extension | Native::ModifierExtension => {
            let key = if native == Native::Extension {
                "extension"
            } else {
                "modifierExtension"
            };
            let url = args.get(1).and_then(text);
            let Value::List(items) = property(&first, key) else {
                return Ok(Value::list(Vec::new()));
            };
            Ok(Value::list(
                items
                    .iter()
                    .filter(|e| url.is_none() || text(&property(e, "url")) == url)
                    .cloned()
                    .collect(),
            ))
        }
        Native::HasValue => Ok(Value::Bool(!first.to_system().is_null())),
        Native::GetValue => Ok(first.to_system()),
        Native::MemberOf => {
            let Some(url) = args.get(1).and_then(text) else {
                return Ok(Value::Null);
            };
            let term = cx.prog.terminology();
            let vs = term
                .lookup(&url)
                .ok_or_else(|| rt_err(format!("value set {url} is not loaded")))?;
            Ok(Value::Bool(super::ops2::code_matches(
                cx.prog,
                &first,
                &Value::ValueSet(vs),
            )))
        }
        Native::CheckModifiers => Ok(first),
        Native::ConformsTo => {
            // Decidable from the data: the base definition of the resource's own
            // type, or a profile the resource declares in `meta.profile`.
            let Some(url) = args.get(1).and_then(text) else {
                return Ok(Value::Null);
            };
            let Value::Fhir(node, ty) = first else {
                return Ok(Value::Bool(false));
            };
            let base = format!("http://hl7.org/fhir/StructureDefinition/{ty}");
            let declared = node
                .get("meta")
                .and_then(|m| m.get("profile"))
                .and_then(Doc::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p.as_str() == Some(&*url)));
            Ok(Value::Bool(*url == base || declared))
        }
        // Narrative is never rendered, so it cannot carry unsafe markup.
        Native::HtmlChecks => Ok(Value::Bool(true)),
        Native::Subsumes | Native::SubsumedBy => {
            // Without a terminology service only identical codes are decidable.
            let other = args.get(1).cloned().unwrap_or_default();
            if other.is_null() {
                return Ok(Value::Null);
            }
            if super::value::equivalent(&first.to_system(), &other.to_system()) {
                return Ok(Value::Bool(true));
            }
            Err(rt_err(
                "subsumption of different codes needs a terminology service",
            ))
        }
    }
}
