//! Reading only the wanted resources of the types a population run narrows by code or date.
//! Each current row keeps its type's codes (`code_filter::stored_codes`) and the span of its
//! principal date element (`date_span`) beside it, and the index a compartment read goes
//! through holds them: the rows to keep are chosen from the index alone, and only their bodies
//! are read, in storage order. Most resources of the narrowed types are not wanted (three in
//! four Observations, for a blood-pressure measure; four in five Encounters lie outside a
//! one-year window), so most bodies are never read, copied or scanned. Rows whose codes are
//! not stored (written before they were, or in a shape only the body tells) are read and
//! filtered on their bodies; rows without a stored span are read whatever the window.

use std::collections::HashMap;

use super::compartment_reads::{
    packed_select, TypeRead, FIELD, FIELD_TEXT, PER_QUERY, ROW, ROW_TEXT,
};
use super::date_span::UNBOUNDED;
use super::reads::Reader;
use super::sql::{Bind, Statement};
use super::StoreError;
use crate::fhir::fhirpath::DateRange;

/// Bodies per statement: a few megabytes of packed text.
const BODIES_PER_QUERY: usize = 2000;

/// The rows of a page to read, by version `seq`, ascending.
#[derive(Debug, Default)]
pub(super) struct Chosen {
    /// Wanted, as their stored codes show.
    pub kept: Vec<i64>,
    /// Without stored codes: their bodies decide.
    pub undecided: Vec<i64>,
}

/// Chooses, from the index, the rows of the narrowed types in these patients' compartments.
pub(super) async fn choose<P: Reader>(
    pool: &P,
    patient_ids: &[String],
    narrowed: &[&TypeRead],
) -> Result<Chosen, StoreError> {
    let reads: HashMap<&str, &TypeRead> = narrowed
        .iter()
        .map(|t| (t.resource_type.as_str(), *t))
        .collect();
    let types: Vec<&str> = reads.keys().copied().collect();
    let hulls: Vec<(&str, DateRange)> = narrowed
        .iter()
        .filter_map(|t| Some((t.resource_type.as_str(), t.dates.as_ref()?.any())))
        .filter(|(_, hull)| *hull != UNBOUNDED)
        .collect();
    let mut chosen = Chosen::default();
    for chunk in patient_ids.chunks(PER_QUERY) {
        let mut statement = Statement::new(&format!("SELECT {}(r.seq || ", P::AGGREGATE));
        statement
            .bind(Bind::Text(FIELD_TEXT))
            .push(" || r.res_type || ");
        for bound in ["span_low", "span_high"] {
            statement
                .bind(Bind::Text(FIELD_TEXT))
                .push(&format!(" || coalesce(CAST(r.{bound} AS TEXT), '') || "));
        }
        // A flag first: NULL codes (unknown) and empty codes (kept by every filter) differ.
        statement
            .bind(Bind::Text(FIELD_TEXT))
            .push(" || CASE WHEN r.codes IS NULL THEN '0' ELSE '1' || r.codes END, ");
        statement
            .bind(Bind::Text(ROW_TEXT))
            .push(") FROM resource r WHERE NOT r.deleted AND ");
        statement.in_list("r.patient", chunk.iter().map(String::as_str), P::ARRAYS);
        statement.in_list(" AND r.res_type", types.iter().copied(), P::ARRAYS);
        // Rows outside every window of their type never become text; the per-code windows
        // are applied to the rest below.
        for (resource_type, hull) in &hulls {
            statement
                .push(" AND (r.res_type <> ")
                .bind(Bind::Text(resource_type))
                .push(" OR r.span_low IS NULL OR r.span_high IS NULL OR r.span_low > r.span_high OR (r.span_low <= ")
                .bind(Bind::Int(hull.high))
                .push(" AND r.span_high >= ")
                .bind(Bind::Int(hull.low))
                .push("))");
        }
        let rows: Vec<(Option<String>,)> = pool.rows(&statement).await?;
        for (text,) in rows {
            sort_rows(text.as_deref().unwrap_or_default(), &reads, &mut chosen)?;
        }
    }
    chosen.kept.sort_unstable();
    chosen.undecided.sort_unstable();
    Ok(chosen)
}

/// Adds the rows of one packed `seq, type, span low, span high, flag + codes` text to
/// `chosen`.
fn sort_rows(
    text: &str,
    reads: &HashMap<&str, &TypeRead>,
    chosen: &mut Chosen,
) -> Result<(), StoreError> {
    let bad = || StoreError::Corrupt("a packed index row is malformed".into());
    let bound = |text: &str| -> Result<Option<i64>, StoreError> {
        match text {
            "" => Ok(None),
            n => n.parse().map(Some).map_err(|_| bad()),
        }
    };
    for row in text.split(char::from(ROW)).filter(|r| !r.is_empty()) {
        let mut fields = row.splitn(5, char::from(FIELD));
        let (Some(seq), Some(resource_type), Some(low), Some(high), Some(codes)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(bad());
        };
        let seq: i64 = seq.parse().map_err(|_| bad())?;
        let read = reads.get(resource_type).ok_or_else(bad)?;
        if let Some(dates) = &read.dates {
            if !dates.keeps(bound(low)?, bound(high)?, codes.strip_prefix('1')) {
                continue;
            }
        }
        let Some(filter) = &read.codes else {
            chosen.kept.push(seq);
            continue;
        };
        match codes.strip_prefix('1') {
            Some(stored) if filter.keeps_stored(stored) => chosen.kept.push(seq),
            Some(_) => {}
            None => chosen.undecided.push(seq),
        }
    }
    Ok(())
}

/// The versions `seqs` packed as a compartment read packs them (type, patient, body).
pub(super) async fn bodies<P: Reader>(
    pool: &P,
    body: &str,
    seqs: &[i64],
) -> Result<Vec<String>, StoreError> {
    let mut packed = Vec::new();
    for chunk in seqs.chunks(BODIES_PER_QUERY) {
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let mut statement = packed_select::<P>(body);
        statement.push("FROM resource_version v WHERE v.seq");
        let (before, after) = P::INTEGERS_IN;
        statement
            .push(before)
            .bind(Bind::Owned(list.join(",")))
            .push(after);
        let rows: Vec<(Option<String>,)> = pool.rows(&statement).await?;
        packed.extend(rows.into_iter().filter_map(|(text,)| text));
    }
    Ok(packed)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    use crate::fhir::fhirpath::DateRange;
    use crate::store::{CodeFilter, DateFilter, UNBOUNDED};

    const WINDOW: DateRange = DateRange {
        low: 100,
        high: 200,
    };

    fn read(codes: bool, dates: Option<DateFilter>) -> TypeRead {
        TypeRead {
            resource_type: "Observation".parse().expect("a type"),
            codes: codes.then(|| {
                Arc::new(CodeFilter {
                    element: "code",
                    codes: ["8480-6".to_owned()].into_iter().collect(),
                })
            }),
            dates: dates.map(Arc::new),
        }
    }

    /// Every row within `window`, whatever its codes.
    fn within(window: DateRange) -> Option<DateFilter> {
        let mut dates = DateFilter::default();
        dates.add(None::<&[String]>, window);
        Some(dates)
    }

    fn sorted(read: &TypeRead, text: &str) -> Result<Chosen, StoreError> {
        let reads = HashMap::from([("Observation", read)]);
        let mut chosen = Chosen::default();
        sort_rows(text, &reads, &mut chosen).map(|()| chosen)
    }

    #[test]
    fn rows_are_kept_by_stored_codes_or_left_to_their_bodies() {
        let (r, f) = (char::from(ROW), char::from(FIELD));
        let text = format!(
            "7{f}Observation{f}{f}{f}11-1\u{1d}8480-6{r}3{f}Observation{f}{f}{f}11-1{r}5{f}Observation{f}{f}{f}0{r}9{f}Observation{f}{f}{f}1"
        );
        let chosen = sorted(&read(true, None), &text).expect("well-formed");
        assert_eq!(chosen.kept, [7, 9]);
        assert_eq!(chosen.undecided, [5]);
        let unknown_type = format!("1{f}Condition{f}{f}{f}1x");
        assert!(sorted(&read(true, None), &unknown_type).is_err());
        assert!(sorted(&read(true, None), "x").is_err());
        let bad_bound = format!("1{f}Observation{f}x{f}{f}1");
        assert!(sorted(&read(true, within(WINDOW)), &bad_bound).is_err());
    }

    #[test]
    fn rows_outside_the_window_are_dropped_whatever_their_codes() {
        let (r, f) = (char::from(ROW), char::from(FIELD));
        // In the window; before it; after it; no span; before it with codes unknown.
        let text = format!(
            "1{f}Observation{f}150{f}160{f}1{r}2{f}Observation{f}0{f}99{f}1{r}\
             3{f}Observation{f}201{f}300{f}1{r}4{f}Observation{f}{f}{f}1{r}5{f}Observation{f}0{f}50{f}0"
        );
        let chosen = sorted(&read(false, within(WINDOW)), &text).expect("well-formed");
        assert_eq!(chosen.kept, [1, 4]);
        assert!(chosen.undecided.is_empty());
        let chosen = sorted(&read(false, None), &text).expect("well-formed");
        assert_eq!(chosen.kept, [1, 2, 3, 4, 5]);
        let chosen = sorted(&read(true, within(WINDOW)), &text).expect("well-formed");
        assert_eq!(chosen.kept, [1, 4]);
    }

    #[test]
    fn each_code_keeps_the_windows_of_the_retrieves_naming_it() {
        let (r, f) = (char::from(ROW), char::from(FIELD));
        let mut dates = DateFilter::default();
        let pressure = ["8480-6".to_owned()];
        let housing = ["71802-3".to_owned()];
        dates.add(Some(&pressure), WINDOW);
        dates.add(Some(&housing), UNBOUNDED);
        // A blood pressure in the window, one before it, a housing status before it, a row
        // with both codes before it, one with no stored codes before it (kept: the hull of
        // all windows is unbounded), one whose codes no retrieve names.
        let text = format!(
            "1{f}Observation{f}150{f}160{f}18480-6{r}2{f}Observation{f}0{f}99{f}18480-6{r}\
             3{f}Observation{f}0{f}99{f}171802-3{r}4{f}Observation{f}0{f}99{f}18480-6\u{1d}71802-3{r}\
             5{f}Observation{f}0{f}99{f}1{r}6{f}Observation{f}150{f}160{f}1x"
        );
        let chosen = sorted(&read(false, Some(dates.clone())), &text).expect("well-formed");
        assert_eq!(chosen.kept, [1, 3, 4, 5]);
        // A retrieve of any code within the window keeps the rest within it.
        dates.add(None::<&[String]>, WINDOW);
        let chosen = sorted(&read(false, Some(dates)), &text).expect("well-formed");
        assert_eq!(chosen.kept, [1, 3, 4, 5, 6]);
    }
}
