//! Operation parameters from the query string (GET) or a Parameters body (POST), as
//! name/value text pairs (and, from a body, resource-valued parameters): the
//! operation files read them by name.

use serde_json::Value;

use crate::api::ApiError;

#[derive(Debug, Default)]
pub struct OperationParams {
    values: Vec<(String, String)>,
    /// Parameters given as `resource` (only in a POST body).
    resources: Vec<(String, Value)>,
}

impl OperationParams {
    pub fn from_query(query: Option<&str>) -> OperationParams {
        OperationParams {
            values: url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            resources: Vec::new(),
        }
    }

    /// Adds the parameters of a Parameters resource: primitive values, references and
    /// resources.
    pub fn add_body(&mut self, body: &Value) -> Result<(), ApiError> {
        if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
            return Err(ApiError::BadRequest(
                "the body of an operation must be a Parameters resource".into(),
            ));
        }
        for parameter in body
            .get("parameter")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = parameter.get("name").and_then(Value::as_str) else {
                continue;
            };
            if let Some(resource) = parameter.get("resource") {
                self.resources.push((name.to_owned(), resource.clone()));
                continue;
            }
            let value = parameter
                .as_object()
                .into_iter()
                .flatten()
                .find(|(k, _)| k.starts_with("value"))
                .and_then(|(_, v)| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Bool(b) => Some(b.to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Object(o) => o
                        .get("reference")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    _ => None,
                });
            if let Some(value) = value {
                self.values.push((name.to_owned(), value));
            }
        }
        Ok(())
    }

    /// The one value of a parameter; 400 when it is given more than once.
    pub fn one<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, ApiError> {
        let mut values = self.all(name);
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => Err(ApiError::BadRequest(format!(
                "the parameter '{name}' may be given only once"
            ))),
            (value, _) => Ok(value),
        }
    }

    pub fn required<'a>(&'a self, name: &'a str) -> Result<&'a str, ApiError> {
        self.one(name)?
            .ok_or_else(|| ApiError::BadRequest(format!("the parameter '{name}' is required")))
    }

    /// The one resource given as parameter `name`; 400 when it is given more than once.
    pub fn resource(&self, name: &str) -> Result<Option<&Value>, ApiError> {
        let mut found = self.resources.iter().filter(|(k, _)| k == name);
        match (found.next(), found.next()) {
            (Some(_), Some(_)) => Err(ApiError::BadRequest(format!(
                "the parameter '{name}' may be given only once"
            ))),
            (value, _) => Ok(value.map(|(_, r)| r)),
        }
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
