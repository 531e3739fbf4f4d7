//! Data requirements of a compiled measure: which resource types its populations,
//! stratifiers, observations and supplemental data retrieve, and for which codes, so a
//! population run reads only those from the store. Always a superset of what evaluation
//! looks at: the engine still applies every retrieve filter to what is read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::date_needs::{Constraint, DateNeed, Dates};
use super::native::Native;
use super::node::{Def, Node, Op1, Op2, Query, Retrieve, SortKey};
use super::program::{CompiledMeasure, Program};
use super::value::Value;
use crate::store::{CodeFilter, CompartmentRead, TypeRead};

/// What to read of one resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Every resource of the type.
    All,
    /// Only resources whose code element (the retrieve's code property) has one of these
    /// code values, or no code (systems are not compared: the engine checks them).
    Codes {
        element: &'static str,
        codes: BTreeSet<String>,
    },
}

/// What a measure needs of each patient's compartment.
#[derive(Debug, Clone, PartialEq)]
pub enum Requirements {
    /// The measure may look at any resource (e.g. it resolves references): read everything.
    Everything,
    /// The types to read and their codes, and the dates their retrieves keep (see
    /// `date_needs`; a type absent there is read whatever its dates).
    Types(
        BTreeMap<&'static str, Need>,
        BTreeMap<&'static str, DateNeed>,
    ),
}

impl Requirements {
    /// The requirements as the store takes them, windows resolved with the evaluation's
    /// parameter values. `None`: read whole compartments.
    pub fn to_read(&self, params: &[Option<Value>]) -> Option<CompartmentRead> {
        let Requirements::Types(types, dates) = self else {
            return None;
        };
        let mut read = Vec::new();
        for (name, need) in types {
            let resource_type = name.parse().ok()?;
            let codes = match need {
                Need::All => None,
                Need::Codes { element, codes } => Some(Arc::new(CodeFilter {
                    element,
                    codes: codes.iter().cloned().collect(),
                })),
            };
            let dates = dates
                .get(name)
                .and_then(|d| d.resolve(params))
                .map(Arc::new);
            read.push(TypeRead {
                resource_type,
                codes,
                dates,
            });
        }
        Some(CompartmentRead { types: read })
    }
}

/// The code element a read of `resource_type` can be narrowed by, when it is `property`.
fn code_element(resource_type: &str, property: &str) -> Option<&'static str> {
    crate::store::code_element(resource_type).filter(|element| *element == property)
}

pub fn derive(measure: &CompiledMeasure) -> Requirements {
    let mut roots: Vec<usize> = Vec::new();
    for g in &measure.groups {
        roots.extend(g.populations.iter().map(|p| p.def));
        roots.extend(
            g.stratifiers
                .iter()
                .flat_map(|s| s.parts.iter().map(|p| p.def)),
        );
        roots.extend(g.observations.iter().map(|o| o.def));
    }
    roots.extend(measure.sde.iter().map(|s| s.def));
    from_roots(measure.program(), &roots)
}

/// What a population run needs of a patient outside every initial population, when that is
/// less than `derive` (every group `scoring::skippable`, so such a patient's results come
/// from its initial populations and stratifiers alone): `None` otherwise.
pub fn derive_initial(measure: &CompiledMeasure) -> Option<Requirements> {
    if !measure.groups.iter().all(super::scoring::skippable) {
        return None;
    }
    let mut roots: Vec<usize> = Vec::new();
    for g in &measure.groups {
        let initial = g
            .populations
            .iter()
            .filter(|p| p.code == "initial-population");
        roots.extend(initial.map(|p| p.def));
        roots.extend(
            g.stratifiers
                .iter()
                .flat_map(|s| s.parts.iter().map(|p| p.def)),
        );
    }
    let initial = from_roots(measure.program(), &roots);
    (initial != derive(measure)).then_some(initial)
}

fn from_roots(prog: &Program, roots: &[usize]) -> Requirements {
    let mut walk = Walk {
        prog,
        seen: BTreeSet::new(),
        seen_within: Vec::new(),
        types: BTreeMap::new(),
        dates: BTreeMap::new(),
        everything: false,
    };
    for &root in roots {
        walk.def(root);
    }
    if walk.everything {
        return Requirements::Everything;
    }
    let mut types = walk.types;
    types.insert("Patient", Need::All);
    let dates = walk
        .dates
        .into_iter()
        .filter(|(_, need)| *need != DateNeed::Any)
        .collect();
    Requirements::Types(types, dates)
}

struct Walk<'p> {
    prog: &'p Program,
    /// Definitions walked, and definitions walked as lists under constraints.
    seen: BTreeSet<usize>,
    seen_within: Vec<(usize, Vec<Constraint>)>,
    types: BTreeMap<&'static str, Need>,
    dates: BTreeMap<&'static str, DateNeed>,
    everything: bool,
}

impl<'p> Walk<'p> {
    fn dates(&self) -> Dates<'p> {
        Dates { prog: self.prog }
    }

    /// Walks `n`, a list whose elements matter only where they meet every constraint of
    /// `within`, passing the constraints on to the retrieves it keeps elements of unchanged.
    fn list(&mut self, n: &Node, within: &[Constraint]) {
        match n {
            Node::Retrieve(r) => self.retrieve(r, within),
            Node::Query(q) => self.query(q, within),
            Node::Op2(Op2::Union | Op2::Intersect, b, _) => {
                b.iter().for_each(|x| self.list(x, within))
            }
            Node::Op2(Op2::Except, b, _) => {
                self.list(&b[0], within);
                self.node(&b[1]);
            }
            Node::Hoisted(_, x) | Node::Op1(Op1::Distinct, x) => self.list(x, within),
            Node::ExprRef(i) if !within.is_empty() => self.def_within(*i, within),
            Node::Call(i, args) => {
                let dates = self.dates();
                let Some(q) = dates.filter_function(*i) else {
                    return self.node(n);
                };
                let mut narrower = within.to_vec();
                narrower.extend(dates.of_where(q.where_.as_ref(), q.sources[0].slot));
                self.def(*i);
                if let Some((first, rest)) = args.split_first() {
                    self.list(first, &narrower);
                    rest.iter().for_each(|a| self.node(a));
                }
            }
            _ => self.node(n),
        }
    }

    /// An expression definition walked as a list under constraints, once per set of them.
    fn def_within(&mut self, i: usize, within: &[Constraint]) {
        if self
            .seen_within
            .iter()
            .any(|(d, w)| *d == i && w.as_slice() == within)
        {
            return;
        }
        self.seen_within.push((i, within.to_vec()));
        match self.prog.defs.get(i) {
            Some(Some(d)) if !d.function => self.list(&d.body, within),
            _ => self.def(i),
        }
    }

    /// A query's sources are walked under the constraints its `where` puts on their rows,
    /// and, when it returns its one source's rows as they are, under `within` too.
    fn query(&mut self, q: &Query, within: &[Constraint]) {
        let passes_rows = q.sources.len() == 1 && q.ret.is_none() && q.aggregate.is_none();
        for s in &q.sources {
            let mut narrower = if passes_rows {
                within.to_vec()
            } else {
                Vec::new()
            };
            narrower.extend(self.dates().of_where(q.where_.as_ref(), s.slot));
            self.list(&s.expr, &narrower);
        }
        for s in &q.lets {
            self.node(&s.expr);
        }
        for r in &q.relationships {
            self.node(&r.source.expr);
            self.node(&r.such_that);
        }
        q.where_.iter().for_each(|w| self.node(w));
        q.ret.iter().for_each(|(r, _)| self.node(r));
        if let Some(a) = &q.aggregate {
            self.node(&a.expr);
            a.starting.iter().for_each(|s| self.node(s));
        }
        for s in &q.sort {
            if let SortKey::Expr(e, _) = &s.key {
                self.node(e);
            }
        }
    }

    fn def(&mut self, i: usize) {
        if !self.seen.insert(i) {
            return;
        }
        match self.prog.defs.get(i) {
            Some(Some(Def { body, .. })) => self.node(body),
            // A definition that is not compiled cannot be inspected.
            _ => self.everything = true,
        }
    }

    fn node(&mut self, n: &Node) {
        match n {
            Node::Lit(_) | Node::ParamRef(_) | Node::Slot(_) | Node::ValueSet(_) => {}
            Node::ExprRef(i) => self.def(*i),
            Node::Call(i, args) => {
                self.def(*i);
                args.iter().for_each(|a| self.node(a));
            }
            Node::CallDyn(is, args) => {
                is.iter().for_each(|i| self.def(*i));
                args.iter().for_each(|a| self.node(a));
            }
            Node::Convert(a, is, _) => {
                is.iter().for_each(|i| self.def(*i));
                self.node(a);
            }
            Node::Property(a, _)
            | Node::Op1(_, a)
            | Node::Is(a, _)
            | Node::As(a, _, _)
            | Node::Hoisted(_, a) => self.node(a),
            Node::Retrieve(r) => self.retrieve(r, &[]),
            Node::Query(q) => self.query(q, &[]),
            Node::If(b) => b.iter().for_each(|x| self.node(x)),
            Node::Case(c) => {
                c.comparand.iter().for_each(|x| self.node(x));
                for (w, t) in &c.items {
                    self.node(w);
                    self.node(t);
                }
                self.node(&c.otherwise);
            }
            Node::Op2(_, b, _) => b.iter().for_each(|x| self.node(x)),
            Node::Interval(b) => b.iter().for_each(|x| self.node(x)),
            Node::OpN(_, xs) | Node::List(xs) => xs.iter().for_each(|x| self.node(x)),
            Node::Tuple(fs) | Node::Instance(_, fs) => fs.iter().for_each(|(_, x)| self.node(x)),
            Node::Native(native, args) => {
                // `resolve()` reads resources of any type by id.
                if *native == Native::Resolve {
                    self.everything = true;
                }
                args.iter().for_each(|a| self.node(a));
            }
            Node::Iterate(it) => {
                self.node(&it.source);
                self.node(&it.body);
                it.init.iter().for_each(|x| self.node(x));
            }
        }
    }

    /// Records what a retrieve reads: its codes, and the windows of `within` on its type's
    /// date element.
    fn retrieve(&mut self, r: &Retrieve, within: &[Constraint]) {
        let nodes = r
            .codes
            .iter()
            .chain(r.more_codes.iter().map(|(_, n)| n))
            .chain(r.dates.iter().map(|d| &d.range))
            .chain(r.context.iter());
        for n in nodes {
            self.node(n);
        }
        let narrowed = self.narrowing(r);
        let element = crate::store::date_element(r.resource_type).map(|(e, _)| e);
        let windows = within
            .iter()
            .filter(|c| Some(&*c.element) == element)
            .map(|c| c.window.clone())
            .collect();
        self.dates
            .entry(r.resource_type)
            .or_insert_with(|| DateNeed::Uses(Vec::new()))
            .add(narrowed.as_ref().map(|(_, codes)| codes), windows);
        let need = self.types.entry(r.resource_type).or_insert_with(|| {
            narrowed
                .clone()
                .map_or(Need::All, |(element, _)| Need::Codes {
                    element,
                    codes: BTreeSet::new(),
                })
        });
        match (need, narrowed) {
            (Need::Codes { element, codes }, Some((e, more))) if *element == e => {
                codes.extend(more)
            }
            (need, _) => *need = Need::All,
        }
    }

    /// The code element and codes this retrieve is limited to, if it is and both are known.
    fn narrowing(&self, r: &Retrieve) -> Option<(&'static str, BTreeSet<String>)> {
        // A negation may name its value set by extension, with no code to search on.
        if r.negation.is_some() {
            return None;
        }
        if let (Some(codes), Some(property)) = (&r.codes, &r.code_property) {
            let element = code_element(r.resource_type, property)?;
            let mut out = BTreeSet::new();
            self.static_codes(codes, &mut out, 0)?;
            return Some((element, out));
        }
        // A profile with a fixed LOINC code (vital signs) narrows `code` with no code filter.
        let loinc = r.fixed_loinc?;
        let element = code_element(r.resource_type, "code")?;
        Some((element, BTreeSet::from([loinc.to_owned()])))
    }

    /// Collects the codes a retrieve's code expression always stands for; `None` when it is
    /// not a value set, code or list of those known at compile time.
    fn static_codes(&self, n: &Node, out: &mut BTreeSet<String>, depth: u8) -> Option<()> {
        if depth > 8 {
            return None;
        }
        match n {
            Node::ValueSet(i) => self.value_set(*i, out),
            Node::Lit(v) => static_value(self.prog, v, out),
            Node::List(xs) => xs
                .iter()
                .try_for_each(|x| self.static_codes(x, out, depth + 1)),
            Node::Op1(Op1::ToList | Op1::ToConcept | Op1::ExpandValueSet, a) => {
                self.static_codes(a, out, depth + 1)
            }
            Node::ExprRef(i) => match self.prog.defs.get(*i) {
                Some(Some(d)) if d.operands.is_empty() => {
                    self.static_codes(&d.body, out, depth + 1)
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn value_set(&self, i: u32, out: &mut BTreeSet<String>) -> Option<()> {
        let set = self.prog.terminology().sets.get(i as usize)?;
        out.extend(set.values().flatten().cloned());
        Some(())
    }
}

fn static_value(prog: &Program, v: &Value, out: &mut BTreeSet<String>) -> Option<()> {
    match v {
        Value::Code(c) => {
            out.insert(c.code.to_string());
        }
        Value::Concept(c) => out.extend(c.codes.iter().map(|c| c.code.to_string())),
        Value::List(items) => {
            for item in items.iter() {
                static_value(prog, item, out)?;
            }
        }
        Value::ValueSet(i) => {
            let set = prog.terminology().sets.get(*i as usize)?;
            out.extend(set.values().flatten().cloned());
        }
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
#[path = "tests_requirements.rs"]
mod tests;
