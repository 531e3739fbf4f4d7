//! The checks (search-parameter registry above all) as they stand: rebuilt when stored
//! SearchParameters change, so a POSTed SearchParameter indexes new writes and answers
//! searches without a restart, on every replica. A replica notices another's write by the
//! store's change marker, looked at no more than once per [`RECHECK`]; its own writes take
//! effect at once.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::{Checks, RecordError};
use crate::fhir::ResourceType;
use crate::store::ResourceStore;

/// How stale another replica's SearchParameter write may be seen here.
const RECHECK: Duration = Duration::from_secs(1);

pub(super) struct LiveChecks {
    current: RwLock<Arc<Checks>>,
    /// The change marker the current checks were built at (`None`: unknown) and when the
    /// marker was last read (`None`: read it on next use).
    seen: Mutex<(Option<i64>, Option<Instant>)>,
    /// One rebuild at a time.
    rebuild: tokio::sync::Mutex<()>,
}

pub(super) fn search_parameter_type() -> Result<ResourceType, RecordError> {
    "SearchParameter"
        .parse()
        .map_err(|e: crate::fhir::UnknownResourceType| RecordError::Internal(e.to_string()))
}

impl LiveChecks {
    pub fn new(checks: Arc<Checks>, marker: Option<i64>) -> Self {
        LiveChecks {
            current: RwLock::new(checks),
            seen: Mutex::new((marker, marker.map(|_| Instant::now()))),
            rebuild: tokio::sync::Mutex::new(()),
        }
    }

    /// The checks as last built, without looking at the store.
    pub fn get(&self) -> Arc<Checks> {
        match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// A SearchParameter was written here: look at the store on next use.
    pub fn invalidate(&self) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.1 = None;
        }
    }

    /// The checks, rebuilt first if stored SearchParameters changed since they were built.
    pub async fn fresh(&self, store: &dyn ResourceStore) -> Result<Arc<Checks>, RecordError> {
        let due =
            |seen: &(Option<i64>, Option<Instant>)| seen.1.is_none_or(|at| at.elapsed() >= RECHECK);
        if !self.seen.lock().map(|s| due(&s)).unwrap_or(true) {
            return Ok(self.get());
        }
        let _one = self.rebuild.lock().await;
        let known = match self.seen.lock() {
            Ok(seen) if !due(&seen) => return Ok(self.get()),
            Ok(seen) => seen.0,
            Err(_) => None,
        };
        let marker = store.change_marker(&[search_parameter_type()?]).await?;
        if known != Some(marker) {
            let custom = super::stored_search_parameters(store).await?;
            let rebuilt = self
                .get()
                .rebuilt()
                .map_err(|e| RecordError::Internal(e.to_string()))?;
            let (checks, _) = rebuilt.with_custom_parameters(&custom);
            match self.current.write() {
                Ok(mut current) => *current = Arc::new(checks),
                Err(poisoned) => *poisoned.into_inner() = Arc::new(checks),
            }
        }
        if let Ok(mut seen) = self.seen.lock() {
            *seen = (Some(marker), Some(Instant::now()));
        }
        Ok(self.get())
    }
}
