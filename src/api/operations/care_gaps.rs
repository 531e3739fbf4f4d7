//! `Measure/$care-gaps` (Da Vinci DEQM), GET or POST.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::evaluate_measure::{period, subjects};
use super::params::OperationParams;
use crate::api::request::FhirJson;
use crate::api::response::FhirResponse;
use crate::api::{ApiError, AppState};
use crate::measure::care_gaps::{care_gaps, CareGapsRequest, GapStatus};
use crate::measure::service::MeasureRef;

pub async fn get(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<FhirResponse, ApiError> {
    run(
        state,
        &resource_type,
        OperationParams::from_query(query.as_deref()),
    )
    .await
}

pub async fn post(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    FhirJson(body): FhirJson,
) -> Result<FhirResponse, ApiError> {
    let mut params = OperationParams::from_query(query.as_deref());
    params.add_body(&body)?;
    run(state, &resource_type, params).await
}

async fn run(
    state: AppState,
    resource_type: &str,
    params: OperationParams,
) -> Result<FhirResponse, ApiError> {
    let request = parse(resource_type, &params)?;
    let answer = care_gaps(&state.measures, request).await?;
    Ok(FhirResponse::new(StatusCode::OK, answer))
}

fn parse(resource_type: &str, params: &OperationParams) -> Result<CareGapsRequest, ApiError> {
    if resource_type != "Measure" {
        return Err(ApiError::NotFound(
            "$care-gaps is defined on Measure only".into(),
        ));
    }
    let subject = match (params.one("subject")?, params.one("subjectGroup")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give either 'subject' or 'subjectGroup', not both".into(),
            ))
        }
        (Some(s), None) => Some(s.to_owned()),
        (None, Some(g)) if g.starts_with("Group/") => Some(g.to_owned()),
        (None, Some(g)) => Some(format!("Group/{g}")),
        (None, None) => None,
    };
    let reference = |name: &str, ty: &str| -> Result<Option<String>, ApiError> {
        Ok(params
            .one(name)?
            .map(|v| v.trim_start_matches(ty).to_owned()))
    };
    let practitioner = reference("practitioner", "Practitioner/")?;
    let organization = reference("organization", "Organization/")?;
    if subject.is_some() && (practitioner.is_some() || organization.is_some()) {
        return Err(ApiError::BadRequest(
            "give either a subject or subjectGroup, or practitioner/organization, not both".into(),
        ));
    }
    let measures = params
        .all("measureId")
        .map(|id| MeasureRef::Id(id.to_owned()))
        .chain(
            params
                .all("measureUrl")
                .map(|u| MeasureRef::Url(u.to_owned())),
        )
        .collect();
    let statuses = params
        .all("status")
        .map(|s| {
            GapStatus::parse(s)
                .ok_or_else(|| ApiError::BadRequest("status must be open-gap or closed-gap".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if statuses.is_empty() {
        return Err(ApiError::BadRequest(
            "the parameter 'status' is required".into(),
        ));
    }
    Ok(CareGapsRequest {
        period: period(params)?,
        subjects: subjects(subject.as_deref(), None)?,
        practitioner,
        organization,
        measures,
        program: params.one("program")?.map(str::to_owned),
        statuses,
    })
}
