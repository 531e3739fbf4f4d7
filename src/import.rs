//! `hearth import`: loads NDJSON files (one resource per line, the Bulk Data shape) straight
//! into the store in large transactions. Every resource passes the same validation, compartment
//! placement and indexing as a REST write; large transactions only make the store's work per
//! resource smaller (shared index pages are written once per batch, not once per resource).
//!
//! Resources with an id keep it (an update, so a re-import is idempotent and files can come in
//! any order); resources without one get a server id. A resource the server refuses is reported
//! by file and line, never by content, and the rest of its batch is stored without it.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::record::{RecordError, Records};

/// Where a resource came from, for error reports.
#[derive(Clone, Debug)]
struct Origin {
    file: usize,
    line: usize,
}

/// How an import runs.
#[derive(Clone, Debug)]
pub struct ImportSettings {
    /// Resources per transaction.
    pub batch: usize,
    /// Transactions in flight at once.
    pub concurrency: usize,
    /// The base URL the server runs with: absolute references to it are indexed as local.
    pub base_url: Option<String>,
    /// Into a store that has never held a resource, drop the indexes over random ids for the
    /// load and build them at its end.
    pub defer_indexes: bool,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub stored: u64,
    /// Indexes dropped for the load and built after it, and how long building them took.
    pub deferred_indexes: usize,
    pub index_build: Duration,
    /// `file:line: reason` of every refused resource, in file and line order.
    pub refused: Vec<String>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the store failed: {0}")]
    Store(RecordError),
}

/// The `.ndjson` files named, with directories expanded (sorted, not recursive).
pub fn ndjson_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ImportError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| ImportError::Read {
                path: path.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Imports every line of `files`, in transactions of `settings.batch` resources. `progress` is
/// told the running count of stored resources.
pub async fn import(
    records: &Records,
    files: &[PathBuf],
    settings: &ImportSettings,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let batch = settings.batch.max(1);
    let concurrency = settings.concurrency.max(1);
    let mut summary = ImportSummary::default();
    let mut refused: Vec<(Origin, String)> = Vec::new();
    let mut pending: Vec<(Origin, Value)> = Vec::with_capacity(batch);
    let mut in_flight = tokio::task::JoinSet::new();
    for (file_number, path) in files.iter().enumerate() {
        let reader = std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .map_err(|source| ImportError::Read {
                path: path.clone(),
                source,
            })?;
        for (line_number, line) in reader.lines().enumerate() {
            let line = line.map_err(|source| ImportError::Read {
                path: path.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let origin = Origin {
                file: file_number,
                line: line_number + 1,
            };
            match serde_json::from_str::<Value>(&line) {
                Ok(resource) if resource.get("resourceType").is_some_and(Value::is_string) => {
                    pending.push((origin, resource))
                }
                Ok(_) => refused.push((origin, "not a FHIR resource: no resourceType".into())),
                Err(error) => refused.push((origin, format!("not JSON ({error})"))),
            }
            if pending.len() == batch {
                if in_flight.len() == concurrency {
                    collect(next(&mut in_flight).await, &mut summary, &mut refused)?;
                    progress(summary.stored);
                }
                in_flight.spawn(store_batch(records.clone(), std::mem::take(&mut pending)));
            }
        }
    }
    if !pending.is_empty() {
        in_flight.spawn(store_batch(records.clone(), pending));
    }
    while !in_flight.is_empty() {
        collect(next(&mut in_flight).await, &mut summary, &mut refused)?;
        progress(summary.stored);
    }
    refused.sort_by_key(|(origin, _)| (origin.file, origin.line));
    summary.refused = refused
        .into_iter()
        .map(|(origin, reason)| {
            let file = files
                .get(origin.file)
                .map_or(Path::new("?"), |p| p.as_path());
            format!("{}:{}: {reason}", file.display(), origin.line)
        })
        .collect();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

type BatchResult = Result<(u64, Vec<(Origin, String)>), RecordError>;

async fn next(in_flight: &mut tokio::task::JoinSet<BatchResult>) -> BatchResult {
    match in_flight.join_next().await {
        Some(Ok(done)) => done,
        Some(Err(_)) => Err(RecordError::Internal("an import batch failed".into())),
        None => Ok((0, Vec::new())),
    }
}

fn collect(
    done: BatchResult,
    summary: &mut ImportSummary,
    refused: &mut Vec<(Origin, String)>,
) -> Result<(), ImportError> {
    let (stored, mut batch_refused) = done.map_err(ImportError::Store)?;
    summary.stored += stored;
    refused.append(&mut batch_refused);
    Ok(())
}

/// Stores a batch as one transaction; an entry the server refuses is set aside with its reason
/// and the transaction retried without it.
async fn store_batch(records: Records, mut batch: Vec<(Origin, Value)>) -> BatchResult {
    let mut refused = Vec::new();
    while !batch.is_empty() {
        let bundle = transaction(&batch);
        match records.bundle(bundle).await {
            Ok(_) => return Ok((batch.len() as u64, refused)),
            Err(RecordError::InEntry { index, source }) if index < batch.len() => {
                let (origin, _) = batch.remove(index);
                refused.push((origin, reason(&source)));
            }
            Err(error @ (RecordError::Store(_) | RecordError::Internal(_))) => return Err(error),
            // A refusal not tied to one entry cannot be narrowed down: refuse the batch.
            Err(error) => {
                let why = reason(&error);
                refused.extend(batch.drain(..).map(|(origin, _)| (origin, why.clone())));
            }
        }
    }
    Ok((0, refused))
}

/// Why a resource was refused, with the location of each issue (`Patient.birthDate: …`).
fn reason(error: &RecordError) -> String {
    match error {
        RecordError::Invalid(issues) | RecordError::Unprocessable(issues) => issues
            .iter()
            .map(|issue| match issue.expression.first() {
                Some(at) => format!("{at}: {}", issue.diagnostics),
                None => issue.diagnostics.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn transaction(batch: &[(Origin, Value)]) -> Value {
    let entries: Vec<Value> = batch
        .iter()
        .map(|(_, resource)| {
            let resource_type = resource.get("resourceType").and_then(Value::as_str);
            let id = resource.get("id").and_then(Value::as_str);
            let request = match (resource_type, id) {
                (Some(t), Some(id)) => json!({ "method": "PUT", "url": format!("{t}/{id}") }),
                (t, _) => json!({ "method": "POST", "url": t.unwrap_or_default() }),
            };
            json!({ "resource": resource, "request": request })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
}
