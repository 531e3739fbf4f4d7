//! Retrieve evaluation: the patient's resources of one type, narrowed by
//! profile, code filters, date ranges and context.

use super::compile_tables::{negation_profile, FixedElement};
use super::eval::{property, Cx, R};
use super::interval;
use super::model::model;
use super::node::{DateFilter, Retrieve};
use super::ops2::code_matches;
use super::value::{Doc, Value};
use super::MeasureError;

impl<'a> Cx<'a> {
    pub(crate) fn retrieve(&mut self, r: &Retrieve) -> R<'a> {
        if let Some(c) = &r.context {
            // Data is per patient: a context that evaluates to nothing has no data,
            // and another patient's (a related-context retrieve such as the
            // mother's) is not loaded, so that fails rather than reading this one's.
            let context = self.eval(c)?;
            if context.is_null() {
                return Ok(Value::list(Vec::new()));
            }
            if let Some(other) = context_patient(&context) {
                let current = self.data.resources("Patient").first();
                if current.and_then(|p| p.get("id")).and_then(Doc::as_str) != Some(&*other) {
                    return Err(MeasureError::Eval(format!(
                        "related-context retrieve of {} for another patient: \
                         only the evaluated patient's data is loaded",
                        r.resource_type
                    )));
                }
            }
        }
        let codes = r.codes.as_ref().map(|c| self.eval(c)).transpose()?;
        let mut more = Vec::with_capacity(r.more_codes.len());
        for (p, n) in &r.more_codes {
            more.push((p, self.eval(n)?));
        }
        let mut ranges = Vec::with_capacity(r.dates.len());
        for d in &r.dates {
            ranges.push((d, self.eval(&d.range)?.into_system()));
        }
        let data = self.data;
        let m = model();
        let mut out = Vec::new();
        for res in data.resources(r.resource_type) {
            if let Some(profile) = &r.profile {
                let declared = res
                    .get("meta")
                    .and_then(|m| m.get("profile"))
                    .and_then(Doc::as_array)
                    .is_some_and(|ps| ps.iter().any(|p| p.as_str() == Some(profile.as_str())));
                if !declared {
                    continue;
                }
            }
            if let Some(code) = r.fixed_loinc {
                if !has_loinc(res, code) {
                    continue;
                }
            }
            if let Some(positive) = &r.positive_profile {
                if declares_only_negation(res, positive) {
                    continue;
                }
            }
            if let Some(fixed) = r.negation {
                if !has_fixed(res, fixed) {
                    continue;
                }
            }
            let v = Value::Fhir(res, r.resource_type);
            if let (Some(codes), Some(prop)) = (&codes, &r.code_property) {
                let cv = m.child(res, r.resource_type, prop);
                let by_value_set =
                    r.negation.is_some() && self.names_not_done_value_set(res, prop, codes);
                if !by_value_set && !code_matches(self.prog, &cv, codes) {
                    continue;
                }
            }
            if !more
                .iter()
                .all(|(p, codes)| code_matches(self.prog, &path(&v, p), codes))
            {
                continue;
            }
            let mut in_range = true;
            for (d, range) in &ranges {
                if !date_in_range(&v, d, range)? {
                    in_range = false;
                    break;
                }
            }
            if in_range {
                out.push(v);
            }
        }
        Ok(Value::list(out))
    }
}

impl Cx<'_> {
    /// Whether the element `prop` of a negation resource names, by the
    /// `notDoneValueSet` extension, the value set being filtered on: what was not
    /// done is a whole value set, which then stands in for a code.
    fn names_not_done_value_set(&self, res: &Doc, prop: &str, codes: &Value) -> bool {
        let Value::ValueSet(wanted) = codes else {
            return false;
        };
        let element = res
            .get(prop)
            .or_else(|| res.get(format!("{prop}CodeableConcept").as_str()));
        let Some(exts) = element
            .and_then(|e| e.get("extension"))
            .and_then(Doc::as_array)
        else {
            return false;
        };
        let term = self.prog.terminology();
        exts.iter().any(|x| {
            let named = x
                .get("url")
                .and_then(Doc::as_str)
                .is_some_and(|u| u.ends_with("notDoneValueSet"));
            let url = ["valueCanonical", "valueUri", "valueString"]
                .iter()
                .find_map(|k| x.get(k).and_then(Doc::as_str));
            named
                && url.is_some_and(|u| {
                    let u = u.split('|').next().unwrap_or(u);
                    term.lookup(u) == Some(*wanted)
                })
        })
    }
}

fn path<'a>(v: &Value<'a>, p: &str) -> Value<'a> {
    p.split('.')
        .fold(v.clone(), |acc, part| property(&acc, part))
}

/// Whether the resource's date (a point or a period) lies in `range`:
/// points must be inside it, periods must overlap it. A resource without the
/// date, or whose relation to the range is unknown, is left out.
fn date_in_range(res: &Value, d: &DateFilter, range: &Value) -> Result<bool, MeasureError> {
    let Value::Interval(range) = range else {
        // A null range does not restrict the retrieve.
        return Ok(range.is_null());
    };
    let value = match &d.property {
        Some(p) => path(res, p).into_system(),
        None => {
            let low = d
                .low_property
                .as_deref()
                .map(|p| path(res, p).into_system());
            let high = d
                .high_property
                .as_deref()
                .map(|p| path(res, p).into_system());
            Value::interval(
                low.unwrap_or_default(),
                high.unwrap_or_default(),
                true,
                true,
            )
        }
    };
    let range = Value::Interval(range.clone());
    let op = match value {
        Value::Null => return Ok(false),
        Value::List(_) => return Ok(false),
        Value::Interval(_) => super::node::Op2::Overlaps,
        _ => super::node::Op2::In,
    };
    let r = match op {
        super::node::Op2::In => super::ops2::membership(range, value, None)?,
        _ => Value::Bool(interval::relate(op, &value, &range, None) == Some(true)),
    };
    Ok(r.as_bool() == Some(true))
}

/// Whether `resource.code` has a LOINC coding with `code`.
fn has_loinc(resource: &Doc, code: &str) -> bool {
    resource
        .get("code")
        .and_then(|c| c.get("coding"))
        .and_then(Doc::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("system").and_then(Doc::as_str) == Some("http://loinc.org")
                    && c.get("code").and_then(Doc::as_str) == Some(code)
            })
        })
}

/// Whether the resource carries the element value a negation profile fixes.
fn has_fixed(resource: &Doc, fixed: FixedElement) -> bool {
    match fixed {
        FixedElement::Status(code) => resource.get("status").and_then(Doc::as_str) == Some(code),
        FixedElement::DoNotPerform => {
            resource.get("doNotPerform").and_then(Doc::as_bool) == Some(true)
        }
        FixedElement::DoNotPerformExtension => resource
            .get("modifierExtension")
            .and_then(Doc::as_array)
            .is_some_and(|exts| {
                exts.iter().any(|x| {
                    x.get("url")
                        .and_then(Doc::as_str)
                        .is_some_and(|u| u.ends_with("doNotPerform"))
                        && x.get("valueBoolean").and_then(Doc::as_bool) == Some(true)
                })
            }),
    }
}

/// Whether the resource declares a negation profile in `meta.profile` and not
/// `positive`: it then states it is, say, a request not made rather than a request.
fn declares_only_negation(resource: &Doc, positive: &str) -> bool {
    let Some(profiles) = resource
        .get("meta")
        .and_then(|m| m.get("profile"))
        .and_then(Doc::as_array)
    else {
        return false;
    };
    profiles
        .iter()
        .filter_map(Doc::as_str)
        .any(|p| negation_profile(p).is_some())
        && !profiles
            .iter()
            .filter_map(Doc::as_str)
            .any(|p| p == positive)
}

/// The patient id a retrieve context names: a Patient resource, a Reference
/// or a `Patient/id` string; `None` when it names no patient.
fn context_patient(context: &Value) -> Option<String> {
    let reference = match context {
        Value::Fhir(node, "Patient") => {
            return node.get("id").and_then(Doc::as_str).map(str::to_owned)
        }
        Value::Fhir(..) | Value::Tuple(_) => property(context, "reference").to_system(),
        other => other.to_system(),
    };
    let Value::Str(s) = reference else {
        return None;
    };
    let id = s.strip_prefix("Patient/")?;
    Some(id.split('/').next().unwrap_or(id).to_owned())
}
