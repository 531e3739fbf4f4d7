//! The `hearth measure load` and `hearth measure eval` commands, as library functions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::population::{ReportType, Subjects};
use super::service::{EvaluateRequest, MeasureRef, MeasureService, ServiceError};
use super::{Json, Period};
use crate::fhir::Id;
use crate::record::{Checks, RecordError, Records};
use crate::store::{ResourceStore, StoreError};
use crate::validate::Validator;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("{0} is not a FHIR resource with a type and an id")]
    NotAResource(PathBuf),
    #[error("{0}: {1}")]
    Rejected(PathBuf, #[source] RecordError),
    #[error("cannot load the FHIR definitions: {0}")]
    Setup(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Stores the measures/, libraries/ and valuesets/ of `dir` (one resource per JSON file),
/// each written as an update so loading twice is harmless. Returns how many were stored.
pub async fn load(store: Arc<dyn ResourceStore>, dir: &Path) -> Result<usize, CommandError> {
    let validator = Validator::load().map_err(|e| CommandError::Setup(e.to_string()))?;
    let checks = Checks::r4(Arc::new(validator)).map_err(|e| CommandError::Setup(e.to_string()))?;
    let records = Records::new(store, Arc::new(checks));
    let mut stored = 0;
    for folder in ["valuesets", "libraries", "measures"] {
        let folder = dir.join(folder);
        if !folder.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map_err(|e| CommandError::Io(folder.clone(), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files {
            let text =
                std::fs::read_to_string(&file).map_err(|e| CommandError::Io(file.clone(), e))?;
            let resource: Json = serde_json::from_str(&text)
                .map_err(|_| CommandError::NotAResource(file.clone()))?;
            let resource_type = resource
                .get("resourceType")
                .and_then(Json::as_str)
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| CommandError::NotAResource(file.clone()))?;
            let id = resource
                .get("id")
                .and_then(Json::as_str)
                .and_then(|id| Id::parse(id).ok())
                .ok_or_else(|| CommandError::NotAResource(file.clone()))?;
            records
                .update(resource_type, id, resource, None)
                .await
                .map_err(|e| CommandError::Rejected(file.clone(), e))?;
            stored += 1;
        }
    }
    Ok(stored)
}

/// What `hearth measure eval` asks for.
pub struct EvalArgs {
    /// A canonical url (`url` or `url|version`) or a Measure id.
    pub measure: String,
    pub period_start: String,
    pub period_end: String,
    /// `Patient/x`, `Group/x` or none for every patient.
    pub subject: Option<String>,
    /// A file holding a Parameters resource of CQL parameter values.
    pub parameters: Option<PathBuf>,
}

/// Evaluates a stored measure and returns its MeasureReport: individual for one Patient,
/// summary otherwise; `progress` hears how many patients are done.
pub async fn eval(
    store: Arc<dyn ResourceStore>,
    args: EvalArgs,
    progress: Option<super::population::Progress<'_>>,
) -> Result<Json, CommandError> {
    let measure = if args.measure.contains(':') {
        MeasureRef::Url(args.measure)
    } else {
        MeasureRef::Id(args.measure)
    };
    let period = Period::parse(&args.period_start, &args.period_end)
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    let subjects = match args.subject.as_deref().map(|s| s.split_once('/')) {
        None => Subjects::All,
        Some(Some(("Patient", id))) => Subjects::Patient(id.to_owned()),
        Some(Some(("Group", id))) => Subjects::Group(id.to_owned()),
        Some(_) => {
            return Err(ServiceError::BadRequest(
                "--subject must be Patient/[id] or Group/[id]".into(),
            )
            .into())
        }
    };
    let report_type = if matches!(subjects, Subjects::Patient(_)) {
        ReportType::Subject
    } else {
        ReportType::Population
    };
    let parameters = match &args.parameters {
        Some(file) => {
            let text =
                std::fs::read_to_string(file).map_err(|e| CommandError::Io(file.clone(), e))?;
            Some(serde_json::from_str(&text).map_err(|e| {
                ServiceError::BadRequest(format!("{} is not JSON: {e}", file.display()))
            })?)
        }
        None => None,
    };
    let service = MeasureService::new(store);
    let request = EvaluateRequest {
        measure,
        period,
        report_type,
        subjects,
        last_received_on: None,
        parameters,
    };
    Ok(service.evaluate_with_progress(request, progress).await?)
}
