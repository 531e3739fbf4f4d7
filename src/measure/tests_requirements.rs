use super::*;
use crate::measure::date_needs::tests::day;
use crate::measure::program::CompiledMeasure;
use crate::measure::program::Engine;
use crate::store::DateFilter;

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

/// What `r` reads of `resource_type` by date, its windows resolved for the 2025
/// measurement period as a run of `measure` resolves them.
fn resolved(
    measure: &CompiledMeasure,
    r: &Requirements,
    resource_type: &str,
) -> Option<DateFilter> {
    let period = crate::measure::Period::parse("2025-01-01", "2025-12-31").expect("a period");
    let params = measure.params(&period, &Default::default());
    let Requirements::Types(_, dates) = r else {
        return None;
    };
    dates.get(resource_type)?.resolve(&params)
}

/// The windows each date-limited type is read within, as `type: low..high` dates (no date
/// for an open bound), distinct windows joined by ` | `; types read whatever their dates are
/// left out.
fn windows(measure: &CompiledMeasure, r: &Requirements) -> Vec<String> {
    let Requirements::Types(_, dates) = r else {
        return vec!["everything".into()];
    };
    dates
        .keys()
        .filter_map(|t| {
            let filter = resolved(measure, r, t)?;
            let distinct: BTreeSet<String> = filter
                .windows()
                .map(|w| format!("{}..{}", day(w.low), day(w.high)))
                .collect();
            Some(format!(
                "{t}: {}",
                distinct.into_iter().collect::<Vec<_>>().join(" | ")
            ))
        })
        .collect()
}

fn compiled(measure: &str) -> CompiledMeasure {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/ecqm");
    let engine = Engine::load(&dir).expect("the shared eCQM content loads");
    engine
        .compile_measure(measure)
        .expect("the measure compiles")
}

#[test]
fn qualifying_encounters_are_read_within_the_measurement_period() {
    let measure = compiled("ControllingHighBloodPressureFHIR");
    // The initial population retrieves Encounters through `isEncounterPerformed()` and a
    // union, kept by `period.toInterval() during day of "Measurement Period"`: two days
    // of slack each side.
    let initial = derive_initial(&measure).expect("a first step");
    assert_eq!(
        windows(&measure, &initial),
        ["Encounter: 2024-12-30..2026-01-02"]
    );
    // The whole measure also looks Encounters up by id (`getEncounter`), whatever their
    // dates. Blood pressures are read within the period, housing status (`ends on or
    // before` the period's end) any time before its end.
    let full = derive(&measure);
    let all = windows(&measure, &full);
    assert!(!all.iter().any(|w| w.starts_with("Encounter")), "{all:?}");
    let observations = resolved(&measure, &full, "Observation").expect("a filter");
    let panel = observations.window(Some("85354-9")).expect("the BP panel");
    let housing = observations
        .window(Some("71802-3"))
        .expect("housing status");
    assert_eq!(
        (day(panel.low), day(panel.high)),
        ("2024-12-30".into(), "2026-01-02".into())
    );
    assert_eq!((housing.low, housing.high), (i64::MIN, panel.high));
    assert!(
        all.contains(&"DeviceRequest: 2024-12-30..2026-01-02".to_owned()),
        "{all:?}"
    );
}

#[test]
fn a_bound_the_analysis_cannot_evaluate_is_left_open() {
    let measure = compiled("BreastCancerScreeningFHIR");
    let full = derive(&measure);
    // Mammograms count from "October 1 Two Years Prior to the Measurement Period", a
    // DateTime built from its components, which is not followed: open below, not dropped.
    let observations = resolved(&measure, &full, "Observation").expect("a filter");
    let mammography = observations.window(Some("24606-6")).expect("mammography");
    assert_eq!(mammography.low, i64::MIN);
    assert_eq!(day(mammography.high), "2026-01-02");
    let all = windows(&measure, &full);
    assert!(
        all.contains(&"Encounter: 2024-12-30..2026-01-02".to_owned()),
        "{all:?}"
    );
}
