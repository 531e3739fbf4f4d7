//! Measure observations (continuous-variable and ratio measures): a function
//! applied to each member of a population, aggregated into the measure score
//! by the method the `cqfm-aggregateMethod` extension names.

use serde_json::json;

use super::eval::Cx;
use super::program::{CompiledMeasure, Group, GroupResult};
use super::scoring::Members;
use super::value::{self, Json, Value};
use super::MeasureError;

/// A `measure-observation` population of a group.
#[derive(Debug, Clone)]
pub struct Observation {
    pub id: Option<String>,
    pub expression: String,
    /// Index (in `Group::populations`) of the population observed.
    pub of: usize,
    /// `sum`, `average`, `median`, `minimum`, `maximum` or `count`.
    pub aggregate: String,
    pub(crate) def: usize,
    pub(crate) operands: usize,
}

/// One contained Observation per observed value of an individual report
/// (DEQM): its value, the observation's expression as code text, and a
/// `cqfm-criteriaReference` naming the measure-observation population (its
/// id, else the expression).
pub fn contained(measure: &CompiledMeasure, results: &[GroupResult]) -> Vec<Json> {
    let mut out = Vec::new();
    for (gi, (def, result)) in measure.groups.iter().zip(results).enumerate() {
        for (oi, (o, values)) in def
            .observations
            .iter()
            .zip(&result.observations)
            .enumerate()
        {
            let reference = o.id.as_deref().unwrap_or(&o.expression);
            for (vi, v) in values.iter().enumerate() {
                out.push(json!({
                    "resourceType": "Observation",
                    "id": format!("measure-observation-{gi}-{oi}-{vi}"),
                    "extension": [{
                        "url": "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-criteriaReference",
                        "valueString": reference,
                    }],
                    "status": "final",
                    "code": {"text": o.expression},
                    "valueQuantity": {"value": v},
                }));
            }
        }
    }
    out
}

/// Aggregate methods the cqfm-aggregateMethod value set defines.
pub const METHODS: [&str; 6] = ["sum", "average", "median", "minimum", "maximum", "count"];

/// One patient's observations: per measure observation of a group, each
/// observed member (episode, or the patient) with its value.
#[derive(Debug, Default)]
pub struct Observed<'v, 'a>(pub Vec<Vec<(&'v Value<'a>, f64)>>);

impl Observed<'_, '_> {
    /// The values of each observation.
    pub fn values(&self) -> Vec<Vec<f64>> {
        self.values_where(|_| true)
    }

    /// The values of each observation whose member satisfies `keep`.
    pub fn values_where(&self, keep: impl Fn(&Value) -> bool) -> Vec<Vec<f64>> {
        self.0
            .iter()
            .map(|o| o.iter().filter(|(m, _)| keep(m)).map(|(_, x)| *x).collect())
            .collect()
    }
}

/// The observation values of one patient for each observation of `g`.
pub fn observe<'v, 'a>(
    cx: &mut Cx<'a>,
    g: &Group,
    observed: &[Members<'v, 'a>],
) -> Result<Observed<'v, 'a>, MeasureError> {
    // In a patient-based group the member stands for the patient: a function
    // taking an argument gets the Patient resource.
    let patient = cx
        .data
        .resources("Patient")
        .first()
        .map_or(Value::Null, |p| Value::Fhir(p, "Patient"));
    let mut out = Vec::with_capacity(g.observations.len());
    for o in &g.observations {
        let mut values = Vec::new();
        for member in observed.get(o.of).into_iter().flatten() {
            // Episode observations take the episode; patient ones the patient, or nothing.
            let args = match (o.operands, g.boolean_basis) {
                (0, _) => Vec::new(),
                (_, true) => vec![patient.clone()],
                (_, false) => vec![(*member).clone()],
            };
            let v = cx.call_values(o.def, args)?;
            if let Some(x) = number(&v) {
                values.push((*member, x));
            }
        }
        out.push(values);
    }
    Ok(Observed(out))
}

fn number(v: &Value) -> Option<f64> {
    match v.to_system() {
        Value::Quantity(q) => Some(q.value),
        other => value::to_f64(&other),
    }
}

pub fn aggregate(method: &str, values: &[f64]) -> Option<f64> {
    if method == "count" {
        return Some(values.len() as f64);
    }
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    Some(match method {
        "average" => values.iter().sum::<f64>() / n,
        "median" => {
            let mut v = values.to_vec();
            v.sort_by(f64::total_cmp);
            let mid = v.len() / 2;
            if v.len() % 2 == 1 {
                v[mid]
            } else {
                (v[mid - 1] + v[mid]) / 2.0
            }
        }
        "minimum" => values.iter().copied().fold(f64::INFINITY, f64::min),
        "maximum" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        _ => values.iter().sum(),
    })
}

/// The measure score from observations: the aggregate for continuous
/// variable, numerator over denominator aggregates for ratio measures.
pub fn score(g: &Group, values: &[Vec<f64>]) -> Option<f64> {
    let agg = |i: usize| {
        let o = g.observations.get(i)?;
        aggregate(&o.aggregate, values.get(i).map_or(&[][..], Vec::as_slice))
    };
    if g.scoring == "ratio" {
        let of = |code: &str| {
            g.observations
                .iter()
                .position(|o| g.populations.get(o.of).is_some_and(|p| p.code == code))
        };
        let num = agg(of("numerator")?)?;
        let den = agg(of("denominator")?)?;
        return (den != 0.0).then(|| num / den);
    }
    agg(0)
}
