//! Measures search-index extraction and patient-compartment throughput on typical
//! Observations, single-threaded: `cargo run --release --example index_throughput`.

use std::hint::black_box;
use std::time::Instant;

use hearth::fhir::compartment::patient_compartment;
use hearth::fhir::index::extract;
use hearth::fhir::search_params::SearchParamRegistry;
use serde_json::{json, Value};

fn lab_result() -> Value {
    json!({
        "resourceType": "Observation",
        "id": "f001",
        "meta": {"versionId": "1", "lastUpdated": "2025-03-04T05:06:07.890Z"},
        "identifier": [{"use": "official", "system": "http://www.bmc.nl/zorgportal/identifiers/observations", "value": "6323"}],
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory", "display": "Laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "15074-8", "display": "Glucose [Moles/volume] in Blood"}]},
        "subject": {"reference": "Patient/f001", "display": "P. van de Heuvel"},
        "encounter": {"reference": "Encounter/e001"},
        "effectivePeriod": {"start": "2013-04-02T09:30:10+01:00"},
        "issued": "2013-04-03T15:30:10.000+01:00",
        "performer": [{"reference": "Practitioner/f005", "display": "A. Langeveld"}],
        "valueQuantity": {"value": 6.3, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
        "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "H", "display": "High"}]}],
        "referenceRange": [{"low": {"value": 3.1, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L"}, "high": {"value": 6.2, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L"}}]
    })
}

fn blood_pressure() -> Value {
    json!({
        "resourceType": "Observation",
        "id": "blood-pressure",
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel"}], "text": "Blood pressure"},
        "subject": {"reference": "Patient/example"},
        "effectiveDateTime": "2012-09-17",
        "performer": [{"reference": "Practitioner/example"}],
        "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "368209003"}]},
        "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 107, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 60, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
        ]
    })
}

/// Nanoseconds this thread has run on a CPU (Linux), so the figure holds on a busy machine.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn measure(label: &str, iterations: u32, mut f: impl FnMut() -> usize) {
    let start = Instant::now();
    let cpu_start = cpu_ns();
    let mut produced = 0;
    for _ in 0..iterations {
        produced += f();
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => wall,
    };
    println!(
        "{label:<40} {:>9.0} resources/s per core (CPU time), {:>6.2} us each; wall {:>9.0}/s; {} values each",
        f64::from(iterations) / cpu,
        cpu * 1e6 / f64::from(iterations),
        f64::from(iterations) / wall,
        produced / iterations as usize
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let registry = SearchParamRegistry::r4()?;
    println!(
        "registry load (schema model + 1,375 parameters): {:?}",
        start.elapsed()
    );
    let iterations = 50_000;
    for (name, resource) in [
        ("lab result", lab_result()),
        ("blood pressure", blood_pressure()),
    ] {
        // Warm up the shared engine and compartment tables.
        black_box(extract(&registry, &resource)?);
        black_box(patient_compartment(&resource));
        measure(&format!("index extraction, {name}"), iterations, || {
            extract(&registry, black_box(&resource)).map_or(0, |i| i.entries.len())
        });
        measure(&format!("patient compartment, {name}"), iterations, || {
            usize::from(patient_compartment(black_box(&resource)).is_some())
        });
        measure(&format!("both, {name}"), iterations, || {
            let n = extract(&registry, black_box(&resource)).map_or(0, |i| i.entries.len());
            n + usize::from(patient_compartment(black_box(&resource)).is_some())
        });
    }
    spec_examples(&registry)?;
    Ok(())
}

/// Every resource of the R4 examples package, when it is unpacked locally.
fn spec_examples(registry: &SearchParamRegistry) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".fhir-packages/hl7.fhir.r4.examples/package");
    if !dir.is_dir() {
        println!(
            "(R4 examples package not found at {}; skipping the mixed run)",
            dir.display()
        );
        return Ok(());
    }
    let mut resources = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "json") {
            if let Ok(v) = serde_json::from_str::<Value>(&std::fs::read_to_string(&path)?) {
                if v.get("resourceType").is_some() {
                    resources.push(v);
                }
            }
        }
    }
    let clinical: Vec<&Value> = resources
        .iter()
        .filter(|r| patient_compartment(r).is_some())
        .collect();
    let n = u32::try_from(resources.len())?;
    let mut i = 0;
    measure(&format!("all {n} spec examples (mixed)"), n * 4, || {
        i += 1;
        extract(registry, &resources[i % resources.len()]).map_or(0, |x| x.entries.len())
    });
    let n = u32::try_from(clinical.len())?;
    measure(&format!("{n} clinical spec examples"), n * 20, || {
        i += 1;
        let r = clinical[i % clinical.len()];
        extract(registry, r).map_or(0, |x| x.entries.len())
            + usize::from(patient_compartment(r).is_some())
    });
    Ok(())
}
