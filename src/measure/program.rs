//! Compiled measures: the plan for one Measure plus the knowledge needed to
//! turn expression results into population counts.

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::compile::{Compiler, Param};
use super::datetime::DateTime;
use super::eval::Cx;
use super::library::{load_dir, Content, Terminology};
use super::node::Def;
use super::parameters::{Bindings, MEASUREMENT_PERIOD};
use super::value::{Json, Value};
use super::{MeasureError, PatientData};

/// The compiled definitions of a measure's libraries.
#[derive(Debug)]
pub struct Program {
    pub defs: Vec<Option<Def>>,
    /// Per-patient cache index of each compiled expression definition.
    pub cache_slots: Vec<Option<u32>>,
    pub cache_len: usize,
    pub params: Vec<Param>,
    content: Arc<Content>,
}

impl Program {
    pub fn terminology(&self) -> &Terminology {
        &self.content.terminology
    }
}

/// Loaded measure content (measures, libraries, value sets); compiles measures.
#[derive(Debug, Clone)]
pub struct Engine {
    content: Arc<Content>,
    trust_meta_profile: bool,
}

#[derive(Debug, Clone)]
pub struct Population {
    pub id: Option<String>,
    /// `initial-population`, `denominator`, ...
    pub code: String,
    pub expression: String,
    pub(crate) def: usize,
    /// `cqfm-criteriaReference`: in ratio measures with two initial
    /// populations, the id of the one a denominator or numerator is drawn from.
    pub criteria_reference: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Stratifier {
    pub id: Option<String>,
    pub code: Option<Json>,
    /// The stratifier's criteria, or each component's (code, criteria).
    pub parts: Vec<StratifierPart>,
}

#[derive(Debug, Clone)]
pub struct StratifierPart {
    /// The component's code; `None` for a stratifier with its own criteria.
    pub code: Option<Json>,
    pub expression: String,
    pub(crate) def: usize,
}

/// A `Measure.supplementalData` element that compiled.
#[derive(Debug, Clone)]
pub struct Supplemental {
    pub id: String,
    pub expression: String,
    pub(crate) def: usize,
}

/// Everything one patient's evaluation yields.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientResult {
    pub groups: Vec<GroupResult>,
    /// Per supplemental data element (`CompiledMeasure::sde` order): the
    /// patient's values as CodeableConcepts, empty outside every initial population
    /// (and from `evaluate`, which does not evaluate supplemental data).
    pub supplemental: Vec<Vec<Json>>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: Option<String>,
    pub populations: Vec<Population>,
    pub stratifiers: Vec<Stratifier>,
    pub observations: Vec<super::observation::Observation>,
    /// True when populations are patient booleans, false for resource lists (episodes).
    pub boolean_basis: bool,
    /// `proportion`, `ratio`, `continuous-variable` or `cohort` (group level
    /// `cqfm-scoring` overrides the measure's scoring).
    pub scoring: String,
}

/// A measure ready to evaluate; `Send + Sync`, evaluate patients in parallel.
#[derive(Debug)]
pub struct CompiledMeasure {
    pub url: Option<String>,
    pub name: String,
    pub scoring: String,
    /// From `Measure.improvementNotation`: `increase` (the default) or `decrease`.
    pub improvement_notation: String,
    pub groups: Vec<Group>,
    /// Supplemental data expressions that compiled.
    pub supplemental: Vec<String>,
    pub sde: Vec<Supplemental>,
    /// Supplemental data expressions that did not compile, with the reason.
    pub warnings: Vec<String>,
    program: Program,
}

/// Population counts of one group for one patient, in the Measure's order.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupResult {
    pub id: Option<String>,
    pub counts: Vec<(String, i64)>,
    /// Per stratifier: its id and the patient's strata (see `strata`): the
    /// patient's whole counts in patient-based groups, the episodes split by
    /// their stratum values in episode-based ones.
    pub strata: Vec<(Option<String>, Vec<Stratum>)>,
    /// Per measure observation of the group: the patient's observed values.
    pub observations: Vec<Vec<f64>>,
}

pub use super::strata::Stratum;

/// Joins the values of a component stratifier's components in a stratum key.
pub const STRATUM_SEPARATOR: char = '\u{1f}';

impl GroupResult {
    fn count(&self, code: &str) -> i64 {
        self.counts
            .iter()
            .filter(|(c, _)| c == code)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Whether the patient has an open care gap in this group: eligible
    /// (denominator, not excluded or excepted) but not meeting the numerator
    /// when higher scores are better, or meeting it when lower scores are better.
    pub fn care_gap(&self, higher_is_better: bool) -> bool {
        let eligible = self.count("denominator") > 0
            && self.count("denominator-exclusion") == 0
            && self.count("denominator-exception") == 0;
        let met = self.count("numerator") > 0 && self.count("numerator-exclusion") == 0;
        eligible && (met != higher_is_better)
    }
}

/// The measurement period, inclusive dates.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub start: DateTime,
    pub end: DateTime,
}

impl Period {
    /// Parses FHIR dates or dateTimes (`2025-01-01`, `2025-12-31`); date-only bounds
    /// cover whole days.
    pub fn parse(start: &str, end: &str) -> Result<Period, MeasureError> {
        let bad = |s: &str| MeasureError::Content(format!("bad period bound {s}"));
        let mut s = DateTime::parse(start).ok_or_else(|| bad(start))?;
        let mut e = DateTime::parse(end).ok_or_else(|| bad(end))?;
        if s.precision <= super::datetime::Precision::Day {
            s = DateTime::new(
                [s.f()[0], s.f()[1], s.f()[2], 0, 0, 0, 0],
                super::datetime::Precision::Millisecond,
                Some(0),
            );
        }
        if e.precision <= super::datetime::Precision::Day {
            e = DateTime::new(
                [e.f()[0], e.f()[1], e.f()[2], 23, 59, 59, 999],
                super::datetime::Precision::Millisecond,
                Some(0),
            );
        }
        Ok(Period { start: s, end: e })
    }
}

impl Engine {
    pub fn load(dir: &Path) -> Result<Engine, MeasureError> {
        Ok(Engine::from_content(load_dir(dir)?))
    }

    /// Builds an engine from Measure, Library, ValueSet (or Bundle) resources,
    /// e.g. read from the store.
    pub fn from_resources(
        resources: impl IntoIterator<Item = Json>,
    ) -> Result<Engine, MeasureError> {
        let mut content = Content::default();
        for r in resources {
            super::library::add_resource(&mut content, r)?;
        }
        Ok(Engine::from_content(content))
    }

    pub fn from_content(content: Content) -> Engine {
        Engine {
            content: Arc::new(content),
            trust_meta_profile: false,
        }
    }

    /// Whether profile-typed retrieves (`["observation-bp"]`) keep only resources
    /// tagged with the profile in `meta.profile`. Off by default, as in
    /// fqm-execution: a retrieve returns every resource of the profile's type
    /// (except that FHIR vital-signs profiles keep only their fixed LOINC code).
    pub fn trust_meta_profile(mut self, trust: bool) -> Engine {
        self.trust_meta_profile = trust;
        self
    }

    pub fn measures(&self) -> impl Iterator<Item = &Json> {
        self.content.measures.iter()
    }

    /// Compiles every definition of every library reachable from the measures,
    /// returning the errors (unsupported ELM and the like). Used to find gaps
    /// in shared libraries before a measure needs them.
    pub fn check_libraries(&self) -> Vec<MeasureError> {
        let mut errors = Vec::new();
        for lib in &self.content.libraries {
            let mut c = match Compiler::new(&self.content, &lib.name, lib.version.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if let Err(e) = c.compile_params() {
                errors.push(e);
            }
            for id in 0..c.defs.len() {
                if c.defs[id].lib != 0 {
                    continue;
                }
                c.reset_def(id);
                if let Err(e) = c.ensure_def(id) {
                    errors.push(e);
                }
            }
        }
        errors
    }

    /// Compiles the measure whose `url`, `name` or `id` is `key`.
    pub fn compile_measure(&self, key: &str) -> Result<CompiledMeasure, MeasureError> {
        let measure = self
            .content
            .measures
            .iter()
            .find(|m| {
                ["url", "name", "id"]
                    .iter()
                    .any(|k| m.get(*k).and_then(Json::as_str) == Some(key))
            })
            .ok_or_else(|| MeasureError::Content(format!("measure {key} not found")))?;
        self.compile(measure)
    }

    pub fn compile(&self, measure: &Json) -> Result<CompiledMeasure, MeasureError> {
        let name = measure
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        let lib_url = measure
            .get("library")
            .and_then(Json::as_array)
            .and_then(|l| l.first())
            .and_then(Json::as_str)
            .ok_or_else(|| MeasureError::Content(format!("measure {name} has no library")))?;
        let (url, version) = match lib_url.split_once('|') {
            Some((u, v)) => (u, Some(v)),
            None => (lib_url, None),
        };
        let lib = self
            .content
            .libraries
            .iter()
            .find(|l| l.url.as_deref() == Some(url))
            .or_else(|| {
                self.content
                    .libraries
                    .iter()
                    .find(|l| url.rsplit('/').next() == Some(l.name.as_str()))
            })
            .ok_or_else(|| MeasureError::Content(format!("library {lib_url} not loaded")))?;
        let mut c = Compiler::new(&self.content, &lib.name, version.or(lib.version.as_deref()))?;
        c.trust_meta_profile = self.trust_meta_profile;
        c.compile_params()?;
        let scoring = code_of(measure.get("scoring")).unwrap_or_else(|| "proportion".to_owned());
        let mut groups = Vec::new();
        for g in measure
            .get("group")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            groups.push(parse_group(&mut c, measure, g, &scoring, &name)?);
        }
        // Supplemental data is compiled too (for reports and `evaluate_expression`),
        // but an unsupported construct there does not block the populations.
        let mut supplemental = Vec::new();
        let mut sde = Vec::new();
        let mut warnings = Vec::new();
        for sde_json in measure
            .get("supplementalData")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let Some(expr) = sde_json
                .get("criteria")
                .and_then(|c| c.get("expression"))
                .and_then(Json::as_str)
            else {
                continue;
            };
            match c.entry(expr) {
                Ok(def) => {
                    supplemental.push(expr.to_owned());
                    sde.push(Supplemental {
                        id: sde_id(sde_json, expr),
                        expression: expr.to_owned(),
                        def,
                    });
                }
                Err(e) => warnings.push(e.to_string()),
            }
            for d in &mut c.defs {
                d.in_progress = false;
            }
        }
        let defs: Vec<Option<Def>> = c.defs.into_iter().map(|d| d.compiled).collect();
        let mut cache_len = 0;
        let cache_slots = defs
            .iter()
            .map(|d: &Option<Def>| {
                d.as_ref().filter(|d| !d.function).map(|_| {
                    cache_len += 1;
                    (cache_len - 1) as u32
                })
            })
            .collect();
        let program = Program {
            defs,
            cache_slots,
            cache_len,
            params: c.params,
            content: self.content.clone(),
        };
        Ok(CompiledMeasure {
            improvement_notation: code_of(measure.get("improvementNotation"))
                .unwrap_or_else(|| "increase".to_owned()),
            url: measure.get("url").and_then(Json::as_str).map(str::to_owned),
            name,
            scoring,
            groups,
            supplemental,
            sde,
            warnings,
            program,
        })
    }
}

use super::measure_def::{code_of, parse_group, sde_id};

impl CompiledMeasure {
    /// The value of each of the program's parameters the evaluation binds, by index.
    pub(crate) fn params<'a>(
        &self,
        period: &Period,
        bindings: &Bindings,
    ) -> Vec<Option<Value<'a>>> {
        self.program
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if &*p.name == MEASUREMENT_PERIOD {
                    return Some(Value::interval(
                        Value::DateTime(period.start),
                        Value::DateTime(period.end),
                        true,
                        true,
                    ));
                }
                bindings.get(i).cloned()
            })
            .collect()
    }

    /// Binds CQL parameter values (a Parameters resource) to the measure's
    /// library; the error names the offending parameter and what to give.
    pub fn bind_parameters(&self, resource: &Json) -> Result<Bindings, String> {
        super::parameters::bind(&self.program.params, resource)
    }

    /// Evaluates the compiled expression definition `name` (a population,
    /// stratifier or anything they use) for a patient, rendered as JSON.
    pub fn evaluate_expression(
        &self,
        patient: &dyn PatientData,
        period: &Period,
        name: &str,
    ) -> Result<Json, MeasureError> {
        let id = self.expression_id(name).ok_or_else(|| {
            MeasureError::Content(format!(
                "expression {name} is not part of measure {}",
                self.name
            ))
        })?;
        let mut cx = Cx::new(
            &self.program,
            patient,
            self.params(period, &Bindings::default()),
        );
        Ok(super::value::to_json(&cx.expression(id)?))
    }

    /// Population counts for one patient, per group.
    pub fn evaluate(
        &self,
        patient: &dyn PatientData,
        period: &Period,
    ) -> Result<Vec<GroupResult>, MeasureError> {
        self.run(patient, period, &Bindings::default(), false, false)
            .map(|r| r.groups)
    }

    /// Population counts, strata, observations and supplemental data for one patient.
    pub fn evaluate_patient(
        &self,
        patient: &dyn PatientData,
        period: &Period,
    ) -> Result<PatientResult, MeasureError> {
        self.run(patient, period, &Bindings::default(), true, false)
    }

    /// `evaluate_patient` with CQL parameter values bound.
    pub fn evaluate_patient_with(
        &self,
        patient: &dyn PatientData,
        period: &Period,
        bindings: &Bindings,
    ) -> Result<PatientResult, MeasureError> {
        self.run(patient, period, bindings, true, false)
    }

    fn run(
        &self,
        patient: &dyn PatientData,
        period: &Period,
        bindings: &Bindings,
        with_supplemental: bool,
        counts_only: bool,
    ) -> Result<PatientResult, MeasureError> {
        let mut cx = Cx::new(&self.program, patient, self.params(period, bindings));
        let mut out = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            // Outside every initial population, every count is zero whatever the other
            // criteria say (see `scoring::skippable`), so a run that only adds up counts
            // leaves them unevaluated, and so are the retrieves only they make.
            let skippable = counts_only && super::scoring::skippable(g);
            let mut raw: Vec<Value> = Vec::with_capacity(g.populations.len());
            for p in &g.populations {
                let outside = skippable
                    && p.code != "initial-population"
                    && raw
                        .iter()
                        .all(|v| super::scoring::is_empty(v, g.boolean_basis));
                raw.push(if outside {
                    Value::Null
                } else {
                    cx.expression(p.def)?
                });
            }
            let (counts, members) = super::scoring::populations(g, &raw);
            let observed = super::observation::observe(&mut cx, g, &members)?;
            let mut strata = Vec::with_capacity(g.stratifiers.len());
            for s in &g.stratifiers {
                let per = super::strata::stratify(&mut cx, g, s, &raw, &counts, &observed)?;
                strata.push((s.id.clone(), per));
            }
            let observations = observed.values();
            out.push(GroupResult {
                id: g.id.clone(),
                counts,
                strata,
                observations,
            });
        }
        let in_population = out.iter().any(|g| {
            g.counts
                .iter()
                .any(|(c, n)| c == "initial-population" && *n > 0)
        });
        let mut supplemental = Vec::with_capacity(self.sde.len());
        for s in self.sde.iter().filter(|_| with_supplemental) {
            supplemental.push(if in_population {
                super::supplemental::values(&cx.expression(s.def)?)
            } else {
                Vec::new()
            });
        }
        Ok(PatientResult {
            groups: out,
            supplemental,
        })
    }

    /// Evaluates many patients in parallel; results keep the input order.
    pub fn evaluate_all<P: PatientData + Sync>(
        &self,
        patients: &[P],
        period: &Period,
    ) -> Vec<Result<Vec<GroupResult>, MeasureError>> {
        patients
            .par_iter()
            .map(|p| self.evaluate(p, period))
            .collect()
    }

    /// `evaluate_patient_with` for many patients in parallel, in input order.
    pub fn evaluate_patients<P: PatientData + Sync>(
        &self,
        patients: &[P],
        period: &Period,
        bindings: &Bindings,
    ) -> Vec<Result<PatientResult, MeasureError>> {
        patients
            .par_iter()
            .map(|p| self.run(p, period, bindings, true, true))
            .collect()
    }

    /// A fresh evaluation of this measure for one patient (for tests that look inside).
    #[cfg(test)]
    pub(crate) fn cx<'a>(&'a self, patient: &'a dyn PatientData, period: &Period) -> Cx<'a> {
        Cx::new(
            &self.program,
            patient,
            self.params(period, &Bindings::default()),
        )
    }

    pub(crate) fn program(&self) -> &Program {
        &self.program
    }

    pub fn expression_id(&self, name: &str) -> Option<usize> {
        self.program.defs.iter().position(|d| {
            d.as_ref()
                .is_some_and(|d| &*d.name == name && d.operands.is_empty())
        })
    }
}
