//! Conformance runner: evaluates every published test case of every measure
//! in a content directory and compares population counts, measure
//! observations, scores and strata with the expected MeasureReport
//! (`conformance_case` reads a case and compares).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use super::conformance_case::{compare, read_case, sorted_dir};
use super::program::{Engine, Period};
use super::value::Json;
use super::{MeasureError, PatientRecord};

#[derive(Debug, Clone)]
pub struct CaseFailure {
    pub case: String,
    pub description: String,
    pub diffs: Vec<Diff>,
    pub error: Option<String>,
    /// Reason from the known-differences file, when listed.
    pub known: Option<String>,
}

/// One expected figure of a group that the engine did not reproduce.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    pub group: usize,
    /// A population code, an observation code or `measureScore`.
    pub what: String,
    pub expected: String,
    /// `missing` when the engine reported nothing.
    pub actual: String,
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
                for d in &f.diffs {
                    let _ = writeln!(
                        out,
                        "    group {} {}: expected {}, got {}",
                        d.group, d.what, d.expected, d.actual
                    );
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
            let (expected, resources) = read_case(&case)?;
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
                Ok(groups) => failure.diffs = compare(&compiled, &period, &groups, &expected),
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
