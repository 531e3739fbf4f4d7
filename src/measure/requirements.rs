//! Data requirements of a compiled measure: which resource types its populations,
//! stratifiers, observations and supplemental data retrieve, and for which codes, so a
//! population run reads only those from the store. Always a superset of what evaluation
//! looks at: the engine still applies every retrieve filter to what is read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::native::Native;
use super::node::{Def, Node, Op1, Retrieve, SortKey};
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirements {
    /// The measure may look at any resource (e.g. it resolves references): read everything.
    Everything,
    Types(BTreeMap<&'static str, Need>),
}

impl Requirements {
    /// The requirements as the store takes them. `None`: read whole compartments.
    pub fn to_read(&self) -> Option<CompartmentRead> {
        let Requirements::Types(types) = self else {
            return None;
        };
        let mut read = Vec::new();
        for (name, need) in types {
            let resource_type = name.parse().ok()?;
            read.push(match need {
                Need::All => TypeRead {
                    resource_type,
                    codes: None,
                },
                Need::Codes { element, codes } => TypeRead {
                    resource_type,
                    codes: Some(Arc::new(CodeFilter {
                        element,
                        codes: codes.iter().cloned().collect(),
                    })),
                },
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
        types: BTreeMap::new(),
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
    Requirements::Types(types)
}

struct Walk<'p> {
    prog: &'p Program,
    seen: BTreeSet<usize>,
    types: BTreeMap<&'static str, Need>,
    everything: bool,
}

impl Walk<'_> {
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
            Node::Retrieve(r) => self.retrieve(r),
            Node::Query(q) => {
                for s in q.sources.iter().chain(&q.lets) {
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

    fn retrieve(&mut self, r: &Retrieve) {
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
