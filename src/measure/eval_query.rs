//! Query evaluation: sources, let, with/without, where, return, aggregate
//! and sort; `Filter`/`ForEach`/`Repeat`; and the list helpers (distinct,
//! sort order) they share.

use std::cmp::Ordering;
use std::sync::Arc;

use super::eval::{instance, property, rt_err, Cx, R};
use super::node::{IterKind, Iterate, Query, SortKey};
use super::value::{self, Doc, Value};
use super::MeasureError;

impl<'a> Cx<'a> {
    /// `Filter`, `ForEach`, `Repeat` and `Aggregate` over a list (null stays null).
    pub(crate) fn iterate(&mut self, it: &Iterate) -> R<'a> {
        let items = match self.eval(&it.source)? {
            Value::Null => return Ok(Value::Null),
            Value::List(l) => l.to_vec(),
            v => vec![v],
        };
        let mut out = Vec::new();
        match it.kind {
            IterKind::Filter => {
                for (i, v) in items.into_iter().enumerate() {
                    self.set_element(it.slot, v.clone(), i);
                    if self.eval(&it.body)?.as_bool() == Some(true) {
                        out.push(v);
                    }
                }
            }
            IterKind::ForEach => {
                for (i, v) in items.into_iter().enumerate() {
                    self.set_element(it.slot, v, i);
                    out.push(self.eval(&it.body)?);
                }
            }
            IterKind::Aggregate => {
                let mut total = match &it.init {
                    Some(init) => self.eval(init)?,
                    None => Value::Null,
                };
                for (i, v) in items.into_iter().enumerate() {
                    self.set_element(it.slot, v, i);
                    self.set(it.slot + 2, total);
                    total = self.eval(&it.body)?;
                }
                return Ok(total);
            }
            IterKind::Repeat => {
                // Projects new items until none appear (FHIRPath `repeat`), bounded.
                let mut pending = items;
                let mut i = 0;
                while let Some(v) = pending.pop() {
                    if out.len() >= 100_000 {
                        return Err(rt_err("repeat produced more than 100000 items"));
                    }
                    self.set_element(it.slot, v, i);
                    i += 1;
                    let produced = match self.eval(&it.body)? {
                        Value::List(l) => l.to_vec(),
                        Value::Null => Vec::new(),
                        x => vec![x],
                    };
                    for p in produced {
                        if !p.is_null() && !out.iter().any(|o| same(o, &p)) {
                            out.push(p.clone());
                            pending.push(p);
                        }
                    }
                }
            }
        }
        Ok(Value::list(out))
    }

    /// The element (`Current`) and its 0-based index (`Iteration`) of an iteration.
    fn set_element(&mut self, slot: usize, v: Value<'a>, index: usize) {
        self.set(slot, v);
        self.set(
            slot + 1,
            Value::Int(i64::try_from(index).unwrap_or(i64::MAX)),
        );
    }

    pub(crate) fn query(&mut self, q: &Query) -> R<'a> {
        let mut lists = Vec::with_capacity(q.sources.len());
        // Only a list source makes the result a list: a query over singletons,
        // one source or several, yields one row or null, as the reference engine.
        let mut single = true;
        for s in &q.sources {
            match self.eval(&s.expr)? {
                Value::List(l) => {
                    single = false;
                    lists.push(l);
                }
                // A non-list source (null included) is a single row, as in the
                // reference engines: `(F(x)) X return if X is null then ...` relies on it.
                v => lists.push(Arc::new(vec![v])),
            }
        }
        let mut results: Vec<Value<'a>> = Vec::new();
        let mut idx = vec![0usize; lists.len()];
        let mut agg = match &q.aggregate {
            Some(a) => match &a.starting {
                Some(s) => self.eval(s)?,
                None => Value::Null,
            },
            None => Value::Null,
        };
        if lists.iter().any(|l| l.is_empty()) {
            // An aggregate over no rows is its starting value.
            if q.aggregate.is_some() {
                return Ok(agg);
            }
            return self.finish_query(q, results, single);
        }
        loop {
            for (k, s) in q.sources.iter().enumerate() {
                let v = lists[k][idx[k]].clone();
                self.set(s.slot, v);
            }
            if self.row_passes(q)? {
                let row = if let Some((ret, _)) = &q.ret {
                    self.eval(ret)?
                } else if q.sources.len() == 1 {
                    lists[0][idx[0]].clone()
                } else {
                    let fields = q
                        .sources
                        .iter()
                        .enumerate()
                        .map(|(k, _)| {
                            (
                                Arc::from(format!("#{k}").as_str()),
                                lists[k][idx[k]].clone(),
                            )
                        })
                        .collect();
                    self.alias_tuple(q, fields)
                };
                if let Some(a) = &q.aggregate {
                    if a.distinct && results.iter().any(|r| same(r, &row)) {
                        // Distinct aggregation skips repeated rows.
                    } else {
                        self.set(a.slot, agg);
                        agg = self.eval(&a.expr)?;
                        results.push(row);
                    }
                } else {
                    results.push(row);
                }
            }
            // Advance the cartesian product odometer.
            let mut k = lists.len();
            loop {
                if k == 0 {
                    if q.aggregate.is_some() {
                        return Ok(agg);
                    }
                    return self.finish_query(q, results, single);
                }
                k -= 1;
                idx[k] += 1;
                if idx[k] < lists[k].len() {
                    break;
                }
                idx[k] = 0;
            }
        }
    }

    fn alias_tuple(&self, q: &Query, fields: Vec<(Arc<str>, Value<'a>)>) -> Value<'a> {
        let fields = fields
            .into_iter()
            .zip(&q.sources)
            .map(|((_, v), s)| (s.alias.clone(), v))
            .collect();
        instance(None, fields)
    }

    fn row_passes(&mut self, q: &Query) -> Result<bool, MeasureError> {
        for l in &q.lets {
            let v = self.eval(&l.expr)?;
            self.set(l.slot, v);
        }
        for rel in &q.relationships {
            let src = match self.eval(&rel.source.expr)? {
                Value::List(l) => l,
                Value::Null => Arc::new(Vec::new()),
                v => Arc::new(vec![v]),
            };
            let mut found = false;
            for item in src.iter() {
                self.set(rel.source.slot, item.clone());
                if self.eval(&rel.such_that)?.as_bool() == Some(true) {
                    found = true;
                    break;
                }
            }
            if found == rel.without {
                return Ok(false);
            }
        }
        match &q.where_ {
            Some(w) => Ok(self.eval(w)?.as_bool() == Some(true)),
            None => Ok(true),
        }
    }

    fn finish_query(&mut self, q: &Query, mut results: Vec<Value<'a>>, single: bool) -> R<'a> {
        if let Some((_, true)) = &q.ret {
            results = distinct(results);
        }
        if !q.sort.is_empty() {
            let mut keyed = Vec::with_capacity(results.len());
            for r in results {
                let mut keys = Vec::with_capacity(q.sort.len());
                for item in &q.sort {
                    keys.push(match &item.key {
                        SortKey::Element => r.clone(),
                        SortKey::Column(path) => {
                            path.split('.').fold(r.clone(), |v, p| property(&v, p))
                        }
                        SortKey::Expr(e, slot) => {
                            self.set(*slot, r.clone());
                            self.eval(e)?
                        }
                    });
                }
                keyed.push((keys, r));
            }
            keyed.sort_by(|(a, _), (b, _)| {
                for (i, item) in q.sort.iter().enumerate() {
                    let o = sort_cmp(&a[i], &b[i]);
                    let o = if item.desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
            results = keyed.into_iter().map(|(_, r)| r).collect();
        }
        if single {
            return Ok(results.into_iter().next().unwrap_or_default());
        }
        Ok(Value::list(results))
    }
}

/// Ordering for `sort`: nulls first, incomparable values keep their order.
pub fn sort_cmp(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => value::compare(&a.to_system(), &b.to_system()).unwrap_or(Ordering::Equal),
    }
}

/// Equality for distinct/union: nulls are equal to each other.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Fhir(x, _), Value::Fhir(y, _)) => {
            std::ptr::eq(*x, *y) || (!ids_differ(x, y) && x == y)
        }
        _ => value::equal(a, b) == Some(true),
    }
}

/// Whether two FHIR elements both carry an `id` and the ids differ: then they are not
/// equal, which a union of a patient's resources (all different, rarely the same element)
/// learns without comparing whole resources key by hashed key.
fn ids_differ(x: &Doc, y: &Doc) -> bool {
    match (x.get("id"), y.get("id")) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    }
}

pub fn distinct<'a>(items: Vec<Value<'a>>) -> Vec<Value<'a>> {
    let mut out: Vec<Value<'a>> = Vec::with_capacity(items.len());
    for v in items {
        if !out.iter().any(|o| same(o, &v)) {
            out.push(v);
        }
    }
    out
}
