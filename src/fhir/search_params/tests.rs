use serde_json::json;

use super::*;

#[test]
fn loads_all_r4_parameters_by_type() {
    let registry = SearchParamRegistry::r4().unwrap();
    let code = registry.get("Observation", "code").unwrap();
    assert_eq!(code.param.param_type, ParamType::Token);
    let only_observation = Expression::parse("Observation.code").unwrap();
    assert_eq!(
        code.expression.as_ref().map(Expression::ast),
        Some(only_observation.ast())
    );
    // Resource-level parameters apply everywhere; DomainResource ones not to Bundle.
    assert!(registry.get("Patient", "_id").is_some());
    assert!(registry.get("Bundle", "_lastUpdated").is_some());
    assert!(registry.get("Patient", "_text").is_some());
    assert!(registry.get("Bundle", "_text").is_none());
    // Multi-base parameters keep only the branch of the type asking.
    let patient = registry.get("Observation", "patient").unwrap();
    assert!(patient.param.base.len() > 10);
    let ast = format!("{:?}", patient.expression.as_ref().unwrap().ast());
    assert!(ast.contains("Observation"));
    assert!(!ast.contains("AllergyIntolerance"));
    let subject = registry.get("Encounter", "subject").unwrap();
    assert_eq!(subject.param.targets, vec!["Group", "Patient"]);
    assert!(registry.for_type("NoSuchType").is_empty());
}

#[test]
fn composite_components_know_their_types() {
    let registry = SearchParamRegistry::r4().unwrap();
    let cvq = registry.get("Observation", "code-value-quantity").unwrap();
    let types: Vec<_> = cvq.param.components.iter().map(|c| c.param_type).collect();
    assert_eq!(
        types,
        vec![Some(ParamType::Token), Some(ParamType::Quantity)]
    );
    assert_eq!(
        cvq.param.components[1].expression.source(),
        "value.as(Quantity)"
    );
}

#[test]
fn adds_and_replaces_custom_parameters() {
    let mut registry = SearchParamRegistry::r4().unwrap();
    let custom = json!({
        "resourceType": "SearchParameter",
        "url": "http://example.org/sp/patient-race",
        "code": "race",
        "base": ["Patient"],
        "type": "token",
        "expression": "Patient.extension('http://hl7.org/fhir/us/core/StructureDefinition/us-core-race').extension('ombCategory').value"
    });
    registry.add(&custom).unwrap();
    assert_eq!(
        registry.get("Patient", "race").unwrap().param.url,
        "http://example.org/sp/patient-race"
    );
    let mut renamed = custom.clone();
    renamed["code"] = json!("race2");
    registry.add(&renamed).unwrap();
    assert!(registry.get("Patient", "race").is_none());
    assert!(registry.get("Patient", "race2").is_some());
    assert!(registry.get("Patient", "name").is_some());
}

#[test]
fn rejects_invalid_definitions() {
    let mut registry = SearchParamRegistry::empty().unwrap();
    let bad_expr = json!({
        "resourceType": "SearchParameter", "url": "u", "code": "c",
        "base": ["Patient"], "type": "token", "expression": "Patient.name.frob()"
    });
    assert!(matches!(
        registry.add(&bad_expr),
        Err(SearchParamError::Expression { .. })
    ));
    let bad_base = json!({
        "resourceType": "SearchParameter", "url": "u", "code": "c",
        "base": ["Nope"], "type": "token", "expression": "Nope.x"
    });
    assert!(matches!(
        registry.add(&bad_base),
        Err(SearchParamError::UnknownBase { .. })
    ));
    let no_type =
        json!({"resourceType": "SearchParameter", "url": "u", "code": "c", "base": ["Patient"]});
    assert!(matches!(
        registry.add(&no_type),
        Err(SearchParamError::Invalid { field: "type", .. })
    ));
}

#[test]
fn param_types_round_trip() {
    for t in [
        "number",
        "date",
        "string",
        "token",
        "reference",
        "composite",
        "quantity",
        "uri",
        "special",
    ] {
        assert_eq!(t.parse::<ParamType>().unwrap().as_str(), t);
    }
    assert!("bogus".parse::<ParamType>().is_err());
}
