//! `_history` at system, type and instance level, newest first, paged by a cursor that stays
//! correct while new versions are written.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde_json::json;

use crate::api::request::{BaseUrl, Target};
use crate::api::response::{etag, FhirResponse};
use crate::api::{ApiError, AppState};
use crate::fhir::{format_instant, parse_date_range};
use crate::store::{HistoryQuery, HistoryScope, StoredResource};

const DEFAULT_COUNT: usize = 50;
const MAX_COUNT: usize = 1000;

#[derive(Default)]
pub struct HistoryParams {
    since: Option<String>,
    at: Option<String>,
    count: Option<String>,
    page: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for HistoryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut params = HistoryParams::default();
        let query = parts.uri.query().unwrap_or_default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "_since" => &mut params.since,
                "_at" => &mut params.at,
                "_count" => &mut params.count,
                "_page" => &mut params.page,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        Ok(params)
    }
}

pub async fn system_history(
    state: State<AppState>,
    base: BaseUrl,
    params: HistoryParams,
) -> Result<FhirResponse, ApiError> {
    history(state, base, HistoryScope::System, params).await
}

pub async fn type_history(
    state: State<AppState>,
    base: BaseUrl,
    target: Target,
    params: HistoryParams,
) -> Result<FhirResponse, ApiError> {
    history(
        state,
        base,
        HistoryScope::Type(target.resource_type),
        params,
    )
    .await
}

pub async fn instance_history(
    state: State<AppState>,
    base: BaseUrl,
    target: Target,
    params: HistoryParams,
) -> Result<FhirResponse, ApiError> {
    let id = target.id()?.clone();
    let resource_type = target.resource_type;
    // An instance's history of a resource that never existed is a 404, not an empty Bundle.
    if state
        .records
        .store()
        .read(resource_type, &id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!(
            "{resource_type}/{id} is not known to this server"
        )));
    }
    history(
        state,
        base,
        HistoryScope::Instance(resource_type, id),
        params,
    )
    .await
}

async fn history(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    scope: HistoryScope,
    params: HistoryParams,
) -> Result<FhirResponse, ApiError> {
    let query = HistoryQuery {
        since: match &params.since {
            Some(text) => Some(date_param("_since", text)?.0),
            None => None,
        },
        at: params
            .at
            .as_deref()
            .map(|text| date_param("_at", text))
            .transpose()?,
        count: match &params.count {
            Some(text) => text
                .parse::<usize>()
                .map_err(|_| {
                    ApiError::BadRequest(format!(
                        "_count '{}' is not a whole number",
                        crate::fhir::truncate(text)
                    ))
                })?
                .min(MAX_COUNT),
            None => DEFAULT_COUNT,
        },
        before_seq: match &params.page {
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                ApiError::BadRequest("_page is not a cursor this server issued".into())
            })?),
            None => None,
        },
        scope,
    };
    let page = state.records.history(&query).await?;
    let path = match &query.scope {
        HistoryScope::System => format!("{base}/_history"),
        HistoryScope::Type(t) => format!("{base}/{t}/_history"),
        HistoryScope::Instance(t, id) => format!("{base}/{t}/{id}/_history"),
    };
    let link = |cursor: Option<i64>| {
        let mut url = format!("{path}?_count={}", query.count);
        if let Some(since) = &params.since {
            url.push_str(&format!("&_since={}", encode(since)));
        }
        if let Some(at) = &params.at {
            url.push_str(&format!("&_at={}", encode(at)));
        }
        if let Some(cursor) = cursor {
            url.push_str(&format!("&_page={cursor}"));
        }
        url
    };
    let mut links = vec![json!({"relation": "self", "url": link(query.before_seq)})];
    if let Some(next) = page.next_before_seq {
        links.push(json!({"relation": "next", "url": link(Some(next))}));
    }
    let head = json!({
        "resourceType": "Bundle",
        "type": "history",
        "link": links,
    });
    // Written as text so stored bodies are spliced in as stored, not parsed and serialised
    // again (most of a history request's CPU otherwise).
    let mut text = head.to_string();
    text.pop();
    let bodies: usize = page
        .entries
        .iter()
        .map(|s| s.body.as_ref().map_or(0, String::len) + 256)
        .sum();
    text.reserve(bodies + 16);
    text.push_str(",\"entry\":[");
    for (n, stored) in page.entries.iter().enumerate() {
        if n > 0 {
            text.push(',');
        }
        write_entry(&mut text, stored, &base);
    }
    text.push_str("]}");
    Ok(FhirResponse::json_text(StatusCode::OK, text))
}

fn date_param(name: &str, text: &str) -> Result<(i64, i64), ApiError> {
    parse_date_range(text).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "{name} '{}' is not a FHIR date or instant (e.g. 2025-03-01 or 2025-03-01T10:00:00Z)",
            crate::fhir::truncate(text)
        ))
    })
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// One entry: its request and response, then the stored body as it is stored.
fn write_entry(text: &mut String, stored: &StoredResource, base: &str) {
    let url = format!("{}/{}", stored.resource_type, stored.id);
    let status = match stored.method.as_str() {
        "POST" => "201 Created",
        "DELETE" => "204 No Content",
        _ => "200 OK",
    };
    let request_url = if stored.method == "POST" {
        stored.resource_type.to_string()
    } else {
        url.clone()
    };
    let entry = json!({
        "fullUrl": format!("{base}/{url}"),
        "request": {"method": stored.method, "url": request_url},
        "response": {"status": status, "etag": etag(stored.version), "lastModified": format_instant(stored.last_updated)},
    });
    text.push_str(&entry.to_string());
    if let Some(body) = &stored.body {
        text.pop();
        text.push_str(",\"resource\":");
        text.push_str(body);
        text.push('}');
    }
}
