//! Unit tests, on ELM shaped as the CQL-to-ELM translator emits it, of the
//! idioms the published QI-Core 4.1.1 measures (ecqm-content-qicore-2024)
//! rely on. Expected values come from the CQL 1.5 specification.

use serde_json::{json, Value as J};

use super::tests::{alias, list, lit_int, prop};
use super::tests_elm::{def, eval_all, lit, nobody, op};
use super::PatientRecord;

pub(super) const FHIR: &str = "{http://hl7.org/fhir}";

pub(super) fn dt(v: &str) -> J {
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

pub(super) fn query(source: J, alias_name: &str, ret: J) -> J {
    json!({"type": "Query", "source": [{"alias": alias_name, "expression": source}],
        "return": {"expression": ret}})
}

pub(super) fn as_fhir(operand: J, ty: &str) -> J {
    json!({"type": "As", "asType": format!("{FHIR}{ty}"), "operand": operand})
}

pub(super) fn is_fhir(operand: J, ty: &str) -> J {
    json!({"type": "Is", "isType": format!("{FHIR}{ty}"), "operand": operand})
}

pub(super) fn retrieve(ty: &str) -> J {
    json!({"type": "Retrieve", "dataType": format!("{FHIR}{ty}")})
}

pub(super) fn with_patient(mut resources: Vec<J>) -> PatientRecord {
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

/// `lastEstimatedGestationalAge() >= 20 weeks` (PCMaternal, CMS1028): a FHIR
/// `wk` quantity compares with calendar weeks, and weeks, days and hours
/// compare across calendar and UCUM units.
#[test]
fn calendar_and_ucum_durations_compare() {
    let r = eval_all(
        vec![def(
            "Durations",
            list(vec![
                op("GreaterOrEqual", vec![qty(38.0, "wk"), qty(20.0, "weeks")]),
                op("Equal", vec![qty(1.0, "week"), qty(7.0, "days")]),
                op("Equal", vec![qty(1.0, "d"), qty(24.0, "hours")]),
                op("Less", vec![qty(19.0, "week"), qty(20.0, "weeks")]),
            ]),
        )],
        &nobody(),
    );
    assert_eq!(r[0], json!([true, true, true, true]));
}
