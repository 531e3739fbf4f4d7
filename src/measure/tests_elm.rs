//! Unit tests of individual ELM operators on hand-written ELM.

use serde_json::{json, Value as J};

use super::tests::{alias, engine, list, lit_int, lit_str, patient, prop};
use super::{PatientData, PatientRecord, Period};

pub(super) const SYS: &str = "{urn:hl7-org:elm-types:r1}";

pub(super) fn def(name: &str, expression: J) -> J {
    json!({"name": name, "context": "Patient", "expression": expression})
}

pub(super) fn lit(ty: &str, v: &str) -> J {
    json!({"type": "Literal", "valueType": format!("{SYS}{ty}"), "value": v})
}

pub(super) fn op(ty: &str, operands: Vec<J>) -> J {
    json!({"type": ty, "operand": operands})
}

/// Evaluates each named definition for `p` and returns the JSON results.
pub(super) fn eval_all(defs: Vec<J>, p: &dyn PatientData) -> Vec<J> {
    eval_results(defs, p)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// `eval_all`, keeping evaluation errors (as text) instead of failing.
pub(super) fn eval_results(defs: Vec<J>, p: &dyn PatientData) -> Vec<Result<J, String>> {
    let names: Vec<String> = defs
        .iter()
        .filter_map(|d| d.get("name").and_then(J::as_str).map(str::to_owned))
        .collect();
    let e = engine(defs);
    let m = e
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("compile: {e}"));
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    names
        .iter()
        .map(|n| {
            m.evaluate_expression(p, &period, n)
                .map_err(|e| format!("{n}: {e}"))
        })
        .collect()
}

pub(super) fn nobody() -> PatientRecord {
    patient("1980-05-01", &[])
}

#[test]
fn filter_for_each_repeat_sort_and_ordered_first() {
    let ints = |v: &[i64]| list(v.iter().map(|i| lit_int(*i)).collect());
    let cur = json!({"type": "Current", "scope": "X"});
    let tuples = list(vec![
        json!({"type": "Tuple", "element": [{"name": "n", "value": lit_int(3)}, {"name": "s", "value": lit_str("c")}]}),
        json!({"type": "Tuple", "element": [{"name": "n", "value": lit_int(1)}, {"name": "s", "value": lit_str("a")}]}),
        json!({"type": "Tuple", "element": [{"name": "n", "value": lit_int(2)}, {"name": "s"}]}),
    ]);
    let defs = vec![
        def(
            "Filter",
            json!({"type": "Filter", "scope": "X", "source": ints(&[1, 5, 2, 8]),
            "condition": op("Greater", vec![cur.clone(), lit_int(2)])}),
        ),
        def(
            "ForEach",
            json!({"type": "ForEach", "scope": "X", "source": ints(&[1, 2]),
            "element": op("Multiply", vec![cur.clone(), lit_int(10)])}),
        ),
        // Halve until below 1: 8 → 4 → 2 → 1 → 0.
        def(
            "Repeat",
            json!({"type": "Repeat", "scope": "X", "source": ints(&[8]),
            "element": json!({"type": "If", "condition": op("Greater", vec![cur.clone(), lit_int(0)]),
                "then": op("TruncatedDivide", vec![cur, lit_int(2)]), "else": {"type": "Null"}})}),
        ),
        def(
            "Sort Desc",
            json!({"type": "Sort", "source": ints(&[2, 3, 1, 3]),
            "by": [{"type": "ByDirection", "direction": "desc"}]}),
        ),
        def(
            "Sort By Expr",
            json!({"type": "Sort", "source": tuples.clone(),
            "by": [{"type": "ByExpression", "direction": "asc",
                "expression": {"type": "IdentifierRef", "name": "n"}}]}),
        ),
        def(
            "First By",
            prop(
                "s",
                json!({"type": "First", "orderBy": "n", "source": tuples.clone()}),
            ),
        ),
        def(
            "Last By",
            prop(
                "n",
                json!({"type": "Last", "orderBy": "n", "source": tuples}),
            ),
        ),
        def(
            "Sort Null",
            json!({"type": "Sort", "source": {"type": "Null"},
            "by": [{"type": "ByDirection", "direction": "asc"}]}),
        ),
    ];
    let r = eval_all(defs, &nobody());
    assert_eq!(r[0], json!([5, 8]));
    assert_eq!(r[1], json!([10, 20]));
    assert_eq!(r[2], json!([4, 2, 1, 0]));
    assert_eq!(r[3], json!([3, 3, 2, 1]));
    assert_eq!(
        r[4],
        json!([{"n": 1, "s": "a"}, {"n": 2, "s": null}, {"n": 3, "s": "c"}])
    );
    assert_eq!(r[5], json!("a"));
    assert_eq!(r[6], json!(3));
    assert_eq!(r[7], J::Null);
}

#[test]
fn regular_expressions_and_strings() {
    let defs = vec![
        def(
            "Matches",
            list(vec![
                op("Matches", vec![lit_str("1234"), lit_str("\\d+")]),
                // Whole-string match, as the reference engine (Java `String.matches`).
                op("Matches", vec![lit_str("a1234"), lit_str("\\d+")]),
                op(
                    "Matches",
                    vec![{ json!({"type": "Null"}) }, lit_str("\\d+")],
                ),
            ]),
        ),
        def(
            "Replace",
            op(
                "ReplaceMatches",
                vec![
                    lit_str("2025-03-01"),
                    lit_str("(\\d+)-(\\d+)-(\\d+)"),
                    lit_str("$3/$2/$1"),
                ],
            ),
        ),
        def(
            "Split",
            json!({"type": "SplitOnMatches", "stringToSplit": lit_str("a1b22c"), "separatorPattern": lit_str("\\d+")}),
        ),
        def(
            "Chars",
            json!({"type": "ToChars", "operand": lit_str("ab")}),
        ),
        def(
            "Bad Pattern",
            op("Matches", vec![lit_str("x"), lit_str("(")]),
        ),
    ];
    let names = ["Matches", "Replace", "Split", "Chars"];
    let e = engine(defs);
    let m = e
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("{e}"));
    let period = Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"));
    let p = nobody();
    let r: Vec<J> = names
        .iter()
        .map(|n| {
            m.evaluate_expression(&p, &period, n)
                .unwrap_or_else(|e| panic!("{n}: {e}"))
        })
        .collect();
    assert_eq!(r[0], json!([true, false, null]));
    assert_eq!(r[1], json!("01/03/2025"));
    assert_eq!(r[2], json!(["a", "b", "c"]));
    assert_eq!(r[3], json!(["a", "b"]));
    let bad = m.evaluate_expression(&p, &period, "Bad Pattern");
    assert!(
        matches!(&bad, Err(super::MeasureError::Eval(msg)) if msg.contains("regular expression")),
        "{bad:?}"
    );
}

#[test]
fn boundaries_ratios_and_conversions() {
    let defs = vec![
        def(
            "Dec Bounds",
            list(vec![
                op("LowBoundary", vec![lit("Decimal", "1.587"), lit_int(8)]),
                op("HighBoundary", vec![lit("Decimal", "1.587"), lit_int(8)]),
                op("HighBoundary", vec![lit("Decimal", "1.587"), lit_int(2)]),
            ]),
        ),
        def(
            "Date Bounds",
            list(vec![
                op("LowBoundary", vec![lit("Date", "2014"), lit_int(6)]),
                op("HighBoundary", vec![lit("Date", "2014"), lit_int(6)]),
                op("HighBoundary", vec![lit("Date", "2024-02"), lit_int(8)]),
                op(
                    "HighBoundary",
                    vec![lit("DateTime", "2014-01-01T08"), lit_int(17)],
                ),
            ]),
        ),
        def(
            "Ratio",
            json!({"type": "ToRatio", "operand": lit_str("1 'mg':2 'mL'")}),
        ),
        def(
            "Converts Ratio",
            list(vec![
                json!({"type": "ConvertsToRatio", "operand": lit_str("1:128")}),
                json!({"type": "ConvertsToRatio", "operand": lit_str("1/128")}),
            ]),
        ),
        def(
            "Can Convert Quantity",
            list(vec![
                op(
                    "CanConvertQuantity",
                    vec![
                        json!({"type": "Quantity", "value": 5, "unit": "mg"}),
                        lit_str("g"),
                    ],
                ),
                op(
                    "CanConvertQuantity",
                    vec![
                        json!({"type": "Quantity", "value": 5, "unit": "mg"}),
                        lit_str("m"),
                    ],
                ),
            ]),
        ),
        def(
            "Convert",
            list(vec![
                json!({"type": "Convert", "operand": lit_str("42"), "toType": format!("{SYS}Integer")}),
                json!({"type": "CanConvert", "operand": lit_str("x"), "toType": format!("{SYS}Decimal")}),
            ]),
        ),
        def(
            "Convert Integer",
            list(vec![
                json!({"type": "ConvertsToInteger", "operand": lit_str("-7")}),
                json!({"type": "ToInteger", "operand": lit_str("7.5")}),
            ]),
        ),
    ];
    let r = eval_all(defs, &nobody());
    assert_eq!(r[0], json!([1.587, 1.58799999, null]));
    assert_eq!(
        r[1],
        json!([
            "2014-01",
            "2014-12",
            "2024-02-29",
            "2014-01-01T08:59:59.999"
        ])
    );
    assert_eq!(
        r[2],
        json!({"numerator": {"value": 1.0, "unit": "mg"}, "denominator": {"value": 2.0, "unit": "mL"}})
    );
    assert_eq!(r[3], json!([true, false]));
    assert_eq!(r[4], json!([true, false]));
    assert_eq!(r[5], json!([42, false]));
    assert_eq!(r[6], json!([true, null]));
}

#[test]
fn children_descendents_and_code_systems() {
    let pat = json!({"type": "SingletonFrom", "operand": {"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Patient"}});
    let code = |c: &str| json!({"type": "Code", "code": c, "system": {"name": "EX"}});
    let defs = vec![
        def(
            "Children",
            json!({"type": "Children", "source": prop("name", pat.clone())}),
        ),
        def(
            "Descendents",
            json!({"type": "Count", "source": {"type": "Descendents", "source": pat.clone()}}),
        ),
        def(
            "Code System",
            json!({"type": "CodeSystemRef", "name": "EX"}),
        ),
        def(
            "Conforms",
            list(vec![
                json!({"type": "FunctionRef", "libraryName": "FHIRHelpers", "name": "conformsTo",
                "operand": [pat.clone(), lit_str("http://hl7.org/fhir/StructureDefinition/Patient")]}),
                json!({"type": "FunctionRef", "libraryName": "FHIRHelpers", "name": "conformsTo",
                "operand": [pat.clone(), lit_str("http://example.org/StructureDefinition/other")]}),
            ]),
        ),
        def(
            "In Code System",
            list(vec![
                json!({"type": "InCodeSystem", "code": code("office"), "codesystem": {"name": "EX"}}),
                json!({"type": "AnyInCodeSystem", "codes": list(vec![
                json!({"type": "Code", "code": "x", "system": {"name": "EX"}})]), "codesystem": {"name": "EX"}}),
                json!({"type": "InCodeSystem", "code": {"type": "Null"}, "codesystem": {"name": "EX"}}),
            ]),
        ),
    ];
    let p = PatientRecord::new(vec![json!({"resourceType": "Patient", "id": "p1",
        "name": [{"family": "Doe", "given": ["Jo", "Ann"]}], "birthDate": "1980-05-01"})]);
    let r = eval_all(defs, &p);
    assert_eq!(r[0], json!(["Doe", "Jo", "Ann"]));
    // id, name, name.family, name.given ×2, birthDate.
    assert_eq!(r[1], json!(6));
    assert_eq!(
        r[2],
        json!({"id": "http://example.org/cs", "version": "1", "name": "EX"})
    );
    assert_eq!(r[3], json!([true, false]));
    assert_eq!(r[4], json!([true, true, null]));
}

#[test]
fn times_expand_and_collapse_of_quantities() {
    let null = || json!({"type": "Null"});
    let q = |v: f64| json!({"type": "Quantity", "value": v, "unit": "mg"});
    let iv = |a: J, b: J| json!({"type": "Interval", "low": a, "high": b, "lowClosed": true, "highClosed": true});
    let ints = |a: i64, b: i64| iv(lit_int(a), lit_int(b));
    let t =
        |n: &str, v: i64| json!({"type": "Tuple", "element": [{"name": n, "value": lit_int(v)}]});
    let days = iv(lit("Date", "2025-01-30"), lit("Date", "2025-02-01"));
    let defs = vec![
        def(
            "Times",
            op(
                "Times",
                vec![list(vec![t("a", 1), t("a", 2)]), list(vec![t("b", 9)])],
            ),
        ),
        def(
            "Expand Quantity",
            op("Expand", vec![list(vec![iv(q(1.0), q(3.0))]), null()]),
        ),
        // A per finer than the points (hours on Dates) makes no progress: nothing.
        def(
            "Expand Finer",
            op(
                "Expand",
                vec![
                    list(vec![days.clone()]),
                    json!({"type": "Quantity", "value": 1, "unit": "hour"}),
                ],
            ),
        ),
        def("Expand Points", op("Expand", vec![days, null()])),
        def(
            "Collapse Quantity",
            op(
                "Collapse",
                vec![list(vec![iv(q(1.0), q(3.0)), iv(q(2.0), q(5.0))]), null()],
            ),
        ),
        // Per 1 mg, [6, 7] meets [1, 5] on that grid; [9, 9] stays apart.
        def(
            "Collapse Per",
            op(
                "Collapse",
                vec![
                    list(vec![
                        iv(q(6.0), q(7.0)),
                        iv(q(1.0), q(5.0)),
                        iv(q(9.0), q(9.0)),
                    ]),
                    q(1.0),
                ],
            ),
        ),
        def(
            "Collapse Int Per",
            op(
                "Collapse",
                vec![
                    list(vec![ints(1, 3), ints(6, 8)]),
                    json!({"type": "Quantity", "value": 2, "unit": "1"}),
                ],
            ),
        ),
        def(
            "Interval Except",
            list(vec![
                op("Except", vec![ints(1, 10), ints(5, 12)]),
                op("Except", vec![ints(1, 10), ints(0, 3)]),
                op("Except", vec![ints(1, 10), ints(3, 5)]),
                op("Except", vec![ints(1, 10), ints(11, 15)]),
                op("Except", vec![ints(1, 10), ints(0, 15)]),
            ]),
        ),
    ];
    let r = eval_all(defs, &nobody());
    assert_eq!(r[0], json!([{"a": 1, "b": 9}, {"a": 2, "b": 9}]));
    let mg = |v: f64| json!({"value": v, "unit": "mg"});
    let closed =
        |lo: J, hi: J| json!({"low": lo, "high": hi, "lowClosed": true, "highClosed": true});
    // Decimal-valued points: each unit interval ends at the predecessor of the
    // next start, and [3, 3.99999999] would reach past the end.
    assert_eq!(
        r[1],
        json!([
            closed(mg(1.0), mg(1.99999999)),
            closed(mg(2.0), mg(2.99999999))
        ])
    );
    assert_eq!(r[2], json!([]));
    assert_eq!(r[3], json!(["2025-01-30", "2025-01-31", "2025-02-01"]));
    assert_eq!(r[4], json!([closed(mg(1.0), mg(5.0))]));
    assert_eq!(
        r[5],
        json!([closed(mg(1.0), mg(7.0)), closed(mg(9.0), mg(9.0))])
    );
    assert_eq!(
        r[6],
        json!([closed(json!(1), json!(3)), closed(json!(6), json!(8))])
    );
    assert_eq!(
        r[7],
        json!([
            closed(json!(1), json!(4)),
            closed(json!(4), json!(10)),
            null,
            closed(json!(1), json!(10)),
            null
        ])
    );
}

#[test]
fn retrieve_filters_by_date_range_codes_and_context() {
    let enc = |id: &str, code: &str, class: &str, start: &str| {
        json!({"resourceType": "Encounter", "id": id, "status": "finished",
            "class": {"system": "http://example.org/cs", "code": class},
            "type": [{"coding": [{"system": "http://example.org/cs", "code": code}]}],
            "period": {"start": start, "end": start}})
    };
    let p = PatientRecord::new(vec![
        json!({"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"}),
        enc("e1", "office", "AMB", "2025-03-05"),
        enc("e2", "office", "IMP", "2025-03-06"),
        enc("e3", "office", "AMB", "2025-06-01"),
        enc("e4", "home", "AMB", "2025-03-07"),
    ]);
    let march = json!({"type": "Interval", "lowClosed": true, "highClosed": true,
        "low": lit("DateTime", "2025-03-01T00:00:00.000Z"), "high": lit("DateTime", "2025-03-31T23:59:59.999Z")});
    let ids = |r: J| {
        json!({"type": "Query", "source": [{"alias": "E", "expression": r}],
        "return": {"expression": prop("value", prop("id", alias("E")))},
        "sort": {"by": [{"type": "ByDirection", "direction": "asc"}]}})
    };
    let amb = json!({"type": "ToList", "operand": {"type": "Code", "code": "AMB", "system": {"name": "EX"}}});
    let defs = vec![
        def(
            "Dated",
            ids(
                json!({"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Encounter",
            "dateProperty": "period", "dateRange": march.clone()}),
            ),
        ),
        def(
            "Coded And Dated",
            ids(
                json!({"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Encounter",
            "codeFilter": [
                {"property": "type", "comparator": "in", "value": {"type": "ValueSetRef", "name": "Visits"}},
                {"property": "class", "comparator": "~", "value": amb}],
            "dateFilter": [{"property": "period", "value": march}]}),
            ),
        ),
        def(
            "No Context",
            json!({"type": "Count", "source": {"type": "Retrieve",
            "dataType": "{http://hl7.org/fhir}Encounter", "context": {"type": "Null"}}}),
        ),
    ];
    let r = eval_all(defs, &p);
    assert_eq!(r[0], json!(["e1", "e2", "e4"]));
    assert_eq!(r[1], json!(["e1"]));
    assert_eq!(r[2], json!(0));
}
