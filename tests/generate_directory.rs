//! Who pays and where care happens: Coverage per patient record, the directory's payers,
//! Locations and PractitionerRoles, encounters placed at Locations, and lab DiagnosticReports.

use std::collections::{HashMap, HashSet};

use hearth::generate::{Config, PatientOutput, Population, Source};
use serde_json::Value;

fn population(seed: u64, patients: u64) -> Population {
    match Population::new(Config {
        patients,
        seed,
        ..Config::default()
    }) {
        Ok(population) => population,
        Err(error) => panic!("valid configuration rejected: {error}"),
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn key(resource: &Value) -> String {
    format!(
        "{}/{}",
        str_at(resource, "/resourceType"),
        str_at(resource, "/id")
    )
}

fn of_type<'a>(outputs: &'a [PatientOutput], resource_type: &'a str) -> Vec<&'a Value> {
    outputs
        .iter()
        .flat_map(PatientOutput::latest_resources)
        .filter(|r| str_at(r, "/resourceType") == resource_type)
        .collect()
}

#[test]
fn every_patient_record_has_coverage_paid_by_a_directory_payer_or_themselves() {
    let pop = population(51, 150);
    let payers: HashMap<String, &Value> = pop
        .directory_resources()
        .filter(|r| str_at(r, "/type/0/coding/0/code") == "pay")
        .map(|r| (key(r), r))
        .collect();
    assert_eq!(payers.len(), 4);
    let all: Vec<PatientOutput> = pop.patients().collect();
    let coverages = of_type(&all, "Coverage");
    let mut covered: HashSet<&str> = HashSet::new();
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for coverage in &coverages {
        let beneficiary = str_at(coverage, "/beneficiary/reference");
        let payor = str_at(coverage, "/payor/0/reference");
        let kind = str_at(coverage, "/type/coding/0/code");
        assert_eq!(
            str_at(coverage, "/type/coding/0/system"),
            "https://nahdo.org/sopt"
        );
        if kind == "81" {
            assert_eq!(payor, beneficiary, "self-pay is paid by the patient");
        } else {
            assert!(
                payers.contains_key(payor),
                "{payor} is not a directory payer"
            );
        }
        let start = str_at(coverage, "/period/start");
        let end = str_at(coverage, "/period/end");
        assert_eq!(start.len(), 10);
        assert!(end.is_empty() || start <= end, "{start}..{end}");
        covered.insert(beneficiary);
        *kinds.entry(kind).or_default() += 1;
    }
    // Every record whose source saw the person after their coverage began holds a Coverage.
    let patients = of_type(&all, "Patient");
    assert!(
        covered.len() * 10 >= patients.len() * 9,
        "{} of {} records covered",
        covered.len(),
        patients.len()
    );
    for kind in ["1", "2", "81"] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind}: {kinds:?}"
        );
    }
    assert!(kinds.get("5").copied().unwrap_or(0) + kinds.get("6").copied().unwrap_or(0) > 20);
}

#[test]
fn encounters_happen_at_locations_of_their_service_provider() {
    let pop = population(52, 100);
    let directory: HashMap<String, &Value> =
        pop.directory_resources().map(|r| (key(r), r)).collect();
    let practitioners: Vec<&&Value> = directory
        .values()
        .filter(|r| str_at(r, "/resourceType") == "Practitioner")
        .collect();
    let roles: Vec<&&Value> = directory
        .values()
        .filter(|r| str_at(r, "/resourceType") == "PractitionerRole")
        .collect();
    assert_eq!(roles.len(), practitioners.len());
    for role in &roles {
        for field in [
            "/practitioner/reference",
            "/organization/reference",
            "/location/0/reference",
        ] {
            assert!(
                directory.contains_key(str_at(role, field)),
                "{field} dangles"
            );
        }
        assert!(!str_at(role, "/specialty/0/coding/0/code").is_empty());
    }

    let all: Vec<PatientOutput> = pop.patients().collect();
    let mut places: HashMap<&str, usize> = HashMap::new();
    for encounter in of_type(&all, "Encounter") {
        let provider = str_at(encounter, "/serviceProvider/reference");
        assert!(directory.contains_key(provider));
        if str_at(encounter, "/class/code") == "HH" {
            continue;
        }
        let location = str_at(encounter, "/location/0/location/reference");
        let Some(place) = directory.get(location) else {
            panic!("encounter at unknown location {location:?}");
        };
        assert_eq!(str_at(place, "/managingOrganization/reference"), provider);
        *places
            .entry(str_at(place, "/type/0/coding/0/code"))
            .or_default() += 1;
    }
    for kind in ["FMC", "ER", "HU", "OF"] {
        assert!(
            places.get(kind).copied().unwrap_or(0) > 0,
            "no {kind}: {places:?}"
        );
    }
}

#[test]
fn lab_reports_hold_the_laboratory_results_of_their_patient() {
    let pop = population(53, 150);
    let all: Vec<PatientOutput> = pop.patients().collect();
    let observations: HashMap<String, &Value> = of_type(&all, "Observation")
        .into_iter()
        .map(|o| (key(o), o))
        .collect();
    let reports = of_type(&all, "DiagnosticReport");
    assert!(reports.len() > 20, "{} reports", reports.len());
    let mut results = 0;
    for report in reports {
        assert_eq!(str_at(report, "/category/0/coding/0/code"), "LAB");
        let items = report["result"].as_array().cloned().unwrap_or_default();
        assert!(!items.is_empty());
        for item in items {
            let reference = str_at(&item, "/reference");
            let Some(observation) = observations.get(reference) else {
                panic!("report result {reference} is not a generated Observation");
            };
            assert_eq!(
                str_at(observation, "/category/0/coding/0/code"),
                "laboratory"
            );
            assert_eq!(
                str_at(observation, "/subject/reference"),
                str_at(report, "/subject/reference")
            );
            results += 1;
        }
    }
    assert!(results > 20);
}

/// Every dateTime string (with a time part) anywhere in a resource.
fn times(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) if text.len() == 25 && text.as_bytes().get(10) == Some(&b'T') => {
            found.push(text.clone());
        }
        Value::Object(object) => object.values().for_each(|v| times(v, found)),
        Value::Array(items) => items.iter().for_each(|v| times(v, found)),
        _ => {}
    }
}

#[test]
fn times_carry_each_source_systems_local_offset() {
    let pop = population(54, 60);
    let mut offsets: HashMap<(Source, String), usize> = HashMap::new();
    for output in pop.patients() {
        for batch in &output.batches {
            let mut found = Vec::new();
            batch.resources.iter().for_each(|r| times(r, &mut found));
            for time in found {
                assert!(
                    time::OffsetDateTime::parse(
                        &time,
                        &time::format_description::well_known::Rfc3339
                    )
                    .is_ok(),
                    "{time}"
                );
                *offsets
                    .entry((batch.source, time[19..].to_owned()))
                    .or_default() += 1;
            }
        }
    }
    let allowed = |source: Source| match source {
        Source::Specialty => ["-06:00", "-05:00"],
        _ => ["-05:00", "-04:00"],
    };
    for (source, offset) in offsets.keys() {
        assert!(
            allowed(*source).contains(&offset.as_str()),
            "{source:?} wrote {offset}"
        );
    }
    // Standard and daylight time both occur for every source.
    for source in Source::ALL {
        for offset in allowed(source) {
            assert!(
                offsets.contains_key(&(source, offset.to_owned())),
                "{source:?} never {offset}"
            );
        }
    }
}
