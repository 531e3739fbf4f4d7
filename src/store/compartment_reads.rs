//! Reading only part of many patients' compartments: the resource types a caller names, and
//! for some types only resources carrying given token codes. Codes are matched on the
//! (covering) token index first, so bodies are read and parsed only for resources that match.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::reads::Reader;
use super::sql::{Bind, Statement};
use super::StoreError;
use crate::fhir::ResourceType;

/// What to read of each patient's compartment: only these types.
#[derive(Debug, Clone)]
pub struct CompartmentRead {
    pub types: Vec<TypeRead>,
}

/// One resource type to read; with `token`, only resources whose token search parameter
/// (by code) has one of these values, or that have no value for it at all (its code may
/// sit behind a reference, e.g. `MedicationRequest.medicationReference`).
#[derive(Debug, Clone)]
pub struct TypeRead {
    pub resource_type: ResourceType,
    pub token: Option<(&'static str, HashSet<String>)>,
}

/// Patients (or resource ids) per statement: keeps it far below both bind limits.
const PER_QUERY: usize = 500;

pub(super) async fn compartments(
    pool: &impl Reader,
    body: &str,
    patient_ids: &[String],
    read: &CompartmentRead,
) -> Result<Vec<(String, Value)>, StoreError> {
    let whole: Vec<&str> = read
        .types
        .iter()
        .filter(|t| t.token.is_none())
        .map(|t| t.resource_type.as_str())
        .collect();
    let mut resources = Vec::new();
    for chunk in patient_ids.chunks(PER_QUERY) {
        if !whole.is_empty() {
            let mut statement = Statement::new(&format!(
                "SELECT r.patient, {body} FROM resource r JOIN resource_version v \
                 ON v.seq = r.seq WHERE NOT r.deleted AND r.res_type IN ("
            ));
            list(&mut statement, whole.iter().copied());
            statement.push(") AND r.patient IN (");
            list(&mut statement, chunk.iter().map(String::as_str));
            statement.push(")");
            parse_into(pool.rows(&statement).await?, &mut resources)?;
        }
        for t in &read.types {
            if let Some((param, codes)) = &t.token {
                let ids = matching_ids(pool, t.resource_type, param, codes, chunk).await?;
                bodies(pool, body, t.resource_type, &ids, &mut resources).await?;
            }
        }
    }
    Ok(resources)
}

/// Ids of the type's resources in these compartments with a `param` code in `codes`, or none.
async fn matching_ids(
    pool: &impl Reader,
    resource_type: ResourceType,
    param: &str,
    codes: &HashSet<String>,
    patients: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut statement = Statement::new(
        "SELECT r.res_id, t.value FROM resource r LEFT JOIN idx_token t \
         ON t.res_type = r.res_type AND t.res_id = r.res_id AND t.code = ",
    );
    statement
        .bind(Bind::Text(param))
        .push(" WHERE NOT r.deleted AND r.res_type = ");
    statement
        .bind(Bind::Text(resource_type.as_str()))
        .push(" AND r.patient IN (");
    list(&mut statement, patients.iter().map(String::as_str));
    statement.push(")");
    let rows: Vec<(String, Option<String>)> = pool.rows(&statement).await?;
    // Per resource: whether a code matched, whether it has any code (a row may carry only
    // `CodeableConcept.text`, or there may be no row at all).
    let mut seen: HashMap<String, (bool, bool)> = HashMap::new();
    for (id, value) in rows {
        let entry = seen.entry(id).or_default();
        if let Some(value) = value {
            entry.0 |= codes.contains(&value);
            entry.1 = true;
        }
    }
    let mut ids: Vec<String> = seen
        .into_iter()
        .filter(|(_, (matched, coded))| *matched || !*coded)
        .map(|(id, _)| id)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

async fn bodies(
    pool: &impl Reader,
    body: &str,
    resource_type: ResourceType,
    ids: &[String],
    out: &mut Vec<(String, Value)>,
) -> Result<(), StoreError> {
    for chunk in ids.chunks(PER_QUERY) {
        let mut statement = Statement::new(&format!(
            "SELECT r.patient, {body} FROM resource r JOIN resource_version v \
             ON v.seq = r.seq WHERE NOT r.deleted AND r.res_type = "
        ));
        statement
            .bind(Bind::Text(resource_type.as_str()))
            .push(" AND r.res_id IN (");
        list(&mut statement, chunk.iter().map(String::as_str));
        statement.push(")");
        parse_into(pool.rows(&statement).await?, out)?;
    }
    Ok(())
}

fn list<'a>(statement: &mut Statement<'a>, items: impl Iterator<Item = &'a str>) {
    for (n, item) in items.enumerate() {
        if n > 0 {
            statement.push(", ");
        }
        statement.bind(Bind::Text(item));
    }
}

fn parse_into(
    rows: Vec<(String, String)>,
    out: &mut Vec<(String, Value)>,
) -> Result<(), StoreError> {
    for (patient, text) in rows {
        let resource =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        out.push((patient, resource));
    }
    Ok(())
}
