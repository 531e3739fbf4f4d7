//! Index extraction on hand-built resources, with expected values written out.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::*;
use crate::fhir::search_params::SearchParamRegistry;

fn registry() -> &'static SearchParamRegistry {
    static REGISTRY: std::sync::OnceLock<SearchParamRegistry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| SearchParamRegistry::r4().unwrap())
}

fn values<'a>(index: &'a ResourceIndex<'a>, code: &str) -> Vec<&'a IndexValue<'a>> {
    index
        .entries
        .iter()
        .filter(|e| e.code == code)
        .map(|e| &e.value)
        .collect()
}

fn b(s: &str) -> Option<Cow<'_, str>> {
    Some(Cow::Borrowed(s))
}

// 2025-01-01T00:00:00Z, 2026-01-01T00:00:00Z.
const Y2025: i64 = 1_735_689_600_000;
const Y2026: i64 = 1_767_225_600_000;

fn observation() -> Value {
    json!({
        "resourceType": "Observation",
        "id": "glucose",
        "meta": {"lastUpdated": "2025-03-04T05:06:07.890Z", "tag": [{"system": "http://t", "code": "x"}]},
        "status": "final",
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": "2345-7", "display": "Glucose SerPl-mCnc"},
                {"code": "GLU"}
            ],
            "text": "Glucose"
        },
        "subject": {"reference": "Patient/p1"},
        "performer": [{"reference": "https://ehr.example/fhir/Practitioner/d1/_history/2"}],
        "effectiveDateTime": "2025",
        "valueQuantity": {"value": 100, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}
    })
}

#[test]
fn tokens_with_and_without_system_and_text() {
    let obs = observation();
    let index = extract(registry(), &obs).unwrap();
    assert!(index.skipped.is_empty(), "{:?}", index.skipped);
    let code = values(&index, "code");
    assert_eq!(
        code,
        vec![
            &IndexValue::Token(Token {
                system: b("http://loinc.org"),
                code: b("2345-7"),
                text: b("Glucose SerPl-mCnc")
            }),
            &IndexValue::Token(Token {
                system: None,
                code: b("GLU"),
                text: None
            }),
            &IndexValue::Token(Token {
                system: None,
                code: None,
                text: b("Glucose")
            }),
        ]
    );
    assert_eq!(
        values(&index, "status"),
        vec![&IndexValue::Token(Token {
            system: None,
            code: b("final"),
            text: None
        })]
    );
    assert_eq!(
        values(&index, "_id"),
        vec![&IndexValue::Token(Token {
            system: None,
            code: b("glucose"),
            text: None
        })]
    );
    assert_eq!(values(&index, "_tag").len(), 1);
}

#[test]
fn dates_by_precision_and_instants() {
    let obs = observation();
    let index = extract(registry(), &obs).unwrap();
    assert_eq!(
        values(&index, "date"),
        vec![&IndexValue::Date(DateRange {
            low: Y2025,
            high: Y2026 - 1
        })]
    );
    // 2025-03-04T05:06:07.890Z = Y2025 + (31 + 28 + 3) days + 05:06:07.890.
    let instant = Y2025 + 62 * 86_400_000 + ((5 * 60 + 6) * 60 + 7) * 1000 + 890;
    assert_eq!(
        values(&index, "_lastUpdated"),
        vec![&IndexValue::Date(DateRange {
            low: instant,
            high: instant
        })]
    );
    let encounter = json!({
        "resourceType": "Encounter",
        "period": {"start": "2025-01-01T10:00:00+01:00"}
    });
    let index = extract(registry(), &encounter).unwrap();
    assert_eq!(
        values(&index, "date"),
        vec![&IndexValue::Date(DateRange {
            low: Y2025 + 9 * 3_600_000,
            high: DATE_MAX
        })]
    );
}

#[test]
fn references_relative_absolute_and_by_identifier() {
    let obs = observation();
    let index = extract(registry(), &obs).unwrap();
    let subject = ReferenceValue {
        resource_type: b("Patient"),
        id: b("p1"),
        url: b("Patient/p1"),
        ..ReferenceValue::default()
    };
    assert_eq!(
        values(&index, "subject"),
        vec![&IndexValue::Reference(subject.clone())]
    );
    // `patient` is `Observation.subject.where(resolve() is Patient)`.
    assert_eq!(
        values(&index, "patient"),
        vec![&IndexValue::Reference(subject)]
    );
    assert_eq!(
        values(&index, "performer"),
        vec![&IndexValue::Reference(ReferenceValue {
            resource_type: b("Practitioner"),
            id: b("d1"),
            version: b("2"),
            base: b("https://ehr.example/fhir"),
            url: b("https://ehr.example/fhir/Practitioner/d1/_history/2"),
            identifier: None,
        })]
    );
    let group_subject = json!({
        "resourceType": "Observation",
        "subject": {"reference": "Group/g1"},
        "focus": [{"identifier": {"system": "urn:mrn", "value": "123"}}]
    });
    let index = extract(registry(), &group_subject).unwrap();
    assert_eq!(values(&index, "subject").len(), 1);
    assert!(values(&index, "patient").is_empty());
    assert_eq!(
        values(&index, "focus"),
        vec![&IndexValue::Reference(ReferenceValue {
            identifier: Some(Token {
                system: b("urn:mrn"),
                code: b("123"),
                text: None
            }),
            ..ReferenceValue::default()
        })]
    );
}

#[test]
fn quantities_choice_types_and_ucum_canonical_values() {
    let obs = observation();
    let index = extract(registry(), &obs).unwrap();
    let expected = QuantityValue {
        value: 100.0,
        system: b("http://unitsofmeasure.org"),
        code: b("mg/dL"),
        unit: b("mg/dL"),
        canonical: Some(Canonical {
            value: 1000.0,
            unit: "g.m-3".into(),
        }),
    };
    assert_eq!(
        values(&index, "value-quantity"),
        vec![&IndexValue::Quantity(expected.clone())]
    );
    // The composite pairs each code token with the value.
    // Two coded tokens pair with the value; the text-only token does not.
    let cvq = values(&index, "code-value-quantity");
    assert_eq!(cvq.len(), 2);
    assert_eq!(
        cvq[0],
        &IndexValue::Composite(vec![
            IndexValue::Token(Token {
                system: b("http://loinc.org"),
                code: b("2345-7"),
                text: b("Glucose SerPl-mCnc")
            }),
            IndexValue::Quantity(expected),
        ])
    );
    // A string value is not a quantity.
    let text_obs = json!({"resourceType": "Observation", "valueString": "Positive"});
    let index = extract(registry(), &text_obs).unwrap();
    assert!(values(&index, "value-quantity").is_empty());
    assert!(
        values(&index, "value-string").contains(&&IndexValue::String(StringValue {
            normalized: b("positive").unwrap(),
            exact: b("Positive").unwrap(),
        }))
    );
}

#[test]
fn strings_are_normalised_per_name_part() {
    let patient = json!({
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"family": "Müller", "given": ["Élodie", "Anne"]}],
        "birthDate": "1980-02",
        "deceasedBoolean": false,
        "telecom": [{"system": "phone", "value": "555-1234"}],
        "address": [{"line": ["1 Rue Café"], "city": "Paris"}]
    });
    let index = extract(registry(), &patient).unwrap();
    let names: Vec<(String, String)> = values(&index, "name")
        .into_iter()
        .map(|v| match v {
            IndexValue::String(s) => (s.normalized.to_string(), s.exact.to_string()),
            other => panic!("not a string: {other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("muller".into(), "Müller".into()),
            ("elodie".into(), "Élodie".into()),
            ("anne".into(), "Anne".into()),
        ]
    );
    assert_eq!(values(&index, "address").len(), 2);
    // A second HumanName repeating a given name adds no duplicate row.
    let mut twice = patient.clone();
    twice["name"] = json!([{"given": ["Anne"]}, {"given": ["Anne"], "family": "Smith"}]);
    let index = extract(registry(), &twice).unwrap();
    assert_eq!(values(&index, "given").len(), 1);
    assert_eq!(values(&index, "name").len(), 2);
    assert_eq!(
        values(&index, "deceased"),
        vec![&IndexValue::Token(Token {
            code: b("false"),
            ..Token::default()
        })]
    );
    assert_eq!(
        values(&index, "phone"),
        vec![&IndexValue::Token(Token {
            code: b("555-1234"),
            ..Token::default()
        })]
    );
    // February 1980: 29 days (leap year).
    let IndexValue::Date(birth) = values(&index, "birthdate")[0] else {
        panic!("birthdate is not a date");
    };
    assert_eq!(birth.high - birth.low + 1, 29 * 86_400_000);
}

#[test]
fn missing_resource_type_is_an_error() {
    assert!(matches!(
        extract(registry(), &json!({"id": "x"})),
        Err(IndexError::MissingResourceType)
    ));
    let unknown = json!({"resourceType": "NotAType"});
    assert!(extract(registry(), &unknown).unwrap().entries.is_empty());
}

#[test]
fn malformed_elements_are_ignored_without_panicking() {
    let messy = json!({
        "resourceType": "Observation",
        "id": 7,
        "code": "not-a-codeable-concept",
        "subject": [1, 2, {"reference": 5}],
        "performer": [null, {"reference": "Patient/"}, {"reference": "ünïcode/ß"}],
        "valueQuantity": {"value": "abc", "code": "µg"},
        "effectivePeriod": {"start": 7, "end": "2025-13-45"},
        "issued": "yesterday",
        "component": [null, {"valueQuantity": {"value": 1e308, "unit": "10*400"}}, []],
        "meta": {"tag": "x", "lastUpdated": {"a": 1}}
    });
    let index = extract(registry(), &messy).unwrap();
    assert!(values(&index, "date").is_empty());
    assert!(values(&index, "value-quantity").is_empty());
    assert!(values(&index, "patient").is_empty());
    assert_eq!(crate::fhir::compartment::patient_compartment(&messy), None);
}

#[test]
fn custom_parameters_are_indexed_and_entries_can_be_owned() {
    let mut custom = SearchParamRegistry::r4().unwrap();
    custom
        .add(&json!({
            "resourceType": "SearchParameter",
            "url": "http://example.org/sp/birth-sex",
            "code": "birthsex",
            "base": ["Patient"],
            "type": "token",
            "expression": "Patient.extension('http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex').value"
        }))
        .unwrap();
    let patient = json!({
        "resourceType": "Patient",
        "extension": [{
            "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
            "valueCode": "F"
        }]
    });
    let owned: Vec<IndexEntry<'static>> = extract(&custom, &patient)
        .unwrap()
        .entries
        .into_iter()
        .map(IndexEntry::into_owned)
        .collect();
    drop(custom);
    let birthsex: Vec<_> = owned.iter().filter(|e| e.code == "birthsex").collect();
    assert_eq!(
        birthsex[0].value,
        IndexValue::Token(Token {
            code: b("F"),
            ..Token::default()
        })
    );
    assert_eq!(birthsex.len(), 1);
}

#[test]
fn implicit_ranges_follow_precision() {
    let close =
        |(a, b): (f64, f64), (x, y): (f64, f64)| (a - x).abs() < 1e-12 && (b - y).abs() < 1e-12;
    assert!(close(implicit_range("100").unwrap(), (99.5, 100.5)));
    assert!(close(implicit_range("5.40").unwrap(), (5.395, 5.405)));
    assert!(close(implicit_range("-1.5").unwrap(), (-1.55, -1.45)));
    assert!(close(implicit_range("1e2").unwrap(), (50.0, 150.0)));
    assert!(close(implicit_range("1.0e2").unwrap(), (95.0, 105.0)));
    assert_eq!(implicit_range("abc"), None);
    assert_eq!(implicit_range("inf"), None);
}

#[test]
fn only_absolute_references_are_searched_by_url() {
    fn written(url: &str) -> ReferenceValue<'_> {
        ReferenceValue {
            url: b(url),
            ..ReferenceValue::default()
        }
    }
    assert_eq!(written("Patient/p1").searched_url(), None);
    assert_eq!(written("Patient/p1/_history/2").searched_url(), None);
    for absolute in [
        "https://ehr.example/fhir/Patient/p1",
        "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
        "http://example.org/Questionnaire/q|2.0",
    ] {
        assert_eq!(written(absolute).searched_url(), Some(absolute));
    }
    assert_eq!(ReferenceValue::default().searched_url(), None);
}
