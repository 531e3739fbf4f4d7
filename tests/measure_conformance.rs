//! Runs the published eCQM test cases in `../shared/ecqm` and fails on any
//! mismatch not explained in `measure-known-differences.md`.

use std::path::Path;

#[test]
fn published_measure_test_cases_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("../shared/ecqm");
    if !dir.join("measures").is_dir() {
        eprintln!(
            "SKIPPED: eCQM conformance data not found at {} (expected ../shared/ecqm beside the crate)",
            dir.display()
        );
        return;
    }
    let summary =
        hearth::measure::conformance::run(&dir, &root.join("measure-known-differences.md"))
            .unwrap_or_else(|e| panic!("conformance run failed: {e}"));
    println!("{}", summary.render());
    let total: usize = summary.measures.iter().map(|m| m.total).sum();
    assert!(total > 0, "no test cases found under {}", dir.display());
    assert_eq!(
        summary.unexpected(),
        0,
        "unexpected failures:\n{}",
        summary.render()
    );
}
