//! What a patient's evaluation remembers (function results by argument, fixed retrieves)
//! and what a query evaluates once instead of per row (`hoist`): same results as
//! evaluating everything every time, including nulls, errors and clauses never reached.

use serde_json::{json, Value as J};

use super::hoist::for_each_child;
use super::node::Node;
use super::tests::{alias, engine, list, lit_int, lit_str, prop};
use super::tests_elm::{def, eval_results, op};
use super::tests_elm_idioms::{retrieve, with_patient, FHIR};
use super::{CompiledMeasure, PatientRecord, Period};

fn fdef(name: &str, operands: &[(&str, &str)], body: J) -> J {
    let operands: Vec<J> = operands
        .iter()
        .map(|(n, t)| json!({"name": n, "operandTypeSpecifier": {"type": "NamedTypeSpecifier", "name": t}}))
        .collect();
    json!({"name": name, "type": "FunctionDef", "context": "Patient",
        "operand": operands, "expression": body})
}

fn call(name: &str, args: Vec<J>) -> J {
    json!({"type": "FunctionRef", "name": name, "operand": args})
}

fn operand(name: &str) -> J {
    json!({"type": "OperandRef", "name": name})
}

fn null() -> J {
    json!({"type": "Null"})
}

fn singleton(of: J) -> J {
    json!({"type": "SingletonFrom", "operand": of})
}

/// `singleton from { 1, 2 }`: an error wherever it is evaluated.
fn failing() -> J {
    singleton(list(vec![lit_int(1), lit_int(2)]))
}

fn id_of(alias_name: &str) -> J {
    prop("value", prop("id", alias(alias_name)))
}

fn query_where(source: J, alias_name: &str, condition: J) -> J {
    json!({"type": "Query", "source": [{"alias": alias_name, "expression": source}],
        "where": condition})
}

fn query_return(source: J, alias_name: &str, ret: J) -> J {
    json!({"type": "Query", "source": [{"alias": alias_name, "expression": source}],
        "return": {"distinct": false, "expression": ret}})
}

/// QICoreCommon's `getId` and CMS165's `getEncounter`, as the translator emits them.
fn helpers() -> Vec<J> {
    let string = "{urn:hl7-org:elm-types:r1}String";
    let get_id = json!({"type": "Last", "source":
        {"type": "Split", "stringToSplit": operand("uri"), "separator": lit_str("/")}});
    let reference = prop("value", prop("reference", operand("reference")));
    let get_encounter = singleton(query_where(
        retrieve("Encounter"),
        "E",
        op("Equal", vec![id_of("E"), call("GetId", vec![reference])]),
    ));
    vec![
        fdef("GetId", &[("uri", string)], get_id),
        fdef(
            "getEncounter",
            &[("reference", &format!("{FHIR}Reference"))],
            get_encounter,
        ),
    ]
}

fn encounter_ids() -> J {
    query_return(
        retrieve("Observation"),
        "O",
        prop(
            "value",
            prop(
                "id",
                call("getEncounter", vec![prop("encounter", alias("O"))]),
            ),
        ),
    )
}

fn record() -> PatientRecord {
    with_patient(vec![
        json!({"resourceType": "Encounter", "id": "e1", "status": "finished"}),
        json!({"resourceType": "Encounter", "id": "e2", "status": "finished"}),
        json!({"resourceType": "Encounter", "id": "e3", "status": "finished"}),
        json!({"resourceType": "Observation", "id": "o1", "encounter": {"reference": "Encounter/e1"}}),
        json!({"resourceType": "Observation", "id": "o2", "encounter": {"reference": "Encounter/e2"}}),
        json!({"resourceType": "Observation", "id": "o3"}),
    ])
}

fn compiled(defs: Vec<J>) -> CompiledMeasure {
    let mut all = helpers();
    all.extend(defs);
    engine(all)
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("compile: {e}"))
}

fn period() -> Period {
    Period::parse("2025-01-01", "2025-12-31").unwrap_or_else(|e| panic!("{e}"))
}

/// The compiled body of the definition or function `name`.
fn body<'m>(m: &'m CompiledMeasure, name: &str) -> &'m Node {
    m.program()
        .defs
        .iter()
        .flatten()
        .find(|d| &*d.name == name)
        .map(|d| &d.body)
        .unwrap_or_else(|| panic!("no definition {name}"))
}

/// The `hoisted` counts of the queries in `n`, outermost first.
fn hoisted(n: &Node) -> Vec<usize> {
    let mut out = Vec::new();
    if let Node::Query(q) = n {
        out.push(q.hoisted);
    }
    for_each_child(n, &mut |c| out.extend(hoisted(c)));
    out
}

fn run(defs: Vec<J>) -> Vec<Result<J, String>> {
    let mut all = helpers();
    all.extend(defs);
    eval_results(all, &record())
}

#[test]
fn a_function_is_evaluated_once_per_patient_and_arguments() {
    let m = compiled(vec![
        def("Encounter Ids", encounter_ids()),
        def("Encounter Ids Again", encounter_ids()),
    ]);
    let record = record();
    let mut cx = m.cx(&record, &period());
    let first = m.expression_id("Encounter Ids").map(|id| cx.expression(id));
    let first = super::value::to_json(&first.unwrap().unwrap());
    // o1 and o2 find their Encounters, o3 (no encounter: a null argument) none.
    assert_eq!(first, json!(["e1", "e2", null]));
    // One `getEncounter` result per distinct argument: o1's, o2's and the null reference;
    // `GetId` of o3's null too. A string makes no key: `GetId` of o1's and o2's references
    // is evaluated every time it is reached. The two retrieves are remembered.
    assert_eq!(cx.remembered(), (4, 2));
    let again = m
        .expression_id("Encounter Ids Again")
        .map(|id| cx.expression(id));
    assert_eq!(super::value::to_json(&again.unwrap().unwrap()), first);
    // No call evaluated again; retrieves are remembered per plan node, and the second
    // definition's `[Observation]` is a node of its own.
    assert_eq!(cx.remembered(), (4, 3));
}

#[test]
fn remembered_results_match_evaluation_for_equal_different_and_null_arguments() {
    let integer = "{urn:hl7-org:elm-types:r1}Integer";
    let label = json!({"type": "If",
        "condition": {"type": "IsNull", "operand": operand("n")},
        "then": lit_str("none"),
        "else": {"type": "ToString", "operand": op("Multiply", vec![operand("n"), lit_int(2)])}});
    let m = compiled(vec![
        fdef("Label", &[("n", integer)], label),
        def(
            "Labels",
            list(vec![
                call("Label", vec![lit_int(3)]),
                call("Label", vec![lit_int(3)]),
                call("Label", vec![lit_int(4)]),
                call("Label", vec![null()]),
                call("Label", vec![null()]),
            ]),
        ),
    ]);
    let record = record();
    let mut cx = m.cx(&record, &period());
    let labels = m.expression_id("Labels").map(|id| cx.expression(id));
    assert_eq!(
        super::value::to_json(&labels.unwrap().unwrap()),
        json!(["6", "6", "8", "none", "none"])
    );
    assert_eq!(cx.remembered().0, 3);
}

#[test]
fn a_failing_call_is_not_remembered_and_fails_again() {
    let integer = "{urn:hl7-org:elm-types:r1}Integer";
    let only = singleton(list(vec![operand("n"), operand("n")]));
    let r = run(vec![
        fdef("Only", &[("n", integer)], only),
        def("Broken", call("Only", vec![lit_int(3)])),
        def("Broken Again", call("Only", vec![lit_int(3)])),
    ]);
    assert!(r[r.len() - 2].is_err(), "{:?}", r[r.len() - 2]);
    assert!(r[r.len() - 1].is_err(), "{:?}", r[r.len() - 1]);
}

#[test]
fn the_row_invariant_part_of_a_where_clause_is_hoisted() {
    let m = compiled(vec![def("Encounter Ids", encounter_ids())]);
    // `GetId(reference.reference)` reads only the function's operand.
    assert_eq!(hoisted(body(&m, "getEncounter")), vec![1]);
    // `getEncounter(O.encounter)` reads the row: nothing to hoist.
    assert_eq!(hoisted(body(&m, "Encounter Ids")), vec![0]);
}

#[test]
fn hoisted_parts_are_evaluated_only_when_a_row_reaches_them() {
    let never = json!({"type": "If",
        "condition": op("Equal", vec![id_of("E"), lit_str("none")]),
        "then": op("Equal", vec![failing(), lit_int(1)]),
        "else": {"type": "Literal", "valueType": "{urn:hl7-org:elm-types:r1}Boolean", "value": "true"}});
    let reached = op("Equal", vec![failing(), lit_int(1)]);
    let lazy = query_return(
        query_where(retrieve("Encounter"), "E", never),
        "X",
        id_of("X"),
    );
    let defs = vec![
        def("Lazy", lazy),
        def(
            "Empty Source",
            query_where(retrieve("Condition"), "C", reached.clone()),
        ),
        def("Reached", query_where(retrieve("Encounter"), "E", reached)),
    ];
    let m = compiled(defs.clone());
    assert_eq!(hoisted(body(&m, "Lazy")), vec![0, 1]);
    assert_eq!(hoisted(body(&m, "Reached")), vec![1]);
    let r = run(defs);
    let n = r.len();
    assert_eq!(r[n - 3], Ok(json!(["e1", "e2", "e3"])));
    assert_eq!(r[n - 2], Ok(json!([])));
    assert!(r[n - 1].is_err(), "{:?}", r[n - 1]);
}

#[test]
fn a_with_source_is_hoisted_only_when_it_does_not_read_the_row() {
    let reference = prop("value", prop("reference", prop("encounter", alias("O"))));
    let with_encounter = json!({"type": "Query",
        "source": [{"alias": "O", "expression": retrieve("Observation")}],
        "relationship": [{"type": "With", "alias": "E", "expression": retrieve("Encounter"),
            "suchThat": op("Equal", vec![id_of("E"), call("GetId", vec![reference])])}],
        "return": {"distinct": false, "expression": id_of("O")}});
    // Per Encounter, its Observations: the inner query reads the outer row `E`, so it runs
    // again for each row, each time with a fresh value of its own hoisted part.
    let target = json!({"type": "Concatenate", "operand": [lit_str("Encounter/"), id_of("E")]});
    let observations_of = op(
        "Equal",
        vec![
            prop("value", prop("reference", prop("encounter", alias("O")))),
            target,
        ],
    );
    let per_encounter = query_return(
        retrieve("Encounter"),
        "E",
        json!({"type": "Count", "source":
            query_where(retrieve("Observation"), "O", observations_of)}),
    );
    let defs = vec![
        def("With Encounter", with_encounter),
        def("Per Encounter", per_encounter),
    ];
    let m = compiled(defs.clone());
    assert_eq!(hoisted(body(&m, "With Encounter")), vec![1]);
    assert_eq!(hoisted(body(&m, "Per Encounter")), vec![0, 1]);
    let r = run(defs);
    let n = r.len();
    assert_eq!(r[n - 2], Ok(json!(["o1", "o2"])));
    assert_eq!(r[n - 1], Ok(json!([1, 1, 0])));
}

#[test]
fn only_retrieves_whose_filters_read_no_row_are_remembered() {
    let by_row = json!({"type": "Retrieve", "dataType": format!("{FHIR}Encounter"),
        "codeProperty": "type", "codes": prop("type", alias("E"))});
    let m = compiled(vec![def(
        "Row Retrieve",
        query_return(retrieve("Encounter"), "E", by_row),
    )]);
    let mut fixed = Vec::new();
    fn walk(n: &Node, out: &mut Vec<bool>) {
        if let Node::Retrieve(r) = n {
            out.push(r.fixed);
        }
        for_each_child(n, &mut |c| walk(c, out));
    }
    walk(body(&m, "Row Retrieve"), &mut fixed);
    assert_eq!(fixed, vec![true, false]);
}

#[test]
fn call_keys_are_exact() {
    use super::memo::key;
    use super::value::{Doc, Value};
    let a = Doc::from(&json!({"reference": "Encounter/e1"}));
    let b = Doc::from(&json!({"reference": "Encounter/e1"}));
    let fa = Value::Fhir(&a, "Reference");
    let one = std::slice::from_ref(&fa);
    assert_eq!(key(1, one), key(1, &[Value::Fhir(&a, "Reference")]));
    // Equal content elsewhere is another element; the same element read as another type,
    // another function, another argument count: all other keys.
    assert_ne!(key(1, one), key(1, &[Value::Fhir(&b, "Reference")]));
    assert_ne!(key(1, one), key(1, &[Value::Fhir(&a, "Element")]));
    assert_ne!(key(1, one), key(2, one));
    assert_ne!(key(1, one), key(1, &[fa.clone(), Value::Null]));
    assert_ne!(key(1, &[Value::Null]), key(1, &[Value::Bool(false)]));
    assert_ne!(key(1, &[Value::Int(0)]), key(1, &[Value::Null]));
    assert!(key(1, &[Value::str("Encounter/e1")]).is_none());
    assert!(key(1, &[Value::Null, Value::Null, Value::Null]).is_none());
}
