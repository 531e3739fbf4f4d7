//! What the hospital and the specialty practice send: emergency visits, inpatient stays (with
//! readmissions and the medical home's post-discharge follow-up), consults and colonoscopies.

use serde_json::{json, Value};

use super::chronic::Chronic;
use super::clock::Instant;
use super::codes::{self, Code};
use super::directory::Role;
use super::facilities::Place;
use super::life::{Event, Life, Visit};
use super::referral;
use super::resources::{
    self, ConditionSpec, Context, EncounterClass, EncounterSpec, MedicationSpec, ObsValue,
};
use super::Source;

/// Readmissions can themselves be readmitted, but not without end.
const MAX_READMISSION_DEPTH: u8 = 3;

/// Discharge dispositions (HL7 discharge-disposition) with their shares.
const DISPOSITIONS: [&str; 5] = ["home", "snf", "rehab", "other-hcf", "aadvice"];
const DISPOSITION_WEIGHTS: [f64; 5] = [0.7, 0.12, 0.08, 0.05, 0.05];

impl Life<'_> {
    pub(crate) fn emergency_visit(&mut self, at: Instant) {
        let patient = self.patient_id(Source::Hospital);
        let encounter_id = self.rng.uuid();
        let physician = self
            .population
            .directory
            .pick(Role::Emergency, self.rng.range(0, 1_000) as u64)
            .to_owned();
        let ctx = Context {
            patient: &patient,
            encounter: Some(&encounter_id),
            practitioner: &physician,
            zone: Source::Hospital.zone(),
        };
        let end = at.plus_minutes(self.rng.range(90, 420));
        self.admitted_until = end;
        let problem = self.rng.pick(&codes::ACUTE_ED);
        let condition_id = self.rng.uuid();
        let mut out = vec![resources::condition(
            &ctx,
            ConditionSpec {
                id: &condition_id,
                codes: problem,
                category: "encounter-diagnosis",
                onset: at.plus_minutes(-self.rng.range(60, 2_000)),
                recorded: at,
                abated: None,
            },
        )];
        self.hospital_vitals(&ctx, at.plus_minutes(15), &mut out);
        if problem[1].code == "N39.0" {
            let id = self.rng.uuid();
            out.push(resources::medication_request(
                &ctx,
                MedicationSpec {
                    id: &id,
                    medication: codes::AMOXICILLIN,
                    status: "active",
                    authored: end,
                    reason: Some(&condition_id),
                    dosage: "Take 2 capsules by mouth three times daily for 7 days",
                },
            ));
        }
        let organization = self.population.directory.organization(Source::Hospital);
        let encounter = resources::encounter(
            &ctx,
            EncounterSpec {
                id: &encounter_id,
                class: EncounterClass::Emergency,
                types: &[codes::ED_VISIT, codes::ED_VISIT_SCT],
                start: at,
                end,
                organization,
                hospitalization: Some((None, "home")),
                location: Some(self.population.directory.location(Place::Emergency)),
                reasons: vec![problem[0].concept()],
                diagnoses: vec![condition_id],
            },
        );
        out.insert(0, encounter);
        self.send(Source::Hospital, out);
    }

    pub(crate) fn inpatient_stay(&mut self, at: Instant, readmission_depth: u8) {
        let patient = self.patient_id(Source::Hospital);
        let encounter_id = self.rng.uuid();
        let physician = self
            .population
            .directory
            .pick(Role::Hospitalist, self.rng.range(0, 1_000) as u64)
            .to_owned();
        let ctx = Context {
            patient: &patient,
            encounter: Some(&encounter_id),
            practitioner: &physician,
            zone: Source::Hospital.zone(),
        };
        let day = at.day();
        let reason: &'static [Code; 2] = if self.has(Chronic::Copd, day) && self.rng.chance(0.5) {
            &codes::ADMISSION_REASONS[2]
        } else if self.has(Chronic::Hypertension, day) && self.rng.chance(0.3) {
            &codes::ADMISSION_REASONS[1]
        } else {
            self.rng.pick(&codes::ADMISSION_REASONS)
        };
        let discharge = at
            .plus_days(self.rng.range(1, 8))
            .plus_minutes(self.rng.range(-240, 240));
        let discharge = if discharge <= at {
            at.plus_minutes(600)
        } else {
            discharge
        };
        let condition_id = self.rng.uuid();
        let onset = at.plus_minutes(-self.rng.range(120, 4_000));
        self.last_discharge = Some((reason, onset, discharge));
        let mut out = vec![resources::condition(
            &ctx,
            ConditionSpec {
                id: &condition_id,
                codes: reason,
                category: "encounter-diagnosis",
                onset,
                recorded: at,
                abated: Some(discharge),
            },
        )];
        self.hospital_vitals(&ctx, at.plus_minutes(30), &mut out);
        if reason[1].code == "J18.9" {
            let id = self.rng.uuid();
            let xray = [
                Code {
                    system: codes::SNOMED,
                    code: "399208008",
                    display: "Plain X-ray of chest (procedure)",
                },
                Code {
                    system: codes::CPT,
                    code: "71046",
                    display: "Radiologic examination, chest; 2 views",
                },
            ];
            out.push(resources::procedure(
                &ctx,
                &id,
                &xray,
                at.plus_minutes(60),
                at.plus_minutes(75),
            ));
            let med = self.rng.uuid();
            out.push(resources::medication_request(
                &ctx,
                MedicationSpec {
                    id: &med,
                    medication: codes::AMOXICILLIN,
                    status: "active",
                    authored: discharge,
                    reason: Some(&condition_id),
                    dosage: "Take 2 capsules by mouth three times daily for 5 days",
                },
            ));
        }
        self.admitted_until = discharge;
        let emergency = self.rng.chance(0.7);
        let disposition = DISPOSITIONS
            .get(self.rng.weighted(&DISPOSITION_WEIGHTS))
            .copied()
            .unwrap_or("home");
        let organization = self.population.directory.organization(Source::Hospital);
        // Sepsis starts in intensive care.
        let ward = if reason[1].code == "A41.9" {
            Place::IntensiveCare
        } else {
            Place::MedicalWard
        };
        let mut reasons = vec![reason[0].concept()];
        if readmission_depth > 0 {
            reasons.push(json!({"text": "Readmission within 30 days of discharge"}));
        }
        let encounter = resources::encounter(
            &ctx,
            EncounterSpec {
                id: &encounter_id,
                class: EncounterClass::Inpatient,
                types: if emergency {
                    &[codes::EMERGENCY_ADMISSION]
                } else {
                    &[codes::HOSPITAL_ADMISSION]
                },
                start: at,
                end: discharge,
                organization,
                hospitalization: Some((Some(if emergency { "emd" } else { "gp" }), disposition)),
                location: Some(self.population.directory.location(ward)),
                reasons,
                diagnoses: vec![condition_id],
            },
        );
        out.insert(0, encounter);
        self.send(Source::Hospital, out);

        if readmission_depth < MAX_READMISSION_DEPTH
            && self.rng.chance(self.population.config.readmission_rate)
        {
            let back = discharge
                .plus_days(self.rng.range(1, 29))
                .plus_minutes(self.rng.range(0, 600));
            self.schedule(
                back,
                Event::Inpatient {
                    readmission_depth: readmission_depth + 1,
                },
            );
        }
        if self.rng.chance(0.65) {
            let day = discharge.day() + self.rng.range(3, 14);
            let visit_at = self.office_time(day);
            self.schedule(
                visit_at,
                Event::Office {
                    visit: Visit::PostDischarge,
                    refer: false,
                },
            );
        }
    }

    fn hospital_vitals(&mut self, ctx: &Context<'_>, at: Instant, out: &mut Vec<Value>) {
        if self.age_on(at.day()) < 18 {
            return;
        }
        let (systolic, diastolic) = self.blood_pressure(at.day());
        let id = self.rng.uuid();
        // Acute illness pushes pressure up; the CMS165 exclusion of ED/inpatient readings matters.
        let reading = ObsValue::BloodPressure(
            systolic + self.rng.range(0, 15),
            diastolic + self.rng.range(0, 6),
        );
        out.push(resources::observation(
            ctx,
            &id,
            "vital-signs",
            codes::BP_PANEL,
            reading,
            at,
        ));
    }

    /// The specialty practice sees the referred patient and writes its consult note.
    pub(crate) fn consult(&mut self, slot: usize, at: Instant) {
        let patient = self.patient_id(Source::Specialty);
        let Some(referral) = self.referrals.get(slot) else {
            return;
        };
        let (consultant, specialty) = (referral.consultant.clone(), referral.specialty);
        let encounter_id = self.rng.uuid();
        let note_id = self.rng.uuid();
        let ctx = Context {
            patient: &patient,
            encounter: Some(&encounter_id),
            practitioner: &consultant,
            zone: Source::Specialty.zone(),
        };
        let end = at.plus_minutes(self.rng.range(30, 60));
        let mut out = Vec::new();
        if self.age_on(at.day()) >= 18 {
            let (systolic, diastolic) = self.blood_pressure(at.day());
            let id = self.rng.uuid();
            out.push(resources::observation(
                &ctx,
                &id,
                "vital-signs",
                codes::BP_PANEL,
                ObsValue::BloodPressure(systolic, diastolic),
                at,
            ));
        }
        out.push(referral::consult_note(
            &note_id,
            &patient,
            &encounter_id,
            &consultant,
            &specialty,
            end,
        ));
        let organization = self.population.directory.organization(Source::Specialty);
        let encounter = resources::encounter(
            &ctx,
            EncounterSpec {
                id: &encounter_id,
                class: EncounterClass::Ambulatory,
                types: &[codes::OFFICE_VISIT_NEW],
                start: at,
                end,
                organization,
                hospitalization: None,
                location: Some(self.population.directory.location(Place::SpecialtyOffice)),
                reasons: vec![specialty.referral.concept()],
                diagnoses: Vec::new(),
            },
        );
        out.insert(0, encounter);
        if let Some(referral) = self.referrals.get_mut(slot) {
            referral.note_id = Some(note_id);
        }
        self.send(Source::Specialty, out);
    }

    pub(crate) fn colonoscopy(&mut self, at: Instant) {
        let patient = self.patient_id(Source::Specialty);
        let gastro = codes::SPECIALTIES
            .iter()
            .position(|s| s.name == codes::GASTROENTEROLOGY.name)
            .unwrap_or(0);
        let physician = self
            .population
            .directory
            .pick(Role::Specialist(gastro), self.rng.range(0, 1_000) as u64)
            .to_owned();
        let encounter_id = self.rng.uuid();
        let ctx = Context {
            patient: &patient,
            encounter: Some(&encounter_id),
            practitioner: &physician,
            zone: Source::Specialty.zone(),
        };
        let end = at.plus_minutes(self.rng.range(30, 60));
        let procedure_id = self.rng.uuid();
        let procedure = resources::procedure(&ctx, &procedure_id, &codes::COLONOSCOPY, at, end);
        let organization = self.population.directory.organization(Source::Specialty);
        let encounter = resources::encounter(
            &ctx,
            EncounterSpec {
                id: &encounter_id,
                class: EncounterClass::Ambulatory,
                types: &[codes::COLONOSCOPY[0]],
                start: at,
                end,
                organization,
                hospitalization: None,
                location: Some(self.population.directory.location(Place::SpecialtyOffice)),
                reasons: vec![json!({"text": "Colorectal cancer screening"})],
                diagnoses: Vec::new(),
            },
        );
        self.send(Source::Specialty, vec![encounter, procedure]);
    }
}
