//! The turns a life takes that eCQMs exclude people for (hospice, palliative care, advanced
//! illness with frailty, kidney failure, pregnancy, mastectomy) and death. Each happens at the
//! configured rate among the people it can happen to; the medical home's record of it is what
//! the measures read, since they are evaluated per Patient record of the medical home.

use serde_json::{json, Value};

use super::chronic::Chronic;
use super::clock::{civil_from_days, days_from_civil, Instant};
use super::codes::{self, Code};
use super::exclusion_codes as ex;
use super::facilities::Place;
use super::life::{Breast, Event, Life, Pending};
use super::person::Sex;
use super::resources::{self, ConditionSpec, Context, EncounterClass, EncounterSpec};
use super::Source;

/// Yearly chance of dying at an age: US life tables, rounded.
fn mortality(age: i64) -> f64 {
    match age {
        ..=0 => 0.0055,
        1..=24 => 0.0005,
        25..=44 => 0.0018,
        45..=64 => 0.0065,
        65..=74 => 0.018,
        75..=84 => 0.045,
        _ => 0.13,
    }
}

/// Of hospice patients, how many die within the following months.
const HOSPICE_DEATHS: f64 = 0.6;
/// Of dialysis patients, how many receive a kidney.
const TRANSPLANTS: f64 = 0.3;

impl Life<'_> {
    /// Draws this person's exclusion events and death; runs after the yearly plan.
    pub(crate) fn plan_life_events(&mut self) {
        let rates = self.population.config.events;
        let (start, end) = (self.population.start_day, self.population.end_day);
        let age = self.age_on(end);
        let female = self.person.sex == Sex::Female;
        // End-of-life care in the last two years, where the measures look for it.
        let late = (end - 730).max(start);
        if age >= 65 && self.rng.chance(rates.hospice) {
            let day = self.rng.range(late, end);
            let at = self.office_time(day);
            self.schedule(at, Event::Hospice);
            if self.rng.chance(HOSPICE_DEATHS) {
                let later = day + self.rng.range(10, 200);
                let death = self.night_time(later);
                self.schedule(death, Event::Death);
            }
        }
        if age >= 65 && self.rng.chance(rates.palliative) {
            let day = self.rng.range(late, end);
            let at = self.office_time(day);
            self.schedule(at, Event::Palliative);
        }
        if age >= 66 && self.rng.chance(rates.frailty) {
            let day = self.rng.range(late, end);
            let at = self.office_time(day);
            self.schedule(at, Event::Frailty);
        }
        let kidney_risk = self.has(Chronic::Hypertension, end) || self.has(Chronic::Diabetes, end);
        if age >= 18 && kidney_risk && self.rng.chance(rates.renal) {
            let day = self.rng.range(start, end);
            let at = self.office_time(day);
            self.schedule(at, Event::Dialysis);
        }
        if female && (18..=44).contains(&age) && self.rng.chance(rates.pregnancy) {
            let day = self.rng.range(start, end);
            let at = self.office_time(day);
            self.schedule(at, Event::Pregnancy);
        }
        if female && age >= 40 && self.rng.chance(rates.mastectomy) {
            let first = self.rng.range(start - 5 * 365, end);
            match self.rng.range(0, 2) {
                0 => self.plan_mastectomy(Breast::Both, first),
                side => {
                    let (one, other) = if side == 1 {
                        (Breast::Left, Breast::Right)
                    } else {
                        (Breast::Right, Breast::Left)
                    };
                    self.plan_mastectomy(one, first);
                    let second = first + self.rng.range(180, 1_500);
                    self.plan_mastectomy(other, second.min(end));
                }
            }
        }
        let (first_year, _, _) = civil_from_days(start);
        for year in first_year..=i64::from(self.population.config.end_year) {
            let year_start = days_from_civil(year, 1, 1).max(self.person.birth + 1);
            let year_end = days_from_civil(year, 12, 31);
            let risk = mortality(self.age_on(year_end)) * rates.mortality;
            if year_start <= year_end && self.rng.chance(risk) {
                let day = self.rng.range(year_start, year_end);
                let at = self.night_time(day);
                self.schedule(at, Event::Death);
                break;
            }
        }
    }

    /// An instant on `day` in the small hours, when no visit is under way.
    fn night_time(&mut self, day: i64) -> Instant {
        Instant::at(day, self.rng.range(1, 5), self.rng.range(0, 59))
    }

    /// A surgery in the simulated years is the hospital's; one before them is known only from
    /// the history the medical home records.
    fn plan_mastectomy(&mut self, side: Breast, day: i64) {
        if day >= self.population.start_day {
            let at = self.office_time(day);
            self.schedule(at, Event::Mastectomy { side });
            return;
        }
        self.mastectomies |= removed(side);
        self.pending.push(Pending {
            codes: history_of(side),
            onset: Instant::at(day, 12, 0),
            abated: None,
        });
    }

    /// The medical home's own encounter for an event, with what it recorded there.
    fn clinic_encounter(
        &mut self,
        class: EncounterClass,
        types: &[Code],
        at: Instant,
        build: impl FnOnce(&mut Self, &Context<'_>, &mut Vec<Value>, &mut Vec<String>),
    ) {
        let patient = self.patient_id(Source::Clinic);
        let encounter_id = self.rng.uuid();
        let pcp = self.pcp.clone();
        let ctx = Context {
            patient: &patient,
            encounter: Some(&encounter_id),
            practitioner: &pcp,
            zone: Source::Clinic.zone(),
        };
        let end = at.plus_minutes(self.rng.range(30, 60));
        let mut out = Vec::new();
        let mut diagnoses = Vec::new();
        build(self, &ctx, &mut out, &mut diagnoses);
        let organization = self.population.directory.organization(Source::Clinic);
        // Hospice care happens at home, not at the office.
        let home = matches!(class, EncounterClass::HomeHealth);
        let encounter = resources::encounter(
            &ctx,
            EncounterSpec {
                id: &encounter_id,
                class,
                types,
                start: at,
                end,
                organization,
                hospitalization: None,
                location: (!home).then(|| self.population.directory.location(Place::ClinicOffice)),
                reasons: Vec::new(),
                diagnoses,
            },
        );
        out.insert(0, encounter);
        self.send(Source::Clinic, out);
    }

    pub(crate) fn hospice(&mut self, at: Instant) {
        self.clinic_encounter(
            EncounterClass::HomeHealth,
            &ex::HOSPICE_ADMISSION,
            at,
            |life, ctx, out, diagnoses| {
                let id = life.rng.uuid();
                out.push(resources::condition(
                    ctx,
                    ConditionSpec {
                        id: &id,
                        codes: &[ex::HOSPICE_STATUS],
                        category: "problem-list-item",
                        onset: at,
                        recorded: at,
                        abated: None,
                    },
                ));
                diagnoses.push(id);
                let procedure = life.rng.uuid();
                out.push(resources::procedure(
                    ctx,
                    &procedure,
                    &[ex::HOSPICE_CARE],
                    at,
                    at.plus_minutes(45),
                ));
            },
        );
    }

    pub(crate) fn palliative(&mut self, at: Instant) {
        self.clinic_encounter(
            EncounterClass::Ambulatory,
            &[ex::PALLIATIVE_CONSULT],
            at,
            |life, ctx, out, diagnoses| {
                let id = life.rng.uuid();
                out.push(resources::condition(
                    ctx,
                    ConditionSpec {
                        id: &id,
                        codes: &ex::PALLIATIVE_DIAGNOSIS,
                        category: "encounter-diagnosis",
                        onset: at,
                        recorded: at,
                        abated: None,
                    },
                ));
                diagnoses.push(id);
                let procedure = life.rng.uuid();
                out.push(resources::procedure(
                    ctx,
                    &procedure,
                    &[ex::PALLIATIVE_CARE],
                    at,
                    at.plus_minutes(30),
                ));
            },
        );
    }

    /// An advanced illness diagnosed with the frailty that comes with it: wheelchair dependence
    /// and the wheelchair ordered.
    pub(crate) fn frailty(&mut self, at: Instant) {
        self.clinic_encounter(
            EncounterClass::Ambulatory,
            &[codes::OFFICE_VISIT_MODERATE],
            at,
            |life, ctx, out, diagnoses| {
                let illness = life.rng.pick(&ex::ADVANCED_ILLNESS);
                for (codes, onset) in [
                    (&illness[..], at.plus_days(-life.rng.range(0, 60))),
                    (&ex::FRAILTY_DIAGNOSIS[..], at),
                ] {
                    let id = life.rng.uuid();
                    out.push(resources::condition(
                        ctx,
                        ConditionSpec {
                            id: &id,
                            codes,
                            category: "problem-list-item",
                            onset,
                            recorded: at,
                            abated: None,
                        },
                    ));
                    diagnoses.push(id);
                }
                let id = life.rng.uuid();
                out.push(resources::device_request(ctx, &id, ex::WHEELCHAIR, at));
            },
        );
    }

    pub(crate) fn pregnancy(&mut self, at: Instant) {
        let end_of_simulation = Instant::at(self.population.end_day, 23, 59);
        self.clinic_encounter(
            EncounterClass::Ambulatory,
            &[codes::OFFICE_VISIT_LOW],
            at,
            |life, ctx, out, diagnoses| {
                let conception = at.plus_days(-life.rng.range(42, 70));
                let delivery = conception.plus_days(life.rng.range(259, 287));
                let id = life.rng.uuid();
                out.push(resources::condition(
                    ctx,
                    ConditionSpec {
                        id: &id,
                        codes: &ex::PREGNANCY,
                        category: "encounter-diagnosis",
                        onset: conception,
                        recorded: at,
                        abated: (delivery <= end_of_simulation).then_some(delivery),
                    },
                ));
                diagnoses.push(id);
            },
        );
    }

    /// A month of outpatient dialysis at the hospital's unit; the first starts the series and
    /// tells the medical home of the kidney failure.
    pub(crate) fn dialysis(&mut self, at: Instant) {
        if self.transplanted {
            return;
        }
        if !self.on_dialysis {
            self.on_dialysis = true;
            self.pending.push(Pending {
                codes: &ex::ESRD,
                onset: at,
                abated: None,
            });
            if self.rng.chance(TRANSPLANTS) {
                let day = at.day() + self.rng.range(180, 900);
                let when = Instant::at(day, 7, 30);
                self.schedule(when, Event::KidneyTransplant);
            }
        }
        let end = at.plus_minutes(self.rng.range(210, 270));
        self.hospital_procedure(
            EncounterClass::Ambulatory,
            &[ex::ESRD_MONTHLY],
            &ex::HEMODIALYSIS,
            at,
            end,
        );
        let next = at.day() + self.rng.range(28, 31);
        let next = self.office_time(next);
        self.schedule(next, Event::Dialysis);
    }

    pub(crate) fn kidney_transplant(&mut self, at: Instant) {
        self.transplanted = true;
        let discharge = at.plus_days(self.rng.range(4, 9));
        self.hospital_procedure(
            EncounterClass::Inpatient,
            &[codes::HOSPITAL_ADMISSION],
            &ex::KIDNEY_TRANSPLANT,
            at,
            discharge,
        );
        self.admitted_until = discharge;
        self.pending.push(Pending {
            codes: &ex::KIDNEY_TRANSPLANT_STATUS,
            onset: at,
            abated: None,
        });
    }

    pub(crate) fn mastectomy(&mut self, side: Breast, at: Instant) {
        let discharge = at.plus_days(self.rng.range(1, 2));
        let procedure = match side {
            Breast::Both => ex::MASTECTOMY_BILATERAL,
            Breast::Left => ex::MASTECTOMY_LEFT,
            Breast::Right => ex::MASTECTOMY_RIGHT,
        };
        self.hospital_procedure(
            EncounterClass::Inpatient,
            &[codes::HOSPITAL_ADMISSION],
            &[procedure],
            at,
            discharge,
        );
        self.admitted_until = discharge;
        self.mastectomies |= removed(side);
        self.pending.push(Pending {
            codes: history_of(side),
            onset: at,
            abated: None,
        });
    }

    /// The hospital's encounter for a procedure.
    fn hospital_procedure(
        &mut self,
        class: EncounterClass,
        types: &[Code],
        procedure: &[Code],
        start: Instant,
        end: Instant,
    ) {
        let patient = self.patient_id(Source::Hospital);
        let encounter_id = self.rng.uuid();
        let procedure_id = self.rng.uuid();
        let physician = self
            .population
            .directory
            .pick(
                super::directory::Role::Hospitalist,
                self.rng.range(0, 1_000) as u64,
            )
            .to_owned();
        let ctx = Context {
            patient: &patient,
            encounter: Some(&encounter_id),
            practitioner: &physician,
            zone: Source::Hospital.zone(),
        };
        let inpatient = matches!(class, EncounterClass::Inpatient);
        let organization = self.population.directory.organization(Source::Hospital);
        let reason = procedure.first().map(Code::concept);
        let encounter = resources::encounter(
            &ctx,
            EncounterSpec {
                id: &encounter_id,
                class,
                types,
                start,
                end,
                organization,
                hospitalization: inpatient.then_some((Some("gp"), "home")),
                location: Some(self.population.directory.location(if inpatient {
                    Place::SurgicalWard
                } else {
                    Place::Dialysis
                })),
                reasons: reason.into_iter().collect(),
                diagnoses: Vec::new(),
            },
        );
        let performed = if inpatient {
            start.plus_minutes(120)
        } else {
            start
        };
        let done = performed.plus_minutes(if inpatient { 180 } else { 200 });
        let procedure = resources::procedure(&ctx, &procedure_id, procedure, performed, done);
        self.send(Source::Hospital, vec![encounter, procedure]);
    }

    /// The medical home codes what other sources treated, at its next visit.
    pub(crate) fn record_pending(
        &mut self,
        ctx: &Context<'_>,
        at: Instant,
        out: &mut Vec<Value>,
        diagnoses: &mut Vec<String>,
    ) {
        for pending in std::mem::take(&mut self.pending) {
            let id = self.rng.uuid();
            out.push(resources::condition(
                ctx,
                ConditionSpec {
                    id: &id,
                    codes: pending.codes,
                    category: "problem-list-item",
                    onset: pending.onset,
                    recorded: at,
                    abated: pending.abated,
                },
            ));
            diagnoses.push(id);
        }
    }

    /// The person dies: the medical home records it, and the other sources that know the
    /// person mostly hear of it too. Death in hospital waits for the stay to end.
    pub(crate) fn death(&mut self, at: Instant) {
        if at < self.admitted_until {
            let day = self.admitted_until.day() + 1;
            let later = self.night_time(day);
            self.schedule(later, Event::Death);
            return;
        }
        self.died = Some(at);
        for source in Source::ALL {
            let known = self
                .patients
                .get(source as usize)
                .is_some_and(Option::is_some);
            let hears = source == Source::Clinic || (known && self.rng.chance(0.6));
            if !hears {
                continue;
            }
            if let Some(Value::Object(patient)) = self.patient_record(source) {
                patient.insert("deceasedDateTime".into(), json!(at.to_fhir(source.zone())));
            }
            self.send(source, Vec::new());
        }
    }
}

fn removed(side: Breast) -> u8 {
    match side {
        Breast::Left => 1,
        Breast::Right => 2,
        Breast::Both => 3,
    }
}

fn history_of(side: Breast) -> &'static [Code] {
    match side {
        Breast::Both => &ex::HISTORY_BILATERAL,
        Breast::Left => &ex::HISTORY_LEFT,
        Breast::Right => &ex::HISTORY_RIGHT,
    }
}
