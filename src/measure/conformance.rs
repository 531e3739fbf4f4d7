//! Conformance runner: evaluates every published test case of every measure
//! in a content directory and compares population counts with the expected
//! MeasureReport.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::program::{Engine, Period};
use super::value::Json;
use super::{MeasureError, PatientRecord};

#[derive(Debug, Clone)]
pub struct CaseFailure {
    pub case: String,
    pub description: String,
    /// (group index, population code, expected, actual)
    pub diffs: Vec<(usize, String, i64, Option<i64>)>,
    pub error: Option<String>,
    /// Reason from the known-differences file, when listed.
    pub known: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MeasureSummary {
    pub name: String,
    pub passed: usize,
    pub total: usize,
    pub failures: Vec<CaseFailure>,
    /// Mean evaluation time per patient (excluding file loading), measured
    /// over several sequential rounds of all the measure's cases.
    pub per_patient: Duration,
    pub compile_error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub measures: Vec<MeasureSummary>,
    /// Definitions of the content's libraries that do not compile (unsupported
    /// ELM), whether or not a measure reaches them: gaps a future measure may hit.
    pub library_gaps: Vec<String>,
}

impl Summary {
    /// Failures not listed in the known-differences file (and compile errors).
    pub fn unexpected(&self) -> usize {
        self.measures
            .iter()
            .map(|m| {
                m.failures.iter().filter(|f| f.known.is_none()).count()
                    + usize::from(m.compile_error.is_some())
            })
            .sum()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for m in &self.measures {
            let _ = writeln!(
                out,
                "{}: {}/{} passed ({:.1} µs/patient)",
                m.name,
                m.passed,
                m.total,
                m.per_patient.as_secs_f64() * 1e6
            );
            if let Some(e) = &m.compile_error {
                let _ = writeln!(out, "  compile error: {e}");
            }
            for f in &m.failures {
                let tag = match &f.known {
                    Some(r) => format!(" [known: {r}]"),
                    None => String::new(),
                };
                let _ = writeln!(out, "  FAIL {} — {}{}", f.case, f.description, tag);
                if let Some(e) = &f.error {
                    let _ = writeln!(out, "    error: {e}");
                }
                for (g, code, exp, act) in &f.diffs {
                    let act = act.map_or("missing".to_owned(), |a| a.to_string());
                    let _ = writeln!(out, "    group {g} {code}: expected {exp}, got {act}");
                }
            }
        }
        for gap in &self.library_gaps {
            let _ = writeln!(out, "library gap: {gap}");
        }
        out
    }
}

/// Reads `measure-known-differences.md`: every backticked `Measure/case` token
/// on a line is listed with the rest of the line as its reason.
pub fn read_known(path: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    let mut known = HashMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split('`').collect();
        for (i, p) in parts.iter().enumerate() {
            if i % 2 == 1 && p.contains('/') {
                let reason = parts
                    .last()
                    .map_or("", |r| r.trim_start_matches([' ', ':', '—', '-']).trim());
                known.insert((*p).to_owned(), reason.to_owned());
            }
        }
    }
    known
}

fn read_json(path: &Path) -> Result<Json, MeasureError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| MeasureError::Io(path.to_path_buf(), e))?;
    serde_json::from_str(&text).map_err(|e| MeasureError::Json(path.to_path_buf(), e))
}

fn sorted_dir(path: &Path) -> Result<Vec<PathBuf>, MeasureError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| MeasureError::Io(path.to_path_buf(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

fn population_counts(report: &Json) -> Vec<Vec<(String, i64)>> {
    report
        .get("group")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|g| {
            g.get("population")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    let code = p
                        .get("code")?
                        .get("coding")?
                        .get(0)?
                        .get("code")?
                        .as_str()?;
                    Some((
                        code.to_owned(),
                        p.get("count").and_then(Json::as_i64).unwrap_or(0),
                    ))
                })
                .collect()
        })
        .collect()
}

fn description(report: &Json) -> String {
    report
        .get("extension")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .find(|e| {
            e.get("url")
                .and_then(Json::as_str)
                .is_some_and(|u| u.ends_with("cqfm-testCaseDescription"))
        })
        .and_then(|e| e.get("valueMarkdown").or_else(|| e.get("valueString")))
        .and_then(Json::as_str)
        .unwrap_or("(no description)")
        .trim()
        .to_owned()
}

/// Runs every test case under `dir/tests/MEASURE/CASE/`.
pub fn run(dir: &Path, known: &Path) -> Result<Summary, MeasureError> {
    let engine = Engine::load(dir)?;
    if engine.measures().next().is_none() {
        return Err(MeasureError::Content(format!(
            "no Measure resources under {}",
            dir.display()
        )));
    }
    let known = read_known(known);
    let mut summary = Summary {
        library_gaps: engine
            .check_libraries()
            .iter()
            .map(ToString::to_string)
            .collect(),
        ..Summary::default()
    };
    let mut measures: Vec<&Json> = engine.measures().collect();
    measures.sort_by_key(|m| {
        m.get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    });
    for measure in measures {
        let name = measure
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        let cases_dir = dir.join("tests").join(&name);
        let mut ms = MeasureSummary {
            name: name.clone(),
            passed: 0,
            total: 0,
            failures: Vec::new(),
            per_patient: Duration::ZERO,
            compile_error: None,
        };
        let compiled = match engine.compile(measure) {
            Ok(c) => c,
            Err(e) => {
                ms.compile_error = Some(e.to_string());
                summary.measures.push(ms);
                continue;
            }
        };
        if !cases_dir.is_dir() {
            summary.measures.push(ms);
            continue;
        }
        let mut timed = Vec::new();
        for case in sorted_dir(&cases_dir)? {
            if !case.is_dir() {
                continue;
            }
            let case_id = case
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let key = format!("{name}/{case_id}");
            let mut expected = None;
            let mut resources = Vec::new();
            for f in sorted_dir(&case)? {
                if f.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let json = read_json(&f)?;
                if json.get("resourceType").and_then(Json::as_str) == Some("MeasureReport") {
                    expected = Some(json);
                } else {
                    resources.push(json);
                }
            }
            let Some(expected) = expected else { continue };
            ms.total += 1;
            let period = expected.get("period");
            let start = period
                .and_then(|p| p.get("start"))
                .and_then(Json::as_str)
                .unwrap_or("2025-01-01");
            let end = period
                .and_then(|p| p.get("end"))
                .and_then(Json::as_str)
                .unwrap_or("2025-12-31");
            let period = Period::parse(start, end)?;
            let patient = PatientRecord::new(resources);
            let result = compiled.evaluate(&patient, &period);
            let mut failure = CaseFailure {
                case: key.clone(),
                description: description(&expected),
                diffs: Vec::new(),
                error: None,
                known: known.get(&key).cloned(),
            };
            match result {
                Ok(groups) => {
                    // Compared as reported, measure-observation counts included; a code
                    // listed twice (two observations) matches our entries in order.
                    let ours = population_counts(&super::report::individual(
                        &compiled, "case", &period, &groups,
                    ));
                    for (gi, exp) in population_counts(&expected).into_iter().enumerate() {
                        for (k, (code, n)) in exp.iter().enumerate() {
                            let nth = exp[..k].iter().filter(|(c, _)| c == code).count();
                            let actual = ours
                                .get(gi)
                                .and_then(|g| g.iter().filter(|(c, _)| c == code).nth(nth))
                                .map(|(_, a)| *a);
                            if actual != Some(*n) {
                                failure.diffs.push((gi, code.clone(), *n, actual));
                            }
                        }
                    }
                }
                Err(e) => failure.error = Some(e.to_string()),
            }
            if failure.diffs.is_empty() && failure.error.is_none() {
                ms.passed += 1;
            } else {
                ms.failures.push(failure);
            }
            timed.push((patient, period));
        }
        ms.per_patient = time_per_patient(&compiled, &timed);
        summary.measures.push(ms);
    }
    Ok(summary)
}

/// Mean time of one patient evaluation over `TIMING_ROUNDS` sequential rounds.
fn time_per_patient(
    measure: &super::CompiledMeasure,
    cases: &[(PatientRecord, Period)],
) -> Duration {
    const TIMING_ROUNDS: u32 = 10;
    if cases.is_empty() {
        return Duration::ZERO;
    }
    let t0 = Instant::now();
    for _ in 0..TIMING_ROUNDS {
        for (patient, period) in cases {
            // Results were checked above; only the time matters here.
            let _ = measure.evaluate(patient, period);
        }
    }
    t0.elapsed() / (TIMING_ROUNDS * cases.len() as u32)
}
