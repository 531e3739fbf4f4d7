//! The span of dates a resource's principal date element covers (an Encounter's period, an
//! Observation's effective time), kept beside its current row. Population runs read a
//! patient's history, most of which lies outside the measurement period: when every retrieve
//! of a type only keeps resources whose element lies in a window, rows whose span misses the
//! window are never read. The span comes from the element's date search parameter, whose
//! index rows the write already computed, so there is one reading of FHIR dates, not two.

use std::collections::HashMap;

use crate::fhir::fhirpath::DateRange;
use crate::fhir::index::{IndexEntry, IndexValue};

/// The whole time line: a window that keeps every row.
pub const UNBOUNDED: DateRange = DateRange {
    low: i64::MIN,
    high: i64::MAX,
};

/// The windows a read of one type keeps rows within. Retrieves of different codes may keep
/// different windows (blood pressures of the measurement period, housing status of any
/// time before its end), so a row with stored codes is kept within the windows of the
/// retrieves naming one of its codes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DateFilter {
    /// Per code: the hull of the windows of the retrieves naming it.
    by_code: HashMap<String, DateRange>,
    /// The hull of the windows of the retrieves naming no codes, if there are any.
    uncoded: Option<DateRange>,
    /// The hull of every window, for rows whose codes are not known: kept as windows are
    /// added, since every such row of a read is checked against it.
    all: Option<DateRange>,
}

impl DateFilter {
    /// Adds a retrieve of these codes (`None`: of any code) keeping rows within `window`.
    pub fn add<'c>(
        &mut self,
        codes: Option<impl IntoIterator<Item = &'c String>>,
        window: DateRange,
    ) {
        match codes {
            None => self.uncoded = Some(hull(self.uncoded, window)),
            Some(codes) => {
                for code in codes {
                    let old = self.by_code.get(code).copied();
                    self.by_code.insert(code.clone(), hull(old, window));
                }
            }
        }
        self.all = Some(hull(self.all, window));
    }

    /// Whether the filter keeps some row out that the code filter keeps.
    pub fn limits(&self) -> bool {
        match self.uncoded {
            Some(w) => w != UNBOUNDED,
            None => self.by_code.values().any(|w| *w != UNBOUNDED),
        }
    }

    /// The window kept for rows with `code`, or (`None`) for rows of any code.
    pub fn window(&self, code: Option<&str>) -> Option<DateRange> {
        match code {
            Some(code) => self.by_code.get(code).copied(),
            None => self.uncoded,
        }
    }

    /// Every window kept, by code and for any code.
    pub fn windows(&self) -> impl Iterator<Item = &DateRange> {
        self.by_code.values().chain(&self.uncoded)
    }

    /// The hull of every window.
    pub(super) fn any(&self) -> DateRange {
        self.all.unwrap_or(UNBOUNDED)
    }

    /// Whether a row with this span and these stored codes (`None`: not known; see
    /// `code_filter::stored_codes`) may matter to some retrieve.
    pub(super) fn keeps(&self, low: Option<i64>, high: Option<i64>, codes: Option<&str>) -> bool {
        match codes.filter(|c| !c.is_empty()) {
            None => may_overlap(low, high, &self.any()),
            Some(codes) => {
                let mut windows = super::code_filter::split_stored(codes)
                    .filter_map(|c| self.by_code.get(c))
                    .chain(&self.uncoded);
                windows.any(|w| may_overlap(low, high, w))
            }
        }
    }
}

fn hull(old: Option<DateRange>, new: DateRange) -> DateRange {
    match old {
        None => new,
        Some(o) => DateRange {
            low: o.low.min(new.low),
            high: o.high.max(new.high),
        },
    }
}

/// A type's principal date element, as a CQL property, and the date search parameter whose
/// expression is exactly that element.
pub fn date_element(resource_type: &str) -> Option<(&'static str, &'static str)> {
    Some(match resource_type {
        "Encounter" => ("period", "date"),
        "Observation" | "DiagnosticReport" => ("effective", "date"),
        "Procedure" => ("performed", "date"),
        "Immunization" => ("occurrence", "date"),
        "MedicationRequest" => ("authoredOn", "authoredon"),
        "ServiceRequest" => ("authoredOn", "authored"),
        "DeviceRequest" => ("authoredOn", "authored-on"),
        "MedicationAdministration" => ("effective", "effective-time"),
        "MedicationDispense" => ("whenHandedOver", "whenhandedover"),
        "Task" => ("executionPeriod", "period"),
        _ => return None,
    })
}

/// The span kept for a resource with these index entries: the hull of its principal date
/// element's ranges, UTC epoch milliseconds, inclusive. `None` (the element is absent, or
/// in a form the index does not read) leaves the row to be read whatever the window.
pub(super) fn stored_span(resource_type: &str, index: &[IndexEntry<'_>]) -> Option<DateRange> {
    let (_, parameter) = date_element(resource_type)?;
    let mut span: Option<DateRange> = None;
    for entry in index.iter().filter(|e| e.code == parameter) {
        if let IndexValue::Date(range) = &entry.value {
            span = Some(hull(span, *range));
        }
    }
    span
}

/// Whether a row with this stored span may matter to a read limited to `window`. A span
/// not stored, or not a range, decides nothing: the row is read.
pub(super) fn may_overlap(low: Option<i64>, high: Option<i64>, window: &DateRange) -> bool {
    match (low, high) {
        (Some(low), Some(high)) if low <= high => low <= window.high && high >= window.low,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn date(code: &'static str, low: i64, high: i64) -> IndexEntry<'static> {
        IndexEntry {
            code: Cow::Borrowed(code),
            value: IndexValue::Date(DateRange { low, high }),
        }
    }

    #[test]
    fn the_span_is_the_hull_of_the_principal_parameter_only() {
        let index = [
            date("date", 50, 60),
            date("location-period", 0, 999),
            date("date", 10, 20),
        ];
        assert_eq!(
            stored_span("Encounter", &index),
            Some(DateRange { low: 10, high: 60 })
        );
        assert_eq!(stored_span("Encounter", &index[1..2]), None);
        assert_eq!(stored_span("Patient", &index), None);
    }

    /// The migration that fills the spans of stores written before them names the same
    /// element parameters, on both backends.
    #[test]
    fn the_migration_fills_spans_from_the_same_parameters() {
        const TYPES: &[&str] = &[
            "Encounter",
            "Observation",
            "DiagnosticReport",
            "Procedure",
            "Immunization",
            "MedicationRequest",
            "ServiceRequest",
            "DeviceRequest",
            "MedicationAdministration",
            "MedicationDispense",
            "Task",
            "Condition",
            "Patient",
            "Coverage",
        ];
        for backend in ["sqlite", "postgres"] {
            let path = format!(
                "{}/migrations/{backend}/20261204000009_resource_date_span.sql",
                env!("CARGO_MANIFEST_DIR")
            );
            let sql = std::fs::read_to_string(&path).expect("the migration");
            let named = sql.matches("('").count();
            let mut known = 0;
            for t in TYPES {
                if let Some((_, parameter)) = date_element(t) {
                    known += 1;
                    assert!(
                        sql.contains(&format!("('{t}', '{parameter}')")),
                        "{path}: {t}"
                    );
                }
            }
            assert_eq!(named, known, "{path}");
        }
    }

    #[test]
    fn rows_are_skipped_only_when_their_span_misses_the_window() {
        let window = DateRange {
            low: 100,
            high: 200,
        };
        assert!(may_overlap(Some(50), Some(100), &window));
        assert!(may_overlap(Some(200), Some(300), &window));
        assert!(may_overlap(Some(0), Some(1000), &window));
        assert!(!may_overlap(Some(0), Some(99), &window));
        assert!(!may_overlap(Some(201), Some(300), &window));
        assert!(may_overlap(None, None, &window));
        assert!(may_overlap(Some(300), Some(0), &window), "not a range");
    }
}
