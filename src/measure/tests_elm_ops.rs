//! Unit tests of CQL 1.5 operators the ELM schema defines beyond the common
//! ones: statistics, arithmetic, ages at every precision, date/time
//! components, proper containment, meets and interval measures.

use serde_json::{json, Value as J};

use super::tests::{list, lit_int, lit_str};
use super::tests_elm::{def, eval_all, eval_results, lit, nobody, op, SYS};
use super::tests_elm_cov::ints;

#[test]
fn math_and_list_operators_of_the_schema() {
    let dec = |v: &str| lit("Decimal", v);
    let r = eval_all(
        vec![
            def(
                "Statistics",
                list(vec![
                    json!({"type": "Product", "source": ints(&[2, 3, 4])}),
                    json!({"type": "Median", "source": ints(&[5, 1, 3, 2])}),
                    json!({"type": "Mode", "source": ints(&[1, 2, 2, 3])}),
                    json!({"type": "PopulationVariance", "source": ints(&[1, 2, 3, 4, 5])}),
                    json!({"type": "Variance", "source": ints(&[1, 2, 3, 4, 5])}),
                ]),
            ),
            def(
                "Arithmetic",
                list(vec![
                    op("TruncatedDivide", vec![lit_int(-7), lit_int(2)]),
                    op("Modulo", vec![lit_int(-7), lit_int(2)]),
                    op("Power", vec![lit_int(2), lit_int(10)]),
                    json!({"type": "Truncate", "operand": dec("-1.7")}),
                    json!({"type": "Successor", "operand": lit_int(4)}),
                    json!({"type": "Predecessor", "operand": lit("Date", "2024-03-01")}),
                    op("Modulo", vec![lit_int(5), lit_int(0)]),
                ]),
            ),
            def(
                "Lists",
                list(vec![
                    json!({"type": "Slice", "source": ints(&[1, 2, 3, 4]), "startIndex": lit_int(1), "endIndex": lit_int(3)}),
                    json!({"type": "IndexOf", "source": ints(&[4, 5, 6]), "element": lit_int(6)}),
                    json!({"type": "IndexOf", "source": ints(&[4, 5, 6]), "element": lit_int(9)}),
                ]),
            ),
            def(
                "Logic",
                list(vec![
                    op(
                        "Implies",
                        vec![lit("Boolean", "false"), json!({"type": "Null"})],
                    ),
                    op(
                        "Implies",
                        vec![lit("Boolean", "true"), json!({"type": "Null"})],
                    ),
                    op("Xor", vec![lit("Boolean", "true"), lit("Boolean", "false")]),
                    json!({"type": "IsFalse", "operand": {"type": "Null"}}),
                ]),
            ),
        ],
        &nobody(),
    );
    assert_eq!(r[0], json!([24, 2.5, 2, 2.0, 2.5]));
    assert_eq!(r[1], json!([-3, -1, 1024, -1, 5, "2024-02-29", null]));
    assert_eq!(r[2], json!([[2, 3], 2, -1]));
    assert_eq!(r[3], json!([true, null, true, false]));
}

fn dt(v: &str) -> J {
    lit("DateTime", v)
}

fn ints_interval(a: i64, b: i64) -> J {
    json!({"type": "Interval", "low": lit_int(a), "high": lit_int(b), "lowClosed": true, "highClosed": true})
}

#[test]
fn ages_at_every_precision() {
    let age = |precision: &str, birth: J, at: J| json!({"type": "CalculateAgeAt", "precision": precision, "operand": [birth, at]});
    let leap = || lit("Date", "2000-02-29");
    let eve = || lit("Date", "2025-02-28");
    let born = || dt("2025-01-01T00:00:00.000Z");
    let later = || dt("2025-01-02T06:30:15.000Z");
    let r = eval_all(
        vec![
            def(
                "Dates",
                list(vec![
                    age("Year", leap(), eve()),
                    age("Month", leap(), eve()),
                    age("Day", leap(), eve()),
                ]),
            ),
            def(
                "Times",
                list(vec![
                    age("Hour", born(), later()),
                    age("Minute", born(), later()),
                    age("Second", born(), later()),
                    age("Year", json!({"type": "Null"}), eve()),
                ]),
            ),
            // `AgeInYears()` is the age as of today.
            def(
                "Today",
                op(
                    "Equal",
                    vec![
                        json!({"type": "CalculateAge", "precision": "Year", "operand": leap()}),
                        age("Year", leap(), json!({"type": "Today"})),
                    ],
                ),
            ),
        ],
        &nobody(),
    );
    // The day before the 25th (leap-day) birthday: 24 years, 299 months.
    assert_eq!(r[0], json!([24, 299, 9131]));
    assert_eq!(r[1], json!([30, 1830, 109815, null]));
    assert_eq!(r[2], json!(true));
}

#[test]
fn date_time_components_and_the_clock() {
    let when = || dt("2025-03-01T10:30:15.250-05:00");
    let component =
        |p: &str, v: J| json!({"type": "DateTimeComponentFrom", "precision": p, "operand": v});
    let r = eval_all(
        vec![
            def(
                "Parts",
                list(vec![
                    json!({"type": "DateFrom", "operand": when()}),
                    json!({"type": "TimeFrom", "operand": when()}),
                    json!({"type": "TimezoneOffsetFrom", "operand": when()}),
                    component("Hour", when()),
                    component("Millisecond", when()),
                    // Beyond the value's precision a component is unknown.
                    component("Day", lit("Date", "2025-03")),
                ]),
            ),
            def(
                "Clock",
                list(vec![
                    op(
                        "Equal",
                        vec![json!({"type": "Now"}), json!({"type": "Now"})],
                    ),
                    op(
                        "Equal",
                        vec![
                            json!({"type": "Today"}),
                            json!({"type": "DateFrom", "operand": {"type": "Now"}}),
                        ],
                    ),
                    op(
                        "Equal",
                        vec![
                            json!({"type": "TimeOfDay"}),
                            json!({"type": "TimeFrom", "operand": {"type": "Now"}}),
                        ],
                    ),
                ]),
            ),
        ],
        &nobody(),
    );
    assert_eq!(
        r[0],
        json!(["2025-03-01", "10:30:15.250", -5.0, 10, 250, null])
    );
    // Now is fixed for the whole evaluation.
    assert_eq!(r[1], json!([true, true, true]));
}

#[test]
fn proper_containment_and_meets() {
    let rel = |ty: &str, a: (i64, i64), b: (i64, i64)| {
        op(ty, vec![ints_interval(a.0, a.1), ints_interval(b.0, b.1)])
    };
    let ints = |v: &[i64]| list(v.iter().map(|i| lit_int(*i)).collect());
    let r = eval_all(
        vec![
            def(
                "Proper",
                list(vec![
                    op("ProperIn", vec![lit_int(3), ints_interval(1, 5)]),
                    op("ProperIn", vec![lit_int(1), ints_interval(1, 5)]),
                    op("ProperContains", vec![ints(&[1, 2]), lit_int(2)]),
                    rel("ProperIncludes", (1, 5), (2, 4)),
                    rel("ProperIncludes", (1, 5), (1, 5)),
                    op("ProperIncludedIn", vec![ints(&[1]), ints(&[1, 2])]),
                    op("ProperIncludedIn", vec![ints(&[1, 2]), ints(&[1, 2])]),
                ]),
            ),
            def(
                "Meets",
                list(vec![
                    rel("Meets", (1, 5), (6, 10)),
                    rel("Meets", (6, 10), (1, 5)),
                    rel("MeetsBefore", (6, 10), (1, 5)),
                    rel("MeetsAfter", (6, 10), (1, 5)),
                    rel("Meets", (1, 5), (7, 10)),
                    json!({"type": "Meets", "precision": "Day", "operand": [
                        {"type": "Interval", "low": lit("Date", "2025-01-01"), "high": lit("Date", "2025-01-31"),
                            "lowClosed": true, "highClosed": true},
                        {"type": "Interval", "low": lit("Date", "2025-02-01"), "high": lit("Date", "2025-02-28"),
                            "lowClosed": true, "highClosed": true}]}),
                ]),
            ),
        ],
        &nobody(),
    );
    assert_eq!(r[0], json!([true, false, true, true, false, true, false]));
    assert_eq!(r[1], json!([true, true, false, true, false, true]));
}

#[test]
fn interval_measures_precision_and_quantity_conversion() {
    let r = eval_all(
        vec![
            def(
                "Interval Measures",
                list(vec![
                    json!({"type": "Width", "operand": ints_interval(1, 5)}),
                    json!({"type": "Size", "operand": ints_interval(1, 5)}),
                    json!({"type": "PointFrom", "operand": ints_interval(3, 3)}),
                ]),
            ),
            def(
                "Precision",
                list(vec![
                    json!({"type": "Precision", "operand": lit("Date", "2014-01")}),
                    json!({"type": "Precision", "operand": dt("2014-01-05T10:30:00.000")}),
                ]),
            ),
            def(
                "Quantities",
                list(vec![
                    op(
                        "ConvertQuantity",
                        vec![
                            json!({"type": "Quantity", "value": 5, "unit": "g"}),
                            lit_str("mg"),
                        ],
                    ),
                    op(
                        "ConvertQuantity",
                        vec![
                            json!({"type": "Quantity", "value": 5, "unit": "g"}),
                            lit_str("m"),
                        ],
                    ),
                ]),
            ),
            def(
                "Logs",
                list(vec![
                    op("Log", vec![lit("Decimal", "8.0"), lit("Decimal", "2.0")]),
                    json!({"type": "Exp", "operand": lit("Decimal", "0.0")}),
                    json!({"type": "Ln", "operand": lit("Decimal", "1.0")}),
                    op("Power", vec![lit("Decimal", "2.0"), lit_int(-1)]),
                ]),
            ),
            def(
                "Extremes",
                list(vec![
                    json!({"type": "MinValue", "valueType": format!("{SYS}Integer")}),
                    json!({"type": "MaxValue", "valueType": format!("{SYS}Date")}),
                ]),
            ),
        ],
        &nobody(),
    );
    assert_eq!(r[0], json!([4, 5, 3]));
    assert_eq!(r[1], json!([6, 17]));
    assert_eq!(r[2], json!([{"value": 5000.0, "unit": "mg"}, null]));
    assert_eq!(r[3], json!([3.0, 1.0, 0.0, 0.5]));
    assert_eq!(r[4], json!([-2147483648i64, "9999-12-31"]));
    // Decimals do not keep their trailing zeros, so their precision is refused by name.
    let r = eval_results(
        vec![def(
            "Decimal Precision",
            json!({"type": "Precision", "operand": lit("Decimal", "1.58700")}),
        )],
        &nobody(),
    );
    let err = r[0].clone().err().unwrap_or_default();
    assert!(
        err.contains("PrecisionOf is not defined for Decimal"),
        "{err}"
    );
}

/// Sorting puts nulls before every value ascending, after every value
/// descending; `First`/`Last` of an empty list are null.
#[test]
fn sort_orders_nulls_and_empty_lists() {
    let with_null = list(vec![lit_int(3), json!({"type": "Null"}), lit_int(1)]);
    let sorted = |direction: &str| {
        json!({"type": "Sort", "source": with_null.clone(),
            "by": [{"type": "ByDirection", "direction": direction}]})
    };
    let r = eval_all(
        vec![
            def("Ascending", sorted("asc")),
            def("Descending", sorted("desc")),
            def(
                "Ends Of Empty",
                list(vec![
                    json!({"type": "First", "source": {"type": "List"}}),
                    json!({"type": "Last", "source": {"type": "List"}}),
                ]),
            ),
        ],
        &nobody(),
    );
    assert_eq!(r[0], json!([null, 1, 3]));
    assert_eq!(r[1], json!([3, 1, null]));
    assert_eq!(r[2], json!([null, null]));
}

/// `Message` returns its source; only an `Error` whose condition holds stops
/// the evaluation, with the message's code and text (CMD's `ToDaily` relies on
/// a `Warning` passing through).
#[test]
fn message_passes_its_source_unless_an_error_holds() {
    let message = |condition: &str, severity: &str| {
        json!({"type": "Message", "source": lit_int(5), "condition": lit("Boolean", condition),
            "code": lit_str("CMDLogic.ToDaily.UnknownUnit"), "severity": lit_str(severity),
            "message": lit_str("Unknown unit parsec")})
    };
    let r = eval_results(
        vec![
            def("Warning", message("true", "Warning")),
            def("Error Not Met", message("false", "Error")),
            def("Error", message("true", "Error")),
        ],
        &nobody(),
    );
    assert_eq!(r[0], Ok(json!(5)));
    assert_eq!(r[1], Ok(json!(5)));
    let err = r[2].clone().err().unwrap_or_default();
    assert!(
        err.contains("CMDLogic.ToDaily.UnknownUnit: Unknown unit parsec"),
        "{err}"
    );
}
