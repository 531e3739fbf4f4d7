//! The read mix after ingest: read by id, vread, instance history, and searches when (and only
//! when) the server's CapabilityStatement claims them. Latency is measured client-side, from
//! sending the request to the last byte of the answer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde_json::Value;

use crate::load::{micros, Targets};

/// One kind of query and how to build its path from a target index.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    ReadPatient,
    ReadObservation,
    Vread,
    History,
    SearchObservationsBySubject,
    SearchPatientsByFamily,
    /// A portal's vital-signs view: one patient's blood pressures since a date.
    SearchBloodPressures,
    /// A care team's encounter list for one patient.
    SearchEncounters,
    /// A patient portal's care plans.
    SearchActiveCarePlans,
    /// The problem list.
    SearchActiveConditions,
    /// A sync client's page of recent changes.
    SyncRecentObservations,
    /// One page of a patient's whole record.
    Everything,
}

/// Each kind with the search parameters the server must claim for it to run.
const SEARCHES: [(Kind, &str, &[&str]); 8] = [
    (
        Kind::SearchObservationsBySubject,
        "Observation",
        &["subject"],
    ),
    (Kind::SearchPatientsByFamily, "Patient", &["family"]),
    (
        Kind::SearchBloodPressures,
        "Observation",
        &["patient", "code", "date"],
    ),
    (Kind::SearchEncounters, "Encounter", &["patient", "date"]),
    (
        Kind::SearchActiveCarePlans,
        "CarePlan",
        &["patient", "status"],
    ),
    (
        Kind::SearchActiveConditions,
        "Condition",
        &["patient", "clinical-status"],
    ),
    (
        Kind::SyncRecentObservations,
        "Observation",
        &["_lastUpdated"],
    ),
    (Kind::Everything, "Patient", &[]),
];

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::ReadPatient => "read Patient",
            Kind::ReadObservation => "read Observation",
            Kind::Vread => "vread Observation",
            Kind::History => "history Patient",
            Kind::SearchObservationsBySubject => "search Observation?subject",
            Kind::SearchPatientsByFamily => "search Patient?family",
            Kind::SearchBloodPressures => "search Observation?patient&code&date",
            Kind::SearchEncounters => "search Encounter?patient&date",
            Kind::SearchActiveCarePlans => "search CarePlan?patient&status",
            Kind::SearchActiveConditions => "search Condition?patient&clinical-status",
            Kind::SyncRecentObservations => "sync Observation?_lastUpdated&_sort&_count=50",
            Kind::Everything => "Patient/$everything?_count=50",
        }
    }

    /// Whether the kind is a query scoped to one patient (the 10 ms p99 goal).
    pub fn patient_scoped(self) -> bool {
        !matches!(
            self,
            Kind::SearchPatientsByFamily | Kind::SyncRecentObservations
        )
    }

    fn path(self, targets: &Targets, n: usize) -> String {
        let patient = &targets.patients[n % targets.patients.len()];
        let observation = &targets.observations[n % targets.observations.len()];
        let id = patient.trim_start_matches("Patient/");
        match self {
            Kind::ReadPatient => patient.clone(),
            Kind::ReadObservation => observation.clone(),
            Kind::Vread => format!("{observation}/_history/1"),
            Kind::History => format!("{patient}/_history"),
            Kind::SearchObservationsBySubject => format!("Observation?subject={patient}"),
            Kind::SearchPatientsByFamily => {
                const FAMILIES: [&str; 4] = ["Smith", "Johnson", "Garcia", "Nguyen"];
                format!("Patient?family={}", FAMILIES[n % FAMILIES.len()])
            }
            Kind::SearchBloodPressures => format!(
                "Observation?patient={id}&code=http://loinc.org|85354-9&date=ge2023-01-01"
            ),
            Kind::SearchEncounters => format!("Encounter?patient={id}&date=ge2023-01-01"),
            Kind::SearchActiveCarePlans => format!("CarePlan?patient={id}&status=active"),
            Kind::SearchActiveConditions => format!(
                "Condition?patient={id}&clinical-status=http://terminology.hl7.org/CodeSystem/condition-clinical|active"
            ),
            Kind::SyncRecentObservations => {
                // Pages of changes since a moment spread over the last day.
                let since = time::OffsetDateTime::now_utc() - time::Duration::minutes((n % 1440) as i64);
                let since = since
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                format!(
                    "Observation?_lastUpdated=gt{}&_sort=_lastUpdated&_count=50",
                    since.replace('+', "%2B")
                )
            }
            Kind::Everything => format!("{patient}/$everything?_count=50"),
        }
    }
}

/// The kinds this server supports now, from its CapabilityStatement.
pub fn kinds(capabilities: &Value) -> Vec<Kind> {
    let mut kinds = vec![
        Kind::ReadPatient,
        Kind::ReadObservation,
        Kind::Vread,
        Kind::History,
    ];
    for (kind, resource_type, parameters) in SEARCHES {
        if parameters
            .iter()
            .all(|p| hearth::demo::supports_search(capabilities, resource_type, p))
        {
            kinds.push(kind);
        }
    }
    kinds
}

pub struct Reads {
    pub total: usize,
    pub elapsed: Duration,
    pub latency: BTreeMap<Kind, Histogram<u64>>,
}

/// `reads` requests spread evenly over `kinds`, `concurrency` at a time. With `rate` (requests
/// per second, all clients together) request `n` is due at `n / rate` seconds and its latency
/// counts from then, so time spent waiting for a free client counts too (no coordinated
/// omission); without it every client sends its next request as soon as the last one answers.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    targets: Targets,
    kinds: &[Kind],
    reads: usize,
    concurrency: usize,
    rate: Option<f64>,
    progress: &ProgressBar,
) -> anyhow::Result<Reads> {
    if targets.patients.is_empty() || targets.observations.is_empty() || kinds.is_empty() {
        bail!("nothing to read: no Patients or Observations were loaded");
    }
    let targets = Arc::new(targets);
    let kinds: Arc<[Kind]> = kinds.into();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, base, targets, kinds, next, progress) = (
            client.clone(),
            base.to_owned(),
            targets.clone(),
            kinds.clone(),
            next.clone(),
            progress.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latency: BTreeMap<Kind, Histogram<u64>> = BTreeMap::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= reads {
                    break;
                }
                let kind = kinds[n % kinds.len()];
                // Spread each kind over different targets, not the same few.
                let path = kind.path(&targets, n / kinds.len() * 7919);
                let begun = match rate {
                    Some(rate) => {
                        let due = started + Duration::from_secs_f64(n as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                let response = client.get(format!("{base}/{path}")).send().await?;
                let status = response.status();
                response.bytes().await?;
                if !status.is_success() {
                    bail!("{} answered {status}", kind.label());
                }
                let histogram = match latency.entry(kind) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => e.insert(Histogram::new(3)?),
                };
                histogram.record(micros(begun.elapsed()))?;
                progress.inc(1);
            }
            anyhow::Ok(latency)
        }));
    }
    let mut latency: BTreeMap<Kind, Histogram<u64>> = BTreeMap::new();
    for worker in workers {
        for (kind, part) in worker.await.context("read worker")?? {
            match latency.entry(kind) {
                std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().add(&part)?,
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(part);
                }
            }
        }
    }
    Ok(Reads {
        total: reads,
        elapsed: started.elapsed(),
        latency,
    })
}
