use std::collections::BTreeSet;

use super::*;
use crate::measure::program::{Engine, Period};
use crate::measure::value::Quantity;

fn period_params() -> Vec<Option<Value<'static>>> {
    let period = Period::parse("2025-01-01", "2025-12-31").expect("a period");
    vec![Some(Value::interval(
        Value::DateTime(period.start),
        Value::DateTime(period.end),
        true,
        true,
    ))]
}

/// The UTC date of an epoch-milliseconds bound; empty for an open one.
pub(crate) fn day(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// The window `conjunct` puts on the row in slot 0, resolved for 2025, as `low..high` dates.
fn window(conjunct: Node) -> Option<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/ecqm");
    let engine = Engine::load(&dir).ok()?;
    let measure = engine.compile_measure("BreastCancerScreeningFHIR").ok()?;
    let dates = Dates {
        prog: measure.program(),
    };
    let constraints = dates.of_where(Some(&conjunct), 0);
    let windows: Vec<Window> = constraints.into_iter().map(|c| c.window).collect();
    if windows.is_empty() {
        return Some("none".into());
    }
    let mut need = DateNeed::Uses(Vec::new());
    need.add(None, windows);
    let range = need.resolve(&period_params())?.window(None)?;
    Some(format!("{}..{}", day(range.low), day(range.high)))
}

fn period_of(slot: usize) -> Node {
    Node::Property(Box::new(Node::Slot(slot)), "period".into())
}

fn op2(op: Op2, a: Node, b: Node, precision: Option<Precision>) -> Node {
    Node::Op2(op, Box::new([a, b]), precision)
}

fn measurement_period() -> Node {
    Node::ParamRef(0)
}

fn bound(op: Op1) -> Node {
    Node::Op1(op, Box::new(measurement_period()))
}

fn years(n: f64) -> Node {
    Node::Lit(Value::Quantity(Quantity {
        value: n,
        unit: "year".into(),
    }))
}

#[test]
fn calendar_arithmetic_moves_a_bound() {
    let year_before = Node::Interval(Box::new([
        op2(Op2::Subtract, bound(Op1::Start), years(1.0), None),
        bound(Op1::End),
        Node::Lit(Value::Bool(true)),
        Node::Lit(Value::Bool(true)),
    ]));
    let Some(w) = window(op2(
        Op2::IncludedIn,
        period_of(0),
        year_before,
        Some(Precision::Day),
    )) else {
        return eprintln!("SKIPPED: ../shared/ecqm not found");
    };
    assert_eq!(w, "2023-12-30..2026-01-02");
}

#[test]
fn comparisons_bound_one_side_and_read_both_ways() {
    let ends = Node::Op1(Op1::End, Box::new(period_of(0)));
    let Some(w) = window(op2(Op2::SameOrBefore, ends, bound(Op1::End), None)) else {
        return eprintln!("SKIPPED: ../shared/ecqm not found");
    };
    assert_eq!(w, "..2026-01-02");
    let starts = Node::Op1(Op1::Start, Box::new(period_of(0)));
    let reversed = op2(Op2::Before, bound(Op1::Start), starts, None);
    assert_eq!(window(reversed).as_deref(), Some("2024-12-30.."));
    let includes = op2(Op2::Includes, measurement_period(), period_of(0), None);
    assert_eq!(window(includes).as_deref(), Some("2024-12-30..2026-01-02"));
}

#[test]
fn only_conjuncts_on_the_row_at_day_precision_or_finer_limit_it() {
    let during = |slot, precision| {
        op2(
            Op2::IncludedIn,
            period_of(slot),
            measurement_period(),
            precision,
        )
    };
    if window(during(0, None)).is_none() {
        return eprintln!("SKIPPED: ../shared/ecqm not found");
    }
    // Another alias's period, a year-precision comparison, and either side of an `or`
    // leave the row unlimited; a conjunct of an `and` limits it.
    assert_eq!(window(during(1, None)).as_deref(), Some("none"));
    assert_eq!(
        window(during(0, Some(Precision::Year))).as_deref(),
        Some("none")
    );
    let either = op2(Op2::Or, during(0, None), during(0, None), None);
    assert_eq!(window(either).as_deref(), Some("none"));
    let other = op2(Op2::Equal, Node::Slot(0), Node::Slot(1), None);
    let both = op2(Op2::And, other, during(0, None), None);
    assert_eq!(window(both).as_deref(), Some("2024-12-30..2026-01-02"));
    // A negated one says nothing of where the row lies.
    let negated = Node::Op1(Op1::Not, Box::new(during(0, None)));
    assert_eq!(window(negated).as_deref(), Some("none"));
}

#[test]
fn a_read_is_limited_only_when_every_retrieve_of_its_type_is() {
    let open = Window {
        low: None,
        high: Some(Point::Param {
            param: 0,
            high: true,
        }),
    };
    let period = Window {
        low: Some(Point::Param {
            param: 0,
            high: false,
        }),
        high: Some(Point::Param {
            param: 0,
            high: true,
        }),
    };
    let pressure = BTreeSet::from(["8480-6".to_owned()]);
    let housing = BTreeSet::from(["71802-3".to_owned()]);
    let mut need = DateNeed::Uses(Vec::new());
    need.add(Some(&pressure), vec![period.clone()]);
    need.add(Some(&housing), vec![open.clone()]);
    need.add(Some(&pressure), vec![period.clone()]);
    let filter = need.resolve(&period_params()).expect("a filter");
    let window = |code: &str| {
        let w = filter.window(Some(code)).expect("a window");
        format!("{}..{}", day(w.low), day(w.high))
    };
    assert_eq!(window("8480-6"), "2024-12-30..2026-01-02");
    assert_eq!(window("71802-3"), "..2026-01-02");
    assert_eq!(filter.window(None), None);
    // A retrieve of any code within a window keeps rows of every code within it.
    need.add(None, vec![open]);
    let filter = need.resolve(&period_params()).expect("a filter");
    assert_eq!(
        filter.window(None).map(|w| day(w.high)).as_deref(),
        Some("2026-01-02")
    );
    // A retrieve of codes whatever their dates keeps those codes' rows whatever their dates.
    need.add(Some(&pressure), Vec::new());
    let filter = need.resolve(&period_params()).expect("a filter");
    assert_eq!(filter.window(Some("8480-6")), Some(crate::store::UNBOUNDED));
    // One of any code whatever their dates keeps every row.
    need.add(None, Vec::new());
    assert_eq!(need, DateNeed::Any);
    assert_eq!(need.resolve(&period_params()), None);
    // An unbound parameter leaves its bound open.
    let mut need = DateNeed::Uses(Vec::new());
    need.add(None, vec![period]);
    assert_eq!(need.resolve(&[None]), None);
}
