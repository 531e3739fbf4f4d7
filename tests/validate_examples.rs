//! Runs the validator over every example resource of the official R4 examples package
//! (npm `hl7.fhir.r4.examples` 4.0.1, fetched by `scripts/fetch-fhir-packages.sh`).
//!
//! The package is read from `$HEARTH_FHIR_EXAMPLES`, else from
//! `.fhir-packages/hl7.fhir.r4.examples/package`. Without it the test says so and checks nothing.
//! Run with `-- --nocapture` to see the counts; in a release build the throughput figures mean
//! something (`cargo test --release --test validate_examples -- --nocapture`).

use hearth::validate::{IssueType, ValidationFailure, Validator};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

mod common;
use common::examples_dir;

/// Every example resource of the package, with its file name, read once for all tests.
fn examples() -> Option<&'static [(String, Value)]> {
    static EXAMPLES: OnceLock<Option<Vec<(String, Value)>>> = OnceLock::new();
    EXAMPLES.get_or_init(load_examples).as_deref()
}

fn load_examples() -> Option<Vec<(String, Value)>> {
    let dir = examples_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(_) => {
            println!(
                "SKIPPED: the R4 examples package is absent at {} \
                 (run scripts/fetch-fhir-packages.sh or set HEARTH_FHIR_EXAMPLES)",
                dir.display()
            );
            return None;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut examples = Vec::new();
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let value: Value = serde_json::from_slice(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        // package.json and .index.json are package metadata, not resources.
        if value.get("resourceType").is_some() {
            examples.push((name.unwrap_or_default(), value));
        }
    }
    Some(examples)
}

/// Repetitions for a timing: the full count in release builds, a token one in debug builds,
/// where the figures mean little anyway.
fn rounds(release: u32) -> u32 {
    if cfg!(debug_assertions) {
        (release / 100).max(1)
    } else {
        release
    }
}

/// One validator for all tests of this file, compiled fully once (the figures are printed once).
fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(compile_validator)
}

fn compile_validator() -> Validator {
    let rss_before = resident_kib();
    let start = Instant::now();
    let validator = Validator::load().unwrap_or_else(|e| panic!("{e}"));
    let loaded = start.elapsed();
    validator.compile_all().unwrap_or_else(|e| panic!("{e}"));
    println!(
        "schema loaded in {loaded:?}; all {} validators (+ Extension) compiled in {:?}; \
         resident memory {} MiB -> {} MiB",
        validator.resource_types().len(),
        start.elapsed() - loaded,
        rss_before / 1024,
        resident_kib() / 1024
    );
    validator
}

/// Resident memory of this process (Linux), 0 where unknown; for the printed figures only.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[test]
fn official_examples_validate() {
    let Some(examples) = examples() else {
        return;
    };
    let validator = validator();
    let mut valid = 0usize;
    let mut invalid: Vec<(&str, ValidationFailure)> = Vec::new();
    let start = Instant::now();
    for (name, resource) in examples {
        match validator.validate(resource) {
            Ok(()) => valid += 1,
            Err(failure) => invalid.push((name, failure)),
        }
    }
    let elapsed = start.elapsed();
    let bytes: usize = examples.iter().map(|(_, r)| r.to_string().len()).sum();
    println!(
        "{} example resources ({} MB): {valid} valid, {} schema-invalid, in {elapsed:?} \
         ({:.0} resources/s, {:.1} MB/s)",
        examples.len(),
        bytes / 1_000_000,
        invalid.len(),
        examples.len() as f64 / elapsed.as_secs_f64(),
        bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );

    // What the invalid examples have wrong, grouped by message shape, for the record.
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (name, failure) in &invalid {
        match failure {
            ValidationFailure::Invalid(issues) => {
                println!("  {name}: {}", issues[0]);
                for issue in issues {
                    assert!(!issue.expression.is_empty() || issue.code.code() == "too-costly");
                    assert!(
                        !issue.diagnostics.contains("oneOf"),
                        "{name}: generic message {issue}"
                    );
                    *kinds.entry(issue.code.code().to_owned()).or_default() += 1;
                }
            }
            ValidationFailure::UnknownResourceType(t) => {
                panic!("{name}: an official example has an unknown type {t}")
            }
        }
    }
    println!("issues by code: {kinds:?}");
    // The official examples are meant to be valid; a validator that rejected a noticeable share
    // of them would be wrong, not the examples.
    assert!(
        invalid.len() * 100 <= examples.len(),
        "{} of {} official examples rejected",
        invalid.len(),
        examples.len()
    );
}

/// Per-resource throughput on typical resources; prints figures, asserts only validity.
#[test]
fn throughput_on_typical_resources() {
    let Some(examples) = examples() else {
        return;
    };
    let validator = validator();
    for file in [
        "Patient-example.json",
        "Observation-example.json",
        "Observation-blood-pressure.json",
        "Bundle-bundle-example.json",
    ] {
        let Some((_, resource)) = examples.iter().find(|(name, _)| name == file) else {
            println!("{file} not in the package");
            continue;
        };
        let size = resource.to_string().len();
        assert_eq!(validator.validate(resource), Ok(()), "{file}");
        let rounds = rounds(2_000);
        let start = Instant::now();
        for _ in 0..rounds {
            assert!(validator.validate(resource).is_ok());
        }
        let per = start.elapsed() / rounds;
        println!(
            "{file} ({size} bytes): {per:?} per validation, {:.0} resources/s on one core",
            1.0 / per.as_secs_f64()
        );
    }
}

/// What invalid and hostile input costs; prints figures, asserts only the outcomes.
#[test]
fn cost_of_invalid_and_hostile_input() {
    let validator = validator();
    let time = |label: &str, resource: &Value, rounds: u32| {
        let start = Instant::now();
        let mut last = Ok(());
        let rounds = self::rounds(rounds);
        for _ in 0..rounds {
            last = validator.validate(resource);
        }
        println!("{label}: {:?} per validation", start.elapsed() / rounds);
        last
    };

    let invalid = json!({
        "resourceType": "Patient", "active": "yes", "birthDate": "2025-13-45", "foo": 1,
        "name": [{"family": "X", "given": ["A", 3]}], "gender": "M"
    });
    let failure = time("Patient with 5 errors", &invalid, 2_000);
    assert!(matches!(failure, Err(ValidationFailure::Invalid(ref i)) if i.len() == 5));

    let mut many = serde_json::Map::new();
    many.insert("resourceType".into(), json!("Patient"));
    for i in 0..10_000 {
        many.insert(format!("bogus{i}"), json!(i));
    }
    let failure = time(
        "Patient with 10,000 unknown elements",
        &Value::Object(many),
        20,
    );
    assert!(matches!(failure, Err(ValidationFailure::Invalid(ref i)) if i.len() == 101));

    let big = json!({"resourceType": "Patient", "name": [{"family": "x".repeat(10 << 20)}]});
    let failure = time("Patient with a 10 MB string", &big, 5);
    assert!(
        matches!(failure, Err(ValidationFailure::Invalid(ref i)) if i[0].code == IssueType::TooLong)
    );

    let mut ext = json!({"url": "leaf", "valueString": "x"});
    for _ in 0..49 {
        ext = json!({"url": "node", "extension": [ext]});
    }
    let deep = json!({"resourceType": "Patient", "extension": [ext]});
    assert_eq!(time("Patient nested 100 levels deep", &deep, 200), Ok(()));
}

/// Every example with some of its values swapped for values of other JSON types: validation
/// must not panic, must refuse the result, and must point every issue inside the resource.
#[test]
fn mutated_examples_give_located_issues() {
    let Some(examples) = examples() else {
        return;
    };
    let validator = validator();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let (mut mutated, mut refused) = (0usize, 0usize);
    let step = if cfg!(debug_assertions) { 7 } else { 1 };
    for (name, original) in examples.iter().step_by(step) {
        let Some(resource_type) = original["resourceType"].as_str() else {
            continue;
        };
        let mut resource = original.clone();
        let replacements = [
            json!(17.5),
            json!("2025-13-45"),
            json!(false),
            json!({}),
            json!([]),
        ];
        let pick = next(&mut seed) as usize % replacements.len();
        if !mutate_one_leaf(&mut resource, &mut seed, replacements[pick].clone()) {
            continue;
        }
        mutated += 1;
        match validator.validate(&resource) {
            Ok(()) => {} // e.g. a string swapped for another valid string
            Err(ValidationFailure::Invalid(issues)) => {
                refused += 1;
                for issue in &issues {
                    assert!(
                        issue.expression.starts_with(resource_type) || issue.expression.is_empty(),
                        "{name}: {issue}"
                    );
                    assert!(!issue.diagnostics.is_empty(), "{name}: {issue}");
                }
            }
            Err(other) => panic!("{name}: {other}"),
        }
    }
    println!("{mutated} mutated examples, {refused} refused");
    assert!(refused * 2 > mutated, "most mutations break the resource");
}

/// A xorshift step: deterministic choices without a dependency.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Replaces one leaf (string, number, boolean) chosen by `seed`, other than `resourceType`.
fn mutate_one_leaf(value: &mut Value, seed: &mut u64, replacement: Value) -> bool {
    let mut leaves = 0usize;
    count_leaves(value, &mut leaves);
    if leaves == 0 {
        return false;
    }
    let mut target = (next(seed) as usize) % leaves;
    replace_leaf(value, &mut target, &replacement)
}

fn count_leaves(value: &Value, count: &mut usize) {
    match value {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| k.as_str() != "resourceType")
            .for_each(|(_, v)| count_leaves(v, count)),
        Value::Array(items) => items.iter().for_each(|v| count_leaves(v, count)),
        _ => *count += 1,
    }
}

fn replace_leaf(value: &mut Value, target: &mut usize, replacement: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter_mut()
            .filter(|(k, _)| k.as_str() != "resourceType")
            .any(|(_, v)| replace_leaf(v, target, replacement)),
        Value::Array(items) => items
            .iter_mut()
            .any(|v| replace_leaf(v, target, replacement)),
        leaf => {
            if *target == 0 {
                *leaf = replacement.clone();
                true
            } else {
                *target -= 1;
                false
            }
        }
    }
}
