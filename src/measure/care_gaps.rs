//! `Measure/$care-gaps` (Da Vinci DEQM): for each patient, a gaps-in-care document Bundle
//! with a Composition, one DetectedIssue per measure whose gap status was asked for, and the
//! patient's individual MeasureReport for that measure. A gap is open when the patient is
//! eligible and misses the numerator, or meets it for an inverse measure (improvement
//! notation "decrease"); closed when eligible and not open.

use serde_json::json;

use super::population::{self, Subjects};
use super::service::{MeasureRef, MeasureService, ServiceError};
use super::{Json, Period};

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
    /// A Patient or a Group.
    pub subjects: Subjects,
    pub measures: Vec<MeasureRef>,
    pub statuses: Vec<GapStatus>,
}

/// The `$care-gaps` answer: a Parameters with one `return` Bundle per patient that has a gap
/// of a requested status.
pub async fn care_gaps(
    service: &MeasureService,
    request: CareGapsRequest,
) -> Result<Json, ServiceError> {
    if request.measures.is_empty() {
        return Err(ServiceError::BadRequest(
            "$care-gaps needs at least one measureId or measureUrl".into(),
        ));
    }
    let store = service.store();
    let patients = match &request.subjects {
        Subjects::Patient(id) => vec![id.clone()],
        Subjects::Group(id) => population::group_members(store.as_ref(), id).await?,
        _ => {
            return Err(ServiceError::BadRequest(
                "$care-gaps needs a subject (Patient/[id]) or a subjectGroup (Group/[id])".into(),
            ))
        }
    };
    let mut measures = Vec::with_capacity(request.measures.len());
    for by in &request.measures {
        measures.push(service.measure(by).await?);
    }
    let mut bundles = Vec::new();
    for patient in &patients {
        let mut sections = Vec::new();
        for measure in &measures {
            let (report, groups) =
                population::individual(store.as_ref(), measure.clone(), request.period, patient)
                    .await?;
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
            if request.statuses.contains(&status) {
                sections.push((measure.url.clone().unwrap_or_default(), status, report));
            }
        }
        if !sections.is_empty() {
            bundles.push(gaps_bundle(patient, &request.period, sections));
        }
    }
    let parameters: Vec<Json> = bundles
        .into_iter()
        .map(|b| json!({"name": "return", "resource": b}))
        .collect();
    Ok(json!({"resourceType": "Parameters", "parameter": parameters}))
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
