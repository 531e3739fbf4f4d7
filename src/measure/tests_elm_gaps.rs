//! Unit tests, on hand-written ELM, of constructs the published QI-Core
//! measures use beyond the sample measures: negation-profile retrieves and
//! query aggregate clauses.

use serde_json::{json, Value as J};

use super::tests::{alias, engine, list, lit_int, prop};
use super::{PatientRecord, Period};

const QICORE: &str = "http://hl7.org/fhir/us/qicore/StructureDefinition/";

fn def(name: &str, expression: J) -> J {
    json!({"name": name, "context": "Patient", "expression": expression})
}

fn eval_all(defs: Vec<J>, p: &PatientRecord) -> Vec<J> {
    let names: Vec<String> = defs
        .iter()
        .filter_map(|d| d.get("name").and_then(J::as_str).map(str::to_owned))
        .collect();
    let m = engine(defs)
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("compile: {e}"));
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    names
        .iter()
        .map(|n| {
            m.evaluate_expression(p, &period, n)
                .unwrap_or_else(|e| panic!("{n}: {e}"))
        })
        .collect()
}

/// The ids of a retrieve of `data_type` by `profile`, sorted.
fn ids_of(data_type: &str, profile: &str) -> J {
    let retrieve = json!({"type": "Retrieve", "dataType": format!("{{http://hl7.org/fhir}}{data_type}"),
        "templateId": format!("{QICORE}{profile}")});
    json!({"type": "Query", "source": [{"alias": "R", "expression": retrieve}],
        "return": {"expression": prop("value", prop("id", alias("R")))},
        "sort": {"by": [{"type": "ByDirection", "direction": "asc"}]}})
}

#[test]
fn negation_profile_retrieves_keep_only_what_the_profile_fixes() {
    let p = PatientRecord::new(vec![
        json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"}),
        json!({"resourceType": "Procedure", "id": "done", "status": "completed"}),
        json!({"resourceType": "Procedure", "id": "not-done", "status": "not-done"}),
        json!({"resourceType": "MedicationRequest", "id": "ordered", "status": "active",
            "intent": "order"}),
        json!({"resourceType": "MedicationRequest", "id": "refused", "status": "completed",
            "intent": "order", "doNotPerform": true,
            "meta": {"profile": [format!("{QICORE}qicore-medicationnotrequested")]}}),
        // Not declared a negation: still a request for the positive profile.
        json!({"resourceType": "MedicationRequest", "id": "untagged-refusal", "status": "completed",
            "intent": "order", "doNotPerform": true}),
        json!({"resourceType": "DeviceRequest", "id": "device", "status": "active", "intent": "order"}),
        json!({"resourceType": "DeviceRequest", "id": "no-device", "status": "completed", "intent": "order",
            "modifierExtension": [{"url": "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerform",
                "valueBoolean": true}]}),
        json!({"resourceType": "Observation", "id": "measured", "status": "final"}),
        json!({"resourceType": "Observation", "id": "cancelled", "status": "cancelled"}),
        json!({"resourceType": "ServiceRequest", "id": "referral", "status": "active", "intent": "order",
            "doNotPerform": false}),
    ]);
    let r = eval_all(
        vec![
            def("Procedures", ids_of("Procedure", "qicore-procedure")),
            def("Not Done", ids_of("Procedure", "qicore-procedurenotdone")),
            def(
                "Not Requested",
                ids_of("MedicationRequest", "qicore-medicationnotrequested"),
            ),
            def(
                "Requested",
                ids_of("MedicationRequest", "qicore-medicationrequest"),
            ),
            def(
                "No Device",
                ids_of("DeviceRequest", "qicore-devicenotrequested"),
            ),
            def(
                "Obs Not Done",
                ids_of("Observation", "qicore-observationnotdone"),
            ),
            def(
                "No Service",
                ids_of("ServiceRequest", "qicore-servicenotrequested"),
            ),
        ],
        &p,
    );
    // The positive profile does not constrain status: filtering is the measure's job.
    assert_eq!(r[0], json!(["done", "not-done"]));
    assert_eq!(r[1], json!(["not-done"]));
    assert_eq!(r[2], json!(["refused", "untagged-refusal"]));
    // A resource declaring only the negation profile is no positive request.
    assert_eq!(r[3], json!(["ordered", "untagged-refusal"]));
    assert_eq!(r[4], json!(["no-device"]));
    assert_eq!(r[5], json!(["cancelled"]));
    assert_eq!(r[6], json!([]));
}

#[test]
fn not_done_value_set_extension_stands_for_a_code() {
    let not_done = |id: &str, ext_url: &str, vs: &str| {
        json!({"resourceType": "Procedure", "id": id, "status": "not-done",
            "code": {"extension": [{"url": ext_url, "valueCanonical": vs}]}})
    };
    let ext = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneValueSet";
    let p = PatientRecord::new(vec![
        json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"}),
        not_done("by-value-set", ext, "http://example.org/vs/visits|2025"),
        not_done("other-value-set", ext, "http://example.org/vs/other"),
        json!({"resourceType": "Procedure", "id": "coded", "status": "not-done",
            "code": {"coding": [{"system": "http://example.org/cs", "code": "office"}]}}),
        // A done procedure never matches through the extension.
        json!({"resourceType": "Procedure", "id": "done", "status": "completed",
            "code": {"extension": [{"url": ext, "valueCanonical": "http://example.org/vs/visits"}]}}),
    ]);
    let retrieve = |profile: &str| {
        json!({"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Procedure",
            "templateId": format!("{QICORE}{profile}"), "codeProperty": "code",
            "codeComparator": "in", "codes": {"type": "ValueSetRef", "name": "Visits"}})
    };
    let ids = |r: J| {
        json!({"type": "Query", "source": [{"alias": "R", "expression": r}],
            "return": {"expression": prop("value", prop("id", alias("R")))},
            "sort": {"by": [{"type": "ByDirection", "direction": "asc"}]}})
    };
    let r = eval_all(
        vec![
            def("Not Done", ids(retrieve("qicore-procedurenotdone"))),
            def("Positive", ids(retrieve("qicore-procedure"))),
        ],
        &p,
    );
    assert_eq!(r[0], json!(["by-value-set", "coded"]));
    assert_eq!(r[1], json!(["coded"]));
}

#[test]
fn aggregate_clause_starting_value_distinct_and_no_rows() {
    let ints = |v: &[i64]| list(v.iter().map(|i| lit_int(*i)).collect());
    let sum = |name: &str, source: J, distinct: bool, starting: Option<J>| {
        let mut agg = json!({"identifier": "R", "distinct": distinct,
            "expression": {"type": "Add", "operand": [alias("R"), alias("N")]}});
        if let Some(s) = starting {
            agg["starting"] = s;
        }
        def(
            name,
            json!({"type": "Query", "source": [{"alias": "N", "expression": source}],
                "aggregate": agg}),
        )
    };
    let empty = json!({"type": "Query", "source": [{"alias": "X", "expression": ints(&[1])}],
        "where": {"type": "Literal", "valueType": "{urn:hl7-org:elm-types:r1}Boolean", "value": "false"}});
    let r = eval_all(
        vec![
            sum("All", ints(&[1, 1, 2]), false, Some(lit_int(0))),
            sum("Distinct", ints(&[1, 1, 2]), true, Some(lit_int(0))),
            // `aggregate R: R + N` with no starting value: null + N stays null.
            sum("No Start", ints(&[1, 2]), false, None),
            sum("No Rows", json!({"type": "List"}), false, Some(lit_int(5))),
            sum("No Rows Left", empty, false, Some(lit_int(7))),
            sum("No Rows No Start", json!({"type": "List"}), false, None),
        ],
        &PatientRecord::new(vec![
            json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"}),
        ]),
    );
    assert_eq!(r[0], json!(4));
    assert_eq!(r[1], json!(3));
    assert_eq!(r[2], J::Null);
    // Over no rows the result is the starting value (CQL 1.5 §2.4 aggregate clause).
    assert_eq!(r[3], json!(5));
    assert_eq!(r[4], json!(7));
    assert_eq!(r[5], J::Null);
}

#[test]
fn durations_differences_and_ages_in_weeks() {
    let date = |v: &str| json!({"type": "Literal", "valueType": "{urn:hl7-org:elm-types:r1}Date", "value": v});
    let between = |ty: &str, a: &str, b: &str| json!({"type": ty, "precision": "Week", "operand": [date(a), date(b)]});
    let r = eval_all(
        vec![
            def(
                "Two Weeks",
                between("DurationBetween", "2025-01-01", "2025-01-15"),
            ),
            def(
                "Thirteen Days",
                between("DurationBetween", "2025-01-01", "2025-01-14"),
            ),
            def(
                "Backwards",
                between("DurationBetween", "2025-01-15", "2025-01-01"),
            ),
            def(
                "Difference",
                between("DifferenceBetween", "2024-02-29", "2024-03-04"),
            ),
            def("Age", between("CalculateAgeAt", "2025-01-01", "2025-03-01")),
        ],
        &PatientRecord::new(vec![
            json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"}),
        ]),
    );
    assert_eq!(r, vec![json!(2), json!(1), json!(-2), json!(0), json!(8)]);

    // A week precision on a comparison is refused, not silently dropped.
    let m = engine(vec![def(
        "Same Week",
        between("SameAs", "2025-01-01", "2025-01-02"),
    )])
    .compile_measure("MiniMeasure")
    .unwrap_or_else(|e| panic!("compile: {e}"));
    assert!(
        m.warnings.iter().any(|w| w.contains("precision Week")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn quantities_compare_across_annotations_rates_and_lab_units() {
    let q = |v: f64, unit: &str| json!({"type": "Quantity", "value": v, "unit": unit});
    let cmp = |ty: &str, a: J, b: J| json!({"type": ty, "operand": [a, b]});
    let r = eval_all(
        vec![
            def(
                "Heart Rate",
                cmp("Less", q(45.0, "{beats}/min"), q(50.0, "/min")),
            ),
            def("Per Hour", cmp("Equal", q(1.0, "/min"), q(60.0, "/h"))),
            def(
                "Score",
                cmp("GreaterOrEqual", q(10.0, "{score}"), q(10.0, "1")),
            ),
            def("Lab", cmp("Equal", q(1.0, "ng/mL"), q(1.0, "ug/L"))),
            def(
                "eGFR",
                cmp("Less", q(59.0, "mL/min/{1.73_m2}"), q(60.0, "mL/min")),
            ),
            // Incompatible dimensions stay unknown.
            def("Mismatch", cmp("Less", q(1.0, "/min"), q(2.0, "mg"))),
        ],
        &PatientRecord::new(vec![
            json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"}),
        ]),
    );
    assert_eq!(
        r,
        vec![
            json!(true),
            json!(true),
            json!(true),
            json!(true),
            json!(true),
            J::Null
        ]
    );
}

#[test]
fn ratio_populations_draw_from_the_initial_population_they_reference() {
    use super::program::{Group, Population};
    use super::value::Value;
    let pop = |id: &str, code: &str, reference: Option<&str>| Population {
        id: Some(id.to_owned()),
        code: code.to_owned(),
        expression: String::new(),
        def: 0,
        criteria_reference: reference.map(str::to_owned),
    };
    let group = |den_ref: Option<&str>, num_ref: Option<&str>| Group {
        id: None,
        // The numerator's initial population comes first.
        populations: vec![
            pop("ip-num", "initial-population", None),
            pop("ip-den", "initial-population", None),
            pop("den", "denominator", den_ref),
            pop("num", "numerator", num_ref),
        ],
        stratifiers: Vec::new(),
        observations: Vec::new(),
        boolean_basis: false,
        scoring: "ratio".to_owned(),
    };
    let ints = |v: &[i64]| Value::list(v.iter().map(|i| Value::Int(*i)).collect());
    let raw = [
        ints(&[1, 2]),
        ints(&[3, 4]),
        ints(&[3, 4, 1]),
        ints(&[1, 3]),
    ];
    let counts = |g: &Group| -> Vec<i64> {
        super::scoring::counts(g, &raw)
            .into_iter()
            .map(|(_, n)| n)
            .collect()
    };
    assert_eq!(
        counts(&group(Some("ip-den"), Some("ip-num"))),
        vec![2, 2, 2, 1]
    );
    // Without references: the first initial population for the denominator, the last for the numerator.
    assert_eq!(counts(&group(None, None)), vec![2, 2, 1, 1]);
}

#[test]
fn subsumes_decides_equivalent_codes_and_fails_otherwise() {
    let code = |c: &str| json!({"type": "Code", "code": c, "system": {"name": "EX"}});
    let defs = vec![
        def(
            "Same",
            json!({"type": "Subsumes", "operand": [code("office"), code("office")]}),
        ),
        def(
            "Unknown",
            json!({"type": "SubsumedBy", "operand": [{"type": "Null"}, code("office")]}),
        ),
        def(
            "Different",
            json!({"type": "Subsumes", "operand": [code("office"), code("home")]}),
        ),
    ];
    let m = engine(defs)
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("compile: {e}"));
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    let p = PatientRecord::new(vec![
        json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"}),
    ]);
    let eval = |n: &str| m.evaluate_expression(&p, &period, n);
    assert_eq!(eval("Same").ok(), Some(json!(true)));
    assert_eq!(eval("Unknown").ok(), Some(J::Null));
    let err = eval("Different").err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("terminology service")),
        "{err:?}"
    );
}
