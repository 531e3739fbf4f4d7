//! Coverage of the ELM schema (expression.xsd, clinicalexpression.xsd of
//! ELM r1): every expression type is recognised, and the scoped iteration
//! operators (`Aggregate`, `Iteration`, `Total`) and aggregate `path`s follow
//! CQL 1.5.

use serde_json::{json, Value as J};

use super::tests::{engine, list, lit_int, lit_str};
use super::tests_elm::{def, eval_all, nobody, op};

/// Every concrete expression type of the ELM r1 schema.
const ELM_EXPRESSIONS: &[&str] = &[
    "ExpressionRef",
    "FunctionRef",
    "ParameterRef",
    "OperandRef",
    "IdentifierRef",
    "Literal",
    "Tuple",
    "Instance",
    "Interval",
    "List",
    "And",
    "Or",
    "Xor",
    "Implies",
    "Not",
    "If",
    "Case",
    "Null",
    "IsNull",
    "IsTrue",
    "IsFalse",
    "Coalesce",
    "Is",
    "As",
    "Convert",
    "CanConvert",
    "ToBoolean",
    "ConvertsToBoolean",
    "ToChars",
    "ToConcept",
    "ToDate",
    "ConvertsToDate",
    "ToDateTime",
    "ConvertsToDateTime",
    "ToDecimal",
    "ConvertsToDecimal",
    "ToInteger",
    "ConvertsToInteger",
    "ToLong",
    "ConvertsToLong",
    "ToList",
    "ToQuantity",
    "ConvertsToQuantity",
    "ToRatio",
    "ConvertsToRatio",
    "ToString",
    "ConvertsToString",
    "ToTime",
    "ConvertsToTime",
    "CanConvertQuantity",
    "ConvertQuantity",
    "Equal",
    "Equivalent",
    "NotEqual",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "Add",
    "Subtract",
    "Multiply",
    "Divide",
    "TruncatedDivide",
    "Modulo",
    "Ceiling",
    "Floor",
    "Truncate",
    "Abs",
    "Negate",
    "Round",
    "Ln",
    "Exp",
    "Log",
    "Power",
    "Successor",
    "Predecessor",
    "MinValue",
    "MaxValue",
    "Precision",
    "LowBoundary",
    "HighBoundary",
    "Concatenate",
    "Combine",
    "Split",
    "SplitOnMatches",
    "Length",
    "Upper",
    "Lower",
    "Indexer",
    "PositionOf",
    "LastPositionOf",
    "Substring",
    "StartsWith",
    "EndsWith",
    "Matches",
    "ReplaceMatches",
    "DurationBetween",
    "DifferenceBetween",
    "DateFrom",
    "TimeFrom",
    "TimezoneFrom",
    "TimezoneOffsetFrom",
    "DateTimeComponentFrom",
    "TimeOfDay",
    "Today",
    "Now",
    "DateTime",
    "Date",
    "Time",
    "SameAs",
    "SameOrBefore",
    "SameOrAfter",
    "Width",
    "Size",
    "PointFrom",
    "Start",
    "End",
    "Contains",
    "ProperContains",
    "In",
    "ProperIn",
    "Includes",
    "IncludedIn",
    "ProperIncludes",
    "ProperIncludedIn",
    "Before",
    "After",
    "Meets",
    "MeetsBefore",
    "MeetsAfter",
    "Overlaps",
    "OverlapsBefore",
    "OverlapsAfter",
    "Starts",
    "Ends",
    "Collapse",
    "Expand",
    "Union",
    "Intersect",
    "Except",
    "Exists",
    "Times",
    "Filter",
    "First",
    "Last",
    "Slice",
    "Children",
    "Descendents",
    "Message",
    "IndexOf",
    "Flatten",
    "Sort",
    "ForEach",
    "Repeat",
    "Distinct",
    "Current",
    "Iteration",
    "Total",
    "SingletonFrom",
    "Aggregate",
    "Count",
    "Sum",
    "Product",
    "Min",
    "Max",
    "Avg",
    "GeometricMean",
    "Median",
    "Mode",
    "Variance",
    "PopulationVariance",
    "StdDev",
    "PopulationStdDev",
    "AllTrue",
    "AnyTrue",
    "Property",
    "Query",
    "AliasRef",
    "QueryLetRef",
    "Retrieve",
    "CodeSystemRef",
    "ValueSetRef",
    "CodeRef",
    "ConceptRef",
    "Code",
    "Concept",
    "InCodeSystem",
    "AnyInCodeSystem",
    "InValueSet",
    "AnyInValueSet",
    "ExpandValueSet",
    "Subsumes",
    "SubsumedBy",
    "Quantity",
    "Ratio",
    "CalculateAge",
    "CalculateAgeAt",
];

/// The compile warning of each definition, by name (none when it compiled).
fn compile_warnings(defs: Vec<J>) -> Vec<String> {
    engine(defs)
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("compile: {e}"))
        .warnings
}

#[test]
fn every_elm_expression_type_is_recognised() {
    // A bare node may lack operands; what matters is that no type is unknown.
    let defs = ELM_EXPRESSIONS
        .iter()
        .map(|t| def(&format!("Bare {t}"), json!({"type": t})))
        .collect();
    let warnings = compile_warnings(defs);
    for t in ELM_EXPRESSIONS {
        let unknown = format!("ELM node {t} (");
        assert!(
            !warnings.iter().any(|w| w.contains(&unknown)),
            "{t}: {warnings:?}"
        );
    }
}

#[test]
fn search_and_retrieves_by_id_are_refused_by_name() {
    let warnings = compile_warnings(vec![
        def(
            "Search",
            json!({"type": "Search", "path": "code", "source": {"type": "Null"}}),
        ),
        def(
            "By Id",
            json!({"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Encounter",
                "id": lit_str("e1")}),
        ),
    ]);
    assert!(
        warnings.iter().any(
            |w| w.contains("Search (search parameter code)") && w.contains("expression Search")
        ),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("Retrieve by id")),
        "{warnings:?}"
    );
}

pub(super) fn ints(v: &[i64]) -> J {
    list(v.iter().map(|i| lit_int(*i)).collect())
}

#[test]
fn aggregate_accumulates_total_from_the_initial_value() {
    let total = json!({"type": "Total"});
    let current = json!({"type": "Current"});
    let r = eval_all(
        vec![
            // `({1, 2, 3, 4}).aggregate($total + $this, 0)` is 10.
            def(
                "Sum",
                json!({"type": "Aggregate", "source": ints(&[1, 2, 3, 4]),
                    "iteration": op("Add", vec![total.clone(), current.clone()]),
                    "initialValue": lit_int(0)}),
            ),
            // Without an initial value `$total` starts null, and null + x is null.
            def(
                "No Initial",
                json!({"type": "Aggregate", "source": ints(&[1, 2]),
                    "iteration": op("Add", vec![total.clone(), current.clone()])}),
            ),
            // The largest element, keeping `$total` when it is larger.
            def(
                "Max",
                json!({"type": "Aggregate", "source": ints(&[3, 9, 4]),
                    "iteration": {"type": "If",
                        "condition": op("Greater", vec![current.clone(), total.clone()]),
                        "then": current.clone(), "else": total.clone()},
                    "initialValue": lit_int(0)}),
            ),
            def(
                "Empty",
                json!({"type": "Aggregate", "source": {"type": "List"},
                    "iteration": current.clone(), "initialValue": lit_int(5)}),
            ),
            def(
                "Null Source",
                json!({"type": "Aggregate", "source": {"type": "Null"},
                    "iteration": current, "initialValue": lit_int(5)}),
            ),
            // Named scopes reach the accumulator of an outer aggregate.
            def(
                "Scoped",
                json!({"type": "Aggregate", "scope": "A", "source": ints(&[2, 3]),
                    "iteration": op("Multiply", vec![
                        json!({"type": "Total", "scope": "A"}),
                        json!({"type": "Current", "scope": "A"})]),
                    "initialValue": lit_int(1)}),
            ),
        ],
        &nobody(),
    );
    assert_eq!(
        r,
        vec![json!(10), J::Null, json!(9), json!(5), J::Null, json!(6)]
    );
}

#[test]
fn iteration_numbers_elements_from_zero() {
    let index = json!({"type": "Iteration"});
    let r = eval_all(
        vec![
            def(
                "Indexes",
                json!({"type": "ForEach", "source": list(vec![lit_str("a"), lit_str("b"), lit_str("c")]),
                    "element": index.clone()}),
            ),
            // Every other element: those at even indexes.
            def(
                "Even Positions",
                json!({"type": "Filter", "source": ints(&[5, 6, 7, 8]),
                    "condition": op("Equal", vec![op("Modulo", vec![index.clone(), lit_int(2)]), lit_int(0)])}),
            ),
            // Weighted sum: 10·0 + 20·1 + 30·2.
            def(
                "Weighted",
                json!({"type": "Aggregate", "source": ints(&[10, 20, 30]),
                    "iteration": op("Add", vec![json!({"type": "Total"}),
                        op("Multiply", vec![json!({"type": "Current"}), index])]),
                    "initialValue": lit_int(0)}),
            ),
        ],
        &nobody(),
    );
    assert_eq!(r, vec![json!([0, 1, 2]), json!([5, 7]), json!(80)]);
    // Outside a scoped operation there is no iteration to number.
    let warnings = compile_warnings(vec![def("Loose", json!({"type": "Iteration"}))]);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("unresolved identifier $index")),
        "{warnings:?}"
    );
}

#[test]
fn aggregate_operators_read_the_path_of_each_element() {
    let row = |n: Option<i64>| {
        let value = n.map_or(json!({"type": "Null"}), lit_int);
        json!({"type": "Tuple", "element": [{"name": "n", "value": value}]})
    };
    let rows = list(vec![row(Some(1)), row(None), row(Some(3))]);
    let agg = |ty: &str| json!({"type": ty, "source": rows.clone(), "path": "n"});
    let r = eval_all(
        vec![
            // Count counts the elements that have a value for the path.
            def("Count", agg("Count")),
            def("Sum", agg("Sum")),
            def("Max", agg("Max")),
            def("Avg", agg("Avg")),
            def(
                "Aggregate",
                json!({"type": "Aggregate", "source": rows.clone(), "path": "n",
                    "iteration": op("Add", vec![json!({"type": "Total"}), json!({"type": "Current"})]),
                    "initialValue": lit_int(0)}),
            ),
        ],
        &nobody(),
    );
    assert_eq!(r, vec![json!(2), json!(4), json!(3), json!(2.0), json!(4)]);
}
