//! CQL parameter values given with an evaluation (the `parameters` Parameters
//! resource of `$evaluate-measure`, `hearth measure eval --parameters`):
//! each is matched by name to a parameter of the measure's library and
//! converted from its FHIR type to the declared CQL type.

use std::sync::Arc;

use super::compile::Param;
use super::datetime::{parse_time, DateTime, Precision};
use super::value::{self, Doc, Json, Quantity, Value};

/// The parameter the measurement period binds; never given by `parameters`.
pub const MEASUREMENT_PERIOD: &str = "Measurement Period";

/// Parameter values for one evaluation: (index into the program's
/// parameters, value). Cheap to clone and share across threads.
#[derive(Debug, Clone, Default)]
pub struct Bindings(Arc<Vec<(usize, Value<'static>)>>);

impl Bindings {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn get(&self, param: usize) -> Option<&Value<'static>> {
        self.0.iter().find(|(i, _)| *i == param).map(|(_, v)| v)
    }
}

/// Binds the `parameter` entries of a Parameters resource to the parameters
/// of the measure's own library. The error says which entry is wrong and how.
pub(crate) fn bind(params: &[Param], resource: &Json) -> Result<Bindings, String> {
    if resource.get("resourceType").and_then(Json::as_str) != Some("Parameters") {
        return Err("'parameters' must be a Parameters resource".to_owned());
    }
    let declared: Vec<(usize, &Param)> = params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.lib == 0)
        .collect();
    let mut out: Vec<(usize, Value<'static>)> = Vec::new();
    for entry in resource
        .get("parameter")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = entry.get("name").and_then(Json::as_str) else {
            return Err("every entry of 'parameters' needs a name".to_owned());
        };
        if name == MEASUREMENT_PERIOD {
            return Err(format!(
                "'{MEASUREMENT_PERIOD}' cannot be given in 'parameters': \
                 set it with periodStart and periodEnd"
            ));
        }
        let Some((index, param)) = declared.iter().find(|(_, p)| &*p.name == name) else {
            let names: Vec<&str> = declared
                .iter()
                .map(|(_, p)| &*p.name)
                .filter(|n| *n != MEASUREMENT_PERIOD)
                .collect();
            return Err(format!(
                "the measure's library has no parameter '{name}' (it declares: {})",
                if names.is_empty() {
                    "none besides the measurement period".to_owned()
                } else {
                    names.join(", ")
                }
            ));
        };
        if out.iter().any(|(i, _)| i == index) {
            return Err(format!("the parameter '{name}' is given more than once"));
        }
        let found = entry
            .as_object()
            .into_iter()
            .flatten()
            .find(|(k, _)| k.starts_with("value"));
        let Some((key, json)) = found else {
            return Err(format!("the parameter '{name}' has no value[x]"));
        };
        let expected = param.type_name.as_deref();
        let converted = from_fhir(key, json).and_then(|(v, ty)| fit(v, ty, expected));
        let Some(v) = converted else {
            return Err(match expected {
                Some(t) => format!(
                    "the parameter '{name}' is a CQL {t}; {key} does not convert to it{}",
                    hint(t).map(|h| format!(" (give {h})")).unwrap_or_default()
                ),
                None => format!("the parameter '{name}': {key} is not a supported value"),
            });
        };
        out.push((*index, v));
    }
    Ok(Bindings(Arc::new(out)))
}

/// The FHIR value[x] that carries a CQL type.
fn hint(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "Integer" => "valueInteger",
        "Decimal" => "valueDecimal",
        "String" => "valueString",
        "Boolean" => "valueBoolean",
        "Date" => "valueDate",
        "DateTime" => "valueDateTime",
        "Time" => "valueTime",
        "Quantity" => "valueQuantity",
        "Code" => "valueCoding",
        "Concept" => "valueCodeableConcept",
        "Interval<DateTime>" | "Interval<Date>" => "valuePeriod",
        "Interval<Quantity>" => "valueRange",
        _ => return None,
    })
}

/// A FHIR value[x] as a CQL value, with its CQL type.
fn from_fhir(key: &str, v: &Json) -> Option<(Value<'static>, &'static str)> {
    let text = || v.as_str().map(Value::str);
    let date = |s: &Json| DateTime::parse(s.as_str()?);
    Some(match key {
        "valueInteger" | "valueUnsignedInt" | "valuePositiveInt" => {
            (Value::Int(v.as_i64()?), "Integer")
        }
        "valueDecimal" => (Value::Dec(v.as_f64()?), "Decimal"),
        "valueString" | "valueCode" | "valueId" | "valueUri" | "valueUrl" | "valueCanonical"
        | "valueMarkdown" => (text()?, "String"),
        "valueBoolean" => (Value::Bool(v.as_bool()?), "Boolean"),
        "valueDate" => {
            let d = date(v).filter(|d| d.precision <= Precision::Day)?;
            (Value::Date(d), "Date")
        }
        "valueDateTime" | "valueInstant" => (Value::DateTime(date(v)?), "DateTime"),
        "valueTime" => (Value::Time(parse_time(v.as_str()?)?), "Time"),
        "valueQuantity" => (Value::Quantity(quantity(v)?), "Quantity"),
        "valueCoding" => (
            Value::Code(Arc::new(value::coding_to_code(&Doc::from(v))?)),
            "Code",
        ),
        "valueCodeableConcept" => (
            Value::Concept(Arc::new(value::concept_of(&Doc::from(v)))),
            "Concept",
        ),
        "valuePeriod" => (
            closed(v, ["start", "end"], |s| date(s).map(Value::DateTime))?,
            "Interval<DateTime>",
        ),
        "valueRange" => (
            closed(v, ["low", "high"], |q| quantity(q).map(Value::Quantity))?,
            "Interval<Quantity>",
        ),
        _ => return None,
    })
}

/// A closed interval from the two bound elements of a Period or Range; an
/// absent bound is null (unknown), a bound that does not convert is `None`.
fn closed(
    v: &Json,
    keys: [&str; 2],
    bound: impl Fn(&Json) -> Option<Value<'static>>,
) -> Option<Value<'static>> {
    let [low, high] = keys.map(|k| v.get(k).map_or(Some(Value::Null), &bound));
    Some(Value::interval(low?, high?, true, true))
}

fn quantity(v: &Json) -> Option<Quantity> {
    let unit = v
        .get("code")
        .or_else(|| v.get("unit"))
        .and_then(Json::as_str)
        .unwrap_or("1");
    Some(Quantity {
        value: v.get("value")?.as_f64()?,
        unit: Arc::from(unit),
    })
}

/// `v` (of CQL type `ty`) as the declared type, by CQL's implicit
/// conversions; `None` when it does not convert. An undeclared type takes
/// the value as it comes.
fn fit(v: Value<'static>, ty: &str, declared: Option<&str>) -> Option<Value<'static>> {
    let Some(declared) = declared.filter(|d| *d != ty && *d != "Any") else {
        return Some(v);
    };
    match (v, declared) {
        (Value::Int(i), "Decimal") => Some(Value::Dec(i as f64)),
        (Value::Int(i), "Quantity") => Some(Value::Quantity(Quantity {
            value: i as f64,
            unit: Arc::from("1"),
        })),
        (Value::Dec(x), "Quantity") => Some(Value::Quantity(Quantity {
            value: x,
            unit: Arc::from("1"),
        })),
        (Value::Date(d), "DateTime") => Some(Value::DateTime(d)),
        (Value::Code(c), "Concept") => Some(Value::Concept(Arc::new(value::Concept {
            codes: vec![(*c).clone()],
            display: None,
        }))),
        (Value::Interval(i), "Interval<Date>") => {
            let day = |b: &Value<'static>| match b {
                Value::DateTime(d) if d.precision <= Precision::Day => Some(Value::Date(*d)),
                Value::Null => Some(Value::Null),
                _ => None,
            };
            Some(Value::interval(day(&i.low)?, day(&i.high)?, true, true))
        }
        _ => None,
    }
}

/// The CQL type an ELM parameter definition declares, from its type
/// specifier or, failing that, its default's.
pub(crate) fn declared_type(p: &Json) -> Option<String> {
    if let Some(spec) = p.get("parameterTypeSpecifier") {
        return spec_type(spec);
    }
    if let Some(name) = p.get("resultTypeName").and_then(Json::as_str) {
        return Some(local(name).to_owned());
    }
    let default = p.get("default")?;
    if let Some(spec) = default.get("resultTypeSpecifier") {
        return spec_type(spec);
    }
    default
        .get("resultTypeName")
        .or_else(|| default.get("valueType"))
        .and_then(Json::as_str)
        .map(|n| local(n).to_owned())
}

fn spec_type(spec: &Json) -> Option<String> {
    match spec.get("type").and_then(Json::as_str)? {
        "NamedTypeSpecifier" => Some(local(spec.get("name")?.as_str()?).to_owned()),
        "IntervalTypeSpecifier" => {
            Some(format!("Interval<{}>", spec_type(spec.get("pointType")?)?))
        }
        "ListTypeSpecifier" => Some(format!("List<{}>", spec_type(spec.get("elementType")?)?)),
        _ => None,
    }
}

/// `{urn:hl7-org:elm-types:r1}Integer` → `Integer`.
fn local(name: &str) -> &str {
    name.rsplit('}').next().unwrap_or(name)
}
