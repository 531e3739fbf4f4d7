//! Reading only the wanted resources of the types a population run narrows by code. Each
//! current row keeps its type's codes beside it (`code_filter::stored_codes`), and the index a
//! compartment read goes through holds them: the rows to keep are chosen from the index alone,
//! and only their bodies are read, in storage order. Most resources of the narrowed types are
//! not wanted (three in four Observations, for a blood-pressure measure), so most bodies are
//! never read, copied or scanned. Rows whose codes are not stored (written before they were,
//! or in a shape only the body tells) are read and filtered on their bodies.

use std::collections::HashMap;
use std::sync::Arc;

use super::code_filter::CodeFilter;
use super::compartment_reads::{packed_select, FIELD, FIELD_TEXT, PER_QUERY, ROW, ROW_TEXT};
use super::reads::Reader;
use super::sql::{Bind, Statement};
use super::StoreError;

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

/// Chooses, from the index, the rows of the filtered types in these patients' compartments.
pub(super) async fn choose<P: Reader>(
    pool: &P,
    patient_ids: &[String],
    filters: &HashMap<&'static str, Arc<CodeFilter>>,
) -> Result<Chosen, StoreError> {
    let types: Vec<&str> = filters.keys().copied().collect();
    let mut chosen = Chosen::default();
    for chunk in patient_ids.chunks(PER_QUERY) {
        let mut statement = Statement::new(&format!("SELECT {}(r.seq || ", P::AGGREGATE));
        statement
            .bind(Bind::Text(FIELD_TEXT))
            .push(" || r.res_type || ");
        // A flag first: NULL codes (unknown) and empty codes (kept by every filter) differ.
        statement
            .bind(Bind::Text(FIELD_TEXT))
            .push(" || CASE WHEN r.codes IS NULL THEN '0' ELSE '1' || r.codes END, ");
        statement
            .bind(Bind::Text(ROW_TEXT))
            .push(") FROM resource r WHERE NOT r.deleted AND ");
        statement.in_list("r.patient", chunk.iter().map(String::as_str), P::ARRAYS);
        statement.in_list(" AND r.res_type", types.iter().copied(), P::ARRAYS);
        let rows: Vec<(Option<String>,)> = pool.rows(&statement).await?;
        for (text,) in rows {
            sort_rows(text.as_deref().unwrap_or_default(), filters, &mut chosen)?;
        }
    }
    chosen.kept.sort_unstable();
    chosen.undecided.sort_unstable();
    Ok(chosen)
}

/// Adds the rows of one packed `seq, type, flag + codes` text to `chosen`.
fn sort_rows(
    text: &str,
    filters: &HashMap<&'static str, Arc<CodeFilter>>,
    chosen: &mut Chosen,
) -> Result<(), StoreError> {
    let bad = || StoreError::Corrupt("a packed index row is malformed".into());
    for row in text.split(char::from(ROW)).filter(|r| !r.is_empty()) {
        let mut fields = row.splitn(3, char::from(FIELD));
        let (Some(seq), Some(resource_type), Some(codes)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let seq: i64 = seq.parse().map_err(|_| bad())?;
        let filter = filters.get(resource_type).ok_or_else(bad)?;
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

    #[test]
    fn rows_are_kept_by_stored_codes_or_left_to_their_bodies() {
        let filter = Arc::new(CodeFilter {
            element: "code",
            codes: ["8480-6".to_owned()].into_iter().collect(),
        });
        let filters = HashMap::from([("Observation", filter)]);
        let (r, f) = (char::from(ROW), char::from(FIELD));
        let text = format!(
            "7{f}Observation{f}11-1\u{1d}8480-6{r}3{f}Observation{f}11-1{r}5{f}Observation{f}0{r}9{f}Observation{f}1"
        );
        let mut chosen = Chosen::default();
        sort_rows(&text, &filters, &mut chosen).expect("well-formed");
        assert_eq!(chosen.kept, [7, 9]);
        assert_eq!(chosen.undecided, [5]);
        let unknown_type = format!("1{f}Condition{f}1x");
        assert!(sort_rows(&unknown_type, &filters, &mut chosen).is_err());
        assert!(sort_rows("x", &filters, &mut chosen).is_err());
    }
}
