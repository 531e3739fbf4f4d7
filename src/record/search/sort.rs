//! `_sort=a,-b`: sort keys over the resource table (`_id`, `_lastUpdated`) or a parameter's
//! index column.

use super::parse::short;
use crate::fhir::search_params::{ParamType, SearchParamRegistry};
use crate::fhir::{IssueType, ResourceType};
use crate::record::RecordError;
use crate::store::{SortBy, SortKey, SqlValue};

/// `_sort=a,-b` on one type: keys in order, `-` for descending. Parameters sort by their index
/// column.
pub(super) fn sort(
    registry: &SearchParamRegistry,
    resource_type: ResourceType,
    value: &str,
) -> Result<Vec<SortKey>, RecordError> {
    let kind = |name: &str| {
        registry
            .get(resource_type.as_str(), name)
            .map(|p| p.param.param_type)
    };
    keys(value, kind, &resource_type.to_string())
}

/// `_sort` across `types` (every type when empty): besides `_id` and `_lastUpdated`, only a
/// parameter every type shares (the same definition), so one index column orders them all.
pub(super) fn system_sort(
    registry: &SearchParamRegistry,
    types: &[ResourceType],
    value: &str,
) -> Result<Vec<SortKey>, RecordError> {
    let all: Vec<ResourceType> = if types.is_empty() {
        ResourceType::all().collect()
    } else {
        types.to_vec()
    };
    let kind = |name: &str| {
        let first = registry.get(all.first()?.as_str(), name)?;
        all.iter()
            .all(|t| {
                registry
                    .get(t.as_str(), name)
                    .is_some_and(|p| p.param.url == first.param.url)
            })
            .then_some(first.param.param_type)
    };
    keys(value, kind, "every type searched")
}

fn keys(
    value: &str,
    kind_of: impl Fn(&str) -> Option<ParamType>,
    on: &str,
) -> Result<Vec<SortKey>, RecordError> {
    let mut keys = Vec::new();
    for part in value.split(',').filter(|p| !p.is_empty()) {
        let (descending, name) = match part.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, part),
        };
        let by = match name {
            "_id" => SortBy::Id,
            "_lastUpdated" => SortBy::LastUpdated,
            _ => {
                let kind = kind_of(name);
                // Resources without a value sort last in either direction.
                let text = || {
                    SqlValue::Text(if descending {
                        String::new()
                    } else {
                        char::MAX.to_string()
                    })
                };
                let int = || SqlValue::Int(if descending { i64::MIN } else { i64::MAX });
                let float = || SqlValue::Float(if descending { f64::MIN } else { f64::MAX });
                let (table, column, missing) = match kind {
                    Some(ParamType::Date) if descending => ("idx_date", "high", int()),
                    Some(ParamType::Date) => ("idx_date", "low", int()),
                    Some(ParamType::String) => ("idx_string", "norm", text()),
                    Some(ParamType::Token) => ("idx_token", "value", text()),
                    Some(ParamType::Reference) => ("idx_reference", "target_id", text()),
                    Some(ParamType::Uri) => ("idx_uri", "uri", text()),
                    Some(ParamType::Number) => ("idx_number", "value", float()),
                    Some(ParamType::Quantity) => ("idx_quantity", "value", float()),
                    _ => {
                        return Err(RecordError::invalid(
                            IssueType::NotSupported,
                            format!("cannot sort {on} by '{}'", short(name)),
                            None,
                        ))
                    }
                };
                SortBy::Index {
                    table,
                    column,
                    code: name.to_owned(),
                    missing,
                }
            }
        };
        keys.push(SortKey { by, descending });
    }
    Ok(keys)
}
