//! `Measure/$care-gaps` (Da Vinci DEQM): for each patient, a gaps-in-care document Bundle
//! with a Composition, one DetectedIssue per measure whose gap status was asked for, and the
//! patient's individual MeasureReport for that measure. A gap is open when the patient is
//! eligible and misses the numerator, or meets it for an inverse measure (improvement
//! notation "decrease"); closed when eligible and not open.

use std::sync::Arc;

use rayon::prelude::*;
use serde_json::json;

use super::patients;
use super::population::{self, Subjects};
use super::service::{MeasureRef, MeasureService, ServiceError};
use super::{CompiledMeasure, Json, PatientRecord, Period};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapStatus {
    Open,
    Closed,
}

impl GapStatus {
    pub fn parse(text: &str) -> Option<GapStatus> {
        match text {
            "open-gap" => Some(GapStatus::Open),
            "closed-gap" => Some(GapStatus::Closed),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            GapStatus::Open => "open-gap",
            GapStatus::Closed => "closed-gap",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CareGapsRequest {
    pub period: Period,
    /// A Patient or a Group; `Subjects::All` when patients are chosen by
    /// `practitioner` and/or `organization`.
    pub subjects: Subjects,
    /// Patients whose `generalPractitioner` is this Practitioner.
    pub practitioner: Option<String>,
    /// Patients whose `managingOrganization` is this Organization.
    pub organization: Option<String>,
    pub measures: Vec<MeasureRef>,
    /// Adds the Measures whose `useContext` puts them in this program.
    pub program: Option<String>,
    pub statuses: Vec<GapStatus>,
}

/// The `$care-gaps` answer: a Parameters with one `return` Bundle per patient that has a gap
/// of a requested status, and an `outcome` OperationOutcome when something was skipped
/// (an ignored program, patients whose evaluation failed).
pub async fn care_gaps(
    service: &MeasureService,
    request: CareGapsRequest,
) -> Result<Json, ServiceError> {
    let store = service.store();
    let mut issues = Vec::new();
    let mut refs = request.measures.clone();
    if let Some(program) = &request.program {
        match service.program_measures(program).await? {
            Some(found) if found.is_empty() && refs.is_empty() => {
                return Err(ServiceError::NotFound(
                    "no Measure belongs to that program".into(),
                ))
            }
            Some(found) => refs.extend(found),
            None => issues.push(issue(
                "warning",
                "no stored Measure declares a program (useContext of type program), so the \
                 'program' parameter was ignored",
            )),
        }
    }
    if refs.is_empty() {
        return Err(ServiceError::BadRequest(
            "$care-gaps needs at least one measureId, measureUrl or program".into(),
        ));
    }
    let patients = match &request.subjects {
        Subjects::Patient(id) => vec![id.clone()],
        Subjects::Group(id) => population::group_members(store.as_ref(), id).await?,
        _ => {
            let mut filters = Vec::new();
            if let Some(p) = &request.practitioner {
                filters.push(("generalPractitioner", p.as_str()));
            }
            if let Some(o) = &request.organization {
                filters.push(("managingOrganization", o.as_str()));
            }
            if filters.is_empty() {
                return Err(ServiceError::BadRequest(
                    "$care-gaps needs a subject (Patient/[id]), a subjectGroup (Group/[id]), \
                     a practitioner or an organization"
                        .into(),
                ));
            }
            patients::patients_where(store.as_ref(), &filters, population::PAGE).await?
        }
    };
    let mut measures = Vec::with_capacity(refs.len());
    for by in &refs {
        let m = service.measure(by).await?;
        if !measures
            .iter()
            .any(|x: &Arc<CompiledMeasure>| Arc::ptr_eq(x, &m))
        {
            measures.push(m);
        }
    }
    let mut bundles = Vec::new();
    let mut failed = 0u64;
    // Patients are read and evaluated a page at a time, in parallel within a page.
    for page in patients.chunks(population::PAGE as usize) {
        let records = patients::load(store.as_ref(), page, None).await?;
        if records.is_empty() && matches!(request.subjects, Subjects::Patient(_)) {
            return Err(ServiceError::NotFound("no Patient with that id".into()));
        }
        let measures = measures.clone();
        let (period, statuses) = (request.period, request.statuses.clone());
        let (page_bundles, page_failed) = tokio::task::spawn_blocking(move || {
            let results: Vec<(Option<Json>, u64)> = records
                .par_iter()
                .map(|record| patient_gaps(record, &measures, &period, &statuses))
                .collect();
            let failed = results.iter().map(|(_, f)| f).sum::<u64>();
            (
                results
                    .into_iter()
                    .filter_map(|(b, _)| b)
                    .collect::<Vec<_>>(),
                failed,
            )
        })
        .await
        .map_err(|_| ServiceError::Interrupted)?;
        bundles.extend(page_bundles);
        failed += page_failed;
    }
    if failed > 0 {
        tracing::warn!(
            failed,
            "patients whose care-gap evaluation failed were skipped"
        );
        issues.push(issue(
            "error",
            &format!("{failed} patient evaluation(s) failed and are not in this answer"),
        ));
    }
    let mut parameters: Vec<Json> = bundles
        .into_iter()
        .map(|b| json!({"name": "return", "resource": b}))
        .collect();
    if !issues.is_empty() {
        parameters.push(json!({"name": "outcome", "resource":
            {"resourceType": "OperationOutcome", "issue": issues}}));
    }
    Ok(json!({"resourceType": "Parameters", "parameter": parameters}))
}

fn issue(severity: &str, text: &str) -> Json {
    json!({"severity": severity, "code": if severity == "warning" { "informational" } else { "processing" },
        "diagnostics": text})
}

/// One patient's gaps Bundle (`None` without a gap of a requested status) and
/// the number of measures whose evaluation failed for the patient.
fn patient_gaps(
    record: &PatientRecord,
    measures: &[Arc<CompiledMeasure>],
    period: &Period,
    statuses: &[GapStatus],
) -> (Option<Json>, u64) {
    let Some(patient) = record.patient_id() else {
        return (None, 0);
    };
    let mut sections = Vec::new();
    let mut failed = 0;
    for measure in measures {
        let Ok((report, groups)) =
            population::individual_report(measure, record, patient, period, &Default::default())
        else {
            failed += 1;
            continue;
        };
        let higher_is_better = measure.improvement_notation != "decrease";
        let eligible = groups.iter().any(|g| g.care_gap(true) || g.care_gap(false));
        if !eligible {
            continue;
        }
        let status = if groups.iter().any(|g| g.care_gap(higher_is_better)) {
            GapStatus::Open
        } else {
            GapStatus::Closed
        };
        if statuses.contains(&status) {
            sections.push((measure.url.clone().unwrap_or_default(), status, report));
        }
    }
    let bundle = (!sections.is_empty()).then(|| gaps_bundle(patient, period, sections));
    (bundle, failed)
}

fn urn() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

fn gaps_bundle(patient: &str, period: &Period, sections: Vec<(String, GapStatus, Json)>) -> Json {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let subject = json!({"reference": format!("Patient/{patient}")});
    let mut entries = Vec::new();
    let mut composition_sections = Vec::new();
    for (measure, status, report) in sections {
        let (report_url, issue_url) = (urn(), urn());
        let issue = json!({
            "resourceType": "DetectedIssue",
            "modifierExtension": [{
                "url": "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-gapStatus",
                "valueCodeableConcept": {"coding": [{
                    "system": "http://hl7.org/fhir/us/davinci-deqm/CodeSystem/gaps-status",
                    "code": status.code(),
                }]},
            }],
            "status": "final",
            "code": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "CAREGAP",
                "display": "Care Gaps",
            }]},
            "patient": subject,
            "evidence": [{"detail": [{"reference": report_url}]}],
        });
        composition_sections.push(json!({
            "title": measure,
            "focus": {"reference": report_url},
            "entry": [{"reference": issue_url}],
        }));
        entries.push(json!({"fullUrl": report_url, "resource": report}));
        entries.push(json!({"fullUrl": issue_url, "resource": issue}));
    }
    let composition = json!({
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "96315-7", "display": "Gaps in care report"}]},
        "subject": subject,
        "date": now,
        "author": [{"display": "Hearth"}],
        "title": "Gaps in Care Report",
        "extension": [{
            "url": "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-gapsInCarePeriod",
            "valuePeriod": {"start": period.start.format(false), "end": period.end.format(false)},
        }],
        "section": composition_sections,
    });
    entries.insert(0, json!({"fullUrl": urn(), "resource": composition}));
    json!({
        "resourceType": "Bundle",
        "type": "document",
        "timestamp": now,
        "entry": entries,
    })
}
