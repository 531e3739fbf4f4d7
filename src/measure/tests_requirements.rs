use super::*;
use crate::measure::program::Engine;
use crate::measure::value::Value;

fn requirements(measure: &str) -> Requirements {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/ecqm");
    let engine = Engine::load(&dir).expect("the shared eCQM content loads");
    derive(
        &engine
            .compile_measure(measure)
            .expect("the measure compiles"),
    )
}

/// `Type: all` or `Type: element in N codes`, per type read.
fn summary(r: &Requirements) -> Vec<String> {
    let Requirements::Types(types, _) = r else {
        return vec!["everything".into()];
    };
    types
        .iter()
        .map(|(t, need)| match need {
            Need::All => format!("{t}: all"),
            Need::Codes { element, codes } => format!("{t}: {element} in {} codes", codes.len()),
        })
        .collect()
}

fn codes<'r>(r: &'r Requirements, resource_type: &str) -> &'r BTreeSet<String> {
    match r {
        Requirements::Types(types, _) => match types.get(resource_type) {
            Some(Need::Codes { codes, .. }) => codes,
            other => panic!("{resource_type} is not narrowed by code: {other:?}"),
        },
        Requirements::Everything => panic!("everything is read"),
    }
}

#[test]
fn breast_cancer_screening_reads_only_retrieved_codes() {
    let r = requirements("BreastCancerScreeningFHIR");
    assert_eq!(
        summary(&r),
        [
            "Condition: code in 2159 codes",
            // Retrieved without a code filter.
            "DeviceRequest: all",
            "Encounter: type in 134 codes",
            "MedicationRequest: medication in 33 codes",
            "Observation: code in 220 codes",
            "Patient: all",
            "Procedure: code in 49 codes",
            "ServiceRequest: code in 6 codes",
        ]
    );
    // Mammography (LOINC 24606-6) is an Observation the measure looks for.
    assert!(codes(&r, "Observation").contains("24606-6"));
}

#[test]
fn controlling_blood_pressure_keeps_unfiltered_retrieves_whole() {
    let r = requirements("ControllingHighBloodPressureFHIR");
    assert_eq!(
        summary(&r),
        [
            "Condition: code in 4147 codes",
            "Coverage: all",
            "DeviceRequest: all",
            // `getEncounter` retrieves every Encounter to find one by id.
            "Encounter: all",
            "MedicationRequest: medication in 33 codes",
            "Observation: code in 124 codes",
            "Patient: all",
            "Procedure: code in 91 codes",
            "ServiceRequest: code in 6 codes",
        ]
    );
    // The blood-pressure profile's fixed LOINC code, retrieved with no code filter.
    assert!(codes(&r, "Observation").contains("85354-9"));
}

#[test]
fn specialist_report_reads_only_retrieved_types() {
    let r = requirements("CRLReceiptofSpecialistReportFHIR");
    assert_eq!(
        summary(&r),
        [
            "Coverage: all",
            "Encounter: all",
            "Patient: all",
            "ServiceRequest: code in 209 codes",
            "Task: all",
        ]
    );
}

#[test]
fn store_read_names_the_code_element() {
    let r = requirements("CRLReceiptofSpecialistReportFHIR");
    let read = r
        .to_read(&[])
        .expect("the measure does not read everything");
    let types: Vec<(&str, Option<&str>)> = read
        .types
        .iter()
        .map(|t| {
            (
                t.resource_type.as_str(),
                t.codes.as_ref().map(|f| f.element),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("Coverage", None),
            ("Encounter", None),
            ("Patient", None),
            ("ServiceRequest", Some("code")),
            ("Task", None),
        ]
    );
}

#[test]
fn negation_retrieves_read_their_type_whole() {
    let retrieve = |name: &str, profile: &str| {
        serde_json::json!({"name": name, "context": "Patient", "expression": {"type": "Retrieve",
            "dataType": "{http://hl7.org/fhir}Procedure",
            "templateId": format!("http://hl7.org/fhir/us/qicore/StructureDefinition/{profile}"),
            "codeProperty": "code", "codeComparator": "in",
            "codes": {"type": "ValueSetRef", "name": "Visits"}}})
    };
    let derived = |defs| {
        let m = crate::measure::tests::engine(defs)
            .compile_measure("MiniMeasure")
            .expect("the test measure compiles");
        summary(&derive(&m))
    };
    let positive = derived(vec![retrieve("Done", "qicore-procedure")]);
    assert!(
        positive.iter().any(|s| s.starts_with("Procedure: code in")),
        "{positive:?}"
    );
    // What was not done may be a value set named by extension, with no code to search on.
    let negation = derived(vec![
        retrieve("Done", "qicore-procedure"),
        retrieve("Not Done", "qicore-procedurenotdone"),
    ]);
    assert!(
        negation.contains(&"Procedure: all".to_owned()),
        "{negation:?}"
    );
}

/// The windows each date-limited type is read within for the 2025 measurement period, as
/// `type: low..high` dates (no date for an open bound), distinct windows joined by ` | `;
/// types read whatever their dates are left out.
fn windows(r: &Requirements) -> Vec<String> {
    let period = crate::measure::Period::parse("2025-01-01", "2025-12-31").expect("a period");
    let start = Value::DateTime(period.start);
    let end = Value::DateTime(period.end);
    let Requirements::Types(_, dates) = r else {
        return vec!["everything".into()];
    };
    // Every parameter of these measures that a window names is a measurement period.
    let params: Vec<Option<Value>> = (0..16)
        .map(|_| Some(Value::interval(start.clone(), end.clone(), true, true)))
        .collect();
    let day = |ms: i64| {
        time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
            .map(|t| t.date().to_string())
            .unwrap_or_default()
    };
    dates
        .iter()
        .filter_map(|(t, need)| {
            let filter = need.resolve(&params)?;
            let distinct: BTreeSet<String> = filter
                .by_code
                .values()
                .chain(&filter.uncoded)
                .map(|w| format!("{}..{}", day(w.low), day(w.high)))
                .collect();
            Some(format!(
                "{t}: {}",
                distinct.into_iter().collect::<Vec<_>>().join(" | ")
            ))
        })
        .collect()
}

#[test]
fn qualifying_encounters_are_read_within_the_measurement_period() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/ecqm");
    let engine = Engine::load(&dir).expect("the shared eCQM content loads");
    let measure = engine
        .compile_measure("ControllingHighBloodPressureFHIR")
        .expect("the measure compiles");
    // The initial population retrieves Encounters through `isEncounterPerformed()` and a
    // union, kept by `period.toInterval() during day of "Measurement Period"`: two days
    // of slack each side.
    let initial = derive_initial(&measure).expect("a first step");
    assert_eq!(windows(&initial), ["Encounter: 2024-12-30..2026-01-02"]);
    // The whole measure also looks Encounters up by id (`getEncounter`), whatever their
    // dates. Blood pressures are read within the period, housing status (`ends on or
    // before` the period's end) any time before its end.
    let full = derive(&measure);
    let all = windows(&full);
    assert!(!all.iter().any(|w| w.starts_with("Encounter")), "{all:?}");
    assert!(
        all.contains(&"Observation: ..2026-01-02 | 2024-12-30..2026-01-02".to_owned()),
        "{all:?}"
    );
    let Requirements::Types(_, dates) = &full else {
        panic!("everything is read");
    };
    let period = crate::measure::Period::parse("2025-01-01", "2025-12-31").expect("a period");
    let mp = Value::interval(
        Value::DateTime(period.start),
        Value::DateTime(period.end),
        true,
        true,
    );
    let params: Vec<Option<Value>> = (0..16).map(|_| Some(mp.clone())).collect();
    let observations = dates["Observation"].resolve(&params).expect("a filter");
    let panel = observations.by_code["85354-9"];
    let housing = observations.by_code["71802-3"];
    assert!(panel.low > i64::MIN && panel.high < i64::MAX, "{panel:?}");
    assert!(
        housing.low == i64::MIN && housing.high == panel.high,
        "{housing:?}"
    );
    assert!(
        all.contains(&"DeviceRequest: 2024-12-30..2026-01-02".to_owned()),
        "{all:?}"
    );
}

#[test]
fn windows_move_with_calendar_arithmetic_on_the_period() {
    let r = requirements("BreastCancerScreeningFHIR");
    let all = windows(&r);
    // Mammography within 27 months before the period's end.
    assert!(
        all.iter().any(|w| w.starts_with("Observation: ..")),
        "{all:?}"
    );
    assert!(
        all.contains(&"Encounter: 2024-12-30..2026-01-02".to_owned()),
        "{all:?}"
    );
}
