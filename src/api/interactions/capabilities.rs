//! `GET /metadata`: a CapabilityStatement that claims exactly what this server does.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::api::response::FhirResponse;
use crate::api::AppState;
use crate::fhir::search_params::{ParamType, SearchParamRegistry};
use crate::fhir::ResourceType;

/// Built per request: the registry grows with custom SearchParameters as they are stored.
pub async fn capability_statement(State(state): State<AppState>) -> FhirResponse {
    let checks = match state.records.current_checks().await {
        Ok(checks) => checks,
        // The store is unreachable: describe the parameters last loaded.
        Err(_) => state.records.checks(),
    };
    FhirResponse::new(StatusCode::OK, build(checks.registry()))
}

/// What search accepts beyond the per-type parameters, for the CapabilityStatement text.
const SEARCH_NOTES: &str = "Search: every R4 parameter type with modifiers :missing, :exact, \
:contains, :text, :not, :in and :not-in (against stored ValueSets with an expansion or \
compose.include concept lists), :of-type, :identifier, :[type], uri :above/:below; chaining, \
_has, _include/_revinclude (:iterate, *), _sort, _count with next and previous links, _total, \
_summary (true, text, data, count, false), _elements. Search across types: GET /?_type=... \
and POST /_search with _id, _lastUpdated, _tag, _profile, _security, _source and parameters \
every listed type shares, sorted by _id, _lastUpdated or such a shared parameter. Absolute references to this server's base are local references.";

/// The search parameters a type can be searched by: every indexed one, plus `_id` and
/// `_lastUpdated` (columns of the resource table).
fn search_params(registry: &SearchParamRegistry, resource_type: ResourceType) -> Vec<Value> {
    let mut params: Vec<Value> = registry
        .for_type(resource_type.as_str())
        .iter()
        .filter(|p| p.param.param_type != ParamType::Special && p.expression.is_some())
        .map(|p| {
            json!({
                "name": p.code(),
                "definition": p.param.url,
                "type": p.param.param_type.as_str(),
            })
        })
        .collect();
    for (name, kind) in [("_id", "token"), ("_lastUpdated", "date")] {
        if !params.iter().any(|p| p["name"] == name) {
            params.push(json!({"name": name, "type": kind}));
        }
    }
    params
}

fn build(registry: &SearchParamRegistry) -> Value {
    let interactions = [
        "read",
        "vread",
        "update",
        "delete",
        "history-instance",
        "history-type",
        "create",
        "search-type",
    ];
    let mut resources: Vec<Value> = ResourceType::all()
        .map(|resource_type| {
            json!({
                "type": resource_type.as_str(),
                "interaction": interactions.iter().map(|code| json!({"code": code})).collect::<Vec<_>>(),
                "versioning": "versioned-update",
                "readHistory": true,
                "updateCreate": true,
                "conditionalCreate": true,
                "conditionalRead": "not-supported",
                "conditionalUpdate": true,
                "conditionalDelete": "single",
                "searchInclude": ["*"],
                "searchRevInclude": ["*"],
                "searchParam": search_params(registry, resource_type),
                "operation": [{
                    "name": "validate",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
                }],
            })
        })
        .collect();
    add_measure_operations(&mut resources);
    if let Some(operations) = resources
        .iter_mut()
        .find(|r| r["type"] == "Patient")
        .and_then(|r| r["operation"].as_array_mut())
    {
        operations.push(json!({
            "name": "everything",
            "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
            "documentation": "_type, _since, start/end (clinical date), _count; paged both ways",
        }));
    }
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-23",
        "publisher": "Hearth",
        "kind": "instance",
        "software": {"name": "Hearth", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Hearth FHIR R4 gateway for patient-centred medical homes"},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": SEARCH_NOTES,
            "resource": resources,
            "interaction": [
                {"code": "transaction"},
                {"code": "batch"},
                {"code": "history-system"},
                {"code": "search-system"},
            ],
            "searchParam": [
                {"name": "_id", "type": "token"},
                {"name": "_lastUpdated", "type": "date"},
                {"name": "_tag", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-tag"},
                {"name": "_profile", "type": "uri", "definition": "http://hl7.org/fhir/SearchParameter/Resource-profile"},
                {"name": "_security", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-security"},
                {"name": "_source", "type": "uri", "definition": "http://hl7.org/fhir/SearchParameter/Resource-source"},
                {"name": "_type", "type": "token"},
            ],
        }],
    })
}

/// Measure also answers `$evaluate-measure` and `$care-gaps`.
fn add_measure_operations(resources: &mut [Value]) {
    let measure = resources.iter_mut().find(|r| r["type"] == "Measure");
    if let Some(operations) = measure.and_then(|r| r["operation"].as_array_mut()) {
        operations.push(json!({
            "name": "evaluate-measure",
            "definition": "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure",
        }));
        operations.push(json!({
            "name": "care-gaps",
            "definition": "http://hl7.org/fhir/us/davinci-deqm/OperationDefinition/care-gaps",
        }));
    }
}
