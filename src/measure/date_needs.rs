//! Date windows of a measure's retrieves. A query keeps a row only where its `where` clause
//! is true, so a conjunct like `E.period.toInterval() during day of "Measurement Period"` rules
//! out every Encounter whose period misses the measurement period, and those need not be read.
//! A retrieve is limited to a window when each path from it to a query's `where` keeps rows
//! as they are (unions, status filters like `isEncounterPerformed()`, nested queries without a
//! return), and the conjunct puts the type's principal date element (`store::date_element`),
//! or a point or interval taken from it, in, over, before or after bounds the parameters
//! alone decide. A row is read when some retrieve naming one of its codes (or naming none)
//! keeps its dates; evaluation still applies every clause to what is read.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::datetime::{DateTime, Precision};
use super::node::{Node, Op1, Op2, Query};
use super::program::Program;
use super::value::Value;
use crate::fhir::fhirpath::DateRange;
use crate::store::DateFilter;

/// Widens a resolved window on both sides. Stored spans read values without an offset as
/// UTC, evaluation in the run's offset (at most 14 h apart), and comparisons at day
/// precision take in whole days.
const SLACK_MS: i64 = 2 * 86_400_000;

/// How deep bound and element expressions are followed through definitions and wrappers.
const DEPTH: u8 = 12;

/// Functions of the common libraries that return their argument's date value, the interval
/// it spans, or a point of that interval: whatever they return lies within the element.
const SPAN_FUNCTIONS: &[(&str, &[&str])] = &[
    ("FHIRHelpers", &["ToInterval", "ToDateTime", "ToDate"]),
    ("QICoreCommon", &["toInterval", "latest", "earliest"]),
    ("CQMCommon", &["toInterval", "latest", "earliest"]),
    (
        "MATGlobalCommonFunctions",
        &["Normalize Interval", "Latest", "Earliest"],
    ),
    (
        "MATGlobalCommonFunctionsFHIR4",
        &["Normalize Interval", "Latest", "Earliest"],
    ),
    ("Global", &["Normalize Interval", "Latest", "Earliest"]),
];

/// A date the parameters decide.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    /// The low or high bound of an interval parameter.
    Param {
        param: usize,
        high: bool,
    },
    Lit(DateTime),
    /// A point moved by a calendar amount (`start of "Measurement Period" - 1 year`).
    Shift(Box<Point>, i64, Precision),
}

/// The window a row's element must overlap; an absent bound is open.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub low: Option<Point>,
    pub high: Option<Point>,
}

/// A condition on the rows of a list: their `element` overlaps `window`.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub element: Arc<str>,
    pub window: Window,
}

/// One retrieve of a type, as far as dates go: the codes it names (`None`: it keeps rows
/// of any code) and the windows its rows must all overlap (none: any dates).
#[derive(Debug, Clone, PartialEq)]
pub struct DatedUse {
    pub codes: Option<BTreeSet<String>>,
    pub windows: Vec<Window>,
}

/// What the retrieves of one type ask of its rows' dates.
#[derive(Debug, Clone, PartialEq)]
pub enum DateNeed {
    /// Some retrieve keeps rows of any code whatever their dates.
    Any,
    Uses(Vec<DatedUse>),
}

impl DateNeed {
    /// Adds a retrieve naming `codes` that keeps only rows overlapping all of `windows`.
    pub fn add(&mut self, codes: Option<&BTreeSet<String>>, windows: Vec<Window>) {
        let DateNeed::Uses(uses) = self else {
            return;
        };
        if codes.is_none() && windows.is_empty() {
            *self = DateNeed::Any;
            return;
        }
        let added = DatedUse {
            codes: codes.cloned(),
            windows,
        };
        if !uses.contains(&added) {
            uses.push(added);
        }
    }

    /// The store's filter, windows resolved with these parameter values; `None` when it
    /// would keep every row.
    pub fn resolve(&self, params: &[Option<Value>]) -> Option<DateFilter> {
        let DateNeed::Uses(uses) = self else {
            return None;
        };
        let mut filter = DateFilter::default();
        for u in uses {
            let (mut low, mut high) = (i64::MIN, i64::MAX);
            for w in &u.windows {
                if let Some(l) = w.low.as_ref().and_then(|p| p.epoch_ms(params)) {
                    low = low.max(l.saturating_sub(SLACK_MS));
                }
                if let Some(h) = w.high.as_ref().and_then(|p| p.epoch_ms(params)) {
                    high = high.min(h.saturating_add(SLACK_MS));
                }
            }
            filter.add(u.codes.as_ref(), DateRange { low, high });
        }
        filter.limits().then_some(filter)
    }
}

impl Point {
    fn value(&self, params: &[Option<Value>]) -> Option<DateTime> {
        match self {
            Point::Param { param, high } => {
                let Some(Some(Value::Interval(interval))) = params.get(*param) else {
                    return None;
                };
                match if *high { &interval.high } else { &interval.low } {
                    Value::DateTime(d) | Value::Date(d) => Some(*d),
                    _ => None,
                }
            }
            Point::Lit(d) => Some(*d),
            Point::Shift(p, amount, unit) => p.value(params)?.add(*amount, *unit),
        }
    }

    /// Coarser than a day, the earliest instant says too little of the latest: left open.
    fn epoch_ms(&self, params: &[Option<Value>]) -> Option<i64> {
        let d = self.value(params)?;
        (d.precision >= Precision::Day).then(|| d.epoch_ms())
    }
}

/// Reads date constraints out of a compiled program's expressions.
pub struct Dates<'p> {
    pub prog: &'p Program,
}

/// Which bounds of the other side a comparison keeps the row's element within.
enum Keeps {
    Both,
    Low,
    High,
}

impl Dates<'_> {
    /// The constraints a `where` clause puts on the rows of the source in `slot`: one per
    /// conjunct that limits their date element.
    pub fn of_where(&self, where_: Option<&Node>, slot: usize) -> Vec<Constraint> {
        let mut conjuncts = Vec::new();
        if let Some(w) = where_ {
            collect_conjuncts(w, &mut conjuncts);
        }
        conjuncts
            .into_iter()
            .filter_map(|c| self.constraint(c, slot))
            .collect()
    }

    /// The query of function `def` when it keeps some of its first operand's elements and
    /// returns them unchanged (`isEncounterPerformed`: `Enc E where E.status = 'finished'`).
    pub fn filter_function(&self, def: usize) -> Option<&Query> {
        let d = self.prog.defs.get(def)?.as_ref()?;
        let Node::Query(q) = &d.body else {
            return None;
        };
        let [source] = q.sources.as_slice() else {
            return None;
        };
        let keeps = d.function
            && matches!(source.expr, Node::Slot(0))
            && q.ret.is_none()
            && q.aggregate.is_none();
        keeps.then_some(&**q)
    }

    fn constraint(&self, c: &Node, slot: usize) -> Option<Constraint> {
        let Node::Op2(op, args, precision) = c else {
            return None;
        };
        if precision.is_some_and(|p| p < Precision::Day) {
            return None;
        }
        let [a, b] = &**args;
        let (element, other, reversed) = match self.row_element(a, slot, 0) {
            Some(e) => (e, b, false),
            None => (self.row_element(b, slot, 0)?, a, true),
        };
        let (low, high) = self.bounds(other, 0)?;
        let window = match (keeps(*op, reversed)?, low, high) {
            (_, None, None) => return None,
            (Keeps::Both, low, high) => Window { low, high },
            (Keeps::Low, low @ Some(_), _) => Window { low, high: None },
            (Keeps::High, _, high @ Some(_)) => Window { low: None, high },
            _ => return None,
        };
        Some(Constraint { element, window })
    }

    /// The date element of the row in `slot` that `n` takes its value from, if every point
    /// of that value lies within the element's span.
    fn row_element(&self, n: &Node, slot: usize, depth: u8) -> Option<Arc<str>> {
        if depth > DEPTH {
            return None;
        }
        let inner = |x: &Node| self.row_element(x, slot, depth + 1);
        match n {
            Node::Property(of, name) => match &**of {
                Node::Slot(s) if *s == slot => Some(name.clone()),
                _ if matches!(&**name, "start" | "end" | "value") => inner(of),
                _ => None,
            },
            Node::Convert(x, _, _) | Node::As(x, _, _) => inner(x),
            Node::Op1(
                Op1::Start
                | Op1::End
                | Op1::PointFrom
                | Op1::DateFrom
                | Op1::ToDateTime
                | Op1::ToDate,
                x,
            ) => inner(x),
            Node::Call(def, args) if self.keeps_span(*def) => match args.as_slice() {
                [x] => inner(x),
                _ => None,
            },
            Node::CallDyn(defs, args) if defs.iter().all(|d| self.keeps_span(*d)) => {
                match args.as_slice() {
                    [x] => inner(x),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn keeps_span(&self, def: usize) -> bool {
        let Some(Some(d)) = self.prog.defs.get(def) else {
            return false;
        };
        SPAN_FUNCTIONS
            .iter()
            .any(|(library, names)| **library == *d.library && names.contains(&&*d.name))
    }

    /// The bounds of an interval or point the parameters alone decide; `None` when `n` is
    /// not one, an absent bound when that bound is not known.
    fn bounds(&self, n: &Node, depth: u8) -> Option<(Option<Point>, Option<Point>)> {
        if depth > DEPTH {
            return None;
        }
        match n {
            Node::ParamRef(i) => Some((
                Some(Point::Param {
                    param: *i,
                    high: false,
                }),
                Some(Point::Param {
                    param: *i,
                    high: true,
                }),
            )),
            Node::Interval(b) => {
                let bounds = (self.point(&b[0], depth + 1), self.point(&b[1], depth + 1));
                (bounds.0.is_some() || bounds.1.is_some()).then_some(bounds)
            }
            Node::Hoisted(_, x) => self.bounds(x, depth + 1),
            Node::ExprRef(i) => self.bounds(self.expression(*i)?, depth + 1),
            _ => {
                let p = self.point(n, depth + 1)?;
                Some((Some(p.clone()), Some(p)))
            }
        }
    }

    fn point(&self, n: &Node, depth: u8) -> Option<Point> {
        if depth > DEPTH {
            return None;
        }
        match n {
            Node::Lit(Value::DateTime(d) | Value::Date(d)) => Some(Point::Lit(*d)),
            Node::Op1(Op1::Start, x) => self.bounds(x, depth + 1)?.0,
            Node::Op1(Op1::End, x) => self.bounds(x, depth + 1)?.1,
            Node::Op1(Op1::DateFrom | Op1::ToDateTime | Op1::ToDate, x) => self.point(x, depth + 1),
            Node::Op2(op @ (Op2::Add | Op2::Subtract), b, _) => {
                let Node::Lit(Value::Quantity(q)) = &b[1] else {
                    return None;
                };
                if q.value.fract() != 0.0 {
                    return None;
                }
                let (amount, unit) = super::units::temporal_amount(q)?;
                let amount = if *op == Op2::Subtract {
                    -amount
                } else {
                    amount
                };
                Some(Point::Shift(
                    Box::new(self.point(&b[0], depth + 1)?),
                    amount,
                    unit,
                ))
            }
            Node::Hoisted(_, x) => self.point(x, depth + 1),
            Node::ExprRef(i) => self.point(self.expression(*i)?, depth + 1),
            _ => None,
        }
    }

    /// The body of expression definition `i` (not a function).
    fn expression(&self, i: usize) -> Option<&Node> {
        match self.prog.defs.get(i) {
            Some(Some(d)) if !d.function => Some(&d.body),
            _ => None,
        }
    }
}

fn collect_conjuncts<'n>(n: &'n Node, out: &mut Vec<&'n Node>) {
    match n {
        Node::Op2(Op2::And, b, _) => b.iter().for_each(|x| collect_conjuncts(x, out)),
        _ => out.push(n),
    }
}

/// What `element op other` (`other op element` when `reversed`) keeps the element within.
/// Whatever lies in, over, starts or ends an interval, or equals a point, overlaps it; what
/// lies before something starts before its high bound, what lies after ends after its low.
fn keeps(op: Op2, reversed: bool) -> Option<Keeps> {
    use Op2::*;
    Some(match op {
        In | IncludedIn | ProperIn | ProperIncludedIn | Includes | Contains | ProperIncludes
        | ProperContains | Overlaps | OverlapsBefore | OverlapsAfter | Starts | Ends | SameAs
        | Equal => Keeps::Both,
        Before | SameOrBefore | Less | LessOrEqual if !reversed => Keeps::High,
        Before | SameOrBefore | Less | LessOrEqual => Keeps::Low,
        After | SameOrAfter | Greater | GreaterOrEqual if !reversed => Keeps::Low,
        After | SameOrAfter | Greater | GreaterOrEqual => Keeps::High,
        _ => return None,
    })
}

#[cfg(test)]
#[path = "tests_date_needs.rs"]
pub(crate) mod tests;
