//! Tree-walking evaluator. Collections are `Vec<Item>`; every function and operator takes the
//! collection semantics of FHIRPath (empty propagates, `|` de-duplicates).

use std::borrow::Cow;

use serde_json::Value;

use super::ast::{BinaryOp, Expr, Literal, TypeOp, TypeSpec, UnaryOp};
use super::error::EvalError;
use super::item::Item;
use super::model::{Element, TypeKind, TypeModel};
use super::ReferenceResolver;

pub(crate) type Collection<'a> = Vec<Item<'a>>;

/// Everything an evaluation needs besides the focus.
pub(crate) struct Env<'a, 'r> {
    pub(crate) model: &'static TypeModel,
    /// `%resource`, `%context`: the resource the evaluation started from.
    pub(crate) root: Item<'a>,
    pub(crate) resolver: &'r dyn ReferenceResolver,
}

/// The focus of an evaluation step: `$this` and, inside iterating functions, `$index`.
#[derive(Clone, Copy)]
pub(crate) struct Focus<'f, 'a> {
    pub(crate) this: &'f [Item<'a>],
    pub(crate) index: Option<usize>,
    pub(crate) total: Option<&'f Item<'a>>,
}

impl<'a> Env<'a, '_> {
    pub(crate) fn eval(
        &self,
        expr: &Expr,
        focus: Focus<'_, 'a>,
    ) -> Result<Collection<'a>, EvalError> {
        match expr {
            Expr::Literal(lit) => Ok(vec![literal(lit)]),
            Expr::Empty => Ok(Vec::new()),
            Expr::This => Ok(focus.this.to_vec()),
            Expr::IndexVar => Ok(focus
                .index
                .map(|i| Item::Integer(i as i64))
                .into_iter()
                .collect()),
            Expr::Total => Ok(focus.total.cloned().into_iter().collect()),
            Expr::Constant(name) => self.constant(name),
            Expr::TypeName(name) => {
                let mut out = Vec::new();
                for item in focus.this {
                    if self.is_type(item, None, name) {
                        out.push(item.clone());
                    } else {
                        self.member(item, name, &mut out);
                    }
                }
                Ok(out)
            }
            Expr::Member { target, name } => {
                let input = self.target(target.as_deref(), focus)?;
                let mut out = Vec::with_capacity(input.len());
                for item in &input {
                    self.member(item, name, &mut out);
                }
                Ok(out)
            }
            Expr::Call {
                target,
                function,
                args,
            } => {
                let input = self.target(target.as_deref(), focus)?;
                self.call(*function, input, args, focus)
            }
            Expr::Indexer(target, index) => {
                let input = self.eval(target, focus)?;
                let index = self.eval(index, focus)?;
                let Some(i) = single_integer(&index, "indexer")? else {
                    return Ok(Vec::new());
                };
                Ok(usize::try_from(i)
                    .ok()
                    .and_then(|i| input.into_iter().nth(i))
                    .into_iter()
                    .collect())
            }
            Expr::Unary(op, inner) => {
                let value = self.eval(inner, focus)?;
                match (op, value.as_slice()) {
                    (_, []) => Ok(Vec::new()),
                    (UnaryOp::Plus, _) => Ok(value),
                    (UnaryOp::Minus, [item]) => match item.prim() {
                        super::item::Prim::Int(i) => {
                            Ok(i.checked_neg().map(Item::Integer).into_iter().collect())
                        }
                        super::item::Prim::Dec(d) => Ok(vec![Item::Decimal(-d)]),
                        _ => Err(EvalError::TypeMismatch {
                            operation: "unary -",
                        }),
                    },
                    _ => Err(EvalError::NotSingleton {
                        function: "unary -",
                        count: value.len(),
                    }),
                }
            }
            Expr::Binary(op, left, right) => self.binary(*op, left, right, focus),
            Expr::Type { op, expr, spec } => {
                let input = self.eval(expr, focus)?;
                self.type_op(*op, input, spec)
            }
        }
    }

    fn target(
        &self,
        target: Option<&Expr>,
        focus: Focus<'_, 'a>,
    ) -> Result<Collection<'a>, EvalError> {
        match target {
            Some(t) => self.eval(t, focus),
            None => Ok(focus.this.to_vec()),
        }
    }

    fn constant(&self, name: &str) -> Result<Collection<'a>, EvalError> {
        Ok(match name {
            "resource" | "context" | "rootResource" => vec![self.root.clone()],
            "ucum" => vec![Item::String(Cow::Borrowed("http://unitsofmeasure.org"))],
            "sct" => vec![Item::String(Cow::Borrowed("http://snomed.info/sct"))],
            "loinc" => vec![Item::String(Cow::Borrowed("http://loinc.org"))],
            _ => return Err(EvalError::UnknownConstant(name.to_owned())),
        })
    }

    /// Child navigation: typed through the model (choice elements expand to their JSON
    /// properties), untyped by plain JSON property when the model does not know the path.
    pub(crate) fn member(&self, item: &Item<'a>, name: &str, out: &mut Collection<'a>) {
        let Item::Node { json, ty, .. } = item else {
            return;
        };
        let Value::Object(obj) = json else {
            return;
        };
        match ty.and_then(|t| self.model.element(t, name)) {
            Some(Element::Single(t)) => {
                let ext = self.primitive_ext(obj, name, *t);
                self.push_values(property(obj, name), ext, Some(*t), out);
            }
            Some(Element::Choice(members)) => {
                // One pass over the object instead of a lookup per allowed type.
                for (key, v) in obj {
                    if key.len() <= name.len() || !key.starts_with(name) {
                        continue;
                    }
                    if let Some((_, t)) = members.iter().find(|(prop, _)| **prop == **key) {
                        let ext = self.primitive_ext(obj, key, *t);
                        self.push_values(Some(v), ext, Some(*t), out);
                    }
                }
            }
            None => {
                if let Some(v) = property(obj, name) {
                    let t = v
                        .get("resourceType")
                        .and_then(Value::as_str)
                        .and_then(|n| self.model.id(n));
                    self.push_values(Some(v), None, t, out);
                }
            }
        }
    }

    /// The `_name` sibling of a primitive element, which holds its id and extensions.
    fn primitive_ext(
        &self,
        obj: &'a serde_json::Map<String, Value>,
        name: &str,
        ty: super::model::TypeId,
    ) -> Option<&'a Value> {
        if self.model.kind(ty) != TypeKind::Primitive {
            return None;
        }
        obj.iter()
            .find(|(k, _)| k.len() == name.len() + 1 && k.starts_with('_') && k.ends_with(name))
            .map(|(_, v)| v)
    }

    /// Adds the item(s) of one element: arrays expand, and a primitive's extensions pair with
    /// its value by position.
    fn push_values(
        &self,
        value: Option<&'a Value>,
        ext: Option<&'a Value>,
        ty: Option<super::model::TypeId>,
        out: &mut Collection<'a>,
    ) {
        static NULL: Value = Value::Null;
        let node = |json: &'a Value, ext: Option<&'a Value>| Item::Node {
            json,
            ty: ty.map(|t| self.model.concrete(t, json)),
            ext: ext.filter(|e| !e.is_null()),
        };
        match (value, ext) {
            (Some(Value::Array(items)), ext) => {
                let exts = ext.and_then(Value::as_array);
                for (i, json) in items.iter().enumerate() {
                    let e = exts.and_then(|e| e.get(i)).filter(|e| !e.is_null());
                    if !json.is_null() || e.is_some() {
                        out.push(node(json, e));
                    }
                }
            }
            (Some(Value::Null) | None, Some(Value::Array(exts))) => {
                out.extend(
                    exts.iter()
                        .filter(|e| !e.is_null())
                        .map(|e| node(&NULL, Some(e))),
                );
            }
            (Some(Value::Null) | None, Some(e)) if e.is_object() => out.push(node(&NULL, Some(e))),
            (Some(Value::Null) | None, _) => {}
            (Some(single), ext) => out.push(node(single, ext)),
        }
    }

    /// Whether `item` is of the type `name` (namespace `FHIR`, `System` or none).
    pub(crate) fn is_type(&self, item: &Item<'a>, namespace: Option<&str>, name: &str) -> bool {
        let system = namespace == Some("System");
        match item {
            Item::Node { ty: Some(t), .. } if !system => self.model.is_a(*t, name),
            Item::Node {
                ty: Some(t), json, ..
            } => {
                // A FHIR primitive also answers to its System type (FHIR.string is System.String).
                self.model.kind(*t) == TypeKind::Primitive && system_name(json) == Some(name)
            }
            Item::Node { ty: None, .. } => false,
            Item::Boolean(_) => matches!(name, "Boolean" | "boolean"),
            Item::Integer(_) => matches!(name, "Integer" | "integer"),
            Item::Decimal(_) => matches!(name, "Decimal" | "decimal"),
            Item::String(_) => matches!(name, "String" | "string"),
            Item::ResolvedType(t) => {
                *t == name
                    || name == "Resource"
                    || (name == "DomainResource"
                        && !matches!(*t, "Bundle" | "Binary" | "Parameters"))
            }
        }
    }

    fn type_op(
        &self,
        op: TypeOp,
        input: Collection<'a>,
        spec: &TypeSpec,
    ) -> Result<Collection<'a>, EvalError> {
        let ns = spec.namespace.as_deref();
        match op {
            // `as` is applied item by item, as the FHIR search expressions expect of
            // `(Observation.component.value as Quantity)` over several components.
            TypeOp::As | TypeOp::OfType => Ok(input
                .into_iter()
                .filter(|i| self.is_type(i, ns, &spec.name))
                .collect()),
            TypeOp::Is => match input.as_slice() {
                [] => Ok(Vec::new()),
                [item] => Ok(vec![Item::Boolean(self.is_type(item, ns, &spec.name))]),
                _ => Err(EvalError::NotSingleton {
                    function: "is",
                    count: input.len(),
                }),
            },
        }
    }

    fn binary(
        &self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        focus: Focus<'_, 'a>,
    ) -> Result<Collection<'a>, EvalError> {
        // Short-circuit logic where the left side decides.
        if matches!(
            op,
            BinaryOp::And | BinaryOp::Or | BinaryOp::Implies | BinaryOp::Xor
        ) {
            let l = to_bool(&self.eval(left, focus)?, "logic operator")?;
            match (op, l) {
                (BinaryOp::And, Some(false)) => return Ok(vec![Item::Boolean(false)]),
                (BinaryOp::Or, Some(true)) => return Ok(vec![Item::Boolean(true)]),
                (BinaryOp::Implies, Some(false)) => return Ok(vec![Item::Boolean(true)]),
                _ => {}
            }
            let r = to_bool(&self.eval(right, focus)?, "logic operator")?;
            return Ok(bool_result(logic(op, l, r)));
        }
        let l = self.eval(left, focus)?;
        let r = self.eval(right, focus)?;
        super::operators::apply(op, l, r)
    }
}

/// A property of a JSON object. Resources and their elements mostly have a handful of
/// properties, for which comparing keys is cheaper than hashing the name.
fn property<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    if obj.len() <= 16 {
        obj.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    } else {
        obj.get(name)
    }
}

fn literal<'a>(lit: &Literal) -> Item<'a> {
    match lit {
        Literal::Boolean(b) => Item::Boolean(*b),
        Literal::String(s) => Item::String(Cow::Owned(s.clone())),
        Literal::Integer(i) => Item::Integer(*i),
        Literal::Decimal(d) => Item::Decimal(*d),
        Literal::DateTime(d) => Item::String(Cow::Owned(d.clone())),
    }
}

/// The System type name of a primitive JSON value.
fn system_name(json: &Value) -> Option<&'static str> {
    match json {
        Value::Bool(_) => Some("Boolean"),
        Value::Number(n) if n.is_i64() => Some("Integer"),
        Value::Number(_) => Some("Decimal"),
        Value::String(_) => Some("String"),
        _ => None,
    }
}

/// Three-valued logic over optional Booleans (`None` is the empty collection).
fn logic(op: BinaryOp, l: Option<bool>, r: Option<bool>) -> Option<bool> {
    match op {
        BinaryOp::And => match (l, r) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        BinaryOp::Or => match (l, r) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        BinaryOp::Xor => Some(l? != r?),
        BinaryOp::Implies => match (l, r) {
            (Some(false), _) | (_, Some(true)) => Some(true),
            (Some(true), Some(false)) => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn bool_result<'a>(b: Option<bool>) -> Collection<'a> {
    b.map(Item::Boolean).into_iter().collect()
}

/// Singleton evaluation of a collection as a Boolean.
pub(crate) fn to_bool(c: &[Item<'_>], what: &'static str) -> Result<Option<bool>, EvalError> {
    match c {
        [] => Ok(None),
        [item] => Ok(Some(item.truthy())),
        _ => Err(EvalError::NotSingleton {
            function: what,
            count: c.len(),
        }),
    }
}

pub(crate) fn single_integer(c: &[Item<'_>], what: &'static str) -> Result<Option<i64>, EvalError> {
    match c {
        [] => Ok(None),
        [item] => match item.prim() {
            super::item::Prim::Int(i) => Ok(Some(i)),
            _ => Err(EvalError::TypeMismatch { operation: what }),
        },
        _ => Err(EvalError::NotSingleton {
            function: what,
            count: c.len(),
        }),
    }
}
