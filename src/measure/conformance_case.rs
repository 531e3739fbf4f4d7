//! One conformance test case: reading its folder (one file per resource, or a
//! Bundle of them) and comparing the engine's results with the expected
//! MeasureReport, including the measure observations MADiE records and the
//! strata of stratifiers (`conformance_strata`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::conformance::Diff;
use super::program::{CompiledMeasure, Group, GroupResult, Period};
use super::value::Json;
use super::MeasureError;

/// Population codes under which MADiE records one entry per observed episode
/// (or patient), the observed value in `count`. Some exports use
/// `measure-observation` instead, with ids `MeasureObservation_G_O_M` (group,
/// observation, member).
const OBSERVATION_CODES: [&str; 3] = [
    "measure-population-observation",
    "numerator-observation",
    "denominator-observation",
];

/// Observed values and scores match to this relative precision.
const TOLERANCE: f64 = 1e-6;

pub(super) fn read_json(path: &Path) -> Result<Json, MeasureError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| MeasureError::Io(path.to_path_buf(), e))?;
    serde_json::from_str(&text).map_err(|e| MeasureError::Json(path.to_path_buf(), e))
}

pub(super) fn sorted_dir(path: &Path) -> Result<Vec<PathBuf>, MeasureError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| MeasureError::Io(path.to_path_buf(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// The expected MeasureReport and the patient's resources of a case folder.
/// A Bundle's entries count as the case's resources, so a folder may hold one
/// Bundle, one file per resource, or both (a resource present twice is kept once).
pub(super) fn read_case(case: &Path) -> Result<(Option<Json>, Vec<Json>), MeasureError> {
    let mut expected = None;
    let mut resources = Vec::new();
    let mut seen = HashSet::new();
    for f in sorted_dir(case)? {
        if f.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let json = read_json(&f)?;
        let unpacked = if json.get("resourceType").and_then(Json::as_str) == Some("Bundle") {
            json.get("entry")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("resource").cloned())
                .collect()
        } else {
            vec![json]
        };
        for r in unpacked {
            let key = (
                r.get("resourceType")
                    .and_then(Json::as_str)
                    .map(str::to_owned),
                r.get("id").and_then(Json::as_str).map(str::to_owned),
            );
            if key.1.is_some() && !seen.insert(key.clone()) {
                continue;
            }
            if key.0.as_deref() == Some("MeasureReport") {
                expected.get_or_insert(r);
            } else {
                resources.push(r);
            }
        }
    }
    Ok((expected, resources))
}

/// Where the engine's results for one patient differ from the expected
/// report: population counts as reported (`measure-observation` counts
/// included; a code listed twice matches our entries in order), the observed
/// values of MADiE observation entries (as multisets, when the report records
/// observations), and the `measureScore` of continuous-variable groups where
/// the expected report carries one (MADiE's individual ratio and proportion
/// scores are not comparable), and the population counts of every expected
/// stratum.
pub(super) fn compare(
    measure: &CompiledMeasure,
    period: &Period,
    groups: &[GroupResult],
    expected: &Json,
) -> Vec<Diff> {
    let report = super::report::individual(measure, "case", period, groups);
    let ours = population_counts(&report);
    let exp_groups = groups_of(expected);
    let def = |gi: usize| measure.groups.get(gi);
    let records_observations = exp_groups
        .iter()
        .enumerate()
        .any(|(gi, g)| entries(g).any(|(code, p)| observed_entry(def(gi), code, p).is_some()));
    let mut diffs = Vec::new();
    for (gi, g) in exp_groups.iter().enumerate() {
        let exp: Vec<(&str, &Json)> = entries(g)
            .filter(|(code, p)| observed_entry(def(gi), code, p).is_none())
            .collect();
        for (k, (code, p)) in exp.iter().enumerate() {
            let n = p.get("count").and_then(Json::as_i64).unwrap_or(0);
            let nth = exp[..k].iter().filter(|(c, _)| c == code).count();
            let actual = ours
                .get(gi)
                .and_then(|g| g.iter().filter(|(c, _)| c == code).nth(nth))
                .map(|(_, a)| *a);
            if actual != Some(n) {
                diffs.push(Diff {
                    group: gi,
                    what: (*code).to_owned(),
                    expected: n.to_string(),
                    actual: actual.map_or("missing".to_owned(), |a| a.to_string()),
                });
            }
        }
        if records_observations {
            compare_observations(measure, groups, gi, g, &mut diffs);
        }
        let score = |g: Option<&Json>| g?.pointer("/measureScore/value")?.as_f64();
        let continuous = def(gi).is_some_and(|d| d.scoring == "continuous-variable");
        if let Some(exp) = score(Some(g)).filter(|_| continuous) {
            let actual = score(report.get("group").and_then(|r| r.get(gi)));
            if !actual.is_some_and(|a| close(a, exp)) {
                diffs.push(Diff {
                    group: gi,
                    what: "measureScore".to_owned(),
                    expected: number(exp),
                    actual: actual.map_or("missing".to_owned(), number),
                });
            }
        }
        let our_group = report.get("group").and_then(|r| r.get(gi));
        super::conformance_strata::compare_strata(gi, g, our_group, &mut diffs);
    }
    diffs
}

/// Compares the observed values of group `gi`, per MADiE observation code.
fn compare_observations(
    measure: &CompiledMeasure,
    groups: &[GroupResult],
    gi: usize,
    expected: &Json,
    diffs: &mut Vec<Diff>,
) {
    let (Some(def), Some(result)) = (measure.groups.get(gi), groups.get(gi)) else {
        return;
    };
    for code in OBSERVATION_CODES {
        let mut exp: Vec<f64> = entries(expected)
            .filter(|(c, p)| observed_entry(Some(def), c, p) == Some(code))
            .map(|(_, p)| p.get("count").and_then(Json::as_f64).unwrap_or(0.0))
            .collect();
        let mut ours: Vec<f64> = def
            .observations
            .iter()
            .zip(&result.observations)
            .filter(|(o, _)| {
                def.populations
                    .get(o.of)
                    .is_some_and(|p| observation_code(&p.code) == code)
            })
            .flat_map(|(_, values)| values.iter().copied())
            .collect();
        exp.sort_by(f64::total_cmp);
        ours.sort_by(f64::total_cmp);
        let same = exp.len() == ours.len() && exp.iter().zip(&ours).all(|(a, b)| close(*a, *b));
        if !same {
            let list = |v: &[f64]| {
                let items: Vec<String> = v.iter().map(|x| number(*x)).collect();
                format!("[{}]", items.join(", "))
            };
            diffs.push(Diff {
                group: gi,
                what: code.to_owned(),
                expected: list(&exp),
                actual: list(&ours),
            });
        }
    }
}

/// The MADiE observation code an expected entry records one observed value
/// under, if it is such an entry.
fn observed_entry(def: Option<&Group>, code: &str, entry: &Json) -> Option<&'static str> {
    if let Some(c) = OBSERVATION_CODES.iter().find(|c| **c == code) {
        return Some(c);
    }
    if code != "measure-observation" {
        return None;
    }
    let id = entry.get("id").and_then(Json::as_str)?;
    let parts: Vec<usize> = id
        .strip_prefix("MeasureObservation_")?
        .split('_')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [_, observation, _] = parts[..] else {
        return None;
    };
    let population = def
        .and_then(|d| {
            let o = d.observations.get(observation.checked_sub(1)?)?;
            d.populations.get(o.of)
        })
        .map_or("measure-population", |p| p.code.as_str());
    Some(observation_code(population))
}

/// The MADiE code of observations of a population.
fn observation_code(population: &str) -> &'static str {
    match population {
        "numerator" => "numerator-observation",
        "denominator" => "denominator-observation",
        _ => "measure-population-observation",
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        x.to_string()
    }
}

fn groups_of(report: &Json) -> &[Json] {
    report
        .get("group")
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A group's (or a stratum's) population entries with their codes.
pub(super) fn entries(g: &Json) -> impl Iterator<Item = (&str, &Json)> {
    g.get("population")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p.pointer("/code/coding/0/code")?.as_str()?, p)))
}

fn population_counts(report: &Json) -> Vec<Vec<(&str, i64)>> {
    groups_of(report)
        .iter()
        .map(|g| {
            entries(g)
                .map(|(code, p)| (code, p.get("count").and_then(Json::as_i64).unwrap_or(0)))
                .collect()
        })
        .collect()
}
