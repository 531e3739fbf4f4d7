//! The generator's life events: deaths, and the hospice, palliative, frailty, renal, pregnancy
//! and mastectomy events the eCQMs exclude people for, at their configured rates.

use std::collections::HashMap;

use hearth::generate::{Config, EventRates, PatientOutput, Population, Source};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn outputs(config: Config) -> Vec<PatientOutput> {
    match Population::new(config) {
        Ok(population) => population.patients().collect(),
        Err(error) => panic!("valid configuration rejected: {error}"),
    }
}

fn no_events() -> EventRates {
    EventRates {
        hospice: 0.0,
        palliative: 0.0,
        frailty: 0.0,
        renal: 0.0,
        pregnancy: 0.0,
        mastectomy: 0.0,
        mortality: 0.0,
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn instant(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Every resource a source sent about the person, in sending order.
fn sent(output: &PatientOutput, source: Source) -> impl Iterator<Item = &Value> {
    output
        .batches
        .iter()
        .filter(move |b| b.source == source)
        .flat_map(|b| b.resources.iter())
}

fn of_type<'a>(output: &'a PatientOutput, resource_type: &'a str) -> Vec<&'a Value> {
    output
        .latest_resources()
        .into_iter()
        .filter(|r| str_at(r, "/resourceType") == resource_type)
        .collect()
}

fn codes(resource: &Value, pointer: &str) -> Vec<String> {
    resource
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|codings| {
            codings
                .iter()
                .map(|c| str_at(c, "/code").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Age in whole years on 2025-12-31, the end of the default simulation.
fn age_at_end(output: &PatientOutput) -> i64 {
    let patient = sent(output, Source::Clinic)
        .next()
        .unwrap_or_else(|| panic!("person {} has no medical-home record", output.index));
    let birth = str_at(patient, "/birthDate");
    let year: i64 = birth[..4].parse().unwrap_or(0);
    let after_birthday = &birth[5..] <= "12-31";
    2025 - year - i64::from(!after_birthday)
}

#[test]
fn the_dead_have_nothing_after_their_death() {
    let all = outputs(Config {
        patients: 300,
        seed: 41,
        ..Config::default()
    });
    let mut deaths = 0;
    for output in &all {
        let deceased: Vec<&Value> = of_type(output, "Patient")
            .into_iter()
            .filter(|p| p.get("deceasedDateTime").is_some())
            .collect();
        let Some(first) = deceased.first() else {
            continue;
        };
        deaths += 1;
        let died = instant(str_at(first, "/deceasedDateTime"));
        // Every source that records the death records the same moment, the medical home always.
        for patient in &deceased {
            assert_eq!(instant(str_at(patient, "/deceasedDateTime")), died);
        }
        assert!(deceased
            .iter()
            .any(|p| sent(output, Source::Clinic).any(|c| c["id"] == p["id"])));
        for encounter in of_type(output, "Encounter") {
            let end = instant(str_at(encounter, "/period/end"));
            assert!(end <= died, "encounter ends {end} after death {died}");
        }
        for observation in of_type(output, "Observation") {
            let at = instant(str_at(observation, "/effectiveDateTime"));
            assert!(at <= died, "observation at {at} after death {died}");
        }
        // The death notice is the last thing sent: the Patient (with any Coverage the source
        // records with it), nothing clinical.
        let last = output
            .batches
            .last()
            .map(|b| b.resources.as_slice())
            .unwrap_or(&[]);
        assert_eq!(str_at(&last[0], "/resourceType"), "Patient");
        assert!(last
            .iter()
            .skip(1)
            .all(|r| str_at(r, "/resourceType") == "Coverage"));
    }
    // A panel of 300 over five years, a fifth of it over 65: a few deaths, not a massacre.
    assert!((5..=45).contains(&deaths), "{deaths} deaths");

    let immortal = outputs(Config {
        patients: 100,
        seed: 41,
        events: no_events(),
        ..Config::default()
    });
    let dead = immortal
        .iter()
        .flat_map(|o| of_type(o, "Patient"))
        .filter(|p| p.get("deceasedDateTime").is_some())
        .count();
    assert_eq!(dead, 0);
}

/// Share of eligible persons whose medical-home encounters include one of `types`.
fn share_with_encounter(
    all: &[PatientOutput],
    eligible: impl Fn(&PatientOutput) -> bool,
    types: &[&str],
) -> (usize, f64) {
    let eligible: Vec<&PatientOutput> = all.iter().filter(|o| eligible(o)).collect();
    let with = eligible
        .iter()
        .filter(|o| {
            sent(o, Source::Clinic)
                .filter(|r| str_at(r, "/resourceType") == "Encounter")
                .any(|e| {
                    codes(e, "/type/0/coding")
                        .iter()
                        .any(|c| types.contains(&c.as_str()))
                })
        })
        .count();
    (eligible.len(), with as f64 / eligible.len().max(1) as f64)
}

#[test]
fn end_of_life_care_happens_at_the_configured_rate_among_the_old() {
    let all = outputs(Config {
        patients: 400,
        seed: 42,
        events: EventRates {
            hospice: 0.5,
            palliative: 0.3,
            ..no_events()
        },
        ..Config::default()
    });
    let old = |o: &PatientOutput| age_at_end(o) >= 65;
    let (eligible, hospice) = share_with_encounter(&all, old, &["183920000"]);
    assert!(eligible > 40, "only {eligible} persons 65 or older");
    assert!((0.38..=0.62).contains(&hospice), "hospice share {hospice}");
    let (_, palliative) = share_with_encounter(&all, old, &["713281006"]);
    assert!(
        (0.2..=0.4).contains(&palliative),
        "palliative share {palliative}"
    );
    let young = |o: &PatientOutput| age_at_end(o) < 65;
    let (_, none) = share_with_encounter(&all, young, &["183920000", "713281006"]);
    assert_eq!(none, 0.0);

    let off = outputs(Config {
        patients: 200,
        seed: 42,
        events: no_events(),
        ..Config::default()
    });
    let (_, none) = share_with_encounter(&off, old, &["183920000", "713281006"]);
    assert_eq!(none, 0.0);
}

/// Problem-list codes the medical home recorded for a person, with their onsets.
fn clinic_conditions(output: &PatientOutput) -> HashMap<String, OffsetDateTime> {
    sent(output, Source::Clinic)
        .filter(|r| str_at(r, "/resourceType") == "Condition")
        .flat_map(|c| {
            let onset = instant(str_at(c, "/onsetDateTime"));
            codes(c, "/code/coding")
                .into_iter()
                .map(move |code| (code, onset))
        })
        .collect()
}

#[test]
fn exclusion_diagnoses_reach_the_medical_home_record() {
    let all = outputs(Config {
        patients: 300,
        seed: 43,
        events: EventRates {
            frailty: 0.6,
            renal: 0.6,
            pregnancy: 0.6,
            mastectomy: 0.6,
            ..no_events()
        },
        ..Config::default()
    });
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut mammograms_after_removal = 0;
    for output in &all {
        let conditions = clinic_conditions(output);
        let age = age_at_end(output);
        let female = sent(output, Source::Clinic)
            .next()
            .is_some_and(|p| str_at(p, "/gender") == "female");
        for (code, label) in [
            ("Z99.3", "frailty"),
            ("N18.6", "renal"),
            ("Z34.90", "pregnancy"),
            ("Z90.13", "bilateral mastectomy"),
            ("Z90.12", "left mastectomy"),
            ("Z90.11", "right mastectomy"),
        ] {
            if conditions.contains_key(code) {
                *seen.entry(label).or_default() += 1;
            }
        }
        if conditions.contains_key("Z99.3") {
            assert!(age >= 66, "frailty recorded at {age}");
        }
        if conditions.contains_key("Z34.90") {
            assert!(female && (18..=44).contains(&age), "pregnancy at {age}");
        }
        // Once both breasts are gone, no more screening mammograms.
        let both_gone = conditions.get("Z90.13").copied().or_else(|| {
            match (conditions.get("Z90.12"), conditions.get("Z90.11")) {
                (Some(left), Some(right)) => Some(*left.max(right)),
                _ => None,
            }
        });
        if let Some(gone) = both_gone {
            assert!(female && age >= 40);
            mammograms_after_removal += of_type(output, "Observation")
                .into_iter()
                .filter(|o| str_at(o, "/code/coding/0/code") == "24606-6")
                .filter(|o| instant(str_at(o, "/effectiveDateTime")) > gone)
                .count();
        }
    }
    assert_eq!(mammograms_after_removal, 0);
    for label in [
        "frailty",
        "renal",
        "pregnancy",
        "bilateral mastectomy",
        "left mastectomy",
        "right mastectomy",
    ] {
        assert!(
            seen.get(label).copied().unwrap_or(0) >= 2,
            "{label}: {seen:?}"
        );
    }
    // Dialysis and surgery are the hospital's; the transplant ends the dialysis.
    let hospital_procedures: Vec<String> = all
        .iter()
        .flat_map(|o| sent(o, Source::Hospital))
        .filter(|r| str_at(r, "/resourceType") == "Procedure")
        .flat_map(|p| codes(p, "/code/coding"))
        .collect();
    for code in ["302497006", "70536003", "22418005"] {
        assert!(
            hospital_procedures.iter().any(|c| c == code),
            "no hospital procedure {code}"
        );
    }
}
