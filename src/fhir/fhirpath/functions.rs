//! The FHIRPath functions the engine supports (see [`Function`]).

use std::borrow::Cow;

use serde_json::Value;

use super::ast::{Expr, Function};
use super::error::EvalError;
use super::eval::{single_integer, to_bool, Collection, Env, Focus};
use super::item::{Item, Prim};
use super::operators::union;

impl<'a> Env<'a, '_> {
    pub(crate) fn call(
        &self,
        function: Function,
        input: Collection<'a>,
        args: &[Expr],
        focus: Focus<'_, 'a>,
    ) -> Result<Collection<'a>, EvalError> {
        use Function as F;
        if function.iterates() {
            return self.iterate(function, input, args);
        }
        // Other functions evaluate their arguments once, against the caller's focus.
        let arg = |n: usize| -> Result<Collection<'a>, EvalError> {
            match args.get(n) {
                Some(e) => self.eval(e, focus),
                None => Ok(Vec::new()),
            }
        };
        Ok(match function {
            F::Empty => vec![Item::Boolean(input.is_empty())],
            F::First => input.into_iter().take(1).collect(),
            F::Last => input.into_iter().last().into_iter().collect(),
            F::Tail => input.into_iter().skip(1).collect(),
            F::Skip => {
                let n = single_integer(&arg(0)?, "skip")?.unwrap_or(0).max(0);
                input.into_iter().skip(n as usize).collect()
            }
            F::Take => {
                let n = single_integer(&arg(0)?, "take")?.unwrap_or(0).max(0);
                input.into_iter().take(n as usize).collect()
            }
            F::Single => match input.len() {
                0 | 1 => input,
                count => {
                    return Err(EvalError::NotSingleton {
                        function: "single",
                        count,
                    })
                }
            },
            F::Count => vec![Item::Integer(input.len() as i64)],
            F::Distinct => union(input, Vec::new()),
            F::Not => to_bool(&input, "not")?
                .map(|b| Item::Boolean(!b))
                .into_iter()
                .collect(),
            F::AllTrue => vec![Item::Boolean(
                input.iter().all(|i| i.prim() == Prim::Bool(true)),
            )],
            F::AnyTrue => vec![Item::Boolean(
                input.iter().any(|i| i.prim() == Prim::Bool(true)),
            )],
            F::Resolve => input
                .iter()
                .filter_map(|i| self.resolver.resolve(i, &self.root))
                .collect(),
            F::Extension => {
                let url = arg(0)?;
                let Some(url) = url.first().and_then(Item::as_str) else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                for item in &input {
                    self.extensions(item, url, &mut out);
                }
                out
            }
            F::HasValue => vec![Item::Boolean(matches!(
                input.as_slice(),
                [Item::Node { json, .. }] if !json.is_object() && !json.is_array() && !json.is_null()
            ))],
            F::Iif => {
                let cond = to_bool(&arg(0)?, "iif")?;
                if cond == Some(true) {
                    arg(1)?
                } else {
                    arg(2)?
                }
            }
            F::ToString => single_string(&input, "toString")?
                .map(|s| Item::String(Cow::Owned(s)))
                .into_iter()
                .collect(),
            F::ToInteger => match input.as_slice() {
                [item] => match item.prim() {
                    Prim::Int(i) => vec![Item::Integer(i)],
                    Prim::Str(s) => s.parse().ok().map(Item::Integer).into_iter().collect(),
                    Prim::Bool(b) => vec![Item::Integer(i64::from(b))],
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            },
            F::StartsWith | F::EndsWith | F::ContainsText => {
                let (Some(s), Some(pat)) = (
                    single_string(&input, "string function")?,
                    single_string(&arg(0)?, "string function")?,
                ) else {
                    return Ok(Vec::new());
                };
                vec![Item::Boolean(match function {
                    F::StartsWith => s.starts_with(&pat),
                    F::EndsWith => s.ends_with(&pat),
                    _ => s.contains(&pat),
                })]
            }
            F::Lower | F::Upper => single_string(&input, "lower/upper")?
                .map(|s| {
                    Item::String(Cow::Owned(if function == F::Lower {
                        s.to_lowercase()
                    } else {
                        s.to_uppercase()
                    }))
                })
                .into_iter()
                .collect(),
            F::Length => single_string(&input, "length")?
                .map(|s| Item::Integer(s.chars().count() as i64))
                .into_iter()
                .collect(),
            F::Children => {
                let mut out = Vec::new();
                for item in &input {
                    self.children(item, &mut out);
                }
                out
            }
            F::Descendants => {
                let mut out = Vec::new();
                let mut frontier = input;
                while !frontier.is_empty() {
                    let mut next = Vec::new();
                    for item in &frontier {
                        self.children(item, &mut next);
                    }
                    out.extend(next.iter().cloned());
                    frontier = next;
                }
                out
            }
            F::Union => union(input, arg(0)?),
            F::Combine => {
                let mut out = input;
                out.extend(arg(0)?);
                out
            }
            // Tracing would log resource content (PHI); it passes the input through.
            F::Trace => input,
            F::Where | F::Select | F::Exists | F::All => {
                return Err(EvalError::Unsupported(
                    "iterating function without criteria",
                ))
            }
        })
    }

    /// Functions whose argument is evaluated once per input item, with `$this` bound to it.
    fn iterate(
        &self,
        function: Function,
        input: Collection<'a>,
        args: &[Expr],
    ) -> Result<Collection<'a>, EvalError> {
        let Some(criteria) = args.first() else {
            // `exists()` without criteria.
            return Ok(vec![Item::Boolean(!input.is_empty())]);
        };
        let mut out = Vec::new();
        for (index, item) in input.iter().enumerate() {
            let this = std::slice::from_ref(item);
            let focus = Focus {
                this,
                index: Some(index),
                total: None,
            };
            let result = self.eval(criteria, focus)?;
            match function {
                Function::Select => out.extend(result),
                Function::All => {
                    if to_bool(&result, "all")? != Some(true) {
                        return Ok(vec![Item::Boolean(false)]);
                    }
                }
                _ => {
                    if to_bool(&result, "where")? == Some(true) {
                        if function == Function::Exists {
                            return Ok(vec![Item::Boolean(true)]);
                        }
                        out.push(item.clone());
                    }
                }
            }
        }
        Ok(match function {
            Function::Exists => vec![Item::Boolean(false)],
            Function::All => vec![Item::Boolean(true)],
            _ => out,
        })
    }

    fn extensions(&self, item: &Item<'a>, url: &str, out: &mut Collection<'a>) {
        // A primitive keeps its extensions in its `_name` sibling.
        let holder = match item {
            Item::Node { ext: Some(ext), .. } => Some(*ext),
            other => other.json(),
        };
        let Some(Value::Array(exts)) = holder.and_then(|j| j.get("extension")) else {
            return;
        };
        let ty = self.model.id("Extension");
        out.extend(
            exts.iter()
                .filter(|e| e.get("url").and_then(Value::as_str) == Some(url))
                .map(|e| Item::node(e, ty)),
        );
    }

    fn children(&self, item: &Item<'a>, out: &mut Collection<'a>) {
        let Some(Value::Object(obj)) = item.json() else {
            return;
        };
        for key in obj.keys() {
            if key.starts_with('_') || key == "resourceType" {
                continue;
            }
            self.member(item, key, out);
        }
    }
}

fn single_string(c: &[Item<'_>], what: &'static str) -> Result<Option<String>, EvalError> {
    match c {
        [] => Ok(None),
        [item] => Ok(match item.prim() {
            Prim::Str(s) => Some(s.to_owned()),
            Prim::Int(i) => Some(i.to_string()),
            Prim::Dec(d) => Some(d.to_string()),
            Prim::Bool(b) => Some(b.to_string()),
            _ => None,
        }),
        _ => Err(EvalError::NotSingleton {
            function: what,
            count: c.len(),
        }),
    }
}
