//! Compile-time analysis of which parts of a query do not change from row to row.
//!
//! A query's `where`, `return`, `let`, `with`/`without` and sort clauses run once per row
//! (a `such that` once per row and related item), but parts of them often depend only on
//! what was bound before the query began: `[Encounter] E where E.id = reference.getId()`
//! splits the same reference for every Encounter. Such parts are wrapped in
//! `Node::Hoisted` and evaluated at most once per evaluation of the query, on first use, so
//! a part that a row never reaches (behind `and`, `if`, an empty source) is still never
//! evaluated, and errors surface exactly where they did.
//!
//! A part is row-invariant when every slot it reads is either below the query's first slot
//! (function operands, enclosing aliases: fixed while the query runs) or bound inside the
//! part itself. Evaluation is otherwise pure for one patient: definitions, parameters,
//! retrieves and `Now()` do not change during a patient's evaluation.

use super::node::{Node, Query, Retrieve, SortKey};

/// Wraps the row-invariant parts of `q`'s per-row clauses, `mark` being the first slot the
/// query binds; records their number in `q.hoisted`.
pub(crate) fn query(q: &mut Query, mark: usize) {
    let mut count = 0;
    for l in &mut q.lets {
        wrap(&mut l.expr, mark, &mut count);
    }
    for r in &mut q.relationships {
        wrap(&mut r.source.expr, mark, &mut count);
        wrap(&mut r.such_that, mark, &mut count);
    }
    if let Some(w) = &mut q.where_ {
        wrap(w, mark, &mut count);
    }
    if let Some((r, _)) = &mut q.ret {
        wrap(r, mark, &mut count);
    }
    if let Some(a) = &mut q.aggregate {
        wrap(&mut a.expr, mark, &mut count);
    }
    for s in &mut q.sort {
        if let SortKey::Expr(e, _) = &mut s.key {
            wrap(e, mark, &mut count);
        }
    }
    q.hoisted = count;
}

/// Whether a retrieve gives the same resources every time for one patient: its filters
/// read no slot (they are literals, parameters or definitions) and it has no context.
pub(crate) fn retrieve_is_fixed(r: &Retrieve) -> bool {
    r.context.is_none()
        && r.codes
            .iter()
            .chain(r.more_codes.iter().map(|(_, n)| n))
            .chain(r.dates.iter().map(|d| &d.range))
            .all(|n| !reads_free_slot(n, 0, &mut Vec::new()))
}

/// Replaces the maximal row-invariant, non-trivial subtrees of `n` with `Node::Hoisted`.
fn wrap(n: &mut Node, mark: usize, count: &mut usize) {
    if !trivial(n) && !reads_free_slot(n, mark, &mut Vec::new()) {
        let inner = std::mem::replace(n, Node::Lit(super::value::Value::Null));
        *n = Node::Hoisted(*count, Box::new(inner));
        *count += 1;
        return;
    }
    match n {
        // A nested query hoists its own clauses, against its own table of values: a
        // `Hoisted` of this query inside it would be read against the wrong table.
        Node::Query(_) | Node::Hoisted(..) => {}
        _ => for_each_child_mut(n, &mut |c| wrap(c, mark, count)),
    }
}

/// Nodes whose evaluation costs no more than reading a hoisted value.
fn trivial(n: &Node) -> bool {
    match n {
        Node::Lit(_) | Node::Slot(_) | Node::ParamRef(_) | Node::ExprRef(_) | Node::ValueSet(_) => {
            true
        }
        Node::Property(a, _) => trivial(a),
        _ => false,
    }
}

/// Whether `n` reads a slot at or above `mark` that is not bound inside `n` (`bound` holds
/// the slots bound by the constructs enclosing the current node within `n`).
pub(crate) fn reads_free_slot(n: &Node, mark: usize, bound: &mut Vec<usize>) -> bool {
    match n {
        Node::Slot(i) => *i >= mark && !bound.contains(i),
        Node::Query(q) => {
            // Sources are read before any alias is bound; every other clause sees them all.
            if q.sources
                .iter()
                .any(|s| reads_free_slot(&s.expr, mark, bound))
            {
                return true;
            }
            let before = bound.len();
            bound.extend(q.sources.iter().chain(&q.lets).map(|s| s.slot));
            bound.extend(q.relationships.iter().map(|r| r.source.slot));
            bound.extend(q.aggregate.iter().map(|a| a.slot));
            bound.extend(q.sort.iter().filter_map(|s| match &s.key {
                SortKey::Expr(_, slot) => Some(*slot),
                _ => None,
            }));
            let mut free = false;
            for_each_child(n, &mut |c| free = free || reads_free_slot(c, mark, bound));
            bound.truncate(before);
            free
        }
        Node::Iterate(it) => {
            if reads_free_slot(&it.source, mark, bound)
                || it
                    .init
                    .as_ref()
                    .is_some_and(|i| reads_free_slot(i, mark, bound))
            {
                return true;
            }
            let before = bound.len();
            bound.extend([it.slot, it.slot + 1, it.slot + 2]);
            let free = reads_free_slot(&it.body, mark, bound);
            bound.truncate(before);
            free
        }
        _ => {
            let mut free = false;
            for_each_child(n, &mut |c| free = free || reads_free_slot(c, mark, bound));
            free
        }
    }
}

/// Calls `f` on each direct child expression of `n`.
pub(crate) fn for_each_child(n: &Node, f: &mut dyn FnMut(&Node)) {
    match n {
        Node::Lit(_) | Node::ExprRef(_) | Node::ParamRef(_) | Node::Slot(_) | Node::ValueSet(_) => {
        }
        Node::Call(_, xs)
        | Node::CallDyn(_, xs)
        | Node::OpN(_, xs)
        | Node::List(xs)
        | Node::Native(_, xs) => xs.iter().for_each(f),
        Node::Convert(a, _, _)
        | Node::Property(a, _)
        | Node::Op1(_, a)
        | Node::Is(a, _)
        | Node::As(a, _, _)
        | Node::Hoisted(_, a) => f(a),
        Node::Retrieve(r) => {
            r.codes.iter().for_each(&mut *f);
            r.more_codes.iter().for_each(|(_, x)| f(x));
            r.dates.iter().for_each(|d| f(&d.range));
            r.context.iter().for_each(f);
        }
        Node::Query(q) => {
            q.sources.iter().chain(&q.lets).for_each(|s| f(&s.expr));
            for r in &q.relationships {
                f(&r.source.expr);
                f(&r.such_that);
            }
            q.where_.iter().for_each(&mut *f);
            q.ret.iter().for_each(|(r, _)| f(r));
            if let Some(a) = &q.aggregate {
                f(&a.expr);
                a.starting.iter().for_each(&mut *f);
            }
            for s in &q.sort {
                if let SortKey::Expr(e, _) = &s.key {
                    f(e);
                }
            }
        }
        Node::If(b) => b.iter().for_each(f),
        Node::Case(c) => {
            c.comparand.iter().for_each(&mut *f);
            for (w, t) in &c.items {
                f(w);
                f(t);
            }
            f(&c.otherwise);
        }
        Node::Op2(_, b, _) => b.iter().for_each(f),
        Node::Interval(b) => b.iter().for_each(f),
        Node::Tuple(fs) | Node::Instance(_, fs) => fs.iter().for_each(|(_, x)| f(x)),
        Node::Iterate(it) => {
            f(&it.source);
            f(&it.body);
            it.init.iter().for_each(f);
        }
    }
}

/// `for_each_child` for rewriting. Nested queries are not entered (see `wrap`).
fn for_each_child_mut(n: &mut Node, f: &mut dyn FnMut(&mut Node)) {
    match n {
        Node::Lit(_)
        | Node::ExprRef(_)
        | Node::ParamRef(_)
        | Node::Slot(_)
        | Node::ValueSet(_)
        | Node::Query(_) => {}
        Node::Call(_, xs)
        | Node::CallDyn(_, xs)
        | Node::OpN(_, xs)
        | Node::List(xs)
        | Node::Native(_, xs) => xs.iter_mut().for_each(f),
        Node::Convert(a, _, _)
        | Node::Property(a, _)
        | Node::Op1(_, a)
        | Node::Is(a, _)
        | Node::As(a, _, _)
        | Node::Hoisted(_, a) => f(a),
        Node::Retrieve(r) => {
            r.codes.iter_mut().for_each(&mut *f);
            r.more_codes.iter_mut().for_each(|(_, x)| f(x));
            r.dates.iter_mut().for_each(|d| f(&mut d.range));
            r.context.iter_mut().for_each(f);
        }
        Node::If(b) => b.iter_mut().for_each(f),
        Node::Case(c) => {
            c.comparand.iter_mut().for_each(&mut *f);
            for (w, t) in &mut c.items {
                f(w);
                f(t);
            }
            f(&mut c.otherwise);
        }
        Node::Op2(_, b, _) => b.iter_mut().for_each(f),
        Node::Interval(b) => b.iter_mut().for_each(f),
        Node::Tuple(fs) | Node::Instance(_, fs) => fs.iter_mut().for_each(|(_, x)| f(x)),
        Node::Iterate(it) => {
            f(&mut it.source);
            f(&mut it.body);
            it.init.iter_mut().for_each(f);
        }
    }
}
