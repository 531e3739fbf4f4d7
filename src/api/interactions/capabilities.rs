//! `GET /metadata`: a CapabilityStatement that claims exactly what this server does.

use std::sync::OnceLock;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::api::response::FhirResponse;
use crate::fhir::ResourceType;

pub async fn capability_statement() -> FhirResponse {
    static STATEMENT: OnceLock<Value> = OnceLock::new();
    FhirResponse::new(StatusCode::OK, STATEMENT.get_or_init(build).clone())
}

fn build() -> Value {
    let interactions = [
        "read",
        "vread",
        "update",
        "delete",
        "history-instance",
        "history-type",
        "create",
    ];
    let mut resources: Vec<Value> = ResourceType::all()
        .map(|resource_type| {
            json!({
                "type": resource_type.as_str(),
                "interaction": interactions.iter().map(|code| json!({"code": code})).collect::<Vec<_>>(),
                "versioning": "versioned-update",
                "readHistory": true,
                "updateCreate": true,
                "conditionalCreate": false,
                "conditionalRead": "not-supported",
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
                "operation": [{
                    "name": "validate",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
                }],
            })
        })
        .collect();
    add_measure_operations(&mut resources);
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
            "resource": resources,
            "interaction": [
                {"code": "transaction"},
                {"code": "batch"},
                {"code": "history-system"},
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
