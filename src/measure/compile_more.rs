//! Compilation of the less common ELM operators: list iteration (`Filter`,
//! `ForEach`, `Repeat`, `Sort`, ordered `First`/`Last`), tree navigation,
//! regular expressions, boundaries, conversions and code-system membership.

use std::sync::Arc;

use serde_json::json;

use super::compile::{arr, s, Compiler};
use super::compile_tables::SYSTEM_NS;
use super::datetime::Precision;
use super::node::{Conversion, IterKind, Iterate, Node, Op1, Op2, OpN, TypeSpec};
use super::value::{Json, Text, Tuple, Value};
use super::MeasureError;

impl Compiler<'_> {
    /// Compiles `e` when its type is one handled here.
    pub(crate) fn more(&mut self, ty: &str, e: &Json) -> Result<Option<Node>, MeasureError> {
        let unary = |op| -> Option<Op1> { Some(op) };
        let op1 = match ty {
            "ToRatio" => unary(Op1::ToRatio),
            "ConvertsToRatio" => unary(Op1::ConvertsTo(Conversion::Ratio)),
            "ToChars" => unary(Op1::ToChars),
            "Children" => unary(Op1::Children),
            "Descendents" => unary(Op1::Descendents),
            "Convert" | "CanConvert" => {
                let to = self.target_conversion(e)?;
                unary(if ty == "Convert" {
                    to
                } else {
                    converts_to(to).ok_or_else(|| self.err(format!("CanConvert to {to:?}")))?
                })
            }
            _ => None,
        };
        if let Some(op) = op1 {
            let operand = e
                .get("operand")
                .or_else(|| e.get("source"))
                .unwrap_or(&Json::Null);
            return Ok(Some(Node::Op1(op, Box::new(self.expr(operand)?))));
        }
        let binary = match ty {
            "SplitOnMatches" => Some((Op2::SplitOnMatches, "stringToSplit", "separatorPattern")),
            "InCodeSystem" => Some((Op2::InCodeSystem, "code", "codesystem")),
            "AnyInCodeSystem" => Some((Op2::AnyInCodeSystem, "codes", "codesystem")),
            _ => None,
        };
        if let Some((op, a, b)) = binary {
            let x = self.sub(e, a)?;
            let y = match e.get(b) {
                Some(cs) if s(cs, "type") == Some("CodeSystemRef") || cs.get("type").is_none() => {
                    self.code_system_value(cs)?
                }
                Some(other) => self.expr(other)?,
                None => self.sub(e, &format!("{b}Expression"))?,
            };
            return Ok(Some(Node::Op2(op, Box::new([x, y]), None)));
        }
        Ok(Some(match ty {
            "HighBoundary" | "LowBoundary" | "CanConvertQuantity" => {
                let op = match ty {
                    "HighBoundary" => Op2::HighBoundary,
                    "LowBoundary" => Op2::LowBoundary,
                    _ => Op2::CanConvertQuantity,
                };
                let mut args = self.exprs(e.get("operand").unwrap_or(&Json::Null))?;
                if args.len() == 1 {
                    args.push(Node::Lit(Value::Null));
                }
                self.binary(op, args, None)?
            }
            "ReplaceMatches" => Node::OpN(
                OpN::ReplaceMatches,
                self.exprs(e.get("operand").unwrap_or(&Json::Null))?,
            ),
            "CodeSystemRef" => self.code_system_value(e)?,
            // Decidable without a terminology service only for equivalent codes;
            // anything else fails the evaluation rather than guessing.
            "Subsumes" | "SubsumedBy" => {
                let args = self.exprs(e.get("operand").unwrap_or(&Json::Null))?;
                if args.len() != 2 {
                    return Err(self.err(format!("{ty} with {} operands", args.len())));
                }
                Node::Native(super::native::Native::Subsumes, args)
            }
            "Filter" | "ForEach" | "Repeat" | "Aggregate" => {
                let kind = match ty {
                    "Filter" => IterKind::Filter,
                    "ForEach" => IterKind::ForEach,
                    "Repeat" => IterKind::Repeat,
                    _ => IterKind::Aggregate,
                };
                let source = self.aggregate_source(e)?;
                let init = match e.get("initialValue") {
                    Some(x) => Some(self.expr(x)?),
                    None => None,
                };
                let key = match kind {
                    IterKind::Filter => "condition",
                    IterKind::Aggregate => "iteration",
                    _ => "element",
                };
                let mark = self.scopes.len();
                let slot = self.alloc("$current");
                self.alloc("$index");
                self.alloc("$total");
                if let Some(scope) = s(e, "scope") {
                    self.scopes.push((scope.to_owned(), slot));
                    self.scopes.push((format!("{scope}$index"), slot + 1));
                    self.scopes.push((format!("{scope}$total"), slot + 2));
                }
                let body = self.sub(e, key);
                self.scopes.truncate(mark);
                Node::Iterate(Box::new(Iterate {
                    kind,
                    source,
                    body: body?,
                    slot,
                    init,
                }))
            }
            "Iteration" | "Total" => {
                let var = if ty == "Iteration" {
                    "$index"
                } else {
                    "$total"
                };
                let name = s(e, "scope").map_or_else(|| var.to_owned(), |sc| format!("{sc}{var}"));
                Node::Slot(self.lookup(&name)?)
            }
            // FHIR search-parameter paths need the server's search definitions,
            // which ELM evaluation does not have; CQL compiled for execution uses Property.
            "Search" => {
                return Err(self.err(format!(
                    "ELM node Search (search parameter {}): recompile the CQL without search paths",
                    s(e, "path").unwrap_or("?")
                )))
            }
            "Current" => Node::Slot(self.lookup(s(e, "scope").unwrap_or("$current"))?),
            "Sort" => {
                // A query over the list with only a sort clause keeps duplicates.
                let q = json!({"type": "Query",
                    "source": [{"alias": "$sorted", "expression": e.get("source").unwrap_or(&Json::Null)}],
                    "sort": {"by": e.get("by").cloned().unwrap_or(Json::Array(Vec::new()))}});
                self.query(&q)?
            }
            "First" | "Last" => {
                // `orderBy` names the element property the list is sorted by first.
                let path = s(e, "orderBy").unwrap_or_default();
                let q = json!({"type": "Query",
                    "source": [{"alias": "$sorted", "expression": e.get("source").unwrap_or(&Json::Null)}],
                    "sort": {"by": [{"type": "ByColumn", "path": path, "direction": "asc"}]}});
                let op = if ty == "First" { Op1::First } else { Op1::Last };
                Node::Op1(op, Box::new(self.query(&q)?))
            }
            _ => return Ok(None),
        }))
    }

    /// The list an aggregate operator works on: `source`, or the value of the
    /// property `path` of each of its elements (null values dropped) when given.
    pub(crate) fn aggregate_source(&mut self, e: &Json) -> Result<Node, MeasureError> {
        let source = self.sub(e, "source")?;
        Ok(match s(e, "path") {
            Some(path) => path.split('.').fold(source, |n, part| {
                Node::Property(Box::new(n), Arc::from(part))
            }),
            None => source,
        })
    }

    /// `binary` with the ELM precision name. Weeks are no date/time precision:
    /// durations, differences and ages in weeks are those in days divided by 7
    /// (as the reference engines compute them); any other use of a precision
    /// the engine does not know fails rather than comparing at another one.
    pub(crate) fn binary_with_precision(
        &self,
        op: Op2,
        args: Vec<Node>,
        precision: Option<&str>,
    ) -> Result<Node, MeasureError> {
        let Some(name) = precision else {
            return self.binary(op, args, None);
        };
        if let Some(p) = Precision::parse(name) {
            return self.binary(op, args, Some(p));
        }
        let weeks = name.eq_ignore_ascii_case("week");
        if weeks
            && matches!(
                op,
                Op2::DurationBetween | Op2::DifferenceBetween | Op2::CalculateAgeAt
            )
        {
            let days = self.binary(op, args, Some(Precision::Day))?;
            return Ok(Node::Op2(
                Op2::TruncatedDivide,
                Box::new([days, Node::Lit(Value::Int(7))]),
                None,
            ));
        }
        Err(self.err(format!("{op:?} with precision {name}")))
    }

    /// The `ToX` operator a `Convert`/`CanConvert` target type stands for.
    fn target_conversion(&self, e: &Json) -> Result<Op1, MeasureError> {
        let t = match e.get("toTypeSpecifier").or_else(|| e.get("toType")) {
            Some(t) => self.type_spec(t)?,
            None => return Err(self.err("Convert without a target type")),
        };
        let TypeSpec::System(name) = &t else {
            return Err(self.err(format!("Convert to {t:?}")));
        };
        Ok(match name.strip_prefix(SYSTEM_NS).unwrap_or(name) {
            "Boolean" => Op1::ToBoolean,
            "Integer" | "Long" => Op1::ToInteger,
            "Decimal" => Op1::ToDecimal,
            "String" => Op1::ToStr,
            "Date" => Op1::ToDate,
            "DateTime" => Op1::ToDateTime,
            "Time" => Op1::ToTime,
            "Quantity" => Op1::ToQuantity,
            "Ratio" => Op1::ToRatio,
            "Concept" => Op1::ToConcept,
            other => return Err(self.err(format!("Convert to {other}"))),
        })
    }

    /// A `CodeSystemRef` as a CQL `CodeSystem` value (`id`, `version`, `name`).
    fn code_system_value(&self, e: &Json) -> Result<Node, MeasureError> {
        let lib = self.lib_of(e)?;
        let name = s(e, "name").unwrap_or_default();
        let def = arr(self.libs[lib].elm, "codeSystems")
            .iter()
            .find(|c| s(c, "name") == Some(name))
            .ok_or_else(|| self.err(format!("unknown code system {name}")))?;
        let text =
            |k: &str| s(def, k).map_or(Value::Null, |v| Value::Str(Text::Shared(Arc::from(v))));
        Ok(Node::Lit(Value::Tuple(Arc::new(Tuple {
            class: Some(Arc::from("CodeSystem")),
            fields: vec![
                (Arc::from("id"), text("id")),
                (Arc::from("version"), text("version")),
                (Arc::from("name"), text("name")),
            ],
        }))))
    }
}

fn converts_to(op: Op1) -> Option<Op1> {
    Some(Op1::ConvertsTo(match op {
        Op1::ToBoolean => Conversion::Boolean,
        Op1::ToInteger => Conversion::Integer,
        Op1::ToDecimal => Conversion::Decimal,
        Op1::ToStr => Conversion::String,
        Op1::ToDate => Conversion::Date,
        Op1::ToDateTime => Conversion::DateTime,
        Op1::ToTime => Conversion::Time,
        Op1::ToQuantity => Conversion::Quantity,
        Op1::ToRatio => Conversion::Ratio,
        _ => return None,
    }))
}
