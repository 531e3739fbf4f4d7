//! The medical home's side of a referral: the order and its Task, the outcome drawn for it, and
//! each Task update as the loop closes (or does not).

use serde_json::Value;

use super::chronic::Chronic;
use super::clock::Instant;
use super::codes;
use super::directory::Role;
use super::life::{Event, Life, ReferralState};
use super::referral::{self, Referral, TaskState};
use super::resources::Context;
use super::Source;

impl Life<'_> {
    /// Orders a referral, sends its Task as requested, and schedules how the loop plays out.
    pub(crate) fn refer(
        &mut self,
        ctx: &Context<'_>,
        encounter: &str,
        at: Instant,
        out: &mut Vec<Value>,
    ) {
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
        match self.rng.weighted(&[0.55, 0.15, 0.12, 0.09, 0.09]) {
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
