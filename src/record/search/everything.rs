//! `Patient/[id]/$everything`: the patient's compartment in one indexed query per page, with
//! `_type`, `_since`, `start`/`end` (clinical dates) and `_count`.

use super::{bad, short, SearchResult, DEFAULT_COUNT, MAX_COUNT};
use crate::fhir::index::DateRange;
use crate::fhir::search_params::{ParamType, SearchParamRegistry};
use crate::fhir::{parse_date_range, Id, ResourceType};
use crate::record::{RecordError, Records};
use crate::store::{ClinicalRange, EverythingQuery};

/// The date parameters that hold a resource's clinical date, in order of preference: the
/// first one a type declares is its clinical date (Observation.date, Encounter.date,
/// Condition.onset-date, MedicationRequest.authoredon, Immunization.date, ...).
const CLINICAL_DATES: [&str; 9] = [
    "date",
    "onset-date",
    "authoredon",
    "authored",
    "occurrence",
    "period",
    "issued",
    "recorded",
    "created",
];

/// Each compartment type's clinical-date parameter, for `start`/`end`.
fn clinical_params(registry: &SearchParamRegistry) -> Vec<(ResourceType, String)> {
    ResourceType::all()
        .filter_map(|t| {
            CLINICAL_DATES
                .iter()
                .find(|code| {
                    registry
                        .get(t.as_str(), code)
                        .is_some_and(|p| p.param.param_type == ParamType::Date)
                })
                .map(|code| (t, (*code).to_owned()))
        })
        .filter(|(t, _)| t.as_str() != "Patient")
        .collect()
}

fn cursor(value: &str) -> Result<(ResourceType, String), RecordError> {
    let refused = || bad("_page is not a cursor this server issued".into());
    let (t, id) = value.split_once('/').ok_or_else(refused)?;
    Ok((t.parse().map_err(|_| refused())?, id.to_owned()))
}

impl Records {
    pub async fn everything(
        &self,
        patient: &Id,
        params: &[(String, String)],
    ) -> Result<SearchResult, RecordError> {
        // A patient that does not exist (or was deleted) is a 404/410, not an empty Bundle.
        self.read(
            "Patient"
                .parse::<ResourceType>()
                .map_err(|e| bad(e.to_string()))?,
            patient,
        )
        .await?;
        let mut query = EverythingQuery {
            patient: patient.to_string(),
            types: Vec::new(),
            since: None,
            clinical: None,
            count: DEFAULT_COUNT,
            after: None,
            before: None,
        };
        let mut range = ClinicalRange {
            low: None,
            high: None,
            params: Vec::new(),
        };
        let mut used = Vec::new();
        let mut ignored = Vec::new();
        for (key, value) in params {
            match key.as_str() {
                "_type" => {
                    for name in value.split(',').filter(|n| !n.is_empty()) {
                        query.types.push(
                            name.parse()
                                .map_err(
                                    |e: crate::fhir::UnknownResourceType| bad(e.to_string()),
                                )?,
                        );
                    }
                }
                "_since" => {
                    let (start, _) = parse_date_range(value).ok_or_else(|| {
                        bad(format!("_since '{}' is not a FHIR instant", short(value)))
                    })?;
                    query.since = Some(start);
                }
                "_count" => {
                    query.count = value
                        .parse::<usize>()
                        .map_err(|_| {
                            bad(format!("_count '{}' is not a whole number", short(value)))
                        })?
                        .min(MAX_COUNT);
                    continue;
                }
                "_page" => {
                    match value.strip_prefix('~') {
                        Some(before) => query.before = Some(cursor(before)?),
                        None => query.after = Some(cursor(value)?),
                    }
                    continue;
                }
                "start" | "end" => {
                    let dates = DateRange::parse(value).ok_or_else(|| {
                        bad(format!("{key} '{}' is not a FHIR date", short(value)))
                    })?;
                    if key == "start" {
                        range.low = Some(dates.low);
                    } else {
                        range.high = Some(dates.high);
                    }
                }
                "_format" | "_pretty" => continue,
                _ => {
                    ignored.push(key.clone());
                    continue;
                }
            }
            used.push((key.clone(), value.clone()));
        }
        if range.low.is_some() || range.high.is_some() {
            range.params = clinical_params(self.current_checks().await?.registry());
            query.clinical = Some(range);
        }
        let count = query.count;
        let page = self.store.everything(&query).await?;
        Ok(SearchResult {
            page,
            used,
            ignored,
            count,
            included: Vec::new(),
            count_only: false,
            shape: super::Shape::Full,
            cursor: params
                .iter()
                .rev()
                .find(|(k, _)| k == "_page")
                .map(|(_, v)| v.clone()),
        })
    }
}
