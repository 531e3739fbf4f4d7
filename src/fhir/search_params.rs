//! The search-parameter registry: every R4 SearchParameter (from the embedded
//! `fhir-profiles/search-parameters.json`) with its FHIRPath expression parsed once, grouped by
//! resource type. Parameters on `Resource`/`DomainResource` apply to every type. Custom
//! SearchParameter resources can be added at runtime.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;
use thiserror::Error;

use super::fhirpath::{Expression, ModelError, ParseError, TypeModel};

static R4_SEARCH_PARAMETERS: &str = include_str!("../../fhir-profiles/search-parameters.json");

#[derive(Debug, Error)]
pub enum SearchParamError {
    #[error("search parameter definitions are not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("search parameter {url}: missing or invalid {field}")]
    Invalid { url: String, field: &'static str },
    #[error("search parameter {url}: expression '{expression}' does not parse: {source}")]
    Expression {
        url: String,
        expression: String,
        #[source]
        source: ParseError,
    },
    #[error("search parameter {url}: unknown base resource type {base}")]
    UnknownBase { url: String, base: String },
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// The type of a search parameter (`SearchParameter.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamType {
    Number,
    Date,
    String,
    Token,
    Reference,
    Composite,
    Quantity,
    Uri,
    Special,
}

impl ParamType {
    /// The FHIR code (`token`, `date`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::Number => "number",
            ParamType::Date => "date",
            ParamType::String => "string",
            ParamType::Token => "token",
            ParamType::Reference => "reference",
            ParamType::Composite => "composite",
            ParamType::Quantity => "quantity",
            ParamType::Uri => "uri",
            ParamType::Special => "special",
        }
    }
}

impl FromStr for ParamType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "number" => ParamType::Number,
            "date" => ParamType::Date,
            "string" => ParamType::String,
            "token" => ParamType::Token,
            "reference" => ParamType::Reference,
            "composite" => ParamType::Composite,
            "quantity" => ParamType::Quantity,
            "uri" => ParamType::Uri,
            "special" => ParamType::Special,
            _ => return Err(()),
        })
    }
}

/// One component of a composite parameter.
#[derive(Debug, Clone)]
pub struct Component {
    /// Canonical URL of the parameter that gives the component its type.
    pub definition: String,
    /// Evaluated against each item of the composite parameter's own expression.
    pub expression: Expression,
    /// The type of `definition`, once known (`None` if the registry does not hold it).
    pub param_type: Option<ParamType>,
}

/// A search parameter definition.
#[derive(Debug, Clone)]
pub struct SearchParam {
    pub url: String,
    pub code: String,
    pub param_type: ParamType,
    pub base: Vec<String>,
    /// The expression as defined (all bases); see [`TypedParam::expression`] for the per-type one.
    pub expression: Option<Expression>,
    pub targets: Vec<String>,
    pub modifiers: Vec<String>,
    pub comparators: Vec<String>,
    pub components: Vec<Component>,
}

/// A parameter as it applies to one resource type: the expression keeps only the union
/// branches for that type.
#[derive(Debug, Clone)]
pub struct TypedParam {
    pub param: Arc<SearchParam>,
    pub expression: Option<Expression>,
}

impl TypedParam {
    pub fn code(&self) -> &str {
        &self.param.code
    }
}

#[derive(Debug, Default, Clone)]
struct TypeParams {
    list: Vec<TypedParam>,
    by_code: HashMap<String, usize>,
}

/// Search parameters per resource type. Cheap to share behind an `Arc`; mutate (add custom
/// parameters) through `&mut` before sharing, or behind a lock.
#[derive(Debug, Clone)]
pub struct SearchParamRegistry {
    model: &'static TypeModel,
    by_type: HashMap<String, TypeParams>,
    by_url: HashMap<String, Arc<SearchParam>>,
}

impl SearchParamRegistry {
    /// All R4 search parameters, from the definitions embedded in the binary.
    pub fn r4() -> Result<SearchParamRegistry, SearchParamError> {
        let mut registry = SearchParamRegistry::empty()?;
        let bundle: Value = serde_json::from_str(R4_SEARCH_PARAMETERS)?;
        let entries = bundle
            .get("entry")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut params = entries
            .iter()
            .filter_map(|e| e.get("resource"))
            .map(parse_definition)
            .collect::<Result<Vec<_>, _>>()?;
        let types: HashMap<String, ParamType> = params
            .iter()
            .map(|p| (p.url.clone(), p.param_type))
            .collect();
        for mut param in params.drain(..) {
            for c in &mut param.components {
                c.param_type = types.get(&c.definition).copied();
            }
            registry.insert(param)?;
        }
        Ok(registry)
    }

    /// A registry without parameters.
    pub fn empty() -> Result<SearchParamRegistry, SearchParamError> {
        let model = TypeModel::r4()?;
        let by_type = model
            .resource_types()
            .map(|t| (t.to_owned(), TypeParams::default()))
            .collect();
        Ok(SearchParamRegistry {
            model,
            by_type,
            by_url: HashMap::new(),
        })
    }

    /// Adds (or replaces, by URL or by base and code) a SearchParameter resource.
    pub fn add(&mut self, resource: &Value) -> Result<Arc<SearchParam>, SearchParamError> {
        let mut param = parse_definition(resource)?;
        let own = (param.url.clone(), param.param_type);
        for c in &mut param.components {
            c.param_type = if c.definition == own.0 {
                Some(own.1)
            } else {
                self.by_url.get(&c.definition).map(|p| p.param_type)
            };
        }
        self.insert(param)
    }

    /// Whether a SearchParameter resource could be added and then index anything: its fields
    /// read, its expressions parse, its bases are resource types, and a parameter that is not
    /// `special` has an expression to extract values with.
    pub fn check(&self, resource: &Value) -> Result<(), SearchParamError> {
        let param = parse_definition(resource)?;
        if param.expression.is_none() && param.param_type != ParamType::Special {
            return Err(SearchParamError::Invalid {
                url: param.url,
                field: "expression",
            });
        }
        let unknown = param.base.iter().find(|base| {
            !matches!(base.as_str(), "Resource" | "DomainResource")
                && !self.by_type.contains_key(base.as_str())
        });
        match unknown {
            Some(base) => Err(SearchParamError::UnknownBase {
                url: param.url.clone(),
                base: crate::fhir::truncate(base),
            }),
            None => Ok(()),
        }
    }

    /// The parameters that apply to `resource_type` (empty for an unknown type).
    pub fn for_type(&self, resource_type: &str) -> &[TypedParam] {
        self.by_type
            .get(resource_type)
            .map_or(&[], |t| t.list.as_slice())
    }

    /// The parameter `code` of `resource_type`.
    pub fn get(&self, resource_type: &str, code: &str) -> Option<&TypedParam> {
        let params = self.by_type.get(resource_type)?;
        params.by_code.get(code).and_then(|i| params.list.get(*i))
    }

    /// A parameter by its canonical URL.
    pub fn by_url(&self, url: &str) -> Option<&Arc<SearchParam>> {
        self.by_url.get(url)
    }

    fn insert(&mut self, param: SearchParam) -> Result<Arc<SearchParam>, SearchParamError> {
        let mut types = Vec::new();
        for base in &param.base {
            let applies: Vec<String> = match base.as_str() {
                "Resource" => self.model.resource_types().map(str::to_owned).collect(),
                "DomainResource" => self
                    .model
                    .resource_types()
                    .filter(|t| {
                        self.model
                            .id(t)
                            .is_some_and(|id| self.model.is_a(id, "DomainResource"))
                    })
                    .map(str::to_owned)
                    .collect(),
                other if self.by_type.contains_key(other) => vec![other.to_owned()],
                other => {
                    return Err(SearchParamError::UnknownBase {
                        url: param.url.clone(),
                        base: other.to_owned(),
                    })
                }
            };
            types.extend(applies);
        }
        let param = Arc::new(param);
        if let Some(old) = self.by_url.insert(param.url.clone(), param.clone()) {
            self.remove_from_types(&old);
        }
        for ty in types {
            let expression = param
                .expression
                .as_ref()
                .map(|e| e.specialize(self.model, &ty));
            let Some(entry) = self.by_type.get_mut(&ty) else {
                continue;
            };
            let typed = TypedParam {
                param: param.clone(),
                expression,
            };
            match entry.by_code.get(&param.code) {
                Some(&i) => entry.list[i] = typed,
                None => {
                    entry.by_code.insert(param.code.clone(), entry.list.len());
                    entry.list.push(typed);
                }
            }
        }
        Ok(param)
    }

    fn remove_from_types(&mut self, old: &SearchParam) {
        for entry in self.by_type.values_mut() {
            let before = entry.list.len();
            entry.list.retain(|p| p.param.url != old.url);
            if entry.list.len() != before {
                entry.by_code = entry
                    .list
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.param.code.clone(), i))
                    .collect();
            }
        }
    }
}

/// Reads a SearchParameter resource.
fn parse_definition(resource: &Value) -> Result<SearchParam, SearchParamError> {
    let url = str_field(resource, "url").unwrap_or_default().to_owned();
    let invalid = |field| SearchParamError::Invalid {
        url: url.clone(),
        field,
    };
    if resource.get("resourceType").and_then(Value::as_str) != Some("SearchParameter") {
        return Err(invalid("resourceType"));
    }
    if url.is_empty() {
        return Err(invalid("url"));
    }
    let code = str_field(resource, "code").ok_or_else(|| invalid("code"))?;
    let param_type = str_field(resource, "type")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| invalid("type"))?;
    let base = str_list(resource, "base");
    if base.is_empty() {
        return Err(invalid("base"));
    }
    let parse = |src: &str| {
        Expression::parse(src).map_err(|source| SearchParamError::Expression {
            url: url.clone(),
            expression: crate::fhir::truncate(src),
            source,
        })
    };
    let expression = str_field(resource, "expression").map(parse).transpose()?;
    let mut components = Vec::new();
    for c in resource
        .get("component")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let definition =
            str_field(c, "definition").ok_or_else(|| invalid("component.definition"))?;
        let expression =
            str_field(c, "expression").ok_or_else(|| invalid("component.expression"))?;
        components.push(Component {
            definition: definition.to_owned(),
            expression: parse(expression)?,
            param_type: None,
        });
    }
    Ok(SearchParam {
        code: code.to_owned(),
        param_type,
        base,
        expression,
        targets: str_list(resource, "target"),
        modifiers: str_list(resource, "modifier"),
        comparators: str_list(resource, "comparator"),
        components,
        url,
    })
}

fn str_field<'v>(v: &'v Value, name: &str) -> Option<&'v str> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn str_list(v: &Value, name: &str) -> Vec<String> {
    v.get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
