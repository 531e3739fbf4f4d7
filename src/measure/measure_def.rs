//! Reading a Measure's groups: populations, measure observations and
//! stratifiers, each compiled to the plan.

use super::compile::Compiler;
use super::observation::Observation;
use super::program::{Group, Population, Stratifier, StratifierPart};
use super::value::Json;
use super::MeasureError;

/// Compiles one `Measure.group`.
pub(crate) fn parse_group(
    c: &mut Compiler,
    measure: &Json,
    g: &Json,
    scoring: &str,
    name: &str,
) -> Result<Group, MeasureError> {
    let basis = extension(g, "cqfm-populationBasis")
        .or_else(|| extension(measure, "cqfm-populationBasis"))
        .and_then(|e| e.get("valueCode"))
        .and_then(Json::as_str)
        .unwrap_or("boolean");
    let mut pops = Vec::new();
    let mut observations = Vec::new();
    for p in g
        .get("population")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let code = code_of(p.get("code")).unwrap_or_default();
        let expr = p
            .get("criteria")
            .and_then(|c| c.get("expression"))
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = p.get("id").and_then(Json::as_str).map(str::to_owned);
        let reference = extension(p, "cqfm-criteriaReference")
            .and_then(|e| e.get("valueString").or_else(|| e.get("valueCode")))
            .and_then(Json::as_str)
            .map(str::to_owned);
        if code == "measure-observation" {
            let (def, operands) = c.entry_function(&expr)?;
            // Published content writes the method (like the reference) as
            // valueCode or valueString.
            let aggregate = extension(p, "cqfm-aggregateMethod")
                .and_then(|e| e.get("valueCode").or_else(|| e.get("valueString")))
                .and_then(Json::as_str)
                .unwrap_or("sum");
            if !super::observation::METHODS.contains(&aggregate) {
                return Err(MeasureError::Content(format!(
                    "measure observation {expr} has unknown aggregate method {aggregate}"
                )));
            }
            observations.push((
                reference,
                Observation {
                    id,
                    expression: expr,
                    of: 0,
                    aggregate: aggregate.to_owned(),
                    def,
                    operands,
                },
            ));
            continue;
        }
        let def = c.entry(&expr)?;
        pops.push(Population {
            id,
            code,
            expression: expr,
            def,
            criteria_reference: reference,
        });
    }
    let observations = resolve_observations(&pops, observations, name)?;
    let mut stratifiers = Vec::new();
    for s in g
        .get("stratifier")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let criteria = |j: &Json| {
            j.get("criteria")
                .and_then(|c| c.get("expression"))
                .and_then(Json::as_str)
                .map(str::to_owned)
        };
        let mut parts = Vec::new();
        // A part is a definition or a function of the episode (or patient).
        if let Some(expr) = criteria(s) {
            let (def, _) = c.entry_function(&expr)?;
            parts.push(StratifierPart {
                code: None,
                expression: expr,
                def,
            });
        }
        for comp in s
            .get("component")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let expr = criteria(comp).ok_or_else(|| {
                MeasureError::Content(format!(
                    "measure {name}: a stratifier component has no criteria expression"
                ))
            })?;
            let (def, _) = c.entry_function(&expr)?;
            parts.push(StratifierPart {
                code: Some(comp.get("code").cloned().unwrap_or(Json::Null)),
                expression: expr,
                def,
            });
        }
        if parts.is_empty() {
            // Published measures carry placeholder stratifiers with no expression.
            continue;
        }
        stratifiers.push(Stratifier {
            id: s.get("id").and_then(Json::as_str).map(str::to_owned),
            code: s.get("code").cloned(),
            parts,
        });
    }
    Ok(Group {
        id: g.get("id").and_then(Json::as_str).map(str::to_owned),
        populations: pops,
        stratifiers,
        observations,
        boolean_basis: basis == "boolean",
        scoring: extension(g, "cqfm-scoring")
            .and_then(|e| code_of(e.get("valueCodeableConcept")))
            .unwrap_or_else(|| scoring.to_owned()),
    })
}

/// Which population each observation observes: its `cqfm-criteriaReference`
/// (a population id, or a population code), else the measure population (continuous variable) or, in order, the
/// denominator and numerator (ratio).
fn resolve_observations(
    pops: &[Population],
    specs: Vec<(Option<String>, Observation)>,
    measure: &str,
) -> Result<Vec<Observation>, MeasureError> {
    let defaults = ["measure-population", "denominator", "numerator"];
    let mut out = Vec::with_capacity(specs.len());
    for (i, (reference, mut o)) in specs.into_iter().enumerate() {
        let by_code = |code: &str| pops.iter().position(|p| p.code == code);
        let of = match &reference {
            // By population id; some content names the population's code instead.
            Some(r) => pops
                .iter()
                .position(|p| p.id.as_deref() == Some(r.as_str()))
                .or_else(|| by_code(r)),
            None => by_code(defaults[0]).or_else(|| by_code(defaults[1 + i.min(1)])),
        };
        o.of = of.ok_or_else(|| {
            MeasureError::Content(format!(
                "measure {measure}: observation {} refers to no population{}",
                o.expression,
                reference
                    .map(|r| format!(" (criteriaReference {r})"))
                    .unwrap_or_default()
            ))
        })?;
        out.push(o);
    }
    Ok(out)
}

/// An SDE's id, else its code's first coding, else the expression name.
pub(crate) fn sde_id(sde: &Json, expr: &str) -> String {
    sde.get("id")
        .and_then(Json::as_str)
        .map(str::to_owned)
        .or_else(|| code_of(sde.get("code")))
        .unwrap_or_else(|| expr.to_owned())
}

pub(crate) fn code_of(cc: Option<&Json>) -> Option<String> {
    cc?.get("coding")?
        .as_array()?
        .first()?
        .get("code")?
        .as_str()
        .map(str::to_owned)
}

pub(crate) fn extension<'j>(j: &'j Json, suffix: &str) -> Option<&'j Json> {
    j.get("extension")?.as_array()?.iter().find(|e| {
        e.get("url")
            .and_then(Json::as_str)
            .is_some_and(|u| u.ends_with(suffix))
    })
}
