//! Search parameters as written in a URL, turned into a typed store query: each parameter an
//! AND-ed clause, each comma-separated value an alternative.

use crate::fhir::search_params::{ParamType, SearchParamRegistry, TypedParam};
use crate::fhir::{IssueType, ResourceType};
use crate::record::RecordError;
use crate::store::{Clause, Cond, IndexMatch, Op};

use super::values::{self, prefix, split_or};
use super::valueset::ValueSets;

/// What parsing a parameter may need besides its text.
pub(super) struct Context<'a> {
    pub registry: &'a SearchParamRegistry,
    /// This server's base URL: an absolute reference to it is a local reference.
    pub base: Option<&'a str>,
    /// The codes of the ValueSets `:in`/`:not-in` name, looked up beforehand.
    pub value_sets: &'a ValueSets,
}

impl Context<'_> {
    /// `[base]/Type/id` as `Type/id` when `base` is ours.
    fn local<'v>(&self, value: &'v str) -> &'v str {
        self.base
            .and_then(|base| value.strip_prefix(base.trim_end_matches('/')))
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|rest| rest.contains('/'))
            .unwrap_or(value)
    }
}

/// Why a parameter could not be used: unknown to the server (ignored unless the client asked
/// for strict handling) or with a value that cannot mean anything (always an error).
pub(super) enum Refusal {
    Unknown(String),
    Invalid(RecordError),
}

fn invalid(message: String) -> Refusal {
    Refusal::Invalid(RecordError::invalid(IssueType::Invalid, message, None))
}

/// The index table a parameter type is stored in.
fn table_of(kind: ParamType) -> Option<&'static str> {
    Some(match kind {
        ParamType::Token => "idx_token",
        ParamType::String => "idx_string",
        ParamType::Date => "idx_date",
        ParamType::Reference => "idx_reference",
        ParamType::Quantity => "idx_quantity",
        ParamType::Number => "idx_number",
        ParamType::Uri => "idx_uri",
        ParamType::Composite => "idx_composite",
        ParamType::Special => return None,
    })
}

/// One parameter (`name[:modifier][.chain]=value`) on `resource_type` as a clause.
pub(super) fn clause(
    cx: &Context<'_>,
    resource_type: ResourceType,
    key: &str,
    value: &str,
) -> Result<Clause, Refusal> {
    let registry = cx.registry;
    if let Some(rest) = key.strip_prefix("_has:") {
        return has(cx, resource_type, key, rest, value);
    }
    let (head, chain) = match key.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (key, None),
    };
    let (name, modifier) = match head.split_once(':') {
        Some((name, modifier)) => (name, Some(modifier)),
        None => (head, None),
    };
    let values = split_or(value);
    match name {
        "_id" if modifier.is_none() && chain.is_none() => return Ok(Clause::Ids(values)),
        "_lastUpdated" if modifier.is_none() && chain.is_none() => {
            let mut any = Vec::new();
            for v in &values {
                let conds = values::date("low", "high", v).ok_or_else(|| {
                    invalid(format!("_lastUpdated '{}' is not a FHIR date", short(v)))
                })?;
                // The resource table holds one instant in microseconds: low = high.
                any.extend(conds.into_iter().map(|all| {
                    all.into_iter()
                        .map(|c| {
                            let at = match c.value {
                                Some(crate::store::SqlValue::Int(ms)) => ms.saturating_mul(1000),
                                _ => 0,
                            };
                            // Inclusive millisecond upper bounds (`<= sh`, `> sh`) end at
                            // the last microsecond of that millisecond.
                            let (op, at) = match c.op {
                                Op::Le => (Op::Lt, at.saturating_add(1000)),
                                Op::Gt => (Op::Ge, at.saturating_add(1000)),
                                op => (op, at),
                            };
                            (op, at)
                        })
                        .collect::<Vec<_>>()
                }));
            }
            return Ok(Clause::LastUpdated(any));
        }
        _ => {}
    }
    let Some(param) = registry.get(resource_type.as_str(), name) else {
        return Err(Refusal::Unknown(key.to_owned()));
    };
    let kind = param.param.param_type;
    let Some(table) = table_of(kind) else {
        return Err(Refusal::Unknown(key.to_owned()));
    };
    let mut m = IndexMatch {
        table,
        resource_type: Some(resource_type),
        code: name.to_owned(),
        any: Vec::new(),
        chain: None,
    };
    if modifier == Some("missing") {
        return match value {
            "true" => Ok(Clause::HasNot(m)),
            "false" => Ok(Clause::Has(m)),
            _ => Err(invalid(format!("{key} must be true or false"))),
        };
    }
    if let Some(chained) = chain {
        if kind != ParamType::Reference {
            return Err(invalid(format!(
                "{name} is not a reference, so it cannot be chained"
            )));
        }
        if resource_type.as_str() == "Bundle" && matches!(name, "composition" | "message") {
            return embedded(cx, param, name, chained, value);
        }
        let target = chain_target(param, modifier).ok_or_else(|| {
            invalid(format!(
                "{name} may point at several resource types; name one, as in {name}:Patient.{chained}"
            ))
        })?;
        let inner = clause(cx, target, chained, value)?;
        m.any.push(vec![Cond::text("target_type", target.as_str())]);
        m.chain = Some(Box::new((target, inner)));
        return Ok(Clause::Has(m));
    }
    let mut negate = false;
    for v in &values {
        let conds = match kind {
            ParamType::Token => match modifier {
                None => vec![values::token("system", "value", v)],
                Some("not") => {
                    negate = true;
                    vec![values::token("system", "value", v)]
                }
                Some(m @ ("in" | "not-in")) => {
                    negate = m == "not-in";
                    let codes = cx.value_sets.get(v.as_str()).ok_or_else(|| {
                        invalid(format!("ValueSet '{}' was not looked up", short(v)))
                    })?;
                    codes
                        .iter()
                        .map(|(system, code)| match system {
                            Some(system) => {
                                vec![Cond::text("system", system), Cond::text("value", code)]
                            }
                            None => vec![Cond::text("value", code)],
                        })
                        .collect()
                }
                Some("of-type") => {
                    m.code = format!("{name}:of-type");
                    vec![values::of_type(v).ok_or_else(|| {
                        invalid(format!(
                            "{key} takes system|code|value (the identifier type's system and \
                             code, then the identifier value), not '{}'",
                            short(v)
                        ))
                    })?]
                }
                Some("above" | "below") => {
                    return Err(invalid(format!(
                        "{key}: :above and :below on a token need the code system's hierarchy, \
                         which this server does not hold; list the codes, or use :in with a \
                         stored ValueSet"
                    )))
                }
                Some("text") => values::string(None, v)
                    .map(|c| {
                        c.into_iter()
                            .map(|c| Cond {
                                column: "text",
                                ..c
                            })
                            .collect()
                    })
                    .into_iter()
                    .collect(),
                Some(_) => return Err(Refusal::Unknown(key.to_owned())),
            },
            ParamType::String => {
                vec![values::string(modifier, v).ok_or_else(|| Refusal::Unknown(key.to_owned()))?]
            }
            ParamType::Date => {
                no_modifier(key, modifier)?;
                values::date("low", "high", v)
                    .ok_or_else(|| invalid(format!("{name} '{}' is not a FHIR date", short(v))))?
            }
            ParamType::Number => {
                no_modifier(key, modifier)?;
                let (p, rest) = prefix(v);
                values::number("value", p, rest)
                    .ok_or_else(|| invalid(format!("{name} '{}' is not a number", short(v))))?
            }
            ParamType::Quantity => {
                no_modifier(key, modifier)?;
                values::quantity("value", "canon_value", "system", "unit", "canon_unit", v)
                    .ok_or_else(|| invalid(format!("{name} '{}' is not a quantity", short(v))))?
            }
            ParamType::Reference => {
                if let Some(t) = modifier.filter(|m| *m != "identifier") {
                    if t.parse::<ResourceType>().is_err() {
                        return Err(Refusal::Unknown(key.to_owned()));
                    }
                }
                vec![values::reference(modifier, cx.local(v))]
            }
            ParamType::Uri => {
                vec![values::uri(modifier, v).ok_or_else(|| Refusal::Unknown(key.to_owned()))?]
            }
            ParamType::Composite => {
                no_modifier(key, modifier)?;
                composite(param, v).ok_or_else(|| {
                    invalid(format!("{name} '{}' is not a composite value", short(v)))
                })?
            }
            ParamType::Special => return Err(Refusal::Unknown(key.to_owned())),
        };
        m.any.extend(conds);
    }
    if m.any.is_empty() {
        // An OR over nothing (an empty ValueSet): nothing matches, so its negation is anything.
        return Ok(if negate {
            Clause::Anything
        } else {
            Clause::Nothing
        });
    }
    Ok(if negate {
        Clause::HasNot(m)
    } else {
        Clause::Has(m)
    })
}

fn no_modifier(key: &str, modifier: Option<&str>) -> Result<(), Refusal> {
    match modifier {
        None => Ok(()),
        Some(_) => Err(Refusal::Unknown(key.to_owned())),
    }
}

/// `Bundle?composition.x=` / `Bundle?message.x=`: the first entry's resource is inside the
/// Bundle, so its parameters are indexed on the Bundle as `composition.x` / `message.x`.
fn embedded(
    cx: &Context<'_>,
    param: &TypedParam,
    name: &str,
    chained: &str,
    value: &str,
) -> Result<Clause, Refusal> {
    let target: ResourceType = param
        .param
        .targets
        .first()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| Refusal::Unknown(format!("{name}.{chained}")))?;
    let onto_bundle = |mut m: IndexMatch| -> Result<IndexMatch, Refusal> {
        if m.chain.is_some() {
            return Err(invalid(format!(
                "{name}.{chained}: the {target} inside a Bundle can be searched by its own \
                 parameters only, not by a further chain"
            )));
        }
        m.resource_type = "Bundle".parse().ok();
        m.code = format!("{name}.{}", m.code);
        Ok(m)
    };
    match clause(cx, target, chained, value)? {
        Clause::Has(m) => Ok(Clause::Has(onto_bundle(m)?)),
        Clause::HasNot(m) => Ok(Clause::HasNot(onto_bundle(m)?)),
        Clause::Nothing => Ok(Clause::Nothing),
        _ => Err(invalid(format!(
            "{name}.{chained}: only the {target}'s indexed parameters can be searched"
        ))),
    }
}

/// The type a chained reference points at: the `:Type` modifier, the only target, or Patient
/// for a `patient` parameter.
fn chain_target(param: &TypedParam, modifier: Option<&str>) -> Option<ResourceType> {
    match modifier {
        Some(t) => t.parse().ok(),
        None => match param.param.targets.as_slice() {
            [only] => only.parse().ok(),
            _ if param.code() == "patient" => "Patient".parse().ok(),
            _ => None,
        },
    }
}

/// `token$value`: the first component a token, the second by its own type.
fn composite(param: &TypedParam, text: &str) -> Option<Vec<Vec<Cond>>> {
    let (first, second) = text.split_once('$')?;
    let kind = param.param.components.get(1)?.param_type?;
    let head = values::token("c1_system", "c1_value", first);
    let tails: Vec<Vec<Cond>> = match kind {
        ParamType::Token => vec![values::token("c2_system", "c2_value", second)],
        ParamType::String => vec![vec![Cond::text(
            "c2_value",
            &crate::fhir::index::normalize(second),
        )]],
        ParamType::Date => values::date("c2_low", "c2_high", second)?,
        ParamType::Number => {
            let (p, rest) = prefix(second);
            values::number("c2_number", p, rest)?
        }
        ParamType::Quantity => values::quantity(
            "c2_number",
            "c2_number",
            "c2_system",
            "c2_unit",
            "c2_unit",
            second,
        )?,
        _ => return None,
    };
    Some(
        tails
            .into_iter()
            .map(|tail| head.iter().cloned().chain(tail).collect())
            .collect(),
    )
}

pub(super) fn short(text: &str) -> String {
    crate::fhir::truncate(text)
}

/// `_has:Source:param:rest=value`: resources that a `Source` whose `param` points at them, and
/// which `rest=value` selects, references. `rest` may itself be a `_has`.
fn has(
    cx: &Context<'_>,
    resource_type: ResourceType,
    key: &str,
    rest: &str,
    value: &str,
) -> Result<Clause, Refusal> {
    let mut parts = rest.splitn(3, ':');
    let (Some(source), Some(code), Some(inner)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(format!(
            "'{}' must be _has:Type:reference:parameter",
            short(key)
        )));
    };
    let source: ResourceType = source
        .parse()
        .map_err(|_| invalid(format!("'{}' names no resource type", short(key))))?;
    let param = cx
        .registry
        .get(source.as_str(), code)
        .filter(|p| p.param.param_type == ParamType::Reference)
        .ok_or_else(|| Refusal::Unknown(key.to_owned()))?;
    if !param.param.targets.is_empty()
        && !param
            .param
            .targets
            .iter()
            .any(|t| t == resource_type.as_str())
    {
        return Err(invalid(format!(
            "{source}.{code} cannot point at a {resource_type}"
        )));
    }
    let inner = clause(cx, source, inner, value)?;
    Ok(Clause::Referenced {
        source,
        code: code.to_owned(),
        target: resource_type,
        inner: Box::new(inner),
    })
}

/// A parameter of a search across `types` (all when empty): one every type has alike
/// (`_id`, `_lastUpdated`, `_tag`, `_profile`, `_security`, `_source`, or one the types
/// share), matched against each resource's own type.
pub(super) fn system_clause(
    cx: &Context<'_>,
    types: &[ResourceType],
    key: &str,
    value: &str,
) -> Result<Clause, Refusal> {
    let all: Vec<ResourceType> = if types.is_empty() {
        ResourceType::all().collect()
    } else {
        types.to_vec()
    };
    let name = key.split(['.', ':']).next().unwrap_or(key);
    let Some(probe) = all.first().copied().filter(|_| !key.starts_with("_has")) else {
        return Err(Refusal::Unknown(key.to_owned()));
    };
    if name != "_id" && name != "_lastUpdated" {
        let url = cx.registry.get(probe.as_str(), name).map(|p| &p.param.url);
        let shared = url.is_some_and(|url| {
            all.iter().all(|t| {
                cx.registry
                    .get(t.as_str(), name)
                    .is_some_and(|p| p.param.url == *url)
            })
        });
        if !shared {
            return Err(Refusal::Unknown(key.to_owned()));
        }
    }
    let mut clause = clause(cx, probe, key, value)?;
    if let Clause::Has(m) | Clause::HasNot(m) = &mut clause {
        m.resource_type = None;
    }
    Ok(clause)
}
