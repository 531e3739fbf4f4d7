//! Measures over the store: the engine is built from the stored Measure, Library and ValueSet
//! resources, compiled measures are cached by url|version, and both are dropped as soon as any
//! of those resources changes (the store's change marker, so every replica notices).

use std::sync::{Arc, Mutex};

use moka::sync::Cache;

use super::population::{self, Progress, ReportType, Subjects};
use super::{Bindings, CompiledMeasure, Engine, Json, MeasureError, Period};
use crate::fhir::{Id, ResourceType};
use crate::store::{ResourceStore, StoreError};

/// The resource types measure content is made of.
const CONTENT_TYPES: [&str; 3] = ["Measure", "Library", "ValueSet"];

/// A resource type named by a constant in this module.
pub(crate) fn resource_type(name: &str) -> Result<ResourceType, ServiceError> {
    name.parse()
        .map_err(|_| ServiceError::BadRequest(format!("{name} is not an R4 resource type")))
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the measure cannot be evaluated: {0}")]
    Measure(#[from] MeasureError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the evaluation was interrupted")]
    Interrupted,
}

/// How a request names its measure.
#[derive(Debug, Clone)]
pub enum MeasureRef {
    /// `Measure/[id]`.
    Id(String),
    /// A canonical url, optionally `url|version`.
    Url(String),
}

/// `$evaluate-measure` parameters, parsed.
#[derive(Debug, Clone)]
pub struct EvaluateRequest {
    pub measure: MeasureRef,
    pub period: Period,
    pub report_type: ReportType,
    pub subjects: Subjects,
    pub last_received_on: Option<String>,
    /// CQL parameter values: a Parameters resource, checked against the measure.
    pub parameters: Option<Json>,
}

pub struct MeasureService {
    store: Arc<dyn ResourceStore>,
    engine: Mutex<Option<(i64, Arc<Engine>)>>,
    compiled: Cache<String, Arc<CompiledMeasure>>,
}

impl MeasureService {
    pub fn new(store: Arc<dyn ResourceStore>) -> MeasureService {
        MeasureService {
            store,
            engine: Mutex::new(None),
            compiled: Cache::new(64),
        }
    }

    pub fn store(&self) -> &Arc<dyn ResourceStore> {
        &self.store
    }

    /// `$evaluate-measure`: a MeasureReport (individual, subject-list or summary).
    pub async fn evaluate(&self, request: EvaluateRequest) -> Result<Json, ServiceError> {
        self.evaluate_with_progress(request, None).await
    }

    /// `evaluate`, calling `progress` with the number of patients done after each page.
    pub async fn evaluate_with_progress(
        &self,
        request: EvaluateRequest,
        progress: Option<Progress<'_>>,
    ) -> Result<Json, ServiceError> {
        let measure = self.measure(&request.measure).await?;
        let bindings = match &request.parameters {
            Some(p) => measure
                .bind_parameters(p)
                .map_err(ServiceError::BadRequest)?,
            None => Bindings::default(),
        };
        let mut report = population::run(
            &self.store,
            measure,
            request.period,
            bindings,
            request.report_type,
            request.subjects,
            progress,
        )
        .await?;
        if let Some(on) = request.last_received_on {
            let ext = serde_json::json!({
                "url": "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-lastReceivedOn",
                "valueDateTime": on,
            });
            super::report::attach(&mut report, Vec::new(), vec![ext]);
        }
        Ok(report)
    }

    /// The stored Measures of a quality program (`useContext` of type `program`
    /// whose value names it); `None` when no Measure declares any program.
    pub async fn program_measures(
        &self,
        program: &str,
    ) -> Result<Option<Vec<MeasureRef>>, ServiceError> {
        let engine = self.engine().await?;
        let programs = |m: &Json| -> Vec<String> {
            m.get("useContext")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter(|u| u.pointer("/code/code").and_then(Json::as_str) == Some("program"))
                .filter_map(|u| u.get("valueCodeableConcept"))
                .flat_map(|cc| {
                    let mut names: Vec<String> = cc
                        .get("coding")
                        .and_then(Json::as_array)
                        .into_iter()
                        .flatten()
                        .flat_map(|c| ["code", "display"].map(|k| str_at(c, k)))
                        .flatten()
                        .map(str::to_owned)
                        .collect();
                    names.extend(str_at(cc, "text").map(str::to_owned));
                    names
                })
                .collect()
        };
        let mut any = false;
        let mut found = Vec::new();
        for m in engine.measures() {
            let names = programs(m);
            any |= !names.is_empty();
            if names.iter().any(|n| n == program) {
                if let Some(url) = str_at(m, "url") {
                    found.push(MeasureRef::Url(url.to_owned()));
                } else if let Some(id) = str_at(m, "id") {
                    found.push(MeasureRef::Id(id.to_owned()));
                }
            }
        }
        Ok(any.then_some(found))
    }

    /// The compiled measure a request names; 404 when no stored Measure matches.
    pub async fn measure(&self, by: &MeasureRef) -> Result<Arc<CompiledMeasure>, ServiceError> {
        let engine = self.engine().await?;
        let found = engine.measures().find(|m| matches(m, by)).cloned();
        let Some(measure) = found else {
            return Err(ServiceError::NotFound(match by {
                MeasureRef::Id(_) => "no Measure with that id".to_owned(),
                MeasureRef::Url(_) => "no Measure with that url".to_owned(),
            }));
        };
        let key = format!(
            "{}|{}",
            str_at(&measure, "url").unwrap_or_default(),
            str_at(&measure, "version").unwrap_or_default()
        );
        if let Some(hit) = self.compiled.get(&key) {
            return Ok(hit);
        }
        let compiled = tokio::task::spawn_blocking(move || engine.compile(&measure))
            .await
            .map_err(|_| ServiceError::Interrupted)??;
        let compiled = Arc::new(compiled);
        self.compiled.insert(key, compiled.clone());
        Ok(compiled)
    }

    /// The engine over the stored content, rebuilt when the content changed since it was built.
    async fn engine(&self) -> Result<Arc<Engine>, ServiceError> {
        let types = CONTENT_TYPES
            .iter()
            .map(|t| resource_type(t))
            .collect::<Result<Vec<_>, _>>()?;
        let marker = self.store.change_marker(&types).await?;
        if let Ok(guard) = self.engine.lock() {
            if let Some((built, engine)) = guard.as_ref() {
                if *built == marker {
                    return Ok(engine.clone());
                }
            }
        }
        let mut resources = Vec::new();
        for t in types {
            resources.extend(self.store.list_all(t).await?);
        }
        // Decoding base64 ELM and value-set expansions is CPU work: off the runtime.
        let engine = tokio::task::spawn_blocking(move || Engine::from_resources(resources))
            .await
            .map_err(|_| ServiceError::Interrupted)??;
        let engine = Arc::new(engine);
        self.compiled.invalidate_all();
        if let Ok(mut guard) = self.engine.lock() {
            *guard = Some((marker, engine.clone()));
        }
        Ok(engine)
    }

    /// Whether a Patient exists (and is not deleted).
    pub async fn patient_exists(&self, id: &str) -> Result<bool, ServiceError> {
        let Ok(id) = Id::parse(id) else {
            return Ok(false);
        };
        Ok(self
            .store
            .read(resource_type("Patient")?, &id)
            .await?
            .is_some_and(|r| !r.is_deleted()))
    }
}

fn str_at<'a>(json: &'a Json, key: &str) -> Option<&'a str> {
    json.get(key).and_then(Json::as_str)
}

fn matches(measure: &Json, by: &MeasureRef) -> bool {
    match by {
        MeasureRef::Id(id) => str_at(measure, "id") == Some(id.as_str()),
        MeasureRef::Url(url) => match url.split_once('|') {
            Some((url, version)) => {
                str_at(measure, "url") == Some(url) && str_at(measure, "version") == Some(version)
            }
            None => str_at(measure, "url") == Some(url.as_str()),
        },
    }
}
