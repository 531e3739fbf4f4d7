use axum::http::StatusCode;

use crate::api::request::ReturnPreference;
use crate::api::response::FhirResponse;
use crate::fhir::OperationOutcome;
use crate::store::StoredResource;

/// The answer to a create or update, shaped by `Prefer: return=…`.
pub(in crate::api) fn written(
    status: StatusCode,
    stored: &StoredResource,
    base: &str,
    preference: ReturnPreference,
) -> FhirResponse {
    let location = format!(
        "{base}/{}/{}/_history/{}",
        stored.resource_type, stored.id, stored.version
    );
    let response = FhirResponse::stored(status, stored).with_location(location);
    match preference {
        ReturnPreference::Representation => response,
        ReturnPreference::Minimal => response.with_body(None),
        ReturnPreference::OperationOutcome => {
            let verb = if status == StatusCode::CREATED {
                "created"
            } else {
                "updated"
            };
            let message = format!(
                "{}/{} {verb}: version {}",
                stored.resource_type, stored.id, stored.version
            );
            response.with_body(Some(OperationOutcome::information(message).to_json()))
        }
    }
}
