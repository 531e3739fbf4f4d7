//! Extractors for what a FHIR request carries: a JSON body, `Prefer`, `If-Match`.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, IF_MATCH};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde_json::Value;

use super::error::ApiError;
use super::AppState;
use crate::record::parse_etag;

/// Bodies above this size are parsed off the async runtime.
const PARSE_INLINE_LIMIT: usize = 256 * 1024;

/// A FHIR JSON request body, size-limited and parsed.
pub struct FhirJson(pub Value);

impl<S> FromRequest<S> for FhirJson
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = AppState::from_ref(state).max_body_bytes;
        check_content_type(request.headers())?;
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|length| length > limit) {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|error| {
                let too_large = std::error::Error::source(&error)
                    .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
                if too_large {
                    ApiError::PayloadTooLarge(limit)
                } else {
                    ApiError::BadRequest(format!("the request body could not be read: {error}"))
                }
            })?;
        let value = if bytes.len() > PARSE_INLINE_LIMIT {
            tokio::task::spawn_blocking(move || parse_json(&bytes))
                .await
                .map_err(|_| {
                    ApiError::BadRequest("the request body could not be parsed".into())
                })??
        } else {
            parse_json(&bytes)?
        };
        Ok(FhirJson(value))
    }
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "the request body is empty; a FHIR resource in JSON is expected".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|error| {
        let why = if error.to_string().starts_with("recursion limit exceeded") {
            format!(
                "the JSON is nested too deeply (line {}, column {})",
                error.line(),
                error.column()
            )
        } else {
            format!("the body is not valid JSON: {error}")
        };
        ApiError::BadRequest(why)
    })
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(content_type) = headers.get(CONTENT_TYPE) else {
        return Err(ApiError::UnsupportedMediaType(
            "the request has no Content-Type; send application/fhir+json".into(),
        ));
    };
    let media = content_type
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media == "application/fhir+json" || media == "application/json" {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type '{}' is not supported; send application/fhir+json",
            crate::fhir::truncate(&media)
        )))
    }
}

/// What the client asked to get back after a write (`Prefer: return=…`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReturnPreference {
    Minimal,
    #[default]
    Representation,
    OperationOutcome,
}

impl ReturnPreference {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let preferences = headers
            .get_all("prefer")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim);
        for preference in preferences {
            match preference {
                "return=minimal" => return ReturnPreference::Minimal,
                "return=representation" => return ReturnPreference::Representation,
                "return=OperationOutcome" => return ReturnPreference::OperationOutcome,
                _ => {}
            }
        }
        ReturnPreference::Representation
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ReturnPreference {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ReturnPreference::from_headers(&parts.headers))
    }
}

/// The version an `If-Match` header requires, if the request has one.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or_default();
        parse_etag(text)
            .map(|version| IfMatch(Some(version)))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "If-Match '{}' is not a version ETag like W/\"3\"",
                    crate::fhir::truncate(text)
                ))
            })
    }
}

/// The resource a URL names: `/{type}`, `/{type}/{id}`, `/{type}/{id}/_history/{vid}`.
pub struct Target {
    pub resource_type: crate::fhir::ResourceType,
    pub id: Option<crate::fhir::Id>,
    pub version: Option<i64>,
}

impl Target {
    pub fn id(&self) -> Result<&crate::fhir::Id, ApiError> {
        self.id.as_ref().ok_or_else(|| {
            ApiError::BadRequest("this interaction needs a resource id in the URL".into())
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Target {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::Path;
        use std::collections::HashMap;

        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
        let type_name = params.get("type").map(String::as_str).unwrap_or_default();
        let resource_type = type_name
            .parse()
            .map_err(|e: crate::fhir::UnknownResourceType| ApiError::NotFound(e.to_string()))?;
        let id = match params.get("id") {
            Some(id) => {
                Some(crate::fhir::Id::parse(id).map_err(|e| ApiError::BadRequest(e.to_string()))?)
            }
            None => None,
        };
        let version = match params.get("vid") {
            Some(vid) => Some(vid.parse::<i64>().map_err(|_| {
                ApiError::NotFound(format!(
                    "version '{}' is not a version number",
                    crate::fhir::truncate(vid)
                ))
            })?),
            None => None,
        };
        Ok(Target {
            resource_type,
            id,
            version,
        })
    }
}

/// The server's base URL as clients see it: configured, or from the request's `Host`.
pub struct BaseUrl(pub String);

impl<S> FromRequestParts<S> for BaseUrl
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(base) = AppState::from_ref(state).base_url {
            return Ok(BaseUrl(base.to_string()));
        }
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        Ok(BaseUrl(format!("http://{host}")))
    }
}
