//! Search: `GET /[type]?…`, `POST /[type]/_search` (form body), across types `GET /?…` and
//! `POST /_search`, and the Patient compartment `GET /Patient/[id]/[type]?…`, answered with a
//! `searchset` Bundle paged by a cursor in both directions.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{json, Value};

use crate::api::request::{BaseUrl, Target};
use crate::api::response::FhirResponse;
use crate::api::{ApiError, AppState};
use crate::fhir::{IssueType, OperationOutcome, OutcomeIssue, ResourceType};
use crate::record::{SearchRequest, SearchResult, Shape};
use crate::store::StoredResource;

/// `GET /[type]?…`
pub async fn search_get(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    target: Target,
    headers: HeaderMap,
    uri: Uri,
) -> Result<FhirResponse, ApiError> {
    let request = request(
        uri.query().unwrap_or_default().as_bytes(),
        &headers,
        None,
        &base,
    );
    let path = format!("{base}/{}", target.resource_type);
    run(&state, &base, &path, target.resource_type, request).await
}

/// `GET /?_type=…&…`: a search across resource types with the parameters they share.
pub async fn system_get(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    uri: Uri,
) -> Result<FhirResponse, ApiError> {
    let request = request(
        uri.query().unwrap_or_default().as_bytes(),
        &headers,
        None,
        &base,
    );
    let result = state.records.search_system(&request).await?;
    Ok(FhirResponse::json_text(
        StatusCode::OK,
        bundle(&result, &base, &base)?,
    ))
}

/// `POST /_search` with form parameters (and any in the URL).
pub async fn system_post(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<FhirResponse, ApiError> {
    let request = form_request(&headers, &uri, &body, &base)?;
    let result = state.records.search_system(&request).await?;
    Ok(FhirResponse::json_text(
        StatusCode::OK,
        bundle(&result, &base, &base)?,
    ))
}

/// The parameters of a `_search` POST: the URL's and the form body's.
fn form_request(
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
    base: &str,
) -> Result<SearchRequest, ApiError> {
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form && !body.is_empty() {
        return Err(ApiError::UnsupportedMediaType(
            "_search takes its parameters as application/x-www-form-urlencoded".into(),
        ));
    }
    let mut request = request(
        uri.query().unwrap_or_default().as_bytes(),
        headers,
        None,
        base,
    );
    request
        .params
        .extend(url::form_urlencoded::parse(body).into_owned());
    Ok(request)
}

/// `POST /[type]/_search` with `application/x-www-form-urlencoded` parameters (and any in the
/// URL).
pub async fn search_post(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    target: Target,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<FhirResponse, ApiError> {
    let request = form_request(&headers, &uri, &body, &base)?;
    let path = format!("{base}/{}", target.resource_type);
    run(&state, &base, &path, target.resource_type, request).await
}

/// `GET /Patient/[id]/[type]?…`: a search inside one patient's compartment; and
/// `GET /Patient/[id]/$everything`.
pub async fn compartment_search(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    target: Target,
    Path((_, _, inner)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<FhirResponse, ApiError> {
    let id = target.id()?.clone();
    if target.resource_type.as_str() != "Patient" {
        return Err(ApiError::NotFound(format!(
            "only the Patient compartment can be searched, not {}",
            target.resource_type
        )));
    }
    if inner == "$everything" {
        let params: Vec<(String, String)> =
            url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let result = state.records.everything(&id, &params).await?;
        let path = format!("{base}/Patient/{id}/$everything");
        return Ok(FhirResponse::json_text(
            StatusCode::OK,
            bundle(&result, &base, &path)?,
        ));
    }
    let inner: ResourceType = inner
        .parse()
        .map_err(|e: crate::fhir::UnknownResourceType| ApiError::NotFound(e.to_string()))?;
    let request = request(
        uri.query().unwrap_or_default().as_bytes(),
        &headers,
        Some(id.to_string()),
        &base,
    );
    let path = format!("{base}/Patient/{id}/{inner}");
    run(&state, &base, &path, inner, request).await
}

fn request(
    query: &[u8],
    headers: &HeaderMap,
    compartment: Option<String>,
    base: &str,
) -> SearchRequest {
    let strict = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("handling=strict"));
    SearchRequest {
        params: url::form_urlencoded::parse(query).into_owned().collect(),
        strict,
        compartment,
        base: Some(base.to_owned()),
    }
}

async fn run(
    state: &AppState,
    base: &str,
    path: &str,
    resource_type: ResourceType,
    request: SearchRequest,
) -> Result<FhirResponse, ApiError> {
    let result = state.records.search(resource_type, &request).await?;
    Ok(FhirResponse::json_text(
        StatusCode::OK,
        bundle(&result, base, path)?,
    ))
}

/// The searchset Bundle: matches, an OperationOutcome for ignored parameters, paging links.
/// Written as text: stored bodies sent whole are spliced in as they are stored, not parsed and
/// serialised again.
fn bundle(result: &SearchResult, base: &str, path: &str) -> Result<String, ApiError> {
    let link = |cursor: Option<&str>| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &result.used {
            query.append_pair(key, value);
        }
        query.append_pair("_count", &result.count.to_string());
        if let Some(cursor) = cursor {
            query.append_pair("_page", cursor);
        }
        format!("{path}?{}", query.finish())
    };
    let mut links = vec![
        json!({"relation": "self", "url": link(result.cursor.as_deref())}),
        json!({"relation": "first", "url": link(None)}),
    ];
    if let Some(previous) = &result.page.prev_before {
        links.push(json!({"relation": "previous", "url": link(Some(&format!("~{previous}")))}));
    }
    if let Some(next) = &result.page.next_after {
        links.push(json!({"relation": "next", "url": link(Some(next))}));
    }
    let mut outcome = None;
    if !result.ignored.is_empty() {
        let issues = result
            .ignored
            .iter()
            .map(|name| OutcomeIssue {
                severity: crate::fhir::IssueSeverity::Warning,
                code: IssueType::NotSupported,
                diagnostics: format!(
                    "search parameter '{}' is not known here and was ignored",
                    crate::fhir::truncate(name)
                ),
                expression: Vec::new(),
            })
            .collect();
        outcome = Some(json!({
            "resource": OperationOutcome::new(issues).to_json(),
            "search": {"mode": "outcome"},
        }));
    }
    let mut head = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
    });
    if let Some(total) = result.page.total {
        head["total"] = json!(total);
    }
    let mut text = head.to_string();
    // One allocation for the whole Bundle rather than a doubling per entry.
    let bodies: usize = result
        .page
        .entries
        .iter()
        .chain(&result.included)
        .map(|s| s.body.as_ref().map_or(4, String::len) + base.len() + 96)
        .sum();
    text.reserve(bodies + 2);
    let entries = result
        .page
        .entries
        .iter()
        .map(|stored| (stored, "match", &result.shape))
        .chain(
            result
                .included
                .iter()
                .map(|stored| (stored, "include", &Shape::Full)),
        );
    let mut first = true;
    for (stored, mode, shape) in entries {
        begin_entry(&mut text, &mut first);
        write_entry(&mut text, stored, base, mode, shape)?;
    }
    if let Some(outcome) = outcome {
        begin_entry(&mut text, &mut first);
        text.push_str(&outcome.to_string());
    }
    if !first {
        text.push_str("]}");
    }
    Ok(text)
}

/// Opens the `entry` array before the first entry (FHIR JSON has no empty arrays, so a Bundle
/// without entries has no `entry`), separates the others. `text` is an object whose closing
/// brace was dropped on the first call.
fn begin_entry(text: &mut String, first: &mut bool) {
    if *first {
        text.pop();
        text.push_str(",\"entry\":[");
        *first = false;
    } else {
        text.push(',');
    }
}

fn write_entry(
    text: &mut String,
    stored: &StoredResource,
    base: &str,
    mode: &str,
    shape: &Shape,
) -> Result<(), ApiError> {
    let full_url = format!("{base}/{}/{}", stored.resource_type, stored.id);
    text.push_str("{\"fullUrl\":");
    push_json_string(text, &full_url);
    text.push_str(",\"resource\":");
    let body = stored.body.as_deref().unwrap_or("null");
    match shape {
        Shape::Full => text.push_str(body),
        _ => {
            let resource: Value = serde_json::from_str(body)
                .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
            text.push_str(&shape.apply(resource).to_string());
        }
    }
    text.push_str(",\"search\":{\"mode\":\"");
    text.push_str(mode);
    text.push_str("\"}}");
    Ok(())
}

/// `value` as a JSON string. Ids and type names never need escaping, so the escaper runs
/// only for an unusual base URL.
fn push_json_string(text: &mut String, value: &str) {
    if value.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        text.push_str(&Value::from(value).to_string());
    } else {
        text.push('"');
        text.push_str(value);
        text.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::push_json_string;

    #[test]
    fn full_urls_are_valid_json_strings() {
        for url in [
            "http://h/fhir/Patient/1",
            "http://h/\"q\"\\/Patient/1",
            "a\nb",
        ] {
            let mut text = String::new();
            push_json_string(&mut text, url);
            let back: String = serde_json::from_str(&text).unwrap();
            assert_eq!(back, url);
        }
    }
}
