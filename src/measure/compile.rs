//! Compiles ELM expression trees into the evaluation plan (`node::Node`),
//! resolving every reference once. Only definitions reachable from the
//! requested entry points are compiled, so unused parts of shared libraries
//! (for example FHIRHelpers' external functions) never block a measure.

use std::collections::HashMap;
use std::sync::Arc;

use super::compile_tables::{literal, named_type, op1, op2, quantity, SYSTEM_NS};
use super::datetime::{DateTime, Precision};
use super::library::{Content, ElmLibrary};
use super::native::Native;
use super::node::{Case, Def, Node, Op1, Op2, OpN, TypeSpec};
use super::value::{Concept, Json, Value};
use super::MeasureError;

pub(crate) struct LibInfo<'c> {
    pub name: String,
    pub elm: &'c Json,
    pub includes: HashMap<String, usize>,
    pub defs: HashMap<String, usize>,
    pub funcs: HashMap<String, Vec<usize>>,
    pub params: HashMap<String, usize>,
}

pub(crate) struct DefSlot<'c> {
    pub lib: usize,
    pub json: &'c Json,
    pub compiled: Option<Def>,
    pub in_progress: bool,
}

/// A parameter declared by some library; values are per evaluation.
#[derive(Debug)]
pub struct Param {
    pub name: Arc<str>,
    pub default: Option<Node>,
    /// Index of the declaring library (0: the measure's own library).
    pub lib: usize,
    /// The declared CQL type (`Integer`, `Interval<DateTime>`, ...), when known.
    pub type_name: Option<String>,
}

pub(crate) struct Compiler<'c> {
    pub content: &'c Content,
    pub libs: Vec<LibInfo<'c>>,
    pub defs: Vec<DefSlot<'c>>,
    pub params: Vec<Param>,
    param_json: Vec<(usize, &'c Json)>,
    // Per-definition state.
    pub(crate) scopes: Vec<(String, usize)>,
    pub(crate) next_slot: usize,
    pub(crate) max_slot: usize,
    pub(crate) cur_lib: usize,
    pub(crate) cur_def: String,
    /// Retrieves by profile keep only resources declaring it in `meta.profile`.
    pub(crate) trust_meta_profile: bool,
}

pub(crate) fn arr<'j>(j: &'j Json, key: &str) -> &'j [Json] {
    j.get(key)
        .and_then(|d| d.get("def").or(Some(d)))
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

pub(crate) fn s<'j>(j: &'j Json, key: &str) -> Option<&'j str> {
    j.get(key).and_then(Json::as_str)
}

impl<'c> Compiler<'c> {
    pub fn new(
        content: &'c Content,
        root: &str,
        version: Option<&str>,
    ) -> Result<Self, MeasureError> {
        let mut c = Compiler {
            content,
            libs: Vec::new(),
            defs: Vec::new(),
            params: Vec::new(),
            param_json: Vec::new(),
            scopes: Vec::new(),
            next_slot: 0,
            max_slot: 0,
            cur_lib: 0,
            cur_def: String::new(),
            trust_meta_profile: false,
        };
        c.load_lib(root, version)?;
        Ok(c)
    }

    fn find_lib(&self, name: &str, version: Option<&str>) -> Option<&'c ElmLibrary> {
        let libs = &self.content.libraries;
        libs.iter()
            .find(|l| l.name == name && (version.is_none() || l.version.as_deref() == version))
            .or_else(|| libs.iter().find(|l| l.name == name))
    }

    fn load_lib(&mut self, name: &str, version: Option<&str>) -> Result<usize, MeasureError> {
        if let Some(i) = self.libs.iter().position(|l| l.name == name) {
            return Ok(i);
        }
        let lib = self.find_lib(name, version).ok_or_else(|| {
            MeasureError::Content(format!(
                "library {name} version {} not found",
                version.unwrap_or("(any)")
            ))
        })?;
        let idx = self.libs.len();
        let elm = &lib.elm;
        self.libs.push(LibInfo {
            name: lib.name.clone(),
            elm,
            includes: HashMap::new(),
            defs: HashMap::new(),
            funcs: HashMap::new(),
            params: HashMap::new(),
        });
        for def in arr(elm, "statements") {
            let Some(n) = s(def, "name") else { continue };
            let id = self.defs.len();
            self.defs.push(DefSlot {
                lib: idx,
                json: def,
                compiled: None,
                in_progress: false,
            });
            if s(def, "type") == Some("FunctionDef") {
                self.libs[idx]
                    .funcs
                    .entry(n.to_owned())
                    .or_default()
                    .push(id);
            } else {
                self.libs[idx].defs.insert(n.to_owned(), id);
            }
        }
        for p in arr(elm, "parameters") {
            let Some(n) = s(p, "name") else { continue };
            let id = self.params.len();
            self.params.push(Param {
                name: Arc::from(n),
                default: None,
                lib: idx,
                type_name: super::parameters::declared_type(p),
            });
            self.param_json.push((idx, p));
            self.libs[idx].params.insert(n.to_owned(), id);
        }
        for inc in arr(elm, "includes") {
            let alias = s(inc, "localIdentifier").unwrap_or_default().to_owned();
            let path = s(inc, "path").unwrap_or_default();
            let lname = path.rsplit('/').next().unwrap_or(path).to_owned();
            let child = self.load_lib(&lname, s(inc, "version"))?;
            self.libs[idx].includes.insert(alias, child);
        }
        Ok(idx)
    }

    pub(crate) fn err(&self, msg: impl Into<String>) -> MeasureError {
        MeasureError::Unsupported {
            what: msg.into(),
            library: self
                .libs
                .get(self.cur_lib)
                .map(|l| l.name.clone())
                .unwrap_or_default(),
            expression: self.cur_def.clone(),
        }
    }

    /// Index of the library an ELM reference (`libraryName`) points to.
    pub(crate) fn lib_of(&self, e: &Json) -> Result<usize, MeasureError> {
        self.lib_in(self.cur_lib, e)
    }

    /// Like `lib_of`, for a reference written inside library `from`.
    pub(crate) fn lib_in(&self, from: usize, e: &Json) -> Result<usize, MeasureError> {
        match s(e, "libraryName") {
            None => Ok(from),
            Some(alias) => self.libs[from]
                .includes
                .get(alias)
                .copied()
                .ok_or_else(|| self.err(format!("unknown library alias {alias}"))),
        }
    }

    /// Compiles (once) the expression definition `name` of the root library.
    pub fn entry(&mut self, name: &str) -> Result<usize, MeasureError> {
        let id = self.libs[0].defs.get(name).copied().ok_or_else(|| {
            MeasureError::Content(format!(
                "expression {name} not found in {}",
                self.libs[0].name
            ))
        })?;
        self.ensure_def(id)?;
        Ok(id)
    }

    /// Compiles the root library's function (or expression) `name`, for
    /// measure observations; returns its id and operand count.
    pub fn entry_function(&mut self, name: &str) -> Result<(usize, usize), MeasureError> {
        let id = match self.libs[0]
            .funcs
            .get(name)
            .and_then(|f| f.first())
            .copied()
        {
            Some(id) => id,
            None => return self.entry(name).map(|id| (id, 0)),
        };
        self.ensure_def(id)?;
        let n = self.defs[id]
            .json
            .get("operand")
            .and_then(Json::as_array)
            .map_or(0, Vec::len);
        Ok((id, n))
    }

    pub fn compile_params(&mut self) -> Result<(), MeasureError> {
        for i in 0..self.param_json.len() {
            let (lib, p) = self.param_json[i];
            if let Some(d) = p.get("default") {
                let node = self.in_def(lib, "parameter", |c| c.expr(d))?;
                self.params[i].default = Some(node.0);
            }
        }
        Ok(())
    }

    fn in_def<T>(
        &mut self,
        lib: usize,
        name: &str,
        f: impl FnOnce(&mut Self) -> Result<T, MeasureError>,
    ) -> Result<(T, usize), MeasureError> {
        let saved = (
            std::mem::take(&mut self.scopes),
            self.next_slot,
            self.max_slot,
            self.cur_lib,
            std::mem::replace(&mut self.cur_def, name.to_owned()),
        );
        self.next_slot = 0;
        self.max_slot = 0;
        self.cur_lib = lib;
        let r = f(self);
        let frame = self.max_slot;
        self.scopes = saved.0;
        self.next_slot = saved.1;
        self.max_slot = saved.2;
        self.cur_lib = saved.3;
        self.cur_def = saved.4;
        Ok((r?, frame))
    }

    /// Forgets a failed compilation so the definition can be retried.
    pub(crate) fn reset_def(&mut self, id: usize) {
        if let Some(d) = self.defs.get_mut(id) {
            d.in_progress = false;
        }
    }

    pub(crate) fn ensure_def(&mut self, id: usize) -> Result<(), MeasureError> {
        if self.defs[id].compiled.is_some() || self.defs[id].in_progress {
            return Ok(());
        }
        self.defs[id].in_progress = true;
        let DefSlot { lib, json, .. } = self.defs[id];
        let name = s(json, "name").unwrap_or_default().to_owned();
        let lib_name: Arc<str> = Arc::from(self.libs[lib].name.as_str());
        if json.get("external").and_then(Json::as_bool) == Some(true) {
            let Some(native) = Native::lookup(&lib_name, &name) else {
                return Err(MeasureError::Unsupported {
                    what: format!("external function {name}"),
                    library: lib_name.to_string(),
                    expression: name,
                });
            };
            let n = json
                .get("operand")
                .and_then(Json::as_array)
                .map_or(0, Vec::len);
            self.defs[id].compiled = Some(Def {
                library: lib_name,
                name: Arc::from(name.as_str()),
                operands: vec![TypeSpec::System(Arc::from("Any")); n],
                body: Node::Native(native, (0..n).map(Node::Slot).collect()),
                frame: n,
                function: true,
            });
            self.defs[id].in_progress = false;
            return Ok(());
        }
        let mut operands = Vec::new();
        let (body, frame) = self.in_def(lib, &name, |c| {
            for op in json
                .get("operand")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                let ty = op
                    .get("operandTypeSpecifier")
                    .map(|t| c.type_spec(t))
                    .transpose()?
                    .unwrap_or(TypeSpec::System(Arc::from("Any")));
                operands.push(ty);
                c.alloc(s(op, "name").unwrap_or_default());
            }
            let e = json
                .get("expression")
                .ok_or_else(|| c.err("definition without expression"))?;
            c.expr(e)
        })?;
        self.defs[id].compiled = Some(Def {
            library: lib_name,
            name: Arc::from(name.as_str()),
            operands,
            body,
            frame,
            function: s(json, "type") == Some("FunctionDef"),
        });
        self.defs[id].in_progress = false;
        Ok(())
    }

    pub(crate) fn alloc(&mut self, name: &str) -> usize {
        let slot = self.next_slot;
        self.next_slot += 1;
        self.max_slot = self.max_slot.max(self.next_slot);
        self.scopes.push((name.to_owned(), slot));
        slot
    }

    pub(crate) fn lookup(&self, name: &str) -> Result<usize, MeasureError> {
        self.scopes
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
            .ok_or_else(|| self.err(format!("unresolved identifier {name}")))
    }

    pub(crate) fn type_spec(&self, t: &Json) -> Result<TypeSpec, MeasureError> {
        if let Some(name) = t.as_str() {
            return Ok(named_type(name));
        }
        match s(t, "type") {
            Some("NamedTypeSpecifier") => Ok(named_type(s(t, "name").unwrap_or_default())),
            Some("ListTypeSpecifier") => Ok(TypeSpec::List(Box::new(
                self.type_spec(t.get("elementType").unwrap_or(&Json::Null))?,
            ))),
            Some("IntervalTypeSpecifier") => Ok(TypeSpec::Interval(Box::new(
                self.type_spec(t.get("pointType").unwrap_or(&Json::Null))?,
            ))),
            Some("TupleTypeSpecifier") => Ok(TypeSpec::Tuple),
            Some("ChoiceTypeSpecifier") | None | Some(_) if t.get("choice").is_some() => {
                let choices = t
                    .get("choice")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| self.type_spec(c))
                    .collect::<Result<_, _>>()?;
                Ok(TypeSpec::Choice(choices))
            }
            other => Err(self.err(format!("type specifier {}", other.unwrap_or("?")))),
        }
    }

    pub(crate) fn exprs(&mut self, list: &Json) -> Result<Vec<Node>, MeasureError> {
        match list {
            Json::Array(a) => a.iter().map(|e| self.expr(e)).collect(),
            Json::Null => Ok(Vec::new()),
            e => Ok(vec![self.expr(e)?]),
        }
    }

    pub(crate) fn sub(&mut self, e: &Json, key: &str) -> Result<Node, MeasureError> {
        match e.get(key) {
            Some(x) => self.expr(x),
            None => Ok(Node::Lit(Value::Null)),
        }
    }

    pub fn expr(&mut self, e: &Json) -> Result<Node, MeasureError> {
        let ty = s(e, "type").unwrap_or_default();
        let ordered = matches!(ty, "First" | "Last") && e.get("orderBy").is_some();
        if let Some(op) = op1(ty).filter(|_| !ordered) {
            if e.get("path").is_some() {
                return Ok(Node::Op1(op, Box::new(self.aggregate_source(e)?)));
            }
            let operand = e
                .get("operand")
                .or_else(|| e.get("source"))
                .unwrap_or(&Json::Null);
            return Ok(Node::Op1(op, Box::new(self.expr(operand)?)));
        }
        if let Some(op) = op2(ty) {
            let args = self.exprs(e.get("operand").unwrap_or(&Json::Null))?;
            return self.binary_with_precision(op, args, s(e, "precision"));
        }
        Ok(match ty {
            "Null" => Node::Lit(Value::Null),
            "MinValue" | "MaxValue" => {
                let vt = s(e, "valueType").unwrap_or_default();
                let max = ty == "MaxValue";
                Node::Lit(match vt.strip_prefix(SYSTEM_NS).unwrap_or(vt) {
                    "Integer" => Value::Int(if max {
                        i64::from(i32::MAX)
                    } else {
                        i64::from(i32::MIN)
                    }),
                    "Long" => Value::Int(if max { i64::MAX } else { i64::MIN }),
                    "Decimal" => Value::Dec(if max {
                        99_999_999_999_999_999_999.999_999_99
                    } else {
                        -99_999_999_999_999_999_999.999_999_99
                    }),
                    "Date" => Value::Date(if max {
                        DateTime::max_value(true)
                    } else {
                        DateTime::min_value(true)
                    }),
                    "DateTime" => Value::DateTime(if max {
                        DateTime::max_value(false)
                    } else {
                        DateTime::min_value(false)
                    }),
                    "Time" => Value::Time(DateTime::new(
                        if max {
                            [0, 1, 1, 23, 59, 59, 999]
                        } else {
                            [0, 1, 1, 0, 0, 0, 0]
                        },
                        Precision::Millisecond,
                        None,
                    )),
                    other => return Err(self.err(format!("{ty} of {other}"))),
                })
            }
            "Literal" => Node::Lit(literal(e).ok_or_else(|| self.err("literal"))?),
            "Quantity" => Node::Lit(Value::Quantity(quantity(e))),
            "Ratio" => {
                let n = quantity(e.get("numerator").unwrap_or(&Json::Null));
                let d = quantity(e.get("denominator").unwrap_or(&Json::Null));
                Node::Lit(Value::Ratio(Arc::new((n, d))))
            }
            "ExpressionRef" => {
                let lib = self.lib_of(e)?;
                let name = s(e, "name").unwrap_or_default();
                let id = *self.libs[lib]
                    .defs
                    .get(name)
                    .ok_or_else(|| self.err(format!("unknown expression {name}")))?;
                self.ensure_def(id)?;
                Node::ExprRef(id)
            }
            "ParameterRef" => {
                let lib = self.lib_of(e)?;
                let name = s(e, "name").unwrap_or_default();
                Node::ParamRef(
                    *self.libs[lib]
                        .params
                        .get(name)
                        .ok_or_else(|| self.err(format!("unknown parameter {name}")))?,
                )
            }
            "OperandRef" | "AliasRef" | "QueryLetRef" | "IdentifierRef" => {
                Node::Slot(self.lookup(s(e, "name").unwrap_or_default())?)
            }
            "FunctionRef" => self.function_ref(e)?,
            "Property" => self.property(e)?,
            "ValueSetRef" => Node::ValueSet(self.valueset_ref(e)?),
            "CodeRef" => Node::Lit(Value::Code(Arc::new(self.code_ref(e)?))),
            "Code" => Node::Lit(Value::Code(Arc::new(self.code_literal(e)?))),
            "ConceptRef" => Node::Lit(self.concept_ref(e)?),
            "Concept" => {
                let codes = e
                    .get("code")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| self.code_literal(c))
                    .collect::<Result<_, _>>()?;
                Node::Lit(Value::Concept(Arc::new(Concept {
                    codes,
                    display: s(e, "display").map(Arc::from),
                })))
            }
            "List" => Node::List(self.exprs(e.get("element").unwrap_or(&Json::Null))?),
            "Tuple" | "Instance" => {
                let mut fields = Vec::new();
                for el in e
                    .get("element")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name: Arc<str> = Arc::from(s(el, "name").unwrap_or_default());
                    fields.push((name, self.sub(el, "value")?));
                }
                if ty == "Tuple" {
                    Node::Tuple(fields)
                } else {
                    let class = s(e, "classType").unwrap_or_default();
                    let class = class.rsplit('}').next().unwrap_or(class);
                    Node::Instance(Arc::from(class), fields)
                }
            }
            "Interval" => {
                let low = self.sub(e, "low")?;
                let high = self.sub(e, "high")?;
                let closed = |c: &mut Self, key: &str| -> Result<Node, MeasureError> {
                    match e.get(format!("{key}Expression").as_str()) {
                        Some(x) => c.expr(x),
                        None => Ok(Node::Lit(Value::Bool(
                            e.get(key).and_then(Json::as_bool).unwrap_or(true),
                        ))),
                    }
                };
                let lc = closed(self, "lowClosed")?;
                let hc = closed(self, "highClosed")?;
                Node::Interval(Box::new([low, high, lc, hc]))
            }
            "If" => Node::If(Box::new([
                self.sub(e, "condition")?,
                self.sub(e, "then")?,
                self.sub(e, "else")?,
            ])),
            "Case" => {
                let comparand = e.get("comparand").map(|c| self.expr(c)).transpose()?;
                let mut items = Vec::new();
                for it in e
                    .get("caseItem")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                {
                    items.push((self.sub(it, "when")?, self.sub(it, "then")?));
                }
                let otherwise = self.sub(e, "else")?;
                Node::Case(Box::new(Case {
                    comparand,
                    items,
                    otherwise,
                }))
            }
            "Is" => {
                let t = e
                    .get("isTypeSpecifier")
                    .or_else(|| e.get("isType"))
                    .unwrap_or(&Json::Null);
                Node::Is(Box::new(self.sub(e, "operand")?), self.type_spec(t)?)
            }
            "As" => {
                let t = e
                    .get("asTypeSpecifier")
                    .or_else(|| e.get("asType"))
                    .unwrap_or(&Json::Null);
                let strict = e.get("strict").and_then(Json::as_bool).unwrap_or(false);
                Node::As(
                    Box::new(self.sub(e, "operand")?),
                    self.type_spec(t)?,
                    strict,
                )
            }
            "Retrieve" => self.retrieve(e)?,
            "Query" => self.query(e)?,
            "DateTimeComponentFrom" => {
                let p = s(e, "precision")
                    .and_then(Precision::parse)
                    .ok_or_else(|| self.err("component precision"))?;
                Node::Op1(Op1::Component(p), Box::new(self.sub(e, "operand")?))
            }
            "Round" | "IndexOf" | "Split" => {
                let (op, k1, k2) = match ty {
                    "Round" => (Op2::Round, "operand", "precision"),
                    "IndexOf" => (Op2::IndexOf, "source", "element"),
                    _ => (Op2::Split, "stringToSplit", "separator"),
                };
                let args = vec![self.sub(e, k1)?, self.sub(e, k2)?];
                self.binary(op, args, None)?
            }
            "Combine" => Node::OpN(
                OpN::Combine,
                vec![self.sub(e, "source")?, self.sub(e, "separator")?],
            ),
            "Substring" => Node::OpN(
                OpN::Substring,
                vec![
                    self.sub(e, "stringToSub")?,
                    self.sub(e, "startIndex")?,
                    self.sub(e, "length")?,
                ],
            ),
            "PositionOf" | "LastPositionOf" => Node::OpN(
                if ty == "PositionOf" {
                    OpN::PositionOf
                } else {
                    OpN::LastPositionOf
                },
                vec![self.sub(e, "pattern")?, self.sub(e, "string")?],
            ),
            "Message" => {
                let keys = ["source", "condition", "code", "severity", "message"];
                let args = keys
                    .iter()
                    .map(|k| self.sub(e, k))
                    .collect::<Result<Vec<_>, _>>()?;
                Node::OpN(OpN::Message, args)
            }
            "Slice" => Node::OpN(
                OpN::Slice,
                vec![
                    self.sub(e, "source")?,
                    self.sub(e, "startIndex")?,
                    self.sub(e, "endIndex")?,
                ],
            ),
            "Coalesce" | "Concatenate" => Node::OpN(
                if ty == "Coalesce" {
                    OpN::Coalesce
                } else {
                    OpN::Concatenate
                },
                self.exprs(e.get("operand").unwrap_or(&Json::Null))?,
            ),
            "Date" | "DateTime" | "Time" => self.date_ctor(ty, e)?,
            "Collapse" | "Expand" => {
                let mut args = self.exprs(e.get("operand").unwrap_or(&Json::Null))?;
                if args.len() == 1 {
                    args.push(Node::Lit(Value::Null));
                }
                self.binary(
                    if ty == "Collapse" {
                        Op2::CollapsePer
                    } else {
                        Op2::Expand
                    },
                    args,
                    None,
                )?
            }
            "InValueSet" | "AnyInValueSet" => {
                let code = self.sub(e, "code").or_else(|_| self.sub(e, "codes"))?;
                let code = if e.get("codes").is_some() {
                    self.sub(e, "codes")?
                } else {
                    code
                };
                let vs = match e.get("valueset") {
                    Some(v) => Node::ValueSet(self.valueset_ref(v)?),
                    None => self.sub(e, "valuesetExpression")?,
                };
                let op = if ty == "InValueSet" {
                    Op2::InValueSet
                } else {
                    Op2::AnyInValueSet
                };
                Node::Op2(op, Box::new([code, vs]), None)
            }
            "Now" => Node::OpN(OpN::Now, Vec::new()),
            "Today" => Node::OpN(OpN::Today, Vec::new()),
            "TimeOfDay" => Node::OpN(OpN::TimeOfDay, Vec::new()),
            "CalculateAge" => {
                // Age as of today (the evaluation date).
                let args = vec![self.sub(e, "operand")?, Node::OpN(OpN::Today, Vec::new())];
                self.binary_with_precision(Op2::CalculateAgeAt, args, s(e, "precision"))?
            }
            other => match self.more(other, e)? {
                Some(n) => n,
                None => return Err(self.err(format!("ELM node {other}"))),
            },
        })
    }

    pub(crate) fn binary(
        &self,
        op: Op2,
        mut args: Vec<Node>,
        p: Option<Precision>,
    ) -> Result<Node, MeasureError> {
        if args.len() > 2 && matches!(op, Op2::Union | Op2::Intersect | Op2::Except) {
            let mut it = args.into_iter();
            let mut acc = it.next().unwrap_or(Node::Lit(Value::Null));
            for n in it {
                acc = Node::Op2(op, Box::new([acc, n]), p);
            }
            return Ok(acc);
        }
        if args.len() != 2 {
            return Err(self.err(format!("{op:?} with {} operands", args.len())));
        }
        let b = args.pop().unwrap_or(Node::Lit(Value::Null));
        let a = args.pop().unwrap_or(Node::Lit(Value::Null));
        Ok(Node::Op2(op, Box::new([a, b]), p))
    }

    fn date_ctor(&mut self, ty: &str, e: &Json) -> Result<Node, MeasureError> {
        let keys: &[&str] = match ty {
            "Date" => &["year", "month", "day"],
            "Time" => &["hour", "minute", "second", "millisecond"],
            _ => &[
                "year",
                "month",
                "day",
                "hour",
                "minute",
                "second",
                "millisecond",
                "timezoneOffset",
            ],
        };
        let args = keys
            .iter()
            .map(|k| self.sub(e, k))
            .collect::<Result<Vec<_>, _>>()?;
        let op = match ty {
            "Date" => OpN::Date,
            "Time" => OpN::Time,
            _ => OpN::DateTime,
        };
        Ok(Node::OpN(op, args))
    }
}
