//! The synthetic population generator: determinism, FHIR shape, transaction Bundles,
//! references, ground truth, and the clinical content the eCQMs need.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use hearth::generate::{write, Config, Format, PatientOutput, Population, Source};
use serde_json::Value;

fn population(seed: u64, patients: u64) -> Population {
    let config = Config {
        patients,
        seed,
        ..Config::default()
    };
    match Population::new(config) {
        Ok(population) => population,
        Err(error) => panic!("valid configuration rejected: {error}"),
    }
}

fn outputs(population: &Population) -> Vec<PatientOutput> {
    population.patients().collect()
}

fn serialized(population: &Population) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(&population.directory_bundle()).unwrap_or_default();
    for output in population.patients() {
        for bundle in output.bundles() {
            bytes.extend(serde_json::to_vec(&bundle).unwrap_or_default());
        }
    }
    bytes
}

/// A fresh scratch directory under the system temp dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("hearth-generate-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON line: {e}")))
        .collect()
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Every resource type R4 defines, from the official schema shipped in fhir-profiles/.
fn r4_resource_types() -> HashSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fhir-profiles/fhir.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{} unreadable: {e}", path.display()));
    schema
        .pointer("/discriminator/mapping")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// FHIR date (YYYY-MM-DD) or dateTime with seconds and a zone, and a real calendar day.
fn valid_fhir_date(text: &str) -> bool {
    let date = time::macros::format_description!("[year]-[month]-[day]");
    if text.len() == 10 {
        return time::Date::parse(text, &date).is_ok();
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
}

const DATE_FIELDS: &[&str] = &[
    "birthDate",
    "start",
    "end",
    "onsetDateTime",
    "recordedDate",
    "abatementDateTime",
    "effectiveDateTime",
    "issued",
    "authoredOn",
    "occurrenceDateTime",
    "lastModified",
    "date",
    "startDate",
    "dueDate",
    "created",
    "creation",
];

fn check_dates(value: &Value, problems: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (name, child) in object {
                if let (true, Some(text)) = (DATE_FIELDS.contains(&name.as_str()), child.as_str()) {
                    if !valid_fhir_date(text) {
                        problems.push(format!("{name}: {text}"));
                    }
                }
                check_dates(child, problems);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| check_dates(item, problems)),
        _ => {}
    }
}

fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (name, child) in object {
                match (name.as_str(), child.as_str()) {
                    ("reference", Some(reference)) => found.push(reference.to_owned()),
                    _ => references(child, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

/// Elements R4 (or the measures reading them) require, per resource type.
fn required(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "Observation" => &["status", "code", "subject"],
        "Encounter" => &["status", "class", "subject", "period"],
        "Condition" => &["subject", "code", "clinicalStatus", "verificationStatus"],
        "MedicationRequest" => &["status", "intent", "subject", "medicationCodeableConcept"],
        "Immunization" => &["status", "vaccineCode", "patient", "occurrenceDateTime"],
        "Procedure" => &["status", "subject", "code"],
        "ServiceRequest" => &["status", "intent", "subject", "code", "authoredOn"],
        "Task" => &["status", "intent", "for", "basedOn"],
        "CarePlan" => &["status", "intent", "subject"],
        "Goal" => &["lifecycleStatus", "description", "subject"],
        "CareTeam" => &["subject", "participant"],
        "DocumentReference" => &["status", "content", "subject"],
        "Patient" => &["identifier", "name", "gender", "birthDate"],
        "Practitioner" => &["identifier", "name"],
        "Organization" => &["name"],
        "Coverage" => &["status", "beneficiary", "payor"],
        "DiagnosticReport" => &["status", "code", "subject", "result"],
        "DeviceRequest" => &["status", "intent", "subject", "codeCodeableConcept"],
        "Location" => &["status", "name", "managingOrganization"],
        "PractitionerRole" => &["practitioner", "organization"],
        _ => &[],
    }
}

fn check_resource(resource: &Value, types: &HashSet<String>, problems: &mut Vec<String>) {
    let resource_type = str_at(resource, "/resourceType");
    if !types.contains(resource_type) {
        problems.push(format!("unknown resourceType {resource_type:?}"));
    }
    if !valid_id(str_at(resource, "/id")) {
        problems.push(format!("{resource_type} has invalid id"));
    }
    for element in required(resource_type) {
        if resource.get(*element).is_none() {
            problems.push(format!("{resource_type} lacks {element}"));
        }
    }
    check_dates(resource, problems);
}

#[test]
fn same_seed_gives_identical_output_and_another_seed_does_not() {
    let first = serialized(&population(42, 25));
    let second = serialized(&population(42, 25));
    let other = serialized(&population(43, 25));
    assert!(!first.is_empty());
    assert_eq!(first, second);
    assert_ne!(first, other);
}

#[test]
fn a_person_does_not_depend_on_population_size_or_order() {
    let small = population(9, 10);
    let large = population(9, 500);
    let a =
        serde_json::to_string(&small.patient(7).bundles().collect::<Vec<_>>()).unwrap_or_default();
    let b =
        serde_json::to_string(&large.patient(7).bundles().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(a, b);
    let c =
        serde_json::to_string(&large.patient(8).bundles().collect::<Vec<_>>()).unwrap_or_default();
    assert_ne!(a, c);
}

#[test]
fn written_files_are_byte_identical_across_runs() {
    let one = Scratch::new("det-1");
    let two = Scratch::new("det-2");
    let pop = population(5, 30);
    for (dir, format) in [(&one, Format::Bundles), (&two, Format::Bundles)] {
        if let Err(e) = write(&pop, &dir.0, format) {
            panic!("write failed: {e}");
        }
    }
    for name in ["bundles.ndjson", "ground-truth.ndjson"] {
        let a = std::fs::read(one.0.join(name)).unwrap_or_default();
        let b = std::fs::read(two.0.join(name)).unwrap_or_default();
        assert!(!a.is_empty(), "{name} empty");
        assert_eq!(a, b, "{name} differs between runs");
    }
}

#[test]
fn every_bundle_is_a_well_formed_transaction_of_valid_resources() {
    let types = r4_resource_types();
    assert!(types.len() > 140, "R4 schema's resource list not found");
    let pop = population(11, 60);
    let mut bundles = vec![pop.directory_bundle()];
    for output in outputs(&pop) {
        assert!(
            !output.batches.is_empty(),
            "person {} has no records",
            output.index
        );
        bundles.extend(output.bundles());
    }
    let mut problems = Vec::new();
    for bundle in &bundles {
        assert_eq!(str_at(bundle, "/resourceType"), "Bundle");
        assert_eq!(str_at(bundle, "/type"), "transaction");
        let entries = bundle
            .get("entry")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert!(!entries.is_empty());
        let mut full_urls = HashSet::new();
        for entry in &entries {
            let resource = entry.get("resource").cloned().unwrap_or(Value::Null);
            check_resource(&resource, &types, &mut problems);
            let (rtype, id) = (str_at(&resource, "/resourceType"), str_at(&resource, "/id"));
            assert_eq!(str_at(entry, "/request/method"), "PUT");
            assert_eq!(str_at(entry, "/request/url"), format!("{rtype}/{id}"));
            assert_eq!(str_at(entry, "/fullUrl"), format!("urn:uuid:{id}"));
            assert!(
                full_urls.insert(str_at(entry, "/fullUrl").to_owned()),
                "duplicate fullUrl"
            );
        }
        // Every urn:uuid reference points at an entry of the same Bundle.
        let mut refs = Vec::new();
        references(bundle, &mut refs);
        for reference in refs.iter().filter(|r| r.starts_with("urn:uuid:")) {
            assert!(full_urls.contains(reference), "dangling {reference}");
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems, e.g. {:?}",
        problems.len(),
        &problems[..problems.len().min(10)]
    );
}

#[test]
fn relative_references_point_at_resources_already_sent() {
    let pop = population(12, 60);
    let mut sent: HashSet<String> = pop
        .directory_resources()
        .map(|r| format!("{}/{}", str_at(r, "/resourceType"), str_at(r, "/id")))
        .collect();
    let mut relative = 0;
    for output in outputs(&pop) {
        for bundle in output.bundles() {
            let entries = bundle
                .get("entry")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for entry in &entries {
                sent.insert(str_at(entry, "/request/url").to_owned());
            }
            let mut refs = Vec::new();
            references(&bundle, &mut refs);
            for reference in refs.iter().filter(|r| !r.starts_with("urn:uuid:")) {
                relative += 1;
                assert!(
                    sent.contains(reference),
                    "{reference} not sent before it is referenced"
                );
            }
        }
    }
    assert!(
        relative > 100,
        "expected cross-bundle references, saw {relative}"
    );
}

#[test]
fn ground_truth_matches_the_patient_records_written() {
    let dir = Scratch::new("truth");
    let pop = population(21, 120);
    if let Err(e) = write(&pop, &dir.0, Format::Bundles) {
        panic!("write failed: {e}");
    }
    let mut patients: HashMap<String, Value> = HashMap::new();
    for bundle in read_lines(&dir.0.join("bundles.ndjson")) {
        for entry in bundle
            .get("entry")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            if str_at(&entry, "/resource/resourceType") == "Patient" {
                patients.insert(
                    str_at(&entry, "/request/url").to_owned(),
                    entry["resource"].clone(),
                );
            }
        }
    }
    let truth = read_lines(&dir.0.join("ground-truth.ndjson"));
    assert_eq!(truth.len(), 120);
    let mut claimed = HashSet::new();
    let (mut multi, mut variations) = (0, 0);
    for person in &truth {
        let records = person["records"].as_array().cloned().unwrap_or_default();
        assert!(!records.is_empty());
        multi += usize::from(records.len() > 1);
        let sources: HashSet<&str> = records.iter().map(|r| str_at(r, "/source")).collect();
        assert_eq!(sources.len(), records.len(), "one record per source");
        let clinic = records
            .iter()
            .find(|r| str_at(r, "/source") == "clinic")
            .and_then(|r| patients.get(str_at(r, "/patient")));
        for record in &records {
            let reference = str_at(record, "/patient");
            assert!(
                claimed.insert(reference.to_owned()),
                "{reference} in two persons"
            );
            let Some(patient) = patients.get(reference) else {
                panic!("{reference} in ground truth but never sent");
            };
            assert_eq!(
                str_at(patient, "/identifier/0/system"),
                str_at(record, "/identifierSystem")
            );
            assert_eq!(
                str_at(patient, "/identifier/0/value"),
                str_at(record, "/mrn")
            );
            let Some(clinic) = clinic else { continue };
            for variation in record["variations"].as_array().cloned().unwrap_or_default() {
                variations += 1;
                let differs = |pointer: &str| str_at(patient, pointer) != str_at(clinic, pointer);
                match variation.as_str().unwrap_or("") {
                    "nickname" => assert!(differs("/name/0/given/0")),
                    "typo" => assert!(differs("/name/0/family")),
                    "missing-phone" => assert!(patient.get("telecom").is_none()),
                    "old-address" => assert!(differs("/address/0/line/0")),
                    other => panic!("unknown variation {other}"),
                }
            }
            // No variation: the record matches the medical home's on name and birth date.
            if record["variations"].as_array().is_some_and(Vec::is_empty) {
                assert_eq!(
                    str_at(patient, "/name/0/family"),
                    str_at(clinic, "/name/0/family")
                );
            }
            assert_eq!(str_at(patient, "/birthDate"), str_at(clinic, "/birthDate"));
        }
    }
    assert_eq!(
        claimed.len(),
        patients.len(),
        "every Patient sent is in the ground truth"
    );
    assert!(
        multi > 30,
        "expected many persons in several sources, saw {multi}"
    );
    assert!(
        variations > 20,
        "expected feed variations, saw {variations}"
    );
}

#[test]
fn ndjson_holds_each_resource_once_in_its_final_state() {
    let dir = Scratch::new("ndjson");
    let pop = population(31, 80);
    let summary = match write(&pop, &dir.0, Format::Ndjson) {
        Ok(summary) => summary,
        Err(e) => panic!("write failed: {e}"),
    };
    let mut all: HashSet<String> = HashSet::new();
    let mut lines = 0;
    let mut task_states = HashSet::new();
    let mut refs = Vec::new();
    for entry in std::fs::read_dir(&dir.0).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name == "ground-truth.ndjson" {
            continue;
        }
        let resource_type = name.trim_end_matches(".ndjson");
        for resource in read_lines(&entry.path()) {
            lines += 1;
            assert_eq!(str_at(&resource, "/resourceType"), resource_type);
            assert!(
                all.insert(format!("{resource_type}/{}", str_at(&resource, "/id"))),
                "duplicate in {name}"
            );
            if resource_type == "Task" {
                task_states.insert(str_at(&resource, "/status").to_owned());
            }
            references(&resource, &mut refs);
        }
    }
    assert_eq!(lines, summary.resources);
    for reference in &refs {
        assert!(
            all.contains(reference),
            "NDJSON reference {reference} unresolved"
        );
    }
    assert!(task_states.contains("completed"), "{task_states:?}");
    assert!(
        task_states.len() >= 3,
        "Tasks should end in several states: {task_states:?}"
    );
}

/// Resources of one type across a population (final versions).
fn latest_of<'a>(outputs: &'a [PatientOutput], resource_type: &str) -> Vec<&'a Value> {
    outputs
        .iter()
        .flat_map(PatientOutput::latest_resources)
        .filter(|r| str_at(r, "/resourceType") == resource_type)
        .collect()
}

fn has_code(value: &Value, pointer: &str, code: &str) -> bool {
    value
        .pointer(pointer)
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .is_some_and(|codings| codings.iter().any(|c| str_at(c, "/code") == code))
}

#[test]
fn blood_pressure_panels_split_hypertensives_into_controlled_and_not() {
    let pop = population(41, 300);
    let all = outputs(&pop);
    let hypertensive: HashSet<&str> = latest_of(&all, "Condition")
        .into_iter()
        .filter(|c| has_code(c, "/code", "I10") && has_code(c, "/code", "59621000"))
        .map(|c| str_at(c, "/subject/reference"))
        .collect();
    assert!(
        hypertensive.len() > 30,
        "hypertensive patients: {}",
        hypertensive.len()
    );
    // Latest 2025 reading per hypertensive patient, as CMS165 looks at it.
    let mut latest: HashMap<&str, (&str, i64, i64)> = HashMap::new();
    for obs in latest_of(&all, "Observation") {
        if !has_code(obs, "/code", "85354-9") {
            continue;
        }
        let components = obs["component"].as_array().cloned().unwrap_or_default();
        assert_eq!(components.len(), 2);
        assert!(has_code(&components[0], "/code", "8480-6"));
        assert!(has_code(&components[1], "/code", "8462-4"));
        assert_eq!(str_at(&components[0], "/valueQuantity/code"), "mm[Hg]");
        let subject = str_at(obs, "/subject/reference");
        let when = str_at(obs, "/effectiveDateTime");
        let systolic = components[0]
            .pointer("/valueQuantity/value")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let diastolic = components[1]
            .pointer("/valueQuantity/value")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        assert!(
            systolic > diastolic && diastolic > 0,
            "{systolic}/{diastolic}"
        );
        if hypertensive.contains(subject) && when.starts_with("2025") {
            let slot = latest.entry(subject).or_insert((when, systolic, diastolic));
            if when > slot.0 {
                *slot = (when, systolic, diastolic);
            }
        }
    }
    let controlled = latest
        .values()
        .filter(|(_, s, d)| *s < 140 && *d < 90)
        .count();
    let uncontrolled = latest.len() - controlled;
    assert!(
        controlled > 5 && uncontrolled > 5,
        "controlled {controlled}, uncontrolled {uncontrolled}"
    );
}

#[test]
fn women_of_screening_age_have_mammograms_some_within_the_cms125_window() {
    let pop = population(51, 300);
    let all = outputs(&pop);
    let mammograms: Vec<&Value> = latest_of(&all, "Observation")
        .into_iter()
        .filter(|o| has_code(o, "/code", "24606-6"))
        .collect();
    assert!(!mammograms.is_empty());
    let female: HashSet<&str> = latest_of(&all, "Patient")
        .into_iter()
        .filter(|p| str_at(p, "/gender") == "female")
        .map(|p| str_at(p, "/id"))
        .collect();
    let mut screened = HashSet::new();
    for m in &mammograms {
        let subject = str_at(m, "/subject/reference").trim_start_matches("Patient/");
        assert!(
            female.contains(subject),
            "mammogram for a non-female patient"
        );
        assert_eq!(str_at(m, "/status"), "final");
        if str_at(m, "/effectiveDateTime") >= "2023-10-01" {
            screened.insert(subject);
        }
    }
    assert!(
        screened.len() > 10,
        "women screened since 2023-10-01: {}",
        screened.len()
    );
}

#[test]
fn referrals_close_the_loop_for_some_and_stay_open_for_others() {
    let pop = population(61, 300);
    let all = outputs(&pop);
    let requests: HashMap<String, &Value> = latest_of(&all, "ServiceRequest")
        .into_iter()
        .map(|r| (format!("ServiceRequest/{}", str_at(r, "/id")), r))
        .collect();
    let notes: HashSet<String> = latest_of(&all, "DocumentReference")
        .into_iter()
        .map(|d| format!("DocumentReference/{}", str_at(d, "/id")))
        .collect();
    let (mut closed, mut open) = (0, 0);
    for task in latest_of(&all, "Task") {
        let based_on = str_at(task, "/basedOn/0/reference");
        let Some(request) = requests.get(based_on) else {
            panic!("Task based on unknown {based_on}");
        };
        assert_eq!(str_at(request, "/intent"), "order");
        assert_eq!(str_at(task, "/intent"), "order");
        match str_at(task, "/status") {
            "completed" => {
                closed += 1;
                assert_eq!(str_at(request, "/status"), "completed");
                assert!(notes.contains(str_at(task, "/output/0/valueReference/reference")));
                assert!(str_at(task, "/executionPeriod/end") > str_at(request, "/authoredOn"));
            }
            "requested" | "accepted" | "in-progress" => {
                open += 1;
                assert_eq!(str_at(request, "/status"), "active");
            }
            "rejected" | "cancelled" => assert_eq!(str_at(request, "/status"), "revoked"),
            other => panic!("unexpected Task status {other}"),
        }
    }
    assert!(closed > 5 && open > 3, "closed {closed}, open {open}");
}

#[test]
fn encounters_cover_ambulatory_emergency_and_inpatient_care() {
    let pop = population(71, 200);
    let all = outputs(&pop);
    let mut classes = HashMap::new();
    for encounter in latest_of(&all, "Encounter") {
        let class = str_at(encounter, "/class/code");
        *classes.entry(class.to_owned()).or_insert(0) += 1;
        assert!(str_at(encounter, "/period/start") < str_at(encounter, "/period/end"));
        if class == "IMP" {
            assert!(!str_at(
                encounter,
                "/hospitalization/dischargeDisposition/coding/0/code"
            )
            .is_empty());
            assert!(!str_at(encounter, "/hospitalization/admitSource/coding/0/code").is_empty());
        }
    }
    for class in ["AMB", "EMER", "IMP"] {
        assert!(
            classes.get(class).copied().unwrap_or(0) > 0,
            "no {class} encounters: {classes:?}"
        );
    }
    let sources: HashSet<Source> = all
        .iter()
        .flat_map(|o| o.batches.iter().map(|b| b.source))
        .collect();
    assert_eq!(sources.len(), 3);
}

/// Admissions that are readmissions (per the hospital's reason) and the gap to the previous
/// discharge of the same patient, in days.
fn readmission_gaps(readmission_rate: f64) -> (usize, Vec<i64>) {
    let pop = match Population::new(Config {
        patients: 200,
        seed: 81,
        readmission_rate,
        ..Config::default()
    }) {
        Ok(pop) => pop,
        Err(e) => panic!("{e}"),
    };
    let all = outputs(&pop);
    let format = time::format_description::well_known::Rfc3339;
    let parse = |text: &str| time::OffsetDateTime::parse(text, &format).ok();
    let mut stays: HashMap<&str, Vec<(time::OffsetDateTime, time::OffsetDateTime, bool)>> =
        HashMap::new();
    for encounter in latest_of(&all, "Encounter") {
        if str_at(encounter, "/class/code") != "IMP" {
            continue;
        }
        let readmission = encounter["reasonCode"].as_array().is_some_and(|r| {
            r.iter()
                .any(|c| str_at(c, "/text").starts_with("Readmission"))
        });
        if let (Some(start), Some(end)) = (
            parse(str_at(encounter, "/period/start")),
            parse(str_at(encounter, "/period/end")),
        ) {
            stays
                .entry(str_at(encounter, "/subject/reference"))
                .or_default()
                .push((start, end, readmission));
        }
    }
    let mut gaps = Vec::new();
    let mut count = 0;
    for list in stays.values_mut() {
        list.sort();
        for pair in list.windows(2) {
            if pair[1].2 {
                gaps.push((pair[1].0 - pair[0].1).whole_days());
            }
        }
        count += list.iter().filter(|s| s.2).count();
    }
    (count, gaps)
}

#[test]
fn readmissions_follow_the_configured_rate_within_thirty_days() {
    let (none, _) = readmission_gaps(0.0);
    assert_eq!(none, 0);
    let (some, gaps) = readmission_gaps(0.9);
    assert!(some > 5, "readmissions at rate 0.9: {some}");
    // A readmission may follow a stay that began after the window ends, but never precedes one.
    assert!(gaps.iter().all(|g| (0..=31).contains(g)), "gaps {gaps:?}");
}

#[test]
fn invalid_configurations_are_rejected() {
    for config in [
        Config {
            years: 0,
            ..Config::default()
        },
        Config {
            years: 31,
            ..Config::default()
        },
        Config {
            end_year: 1800,
            ..Config::default()
        },
        Config {
            readmission_rate: 1.5,
            ..Config::default()
        },
        Config {
            readmission_rate: f64::NAN,
            ..Config::default()
        },
    ] {
        assert!(Population::new(config).is_err());
    }
}

/// A stand-in FHIR server that records every transaction it receives, or refuses them all.
async fn spawn_sink(refuse: bool) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::{extract::State, http::StatusCode, routing::post, Json, Router};
    type Seen = std::sync::Arc<std::sync::Mutex<Vec<Value>>>;
    let seen: Seen = Default::default();
    let app = Router::new()
        .route(
            "/fhir",
            post(
                move |State(seen): State<Seen>, Json(bundle): Json<Value>| async move {
                    if let Ok(mut seen) = seen.lock() {
                        seen.push(bundle);
                    }
                    if refuse {
                        StatusCode::UNPROCESSABLE_ENTITY
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(e) => panic!("bind: {e}"),
    };
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}/fhir/"), seen)
}

#[tokio::test]
async fn load_posts_the_directory_then_every_bundle_of_every_person() {
    let (url, seen) = spawn_sink(false).await;
    let pop = population(91, 12);
    let expected: usize = outputs(&pop).iter().map(|o| o.batches.len()).sum::<usize>() + 1;
    let client = reqwest::Client::new();
    let summary = match hearth::generate::load(&pop, &client, &url, 4).await {
        Ok(summary) => summary,
        Err(e) => panic!("load failed: {e}"),
    };
    assert_eq!(summary.persons, 12);
    assert_eq!(summary.bundles as usize, expected);
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(seen.len(), expected);
    assert_eq!(seen[0], pop.directory_bundle(), "directory goes first");
    // Within one person, Bundles arrive in sending order whatever the concurrency.
    let mut by_person: HashMap<String, Vec<Value>> = HashMap::new();
    let first_patient = |b: &Value| str_at(b, "/entry/0/resource/id").to_owned();
    for bundle in &seen[1..] {
        by_person
            .entry(first_patient(bundle))
            .or_default()
            .push(bundle.clone());
    }
    for output in outputs(&pop) {
        let mut sent: HashMap<String, Vec<Value>> = HashMap::new();
        for bundle in output.bundles() {
            sent.entry(first_patient(&bundle)).or_default().push(bundle);
        }
        for (patient, bundles) in sent {
            assert_eq!(by_person.get(&patient), Some(&bundles));
        }
    }
}

#[tokio::test]
async fn load_stops_when_the_server_refuses_a_transaction() {
    let (url, seen) = spawn_sink(true).await;
    let pop = population(92, 50);
    let client = reqwest::Client::new();
    match hearth::generate::load(&pop, &client, &url, 2).await {
        Err(hearth::generate::GenerateError::Rejected { status }) => assert_eq!(status, 422),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(
        seen.lock().map(|s| s.len()).unwrap_or(0),
        1,
        "nothing after the refused directory"
    );
}

/// The official schema with its root narrowed: `anyOf` the given resource types, so a valid
/// resource stops at its own definition (the root's `oneOf` over all 146 types is very slow).
fn schema_validator(types: &[&str]) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fhir-profiles/fhir.schema.json");
    let mut schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{} unreadable: {e}", path.display()));
    let refs: Vec<Value> = types
        .iter()
        .map(|t| serde_json::json!({"$ref": format!("#/definitions/{t}")}))
        .collect();
    if let Some(root) = schema.as_object_mut() {
        root.remove("discriminator");
        root.remove("oneOf");
        root.insert("anyOf".into(), Value::Array(refs));
    }
    jsonschema::draft6::new(&schema).unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

#[test]
fn resources_validate_against_the_official_r4_schema() {
    let pop = population(101, 6);
    let resources: Vec<Value> = pop
        .directory_resources()
        .cloned()
        .chain(
            outputs(&pop)
                .iter()
                .flat_map(|o| o.batches.iter().flat_map(|b| b.resources.clone())),
        )
        .collect();
    let mut types: Vec<&str> = resources
        .iter()
        .map(|r| str_at(r, "/resourceType"))
        .collect();
    types.sort_unstable();
    types.dedup();
    assert!(types.len() >= 12, "{types:?}");
    let validator = schema_validator(&types);
    for resource in &resources {
        if !validator.is_valid(resource) {
            // Re-check against the one type for readable errors.
            let resource_type = str_at(resource, "/resourceType");
            let errors: Vec<String> = schema_validator(&[resource_type])
                .iter_errors(resource)
                .take(5)
                .map(|e| format!("{} at {}", e, e.instance_path))
                .collect();
            panic!("{resource_type} invalid: {errors:?}");
        }
    }
}

#[test]
fn streamed_bundles_are_byte_identical_to_built_ones() {
    let pop = population(111, 20);
    let mut batches = 0;
    for output in outputs(&pop) {
        for batch in &output.batches {
            let mut streamed = Vec::new();
            if let Err(e) = batch.write_bundle(&mut streamed) {
                panic!("{e}");
            }
            let built = serde_json::to_vec(&batch.to_bundle()).unwrap_or_default();
            assert_eq!(streamed, built);
            batches += 1;
        }
    }
    assert!(batches > 20);
}

#[test]
fn the_medical_home_re_records_hospital_diagnoses_after_discharge() {
    let pop = population(121, 200);
    let mut duplicated = 0;
    for output in outputs(&pop) {
        let conditions = |source: Source| -> Vec<(String, String)> {
            output
                .batches
                .iter()
                .filter(|b| b.source == source)
                .flat_map(|b| b.resources.iter())
                .filter(|r| str_at(r, "/resourceType") == "Condition")
                .map(|r| {
                    (
                        str_at(r, "/code/coding/0/code").to_owned(),
                        str_at(r, "/onsetDateTime").to_owned(),
                    )
                })
                .collect()
        };
        let hospital = conditions(Source::Hospital);
        let clinic = conditions(Source::Clinic);
        let shared = clinic.iter().filter(|c| hospital.contains(c)).count();
        duplicated += shared;
        // Only a hospital stay is re-recorded: never more copies than hospital diagnoses.
        assert!(shared <= hospital.len());
    }
    assert!(duplicated > 3, "cross-source duplicates: {duplicated}");
}
