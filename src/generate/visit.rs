//! The medical home's office visits: problems coded, treatment started and intensified, goals
//! and plans, with the measurements and orders of the visit (see `findings` and `referral_loop`).

use serde_json::Value;

use super::care::{self, PlanIds};
use super::chronic::Chronic;
use super::clock::Instant;
use super::codes::{self, Code};
use super::directory::Role;
use super::facilities::Place;
use super::life::{Life, Visit};
use super::resources::{
    self, ConditionSpec, Context, EncounterClass, EncounterSpec, MedicationSpec, ObsValue,
};
use super::Source;

impl Life<'_> {
    pub(crate) fn office_visit(&mut self, visit: Visit, refer: bool, at: Instant) {
        let day = at.day();
        let age = self.age_on(day);
        let patient = self.patient_id(Source::Clinic);
        let encounter_id = self.rng.uuid();
        let end = at.plus_minutes(self.rng.range(15, 40));
        let clinician = if visit == Visit::Acute && self.rng.chance(0.25) {
            self.population
                .directory
                .pick(Role::PrimaryCare, self.rng.range(0, 1_000) as u64)
                .to_owned()
        } else {
            self.pcp.clone()
        };
        let ctx = Context {
            patient: &patient,
            encounter: Some(&encounter_id),
            practitioner: &clinician,
            zone: Source::Clinic.zone(),
        };
        let mut out = Vec::new();
        let mut diagnoses = Vec::new();

        self.record_new_chronic(&ctx, at, &mut out, &mut diagnoses);
        self.record_pending(&ctx, at, &mut out, &mut diagnoses);
        if matches!(visit, Visit::FollowUp | Visit::PostDischarge) {
            diagnoses.extend(self.chronic.iter().filter_map(|c| c.condition_id.clone()));
            diagnoses.dedup();
        }
        if visit == Visit::PostDischarge {
            // The medical home codes the hospital's diagnosis again under its own record: the
            // same clinical fact from two sources, for de-duplication to find.
            if let Some((reason, onset, discharge)) = self.last_discharge.take() {
                let id = self.rng.uuid();
                out.push(resources::condition(
                    &ctx,
                    ConditionSpec {
                        id: &id,
                        codes: reason,
                        category: "encounter-diagnosis",
                        onset,
                        recorded: at,
                        abated: Some(discharge),
                    },
                ));
                diagnoses.push(id);
            }
        }
        let acute = if visit == Visit::Acute {
            Some(self.acute_problem(&ctx, at, end, &mut out))
        } else {
            None
        };
        if let Some(id) = &acute {
            diagnoses.push(id.clone());
        }
        self.vitals(&ctx, visit, age, at, &mut out);
        self.chronic_labs(&ctx, visit, at, &mut out);
        if visit == Visit::FollowUp {
            self.intensify(&ctx, at, &mut out);
        }
        if visit == Visit::Wellness && age >= 13 {
            let id = self.rng.uuid();
            out.push(resources::observation(
                &ctx,
                &id,
                "social-history",
                codes::TOBACCO_STATUS,
                ObsValue::Concept(self.smoking.code()),
                at,
            ));
        }
        self.immunizations(&ctx, visit, age, at, &mut out);
        if refer {
            self.refer(&ctx, &encounter_id, at, &mut out);
        }

        let types: &[Code] = match visit {
            Visit::Wellness if age >= 65 && self.rng.chance(0.5) => &[codes::ANNUAL_WELLNESS],
            Visit::Wellness if age >= 65 => &[codes::PREVENTIVE_65_UP],
            Visit::Wellness if age >= 40 => &[codes::PREVENTIVE_40_64],
            Visit::Wellness if age >= 18 => &[codes::PREVENTIVE_18_39],
            Visit::Wellness if age >= 12 => &[codes::PREVENTIVE_ADOLESCENT],
            Visit::Wellness => &[codes::PREVENTIVE_CHILD],
            Visit::FollowUp | Visit::PostDischarge => &[codes::OFFICE_VISIT_MODERATE],
            Visit::Acute => &[codes::OFFICE_VISIT_LOW],
        };
        let reasons = if visit == Visit::PostDischarge {
            vec![serde_json::json!({"text": "Follow-up after hospital discharge"})]
        } else {
            Vec::new()
        };
        let organization = self.population.directory.organization(Source::Clinic);
        let encounter = resources::encounter(
            &ctx,
            EncounterSpec {
                id: &encounter_id,
                class: EncounterClass::Ambulatory,
                types,
                start: at,
                end,
                organization,
                hospitalization: None,
                location: Some(self.population.directory.location(Place::ClinicOffice)),
                reasons,
                diagnoses,
            },
        );
        out.insert(0, encounter);
        self.send(Source::Clinic, out);
    }

    /// Codes chronic conditions whose onset has passed, starting treatment, goal and plan.
    fn record_new_chronic(
        &mut self,
        ctx: &Context<'_>,
        at: Instant,
        out: &mut Vec<Value>,
        diagnoses: &mut Vec<String>,
    ) {
        let day = at.day();
        for slot in 0..self.chronic.len() {
            let Some(state) = self.chronic.get(slot) else {
                continue;
            };
            if state.condition_id.is_some() || state.onset > day {
                continue;
            }
            let (kind, onset) = (state.kind, state.onset);
            let condition_id = self.rng.uuid();
            out.push(resources::condition(
                ctx,
                ConditionSpec {
                    id: &condition_id,
                    codes: kind.codes(),
                    category: "problem-list-item",
                    onset: Instant::at(onset, 12, 0),
                    recorded: at,
                    abated: None,
                },
            ));
            diagnoses.push(condition_id.clone());
            let mut medications = 0;
            if let Some((medication, dosage)) = kind.first_line(&mut self.rng) {
                let id = self.rng.uuid();
                out.push(resources::medication_request(
                    ctx,
                    MedicationSpec {
                        id: &id,
                        medication,
                        status: "active",
                        authored: at,
                        reason: Some(&condition_id),
                        dosage,
                    },
                ));
                medications = 1;
            }
            if let Some(template) = kind.plan() {
                let care_team = match &self.care_team {
                    Some(id) => id.clone(),
                    None => {
                        let id = self.rng.uuid();
                        let organization = self.population.directory.organization(Source::Clinic);
                        out.push(care::care_team(
                            &id,
                            ctx.patient,
                            &self.pcp,
                            &self.nurse,
                            organization,
                            at,
                        ));
                        self.care_team = Some(id.clone());
                        id
                    }
                };
                let (plan, goal) = (self.rng.uuid(), self.rng.uuid());
                let ids = PlanIds {
                    plan: &plan,
                    goal: &goal,
                    condition: &condition_id,
                    care_team: &care_team,
                    patient: ctx.patient,
                    author: ctx.practitioner,
                };
                out.push(care::goal(template, &ids, at));
                out.push(care::care_plan(template, &ids, at));
            }
            if let Some(state) = self.chronic.get_mut(slot) {
                state.condition_id = Some(condition_id);
                state.medications = medications;
            }
        }
    }

    /// Adds a second agent when one is not enough: uncontrolled hypertension gets amlodipine,
    /// COPD a maintenance inhaler.
    fn intensify(&mut self, ctx: &Context<'_>, at: Instant, out: &mut Vec<Value>) {
        let uncontrolled = !self.bp_controlled;
        for slot in 0..self.chronic.len() {
            let Some(state) = self.chronic.get(slot) else {
                continue;
            };
            let Some(condition) = state.condition_id.clone() else {
                continue;
            };
            let addition = match state.kind {
                Chronic::Hypertension if uncontrolled && state.medications == 1 => {
                    Some((codes::AMLODIPINE, "Take 1 tablet by mouth once daily", 0.35))
                }
                Chronic::Copd if state.medications == 1 => Some((
                    codes::FLUTICASONE_SALMETEROL,
                    "Inhale 1 puff twice daily",
                    0.25,
                )),
                _ => None,
            };
            let Some((medication, dosage, chance)) = addition else {
                continue;
            };
            if !self.rng.chance(chance) {
                continue;
            }
            let id = self.rng.uuid();
            out.push(resources::medication_request(
                ctx,
                MedicationSpec {
                    id: &id,
                    medication,
                    status: "active",
                    authored: at,
                    reason: Some(&condition),
                    dosage,
                },
            ));
            if let Some(state) = self.chronic.get_mut(slot) {
                state.medications += 1;
            }
        }
    }

    fn acute_problem(
        &mut self,
        ctx: &Context<'_>,
        at: Instant,
        end: Instant,
        out: &mut Vec<Value>,
    ) -> String {
        let problem = self.rng.pick(&codes::ACUTE_OFFICE);
        let id = self.rng.uuid();
        out.push(resources::condition(
            ctx,
            ConditionSpec {
                id: &id,
                codes: problem,
                category: "encounter-diagnosis",
                onset: at.plus_days(-self.rng.range(1, 6)),
                recorded: at,
                abated: Some(end.plus_days(self.rng.range(5, 14))),
            },
        ));
        let medication = match problem[1].code {
            "J01.90" | "J20.9" | "N39.0" => Some((
                codes::AMOXICILLIN,
                "Take 2 capsules by mouth three times daily for 7 days",
            )),
            "M54.50" => Some((
                codes::IBUPROFEN,
                "Take 2 tablets by mouth every 6 hours as needed for pain",
            )),
            _ => None,
        };
        if let Some((medication, dosage)) = medication {
            let med_id = self.rng.uuid();
            out.push(resources::medication_request(
                ctx,
                MedicationSpec {
                    id: &med_id,
                    medication,
                    status: "completed",
                    authored: end,
                    reason: Some(&id),
                    dosage,
                },
            ));
        }
        id
    }
}
