//! Unit tests, on ELM shaped as the translator emits it, of the query and
//! data idioms of the published QI-Core 4.1.1 measures: choice casts,
//! multi-source queries, sort expressions, tuples of lists, resource lists
//! and value-set membership. Expected values come from CQL 1.5.

use serde_json::{json, Value as J};

use super::tests::{alias, list, lit_int, lit_str, prop};
use super::tests_elm::{def, eval_all, eval_results, lit, nobody, op};
use super::tests_elm_idioms::{as_fhir, dt, is_fhir, query, retrieve, with_patient, FHIR};

/// `value as Quantity`, `effective as dateTime`, `onset as Period`, `value is
/// CodeableConcept`: casts of choice elements keep the matching choice only.
#[test]
fn choice_elements_cast_with_as_and_is() {
    let p = with_patient(vec![
        json!({"resourceType": "Observation", "id": "glucose", "status": "final",
            "effectiveDateTime": "2025-02-01T08:00:00Z",
            "valueQuantity": {"value": 250, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}}),
        json!({"resourceType": "Observation", "id": "finding", "status": "final",
            "effectivePeriod": {"start": "2025-02-01T08:00:00Z", "end": "2025-02-01T09:00:00Z"},
            "valueCodeableConcept": {"coding": [{"system": "http://example.org/cs", "code": "office"}]}}),
        json!({"resourceType": "Condition", "id": "c1",
            "onsetPeriod": {"start": "2024-05-01", "end": "2024-06-01"}}),
        json!({"resourceType": "Condition", "id": "c2", "onsetDateTime": "2024-07-01"}),
    ]);
    let each = |ty: &str, ret: J| {
        json!({"type": "Query", "source": [{"alias": "X", "expression": retrieve(ty)}],
            "return": {"distinct": false, "expression": ret}})
    };
    let value = || prop("value", alias("X"));
    let r = eval_all(
        vec![
            def(
                "Quantity Values",
                each("Observation", prop("value", as_fhir(value(), "Quantity"))),
            ),
            def(
                "Is Concept",
                each("Observation", is_fhir(value(), "CodeableConcept")),
            ),
            def(
                "Effective Times",
                each(
                    "Observation",
                    prop("value", as_fhir(prop("effective", alias("X")), "dateTime")),
                ),
            ),
            def(
                "Effective Periods",
                each(
                    "Observation",
                    is_fhir(prop("effective", alias("X")), "Period"),
                ),
            ),
            def(
                "Onset Starts",
                each(
                    "Condition",
                    prop(
                        "value",
                        prop("start", as_fhir(prop("onset", alias("X")), "Period")),
                    ),
                ),
            ),
        ],
        &p,
    );
    // In the order of the data: "glucose", then "finding"; "c1", then "c2".
    assert_eq!(r[0], json!([250, null]));
    assert_eq!(r[1], json!([false, true]));
    assert_eq!(r[2], json!(["2025-02-01T08:00:00Z", null]));
    assert_eq!(r[3], json!([false, true]));
    assert_eq!(r[4], json!(["2024-05-01", null]));
}

/// `from A, B where ... return ...`: every combination of the sources; without
/// a return clause each row is a tuple of the aliases.
#[test]
fn multi_source_queries_are_cartesian() {
    let ints = |v: &[i64]| list(v.iter().map(|i| lit_int(*i)).collect());
    let sources = json!([{"alias": "A", "expression": ints(&[1, 2])},
        {"alias": "B", "expression": ints(&[10, 20])}]);
    let r = eval_all(
        vec![
            def(
                "Matching",
                json!({"type": "Query", "source": sources.clone(),
                    "where": op("Equal", vec![op("Multiply", vec![alias("A"), lit_int(10)]), alias("B")]),
                    "return": {"expression": op("Add", vec![alias("A"), alias("B")])}}),
            ),
            def("Rows", json!({"type": "Query", "source": sources})),
            def(
                "Empty Side",
                json!({"type": "Query", "source": [{"alias": "A", "expression": ints(&[1])},
                    {"alias": "B", "expression": {"type": "List"}}]}),
            ),
        ],
        &nobody(),
    );
    assert_eq!(r[0], json!([11, 22]));
    assert_eq!(
        r[1],
        json!([{"A": 1, "B": 10}, {"A": 1, "B": 20}, {"A": 2, "B": 10}, {"A": 2, "B": 20}])
    );
    assert_eq!(r[2], json!([]));
}

/// `from A, B` over singletons is a singleton (a tuple, or null when a row
/// fails the where clause); one list source makes the result a list.
#[test]
fn multi_source_queries_over_singletons_are_singletons() {
    let one = |v: i64| json!({"type": "SingletonFrom", "operand": list(vec![lit_int(v)])});
    let singletons =
        json!([{"alias": "A", "expression": one(1)}, {"alias": "B", "expression": one(10)}]);
    let r = eval_all(
        vec![
            def(
                "Tuple",
                json!({"type": "Query", "source": singletons.clone()}),
            ),
            def(
                "Sum",
                json!({"type": "Query", "source": singletons.clone(),
                    "return": {"expression": op("Add", vec![alias("A"), alias("B")])}}),
            ),
            def(
                "Filtered Out",
                json!({"type": "Query", "source": singletons,
                    "where": op("Equal", vec![alias("A"), alias("B")])}),
            ),
            def(
                "With A List",
                json!({"type": "Query", "source": [{"alias": "A", "expression": one(1)},
                    {"alias": "B", "expression": list(vec![lit_int(10), lit_int(20)])}],
                    "return": {"expression": op("Add", vec![alias("A"), alias("B")])}}),
            ),
        ],
        &nobody(),
    );
    assert_eq!(r[0], json!({"A": 1, "B": 10}));
    assert_eq!(r[1], json!(11));
    assert_eq!(r[2], json!(null));
    assert_eq!(r[3], json!([11, 21]));
}

/// `Last(... sort by end of period)`: the sort expression reads the row's
/// own elements through identifiers, here through a function of them.
#[test]
fn sort_by_expression_over_fhir_elements() {
    let enc = |id: &str, start: &str, end: &str| {
        json!({"resourceType": "Encounter", "id": id, "status": "finished",
            "period": {"start": start, "end": end}})
    };
    let p = with_patient(vec![
        enc("late-end", "2025-03-01T08:00:00Z", "2025-03-09T08:00:00Z"),
        enc("early-end", "2025-03-05T08:00:00Z", "2025-03-06T08:00:00Z"),
        enc("middle", "2025-02-01T08:00:00Z", "2025-03-07T08:00:00Z"),
    ]);
    let end_of_period = json!({"type": "End", "operand": {"type": "FunctionRef", "name": "PeriodInterval",
        "operand": [{"type": "IdentifierRef", "name": "period"}]}});
    let sorted = |direction: &str| {
        json!({"type": "Query", "source": [{"alias": "E", "expression": retrieve("Encounter")}],
            "sort": {"by": [{"type": "ByExpression", "direction": direction, "expression": end_of_period.clone()}]}})
    };
    let r = eval_all(
        vec![
            def(
                "Last By End",
                prop("id", json!({"type": "Last", "source": sorted("asc")})),
            ),
            def("Order", query(sorted("desc"), "S", prop("id", alias("S")))),
        ],
        &p,
    );
    assert_eq!(r[0], json!("late-end"));
    assert_eq!(r[1], json!(["late-end", "middle", "early-end"]));
}

/// Tuples holding lists (the hyperglycemia day tables): list elements are
/// queried, counted and indexed like any list.
#[test]
fn tuples_with_list_elements() {
    let day = |n: i64, event: bool| {
        json!({"type": "Tuple", "element": [
            {"name": "dayIndex", "value": lit_int(n)},
            {"name": "hasEvent", "value": lit("Boolean", if event { "true" } else { "false" })}]})
    };
    let stay = json!({"type": "Tuple", "element": [
        {"name": "encounter", "value": lit_str("e1")},
        {"name": "eligibleEventDays", "value": list(vec![day(2, true), day(3, false), day(4, true)])}]});
    let days = prop("eligibleEventDays", stay.clone());
    let r = eval_all(
        vec![
            def(
                "Event Days",
                json!({"type": "Count", "source": {"type": "Query",
                    "source": [{"alias": "D", "expression": days.clone()}],
                    "where": prop("hasEvent", alias("D"))}}),
            ),
            def("All Days", json!({"type": "Count", "source": days.clone()})),
            def(
                "Exists Event",
                json!({"type": "Exists", "operand": {"type": "Query",
                    "source": [{"alias": "D", "expression": days}],
                    "where": op("And", vec![prop("hasEvent", alias("D")),
                        op("Greater", vec![prop("dayIndex", alias("D")), lit_int(3)])])}}),
            ),
            def("Whole", stay),
        ],
        &nobody(),
    );
    assert_eq!(r[0], json!(2));
    assert_eq!(r[1], json!(3));
    assert_eq!(r[2], json!(true));
    assert_eq!(r[3]["eligibleEventDays"][2]["dayIndex"], json!(4));
}

/// `X.id in "Denominator Exclusions".id`, `EarlierTest.id !~ Result.id` and
/// `return distinct OpioidMedications.medication`: element lists of resources.
#[test]
fn ids_and_elements_of_resource_lists() {
    let med = |id: &str, code: &str| {
        json!({"resourceType": "MedicationRequest", "id": id, "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://example.org/cs", "code": code}]}})
    };
    let p = with_patient(vec![
        med("m1", "oxycodone"),
        med("m2", "oxycodone"),
        med("m3", "lorazepam"),
    ]);
    // `"Meds".id` is a query over the list returning each element's id.
    let ids = json!({"type": "Query", "source": [{"alias": "$this", "expression": retrieve("MedicationRequest")}],
        "where": {"type": "Not", "operand": {"type": "IsNull", "operand": prop("id", alias("$this"))}},
        "return": {"distinct": false, "expression": prop("id", alias("$this"))}});
    let r = eval_all(
        vec![
            def(
                "Id In",
                list(vec![
                    op("In", vec![lit_str("m2"), ids.clone()]),
                    op("In", vec![lit_str("m9"), ids]),
                ]),
            ),
            def(
                "Not Equivalent",
                json!({"type": "Not", "operand": op("Equivalent", vec![lit_str("m1"), lit_str("M1")])}),
            ),
            def(
                "Distinct Medications",
                json!({"type": "Count", "source": {"type": "Query",
                    "source": [{"alias": "M", "expression": retrieve("MedicationRequest")}],
                    "return": {"distinct": true, "expression": prop("medication", alias("M"))}}}),
            ),
            def(
                "Earliest Of",
                json!({"type": "Min", "source": list(vec![
                    dt("2025-03-02T00:00:00.000Z"), dt("2025-03-01T00:00:00.000Z"), json!({"type": "Null"})])}),
            ),
        ],
        &p,
    );
    assert_eq!(r[0], json!([true, false]));
    // Equivalence of strings ignores case.
    assert_eq!(r[1], json!(false));
    assert_eq!(r[2], json!(2));
    assert_eq!(r[3], json!("2025-03-01T00:00:00.000Z"));
}

/// `[MedicationRequest: medication in "VS"]`, `[Encounter: type in "VS"]`:
/// a retrieve's code path may be any element, a choice included.
#[test]
fn retrieves_filter_on_the_declared_code_property() {
    let p = with_patient(vec![
        json!({"resourceType": "MedicationRequest", "id": "coded", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://example.org/cs", "code": "office"}]}}),
        json!({"resourceType": "MedicationRequest", "id": "other", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://example.org/cs", "code": "home"}]}}),
        json!({"resourceType": "Encounter", "id": "typed", "status": "finished",
            "type": [{"coding": [{"system": "http://example.org/cs", "code": "office"}]}]}),
        json!({"resourceType": "Encounter", "id": "classed", "status": "finished",
            "class": {"system": "http://example.org/cs", "code": "office"}}),
    ]);
    let coded = |ty: &str, property: &str| {
        let r = json!({"type": "Retrieve", "dataType": format!("{FHIR}{ty}"), "codeProperty": property,
            "codeComparator": "in", "codes": {"type": "ValueSetRef", "name": "Visits"}});
        query(r, "R", prop("id", alias("R")))
    };
    let r = eval_all(
        vec![
            def("Medication", coded("MedicationRequest", "medication")),
            def("Type", coded("Encounter", "type")),
            def("Class", coded("Encounter", "class")),
        ],
        &p,
    );
    assert_eq!(
        r,
        vec![json!(["coded"]), json!(["typed"]), json!(["classed"])]
    );
}

/// `"Hospice Status" contains HospiceStatus.code as Concept` (CMS986): the
/// translator has no terminology `Contains`, so the value set is the container.
#[test]
fn value_set_contains_a_concept_or_code() {
    let vs = || json!({"type": "ValueSetRef", "name": "Visits"});
    let code = |c: &str| json!({"type": "Code", "code": c, "system": {"name": "EX"}});
    let concept = |codes: Vec<J>| json!({"type": "Concept", "code": codes});
    let r = eval_all(
        vec![def(
            "Contains",
            list(vec![
                op(
                    "Contains",
                    vec![vs(), concept(vec![code("home"), code("office")])],
                ),
                op("Contains", vec![vs(), concept(vec![code("home")])]),
                op("Contains", vec![vs(), code("office")]),
                op("In", vec![code("office"), vs()]),
                op("Contains", vec![vs(), json!({"type": "Null"})]),
            ]),
        )],
        &nobody(),
    );
    assert_eq!(r[0], json!([true, false, true, true, false]));
}

/// `EncounterWithEventDays.encounter = QualifyingEncounter`, `"Encounters"
/// contains E`, `A intersect B` (VTE): resources compare element by element.
#[test]
fn resources_compare_as_values_in_lists_and_sets() {
    let enc = |id: &str, status: &str| {
        json!({"resourceType": "Encounter", "id": id, "status": status,
            "period": {"start": "2025-03-01T08:00:00Z", "end": "2025-03-03T08:00:00Z"}})
    };
    let p = with_patient(vec![
        enc("e1", "finished"),
        enc("e2", "finished"),
        enc("e3", "cancelled"),
    ]);
    let all = || retrieve("Encounter");
    let finished = || {
        json!({"type": "Query", "source": [{"alias": "E", "expression": all()}],
            "where": op("Equal", vec![prop("status", alias("E")), lit_str("finished")])})
    };
    let first = || json!({"type": "First", "source": all()});
    let last = || json!({"type": "Last", "source": all()});
    let ids = |source: J| query(source, "X", prop("id", alias("X")));
    let r = eval_all(
        vec![
            def(
                "Equality",
                list(vec![
                    op("Equal", vec![first(), first()]),
                    op("Equal", vec![first(), last()]),
                    op("Contains", vec![finished(), first()]),
                    op("Contains", vec![finished(), last()]),
                ]),
            ),
            def("Intersect", ids(op("Intersect", vec![all(), finished()]))),
            def("Except", ids(op("Except", vec![all(), finished()]))),
            def(
                "Union",
                json!({"type": "Count", "source": op("Union", vec![all(), finished()])}),
            ),
        ],
        &p,
    );
    assert_eq!(r[0], json!([true, false, true, false]));
    assert_eq!(r[1], json!(["e1", "e2"]));
    assert_eq!(r[2], json!(["e3"]));
    assert_eq!(r[3], json!(3));
}

/// Profile retrieves of QI-Core 4.1.1 (`["observation-bp"]`, US Core smoking
/// status, pulse oximetry): the dataType is the base resource, and a profile
/// fixing `Observation.code` keeps only the Observations with that code.
#[test]
fn profile_retrieves_keep_the_observations_their_code_fixes() {
    let obs = |id: &str, loinc: &str| {
        json!({"resourceType": "Observation", "id": id, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]}})
    };
    let p = with_patient(vec![
        obs("smoking", "72166-2"),
        obs("pulse-ox", "59408-5"),
        obs("bp", "85354-9"),
        obs("glucose", "2339-0"),
    ]);
    let by_profile = |url: &str| {
        let r = json!({"type": "Retrieve", "dataType": format!("{FHIR}Observation"), "templateId": url});
        query(r, "O", prop("id", alias("O")))
    };
    let r = eval_all(
        vec![
            def(
                "Smoking",
                by_profile("http://hl7.org/fhir/us/core/StructureDefinition/us-core-smokingstatus"),
            ),
            def(
                "Pulse Ox",
                by_profile(
                    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-pulse-oximetry",
                ),
            ),
            def(
                "BP",
                by_profile("http://hl7.org/fhir/StructureDefinition/bp"),
            ),
            // Laboratory results are characterised by their codes, not the profile.
            def(
                "Lab",
                json!({"type": "Count", "source": by_profile(
                    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab")}),
            ),
        ],
        &p,
    );
    assert_eq!(
        r,
        vec![
            json!(["smoking"]),
            json!(["pulse-ox"]),
            json!(["bp"]),
            json!(4)
        ]
    );
}

/// Related-context retrieves (`[Observation]` for the patient's mother): the
/// evaluated patient's own context reads their data; another patient's fails
/// by name instead of reading this patient's data.
#[test]
fn related_context_retrieves_read_only_the_evaluated_patient() {
    let p = with_patient(vec![
        json!({"resourceType": "Observation", "id": "o1", "status": "final"}),
    ]);
    let patient = json!({"type": "SingletonFrom", "operand": retrieve("Patient")});
    let in_context = |context: J| {
        json!({"type": "Count", "source": {"type": "Retrieve",
            "dataType": format!("{FHIR}Observation"), "context": context}})
    };
    let r = eval_results(
        vec![
            def("Own", in_context(patient)),
            def("By Reference", in_context(lit_str("Patient/p1"))),
            def("Mother", in_context(lit_str("Patient/mother"))),
        ],
        &p,
    );
    assert_eq!(r[0], Ok(json!(1)));
    assert_eq!(r[1], Ok(json!(1)));
    let err = r[2].clone().err().unwrap_or_default();
    assert!(
        err.contains("related-context retrieve of Observation"),
        "{err}"
    );
}
