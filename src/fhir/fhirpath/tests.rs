//! Evaluator tests on hand-built resources.

use serde_json::{json, Value};

use super::*;

fn eval(expr: &str, resource: &Value) -> Vec<Value> {
    let engine = Engine::r4().unwrap();
    let expr = Expression::parse(expr).unwrap();
    engine
        .evaluate(&expr, resource)
        .unwrap()
        .into_iter()
        .map(|item| match item {
            Item::Node { json, .. } => json.clone(),
            Item::Boolean(b) => json!(b),
            Item::Integer(i) => json!(i),
            Item::Decimal(d) => json!(d),
            Item::String(s) => json!(s),
            Item::ResolvedType(t) => json!({ "resolved": t }),
        })
        .collect()
}

fn observation() -> Value {
    json!({
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}], "text": "Glucose"},
        "subject": {"reference": "Patient/p1"},
        "performer": [
            {"reference": "Practitioner/d1"},
            {"reference": "https://ehr.example/fhir/Patient/p2"},
            {"reference": "#org"}
        ],
        "contained": [{"resourceType": "Organization", "id": "org", "name": "Lab"}],
        "valueQuantity": {"value": 95, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
        "component": [
            {"code": {"text": "a"}, "valueQuantity": {"value": 1}},
            {"code": {"text": "b"}, "valueString": "high"}
        ],
        "extension": [{"url": "http://x/ext", "valueBoolean": true}]
    })
}

#[test]
fn navigates_paths_and_choice_types() {
    let obs = observation();
    assert_eq!(
        eval("Observation.code.coding.code", &obs),
        vec![json!("2339-0")]
    );
    assert_eq!(eval("Observation.value.value", &obs), vec![json!(95)]);
    assert_eq!(
        eval("(Observation.value as Quantity).unit", &obs),
        vec![json!("mg/dL")]
    );
    assert!(eval("Observation.value as string", &obs).is_empty());
    assert_eq!(
        eval("Observation.value.ofType(Quantity).code", &obs),
        vec![json!("mg/dL")]
    );
    assert_eq!(eval("Observation.component.value", &obs).len(), 2);
    assert_eq!(
        eval("(Observation.component.value as string)", &obs),
        vec![json!("high")]
    );
    // A path rooted at another type selects nothing.
    assert!(eval("Patient.name", &obs).is_empty());
    assert_eq!(eval("Resource.id", &obs), vec![json!("o1")]);
}

#[test]
fn where_resolve_and_is_filter_references_by_target_type() {
    let obs = observation();
    assert_eq!(
        eval("Observation.performer.where(resolve() is Patient)", &obs),
        vec![json!({"reference": "https://ehr.example/fhir/Patient/p2"})]
    );
    assert_eq!(
        eval(
            "Observation.performer.where(resolve() is Organization)",
            &obs
        ),
        vec![json!({"reference": "#org"})]
    );
    assert_eq!(
        eval("Observation.performer.resolve().name", &obs),
        vec![json!("Lab")]
    );
    assert_eq!(
        eval("Observation.subject.resolve() is Patient", &obs),
        vec![json!(true)]
    );
}

#[test]
fn union_deduplicates_and_indexer_selects() {
    let obs = observation();
    assert_eq!(
        eval("Observation.status | Observation.status", &obs),
        vec![json!("final")]
    );
    assert_eq!(
        eval(
            "Observation.component[1].code.text | Observation.component.first().code.text",
            &obs
        ),
        vec![json!("b"), json!("a")]
    );
    assert!(eval("Observation.component[5]", &obs).is_empty());
}

#[test]
fn logic_equality_and_exists() {
    let alive = json!({"resourceType": "Patient", "deceasedBoolean": false});
    let dead = json!({"resourceType": "Patient", "deceasedDateTime": "2020-01-01"});
    let unknown = json!({"resourceType": "Patient"});
    let expr = "Patient.deceased.exists() and Patient.deceased != false";
    assert_eq!(eval(expr, &alive), vec![json!(false)]);
    assert_eq!(eval(expr, &dead), vec![json!(true)]);
    assert_eq!(eval(expr, &unknown), vec![json!(false)]);
    assert_eq!(eval("{} or true", &unknown), vec![json!(true)]);
    assert!(eval("{} and true", &unknown).is_empty());
    assert_eq!(
        eval("(1 + 2) * 3 = 9 and 'a' & 'b' = 'ab'", &unknown),
        vec![json!(true)]
    );
    assert_eq!(
        eval("Patient.name.exists().not()", &unknown),
        vec![json!(true)]
    );
}

#[test]
fn where_on_strings_and_extensions() {
    let patient = json!({
        "resourceType": "Patient",
        "telecom": [{"system": "phone", "value": "555"}, {"system": "email", "value": "a@b.c"}],
        "extension": [{"url": "http://x/race", "valueString": "r"}]
    });
    assert_eq!(
        eval("Patient.telecom.where(system='email').value", &patient),
        vec![json!("a@b.c")]
    );
    assert_eq!(
        eval("Patient.extension('http://x/race').value", &patient),
        vec![json!("r")]
    );
    assert_eq!(
        eval("Patient.telecom.select(value).count()", &patient),
        vec![json!(2)]
    );
    assert_eq!(
        eval(
            "Patient.telecom.where($this.system.startsWith('ph')).value",
            &patient
        ),
        vec![json!("555")]
    );
}

#[test]
fn bundle_entry_resources_are_typed_from_resource_type() {
    let bundle = json!({
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Composition", "subject": {"reference": "Patient/1"}}}]
    });
    assert_eq!(
        eval("Bundle.entry[0].resource.subject.reference", &bundle),
        vec![json!("Patient/1")]
    );
    assert_eq!(
        eval("Bundle.entry[0].resource is Composition", &bundle),
        vec![json!(true)]
    );
}

#[test]
fn specialize_drops_branches_of_other_types() {
    let model = TypeModel::r4().unwrap();
    let expr = Expression::parse("Account.subject | Observation.subject | Resource.id").unwrap();
    let obs = expr.specialize(model, "Observation");
    let text = format!("{:?}", obs.ast());
    assert!(!text.contains("Account"));
    assert!(text.contains("Observation"));
    assert!(text.contains("Resource"));
    let none = Expression::parse("Account.subject")
        .unwrap()
        .specialize(model, "Patient");
    assert_eq!(none.ast(), &Expr::Empty);
}

#[test]
fn evaluation_errors_are_typed() {
    let engine = Engine::r4().unwrap();
    let obs = observation();
    let expr = Expression::parse("Observation.component.code.text is string").unwrap();
    assert!(matches!(
        engine.evaluate(&expr, &obs),
        Err(EvalError::NotSingleton { .. })
    ));
    let expr = Expression::parse("%vs-unknown").unwrap();
    assert!(matches!(
        engine.evaluate(&expr, &obs),
        Err(EvalError::UnknownConstant(_))
    ));
}

#[test]
fn every_prefix_of_an_expression_parses_or_fails_cleanly() {
    let source = "Patient.name.where(given.first() = 'Ré\\u00e9' and (use != 'old')).family[0] | %resource.id | @2020-01-01T10:00Z";
    let mut boundaries: Vec<usize> = source.char_indices().map(|(i, _)| i).collect();
    boundaries.push(source.len());
    let patient = json!({"resourceType": "Patient", "name": [{"given": ["Réé"], "family": "X"}]});
    let engine = Engine::r4().unwrap();
    for end in boundaries {
        if let Ok(expr) = Expression::parse(&source[..end]) {
            let _ = engine.evaluate(&expr, &patient);
        }
    }
    assert!(Expression::parse(source).is_ok());
}

#[test]
fn dates_compare_as_instants_with_precision() {
    let period = json!({
        "resourceType": "Encounter",
        "period": {"start": "2025-01-01T10:00:00+01:00", "end": "2025-01-01T09:30:00Z"}
    });
    // Lexically "10:00" > "09:30", but 09:00Z is before 09:30Z.
    assert_eq!(
        eval("Encounter.period.start < Encounter.period.end", &period),
        vec![json!(true)]
    );
    assert_eq!(
        eval("Encounter.period.start = @2025-01-01T09:00:00Z", &period),
        vec![json!(true)]
    );
    // Different precisions: ordered when the ranges are apart, empty when they overlap.
    assert_eq!(
        eval("Encounter.period.start > @2024", &period),
        vec![json!(true)]
    );
    assert!(eval("Encounter.period.start > @2025-01", &period).is_empty());
    assert!(eval("Encounter.period.start = @2025", &period).is_empty());
    // Plain strings still compare lexically.
    assert_eq!(eval("'abc' < 'abd'", &period), vec![json!(true)]);
}

#[test]
fn primitive_extensions_are_reachable() {
    let birth_time = "http://hl7.org/fhir/StructureDefinition/patient-birthTime";
    let patient = json!({
        "resourceType": "Patient",
        "birthDate": "1980-02-03",
        "_birthDate": {"extension": [{"url": birth_time, "valueDateTime": "1980-02-03T10:15:00Z"}]},
        "name": [{"given": ["Ann", "Bea"], "_given": [null, {"extension": [{"url": "http://x/nick", "valueString": "B"}]}]}],
        "_gender": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "asked-declined"}]}
    });
    assert_eq!(
        eval(
            &format!("Patient.birthDate.extension('{birth_time}').value"),
            &patient
        ),
        vec![json!("1980-02-03T10:15:00Z")]
    );
    assert_eq!(
        eval(
            "Patient.name.given.where(extension('http://x/nick').exists())",
            &patient
        ),
        vec![json!("Bea")]
    );
    // A primitive with only extensions exists but has no value.
    assert_eq!(eval("Patient.gender.exists()", &patient), vec![json!(true)]);
    assert_eq!(
        eval("Patient.gender.hasValue()", &patient),
        vec![json!(false)]
    );
    assert_eq!(
        eval("Patient.birthDate.hasValue()", &patient),
        vec![json!(true)]
    );
    assert_eq!(eval("Patient.name.given.count()", &patient), vec![json!(2)]);
}

#[test]
fn large_unions_deduplicate_by_value() {
    let contains: Vec<Value> = (0..200)
        .map(|i| json!({"code": format!("c{}", i % 150)}))
        .collect();
    let vs = json!({
        "resourceType": "ValueSet",
        "expansion": {"contains": contains},
        "compose": {"include": [{"concept": [{"code": "c1"}, {"code": "new"}]}]}
    });
    let codes = eval(
        "ValueSet.expansion.contains.code | ValueSet.compose.include.concept.code",
        &vs,
    );
    assert_eq!(codes.len(), 151);
    assert_eq!(codes[0], json!("c0"));
    assert_eq!(codes[150], json!("new"));
    assert_eq!(eval("(1 | 1.0 | 2 | 'a' | 'a')", &vs).len(), 3);
}
