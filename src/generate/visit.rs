//! What the medical home sends: office visits with their vitals, labs, problems, medications,
//! care plans, immunizations and referrals; screening results; referral Task updates.

use serde_json::Value;

use super::care::{self, PlanIds};
use super::chronic::Chronic;
use super::clock::{civil_from_days, Instant};
use super::codes::{self, Code};
use super::directory::Role;
use super::life::{Event, Life, ReferralState, Visit};
use super::referral::{self, Referral, TaskState};
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
        };
        let mut out = Vec::new();
        let mut diagnoses = Vec::new();

        self.record_new_chronic(&ctx, at, &mut out, &mut diagnoses);
        if matches!(visit, Visit::FollowUp | Visit::PostDischarge) {
            diagnoses.extend(self.chronic.iter().filter_map(|c| c.condition_id.clone()));
            diagnoses.dedup();
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

    fn vitals(
        &mut self,
        ctx: &Context<'_>,
        visit: Visit,
        age: i64,
        at: Instant,
        out: &mut Vec<Value>,
    ) {
        if age >= 18 {
            let (systolic, diastolic) = self.blood_pressure(at.day());
            let id = self.rng.uuid();
            out.push(resources::observation(
                ctx,
                &id,
                "vital-signs",
                codes::BP_PANEL,
                ObsValue::BloodPressure(systolic, diastolic),
                at,
            ));
            // A high first reading is often repeated after rest; CMS165 takes the lowest.
            if systolic >= 140 && self.rng.chance(0.5) {
                let id = self.rng.uuid();
                let repeat = ObsValue::BloodPressure(
                    systolic - self.rng.range(4, 16),
                    diastolic - self.rng.range(2, 8),
                );
                out.push(resources::observation(
                    ctx,
                    &id,
                    "vital-signs",
                    codes::BP_PANEL,
                    repeat,
                    at.plus_minutes(10),
                ));
            }
            let id = self.rng.uuid();
            let pulse = self.rng.normal(74.0, 9.0).clamp(48.0, 130.0).round();
            out.push(resources::observation(
                ctx,
                &id,
                "vital-signs",
                codes::HEART_RATE,
                ObsValue::Quantity(pulse, "/min"),
                at,
            ));
        }
        if age >= 2 && (visit == Visit::Wellness || self.rng.chance(0.5)) {
            let height = if age >= 18 {
                self.rng.normal(169.0, 9.0).clamp(140.0, 205.0)
            } else {
                (80.0 + 6.5 * age as f64 + self.rng.normal(0.0, 5.0)).clamp(75.0, 200.0)
            };
            let bmi = if age >= 18 {
                self.rng.normal(28.5, 5.5).clamp(16.0, 55.0)
            } else {
                self.rng.normal(19.0, 3.0).clamp(13.0, 35.0)
            };
            let weight = bmi * (height / 100.0) * (height / 100.0);
            for (code, value, unit) in [
                (codes::BODY_WEIGHT, weight, "kg"),
                (codes::BODY_HEIGHT, height, "cm"),
                (codes::BMI, bmi, "kg/m2"),
            ] {
                let id = self.rng.uuid();
                out.push(resources::observation(
                    ctx,
                    &id,
                    "vital-signs",
                    code,
                    ObsValue::Quantity(value, unit),
                    at,
                ));
            }
        }
    }

    /// A blood pressure reading: hypertensive patients are controlled or not for life, so the
    /// population splits into CMS165 numerator and non-numerator patients.
    pub(crate) fn blood_pressure(&mut self, day: i64) -> (i64, i64) {
        let (s_mean, d_mean) = if !self.has(Chronic::Hypertension, day) {
            (118.0, 75.0)
        } else if self.bp_controlled {
            (127.0, 79.0)
        } else {
            (148.0, 92.0)
        };
        let systolic = self.rng.normal(s_mean, 9.0).clamp(88.0, 220.0).round() as i64;
        let diastolic = self.rng.normal(d_mean, 7.0).clamp(48.0, 130.0).round() as i64;
        (systolic, diastolic.min(systolic - 20))
    }

    fn chronic_labs(&mut self, ctx: &Context<'_>, visit: Visit, at: Instant, out: &mut Vec<Value>) {
        let day = at.day();
        let checkup = matches!(visit, Visit::Wellness | Visit::FollowUp);
        if checkup && self.has(Chronic::Diabetes, day) && self.rng.chance(0.6) {
            let value = if self.a1c_controlled {
                self.rng.normal(6.9, 0.5)
            } else {
                self.rng.normal(9.3, 1.1)
            };
            let id = self.rng.uuid();
            out.push(resources::observation(
                ctx,
                &id,
                "laboratory",
                codes::HBA1C,
                ObsValue::Quantity(value.clamp(4.8, 14.5), "%"),
                at,
            ));
        }
        if visit == Visit::Wellness
            && self.has(Chronic::Hyperlipidemia, day)
            && self.rng.chance(0.6)
        {
            let id = self.rng.uuid();
            let value = self.rng.normal(118.0, 30.0).clamp(40.0, 260.0).round();
            out.push(resources::observation(
                ctx,
                &id,
                "laboratory",
                codes::LDL,
                ObsValue::Quantity(value, "mg/dL"),
                at,
            ));
        }
        if checkup && self.has(Chronic::Depression, day) && self.rng.chance(0.75) {
            let id = self.rng.uuid();
            let score = self.rng.normal(9.0, 5.0).clamp(0.0, 27.0).round();
            out.push(resources::observation(
                ctx,
                &id,
                "survey",
                codes::PHQ9,
                ObsValue::Quantity(score, "{score}"),
                at,
            ));
        }
    }

    fn immunizations(
        &mut self,
        ctx: &Context<'_>,
        visit: Visit,
        age: i64,
        at: Instant,
        out: &mut Vec<Value>,
    ) {
        let (year, month, _) = civil_from_days(at.day());
        // Flu season runs September to March; a season is named by the year it starts.
        let season = if month >= 9 { year } else { year - 1 };
        let mut vaccines: Vec<Code> = Vec::new();
        if (month >= 9 || month <= 3)
            && age >= 1
            && season != self.last_flu_season
            && self.rng.chance(self.flu_propensity)
        {
            self.last_flu_season = season;
            vaccines.push(codes::FLU_VACCINE);
        }
        if visit == Visit::Wellness {
            let once = [
                (codes::TDAP_VACCINE, age >= 11, 0.15),
                (codes::ZOSTER_VACCINE, age >= 50, 0.25),
                (codes::PNEUMOCOCCAL_VACCINE, age >= 65, 0.4),
                (
                    codes::COVID_VACCINE,
                    (2021..=2023).contains(&year) && age >= 12,
                    0.4,
                ),
            ];
            for (vaccine, eligible, chance) in once {
                if eligible
                    && !self.vaccines_given.contains(&vaccine.code)
                    && self.rng.chance(chance)
                {
                    self.vaccines_given.push(vaccine.code);
                    vaccines.push(vaccine);
                }
            }
        }
        for vaccine in vaccines {
            let id = self.rng.uuid();
            let lot = format!("L{}", self.rng.digits(6));
            out.push(resources::immunization(
                ctx,
                &id,
                vaccine,
                at.plus_minutes(10),
                &lot,
            ));
        }
    }

    /// Orders a referral, sends its Task as requested, and schedules how the loop plays out.
    fn refer(&mut self, ctx: &Context<'_>, encounter: &str, at: Instant, out: &mut Vec<Value>) {
        let day = at.day();
        let present: Vec<(Chronic, Option<String>)> = self
            .chronic
            .iter()
            .filter(|c| c.onset <= day)
            .map(|c| (c.kind, c.condition_id.clone()))
            .collect();
        let (specialty, reason) =
            match present.get(self.rng.range(0, present.len() as i64 - 1) as usize) {
                Some((kind, condition)) if self.rng.chance(0.75) => {
                    (kind.specialty(), condition.clone())
                }
                _ => {
                    let other = [
                        codes::ORTHOPEDICS,
                        codes::DERMATOLOGY,
                        codes::GASTROENTEROLOGY,
                    ];
                    (*self.rng.pick(&other), None)
                }
            };
        let index = codes::SPECIALTIES
            .iter()
            .position(|s| s.name == specialty.name)
            .unwrap_or(0);
        let consultant = self
            .population
            .directory
            .pick(Role::Specialist(index), self.rng.range(0, 1_000) as u64)
            .to_owned();
        let state = ReferralState {
            request_id: self.rng.uuid(),
            task_id: self.rng.uuid(),
            encounter_id: encounter.to_owned(),
            consultant,
            specialty,
            reason,
            authored: at.plus_minutes(20),
            note_id: None,
        };
        let view = referral_view(&state, ctx.patient, ctx.practitioner);
        out.push(referral::service_request(&view, TaskState::Requested));
        out.push(referral::task(
            &view,
            TaskState::Requested,
            state.authored,
            None,
        ));
        let slot = self.referrals.len();
        self.referrals.push(state);

        let accepted = at.plus_days(self.rng.range(1, 7));
        match self.rng.weighted(&[0.55, 0.15, 0.12, 0.1, 0.08]) {
            // Seen, with (0) or without (1) the report coming back.
            outcome @ (0 | 1) => {
                let consult = accepted.plus_days(self.rng.range(7, 45));
                let consult = Instant::at(consult.day(), self.rng.range(8, 16), 0);
                self.schedule(
                    accepted,
                    Event::TaskUpdate {
                        referral: slot,
                        state: TaskState::Accepted,
                    },
                );
                self.schedule(consult, Event::Consult { referral: slot });
                self.schedule(
                    consult.plus_minutes(90),
                    Event::TaskUpdate {
                        referral: slot,
                        state: TaskState::InProgress,
                    },
                );
                if outcome == 0 {
                    let back = consult.plus_days(self.rng.range(1, 14));
                    self.schedule(
                        back,
                        Event::TaskUpdate {
                            referral: slot,
                            state: TaskState::Completed,
                        },
                    );
                }
            }
            // Never acted on: the Task stays requested.
            2 => {}
            3 => self.schedule(
                accepted,
                Event::TaskUpdate {
                    referral: slot,
                    state: TaskState::Rejected,
                },
            ),
            _ => {
                self.schedule(
                    accepted,
                    Event::TaskUpdate {
                        referral: slot,
                        state: TaskState::Accepted,
                    },
                );
                let cancelled = accepted.plus_days(self.rng.range(3, 30));
                self.schedule(
                    cancelled,
                    Event::TaskUpdate {
                        referral: slot,
                        state: TaskState::Cancelled,
                    },
                );
            }
        }
    }

    /// The medical home's Task (and, when its status follows, ServiceRequest) update.
    pub(crate) fn task_update(&mut self, slot: usize, state: TaskState, at: Instant) {
        let patient = self.patient_id(Source::Clinic);
        let Some(referral) = self.referrals.get(slot) else {
            return;
        };
        let view = referral_view(referral, &patient, &self.pcp);
        let report = if state == TaskState::Completed {
            referral.note_id.as_deref()
        } else {
            None
        };
        let mut out = vec![referral::task(&view, state, at, report)];
        if state.request_status() != TaskState::Requested.request_status() {
            out.push(referral::service_request(&view, state));
        }
        self.send(Source::Clinic, out);
    }

    pub(crate) fn mammogram(&mut self, at: Instant) {
        let patient = self.patient_id(Source::Clinic);
        let pcp = self.pcp.clone();
        let ctx = Context {
            patient: &patient,
            encounter: None,
            practitioner: &pcp,
        };
        let id = self.rng.uuid();
        let observation =
            resources::observation(&ctx, &id, "imaging", codes::MAMMOGRAPHY, ObsValue::None, at);
        self.send(Source::Clinic, vec![observation]);
    }

    pub(crate) fn stool_test(&mut self, at: Instant) {
        let patient = self.patient_id(Source::Clinic);
        let pcp = self.pcp.clone();
        let ctx = Context {
            patient: &patient,
            encounter: None,
            practitioner: &pcp,
        };
        let id = self.rng.uuid();
        let result = if self.rng.chance(0.05) {
            codes::POSITIVE
        } else {
            codes::NEGATIVE
        };
        let observation = resources::observation(
            &ctx,
            &id,
            "laboratory",
            codes::FIT,
            ObsValue::Concept(result),
            at,
        );
        self.send(Source::Clinic, vec![observation]);
    }
}

pub(crate) fn referral_view<'a>(
    state: &'a ReferralState,
    patient: &'a str,
    requester: &'a str,
) -> Referral<'a> {
    Referral {
        request_id: &state.request_id,
        task_id: &state.task_id,
        patient,
        encounter: &state.encounter_id,
        requester,
        consultant: &state.consultant,
        specialty: state.specialty,
        reason: state.reason.as_deref(),
        authored: state.authored,
    }
}
