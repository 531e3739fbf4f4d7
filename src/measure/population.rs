//! Measure runs over stored patients. One patient gives an individual report; otherwise
//! patients stream from the store a page at a time, each page is evaluated in parallel on the
//! rayon pool (from a blocking thread, never the async runtime), and counts are added up as
//! pages finish, so memory stays flat however large the population (subject lists excepted:
//! they hold one id per member).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::json;
use tokio::task::JoinHandle;

use super::patients::{self, Recording};
use super::report::{self, Counts};
use super::service::{resource_type, ServiceError};
use super::strata::StrataTally;
use super::{Bindings, CompiledMeasure, GroupResult, Json, PatientRecord, PatientResult, Period};
use crate::fhir::Id;
use crate::store::{CompartmentRead, ResourceStore};

/// Patients read and evaluated per step of a population run.
pub(crate) const PAGE: u32 = 200;

/// Pages of a population run read or evaluated at once: enough to keep every core busy
/// while one page waits on the store, few enough that memory stays a few pages.
const PAGES_IN_FLIGHT: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportType {
    Subject,
    SubjectList,
    Population,
}

impl ReportType {
    pub fn parse(text: &str) -> Option<ReportType> {
        match text {
            "subject" => Some(ReportType::Subject),
            "subject-list" => Some(ReportType::SubjectList),
            "population" => Some(ReportType::Population),
            _ => None,
        }
    }
}

/// Whom a run covers.
#[derive(Debug, Clone)]
pub enum Subjects {
    Patient(String),
    Group(String),
    /// Patients whose `generalPractitioner` is this practitioner id.
    Practitioner(String),
    All,
}

/// Patient ids and their results, for one page, and why a stored resource of the page could
/// not be parsed, if one could not.
type PageResults = (Ids, Results, Option<String>);

/// Called after each page with the number of patients evaluated so far.
pub type Progress<'a> = &'a (dyn Fn(u64) + Send + Sync);

/// Evaluates `measure` for `subjects` and renders the MeasureReport `report_type` asks for.
pub async fn run(
    store: &Arc<dyn ResourceStore>,
    measure: Arc<CompiledMeasure>,
    period: Period,
    bindings: Bindings,
    report_type: ReportType,
    subjects: Subjects,
    progress: Option<Progress<'_>>,
) -> Result<Json, ServiceError> {
    if report_type == ReportType::Subject {
        let Subjects::Patient(id) = subjects else {
            return Err(ServiceError::BadRequest(
                "reportType subject needs a subject that is one Patient".into(),
            ));
        };
        let (report, _) = individual(store.as_ref(), measure, period, bindings, &id).await?;
        return Ok(report);
    }
    let mut source = Source::new(store.as_ref(), subjects).await?;
    // Only what the measure retrieves is read (individual reports, above, list every
    // resource of each retrieved type, so they read whole compartments). When patients
    // outside every initial population need less, a page is read in two steps: that much
    // for everyone, the rest for the patients inside one.
    let params = measure.params(&period, &bindings);
    let full = super::requirements::derive(&measure)
        .to_read(&params)
        .map(Arc::new);
    let plan = match super::requirements::derive_initial(&measure).map(|r| r.to_read(&params)) {
        Some(first) => PageRead::TwoSteps {
            first: first.map(Arc::new),
            full,
        },
        None => PageRead::Once(full),
    };
    let mut tally = Tally::new(&measure, report_type == ReportType::SubjectList);
    // Pages are read and evaluated in their own tasks, a few at once, and added up in order:
    // with one page read while the previous one is evaluated, the reading (one connection,
    // one thread) bounded the run and the cores were half idle.
    let mut in_flight = InFlight::default();
    loop {
        while in_flight.0.len() < PAGES_IN_FLIGHT {
            let Some(ids) = source.next_page(store.as_ref()).await? else {
                break;
            };
            let page = Page {
                measure: measure.clone(),
                period,
                bindings: bindings.clone(),
            };
            in_flight.0.push_back(tokio::spawn(page.read_and_evaluate(
                store.clone(),
                ids,
                source.practitioner.clone(),
                plan.clone(),
            )));
        }
        let Some(oldest) = in_flight.0.pop_front() else {
            break;
        };
        let (ids, results, corrupt) = oldest.await.map_err(|_| ServiceError::Interrupted)??;
        if let Some(why) = corrupt {
            return Err(crate::store::StoreError::Corrupt(why).into());
        }
        for (id, result) in ids.into_iter().zip(results) {
            match result {
                Ok(r) => tally.add(&id, &r),
                // One patient's failure does not sink the run: it is counted and reported.
                Err(e) => tally.fail(&e),
            }
        }
        if let Some(progress) = progress {
            progress(tally.patients);
        }
    }
    if tally.failed > 0 {
        tracing::warn!(
            failed = tally.failed,
            evaluated = tally.patients,
            "patients whose measure evaluation failed were left out of the report"
        );
    }
    Ok(tally.render(&measure, &period))
}

/// The pages of a run being read or evaluated, oldest first; a run that ends early (an
/// error, or its request dropped) stops them.
#[derive(Default)]
struct InFlight(VecDeque<JoinHandle<Result<PageResults, ServiceError>>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        for page in &self.0 {
            page.abort();
        }
    }
}

/// How a population run reads each page of patients.
#[derive(Debug, Clone)]
enum PageRead {
    /// What the measure retrieves (`None`: whole compartments), for every patient at once.
    Once(Option<Arc<CompartmentRead>>),
    /// `first`, what the initial populations and stratifiers retrieve, for every patient;
    /// then `full` for the patients inside an initial population, less the types `first`
    /// already read alike (`None`: whole compartments).
    TwoSteps {
        first: Option<Arc<CompartmentRead>>,
        full: Option<Arc<CompartmentRead>>,
    },
}

impl PageRead {
    /// What is read of every patient of a page.
    fn first(&self) -> Option<&CompartmentRead> {
        match self {
            PageRead::Once(read) | PageRead::TwoSteps { first: read, .. } => read.as_deref(),
        }
    }
}

/// What evaluating a page of a population run takes.
struct Page {
    measure: Arc<CompiledMeasure>,
    period: Period,
    bindings: Bindings,
}

impl Page {
    /// Reads a page of patients (those of `practitioner` only, when given) and evaluates it.
    async fn read_and_evaluate(
        self,
        store: Arc<dyn ResourceStore>,
        ids: Vec<String>,
        practitioner: Option<String>,
        plan: PageRead,
    ) -> Result<PageResults, ServiceError> {
        let mut records = patients::load(store.as_ref(), &ids, plan.first()).await?;
        if let Some(practitioner) = &practitioner {
            records.retain(|r| patients::has_practitioner(r, practitioner));
        }
        self.evaluate(store, records, plan).await
    }

    /// Evaluates `records`, read as `plan`'s first step says; in two steps, the patients
    /// found inside an initial population are completed with the rest of the full read
    /// (their records keep what the first step read and parsed) and evaluated again.
    async fn evaluate(
        self,
        store: Arc<dyn ResourceStore>,
        records: Vec<PatientRecord>,
        plan: PageRead,
    ) -> Result<PageResults, ServiceError> {
        let PageRead::TwoSteps { first, full } = plan else {
            let (ids, results, corrupt, _) = self.blocking(records, false).await?;
            return Ok((ids, results, corrupt));
        };
        let (ids, mut results, corrupt, inside) = self.blocking(records, true).await?;
        if corrupt.is_some() || inside.is_empty() {
            return Ok((ids, results, corrupt));
        }
        let records =
            patients::complete(store.as_ref(), inside, first.as_deref(), full.as_deref()).await?;
        let (again, full, corrupt, _) = self.blocking(records, false).await?;
        let position: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| (id.as_str(), n))
            .collect();
        for (id, result) in again.iter().zip(full) {
            if let Some(&n) = position.get(id.as_str()) {
                results[n] = result;
            }
        }
        Ok((ids, results, corrupt))
    }

    /// Evaluates records on the rayon pool, from a blocking thread; with `keep_inside`, hands
    /// back (with their ids) the records of the patients inside an initial population.
    async fn blocking(
        &self,
        records: Vec<PatientRecord>,
        keep_inside: bool,
    ) -> Result<(Ids, Results, Option<String>, Vec<(String, PatientRecord)>), ServiceError> {
        let measure = self.measure.clone();
        let (period, bindings) = (self.period, self.bindings.clone());
        tokio::task::spawn_blocking(move || {
            let results = measure.evaluate_patients(&records, &period, &bindings);
            let ids: Ids = records
                .iter()
                .map(|r| r.patient_id().unwrap_or_default().to_owned())
                .collect();
            // Resources are parsed as evaluation retrieves them: a body that does not parse
            // fails the run, as it did when pages were parsed before evaluation.
            let corrupt = records.iter().find_map(|r| r.corrupt().map(str::to_owned));
            let mut inside = Vec::new();
            let mut done = Vec::with_capacity(records.len());
            for ((id, record), result) in ids.iter().zip(records).zip(&results) {
                if keep_inside && result.as_ref().is_ok_and(in_initial_population) {
                    inside.push((id.clone(), record));
                } else {
                    done.push(record);
                }
            }
            // Freeing a page's JSON trees costs about a tenth of evaluating them: on all cores.
            done.into_par_iter().for_each(drop);
            (ids, results, corrupt, inside)
        })
        .await
        .map_err(|_| ServiceError::Interrupted)
    }
}

type Ids = Vec<String>;
type Results = Vec<Result<PatientResult, super::MeasureError>>;

/// Whether a patient's result puts it in some initial population.
fn in_initial_population(result: &PatientResult) -> bool {
    result.groups.iter().any(|g| {
        g.counts
            .iter()
            .any(|(code, n)| code == "initial-population" && *n > 0)
    })
}

/// One patient's individual report and its group results.
pub async fn individual(
    store: &dyn ResourceStore,
    measure: Arc<CompiledMeasure>,
    period: Period,
    bindings: Bindings,
    id: &str,
) -> Result<(Json, Vec<GroupResult>), ServiceError> {
    let record = patients::load(store, &[id.to_owned()], None)
        .await?
        .pop()
        .ok_or_else(|| ServiceError::NotFound("no Patient with that id".into()))?;
    let id = id.to_owned();
    tokio::task::spawn_blocking(move || {
        Ok(individual_report(
            &measure, &record, &id, &period, &bindings,
        )?)
    })
    .await
    .map_err(|_| ServiceError::Interrupted)?
}

/// The individual report (with supplemental data and the resources the
/// measure evaluated) and group results of one loaded patient. CPU-bound.
pub fn individual_report(
    measure: &CompiledMeasure,
    record: &PatientRecord,
    id: &str,
    period: &Period,
    bindings: &Bindings,
) -> Result<(Json, Vec<GroupResult>), super::MeasureError> {
    let recording = Recording::new(record);
    let result = measure.evaluate_patient_with(&recording, period, bindings)?;
    let mut report = report::individual_with_data(measure, id, period, &result);
    let evaluated = recording.evaluated();
    if !evaluated.is_empty() {
        report["evaluatedResource"] = Json::Array(evaluated);
    }
    Ok((report, result.groups))
}

/// Where patient ids come from: a fixed list, or every stored Patient page by page.
struct Source {
    fixed: Option<Vec<String>>,
    after: Option<i64>,
    done: bool,
    practitioner: Option<String>,
}

impl Source {
    async fn new(store: &dyn ResourceStore, subjects: Subjects) -> Result<Source, ServiceError> {
        let mut source = Source {
            fixed: None,
            after: None,
            done: false,
            practitioner: None,
        };
        match subjects {
            Subjects::Patient(id) => source.fixed = Some(vec![id]),
            Subjects::Group(id) => source.fixed = Some(group_members(store, &id).await?),
            Subjects::Practitioner(id) => source.practitioner = Some(id),
            Subjects::All => {}
        }
        Ok(source)
    }

    async fn next_page(
        &mut self,
        store: &dyn ResourceStore,
    ) -> Result<Option<Vec<String>>, ServiceError> {
        if self.done {
            return Ok(None);
        }
        if let Some(fixed) = &mut self.fixed {
            let rest = fixed.split_off(fixed.len().min(PAGE as usize));
            let page = std::mem::replace(fixed, rest);
            self.done = fixed.is_empty();
            return Ok((!page.is_empty()).then_some(page));
        }
        // Creation order, not id order: a page's data then lies together in the store.
        let page = store
            .list_ids_in_creation_order(resource_type("Patient")?, self.after, PAGE)
            .await?;
        self.done = page.len() < PAGE as usize;
        self.after = page.last().map(|(position, _)| *position);
        Ok((!page.is_empty()).then(|| page.into_iter().map(|(_, id)| id).collect()))
    }
}

/// The Patient ids a Group lists in `member.entity`.
pub async fn group_members(
    store: &dyn ResourceStore,
    id: &str,
) -> Result<Vec<String>, ServiceError> {
    let missing = || ServiceError::NotFound("no Group with that id".into());
    let id = Id::parse(id).map_err(|_| missing())?;
    let stored = store
        .read(resource_type("Group")?, &id)
        .await?
        .ok_or_else(missing)?;
    let body = stored.body.ok_or_else(missing)?;
    let group: Json = serde_json::from_str(&body)
        .map_err(|_| ServiceError::BadRequest("the Group is not valid JSON".into()))?;
    Ok(group
        .get("member")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.pointer("/entity/reference").and_then(Json::as_str))
        .filter_map(|r| r.strip_prefix("Patient/"))
        .map(str::to_owned)
        .collect())
}

/// Running population counts (and, for subject lists, members) per group.
struct Tally {
    patients: u64,
    groups: Vec<GroupTally>,
    keep_members: bool,
    supplemental: super::supplemental::Tally,
    /// Patients whose evaluation failed, and the distinct reasons (at most `MAX_REASONS`).
    failed: u64,
    reasons: Vec<String>,
}

const MAX_REASONS: usize = 10;

struct GroupTally {
    counts: Counts,
    observations: Vec<Vec<f64>>,
    strata: StrataTally,
    /// Per population (Measure order): the patients counted in it.
    members: Vec<Vec<String>>,
}

impl Tally {
    fn new(measure: &CompiledMeasure, keep_members: bool) -> Tally {
        let groups = measure
            .groups
            .iter()
            .map(|g| GroupTally {
                counts: g.populations.iter().map(|p| (p.code.clone(), 0)).collect(),
                observations: vec![Vec::new(); g.observations.len()],
                strata: StrataTally::new(g),
                members: vec![Vec::new(); g.populations.len()],
            })
            .collect();
        Tally {
            patients: 0,
            groups,
            keep_members,
            supplemental: super::supplemental::Tally::new(measure.sde.len()),
            failed: 0,
            reasons: Vec::new(),
        }
    }

    fn fail(&mut self, e: &super::MeasureError) {
        self.failed += 1;
        // Messages name definitions and operators, never patient data or ids.
        let reason = e.to_string();
        if self.reasons.len() < MAX_REASONS && !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    fn add(&mut self, patient: &str, result: &PatientResult) {
        self.patients += 1;
        self.supplemental.add(&result.supplemental);
        for (tally, g) in self.groups.iter_mut().zip(&result.groups) {
            report::add(&mut tally.counts, &g.counts);
            for (all, mine) in tally.observations.iter_mut().zip(&g.observations) {
                all.extend_from_slice(mine);
            }
            tally.strata.add(&g.strata);
            if self.keep_members {
                for (members, (_, n)) in tally.members.iter_mut().zip(&g.counts) {
                    if *n > 0 {
                        members.push(patient.to_owned());
                    }
                }
            }
        }
    }

    fn render(self, measure: &CompiledMeasure, period: &Period) -> Json {
        let mut contained = Vec::new();
        let groups = self
            .groups
            .into_iter()
            .zip(&measure.groups)
            .enumerate()
            .map(|(gi, (tally, def))| {
                let stratifiers = tally.strata.render(def);
                let mut group =
                    report::group_json(def, &tally.counts, &tally.observations, stratifiers);
                if self.keep_members {
                    attach_lists(&mut group, gi, &tally.members, &mut contained);
                }
                group
            })
            .collect();
        let kind = if self.keep_members {
            "subject-list"
        } else {
            "summary"
        };
        let mut r = report::report(measure, kind, period, groups);
        let (sde, mut ext) = self.supplemental.render(measure);
        contained.extend(sde);
        if self.failed > 0 {
            contained.push(failures(self.failed, &self.reasons));
            ext.push(json!({
                "url": "http://hl7.org/fhir/StructureDefinition/cqf-messages",
                "valueReference": {"reference": "#evaluation-errors"},
            }));
        }
        report::attach(&mut r, contained, ext);
        r
    }
}

/// The OperationOutcome a report contains when some patients could not be evaluated.
fn failures(failed: u64, reasons: &[String]) -> Json {
    let mut issues = vec![json!({
        "severity": "error",
        "code": "processing",
        "diagnostics": format!(
            "{failed} patient(s) could not be evaluated and are not counted in this report"
        ),
    })];
    issues.extend(
        reasons
            .iter()
            .map(|r| json!({"severity": "error", "code": "processing", "diagnostics": r})),
    );
    json!({"resourceType": "OperationOutcome", "id": "evaluation-errors", "issue": issues})
}

/// A contained List of each population's members, referenced from `subjectResults`.
fn attach_lists(group: &mut Json, gi: usize, members: &[Vec<String>], contained: &mut Vec<Json>) {
    let Some(populations) = group.get_mut("population").and_then(Json::as_array_mut) else {
        return;
    };
    for (pi, (population, members)) in populations.iter_mut().zip(members).enumerate() {
        let id = format!("group-{gi}-population-{pi}");
        population["subjectResults"] = json!({ "reference": format!("#{id}") });
        // Patients are evaluated in storage order; a list reads best in id order.
        let mut members: Vec<&String> = members.iter().collect();
        members.sort_unstable();
        let entries: Vec<Json> = members
            .into_iter()
            .map(|m| json!({"item": {"reference": format!("Patient/{m}")}}))
            .collect();
        contained.push(json!({
            "resourceType": "List",
            "id": id,
            "status": "current",
            "mode": "snapshot",
            "entry": entries,
        }));
    }
}
