//! Evaluation of the compiled plan for one patient.

use std::sync::Arc;

use super::datetime::{DateTime, Precision};
pub use super::eval_query::{distinct, same, sort_cmp};
use super::memo::{self, Memo};
use super::model::model;
use super::node::{Node, OpN, Query, TypeSpec};
use super::program::Program;
use super::value::{self, Doc, Text, Tuple, Value};
use super::{MeasureError, PatientData};

pub type R<'a> = Result<Value<'a>, MeasureError>;

/// Per-patient evaluation state: expression cache and the slot stack.
pub struct Cx<'a> {
    pub prog: &'a Program,
    pub data: &'a dyn PatientData,
    pub params: Vec<Option<Value<'a>>>,
    cache: Vec<Option<Value<'a>>>,
    stack: Vec<Value<'a>>,
    base: usize,
    /// The evaluation instant for `Now()`/`Today()`.
    now: DateTime,
    /// Row-invariant query parts (`Node::Hoisted`), one table per query being evaluated,
    /// the innermost starting at `hoist_base`; `None` until first used.
    hoisted: Vec<Option<Value<'a>>>,
    hoist_base: usize,
    pub(super) memo: Memo<'a>,
}

fn now_utc() -> DateTime {
    let t = time::OffsetDateTime::now_utc();
    DateTime::new(
        [
            t.year(),
            i32::from(u8::from(t.month())),
            i32::from(t.day()),
            i32::from(t.hour()),
            i32::from(t.minute()),
            i32::from(t.second()),
            i32::from(t.millisecond()),
        ],
        Precision::Millisecond,
        Some(0),
    )
}

pub fn rt_err(msg: impl Into<String>) -> MeasureError {
    MeasureError::Eval(msg.into())
}

impl<'a> Cx<'a> {
    pub fn new(
        prog: &'a Program,
        data: &'a dyn PatientData,
        params: Vec<Option<Value<'a>>>,
    ) -> Cx<'a> {
        Cx {
            prog,
            data,
            params,
            cache: vec![None; prog.cache_len],
            stack: Vec::with_capacity(64),
            base: 0,
            now: now_utc(),
            hoisted: Vec::new(),
            hoist_base: 0,
            memo: Memo::default(),
        }
    }

    /// How many function results and retrieves this evaluation remembers (for tests).
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> (usize, usize) {
        (self.memo.calls.len(), self.memo.retrieves.len())
    }

    pub fn expression(&mut self, id: usize) -> R<'a> {
        let slot = self
            .prog
            .cache_slots
            .get(id)
            .copied()
            .flatten()
            .map(|s| s as usize);
        if let Some(Some(v)) = slot.and_then(|s| self.cache.get(s)) {
            return Ok(v.clone());
        }
        let v = self.call_values(id, Vec::new())?;
        if let Some(cached) = slot.and_then(|s| self.cache.get_mut(s)) {
            *cached = Some(v.clone());
        }
        Ok(v)
    }

    /// Calls `id`, evaluating the arguments straight into the callee's frame.
    fn call_nodes(&mut self, id: usize, args: &[Node]) -> R<'a> {
        let new_base = self.stack.len();
        for a in args {
            match self.eval(a) {
                Ok(v) => self.stack.push(v),
                Err(e) => {
                    self.stack.truncate(new_base);
                    return Err(e);
                }
            }
        }
        self.enter(id, new_base)
    }

    pub(crate) fn call_values(&mut self, id: usize, args: Vec<Value<'a>>) -> R<'a> {
        let new_base = self.stack.len();
        self.stack.extend(args);
        self.enter(id, new_base)
    }

    /// Runs definition `id` with its arguments already at `new_base..`; a function's result
    /// is remembered for the patient by its arguments (see `memo`).
    fn enter(&mut self, id: usize, new_base: usize) -> R<'a> {
        let prog = self.prog;
        let Some(def) = prog.defs.get(id).and_then(Option::as_ref) else {
            self.stack.truncate(new_base);
            return Err(rt_err(format!("definition #{id} was not compiled")));
        };
        let key = if def.function {
            self.stack
                .get(new_base..)
                .and_then(|args| memo::key(id, args))
        } else {
            None
        };
        if let Some(v) = key.and_then(|k| self.memo.calls.get(&k)) {
            let v = v.clone();
            self.stack.truncate(new_base);
            return Ok(v);
        }
        let r = self.run_def(def, new_base);
        if let (Some(k), Ok(v)) = (key, &r) {
            self.memo.calls.insert(k, v.clone());
        }
        r
    }

    fn run_def(&mut self, def: &'a super::node::Def, new_base: usize) -> R<'a> {
        self.stack
            .resize(new_base + def.frame.max(def.operands.len()), Value::Null);
        let saved = std::mem::replace(&mut self.base, new_base);
        let r = self.eval(&def.body);
        self.base = saved;
        self.stack.truncate(new_base);
        r.map_err(|e| match e {
            MeasureError::Eval(m) if !m.contains(" in ") => {
                MeasureError::Eval(format!("{m} in {}.{}", def.library, def.name))
            }
            e => e,
        })
    }

    /// Calls the first overload whose operand types accept the values.
    fn dispatch(&mut self, ids: &[usize], vals: Vec<Value<'a>>) -> R<'a> {
        let prog = self.prog;
        let chosen = ids.iter().copied().find(|id| {
            prog.defs
                .get(*id)
                .and_then(Option::as_ref)
                .is_some_and(|d| {
                    d.operands
                        .iter()
                        .zip(&vals)
                        .all(|(t, v)| v.is_null() || is_type(v, t))
                })
        });
        match chosen {
            Some(id) => self.call_values(id, vals),
            None => Err(rt_err("no overload matches the argument types")),
        }
    }

    pub(crate) fn set(&mut self, slot: usize, v: Value<'a>) {
        let i = self.base + slot;
        if i >= self.stack.len() {
            self.stack.resize(i + 1, Value::Null);
        }
        self.stack[i] = v;
    }

    fn param(&mut self, id: usize) -> R<'a> {
        if let Some(Some(v)) = self.params.get(id) {
            return Ok(v.clone());
        }
        let prog = self.prog;
        let v = match prog.params.get(id).and_then(|p| p.default.as_ref()) {
            Some(d) => self.eval(d)?,
            None => Value::Null,
        };
        if let Some(p) = self.params.get_mut(id) {
            *p = Some(v.clone());
        }
        Ok(v)
    }

    /// Evaluates `q` row by row, with a fresh table for its row-invariant parts.
    pub(crate) fn scan_query(&mut self, q: &Query) -> R<'a> {
        if q.hoisted == 0 {
            return self.query(q);
        }
        let (saved, start) = (self.hoist_base, self.hoisted.len());
        self.hoisted.resize(start + q.hoisted, None);
        self.hoist_base = start;
        let r = self.query(q);
        self.hoisted.truncate(start);
        self.hoist_base = saved;
        r
    }

    pub fn eval(&mut self, n: &Node) -> R<'a> {
        match n {
            Node::Lit(v) => Ok(v.clone()),
            Node::ExprRef(id) => self.expression(*id),
            Node::ParamRef(id) => self.param(*id),
            Node::Slot(i) => Ok(self.stack.get(self.base + i).cloned().unwrap_or_default()),
            Node::Call(id, args) => self.call_nodes(*id, args),
            Node::Convert(arg, ids, periods_only) => {
                let v = self.eval(arg)?;
                match &v {
                    Value::Null => Ok(Value::Null),
                    Value::Fhir(_, "Period") => Ok(v.to_system()),
                    Value::Fhir(node, ty) if !periods_only && native_conversion(node, ty) => {
                        Ok(v.to_system())
                    }
                    _ => self.dispatch(ids, vec![v]),
                }
            }
            Node::CallDyn(ids, args) => {
                let vals = args
                    .iter()
                    .map(|a| self.eval(a))
                    .collect::<Result<Vec<_>, _>>()?;
                self.dispatch(ids, vals)
            }
            Node::Property(src, name) => {
                let v = self.eval(src)?;
                Ok(property(&v, name))
            }
            Node::Retrieve(r) if r.fixed => {
                let key = std::ptr::from_ref(&**r) as usize;
                if let Some(v) = self.memo.retrieves.get(&key) {
                    return Ok(v.clone());
                }
                let v = self.retrieve(r)?;
                self.memo.retrieves.insert(key, v.clone());
                Ok(v)
            }
            Node::Retrieve(r) => self.retrieve(r),
            Node::Query(q) => match q.keyed {
                Some(by) => self.keyed_query(q, by),
                None => self.scan_query(q),
            },
            Node::Hoisted(i, expr) => {
                let at = self.hoist_base + i;
                if let Some(Some(v)) = self.hoisted.get(at) {
                    return Ok(v.clone());
                }
                let v = self.eval(expr)?;
                if let Some(slot) = self.hoisted.get_mut(at) {
                    *slot = Some(v.clone());
                }
                Ok(v)
            }
            Node::If(parts) => {
                let [c, t, e] = &**parts;
                if self.eval(c)?.as_bool() == Some(true) {
                    self.eval(t)
                } else {
                    self.eval(e)
                }
            }
            Node::Case(c) => {
                let cmp = c.comparand.as_ref().map(|x| self.eval(x)).transpose()?;
                for (when, then) in &c.items {
                    let w = self.eval(when)?;
                    let hit = match &cmp {
                        Some(cv) => value::equal(cv, &w) == Some(true),
                        None => w.as_bool() == Some(true),
                    };
                    if hit {
                        return self.eval(then);
                    }
                }
                self.eval(&c.otherwise)
            }
            Node::Op1(op, a) => {
                let v = self.eval(a)?;
                super::ops::op1(self, *op, v)
            }
            Node::Op2(op, args, p) => super::ops2::op2(self, *op, args, *p),
            Node::OpN(OpN::Now, _) => Ok(Value::DateTime(self.now)),
            Node::OpN(OpN::Today, _) => Ok(Value::Date(self.now.truncate(Precision::Day))),
            Node::OpN(OpN::TimeOfDay, _) => {
                let f = self.now.f();
                Ok(Value::Time(DateTime::new(
                    [0, 1, 1, f[3], f[4], f[5], f[6]],
                    Precision::Millisecond,
                    None,
                )))
            }
            Node::OpN(op, args) => {
                let vals = args
                    .iter()
                    .map(|a| self.eval(a))
                    .collect::<Result<Vec<_>, _>>()?;
                super::ops::opn(*op, vals)
            }
            Node::List(items) => {
                let vals = items
                    .iter()
                    .map(|a| self.eval(a))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::list(vals))
            }
            Node::Tuple(fields) | Node::Instance(_, fields) => {
                let mut out = Vec::with_capacity(fields.len());
                for (name, f) in fields {
                    out.push((name.clone(), self.eval(f)?));
                }
                let class = match n {
                    Node::Instance(c, _) => Some(c.clone()),
                    _ => None,
                };
                Ok(instance(class, out))
            }
            Node::Interval(b) => {
                let lo = self.eval(&b[0])?;
                let hi = self.eval(&b[1])?;
                let lc = self.eval(&b[2])?.as_bool().unwrap_or(true);
                let hc = self.eval(&b[3])?.as_bool().unwrap_or(true);
                Ok(Value::interval(lo.to_system(), hi.to_system(), lc, hc))
            }
            Node::Is(a, t) => {
                let v = self.eval(a)?;
                Ok(Value::Bool(!v.is_null() && is_type(&v, t)))
            }
            Node::As(a, t, strict) => {
                let v = self.eval(a)?;
                if v.is_null() || is_type(&v, t) {
                    Ok(v)
                } else if *strict {
                    Err(rt_err(format!("cannot cast {} to {t:?}", v.type_name())))
                } else {
                    Ok(Value::Null)
                }
            }
            Node::ValueSet(i) => Ok(Value::ValueSet(*i)),
            Node::Native(f, args) => {
                let vals = args
                    .iter()
                    .map(|a| self.eval(a))
                    .collect::<Result<Vec<_>, _>>()?;
                super::native::call(self, *f, vals)
            }
            Node::Iterate(it) => self.iterate(it),
        }
    }
}

pub(crate) fn instance<'a>(
    class: Option<Arc<str>>,
    fields: Vec<(Arc<str>, Value<'a>)>,
) -> Value<'a> {
    match class.as_deref() {
        Some("Quantity") => {
            let get = |n: &str| {
                fields
                    .iter()
                    .find(|(k, _)| &**k == n)
                    .map(|(_, v)| v.clone())
            };
            let value = get("value").and_then(|v| value::to_f64(&v.to_system()));
            let unit = get("unit").map(|u| u.to_system());
            match value {
                Some(value) => Value::Quantity(value::Quantity {
                    value,
                    unit: match unit {
                        Some(Value::Str(s)) => s.to_arc(),
                        _ => Arc::from("1"),
                    },
                }),
                None => Value::Null,
            }
        }
        Some("Code") => {
            let get = |n: &str| match fields
                .iter()
                .find(|(k, _)| &**k == n)
                .map(|(_, v)| v.to_system())
            {
                Some(Value::Str(s)) => Some(s.to_arc()),
                _ => None,
            };
            match get("code") {
                Some(code) => Value::Code(Arc::new(value::Code {
                    code,
                    system: get("system"),
                    version: get("version"),
                    display: get("display"),
                })),
                None => Value::Null,
            }
        }
        Some("Concept") => {
            let codes = fields
                .iter()
                .find(|(k, _)| &**k == "codes")
                .map(|(_, v)| match v {
                    Value::List(l) => l
                        .iter()
                        .filter_map(|c| match c {
                            Value::Code(c) => Some((**c).clone()),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                })
                .unwrap_or_default();
            Value::Concept(Arc::new(value::Concept {
                codes,
                display: None,
            }))
        }
        _ => Value::Tuple(Arc::new(Tuple { class, fields })),
    }
}

/// `source.name` for any value.
pub fn property<'a>(v: &Value<'a>, name: &str) -> Value<'a> {
    match v {
        Value::Fhir(node, ty) => model().child(node, ty, name),
        Value::Tuple(t) => t.get(name).cloned().unwrap_or_default(),
        Value::List(items) => {
            let mut out = Vec::new();
            for i in items.iter() {
                match property(i, name) {
                    Value::Null => {}
                    Value::List(l) => out.extend(l.iter().cloned()),
                    x => out.push(x),
                }
            }
            Value::list(out)
        }
        Value::Code(c) => match name {
            "code" => Value::Str(Text::Shared(c.code.clone())),
            "system" => c
                .system
                .clone()
                .map_or(Value::Null, |s| Value::Str(Text::Shared(s))),
            "version" => c
                .version
                .clone()
                .map_or(Value::Null, |s| Value::Str(Text::Shared(s))),
            "display" => c
                .display
                .clone()
                .map_or(Value::Null, |s| Value::Str(Text::Shared(s))),
            _ => Value::Null,
        },
        Value::Concept(c) => match name {
            "codes" => Value::list(
                c.codes
                    .iter()
                    .map(|x| Value::Code(Arc::new(x.clone())))
                    .collect(),
            ),
            "display" => c
                .display
                .clone()
                .map_or(Value::Null, |s| Value::Str(Text::Shared(s))),
            _ => Value::Null,
        },
        Value::Quantity(q) => match name {
            "value" => Value::Dec(q.value),
            "unit" => Value::Str(Text::Shared(q.unit.clone())),
            _ => Value::Null,
        },
        Value::Interval(i) => match name {
            "low" => i.low.clone(),
            "high" => i.high.clone(),
            "lowClosed" => Value::Bool(i.low_closed),
            "highClosed" => Value::Bool(i.high_closed),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

pub fn is_type(v: &Value, t: &TypeSpec) -> bool {
    match t {
        TypeSpec::System(n) => match &**n {
            "Any" => true,
            "Vocabulary" => matches!(v, Value::ValueSet(_)),
            n => v.type_name() == n,
        },
        TypeSpec::Fhir(n) => match v {
            // Types the model does not know are value-set bound code types
            // (`EncounterStatus`, ...): any `code` primitive is one of them.
            Value::Fhir(_, "code") if model().intern(n).is_none() => true,
            Value::Fhir(_, ty) => model().is_subtype(ty, n),
            Value::Tuple(t) => t.class.as_deref().is_some_and(|c| model().is_subtype(c, n)),
            _ => false,
        },
        TypeSpec::List(el) => match v {
            // Lists are homogeneous: the first non-null element stands for all.
            Value::List(l) => l
                .iter()
                .find(|x| !x.is_null())
                .is_none_or(|x| is_type(x, el)),
            _ => false,
        },
        TypeSpec::Interval(point) => match v {
            Value::Interval(i) => [&i.low, &i.high]
                .iter()
                .find(|x| !x.is_null())
                .is_none_or(|x| is_type(x, point)),
            _ => false,
        },
        TypeSpec::Tuple => matches!(v, Value::Tuple(t) if t.class.is_none()),
        TypeSpec::Choice(cs) => cs.iter().any(|c| is_type(v, c)),
    }
}

/// Whether `Value::to_system` gives exactly what FHIRHelpers' ELM would for
/// this FHIR value: primitives, Coding, CodeableConcept, Period, and UCUM or
/// unit-less Quantities without a comparator.
fn native_conversion(node: &Doc, ty: &str) -> bool {
    match ty {
        "Coding" | "CodeableConcept" | "Period" => true,
        "Quantity" | "Age" | "Duration" | "Distance" | "Count" | "SimpleQuantity" => {
            node.get("comparator").is_none()
                && node.get("value").is_some()
                && node.get("system").and_then(Doc::as_str).is_none_or(|s| {
                    s == "http://unitsofmeasure.org"
                        || s == "http://hl7.org/fhirpath/CodeSystem/calendar-units"
                })
        }
        t => super::model::is_primitive(t),
    }
}
