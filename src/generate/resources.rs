//! Builders for the clinical resources a source sends. References are always written relative
//! (`Type/id`); a transaction Bundle rewrites those that point inside it to `urn:uuid:`.

use serde_json::{json, Map, Value};

use super::clock::{Instant, Zone};
use super::codes::{self, concept_of, simple, Code, OBS_CATEGORY, UCUM};

pub(crate) fn reference(resource_type: &str, id: &str) -> Value {
    json!({"reference": format!("{resource_type}/{id}")})
}

/// What every resource of one encounter shares.
pub(crate) struct Context<'a> {
    pub(crate) patient: &'a str,
    pub(crate) encounter: Option<&'a str>,
    pub(crate) practitioner: &'a str,
    /// The zone the sending system writes times in.
    pub(crate) zone: Zone,
}

impl Context<'_> {
    fn subject(&self) -> Value {
        reference("Patient", self.patient)
    }

    fn insert_encounter(&self, resource: &mut Value) {
        if let (Some(encounter), Some(object)) = (self.encounter, resource.as_object_mut()) {
            object.insert("encounter".into(), reference("Encounter", encounter));
        }
    }
}

pub(crate) enum EncounterClass {
    Ambulatory,
    Emergency,
    Inpatient,
    HomeHealth,
}

impl EncounterClass {
    fn coding(&self) -> Value {
        let (code, display) = match self {
            Self::Ambulatory => ("AMB", "ambulatory"),
            Self::Emergency => ("EMER", "emergency"),
            Self::Inpatient => ("IMP", "inpatient encounter"),
            Self::HomeHealth => ("HH", "home health"),
        };
        json!({"system": codes::ACT_CODE, "code": code, "display": display})
    }
}

pub(crate) struct EncounterSpec<'a> {
    pub(crate) id: &'a str,
    pub(crate) class: EncounterClass,
    pub(crate) types: &'a [Code],
    pub(crate) start: Instant,
    pub(crate) end: Instant,
    pub(crate) organization: &'a str,
    /// `admitSource` code and `dischargeDisposition` code, for hospital stays and ED visits.
    pub(crate) hospitalization: Option<(Option<&'a str>, &'a str)>,
    /// Location id where the encounter took place.
    pub(crate) location: Option<&'a str>,
    pub(crate) reasons: Vec<Value>,
    /// Condition ids diagnosed or addressed at this encounter.
    pub(crate) diagnoses: Vec<String>,
}

pub(crate) fn encounter(ctx: &Context<'_>, spec: EncounterSpec<'_>) -> Value {
    let participant_type = if matches!(spec.class, EncounterClass::Inpatient) {
        ("ATND", "attender")
    } else {
        ("PPRF", "primary performer")
    };
    let types: Vec<Value> = spec.types.iter().map(Code::concept).collect();
    let mut encounter = json!({
        "resourceType": "Encounter",
        "id": spec.id,
        "status": "finished",
        "class": spec.class.coding(),
        "type": types,
        "subject": ctx.subject(),
        "participant": [{
            "type": [simple("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", participant_type.0, participant_type.1)],
            "individual": reference("Practitioner", ctx.practitioner),
            "period": {"start": spec.start.to_fhir(ctx.zone), "end": spec.end.to_fhir(ctx.zone)},
        }],
        "period": {"start": spec.start.to_fhir(ctx.zone), "end": spec.end.to_fhir(ctx.zone)},
        "serviceProvider": reference("Organization", spec.organization),
    });
    let Some(object) = encounter.as_object_mut() else {
        return encounter;
    };
    if let Some(location) = spec.location {
        object.insert(
            "location".into(),
            json!([{
                "location": reference("Location", location),
                "status": "completed",
                "period": {"start": spec.start.to_fhir(ctx.zone), "end": spec.end.to_fhir(ctx.zone)},
            }]),
        );
    }
    if !spec.reasons.is_empty() {
        object.insert("reasonCode".into(), Value::Array(spec.reasons));
    }
    if !spec.diagnoses.is_empty() {
        let diagnoses: Vec<Value> = spec
            .diagnoses
            .iter()
            .enumerate()
            .map(|(rank, id)| {
                json!({
                    "condition": reference("Condition", id),
                    "use": simple("http://terminology.hl7.org/CodeSystem/diagnosis-role", "billing", "Billing"),
                    "rank": rank + 1,
                })
            })
            .collect();
        object.insert("diagnosis".into(), Value::Array(diagnoses));
    }
    if let Some((admit_source, disposition)) = spec.hospitalization {
        let mut hospitalization = Map::new();
        if let Some(admit) = admit_source {
            hospitalization.insert(
                "admitSource".into(),
                json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/admit-source", "code": admit}]}),
            );
        }
        hospitalization.insert(
            "dischargeDisposition".into(),
            json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": disposition}]}),
        );
        object.insert("hospitalization".into(), Value::Object(hospitalization));
    }
    encounter
}

pub(crate) struct ConditionSpec<'a> {
    pub(crate) id: &'a str,
    pub(crate) codes: &'a [Code],
    /// `problem-list-item` for chronic problems, `encounter-diagnosis` for acute ones.
    pub(crate) category: &'a str,
    pub(crate) onset: Instant,
    pub(crate) recorded: Instant,
    pub(crate) abated: Option<Instant>,
}

pub(crate) fn condition(ctx: &Context<'_>, spec: ConditionSpec<'_>) -> Value {
    let clinical = if spec.abated.is_some() {
        "resolved"
    } else {
        "active"
    };
    let category_display = if spec.category == "problem-list-item" {
        "Problem List Item"
    } else {
        "Encounter Diagnosis"
    };
    let mut condition = json!({
        "resourceType": "Condition",
        "id": spec.id,
        "clinicalStatus": simple("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical, clinical),
        "verificationStatus": simple("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
        "category": [simple("http://terminology.hl7.org/CodeSystem/condition-category", spec.category, category_display)],
        "code": concept_of(spec.codes, spec.codes.first().map_or("", |c| c.display)),
        "subject": ctx.subject(),
        "onsetDateTime": spec.onset.to_fhir(ctx.zone),
        "recordedDate": spec.recorded.to_fhir(ctx.zone),
        "recorder": reference("Practitioner", ctx.practitioner),
    });
    ctx.insert_encounter(&mut condition);
    if let (Some(abated), Some(object)) = (spec.abated, condition.as_object_mut()) {
        object.insert("abatementDateTime".into(), json!(abated.to_fhir(ctx.zone)));
    }
    condition
}

/// The value an Observation carries.
pub(crate) enum ObsValue<'a> {
    Quantity(f64, &'a str),
    Concept(Code),
    /// Blood pressure panel: systolic and diastolic components, no value of its own.
    BloodPressure(i64, i64),
    None,
}

pub(crate) fn observation(
    ctx: &Context<'_>,
    id: &str,
    category: &str,
    code: Code,
    value: ObsValue<'_>,
    effective: Instant,
) -> Value {
    let mut observation = json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [simple(OBS_CATEGORY, category, category)],
        "code": code.concept(),
        "subject": ctx.subject(),
        "effectiveDateTime": effective.to_fhir(ctx.zone),
        "issued": effective.plus_minutes(30).to_fhir(ctx.zone),
        "performer": [reference("Practitioner", ctx.practitioner)],
    });
    ctx.insert_encounter(&mut observation);
    let Some(object) = observation.as_object_mut() else {
        return observation;
    };
    match value {
        ObsValue::Quantity(value, unit) => {
            object.insert("valueQuantity".into(), quantity(value, unit));
        }
        ObsValue::Concept(code) => {
            object.insert("valueCodeableConcept".into(), code.concept());
        }
        ObsValue::BloodPressure(systolic, diastolic) => {
            let components = json!([
                {"code": codes::SYSTOLIC.concept(), "valueQuantity": quantity(systolic as f64, "mm[Hg]")},
                {"code": codes::DIASTOLIC.concept(), "valueQuantity": quantity(diastolic as f64, "mm[Hg]")},
            ]);
            object.insert("component".into(), components);
        }
        ObsValue::None => {}
    }
    observation
}

fn quantity(value: f64, unit: &str) -> Value {
    // Whole numbers stay integers in JSON; others keep one decimal, as instruments report.
    let rounded = (value * 10.0).round() / 10.0;
    let number = if rounded.fract() == 0.0 && rounded.abs() < 1e9 {
        json!(rounded as i64)
    } else {
        json!(rounded)
    };
    json!({"value": number, "unit": unit, "system": UCUM, "code": unit})
}

pub(crate) struct MedicationSpec<'a> {
    pub(crate) id: &'a str,
    pub(crate) medication: Code,
    pub(crate) status: &'a str,
    pub(crate) authored: Instant,
    pub(crate) reason: Option<&'a str>,
    pub(crate) dosage: &'a str,
}

pub(crate) fn medication_request(ctx: &Context<'_>, spec: MedicationSpec<'_>) -> Value {
    let mut request = json!({
        "resourceType": "MedicationRequest",
        "id": spec.id,
        "status": spec.status,
        "intent": "order",
        "medicationCodeableConcept": spec.medication.concept(),
        "subject": ctx.subject(),
        "authoredOn": spec.authored.to_fhir(ctx.zone),
        "requester": reference("Practitioner", ctx.practitioner),
        "dosageInstruction": [{"text": spec.dosage}],
    });
    ctx.insert_encounter(&mut request);
    if let (Some(reason), Some(object)) = (spec.reason, request.as_object_mut()) {
        object.insert(
            "reasonReference".into(),
            json!([reference("Condition", reason)]),
        );
    }
    request
}

pub(crate) fn immunization(
    ctx: &Context<'_>,
    id: &str,
    vaccine: Code,
    at: Instant,
    lot: &str,
) -> Value {
    let mut immunization = json!({
        "resourceType": "Immunization",
        "id": id,
        "status": "completed",
        "vaccineCode": vaccine.concept(),
        "patient": ctx.subject(),
        "occurrenceDateTime": at.to_fhir(ctx.zone),
        "primarySource": true,
        "lotNumber": lot,
        "performer": [{"actor": reference("Practitioner", ctx.practitioner)}],
    });
    ctx.insert_encounter(&mut immunization);
    immunization
}

pub(crate) fn procedure(
    ctx: &Context<'_>,
    id: &str,
    codes: &[Code],
    start: Instant,
    end: Instant,
) -> Value {
    let text = codes.first().map_or("", |c| c.display);
    let mut procedure = json!({
        "resourceType": "Procedure",
        "id": id,
        "status": "completed",
        "code": concept_of(codes, text),
        "subject": ctx.subject(),
        "performedPeriod": {"start": start.to_fhir(ctx.zone), "end": end.to_fhir(ctx.zone)},
        "performer": [{"actor": reference("Practitioner", ctx.practitioner)}],
    });
    ctx.insert_encounter(&mut procedure);
    procedure
}

/// An order for a device, e.g. a wheelchair.
pub(crate) fn device_request(
    ctx: &Context<'_>,
    id: &str,
    device: Code,
    authored: Instant,
) -> Value {
    let mut request = json!({
        "resourceType": "DeviceRequest",
        "id": id,
        "status": "active",
        "intent": "order",
        "codeCodeableConcept": device.concept(),
        "subject": ctx.subject(),
        "authoredOn": authored.to_fhir(ctx.zone),
        "requester": reference("Practitioner", ctx.practitioner),
    });
    ctx.insert_encounter(&mut request);
    request
}

/// The laboratory's report of one or more results: `results` are Observation ids.
pub(crate) fn diagnostic_report(
    ctx: &Context<'_>,
    id: &str,
    code: Code,
    results: &[String],
    effective: Instant,
    laboratory: &str,
) -> Value {
    let results: Vec<Value> = results
        .iter()
        .map(|r| reference("Observation", r))
        .collect();
    let mut report = json!({
        "resourceType": "DiagnosticReport",
        "id": id,
        "status": "final",
        "category": [simple("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")],
        "code": code.concept(),
        "subject": ctx.subject(),
        "effectiveDateTime": effective.to_fhir(ctx.zone),
        "issued": effective.plus_minutes(30).to_fhir(ctx.zone),
        "performer": [reference("Organization", laboratory)],
        "resultsInterpreter": [reference("Practitioner", ctx.practitioner)],
        "result": results,
    });
    ctx.insert_encounter(&mut report);
    report
}
