//! The elements `_summary=true` keeps per resource type, derived from the R4
//! StructureDefinitions (isSummary or mandatory) by `scripts/gen-summary-elements.js` into
//! `fhir-profiles/summary-elements.json`.

use std::collections::HashMap;
use std::sync::OnceLock;

static SUMMARY_ELEMENTS: &str = include_str!("../../../fhir-profiles/summary-elements.json");

/// The top-level properties of `resource_type` a summary keeps (none for an unknown type).
pub(super) fn elements(resource_type: &str) -> &'static [String] {
    static TABLE: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    TABLE
        .get_or_init(|| serde_json::from_str(SUMMARY_ELEMENTS).unwrap_or_default())
        .get(resource_type)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::elements;

    #[test]
    fn summary_elements_come_from_the_definitions() {
        let observation = elements("Observation");
        for kept in [
            "status",
            "code",
            "subject",
            "valueQuantity",
            "effectiveDateTime",
        ] {
            assert!(observation.iter().any(|e| e == kept), "{kept}");
        }
        for dropped in ["note", "interpretation", "referenceRange", "text"] {
            assert!(!observation.iter().any(|e| e == dropped), "{dropped}");
        }
        assert_eq!(elements("Patient").len(), 14);
        assert!(elements("NoSuchType").is_empty());
    }
}
