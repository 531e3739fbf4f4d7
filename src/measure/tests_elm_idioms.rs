//! Unit tests, on ELM shaped as the CQL-to-ELM translator emits it, of the
//! idioms the published QI-Core 4.1.1 measures (ecqm-content-qicore-2024)
//! rely on. Expected values come from the CQL 1.5 specification.

use serde_json::{json, Value as J};

use super::tests::{alias, list, lit_int, lit_str, prop};
use super::tests_elm::{def, eval_all, lit, nobody, op};
use super::PatientRecord;

const FHIR: &str = "{http://hl7.org/fhir}";

fn dt(v: &str) -> J {
    lit("DateTime", v)
}

fn date(v: &str) -> J {
    lit("Date", v)
}

fn qty(v: f64, unit: &str) -> J {
    json!({"type": "Quantity", "value": v, "unit": unit})
}

fn interval(low: J, high: J, low_closed: bool, high_closed: bool) -> J {
    json!({"type": "Interval", "low": low, "high": high,
        "lowClosed": low_closed, "highClosed": high_closed})
}

fn between(ty: &str, precision: &str, a: J, b: J) -> J {
    json!({"type": ty, "precision": precision, "operand": [a, b]})
}

fn query(source: J, alias_name: &str, ret: J) -> J {
    json!({"type": "Query", "source": [{"alias": alias_name, "expression": source}],
        "return": {"expression": ret}})
}

fn as_fhir(operand: J, ty: &str) -> J {
    json!({"type": "As", "asType": format!("{FHIR}{ty}"), "operand": operand})
}

fn is_fhir(operand: J, ty: &str) -> J {
    json!({"type": "Is", "isType": format!("{FHIR}{ty}"), "operand": operand})
}

fn retrieve(ty: &str) -> J {
    json!({"type": "Retrieve", "dataType": format!("{FHIR}{ty}")})
}

fn with_patient(mut resources: Vec<J>) -> PatientRecord {
    resources.push(json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"}));
    PatientRecord::new(resources)
}

/// HospitalHarmHyperglycemia: `(expand { Interval[1, duration in days
/// between start and end] }) D return end of D` numbers the whole days of a stay.
#[test]
fn expand_numbers_the_days_of_an_interval() {
    let day_numbers = |end: &str| {
        let days = between(
            "DurationBetween",
            "Day",
            dt("2025-01-01T08:00:00.000Z"),
            dt(end),
        );
        let expanded = op(
            "Expand",
            vec![
                list(vec![interval(lit_int(1), days, true, true)]),
                json!({"type": "Null"}),
            ],
        );
        query(
            expanded,
            "DayExpand",
            json!({"type": "End", "operand": alias("DayExpand")}),
        )
    };
    let r = eval_all(
        vec![
            def("Short Last Day", day_numbers("2025-01-04T07:00:00.000Z")),
            def("Whole Days", day_numbers("2025-01-04T08:00:00.000Z")),
        ],
        &nobody(),
    );
    assert_eq!(r, vec![json!([1, 2]), json!([1, 2, 3])]);
}

/// `start of Period + ( 24 hours * ( DayNumber - 1 ) )`: the integer is
/// promoted to a unit-less Quantity, the product keeps the hours.
#[test]
fn quantity_times_integer_moves_a_datetime() {
    let day_start = |n: i64| {
        let times = op(
            "Multiply",
            vec![
                qty(24.0, "hours"),
                json!({"type": "ToQuantity", "operand": op("Subtract", vec![lit_int(n), lit_int(1)])}),
            ],
        );
        op("Add", vec![dt("2025-01-30T08:00:00.000Z"), times])
    };
    let r = eval_all(
        vec![
            def(
                "Third Day",
                op("Equal", vec![day_start(3), dt("2025-02-01T08:00:00.000Z")]),
            ),
            def(
                "First Day",
                op("Equal", vec![day_start(1), dt("2025-01-30T08:00:00.000Z")]),
            ),
            def(
                "Hours Left",
                between(
                    "DurationBetween",
                    "Hour",
                    day_start(2),
                    dt("2025-02-01T07:00:00.000Z"),
                ),
            ),
        ],
        &nobody(),
    );
    assert_eq!(r, vec![json!(true), json!(true), json!(23)]);
}

/// `relevantDays[EncounterDay.dayNumber - 2].hasElevatedResult`: an index
/// outside the list is null, and so is a property of it.
#[test]
fn list_indexer_outside_the_list_is_null() {
    let day = |n: i64, elevated: bool| {
        json!({"type": "Tuple", "element": [
            {"name": "dayNumber", "value": lit_int(n)},
            {"name": "hasElevatedResult", "value": lit("Boolean", if elevated { "true" } else { "false" })}]})
    };
    let days = list(vec![day(1, true), day(2, false)]);
    let at = |i: i64| {
        prop(
            "hasElevatedResult",
            op("Indexer", vec![days.clone(), lit_int(i)]),
        )
    };
    let r = eval_all(
        vec![def(
            "Days",
            list(vec![
                at(0),
                at(1),
                at(-1),
                at(2),
                op("Indexer", vec![json!({"type": "Null"}), lit_int(0)]),
            ]),
        )],
        &nobody(),
    );
    assert_eq!(r[0], json!([true, false, null, null, null]));
}

/// Calendar arithmetic (CQL 1.5 §22.18 Add): months and years clamp to the
/// last day of a shorter month; weeks are 7 days; hours roll over years.
#[test]
fn datetime_arithmetic_across_month_ends_and_in_weeks() {
    let add = |ty: &str, a: J, q: J| op(ty, vec![a, q]);
    let r = eval_all(
        vec![
            def(
                "Dates",
                list(vec![
                    add("Add", date("2024-01-31"), qty(1.0, "month")),
                    add("Subtract", date("2024-03-31"), qty(1.0, "month")),
                    add("Add", date("2024-02-29"), qty(1.0, "year")),
                    add("Add", date("2025-01-31"), qty(1.0, "month")),
                    // "42 weeks or less before": 294 days.
                    add("Subtract", date("2025-03-01"), qty(42.0, "weeks")),
                ]),
            ),
            def(
                "Date Times",
                list(vec![
                    op(
                        "Equal",
                        vec![
                            add("Add", dt("2023-01-31T10:00:00.000Z"), qty(1.0, "month")),
                            dt("2023-02-28T10:00:00.000Z"),
                        ],
                    ),
                    op(
                        "Equal",
                        vec![
                            add("Add", dt("2024-12-31T23:00:00.000Z"), qty(2.0, "hours")),
                            dt("2025-01-01T01:00:00.000Z"),
                        ],
                    ),
                    op(
                        "Equal",
                        vec![
                            add("Subtract", dt("2025-03-01T00:00:00.000Z"), qty(1.0, "hour")),
                            dt("2025-02-28T23:00:00.000Z"),
                        ],
                    ),
                ]),
            ),
        ],
        &nobody(),
    );
    assert_eq!(
        r[0],
        json!([
            "2024-02-29",
            "2024-02-29",
            "2025-02-28",
            "2025-02-28",
            "2024-05-11"
        ])
    );
    assert_eq!(r[1], json!([true, true, true]));
}

/// `duration in X between` counts whole periods; `difference in X between`
/// counts boundaries crossed (CQL 1.5 §22.21, §22.22).
#[test]
fn duration_and_difference_between() {
    let r = eval_all(
        vec![
            def(
                "Months",
                list(vec![
                    between(
                        "DurationBetween",
                        "Month",
                        date("2024-01-15"),
                        date("2024-03-14"),
                    ),
                    between(
                        "DifferenceBetween",
                        "Month",
                        date("2024-01-15"),
                        date("2024-03-14"),
                    ),
                    between(
                        "DurationBetween",
                        "Month",
                        date("2024-01-31"),
                        date("2024-02-01"),
                    ),
                    between(
                        "DifferenceBetween",
                        "Month",
                        date("2024-01-31"),
                        date("2024-02-01"),
                    ),
                ]),
            ),
            def(
                "Years",
                list(vec![
                    between(
                        "DurationBetween",
                        "Year",
                        date("2000-03-01"),
                        date("2025-02-28"),
                    ),
                    between(
                        "DifferenceBetween",
                        "Year",
                        date("2000-03-01"),
                        date("2025-02-28"),
                    ),
                ]),
            ),
            def(
                "Days And Hours",
                list(vec![
                    between(
                        "DifferenceBetween",
                        "Day",
                        dt("2025-01-01T23:00:00.000Z"),
                        dt("2025-01-02T01:00:00.000Z"),
                    ),
                    between(
                        "DurationBetween",
                        "Day",
                        dt("2025-01-01T23:00:00.000Z"),
                        dt("2025-01-02T01:00:00.000Z"),
                    ),
                    between(
                        "DurationBetween",
                        "Hour",
                        dt("2025-01-01T23:00:00.000Z"),
                        dt("2025-01-02T01:00:00.000Z"),
                    ),
                    between(
                        "DurationBetween",
                        "Day",
                        json!({"type": "Null"}),
                        dt("2025-01-02T01:00:00.000Z"),
                    ),
                ]),
            ),
            // PCMaternal: ( 280 - difference in days between delivery and EDD ) div 7.
            def(
                "Gestational Age",
                op(
                    "TruncatedDivide",
                    vec![
                        op(
                            "Subtract",
                            vec![
                                lit_int(280),
                                between(
                                    "DifferenceBetween",
                                    "Day",
                                    dt("2025-03-01T10:00:00.000Z"),
                                    dt("2025-03-15T00:00:00.000Z"),
                                ),
                            ],
                        ),
                        lit_int(7),
                    ],
                ),
            ),
        ],
        &nobody(),
    );
    assert_eq!(r[0], json!([1, 2, 0, 1]));
    assert_eq!(r[1], json!([24, 25]));
    assert_eq!(r[2], json!([1, 0, 2, null]));
    assert_eq!(r[3], json!(38));
}

/// A DateTime without an offset is read at the evaluation's offset (UTC
/// here), so it compares with offset DateTimes and with the period.
#[test]
fn datetimes_without_offset_compare_with_offset_ones() {
    let obs = |id: &str, when: &str| json!({"resourceType": "Observation", "id": id, "status": "final", "effectiveDateTime": when});
    let p = with_patient(vec![
        obs("local", "2025-12-31T23:30:00"),
        obs("plus-one", "2026-01-01T00:30:00+01:00"),
        obs("next-year", "2026-01-01T00:30:00"),
        obs("minus-five", "2025-12-31T20:00:00-05:00"),
    ]);
    let period = interval(
        dt("2025-01-01T00:00:00.000Z"),
        dt("2025-12-31T23:59:59.999Z"),
        true,
        true,
    );
    let when = prop("value", as_fhir(prop("effective", alias("O")), "dateTime"));
    let in_period = json!({"type": "Query", "source": [{"alias": "O", "expression": retrieve("Observation")}],
        "where": op("In", vec![when, period]),
        "return": {"expression": prop("id", alias("O"))},
        "sort": {"by": [{"type": "ByDirection", "direction": "asc"}]}});
    let r = eval_all(
        vec![
            def("In Period", in_period),
            def(
                "Literals",
                list(vec![
                    op(
                        "Equal",
                        vec![
                            dt("2025-01-01T10:00:00.000"),
                            dt("2025-01-01T05:00:00.000-05:00"),
                        ],
                    ),
                    op(
                        "Less",
                        vec![
                            dt("2025-01-01T10:00:00.000"),
                            dt("2025-01-01T09:00:00.000-05:00"),
                        ],
                    ),
                ]),
            ),
        ],
        &p,
    );
    assert_eq!(r[0], json!(["local", "plus-one"]));
    assert_eq!(r[1], json!([true, true]));
}

/// `Interval[x, y)` with null bounds: a closed null bound is unbounded, an
/// open null bound unknown (CQL 1.5 §2.5.3, FHIRHelpers.ToInterval).
#[test]
fn intervals_with_null_bounds() {
    let null = || json!({"type": "Null"});
    let inside = |point: &str, iv: J| op("In", vec![dt(point), iv]);
    let june = || dt("2025-06-01T00:00:00.000Z");
    let jan = || dt("2025-01-01T00:00:00.000Z");
    let r = eval_all(
        vec![def(
            "Membership",
            list(vec![
                inside(
                    "2020-01-01T00:00:00.000Z",
                    interval(null(), june(), true, false),
                ),
                inside(
                    "2020-01-01T00:00:00.000Z",
                    interval(null(), june(), false, false),
                ),
                inside(
                    "2025-07-01T00:00:00.000Z",
                    interval(null(), june(), false, false),
                ),
                inside(
                    "2025-06-01T00:00:00.000Z",
                    interval(jan(), june(), true, false),
                ),
                inside(
                    "2030-01-01T00:00:00.000Z",
                    interval(jan(), null(), true, true),
                ),
                inside(
                    "2030-01-01T00:00:00.000Z",
                    interval(jan(), null(), true, false),
                ),
                json!({"type": "Start", "operand": interval(null(), june(), false, true)}),
            ]),
        )],
        &nobody(),
    );
    assert_eq!(r[0], json!([true, null, false, false, true, null, null]));
}

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
