//! What the medical home measures and gives: vitals, chronic-disease labs, immunizations, and
//! screening results that arrive without a visit.

use serde_json::Value;

use super::chronic::Chronic;
use super::clock::{civil_from_days, Instant};
use super::codes::{self, Code};
use super::life::{Life, Visit};
use super::resources::{self, Context, ObsValue};
use super::Source;

impl Life<'_> {
    pub(crate) fn vitals(
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

    pub(crate) fn chronic_labs(
        &mut self,
        ctx: &Context<'_>,
        visit: Visit,
        at: Instant,
        out: &mut Vec<Value>,
    ) {
        let day = at.day();
        let checkup = matches!(visit, Visit::Wellness | Visit::FollowUp);
        let mut labs: Vec<(String, Code)> = Vec::new();
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
            labs.push((id, codes::HBA1C));
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
            labs.push((id, codes::LDL));
        }
        if let Some((_, first)) = labs.first() {
            let code = if labs.len() == 1 {
                *first
            } else {
                codes::LAB_REPORT
            };
            let ids: Vec<String> = labs.iter().map(|(id, _)| id.clone()).collect();
            let id = self.rng.uuid();
            let laboratory = self.population.directory.organization(Source::Clinic);
            out.push(resources::diagnostic_report(
                ctx, &id, code, &ids, at, laboratory,
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

    pub(crate) fn immunizations(
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

    pub(crate) fn mammogram(&mut self, at: Instant) {
        let patient = self.patient_id(Source::Clinic);
        let pcp = self.pcp.clone();
        let ctx = Context {
            patient: &patient,
            encounter: None,
            practitioner: &pcp,
            zone: Source::Clinic.zone(),
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
            zone: Source::Clinic.zone(),
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
        let report_id = self.rng.uuid();
        let laboratory = self.population.directory.organization(Source::Clinic);
        let report =
            resources::diagnostic_report(&ctx, &report_id, codes::FIT, &[id], at, laboratory);
        self.send(Source::Clinic, vec![observation, report]);
    }
}
