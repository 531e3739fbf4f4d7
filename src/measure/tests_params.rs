//! CQL parameter values from a Parameters resource: declared types read from
//! ELM and FHIR values converted to them.

use std::sync::Arc;

use serde_json::{json, Value as J};

use super::compile::Param;
use super::parameters::{bind, declared_type};
use super::value::to_json;

const SYS: &str = "{urn:hl7-org:elm-types:r1}";

fn named(ty: &str) -> J {
    json!({"type": "NamedTypeSpecifier", "name": format!("{SYS}{ty}")})
}

fn param(name: &str, elm: &J, lib: usize) -> Param {
    Param {
        name: Arc::from(name),
        default: None,
        lib,
        type_name: declared_type(elm),
    }
}

fn declared(elm: &J) -> Option<String> {
    declared_type(elm)
}

#[test]
fn declared_types_come_from_specifiers_or_defaults() {
    let interval = json!({"parameterTypeSpecifier":
        {"type": "IntervalTypeSpecifier", "pointType": named("DateTime")}});
    assert_eq!(declared(&interval).as_deref(), Some("Interval<DateTime>"));
    let list = json!({"parameterTypeSpecifier": {"type": "ListTypeSpecifier", "elementType": named("String")}});
    assert_eq!(declared(&list).as_deref(), Some("List<String>"));
    let by_default = json!({"default": {"type": "Literal", "valueType": format!("{SYS}Decimal"), "value": "1.5"}});
    assert_eq!(declared(&by_default).as_deref(), Some("Decimal"));
    assert_eq!(declared(&json!({"name": "Untyped"})), None);
}

#[test]
fn values_convert_to_the_declared_types() {
    let specs = [
        ("Count", named("Integer")),
        ("Ratio", named("Decimal")),
        ("Label", named("String")),
        ("Flag", named("Boolean")),
        ("Day", named("Date")),
        ("Instant", named("DateTime")),
        (
            "Window",
            json!({"type": "IntervalTypeSpecifier", "pointType": named("DateTime")}),
        ),
        (
            "Days",
            json!({"type": "IntervalTypeSpecifier", "pointType": named("Date")}),
        ),
        ("Dose", named("Quantity")),
        ("Code", named("Code")),
        ("Concept", named("Concept")),
    ];
    let mut params: Vec<Param> = specs
        .iter()
        .map(|(n, spec)| param(n, &json!({"parameterTypeSpecifier": spec}), 0))
        .collect();
    // An included library's parameter is not the measure's to set.
    params.push(param(
        "Hidden",
        &json!({"parameterTypeSpecifier": named("Integer")}),
        1,
    ));
    let coding = json!({"system": "http://loinc.org", "code": "1234-5", "display": "Thing"});
    let given = json!({"resourceType": "Parameters", "parameter": [
        {"name": "Count", "valueInteger": 3},
        {"name": "Ratio", "valueInteger": 2},
        {"name": "Label", "valueString": "x"},
        {"name": "Flag", "valueBoolean": true},
        {"name": "Day", "valueDate": "2025-02-03"},
        {"name": "Instant", "valueDate": "2025-02-03"},
        {"name": "Window", "valuePeriod": {"start": "2025-01-01T00:00:00Z"}},
        {"name": "Days", "valuePeriod": {"start": "2025-01-01", "end": "2025-03-31"}},
        {"name": "Dose", "valueQuantity": {"value": 5, "code": "mg", "system": "http://unitsofmeasure.org"}},
        {"name": "Code", "valueCoding": coding},
        {"name": "Concept", "valueCoding": coding}]});
    let b = bind(&params, &given).unwrap_or_else(|e| panic!("{e}"));
    let got = |i: usize| b.get(i).map(to_json);
    assert_eq!(got(0), Some(json!(3)));
    assert_eq!(got(1), Some(json!(2.0)));
    assert_eq!(got(2), Some(json!("x")));
    assert_eq!(got(3), Some(json!(true)));
    let types = |i: usize| b.get(i).map(|v| v.type_name().to_owned());
    assert_eq!(types(4).as_deref(), Some("Date"));
    // A date given for a DateTime is promoted.
    assert_eq!(types(5).as_deref(), Some("DateTime"));
    let window = got(6).unwrap_or_default();
    assert_eq!(window["low"], "2025-01-01T00:00:00Z", "{window}");
    assert_eq!(window["high"], J::Null);
    assert_eq!(got(7).unwrap_or_default()["high"], "2025-03-31");
    assert_eq!(got(8), Some(json!({"value": 5.0, "unit": "mg"})));
    assert_eq!(types(9).as_deref(), Some("Code"));
    assert_eq!(types(10).as_deref(), Some("Concept"));
    assert!(b.get(11).is_none());

    let refused = |entry: J| {
        bind(
            &params,
            &json!({"resourceType": "Parameters", "parameter": [entry]}),
        )
        .err()
        .unwrap_or_default()
    };
    assert!(refused(json!({"name": "Hidden", "valueInteger": 1})).contains("no parameter 'Hidden'"));
    assert!(
        refused(json!({"name": "Count", "valueDecimal": 1.5})).contains(
            "'Count' is a CQL Integer; valueDecimal does not convert to it (give valueInteger)"
        )
    );
    assert!(
        refused(json!({"name": "Day", "valueDateTime": "2025-02-03T10:00:00Z"}))
            .contains("(give valueDate)")
    );
    assert!(refused(json!({"name": "Count"})).contains("has no value[x]"));
}
