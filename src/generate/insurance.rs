//! Who pays: each person's insurance over the simulated years (private or Medicaid, Medicare
//! from 65, a few uninsured paying themselves), and the Coverage each source records once the
//! coverage has begun, so measure supplemental data (SDE Payer) has a payer to report.

use serde_json::{json, Value};

use super::clock::{civil_from_days, date, days_from_civil};
use super::facilities::{Payer, SOPT};
use super::life::Life;
use super::resources::reference;
use super::Source;

/// One period of coverage; `payer` none means self-pay.
pub(crate) struct Insurance {
    payer: Option<Payer>,
    start: i64,
    end: Option<i64>,
    member: String,
}

impl Life<'_> {
    /// Draws the person's insurance history; runs once, after the life's events are planned.
    pub(crate) fn plan_insurance(&mut self) {
        let (start, end) = (self.population.start_day, self.population.end_day);
        let birth = self.person.birth;
        let (by, bm, bd) = civil_from_days(birth);
        let sixty_five = days_from_civil(by + 65, bm, bd.min(28));
        let child = self.age_on(start) < 18;
        let before = match self
            .rng
            .weighted(&[if child { 0.4 } else { 0.18 }, 0.36, 0.36, 0.08])
        {
            0 => Some(Payer::Medicaid),
            1 => Some(Payer::BlueCross),
            2 => Some(Payer::Commercial),
            _ => None,
        };
        let since = birth.max(start - self.rng.range(0, 3_000));
        if sixty_five > start {
            let member = self.member_id();
            self.insurance.push(Insurance {
                payer: before,
                start: since,
                end: (sixty_five <= end).then_some(sixty_five - 1),
                member,
            });
        }
        if sixty_five <= end {
            let member = self.member_id();
            self.insurance.push(Insurance {
                payer: Some(Payer::Medicare),
                start: sixty_five,
                end: None,
                member,
            });
        }
    }

    fn member_id(&mut self) -> String {
        format!(
            "{}{}",
            char::from(b'A' + self.rng.range(0, 25) as u8),
            self.rng.digits(9)
        )
    }

    /// Coverage records a source has not sent yet for periods begun by `day`.
    pub(crate) fn coverage_due(&mut self, source: Source, day: i64) -> Vec<Value> {
        let slot = source as usize;
        let patient = self.patient_id(source);
        let mut out = Vec::new();
        for index in 0..self.insurance.len() {
            let bit = 1u8 << index.min(7);
            let sent = self.coverage_sent.get(slot).copied().unwrap_or(0);
            let Some(insurance) = self.insurance.get(index) else {
                continue;
            };
            if sent & bit != 0 || insurance.start > day {
                continue;
            }
            let payor = match insurance.payer {
                Some(payer) => reference("Organization", self.population.directory.payer(payer)),
                None => reference("Patient", &patient),
            };
            let (code, display) = match insurance.payer {
                Some(payer) => {
                    let (_, code, display) = payer.describe();
                    (code, display)
                }
                None => ("81", "Self-pay"),
            };
            let mut period = json!({"start": date(insurance.start)});
            if let (Some(end), Some(object)) = (insurance.end, period.as_object_mut()) {
                object.insert("end".into(), json!(date(end)));
            }
            let member = insurance.member.clone();
            let id = self.rng.uuid();
            out.push(json!({
                "resourceType": "Coverage",
                "id": id,
                "status": "active",
                "type": {"coding": [{"system": SOPT, "code": code, "display": display}]},
                "subscriberId": member,
                "beneficiary": reference("Patient", &patient),
                "relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "self"}]},
                "period": period,
                "payor": [payor],
            }));
            if let Some(sent) = self.coverage_sent.get_mut(slot) {
                *sent |= bit;
            }
        }
        out
    }
}
