//! FHIRPath: lexer, parser to an AST, and an evaluator over `serde_json::Value` resources.
//!
//! Parse an expression once ([`Expression::parse`]), then evaluate it many times with an
//! [`Engine`]. The engine covers the FHIRPath used by the R4 SearchParameter definitions
//! (paths, choice types, `|`, `where`, `ofType`/`as`/`is`, `resolve()`, `extension()`,
//! `exists()`, indexers, Boolean logic, equality) plus the common collection, string and
//! arithmetic functions, so invariants and measures can build on it.

mod ast;
mod error;
mod eval;
mod functions;
mod item;
mod lexer;
pub mod model;
mod operators;
mod parser;
mod resolve;
mod temporal;

pub use ast::{BinaryOp, Expr, Function, Literal, TypeOp, TypeSpec, UnaryOp};
pub use error::{EvalError, ParseError};
pub use item::Item;
pub use model::{Element, ModelError, TypeId, TypeKind, TypeModel};
pub use resolve::{LocalResolver, ReferenceParts, ReferenceResolver};
pub use temporal::{DateRange, DATE_MAX, DATE_MIN};

use serde_json::Value;

use eval::{Env, Focus};

/// A parsed FHIRPath expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    source: Box<str>,
    ast: Expr,
}

impl Expression {
    /// Parses `source`; unknown functions are rejected here, not at evaluation.
    pub fn parse(source: &str) -> Result<Expression, ParseError> {
        Ok(Expression {
            source: source.into(),
            ast: parser::parse(source)?,
        })
    }

    /// The expression text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn ast(&self) -> &Expr {
        &self.ast
    }

    /// A copy for resources of type `resource_type` only: union branches rooted at another
    /// resource type (`Account.subject | Observation.subject`) are dropped, so the many
    /// multi-resource search parameters cost one branch per evaluation.
    pub fn specialize(&self, model: &TypeModel, resource_type: &str) -> Expression {
        Expression {
            source: self.source.clone(),
            ast: prune(&self.ast, model, resource_type).unwrap_or(Expr::Empty),
        }
    }
}

/// Evaluates expressions with the R4 type model and a reference resolver.
#[derive(Clone, Copy)]
pub struct Engine<'r> {
    model: &'static TypeModel,
    resolver: &'r dyn ReferenceResolver,
}

impl std::fmt::Debug for Engine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

static LOCAL: std::sync::OnceLock<LocalResolver> = std::sync::OnceLock::new();

impl Engine<'static> {
    /// The R4 engine with [`LocalResolver`]. Fails only if the embedded schema is unreadable.
    pub fn r4() -> Result<Engine<'static>, ModelError> {
        let model = TypeModel::r4()?;
        let resolver = LOCAL.get_or_init(|| LocalResolver::new(model));
        Ok(Engine { model, resolver })
    }
}

impl<'r> Engine<'r> {
    /// An engine that resolves references with `resolver`.
    pub fn with_resolver(model: &'static TypeModel, resolver: &'r dyn ReferenceResolver) -> Self {
        Engine { model, resolver }
    }

    pub fn model(&self) -> &'static TypeModel {
        self.model
    }

    /// Evaluates `expr` with `resource` as the context (`%resource`, `$this`).
    pub fn evaluate<'a>(
        &self,
        expr: &Expression,
        resource: &'a Value,
    ) -> Result<Vec<Item<'a>>, EvalError> {
        let root = self.root(resource);
        self.evaluate_on(expr, resource, std::slice::from_ref(&root))
    }

    /// The item for a resource, typed by its `resourceType`.
    pub fn root<'a>(&self, resource: &'a Value) -> Item<'a> {
        Item::node(resource, Some(self.model.resource_type(resource)))
    }

    /// Evaluates `expr` with `focus` as `$this` (e.g. a composite search parameter's
    /// component expressions, relative to each item of the parameter's own expression).
    pub fn evaluate_on<'a>(
        &self,
        expr: &Expression,
        resource: &'a Value,
        focus: &[Item<'a>],
    ) -> Result<Vec<Item<'a>>, EvalError> {
        self.evaluate_in(expr, &self.root(resource), focus)
    }

    /// [`Engine::evaluate_on`] with the resource already wrapped by [`Engine::root`], for
    /// callers that evaluate many expressions on one resource.
    pub fn evaluate_in<'a>(
        &self,
        expr: &Expression,
        root: &Item<'a>,
        focus: &[Item<'a>],
    ) -> Result<Vec<Item<'a>>, EvalError> {
        let env = Env {
            model: self.model,
            root: root.clone(),
            resolver: self.resolver,
        };
        env.eval(
            &expr.ast,
            Focus {
                this: focus,
                index: None,
                total: None,
            },
        )
    }
}

/// Drops union branches whose path starts at a resource type other than `resource_type`.
fn prune(expr: &Expr, model: &TypeModel, resource_type: &str) -> Option<Expr> {
    if let Expr::Binary(BinaryOp::Union, l, r) = expr {
        return match (
            prune(l, model, resource_type),
            prune(r, model, resource_type),
        ) {
            (Some(l), Some(r)) => Some(Expr::Binary(BinaryOp::Union, Box::new(l), Box::new(r))),
            (one, None) | (None, one) => one,
        };
    }
    match root_type_name(expr) {
        Some(name) => {
            let ty = model.id(resource_type);
            let applies = ty.is_some_and(|t| model.is_a(t, name)) || model.id(name).is_none();
            applies.then(|| expr.clone())
        }
        None => Some(expr.clone()),
    }
}

/// The leading type name of a path (`Observation` in `Observation.value as Quantity`).
fn root_type_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::TypeName(name) => Some(name),
        Expr::Member {
            target: Some(t), ..
        }
        | Expr::Call {
            target: Some(t), ..
        }
        | Expr::Indexer(t, _) => root_type_name(t),
        Expr::Type { expr, .. } => root_type_name(expr),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
