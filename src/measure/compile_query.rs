//! Compilation of queries and function references.

use std::sync::Arc;

use super::compile::{s, Compiler};
use super::node::{Aggregate, Node, Query, Relationship, SortItem, SortKey, Source, TypeSpec};
use super::value::Json;
use super::MeasureError;

impl Compiler<'_> {
    pub(crate) fn query(&mut self, e: &Json) -> Result<Node, MeasureError> {
        let scope_mark = self.scopes.len();
        let slot_mark = self.next_slot;
        let r = self.query_inner(e);
        self.scopes.truncate(scope_mark);
        self.next_slot = slot_mark;
        let mut q = r?;
        q.keyed = super::keyed::recognize(&q, slot_mark);
        super::hoist::query(&mut q, slot_mark);
        Ok(Node::Query(Box::new(q)))
    }

    fn query_inner(&mut self, e: &Json) -> Result<Query, MeasureError> {
        let mut sources = Vec::new();
        for src in e
            .get("source")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let expr = self.sub(src, "expression")?;
            let alias = s(src, "alias").unwrap_or_default();
            let slot = self.alloc(alias);
            sources.push(Source {
                alias: Arc::from(alias),
                expr,
                slot,
            });
        }
        let mut lets = Vec::new();
        for l in e.get("let").and_then(Json::as_array).into_iter().flatten() {
            let expr = self.sub(l, "expression")?;
            let alias = s(l, "identifier").unwrap_or_default();
            let slot = self.alloc(alias);
            lets.push(Source {
                alias: Arc::from(alias),
                expr,
                slot,
            });
        }
        let mut relationships = Vec::new();
        for r in e
            .get("relationship")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let without = match s(r, "type") {
                Some("With") => false,
                Some("Without") => true,
                other => return Err(self.err(format!("relationship {}", other.unwrap_or("?")))),
            };
            let expr = self.sub(r, "expression")?;
            let mark = self.scopes.len();
            let alias = s(r, "alias").unwrap_or_default();
            let slot = self.alloc(alias);
            let such_that = self.sub(r, "suchThat")?;
            self.scopes.truncate(mark);
            relationships.push(Relationship {
                source: Source {
                    alias: Arc::from(alias),
                    expr,
                    slot,
                },
                such_that,
                without,
            });
        }
        let where_ = e.get("where").map(|w| self.expr(w)).transpose()?;
        let ret = match e.get("return") {
            Some(r) => {
                let distinct = r.get("distinct").and_then(Json::as_bool).unwrap_or(true);
                Some((self.sub(r, "expression")?, distinct))
            }
            None => None,
        };
        let aggregate = match e.get("aggregate") {
            Some(a) => {
                let starting = a.get("starting").map(|x| self.expr(x)).transpose()?;
                let mark = self.scopes.len();
                let slot = self.alloc(s(a, "identifier").unwrap_or_default());
                let expr = self.sub(a, "expression")?;
                self.scopes.truncate(mark);
                Some(Aggregate {
                    expr,
                    slot,
                    starting,
                    distinct: a.get("distinct").and_then(Json::as_bool).unwrap_or(true),
                })
            }
            None => None,
        };
        let mut sort = Vec::new();
        let by = e
            .get("sort")
            .and_then(|s| s.get("by"))
            .and_then(Json::as_array);
        for item in by.into_iter().flatten() {
            let desc = matches!(s(item, "direction"), Some("desc" | "descending"));
            let key = match s(item, "type") {
                Some("ByDirection") => SortKey::Element,
                Some("ByColumn") => SortKey::Column(Arc::from(s(item, "path").unwrap_or_default())),
                Some("ByExpression") => {
                    // Identifiers in a sort expression name properties of the row.
                    let slot = self.alloc("$sortrow");
                    let saved = std::mem::take(&mut self.scopes);
                    self.scopes = saved.clone();
                    let expr = item.get("expression").unwrap_or(&Json::Null);
                    let node = self.sort_expr(expr, slot)?;
                    self.scopes = saved;
                    SortKey::Expr(node, slot)
                }
                other => return Err(self.err(format!("sort {}", other.unwrap_or("?")))),
            };
            sort.push(SortItem { desc, key });
        }
        Ok(Query {
            sources,
            lets,
            relationships,
            where_,
            ret,
            aggregate,
            sort,
            hoisted: 0,
            keyed: None,
        })
    }

    /// Compiles a sort expression, turning bare `IdentifierRef`s into
    /// properties of the row held in `slot`.
    fn sort_expr(&mut self, e: &Json, slot: usize) -> Result<Node, MeasureError> {
        let rewritten = rewrite_identifiers(e);
        self.scopes.push(("$sortrow".to_owned(), slot));
        self.expr(&rewritten)
    }

    pub(crate) fn function_ref(&mut self, e: &Json) -> Result<Node, MeasureError> {
        let lib = self.lib_of(e)?;
        let name = s(e, "name").unwrap_or_default();
        let args = self.exprs(e.get("operand").unwrap_or(&Json::Null))?;
        let candidates: Vec<usize> = self.libs[lib]
            .funcs
            .get(name)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|id| {
                self.defs[*id]
                    .json
                    .get("operand")
                    .and_then(Json::as_array)
                    .map_or(0, Vec::len)
                    == args.len()
            })
            .collect();
        if candidates.is_empty() {
            return Err(self.err(format!("unknown function {name}/{}", args.len())));
        }
        let signature: Vec<TypeSpec> = e
            .get("signature")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .map(|t| self.type_spec(t))
            .collect::<Result<_, _>>()?;
        let chosen: Vec<usize> = if candidates.len() > 1 && signature.len() == args.len() {
            let exact: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|id| self.operand_types(*id).is_ok_and(|t| t == signature))
                .collect();
            if exact.is_empty() {
                candidates
            } else {
                exact
            }
        } else {
            candidates
        };
        for id in &chosen {
            self.ensure_def(*id)?;
        }
        let lib_name = self.libs[lib].name.as_str();
        // The native path reproduces FHIRHelpers 4.4 (e.g. a Period without a start
        // is an interval with an unknown, open start); other versions run as ELM.
        let version = self.libs[lib]
            .elm
            .get("identifier")
            .and_then(|i| s(i, "version"))
            .unwrap_or_default();
        if lib_name == "FHIRHelpers"
            && version.starts_with("4.4")
            && args.len() == 1
            && is_conversion(name)
        {
            // FHIR → CQL conversions run natively when the argument's FHIR type
            // has a direct system equivalent; the ELM body handles the rest.
            let arg = args
                .into_iter()
                .next()
                .unwrap_or(Node::Lit(super::value::Value::Null));
            return Ok(Node::Convert(Box::new(arg), chosen, name == "ToInterval"));
        }
        Ok(match chosen.as_slice() {
            [one] => Node::Call(*one, args),
            _ => Node::CallDyn(chosen, args),
        })
    }

    fn operand_types(&self, id: usize) -> Result<Vec<TypeSpec>, MeasureError> {
        self.defs[id]
            .json
            .get("operand")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .map(|o| self.type_spec(o.get("operandTypeSpecifier").unwrap_or(&Json::Null)))
            .collect()
    }
}

fn rewrite_identifiers(e: &Json) -> Json {
    match e {
        Json::Object(m) => {
            if m.get("type").and_then(Json::as_str) == Some("IdentifierRef") {
                let name = m.get("name").cloned().unwrap_or(Json::Null);
                return serde_json::json!({
                    "type": "Property",
                    "path": name,
                    "scope": "$sortrow",
                });
            }
            Json::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), rewrite_identifiers(v)))
                    .collect(),
            )
        }
        Json::Array(a) => Json::Array(a.iter().map(rewrite_identifiers).collect()),
        other => other.clone(),
    }
}

/// FHIRHelpers functions that convert one FHIR value to its CQL system value.
fn is_conversion(name: &str) -> bool {
    matches!(
        name,
        "ToString"
            | "ToBoolean"
            | "ToDate"
            | "ToDateTime"
            | "ToDecimal"
            | "ToInteger"
            | "ToTime"
            | "ToCode"
            | "ToConcept"
            | "ToQuantity"
            | "ToInterval"
            | "ToValue"
    )
}
