//! Synthetic patient-centred medical home population for demos, load tests and measure runs.
//!
//! A [`Population`] is a pure function of its [`Config`]: patient `i` depends only on the seed
//! and `i`, so any slice of the population can be generated alone, in any order, in constant
//! memory. Each person lives several years across three source systems (the medical home, a
//! hospital, a specialty practice), each of which registers them under its own MRN with the
//! usual feed drift; [`GroundTruth`] says which records are the same person.
//!
//! Output follows how sources send data: one transaction Bundle per encounter (or per Task
//! update), NDJSON per resource type (the Bulk Data shape), or POSTed to a FHIR server.

mod bundle;
mod care;
mod chronic;
mod cli;
mod clock;
mod codes;
mod directory;
mod findings;
mod hospital;
mod life;
mod names;
mod output;
mod person;
mod referral;
mod referral_loop;
mod resources;
mod rng;
mod server;
mod visit;

use serde::Serialize;
use serde_json::Value;

pub use cli::{run, GenerateArgs};
pub use output::{write, Format, WriteSummary};
pub use person::Variation;
pub use server::{load, LoadSummary};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Number of persons (each may have up to three Patient records, one per source).
    pub patients: u64,
    pub seed: u64,
    /// Last simulated calendar year; the simulation ends on its December 31st.
    pub end_year: i32,
    /// Number of simulated calendar years, ending with `end_year`.
    pub years: u32,
    /// Chance that an inpatient stay is followed by a readmission within 30 days.
    pub readmission_rate: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            patients: 100,
            seed: 1,
            // The measurement period of the bundled eCQM test content.
            end_year: 2025,
            years: 5,
            readmission_rate: 0.15,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("invalid generator configuration: {0}")]
    Config(String),
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("serializing generated output: {0}")]
    Json(#[from] serde_json::Error),
    #[error("sending to the FHIR server: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the FHIR server answered {status} to a transaction")]
    Rejected { status: u16 },
    #[error("the generator task stopped unexpectedly")]
    Stopped,
}

/// The source systems a person's records come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The patient-centred medical home (primary care).
    Clinic = 0,
    Hospital = 1,
    Specialty = 2,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Clinic, Source::Hospital, Source::Specialty];

    pub fn name(self) -> &'static str {
        match self {
            Self::Clinic => "clinic",
            Self::Hospital => "hospital",
            Self::Specialty => "specialty",
        }
    }

    /// Identifier system of the source's medical record numbers; deliberately unlike each other,
    /// as real EHRs' are.
    pub fn mrn_system(self) -> &'static str {
        match self {
            Self::Clinic => "https://ehr.hearthside-fm.example.org/fhir/sid/mrn",
            Self::Hospital => "urn:oid:2.16.840.1.113883.3.7204.1.1",
            Self::Specialty => "https://lakeshore-specialty.example.org/patient-id",
        }
    }

    fn organization_name(self) -> &'static str {
        match self {
            Self::Clinic => "Hearthside Family Medicine",
            Self::Hospital => "Riverside General Hospital",
            Self::Specialty => "Lakeshore Specialty Group",
        }
    }

    fn mrn(self, rng: &mut rng::Rng) -> String {
        match self {
            Self::Clinic => format!("HFM{}", rng.digits(7)),
            Self::Hospital => rng.digits(9),
            Self::Specialty => format!("LS-{}-{}", rng.digits(3), rng.digits(4)),
        }
    }
}

/// Which Patient records are one person: one line of `ground-truth.ndjson`.
#[derive(Debug, Clone, Serialize)]
pub struct GroundTruth {
    pub person: String,
    pub records: Vec<RecordTruth>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordTruth {
    pub source: Source,
    pub identifier_system: &'static str,
    pub mrn: String,
    /// `Patient/<id>`.
    pub patient: String,
    /// How this record differs from the person's true details.
    pub variations: Vec<Variation>,
}

/// What one source sends at one time: its Patient first, then the resources of one encounter
/// or update. References are relative (`Type/id`).
#[derive(Debug, Clone)]
pub struct Batch {
    pub source: Source,
    pub resources: Vec<Value>,
}

/// Everything generated for one person, in the order the sources send it.
#[derive(Debug, Clone)]
pub struct PatientOutput {
    pub index: u64,
    pub ground_truth: GroundTruth,
    pub batches: Vec<Batch>,
}

/// A configured population; cheap to create, generates on demand.
pub struct Population {
    config: Config,
    directory: directory::Directory,
    start_day: i64,
    end_day: i64,
}

impl Population {
    pub fn new(config: Config) -> Result<Self, GenerateError> {
        if !(1..=30).contains(&config.years) {
            return Err(GenerateError::Config(format!(
                "years must be 1 to 30, not {}",
                config.years
            )));
        }
        if !(1950..=2100).contains(&config.end_year) {
            return Err(GenerateError::Config(format!(
                "end year must be 1950 to 2100, not {}",
                config.end_year
            )));
        }
        if !(0.0..=1.0).contains(&config.readmission_rate) {
            return Err(GenerateError::Config(format!(
                "readmission rate must be between 0 and 1, not {}",
                config.readmission_rate
            )));
        }
        let end_year = i64::from(config.end_year);
        Ok(Self {
            directory: directory::Directory::new(config.seed),
            start_day: person::window_start(end_year, i64::from(config.years)),
            end_day: clock::days_from_civil(end_year, 12, 31),
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The shared Organizations and Practitioners every patient refers to; load these first.
    pub fn directory_resources(&self) -> impl Iterator<Item = &Value> {
        self.directory.resources()
    }

    /// The directory as one transaction Bundle.
    pub fn directory_bundle(&self) -> Value {
        bundle::transaction(self.directory.resources())
    }

    /// Person `index` (0-based); the same whatever the population size.
    pub fn patient(&self, index: u64) -> PatientOutput {
        life::Life::new(self, index).run(index)
    }

    /// Every person in order, one at a time.
    pub fn patients(&self) -> impl Iterator<Item = PatientOutput> + '_ {
        (0..self.config.patients).map(|index| self.patient(index))
    }
}
