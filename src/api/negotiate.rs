//! Content negotiation shared by every route: `_format` and `Accept` must allow JSON (the only
//! format Hearth speaks), and `_pretty=true` indents the response.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Upper bound on a body re-indented for `_pretty`; larger ones are sent compact.
const PRETTY_LIMIT: usize = 64 * 1024 * 1024;

pub async fn negotiate(request: Request, next: Next) -> Response {
    let mut pretty = false;
    if let Some(query) = request.uri().query() {
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "_format" if !is_json(&value) => {
                    return ApiError::NotAcceptable(format!(
                        "_format '{}' is not supported; this server speaks JSON (_format=json)",
                        crate::fhir::truncate(&value)
                    ))
                    .into_response();
                }
                "_pretty" => pretty = value == "true",
                _ => {}
            }
        }
    }
    if let Some(accept) = request.headers().get(ACCEPT).and_then(|v| v.to_str().ok()) {
        if !accepts_json(accept) {
            return ApiError::NotAcceptable(format!(
                "Accept '{}' excludes JSON; this server answers in application/fhir+json",
                crate::fhir::truncate(accept)
            ))
            .into_response();
        }
    }
    let response = next.run(request).await;
    if pretty {
        indent(response).await
    } else {
        response
    }
}

fn is_json(format: &str) -> bool {
    let media = format.split(';').next().unwrap_or_default().trim();
    matches!(media, "json" | "application/json" | "application/fhir+json")
}

fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or_default().trim();
        media.is_empty() || is_json(media) || media == "*/*" || media == "application/*"
    })
}

async fn indent(response: Response) -> Response {
    let is_fhir_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_fhir_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, PRETTY_LIMIT).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let pretty = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|value| serde_json::to_vec_pretty(&value).ok());
    let mut parts = parts;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(pretty.unwrap_or_else(|| bytes.to_vec())))
}
