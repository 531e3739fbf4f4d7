//! Queries answered from an index of ids (`keyed`) give what the row-by-row scan gives:
//! duplicate ids in source order, absent and null ids and keys matching nothing,
//! non-string keys, errors, and an index reused across calls of one patient.

use serde_json::{json, Value as J};

use super::hoist::for_each_child;
use super::node::Node;
use super::tests::{alias, engine, list, lit_int, lit_str, prop};
use super::tests_elm::{def, eval_results, op};
use super::tests_elm_idioms::{retrieve, with_patient};
use super::PatientRecord;

const STRING: &str = "{urn:hl7-org:elm-types:r1}String";

fn id_of(a: &str) -> J {
    prop("value", prop("id", alias(a)))
}

fn operand(name: &str) -> J {
    json!({"type": "OperandRef", "name": name})
}

fn call(name: &str, args: Vec<J>) -> J {
    json!({"type": "FunctionRef", "name": name, "operand": args})
}

fn fdef(name: &str, body: J) -> J {
    json!({"name": name, "type": "FunctionDef", "context": "Patient",
        "operand": [{"name": "k", "operandTypeSpecifier": {"type": "NamedTypeSpecifier", "name": STRING}}],
        "expression": body})
}

/// `<source> E where <condition>`, keyed when it qualifies.
fn keyed(source: J, condition: J) -> J {
    json!({"type": "Query", "source": [{"alias": "E", "expression": source}], "where": condition})
}

/// The same query with a `return E all`: never keyed, so it scans.
fn scanned(source: J, condition: J) -> J {
    json!({"type": "Query", "source": [{"alias": "E", "expression": source}], "where": condition,
        "return": {"distinct": false, "expression": alias("E")}})
}

/// Encounters with a duplicate id (in order e1/a, e2, e1/b), one without id, one whose id
/// has only an extension (no value).
fn record() -> PatientRecord {
    with_patient(vec![
        json!({"resourceType": "Encounter", "id": "e1", "status": "arrived"}),
        json!({"resourceType": "Encounter", "id": "e2", "status": "finished"}),
        json!({"resourceType": "Encounter", "status": "planned"}),
        json!({"resourceType": "Encounter", "id": "e1", "status": "cancelled"}),
        json!({"resourceType": "Encounter", "_id": {"extension": []}, "status": "onleave"}),
    ])
}

fn keys() -> Vec<J> {
    vec![
        lit_str("e1"),
        lit_str("e2"),
        lit_str("zz"),
        json!({"type": "Null"}),
        lit_str("e1"),
        lit_str("E1"),
    ]
}

/// Every query in `n`: whether it is keyed.
fn keyed_flags(n: &Node) -> Vec<bool> {
    let mut out = Vec::new();
    if let Node::Query(q) = n {
        out.push(q.keyed.is_some());
    }
    for_each_child(n, &mut |c| out.extend(keyed_flags(c)));
    out
}

fn statuses(v: &J) -> J {
    let one = |r: &J| r.get("status").cloned().unwrap_or(J::Null);
    match v {
        J::Array(items) => J::Array(
            items
                .iter()
                .map(|x| match x {
                    J::Array(rows) => J::Array(rows.iter().map(one).collect()),
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Calls `Find(k)` (keyed) and `Scan(k)` for each key within one definition each, so the
/// keyed one reuses its index across calls; returns both results.
fn both(find: J, scan: J) -> (Result<J, String>, Result<J, String>) {
    let calls = |f: &str| list(keys().into_iter().map(|k| call(f, vec![k])).collect());
    let defs = vec![
        def("Encounters", retrieve("Encounter")),
        fdef("Find", find),
        fdef("Scan", scan),
        def("Found", calls("Find")),
        def("Scanned", calls("Scan")),
    ];
    let m = engine(defs.clone())
        .compile_measure("MiniMeasure")
        .unwrap_or_else(|e| panic!("compile: {e}"));
    let flags: Vec<Vec<bool>> = ["Find", "Scan"]
        .iter()
        .map(|name| {
            let d = m
                .program()
                .defs
                .iter()
                .flatten()
                .find(|d| &*d.name == *name);
            keyed_flags(&d.unwrap_or_else(|| panic!("no {name}")).body)
        })
        .collect();
    assert_eq!(flags, vec![vec![true], vec![false]]);
    let mut r = eval_results(defs, &record());
    let scanned = r.pop().unwrap_or_else(|| Err("none".into()));
    let found = r.pop().unwrap_or_else(|| Err("none".into()));
    (found, scanned)
}

#[test]
fn lookup_by_id_matches_the_scan_for_duplicates_nulls_and_misses() {
    let (found, scanned) = both(
        keyed(
            retrieve("Encounter"),
            op("Equal", vec![id_of("E"), operand("k")]),
        ),
        scanned(
            retrieve("Encounter"),
            op("Equal", vec![id_of("E"), operand("k")]),
        ),
    );
    let expected = json!([
        ["arrived", "cancelled"],
        ["finished"],
        [],
        [],
        ["arrived", "cancelled"],
        []
    ]);
    assert_eq!(found.as_ref().map(statuses), Ok(expected));
    assert_eq!(found, scanned);
}

#[test]
fn key_on_the_left_and_an_expression_definition_as_source() {
    let (found, scanned) = both(
        keyed(
            json!({"type": "ExpressionRef", "name": "Encounters"}),
            op("Equal", vec![operand("k"), prop("id", alias("E"))]),
        ),
        scanned(
            json!({"type": "ExpressionRef", "name": "Encounters"}),
            op("Equal", vec![operand("k"), prop("id", alias("E"))]),
        ),
    );
    let _ = found.as_ref().map_err(|e| panic!("{e}"));
    assert_eq!(found, scanned);
}

#[test]
fn a_key_that_is_not_a_string_runs_the_scan() {
    let number = lit_int(1);
    let (found, scanned) = both(
        keyed(
            retrieve("Encounter"),
            op("Equal", vec![id_of("E"), number.clone()]),
        ),
        scanned(retrieve("Encounter"), op("Equal", vec![id_of("E"), number])),
    );
    assert_eq!(found, scanned);
}

#[test]
fn errors_surface_as_in_the_scan() {
    let failing = json!({"type": "SingletonFrom", "operand": list(vec![lit_int(1), lit_int(2)])});
    let on =
        |source: J, f: fn(J, J) -> J| f(source, op("Equal", vec![id_of("E"), failing.clone()]));
    let defs = vec![
        def("Keyed Empty", on(retrieve("Condition"), keyed)),
        def("Scanned Empty", on(retrieve("Condition"), scanned)),
        def("Keyed", on(retrieve("Encounter"), keyed)),
        def("Scanned", on(retrieve("Encounter"), scanned)),
    ];
    let r = eval_results(defs, &record());
    let n = r.len();
    // No row: the key is never evaluated.
    assert_eq!(r[n - 4], Ok(json!([])));
    assert_eq!(r[n - 3], Ok(json!([])));
    assert!(r[n - 2].is_err() && r[n - 1].is_err(), "{:?}", &r[n - 2..]);
}
