//! `Patient/[id]/$everything`: the patient's compartment in one indexed query per page, with
//! `_type`, `_since` and `_count`.

use super::{bad, short, SearchResult, DEFAULT_COUNT, MAX_COUNT};
use crate::fhir::{parse_date_range, Id, ResourceType};
use crate::record::{RecordError, Records};
use crate::store::EverythingQuery;

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
            count: DEFAULT_COUNT,
            after: None,
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
                    let (t, id) = value
                        .split_once('/')
                        .ok_or_else(|| bad("_page is not a cursor this server issued".into()))?;
                    let t = t
                        .parse()
                        .map_err(|_| bad("_page is not a cursor this server issued".into()))?;
                    query.after = Some((t, id.to_owned()));
                    continue;
                }
                "_format" | "_pretty" => continue,
                // start and end select by clinical date, which this server does not apply.
                _ => {
                    ignored.push(key.clone());
                    continue;
                }
            }
            used.push((key.clone(), value.clone()));
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
        })
    }
}
