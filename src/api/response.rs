//! FHIR responses: JSON bodies with the FHIR media type and the versioning headers.

use axum::body::Body;
use axum::http::header::{HeaderValue, CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::store::StoredResource;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

enum Content {
    Json(Value),
    /// A stored body, sent as it is stored: no parse and re-serialise on the read path.
    Raw(String),
    Empty,
}

pub struct FhirResponse {
    status: StatusCode,
    content: Content,
    etag: Option<i64>,
    last_modified: Option<i64>,
    location: Option<String>,
}

impl FhirResponse {
    pub fn new(status: StatusCode, body: Value) -> Self {
        FhirResponse {
            status,
            content: Content::Json(body),
            etag: None,
            last_modified: None,
            location: None,
        }
    }

    /// A JSON body already written as text.
    pub fn json_text(status: StatusCode, body: String) -> Self {
        FhirResponse {
            content: Content::Raw(body),
            ..FhirResponse::new(status, Value::Null)
        }
    }

    pub fn empty(status: StatusCode) -> Self {
        FhirResponse {
            content: Content::Empty,
            ..FhirResponse::new(status, Value::Null)
        }
    }

    /// A stored version, with its ETag and Last-Modified.
    pub fn stored(status: StatusCode, stored: &StoredResource) -> Self {
        FhirResponse {
            status,
            content: stored.body.clone().map_or(Content::Empty, Content::Raw),
            etag: Some(stored.version),
            last_modified: Some(stored.last_updated),
            location: None,
        }
    }

    pub fn with_location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }

    pub fn with_version_headers(mut self, stored: &StoredResource) -> Self {
        self.etag = Some(stored.version);
        self.last_modified = Some(stored.last_updated);
        self
    }

    /// Replaces the body, keeping status and headers (for `Prefer: return=…`).
    pub fn with_body(mut self, body: Option<Value>) -> Self {
        self.content = body.map_or(Content::Empty, Content::Json);
        self
    }
}

/// `W/"3"`, the weak ETag FHIR uses for a version.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// RFC 7231 date of a stored instant.
pub fn http_date(micros: i64) -> String {
    let seconds = u64::try_from(micros / 1_000_000).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds))
}

impl IntoResponse for FhirResponse {
    fn into_response(self) -> Response {
        let (body, typed) = match self.content {
            Content::Json(value) => (Body::from(value.to_string()), true),
            Content::Raw(text) => (Body::from(text), true),
            Content::Empty => (Body::empty(), false),
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if typed {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        }
        let mut set = |name, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        if let Some(version) = self.etag {
            set(ETAG, etag(version));
        }
        if let Some(at) = self.last_modified {
            set(LAST_MODIFIED, http_date(at));
        }
        if let Some(location) = self.location {
            set(LOCATION, location);
        }
        response
    }
}
