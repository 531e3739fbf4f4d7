//! Test data shared by the test binaries.

use std::path::PathBuf;

/// The unpacked R4 examples package (npm `hl7.fhir.r4.examples` 4.0.1): `$HEARTH_FHIR_EXAMPLES`,
/// else `.fhir-packages/hl7.fhir.r4.examples/package` as `scripts/fetch-fhir-packages.sh` leaves it.
pub fn examples_dir() -> PathBuf {
    match std::env::var_os("HEARTH_FHIR_EXAMPLES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(".fhir-packages/hl7.fhir.r4.examples/package"),
    }
}
