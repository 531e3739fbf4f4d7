//! Referral loop resources (CMS50): the primary-care ServiceRequest, the Task that tracks it
//! through the Task state machine, and the consultant's report.

use base64::Engine as _;
use serde_json::{json, Value};

use super::clock::{Instant, Zone};
use super::codes::{simple, Specialty};
use super::resources::reference;
use super::Source;

/// The order and its Task are the medical home's; the note is the specialty practice's.
const CLINIC: Zone = Source::Clinic.zone();
const SPECIALTY: Zone = Source::Specialty.zone();

/// Where a referral's Task stands, in the order the Task state machine allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskState {
    Requested,
    Accepted,
    InProgress,
    Completed,
    Rejected,
    Cancelled,
}

impl TaskState {
    fn code(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Accepted => "accepted",
            Self::InProgress => "in-progress",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    fn business_status(self) -> &'static str {
        match self {
            Self::Requested => "Referral sent",
            Self::Accepted => "Appointment scheduled",
            Self::InProgress => "Patient seen by consultant",
            Self::Completed => "Consultant report received",
            Self::Rejected => "Declined by consultant",
            Self::Cancelled => "Cancelled by patient",
        }
    }

    /// ServiceRequest status that goes with the Task's.
    pub(crate) fn request_status(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Rejected | Self::Cancelled => "revoked",
            _ => "active",
        }
    }
}

pub(crate) struct Referral<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) task_id: &'a str,
    pub(crate) patient: &'a str,
    pub(crate) encounter: &'a str,
    pub(crate) requester: &'a str,
    pub(crate) consultant: &'a str,
    pub(crate) specialty: Specialty,
    pub(crate) reason: Option<&'a str>,
    pub(crate) authored: Instant,
}

pub(crate) fn service_request(referral: &Referral<'_>, state: TaskState) -> Value {
    let mut request = json!({
        "resourceType": "ServiceRequest",
        "id": referral.request_id,
        "status": state.request_status(),
        "intent": "order",
        "category": [simple("http://snomed.info/sct", "3457005", "Patient referral")],
        "code": referral.specialty.referral.concept(),
        "subject": reference("Patient", referral.patient),
        "encounter": reference("Encounter", referral.encounter),
        "authoredOn": referral.authored.to_fhir(CLINIC),
        "requester": reference("Practitioner", referral.requester),
        "performer": [reference("Practitioner", referral.consultant)],
    });
    if let (Some(reason), Some(object)) = (referral.reason, request.as_object_mut()) {
        object.insert(
            "reasonReference".into(),
            json!([reference("Condition", reason)]),
        );
    }
    request
}

/// The Task as it stands at `now`; `report` is the consultant's note once it has come back.
pub(crate) fn task(
    referral: &Referral<'_>,
    state: TaskState,
    now: Instant,
    report: Option<&str>,
) -> Value {
    let mut task = json!({
        "resourceType": "Task",
        "id": referral.task_id,
        "basedOn": [reference("ServiceRequest", referral.request_id)],
        "status": state.code(),
        "businessStatus": {"text": state.business_status()},
        "intent": "order",
        "priority": "routine",
        "code": referral.specialty.report.concept(),
        "description": format!("Obtain {} consultant report", referral.specialty.name),
        "focus": reference("ServiceRequest", referral.request_id),
        "for": reference("Patient", referral.patient),
        "authoredOn": referral.authored.to_fhir(CLINIC),
        "lastModified": now.to_fhir(CLINIC),
        "requester": reference("Practitioner", referral.requester),
        "owner": reference("Practitioner", referral.consultant),
    });
    let Some(object) = task.as_object_mut() else {
        return task;
    };
    match state {
        TaskState::Requested => {}
        TaskState::Completed => {
            object.insert(
                "executionPeriod".into(),
                json!({"start": referral.authored.to_fhir(CLINIC), "end": now.to_fhir(CLINIC)}),
            );
        }
        TaskState::Rejected | TaskState::Cancelled => {
            object.insert(
                "statusReason".into(),
                json!({"text": state.business_status()}),
            );
        }
        TaskState::Accepted | TaskState::InProgress => {
            object.insert(
                "executionPeriod".into(),
                json!({"start": referral.authored.to_fhir(CLINIC)}),
            );
        }
    }
    if let Some(report) = report {
        object.insert(
            "output".into(),
            json!([{
                "type": referral.specialty.report.concept(),
                "valueReference": reference("DocumentReference", report),
            }]),
        );
    }
    task
}

/// The consultant's note, as the specialty practice files it.
pub(crate) fn consult_note(
    id: &str,
    patient: &str,
    encounter: &str,
    consultant: &str,
    specialty: &Specialty,
    at: Instant,
) -> Value {
    let text = format!(
        "{} consultation: patient seen, assessment and recommendations sent to the referring clinician.",
        specialty.name
    );
    json!({
        "resourceType": "DocumentReference",
        "id": id,
        "status": "current",
        "docStatus": "final",
        "type": specialty.report.concept(),
        "category": [simple("http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "clinical-note", "Clinical Note")],
        "subject": reference("Patient", patient),
        "date": at.to_fhir(SPECIALTY),
        "author": [reference("Practitioner", consultant)],
        "content": [{"attachment": {
            "contentType": "text/plain",
            "language": "en-US",
            "data": base64::engine::general_purpose::STANDARD.encode(text),
            "title": specialty.report.display,
            "creation": at.to_fhir(SPECIALTY),
        }}],
        "context": {"encounter": [reference("Encounter", encounter)], "period": {"start": at.to_fhir(SPECIALTY)}},
    })
}
