//! The compiled validators and the walk that applies them to a resource and to every resource
//! and extension nested in it.

use serde_json::Value;
use std::sync::OnceLock;

use super::formats;
use super::graph::{DefId, ElementType, TypeGraph, Visit};
use super::issue::{Issue, IssueType, Severity};
use super::messages::Scope;
use super::schema::{Definitions, EXTENSION};
use super::{ValidateError, ValidationFailure, MAX_ISSUES};

pub(crate) const RESOURCE_TYPE_MISSING: &str = "missing required element \"resourceType\"";
pub(crate) const RESOURCE_TYPE_NOT_STRING: &str =
    "\"resourceType\" must be a string naming the resource type";

/// One definition with its own validator: a resource type, or `Extension`.
struct Root {
    def: DefId,
    /// Compiled on first use; the error is kept as text so every later use reports it too.
    compiled: OnceLock<Result<jsonschema::Validator, String>>,
}

/// Index of a [`Root`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RootId(usize);

pub(crate) struct Roots {
    definitions: Definitions,
    graph: TypeGraph,
    /// One per entry of `definitions.resource_types()`, same order, then `Extension`.
    roots: Vec<Root>,
    extension: RootId,
}

impl Roots {
    pub(crate) fn load(schema_text: &str) -> Result<Self, ValidateError> {
        let definitions = Definitions::parse(schema_text)?;
        let graph = TypeGraph::build(&definitions);
        let roots = definitions
            .resource_types()
            .iter()
            .map(String::as_str)
            .chain([EXTENSION])
            .map(|name| {
                let def = graph.id(name).ok_or_else(|| {
                    ValidateError::SchemaShape(format!("no definition for {name}"))
                })?;
                Ok(Root {
                    def,
                    compiled: OnceLock::new(),
                })
            })
            .collect::<Result<Vec<_>, ValidateError>>()?;
        let extension = RootId(roots.len() - 1);
        Ok(Self {
            definitions,
            graph,
            roots,
            extension,
        })
    }

    pub(crate) fn resource_types(&self) -> &[String] {
        self.definitions.resource_types()
    }

    pub(crate) fn resource_root(&self, resource_type: &str) -> Option<RootId> {
        self.resource_types()
            .binary_search_by(|probe| probe.as_str().cmp(resource_type))
            .ok()
            .map(RootId)
    }

    pub(crate) fn compile_all(&self) -> Result<(), ValidateError> {
        (0..self.roots.len()).try_for_each(|i| self.compiled(RootId(i)).map(|_| ()))
    }

    fn compiled(&self, id: RootId) -> Result<&jsonschema::Validator, ValidateError> {
        let root = self.roots.get(id.0).ok_or_else(|| ValidateError::Compile {
            definition: String::new(),
            message: "no such validator".to_owned(),
        })?;
        let name = self.graph.name(root.def);
        root.compiled
            .get_or_init(|| compile(&self.definitions, name))
            .as_ref()
            .map_err(|message| ValidateError::Compile {
                definition: name.to_owned(),
                message: message.clone(),
            })
    }

    /// Checks `value` against a root's validator, reporting at `path`, then walks into it.
    pub(crate) fn check(&self, id: RootId, value: &Value, path: &mut String, sink: &mut Sink) {
        let Some(def) = self.roots.get(id.0).map(|r| r.def) else {
            return;
        };
        match self.compiled(id) {
            Ok(validator) if !validator.is_valid(value) => {
                let scope = Scope {
                    graph: &self.graph,
                    resource: value,
                    resource_type: ElementType::Def(def),
                    prefix: path,
                };
                for error in validator.iter_errors(value) {
                    if sink.is_full() {
                        sink.dropped = true;
                        break;
                    }
                    scope.issues(&error, &mut sink.issues);
                }
            }
            Ok(_) => {}
            Err(error) => sink.push(Issue::error(
                IssueType::NotSupported,
                path.clone(),
                error.to_string(),
            )),
        }
        self.walk(def, value, path, sink);
    }

    /// Visits the elements of an object of type `def` that hold resources or extensions.
    /// Recursion follows the instance, whose depth `validate` has bounded.
    fn walk(&self, def: DefId, value: &Value, path: &mut String, sink: &mut Sink) {
        let Some(object) = value.as_object() else {
            return; // a wrong type here has been reported by the schema check
        };
        for (prop, child) in object {
            let visit = self
                .graph
                .property(ElementType::Def(def), prop)
                .and_then(|ty| self.graph.visit(ty));
            let Some(visit) = visit else {
                continue; // a primitive, or an unknown element (reported by the schema check)
            };
            let base = path.len();
            path.push('.');
            path.push_str(prop);
            match child {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let len = path.len();
                        path.push('[');
                        path.push_str(&i.to_string());
                        path.push(']');
                        self.visit(visit, item, path, sink);
                        path.truncate(len);
                    }
                }
                single => self.visit(visit, single, path, sink),
            }
            path.truncate(base);
            if sink.is_full() {
                sink.dropped = true;
                return;
            }
        }
    }

    fn visit(&self, visit: Visit, item: &Value, path: &mut String, sink: &mut Sink) {
        match visit {
            Visit::Complex(def) => self.walk(def, item, path, sink),
            Visit::Extension(_) if item.is_object() => self.check(self.extension, item, path, sink),
            Visit::Extension(_) => {} // "must be an object" was reported by the schema check
            Visit::Resource => self.check_nested_resource(item, path, sink),
        }
    }

    fn check_nested_resource(&self, item: &Value, path: &mut String, sink: &mut Sink) {
        let Some(object) = item.as_object() else {
            return; // "must be a resource" was reported by the schema check
        };
        let at = format!("{path}.resourceType");
        match object.get("resourceType") {
            Some(Value::String(name)) => match self.resource_root(name) {
                Some(root) => self.check(root, item, path, sink),
                None => sink.push(Issue::error(
                    IssueType::NotSupported,
                    at,
                    format!("unknown resource type \"{name}\""),
                )),
            },
            Some(_) => sink.push(Issue::error(
                IssueType::Structure,
                at,
                RESOURCE_TYPE_NOT_STRING.to_owned(),
            )),
            None => sink.push(Issue::error(
                IssueType::Required,
                at,
                RESOURCE_TYPE_MISSING.to_owned(),
            )),
        }
    }
}

fn compile(definitions: &Definitions, root: &str) -> Result<jsonschema::Validator, String> {
    let schema = definitions.pruned_schema(root).map_err(|e| e.to_string())?;
    let mut options = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft6)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .should_validate_formats(true)
        .should_ignore_unknown_formats(false);
    for (primitive, check) in formats::CHECKS {
        options = options.with_format(formats::format_name(primitive), check);
    }
    options.build(&schema).map_err(|e| e.to_string())
}

/// Collects issues up to [`MAX_ISSUES`], remembering whether any were dropped.
#[derive(Default)]
pub(crate) struct Sink {
    issues: Vec<Issue>,
    dropped: bool,
}

impl Sink {
    fn is_full(&self) -> bool {
        self.issues.len() >= MAX_ISSUES
    }

    fn push(&mut self, issue: Issue) {
        if self.is_full() {
            self.dropped = true;
        } else {
            self.issues.push(issue);
        }
    }

    pub(crate) fn finish(mut self) -> Result<(), ValidationFailure> {
        if self.issues.is_empty() {
            return Ok(());
        }
        // One schema error can add several issues (one per unknown element): cut to the cap.
        if self.issues.len() > MAX_ISSUES {
            self.issues.truncate(MAX_ISSUES);
            self.dropped = true;
        }
        if self.dropped {
            self.issues.push(Issue {
                severity: Severity::Information,
                code: IssueType::TooCostly,
                expression: String::new(),
                diagnostics: format!("validation stopped after {MAX_ISSUES} issues"),
            });
        }
        Err(ValidationFailure::Invalid(self.issues))
    }
}
