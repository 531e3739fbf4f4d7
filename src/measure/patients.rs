//! Reading patients' data for a measure: a page of patients' compartments (one indexed query) plus
//! the shared resources it references that live outside any compartment (Location,
//! Medication, Practitioner, Organization), fetched once per page of patients.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use super::{Doc, Json, PatientData, PatientRecord};
use crate::fhir::ResourceType;
use crate::store::{CompartmentRead, RawResource, ResourceStore, StoreError, TypeRead};

/// Non-compartment types that measures look up through references.
const REFERENCED: [&str; 5] = [
    "Location",
    "Medication",
    "Practitioner",
    "PractitionerRole",
    "Organization",
];

/// The records of these patients, in order; a patient with no data at all is left out.
/// With `read`, only the types and codes it names are read of each compartment, and each
/// type is parsed when evaluation first retrieves it.
pub async fn load(
    store: &dyn ResourceStore,
    ids: &[String],
    read: Option<&CompartmentRead>,
) -> Result<Vec<PatientRecord>, StoreError> {
    // One query for the whole page, not one per patient.
    let position: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| (id.as_str(), n))
        .collect();
    let records: Vec<PatientRecord> = match read {
        Some(read) => {
            let resources = store.patient_compartments_read(ids, read).await?;
            let placed = resources
                .into_iter()
                .map(|resource| (position.get(resource.patient()).copied(), resource));
            grouped(ids.len(), placed)
                .map(PatientRecord::unparsed)
                .collect()
        }
        None => {
            let resources = store.patient_compartments(ids).await?;
            let placed = resources
                .into_iter()
                .map(|(patient, resource)| (position.get(patient.as_str()).copied(), resource));
            grouped(ids.len(), placed).map(PatientRecord::new).collect()
        }
    };
    add_shared(store, records, read).await
}

/// Completes the records of patients read with `first` (with their ids) to what `full` reads
/// (`None`: whole compartments): the types `first` read exactly as `full` does are kept as
/// they are, parsed or not, and only the others are read.
pub async fn complete(
    store: &dyn ResourceStore,
    kept: Vec<(String, PatientRecord)>,
    first: Option<&CompartmentRead>,
    full: Option<&CompartmentRead>,
) -> Result<Vec<PatientRecord>, StoreError> {
    let ids: Vec<String> = kept.iter().map(|(id, _)| id.clone()).collect();
    let (Some(first), Some(full)) = (first, full) else {
        return load(store, &ids, full).await;
    };
    // Shared types are pushed in after the read: they are read again with the rest.
    let reused: Vec<&str> = full
        .types
        .iter()
        .filter(|t| !REFERENCED.contains(&t.resource_type.as_str()))
        .filter(|t| first.types.iter().any(|f| same_read(f, t)))
        .map(|t| t.resource_type.as_str())
        .collect();
    let rest = CompartmentRead {
        types: full
            .types
            .iter()
            .filter(|t| !reused.contains(&t.resource_type.as_str()))
            .cloned()
            .collect(),
    };
    let mut fresh: Vec<Vec<RawResource>> = ids.iter().map(|_| Vec::new()).collect();
    if !rest.types.is_empty() {
        let position: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| (id.as_str(), n))
            .collect();
        for resource in store.patient_compartments_read(&ids, &rest).await? {
            if let Some(list) = position
                .get(resource.patient())
                .and_then(|&n| fresh.get_mut(n))
            {
                list.push(resource);
            }
        }
    }
    let records = kept
        .into_iter()
        .zip(fresh)
        .map(|((_, mut earlier), resources)| {
            let mut record = PatientRecord::unparsed(resources);
            record.adopt(&mut earlier, &reused);
            record
        })
        .collect();
    add_shared(store, records, Some(full)).await
}

/// Whether two reads of a type keep the same resources.
fn same_read(a: &TypeRead, b: &TypeRead) -> bool {
    a.resource_type == b.resource_type
        && a.dates == b.dates
        && match (&a.codes, &b.codes) {
            (None, None) => true,
            (Some(x), Some(y)) => {
                Arc::ptr_eq(x, y) || (x.element == y.element && x.codes == y.codes)
            }
            _ => false,
        }
}

/// Adds the shared resources the records reference to them, fetched once for all.
async fn add_shared(
    store: &dyn ResourceStore,
    mut records: Vec<PatientRecord>,
    read: Option<&CompartmentRead>,
) -> Result<Vec<PatientRecord>, StoreError> {
    // Shared resources reach the engine only through retrieves of their type: a narrowed
    // read that retrieves none of these types needs none, and its resources are not walked.
    let referenced: Vec<&str> = REFERENCED
        .into_iter()
        .filter(|t| {
            read.is_none_or(|read| read.types.iter().any(|r| r.resource_type.as_str() == *t))
        })
        .collect();
    if referenced.is_empty() {
        return Ok(records);
    }
    let mut wanted: BTreeMap<ResourceType, BTreeSet<String>> = BTreeMap::new();
    let mut per_patient: Vec<Vec<(ResourceType, String)>> = Vec::with_capacity(records.len());
    for record in &records {
        let mut refs = Vec::new();
        for r in record.all() {
            collect_refs(r, &referenced, &mut refs);
        }
        if let Some(why) = record.corrupt() {
            return Err(StoreError::Corrupt(why.to_owned()));
        }
        refs.sort();
        refs.dedup();
        for (t, id) in &refs {
            wanted.entry(*t).or_default().insert(id.clone());
        }
        per_patient.push(refs);
    }
    let mut shared: HashMap<(ResourceType, String), Doc> = HashMap::new();
    for (resource_type, ids) in wanted {
        let ids: Vec<String> = ids.into_iter().collect();
        for r in store.read_many(resource_type, &ids).await? {
            if let Some(id) = r.get("id").and_then(Json::as_str) {
                shared.insert((resource_type, id.to_owned()), Doc::from(&r));
            }
        }
    }
    for (record, refs) in records.iter_mut().zip(per_patient) {
        for key in refs {
            if let Some(r) = shared.get(&key) {
                record.push(r.clone());
            }
        }
    }
    Ok(records)
}

/// `Type/id` references to the shared types, anywhere in a resource.
fn collect_refs(json: &Doc, types: &[&str], out: &mut Vec<(ResourceType, String)>) {
    match json {
        Doc::Object(fields) => {
            for (key, value) in fields.iter() {
                if let (true, Some(reference)) = (key == "reference", value.as_str()) {
                    if let Some((t, id)) = reference.split_once('/') {
                        if types.contains(&t) && !id.contains('/') {
                            if let Ok(t) = t.parse::<ResourceType>() {
                                out.push((t, id.to_owned()));
                            }
                        }
                    }
                } else {
                    collect_refs(value, types, out);
                }
            }
        }
        Doc::Array(items) => items.iter().for_each(|item| collect_refs(item, types, out)),
        _ => {}
    }
}

/// Whether the patient's `generalPractitioner` names this practitioner.
pub fn has_practitioner(record: &PatientRecord, practitioner: &str) -> bool {
    let wanted = practitioner.trim_start_matches("Practitioner/");
    record.resources("Patient").iter().any(|p| {
        p.get("generalPractitioner")
            .and_then(Doc::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("reference").and_then(Doc::as_str))
            .any(|r| r.trim_start_matches("Practitioner/") == wanted)
    })
}

/// Whether a Patient resource references `Type/id` in the element `key`
/// (`generalPractitioner` or `managingOrganization`, a list or a single Reference).
pub fn references(patient: &Json, key: &str, target: &str) -> bool {
    let wanted = target.rsplit('/').next().unwrap_or(target);
    let ty = match key {
        "managingOrganization" => "Organization",
        _ => "Practitioner",
    };
    let refs: Vec<&Json> = match patient.get(key) {
        Some(Json::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    refs.iter()
        .filter_map(|r| r.get("reference").and_then(Json::as_str))
        .any(|r| {
            let mut parts = r.split("/_history/").next().unwrap_or(r).rsplit('/');
            parts.next() == Some(wanted) && parts.next().is_none_or(|t| t == ty)
        })
}

/// Ids of the stored Patients matching every given filter (`generalPractitioner`
/// and `managingOrganization` references), read a page at a time.
pub async fn patients_where(
    store: &dyn ResourceStore,
    filters: &[(&str, &str)],
    page: u32,
) -> Result<Vec<String>, StoreError> {
    let Ok(patient_type) = "Patient".parse::<ResourceType>() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let ids = store.list_ids(patient_type, after.as_deref(), page).await?;
        let done = ids.len() < page as usize;
        after = ids.last().cloned();
        for p in store.read_many(patient_type, &ids).await? {
            if filters
                .iter()
                .all(|(key, target)| references(&p, key, target))
            {
                if let Some(id) = p.get("id").and_then(Json::as_str) {
                    out.push(id.to_owned());
                }
            }
        }
        if done {
            break;
        }
    }
    out.sort();
    Ok(out)
}

/// A record that remembers which resource types the measure retrieved, so an individual
/// report can list the resources it evaluated.
pub struct Recording<'a> {
    inner: &'a PatientRecord,
    seen: Mutex<BTreeSet<String>>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a PatientRecord) -> Recording<'a> {
        Recording {
            inner,
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// References to every resource of every type the measure retrieved.
    pub fn evaluated(&self) -> Vec<Json> {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        seen.iter()
            .flat_map(|t| self.inner.resources(t))
            .filter_map(|r| {
                let t = r.get("resourceType").and_then(Doc::as_str)?;
                let id = r.get("id").and_then(Doc::as_str)?;
                Some(serde_json::json!({ "reference": format!("{t}/{id}") }))
            })
            .collect()
    }
}

impl PatientData for Recording<'_> {
    fn resources(&self, resource_type: &str) -> &[Doc] {
        if let Ok(mut seen) = self.seen.lock() {
            if !seen.contains(resource_type) {
                seen.insert(resource_type.to_owned());
            }
        }
        self.inner.resources(resource_type)
    }
}

/// Resources placed by patient position, as one list per patient that has any, in id order.
fn grouped<T>(
    patients: usize,
    placed: impl Iterator<Item = (Option<usize>, T)>,
) -> impl Iterator<Item = Vec<T>> {
    let mut compartments: Vec<Vec<T>> = (0..patients).map(|_| Vec::new()).collect();
    for (position, resource) in placed {
        if let Some(list) = position.and_then(|n| compartments.get_mut(n)) {
            list.push(resource);
        }
    }
    compartments
        .into_iter()
        .filter(|resources| !resources.is_empty())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use serde_json::json;

    use super::{same_read, PatientData, PatientRecord, TypeRead};
    use crate::store::CodeFilter;

    fn read(ty: &str, codes: Option<&[&str]>) -> TypeRead {
        TypeRead {
            resource_type: ty.parse().unwrap(),
            codes: codes.map(|c| {
                Arc::new(CodeFilter {
                    element: "code",
                    codes: c.iter().map(|s| (*s).to_owned()).collect::<HashSet<_>>(),
                })
            }),
            dates: None,
        }
    }

    #[test]
    fn reads_are_alike_only_with_the_same_type_and_codes() {
        assert!(same_read(
            &read("Encounter", None),
            &read("Encounter", None)
        ));
        let a = read("Condition", Some(&["1", "2"]));
        assert!(same_read(&a, &read("Condition", Some(&["2", "1"]))));
        assert!(!same_read(&a, &read("Condition", Some(&["1"]))));
        assert!(!same_read(&a, &read("Condition", None)));
        assert!(!same_read(&a, &read("Observation", Some(&["1", "2"]))));
    }

    #[test]
    fn a_completed_record_adopts_the_types_read_alike() {
        let mut earlier = PatientRecord::new([
            json!({"resourceType": "Patient", "id": "p"}),
            json!({"resourceType": "Encounter", "id": "e-first"}),
        ]);
        let mut record = PatientRecord::new([
            json!({"resourceType": "Encounter", "id": "e-full"}),
            json!({"resourceType": "Observation", "id": "o"}),
        ]);
        record.adopt(&mut earlier, &["Patient", "Encounter"]);
        let ids = |r: &PatientRecord, t: &str| -> Vec<String> {
            r.resources(t)
                .iter()
                .filter_map(|x| x["id"].as_str().map(str::to_owned))
                .collect()
        };
        assert_eq!(ids(&record, "Patient"), ["p"]);
        // A type the record read itself stays as read.
        assert_eq!(ids(&record, "Encounter"), ["e-full"]);
        assert_eq!(ids(&record, "Observation"), ["o"]);
        assert!(ids(&earlier, "Patient").is_empty());
    }
}
