//! Care coordination resources of a chronic patient: the CareTeam, and per chronic condition a
//! Goal and the CarePlan that addresses it.

use serde_json::{json, Value};

use super::clock::{date, Instant, Zone};
use super::codes::{self, simple, Code, UCUM};
use super::resources::reference;
use super::Source;

/// Care coordination is the medical home's; its system's zone.
const CLINIC: Zone = Source::Clinic.zone();

pub(crate) fn care_team(
    id: &str,
    patient: &str,
    pcp: &str,
    nurse: &str,
    organization: &str,
    start: Instant,
) -> Value {
    json!({
        "resourceType": "CareTeam",
        "id": id,
        "status": "active",
        "category": [simple("http://loinc.org", "LA28865-6", "Longitudinal care-coordination focused care team")],
        "name": "Primary care team",
        "subject": reference("Patient", patient),
        "period": {"start": start.to_fhir(CLINIC)},
        "participant": [
            {"role": [codes::PCP_ROLE.concept()], "member": reference("Practitioner", pcp)},
            {"role": [codes::NURSE_ROLE.concept()], "member": reference("Practitioner", nurse)},
            {"role": [codes::PATIENT_ROLE.concept()], "member": reference("Patient", patient)},
        ],
        "managingOrganization": [reference("Organization", organization)],
    })
}

/// What a chronic condition's goal and plan say.
pub(crate) struct PlanTemplate {
    pub(crate) title: &'static str,
    pub(crate) goal: &'static str,
    /// Target: measured code, comparator, value and UCUM unit.
    pub(crate) target: Option<(Code, &'static str, f64, &'static str)>,
    pub(crate) activity: Code,
}

pub(crate) const HYPERTENSION_PLAN: PlanTemplate = PlanTemplate {
    title: "Hypertension management",
    goal: "Systolic blood pressure below 140 mm[Hg]",
    target: Some((codes::SYSTOLIC, "<", 140.0, "mm[Hg]")),
    activity: codes::HTN_EDUCATION,
};
pub(crate) const DIABETES_PLAN: PlanTemplate = PlanTemplate {
    title: "Diabetes self-management",
    goal: "Hemoglobin A1c below 8 %",
    target: Some((codes::HBA1C, "<", 8.0, "%")),
    activity: codes::EXERCISE_EDUCATION,
};
pub(crate) const COPD_PLAN: PlanTemplate = PlanTemplate {
    title: "COPD action plan",
    goal: "No COPD exacerbation needing hospital care",
    target: None,
    activity: codes::SELF_CARE,
};
pub(crate) const DEPRESSION_PLAN: PlanTemplate = PlanTemplate {
    title: "Depression care",
    goal: "PHQ-9 total score below 5 (remission)",
    target: Some((codes::PHQ9, "<", 5.0, "{score}")),
    activity: codes::CBT,
};

pub(crate) struct PlanIds<'a> {
    pub(crate) plan: &'a str,
    pub(crate) goal: &'a str,
    pub(crate) condition: &'a str,
    pub(crate) care_team: &'a str,
    pub(crate) patient: &'a str,
    pub(crate) author: &'a str,
}

pub(crate) fn goal(template: &PlanTemplate, ids: &PlanIds<'_>, start: Instant) -> Value {
    let mut goal = json!({
        "resourceType": "Goal",
        "id": ids.goal,
        "lifecycleStatus": "active",
        "description": {"text": template.goal},
        "subject": reference("Patient", ids.patient),
        "startDate": date(start.day()),
        "expressedBy": reference("Practitioner", ids.author),
        "addresses": [reference("Condition", ids.condition)],
    });
    if let (Some((code, comparator, value, unit)), Some(object)) =
        (template.target, goal.as_object_mut())
    {
        object.insert(
            "target".into(),
            json!([{
                "measure": code.concept(),
                "detailQuantity": {"value": value, "comparator": comparator, "unit": unit, "system": UCUM, "code": unit},
                "dueDate": date(start.day() + 180),
            }]),
        );
    }
    goal
}

pub(crate) fn care_plan(template: &PlanTemplate, ids: &PlanIds<'_>, start: Instant) -> Value {
    json!({
        "resourceType": "CarePlan",
        "id": ids.plan,
        "status": "active",
        "intent": "plan",
        "category": [simple("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan", "Assessment and Plan of Treatment")],
        "title": template.title,
        "subject": reference("Patient", ids.patient),
        "period": {"start": start.to_fhir(CLINIC)},
        "created": start.to_fhir(CLINIC),
        "author": reference("Practitioner", ids.author),
        "careTeam": [reference("CareTeam", ids.care_team)],
        "addresses": [reference("Condition", ids.condition)],
        "goal": [reference("Goal", ids.goal)],
        "activity": [{"detail": {
            "kind": "ServiceRequest",
            "code": template.activity.concept(),
            "status": "in-progress",
            "description": template.activity.display,
        }}],
    })
}
