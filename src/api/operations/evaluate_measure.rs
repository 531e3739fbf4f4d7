//! `$evaluate-measure` on `Measure/[id]` and on `Measure` (with `measure=url`), GET or POST.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::params::OperationParams;
use crate::api::request::FhirJson;
use crate::api::response::FhirResponse;
use crate::api::{ApiError, AppState};
use crate::measure::population::{ReportType, Subjects};
use crate::measure::service::{EvaluateRequest, MeasureRef};
use crate::measure::Period;

pub async fn type_get(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<FhirResponse, ApiError> {
    let params = OperationParams::from_query(query.as_deref());
    evaluate(state, &resource_type, None, params).await
}

pub async fn type_post(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    FhirJson(body): FhirJson,
) -> Result<FhirResponse, ApiError> {
    let mut params = OperationParams::from_query(query.as_deref());
    params.add_body(&body)?;
    evaluate(state, &resource_type, None, params).await
}

pub async fn instance_get(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<FhirResponse, ApiError> {
    let params = OperationParams::from_query(query.as_deref());
    evaluate(state, &resource_type, Some(id), params).await
}

pub async fn instance_post(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    FhirJson(body): FhirJson,
) -> Result<FhirResponse, ApiError> {
    let mut params = OperationParams::from_query(query.as_deref());
    params.add_body(&body)?;
    evaluate(state, &resource_type, Some(id), params).await
}

async fn evaluate(
    state: AppState,
    resource_type: &str,
    id: Option<String>,
    params: OperationParams,
) -> Result<FhirResponse, ApiError> {
    let request = parse(resource_type, id, &params)?;
    let report = state.measures.evaluate(request).await?;
    Ok(FhirResponse::new(StatusCode::OK, report))
}

fn parse(
    resource_type: &str,
    id: Option<String>,
    params: &OperationParams,
) -> Result<EvaluateRequest, ApiError> {
    if resource_type != "Measure" {
        return Err(ApiError::NotFound(
            "$evaluate-measure is defined on Measure only".into(),
        ));
    }
    let measure = match (id, params.one("measure")?) {
        (Some(id), _) => MeasureRef::Id(id),
        (None, Some(url)) => MeasureRef::Url(url.to_owned()),
        (None, None) => {
            return Err(ApiError::BadRequest(
                "Measure/$evaluate-measure needs the 'measure' parameter (a canonical url)".into(),
            ))
        }
    };
    let period = period(params)?;
    let subjects = subjects(params.one("subject")?, params.one("practitioner")?)?;
    let report_type = match params.one("reportType")? {
        Some(text) => ReportType::parse(text).ok_or_else(|| {
            ApiError::BadRequest("reportType must be subject, subject-list or population".into())
        })?,
        None if matches!(subjects, Subjects::Patient(_)) => ReportType::Subject,
        None => ReportType::Population,
    };
    Ok(EvaluateRequest {
        measure,
        period,
        report_type,
        subjects,
        last_received_on: params.one("lastReceivedOn")?.map(str::to_owned),
        parameters: parameters(params)?,
    })
}

/// `parameters`: CQL parameter values as a Parameters resource (POST only).
fn parameters(params: &OperationParams) -> Result<Option<serde_json::Value>, ApiError> {
    if params.one("parameters")?.is_some() {
        return Err(ApiError::BadRequest(
            "'parameters' must be a Parameters resource in the 'resource' of a POSTed parameter"
                .into(),
        ));
    }
    Ok(params.resource("parameters")?.cloned())
}

/// `periodStart` and `periodEnd`, both required, start not after end.
pub fn period(params: &OperationParams) -> Result<Period, ApiError> {
    let start = params.required("periodStart")?;
    let end = params.required("periodEnd")?;
    let period = Period::parse(start, end).map_err(|_| {
        ApiError::BadRequest("periodStart and periodEnd must be FHIR dates or dateTimes".into())
    })?;
    if period.start.format(false) > period.end.format(false) {
        return Err(ApiError::BadRequest(
            "periodStart must not be after periodEnd".into(),
        ));
    }
    Ok(period)
}

/// `subject` (`Patient/x`, `Group/x` or a bare patient id) or `practitioner`; neither means all.
pub fn subjects(subject: Option<&str>, practitioner: Option<&str>) -> Result<Subjects, ApiError> {
    match (subject, practitioner) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest(
            "give either 'subject' or 'practitioner', not both".into(),
        )),
        (Some(subject), None) => match subject.split_once('/') {
            Some(("Patient", id)) => Ok(Subjects::Patient(id.to_owned())),
            Some(("Group", id)) => Ok(Subjects::Group(id.to_owned())),
            None => Ok(Subjects::Patient(subject.to_owned())),
            Some(_) => Err(ApiError::BadRequest(
                "subject must be Patient/[id] or Group/[id]".into(),
            )),
        },
        (None, Some(p)) => Ok(Subjects::Practitioner(
            p.trim_start_matches("Practitioner/").to_owned(),
        )),
        (None, None) => Ok(Subjects::All),
    }
}
