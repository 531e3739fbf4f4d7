//! `$validate`: checks a resource as a create or update would, and answers with the issues.
//! A valid resource gets 200 and an informational outcome; an invalid one 200 with its errors,
//! since the operation itself succeeded.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use crate::api::request::{FhirJson, Target};
use crate::api::response::FhirResponse;
use crate::api::{ApiError, AppState};
use crate::fhir::OperationOutcome;
use crate::record::RecordError;

/// `POST /[type]/$validate` and `POST /[type]/[id]/$validate`.
pub async fn validate(
    State(state): State<AppState>,
    target: Target,
    FhirJson(body): FhirJson,
) -> Result<FhirResponse, ApiError> {
    let resource = unwrap_parameters(body)?;
    match state
        .records
        .checks()
        .check(Some(target.resource_type), &resource)
    {
        Ok(resource_type) => Ok(FhirResponse::new(
            StatusCode::OK,
            OperationOutcome::information(format!("the {resource_type} is valid")).to_json(),
        )),
        Err(error @ RecordError::Invalid(_)) => {
            let (_, issues) = ApiError::Record(error).status_and_issues();
            Ok(FhirResponse::new(
                StatusCode::OK,
                OperationOutcome::new(issues).to_json(),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// The body is the resource itself, or a Parameters with it in the `resource` parameter.
fn unwrap_parameters(body: Value) -> Result<Value, ApiError> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Ok(body);
    }
    let Value::Object(mut fields) = body else {
        return Err(ApiError::BadRequest(
            "Parameters must be a JSON object".into(),
        ));
    };
    let parameters = match fields.remove("parameter") {
        Some(Value::Array(parameters)) => parameters,
        _ => Vec::new(),
    };
    parameters
        .into_iter()
        .find_map(|mut parameter| {
            (parameter.get("name").and_then(Value::as_str) == Some("resource"))
                .then(|| parameter.get_mut("resource").map(Value::take))
                .flatten()
        })
        .ok_or_else(|| {
            ApiError::BadRequest(
                "Parameters for $validate must carry the resource in a 'resource' parameter".into(),
            )
        })
}
