//! Shaping generated resources as sources send them: transaction Bundles whose entries refer to
//! each other by `urn:uuid:` fullUrl, or one final version per resource for NDJSON.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{Batch, PatientOutput};

/// `Type/id` of a resource.
fn key(resource: &Value) -> Option<String> {
    let resource_type = resource.get("resourceType")?.as_str()?;
    let id = resource.get("id")?.as_str()?;
    Some(format!("{resource_type}/{id}"))
}

/// A transaction Bundle that PUTs each resource at its id (so reloading is idempotent) and
/// points references between its entries at their `urn:uuid:` fullUrls, as EHR pushes do.
pub(crate) fn transaction<'a>(resources: impl Iterator<Item = &'a Value>) -> Value {
    let resources: Vec<&Value> = resources.collect();
    let local: HashMap<String, String> = resources
        .iter()
        .filter_map(|r| {
            let key = key(r)?;
            let id = r.get("id")?.as_str()?.to_owned();
            Some((key, format!("urn:uuid:{id}")))
        })
        .collect();
    let entries: Vec<Value> = resources
        .iter()
        .filter_map(|resource| {
            let key = key(resource)?;
            let full_url = local.get(&key)?.clone();
            let mut resource = (*resource).clone();
            point_at_entries(&mut resource, &local);
            Some(json!({
                "fullUrl": full_url,
                "resource": resource,
                "request": {"method": "PUT", "url": key},
            }))
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// Rewrites every `reference` naming a resource of the same Bundle to that entry's fullUrl.
fn point_at_entries(value: &mut Value, local: &HashMap<String, String>) {
    match value {
        Value::Object(object) => {
            for (name, child) in object.iter_mut() {
                if name == "reference" {
                    if let Some(full_url) = child.as_str().and_then(|r| local.get(r)) {
                        *child = Value::String(full_url.clone());
                    }
                } else {
                    point_at_entries(child, local);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                point_at_entries(item, local);
            }
        }
        _ => {}
    }
}

impl Batch {
    /// This batch as the source's transaction Bundle.
    pub fn to_bundle(&self) -> Value {
        transaction(self.resources.iter())
    }
}

impl PatientOutput {
    /// One transaction Bundle per batch, in sending order.
    pub fn bundles(&self) -> impl Iterator<Item = Value> + '_ {
        self.batches.iter().map(Batch::to_bundle)
    }

    /// Each resource once, in its final version (a Task updated three times appears as its last
    /// state), in order of first appearance: what a Bulk Data export of the sources would hold.
    pub fn latest_resources(&self) -> Vec<&Value> {
        let mut order: Vec<&Value> = Vec::new();
        let mut position: HashMap<String, usize> = HashMap::new();
        for resource in self.batches.iter().flat_map(|b| b.resources.iter()) {
            let Some(key) = key(resource) else {
                continue;
            };
            match position.get(&key) {
                Some(&at) => {
                    if let Some(slot) = order.get_mut(at) {
                        *slot = resource;
                    }
                }
                None => {
                    position.insert(key, order.len());
                    order.push(resource);
                }
            }
        }
        order
    }
}
