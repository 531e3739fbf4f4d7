//! One person's simulated years: plan the events of each year, then play them in time order,
//! each event producing the batch of resources one source system sends about it. Follow-ups
//! (referral updates, consults, readmissions, post-discharge visits) are scheduled while
//! playing, so they land after their cause.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde_json::Value;

use super::chronic::{Chronic, Smoking};
use super::clock::{age_on, days_from_civil, Instant};
use super::directory::Role;
use super::person::{Person, Sex};
use super::referral::TaskState;
use super::rng::Rng;
use super::{Batch, GroundTruth, PatientOutput, Population, RecordTruth, Source};

/// Why a primary-care office visit happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visit {
    Wellness,
    FollowUp,
    Acute,
    PostDischarge,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    Office { visit: Visit, refer: bool },
    Emergency,
    Inpatient { readmission_depth: u8 },
    Mammogram,
    StoolTest,
    Colonoscopy,
    Consult { referral: usize },
    TaskUpdate { referral: usize, state: TaskState },
    Hospice,
    Palliative,
    Frailty,
    Dialysis,
    KidneyTransplant,
    Pregnancy,
    Mastectomy { side: Breast },
    Death,
}

/// Which breast a mastectomy removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Breast {
    Left,
    Right,
    Both,
}

/// A problem another source treated, for the medical home to put on its problem list at the
/// next office visit.
pub(crate) struct Pending {
    pub(crate) codes: &'static [super::codes::Code],
    pub(crate) onset: Instant,
    pub(crate) abated: Option<Instant>,
}

/// A chronic condition the person has, and its record once the medical home has coded it.
pub(crate) struct ChronicState {
    pub(crate) kind: Chronic,
    pub(crate) onset: i64,
    pub(crate) condition_id: Option<String>,
    pub(crate) medications: u8,
}

/// A referral made by the medical home, remembered for the updates that follow it.
pub(crate) struct ReferralState {
    pub(crate) request_id: String,
    pub(crate) task_id: String,
    pub(crate) encounter_id: String,
    pub(crate) consultant: String,
    pub(crate) specialty: super::codes::Specialty,
    pub(crate) reason: Option<String>,
    pub(crate) authored: Instant,
    pub(crate) note_id: Option<String>,
}

pub(crate) struct Life<'a> {
    pub(crate) population: &'a Population,
    pub(crate) rng: Rng,
    pub(crate) person: Person,
    pub(crate) smoking: Smoking,
    pub(crate) bp_controlled: bool,
    pub(crate) a1c_controlled: bool,
    pub(crate) flu_propensity: f64,
    pub(crate) pcp: String,
    pub(crate) nurse: String,
    pub(crate) chronic: Vec<ChronicState>,
    pub(crate) care_team: Option<String>,
    pub(crate) referrals: Vec<ReferralState>,
    pub(crate) vaccines_given: Vec<&'static str>,
    pub(crate) last_flu_season: i64,
    /// Discharge time of the latest hospital stay; no one is seen elsewhere while admitted.
    pub(crate) admitted_until: Instant,
    /// The latest stay's diagnosis, onset and discharge, for the medical home to reconcile.
    pub(crate) last_discharge: Option<(&'static [super::codes::Code; 2], Instant, Instant)>,
    /// Problems waiting to be coded by the medical home.
    pub(crate) pending: Vec<Pending>,
    /// Breasts removed so far: bit 1 left, bit 2 right.
    pub(crate) mastectomies: u8,
    pub(crate) on_dialysis: bool,
    pub(crate) transplanted: bool,
    /// When the person died; nothing happens to them after.
    pub(crate) died: Option<Instant>,
    pub(crate) patients: [Option<Value>; 3],
    pub(crate) insurance: Vec<super::insurance::Insurance>,
    /// Per source, which insurance periods it has recorded (bit per period).
    pub(crate) coverage_sent: [u8; 3],
    /// When the event being played happens.
    now: Instant,
    batches: Vec<Batch>,
    queue: BinaryHeap<Reverse<(i64, u64)>>,
    events: Vec<Event>,
}

impl<'a> Life<'a> {
    pub(crate) fn new(population: &'a Population, index: u64) -> Self {
        let mut rng = Rng::for_person(population.config.seed, index);
        let end = population.end_day;
        let person = Person::draw(&mut rng, end);
        let smoking = match rng.weighted(&[0.6, 0.25, 0.15]) {
            0 => Smoking::Never,
            1 => Smoking::Former,
            _ => Smoking::Current,
        };
        let age = age_on(person.birth, end);
        let female = person.sex == Sex::Female;
        let adult_day = person.birth + 18 * 365;
        let mut chronic = Vec::new();
        for kind in Chronic::ALL {
            let has = rng.chance(kind.prevalence(age, female, smoking));
            // Onset some time in the last twenty years of adult life; many predate the window.
            let earliest = adult_day.max(end - 20 * 365).min(end);
            let onset = rng.range(earliest, end);
            if has {
                chronic.push(ChronicState {
                    kind,
                    onset,
                    condition_id: None,
                    medications: 0,
                });
            }
        }
        let directory = &population.directory;
        let pcp = directory
            .pick(Role::PrimaryCare, rng.range(0, 1_000) as u64)
            .to_owned();
        let nurse = directory
            .pick(Role::CareManager, rng.range(0, 1_000) as u64)
            .to_owned();
        Self {
            population,
            // Around two in three hypertensives are controlled in a well-run medical home.
            bp_controlled: rng.chance(0.72),
            a1c_controlled: rng.chance(0.65),
            flu_propensity: rng.unit(),
            rng,
            person,
            smoking,
            pcp,
            nurse,
            chronic,
            care_team: None,
            referrals: Vec::new(),
            vaccines_given: Vec::new(),
            last_flu_season: i64::MIN,
            admitted_until: Instant(i64::MIN),
            last_discharge: None,
            pending: Vec::new(),
            mastectomies: 0,
            on_dialysis: false,
            transplanted: false,
            died: None,
            patients: [None, None, None],
            insurance: Vec::new(),
            coverage_sent: [0; 3],
            now: Instant(i64::MIN),
            batches: Vec::new(),
            queue: BinaryHeap::new(),
            events: Vec::new(),
        }
    }

    pub(crate) fn run(mut self, index: u64) -> PatientOutput {
        self.plan_years();
        self.plan_life_events();
        self.plan_insurance();
        while let Some(Reverse((minute, slot))) = self.queue.pop() {
            let at = Instant(minute);
            if at.day() > self.population.end_day {
                continue;
            }
            let Some(event) = usize::try_from(slot).ok().and_then(|i| self.events.get(i)) else {
                continue;
            };
            let event = *event;
            self.play(event, at);
            if self.died.is_some() {
                break;
            }
        }
        self.finish(index)
    }

    pub(crate) fn schedule(&mut self, at: Instant, event: Event) {
        let slot = self.events.len() as u64;
        self.events.push(event);
        self.queue.push(Reverse((at.0, slot)));
    }

    /// An instant on `day` during office hours.
    pub(crate) fn office_time(&mut self, day: i64) -> Instant {
        Instant::at(day, self.rng.range(8, 16), 15 * self.rng.range(0, 3))
    }

    pub(crate) fn age_on(&self, day: i64) -> i64 {
        age_on(self.person.birth, day)
    }

    /// Chronic conditions present on `day`.
    pub(crate) fn chronic_count(&self, day: i64) -> usize {
        self.chronic.iter().filter(|c| c.onset <= day).count()
    }

    pub(crate) fn has(&self, kind: Chronic, day: i64) -> bool {
        self.chronic
            .iter()
            .any(|c| c.kind == kind && c.onset <= day)
    }

    fn plan_years(&mut self) {
        let start = self.population.start_day;
        let (first_year, _, _) = super::clock::civil_from_days(start);
        let last_year = i64::from(self.population.config.end_year);
        for year in first_year..=last_year {
            let year_start = days_from_civil(year, 1, 1).max(self.person.birth + 1);
            let year_end = days_from_civil(year, 12, 31);
            if year_start > year_end {
                continue;
            }
            let chronic = self.chronic_count(year_end) as f64;
            let age = self.age_on(year_end);
            let office = |life: &mut Self, visit: Visit, refer: bool| {
                let day = life.rng.range(year_start, year_end);
                let at = life.office_time(day);
                life.schedule(at, Event::Office { visit, refer });
            };
            if self.rng.chance(0.72) {
                office(self, Visit::Wellness, false);
            }
            if chronic > 0.0 {
                for _ in 0..self.rng.poisson(1.4 * chronic).min(6) {
                    office(self, Visit::FollowUp, false);
                }
            }
            for _ in 0..self.rng.poisson(0.7) {
                office(self, Visit::Acute, false);
            }
            if age >= 18 && self.rng.chance(0.1 + 0.07 * chronic) {
                let visit = if chronic > 0.0 {
                    Visit::FollowUp
                } else {
                    Visit::Acute
                };
                office(self, visit, true);
            }
            let ed_rate = 0.12 + 0.08 * chronic;
            for _ in 0..self.rng.poisson(ed_rate) {
                let day = self.rng.range(year_start, year_end);
                let at = Instant::at(day, self.rng.range(0, 23), self.rng.range(0, 59));
                self.schedule(at, Event::Emergency);
            }
            let inpatient_rate = 0.02 + 0.04 * chronic + if age >= 70 { 0.05 } else { 0.0 };
            for _ in 0..self.rng.poisson(inpatient_rate) {
                let day = self.rng.range(year_start, year_end);
                let at = Instant::at(day, self.rng.range(0, 23), self.rng.range(0, 59));
                self.schedule(
                    at,
                    Event::Inpatient {
                        readmission_depth: 0,
                    },
                );
            }
            if (45..=75).contains(&age) && self.rng.chance(0.45) {
                let day = self.rng.range(year_start, year_end);
                let at = Instant::at(day, 7, 0);
                self.schedule(at, Event::StoolTest);
            }
            if (45..=75).contains(&age) && self.rng.chance(0.04) {
                let day = self.rng.range(year_start, year_end);
                let at = self.office_time(day);
                self.schedule(at, Event::Colonoscopy);
            }
        }
        self.plan_mammograms();
        // Everyone in the panel is known to the medical home: someone whose dice gave no
        // primary-care contact gets one wellness visit in the final year.
        let clinic_planned = self.events.iter().any(|e| {
            matches!(
                e,
                Event::Office { .. } | Event::Mammogram | Event::StoolTest
            )
        });
        if !clinic_planned {
            let end = self.population.end_day;
            let day = self.rng.range((end - 364).max(self.person.birth + 1), end);
            let at = self.office_time(day);
            self.schedule(
                at,
                Event::Office {
                    visit: Visit::Wellness,
                    refer: false,
                },
            );
        }
    }

    /// Screening mammograms every one to two years for the women who keep up with them.
    fn plan_mammograms(&mut self) {
        if self.person.sex != Sex::Female || !self.rng.chance(0.74) {
            return;
        }
        let mut day = self.population.start_day + self.rng.range(0, 400);
        while day <= self.population.end_day {
            let age = self.age_on(day);
            if (50..=74).contains(&age) {
                let at = self.office_time(day);
                self.schedule(at, Event::Mammogram);
            }
            day += self.rng.range(330, 800);
        }
    }

    fn play(&mut self, event: Event, at: Instant) {
        // Visits and admissions planned independently can fall inside a hospital stay; those
        // did not happen. Referral follow-ups and results still arrive.
        let in_hospital = at < self.admitted_until;
        self.now = at;
        match event {
            Event::Office { .. } | Event::Emergency | Event::Inpatient { .. } if in_hospital => {}
            Event::Hospice
            | Event::Palliative
            | Event::Frailty
            | Event::Dialysis
            | Event::KidneyTransplant
            | Event::Pregnancy
            | Event::Mastectomy { .. }
                if in_hospital =>
            {
                // Planned care waits for the patient to leave hospital.
                let day = self.admitted_until.day() + 1;
                let at = self.office_time(day);
                self.schedule(at, event);
            }
            Event::Death => self.death(at),
            Event::Hospice => self.hospice(at),
            Event::Palliative => self.palliative(at),
            Event::Frailty => self.frailty(at),
            Event::Dialysis => self.dialysis(at),
            Event::KidneyTransplant => self.kidney_transplant(at),
            Event::Pregnancy => self.pregnancy(at),
            Event::Mastectomy { side } => self.mastectomy(side, at),
            Event::Mammogram if self.mastectomies == 3 => {}
            Event::Office { visit, refer } => self.office_visit(visit, refer, at),
            Event::Emergency => self.emergency_visit(at),
            Event::Inpatient { readmission_depth } => self.inpatient_stay(at, readmission_depth),
            Event::Mammogram => self.mammogram(at),
            Event::StoolTest => self.stool_test(at),
            Event::Colonoscopy => self.colonoscopy(at),
            Event::Consult { referral } => self.consult(referral, at),
            Event::TaskUpdate { referral, state } => self.task_update(referral, state, at),
        }
    }

    /// The Patient record a source holds, registering the person there first if need be.
    pub(crate) fn patient_record(&mut self, source: Source) -> Option<&mut Value> {
        let slot = source as usize;
        if self.patients.get(slot).is_some_and(Option::is_none) {
            let registration = self.person.registration(source)?;
            let organization = self.population.directory.organization(source);
            let gp = (source == Source::Clinic).then_some(self.pcp.as_str());
            let patient = self.person.patient(registration, organization, gp);
            if let Some(cached) = self.patients.get_mut(slot) {
                *cached = Some(patient);
            }
        }
        self.patients.get_mut(slot).and_then(Option::as_mut)
    }

    /// Queues what one source sends, with that source's Patient first.
    pub(crate) fn send(&mut self, source: Source, resources: Vec<Value>) {
        let Some(patient) = self.patient_record(source).map(|p| p.clone()) else {
            return;
        };
        let coverage = self.coverage_due(source, self.now.day());
        let mut all = Vec::with_capacity(resources.len() + coverage.len() + 1);
        all.push(patient);
        all.extend(coverage);
        all.extend(resources);
        self.batches.push(Batch {
            source,
            resources: all,
        });
    }

    /// Id of this person's Patient record in a source.
    pub(crate) fn patient_id(&self, source: Source) -> String {
        self.person
            .registration(source)
            .map(|r| r.patient_id.clone())
            .unwrap_or_default()
    }

    fn finish(self, index: u64) -> PatientOutput {
        let records = self
            .person
            .registrations
            .iter()
            .filter(|r| {
                self.patients
                    .get(r.source as usize)
                    .is_some_and(Option::is_some)
            })
            .map(|r| RecordTruth {
                source: r.source,
                identifier_system: r.source.mrn_system(),
                mrn: r.mrn.clone(),
                patient: format!("Patient/{}", r.patient_id),
                variations: r.variations.clone(),
            })
            .collect();
        PatientOutput {
            index,
            ground_truth: GroundTruth {
                person: self.person.id.clone(),
                records,
            },
            batches: self.batches,
        }
    }
}
