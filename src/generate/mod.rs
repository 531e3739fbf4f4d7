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
mod exclusion_codes;
mod exclusions;
mod facilities;
mod findings;
mod hospital;
mod insurance;
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
    /// Life events that take people out of measure denominators, and deaths.
    pub events: EventRates,
}

/// How often the life events happen that eCQMs exclude people for. Each exclusion rate is the
/// chance that an eligible person (by age and sex at the end of the simulation) has the event
/// once in the simulated years.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRates {
    /// Hospice admission, 65 and older (in the last two years, so measures see it).
    pub hospice: f64,
    /// Palliative care consultation, 65 and older (last two years).
    pub palliative: f64,
    /// An advanced illness with frailty (wheelchair dependence), 66 and older (last two years).
    pub frailty: f64,
    /// End-stage renal disease on dialysis, adults with hypertension or diabetes; some go on
    /// to a kidney transplant.
    pub renal: f64,
    /// Pregnancy, women 18 to 44.
    pub pregnancy: f64,
    /// Mastectomy of both breasts (at once, or one side then the other), women 40 and older;
    /// some before the simulated years, known from the history the medical home records.
    pub mastectomy: f64,
    /// Multiplier of US yearly mortality by age; 0 means nobody dies.
    pub mortality: f64,
}

impl Default for EventRates {
    fn default() -> Self {
        Self {
            hospice: 0.04,
            palliative: 0.04,
            frailty: 0.12,
            renal: 0.04,
            pregnancy: 0.12,
            mastectomy: 0.04,
            mortality: 1.0,
        }
    }
}

impl EventRates {
    /// Every exclusion rate multiplied by `factor` (capped at 1); mortality unchanged.
    pub fn scaled(self, factor: f64) -> Self {
        let scale = |rate: f64| (rate * factor).clamp(0.0, 1.0);
        Self {
            hospice: scale(self.hospice),
            palliative: scale(self.palliative),
            frailty: scale(self.frailty),
            renal: scale(self.renal),
            pregnancy: scale(self.pregnancy),
            mastectomy: scale(self.mastectomy),
            mortality: self.mortality,
        }
    }

    fn check(&self) -> Result<(), GenerateError> {
        let rates = [
            ("hospice", self.hospice),
            ("palliative", self.palliative),
            ("frailty", self.frailty),
            ("renal", self.renal),
            ("pregnancy", self.pregnancy),
            ("mastectomy", self.mastectomy),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(GenerateError::Config(format!(
                    "{name} rate must be between 0 and 1, not {rate}"
                )));
            }
        }
        if !(0.0..=20.0).contains(&self.mortality) {
            return Err(GenerateError::Config(format!(
                "mortality multiplier must be between 0 and 20, not {}",
                self.mortality
            )));
        }
        Ok(())
    }
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
            events: EventRates::default(),
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

    /// The zone the source's system writes times in: the specialty group's is across the
    /// state line, an hour behind.
    pub(crate) const fn zone(self) -> clock::Zone {
        match self {
            Self::Clinic | Self::Hospital => clock::Zone::Eastern,
            Self::Specialty => clock::Zone::Central,
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
        config.events.check()?;
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
