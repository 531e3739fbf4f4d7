//! Unit tests: the exact location and message of typical errors, and bounds on hostile input.

use serde_json::{json, Value};
use std::sync::OnceLock;

use super::*;

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| match Validator::load() {
        Ok(v) => v,
        Err(e) => panic!("shipped schema does not load: {e}"),
    })
}

fn issues(resource: Value) -> Vec<Issue> {
    match validator().validate(&resource) {
        Err(ValidationFailure::Invalid(issues)) => issues,
        other => panic!("expected issues, got {other:?}"),
    }
}

/// The issues as `(code, expression, diagnostics)`, for exact comparisons.
fn found(resource: Value) -> Vec<(&'static str, String, String)> {
    issues(resource)
        .into_iter()
        .map(|i| (i.code.code(), i.expression, i.diagnostics))
        .collect()
}

fn one(code: &'static str, expression: &str, diagnostics: &str) -> (&'static str, String, String) {
    (code, expression.to_owned(), diagnostics.to_owned())
}

#[test]
fn validator_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Validator>();
}

#[test]
fn a_valid_patient_passes() {
    let patient = json!({
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"lastUpdated": "2024-05-01T09:30:00Z"},
        "active": true,
        "name": [{"family": "Chalmers", "given": ["Peter", "James"]}],
        "gender": "male",
        "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{"url": "http://example.org/t", "valueTime": "14:35:45"}]},
        "multipleBirthInteger": 2,
        "contained": [{"resourceType": "Organization", "id": "o1", "name": "Clinic"}]
    });
    assert_eq!(validator().validate(&patient), Ok(()));
}

#[test]
fn nulls_keep_primitive_arrays_aligned_with_their_extensions() {
    let patient = json!({
        "resourceType": "Patient",
        "name": [{
            "given": ["Jo", null],
            "_given": [null, {"extension": [{"url": "http://e/x", "valueCode": "unknown"}]}]
        }]
    });
    assert_eq!(validator().validate(&patient), Ok(()));
    assert_eq!(
        found(json!({"resourceType": "Patient", "name": [{"given": ["Jo", 7]}]})),
        [one(
            "structure",
            "Patient.name[0].given[1]",
            "\"given\" must be a string, not the number 7"
        )]
    );
    // Outside arrays, null is no value at all.
    assert_eq!(
        found(json!({"resourceType": "Patient", "active": null}))[0].2,
        "\"active\" must be a boolean (true or false), not null"
    );
}

#[test]
fn empty_arrays_and_objects_are_refused() {
    assert_eq!(
        found(json!({"resourceType": "Patient", "name": [], "maritalStatus": {}})),
        [
            one(
                "invariant",
                "Patient.name",
                "\"name\" must not be an empty array; leave the element out instead"
            ),
            one(
                "invariant",
                "Patient.maritalStatus",
                "\"maritalStatus\" must not be an empty object; leave the element out instead"
            ),
        ]
    );
}

#[test]
fn wrong_json_type() {
    assert_eq!(
        found(json!({"resourceType": "Patient", "active": "yes"})),
        [one(
            "structure",
            "Patient.active",
            "\"active\" must be a boolean (true or false), not the string \"yes\""
        )]
    );
    assert_eq!(
        found(json!({"resourceType": "Patient", "name": [{"given": ["Peter", 3]}]})),
        [one(
            "structure",
            "Patient.name[0].given[1]",
            "\"given\" must be a string, not the number 3"
        )]
    );
    assert_eq!(
        found(json!({"resourceType": "Patient", "name": {"family": "X"}})),
        [one(
            "structure",
            "Patient.name",
            "\"name\" must be an array of HumanName, not an object"
        )]
    );
}

#[test]
fn bad_dates() {
    let diagnostics =
        "\"2025-13-45\" is not a valid date (expected YYYY, YYYY-MM or YYYY-MM-DD with a real \
         month and day)";
    assert_eq!(
        found(json!({"resourceType": "Patient", "birthDate": "2025-13-45"})),
        [one("value", "Patient.birthDate", diagnostics)]
    );
    // The schema's pattern allows 2023-02-29; the calendar does not.
    let feb = found(json!({"resourceType": "Patient", "birthDate": "2023-02-29"}));
    assert_eq!(feb.len(), 1);
    assert!(
        feb[0].2.starts_with("\"2023-02-29\" is not a valid date"),
        "{feb:?}"
    );
    let time = found(json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "x"}, "effectiveDateTime": "2024-05-01T09:30:00"}));
    assert_eq!(time[0].1, "Observation.effectiveDateTime");
    assert!(time[0].2.contains("is not a valid dateTime"), "{time:?}");
}

#[test]
fn unknown_elements() {
    assert_eq!(
        found(json!({"resourceType": "Patient", "foo": 1, "BirthDate": "2000"})),
        [
            one(
                "structure",
                "Patient.foo",
                "unknown element \"foo\" in Patient"
            ),
            one(
                "structure",
                "Patient.BirthDate",
                "unknown element \"BirthDate\" in Patient (did you mean \"birthDate\"?)"
            ),
        ]
    );
    assert_eq!(
        found(json!({"resourceType": "Patient", "name": [{"first": "Peter"}]})),
        [one(
            "structure",
            "Patient.name[0].first",
            "unknown element \"first\" in HumanName"
        )]
    );
}

#[test]
fn missing_and_unknown_resource_type() {
    assert_eq!(
        found(json!({"id": "x"})),
        [one(
            "required",
            "Resource.resourceType",
            "missing required element \"resourceType\""
        )]
    );
    assert_eq!(
        validator().validate(&json!({"resourceType": "Patients"})),
        Err(ValidationFailure::UnknownResourceType(
            "Patients".to_owned()
        ))
    );
    assert_eq!(
        found(json!([1, 2]))[0].2,
        "a resource must be a JSON object"
    );
}

#[test]
fn codes_and_required_elements() {
    assert_eq!(
        found(json!({"resourceType": "Patient", "gender": "M"})),
        [one(
            "code-invalid",
            "Patient.gender",
            "\"M\" is not a valid code for \"gender\"; allowed: \"male\", \"female\", \"other\", \
             \"unknown\""
        )]
    );
    assert_eq!(
        found(json!({"resourceType": "Observation", "status": "final"})),
        [one(
            "required",
            "Observation.code",
            "missing required element \"code\""
        )]
    );
}

#[test]
fn integers_are_checked_as_integers() {
    assert_eq!(
        found(json!({"resourceType": "Patient", "multipleBirthInteger": 1.5})),
        [one(
            "structure",
            "Patient.multipleBirthInteger",
            "\"multipleBirthInteger\" must be an integer (integer), not the number 1.5"
        )]
    );
    let zero = found(json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "x"}, "valueSampledData": {"origin": {"value": 1}, "period": 1,
        "dimensions": 0}}));
    assert_eq!(
        zero,
        [one(
            "value",
            "Observation.valueSampledData.dimensions",
            "\"dimensions\" must be a positive integer (1 or more), not the number 0"
        )]
    );
}

#[test]
fn bad_contained_resource_is_reported_at_its_own_path() {
    let patient = json!({
        "resourceType": "Patient",
        "contained": [
            {"resourceType": "Organization", "name": "ok"},
            {"resourceType": "Observation", "status": "done"},
            "not a resource",
            {"id": "no-type"}
        ]
    });
    assert_eq!(
        found(patient),
        [
            one(
                "structure",
                "Patient.contained[2]",
                "\"contained\" must be a resource (a JSON object), not the string \"not a resource\""
            ),
            one(
                "code-invalid",
                "Patient.contained[1].status",
                "\"done\" is not a valid code for \"status\"; allowed: \"registered\", \
                 \"preliminary\", \"final\", \"amended\", \"corrected\", \"cancelled\", \
                 \"entered-in-error\", \"unknown\""
            ),
            one(
                "required",
                "Patient.contained[1].code",
                "missing required element \"code\""
            ),
            one(
                "required",
                "Patient.contained[3].resourceType",
                "missing required element \"resourceType\""
            ),
        ]
    );
}

#[test]
fn bad_bundle_entries() {
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": {"resourceType": "Patient", "active": true},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Nonsense"}},
            {"resource": {"resourceType": "Encounter", "status": "done",
                          "class": {"code": "AMB"}}},
            {"resource": {"resourceType": "Patient", "birthDate": "1990-02-30"},
             "request": {"method": "FETCH", "url": "Patient"}}
        ]
    });
    let issues = found(bundle);
    assert_eq!(issues.len(), 4, "{issues:#?}");
    assert_eq!(issues[0].0, "code-invalid");
    assert_eq!(issues[0].1, "Bundle.entry[3].request.method");
    assert_eq!(
        issues[1],
        one(
            "not-supported",
            "Bundle.entry[1].resource.resourceType",
            "unknown resource type \"Nonsense\""
        )
    );
    assert_eq!(issues[2].1, "Bundle.entry[2].resource.status");
    assert!(issues[2]
        .2
        .starts_with("\"done\" is not a valid code for \"status\""));
    assert_eq!(issues[3].1, "Bundle.entry[3].resource.birthDate");
}

#[test]
fn parameters_resources_are_validated_through_parts() {
    let parameters = json!({
        "resourceType": "Parameters",
        "parameter": [{"name": "outer", "part": [
            {"name": "a", "valueString": "x"},
            {"name": "b", "resource": {"resourceType": "Patient", "active": 1}}
        ]}]
    });
    assert_eq!(
        found(parameters),
        [one(
            "structure",
            "Parameters.parameter[0].part[1].resource.active",
            "\"active\" must be a boolean (true or false), not the number 1"
        )]
    );
}

#[test]
fn extensions_are_validated_wherever_they_are() {
    let patient = json!({
        "resourceType": "Patient",
        "extension": [{"url": "http://e/x", "valueDate": "2024-99"}, {"valueString": "no url"}],
        "_birthDate": {"extension": [{"url": "http://e/t", "valueFoo": 1}]},
        "name": [{"extension": [{"url": "http://e/n", "extension": [
            {"url": "inner", "valueBoolean": "true"}
        ]}]}]
    });
    let issues = found(patient);
    let at: Vec<&str> = issues.iter().map(|i| i.1.as_str()).collect();
    assert_eq!(
        at,
        [
            "Patient.extension[0].valueDate",
            "Patient.extension[1].url",
            "Patient._birthDate.extension[0].valueFoo",
            "Patient.name[0].extension[0].extension[0].valueBoolean",
        ],
        "{issues:#?}"
    );
    assert_eq!(issues[1].2, "missing required element \"url\"");
    assert_eq!(issues[2].2, "unknown element \"valueFoo\" in Extension");
}

#[test]
fn issues_are_capped() {
    let mut patient = serde_json::Map::new();
    patient.insert("resourceType".into(), json!("Patient"));
    for i in 0..150 {
        patient.insert(format!("bogus{i}"), json!(i));
    }
    let issues = issues(Value::Object(patient));
    assert_eq!(issues.len(), MAX_ISSUES + 1);
    let last = &issues[MAX_ISSUES];
    assert_eq!(
        (last.severity, last.code),
        (Severity::Information, IssueType::TooCostly)
    );
}

/// An extension nested `levels` deep (each level adds an object and an array to the depth).
fn nested_extensions(levels: usize) -> Value {
    let mut ext = json!({"url": "leaf", "valueString": "x"});
    for _ in 0..levels {
        ext = json!({"url": "node", "extension": [ext]});
    }
    json!({"resourceType": "Patient", "extension": [ext]})
}

#[test]
fn deep_nesting_is_bounded() {
    // 100 levels of objects and arrays: within the limit, validated without blowing the stack.
    assert_eq!(validator().validate(&nested_extensions(49)), Ok(()));
    // Deeper than serde_json would ever parse: refused before any recursion.
    let deep = issues(nested_extensions(200));
    assert_eq!(deep.len(), 1);
    assert_eq!(deep[0].code, IssueType::TooCostly);
    // serde_json itself refuses such a document as text.
    let text = nested_extensions(200).to_string();
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[test]
fn huge_strings_are_refused_by_length() {
    let big = "x".repeat(10 * 1024 * 1024);
    let issues = issues(json!({"resourceType": "Patient", "name": [{"family": big}]}));
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].code, IssueType::TooLong);
    assert_eq!(issues[0].expression, "Patient.name[0].family");
    assert_eq!(
        issues[0].diagnostics,
        "\"family\" is longer than FHIR's limit of 1048576 characters"
    );
    // Long values are quoted, cut short.
    let id = "a".repeat(70);
    let bad_id = issues_for_id(&id);
    assert!(bad_id.starts_with("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…\" (70 characters)"));
}

fn issues_for_id(id: &str) -> String {
    let issues = issues(json!({"resourceType": "Patient", "id": id}));
    issues
        .into_iter()
        .next()
        .map(|i| i.diagnostics)
        .unwrap_or_default()
}

#[test]
fn every_type_compiles() {
    assert_eq!(validator().resource_types().len(), 146);
    if let Err(e) = validator().compile_all() {
        panic!("{e}");
    }
}

#[test]
fn issues_render_as_operation_outcome_issues() {
    let issue = &issues(json!({"resourceType": "Patient", "active": 0}))[0];
    assert_eq!(
        issue.to_fhir_json(),
        json!({
            "severity": "error",
            "code": "structure",
            "diagnostics": "\"active\" must be a boolean (true or false), not the number 0",
            "expression": ["Patient.active"]
        })
    );
}

#[test]
fn files_are_validated_one_by_one() {
    let dir = std::env::temp_dir().join(format!("hearth-validate-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("{e}");
    }
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            panic!("{e}");
        }
        path
    };
    let paths = [
        write("ok.json", r#"{"resourceType": "Patient", "active": true}"#),
        write("bad.json", r#"{"resourceType": "Patient", "active": "no"}"#),
        write("text.json", "not json"),
        dir.join("absent.json"),
    ];
    let outcomes = validate_files(validator(), &paths);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes[0].result.is_ok());
    assert!(matches!(
        &outcomes[1].result,
        Err(FileError::Invalid(ValidationFailure::Invalid(issues))) if issues.len() == 1
    ));
    assert!(outcomes[1].to_string().ends_with(
        "bad.json: 1 issue(s)\n  error [structure] Patient.active: \"active\" must be a boolean \
         (true or false), not the string \"no\""
    ));
    assert!(matches!(outcomes[2].result, Err(FileError::Json(_))));
    assert!(matches!(outcomes[3].result, Err(FileError::Read(_))));
}

#[test]
fn nesting_up_to_the_limit_fits_a_default_thread_stack() {
    // Test threads have the same 2 MiB stack as tokio's workers; debug frames are the largest.
    assert!(!exceeds_depth(&nested_extensions(62), MAX_DEPTH));
    assert_eq!(validator().validate(&nested_extensions(62)), Ok(()));
    // Recursive backbone elements go through jsonschema's own recursion.
    let mut item = json!({"linkId": "leaf"});
    for _ in 0..62 {
        item = json!({"linkId": "node", "item": [item]});
    }
    let response = json!({"resourceType": "QuestionnaireResponse", "status": "completed",
        "item": [item]});
    assert!(!exceeds_depth(&response, MAX_DEPTH));
    assert_eq!(validator().validate(&response), Ok(()));
}
