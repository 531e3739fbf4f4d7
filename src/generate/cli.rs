//! The `hearth generate` command line, kept here so `main.rs` only routes to it.

use std::path::PathBuf;
use std::time::Instant;

use super::{load, write, Config, EventRates, Format, GenerateError, Population};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Bundles,
    Ndjson,
}

/// Generate a synthetic medical-home population (FHIR R4).
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Number of persons.
    #[arg(long, default_value_t = 100)]
    pub patients: u64,
    /// Seed; the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Last simulated year (ends December 31st).
    #[arg(long, default_value_t = 2025)]
    pub end_year: i32,
    /// Simulated years, ending with --end-year.
    #[arg(long, default_value_t = 5)]
    pub years: u32,
    /// Chance an inpatient stay is followed by a readmission within 30 days.
    #[arg(long, default_value_t = 0.15)]
    pub readmission_rate: f64,
    /// Multiplies the rates of hospice, palliative care, frailty, renal failure, pregnancy and
    /// mastectomy (the events eCQMs exclude people for); 0 turns them off.
    #[arg(long, default_value_t = 1.0)]
    pub exclusion_scale: f64,
    /// Multiplies US yearly mortality by age; 0 means nobody dies.
    #[arg(long, default_value_t = 1.0)]
    pub mortality: f64,
    /// Output directory (required unless --server is given).
    #[arg(long, required_unless_present = "server")]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = FormatArg::Bundles)]
    pub format: FormatArg,
    /// FHIR base URL to POST the transaction Bundles to instead of writing files.
    #[arg(long, conflicts_with = "out")]
    pub server: Option<String>,
    /// Persons loaded into the server at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// Runs the command and prints a one-line summary (counts and timing only, never content).
pub async fn run(args: GenerateArgs) -> Result<(), GenerateError> {
    let population = Population::new(Config {
        patients: args.patients,
        seed: args.seed,
        end_year: args.end_year,
        years: args.years,
        readmission_rate: args.readmission_rate,
        events: EventRates {
            mortality: args.mortality,
            ..EventRates::default()
        }
        .scaled(args.exclusion_scale.max(0.0)),
    })?;
    let started = Instant::now();
    if let Some(server) = &args.server {
        let client = reqwest::Client::new();
        let summary = load(&population, &client, server, args.concurrency).await?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "loaded {} persons in {} bundles ({} bytes) in {seconds:.1}s ({:.0} persons/s)",
            summary.persons,
            summary.bundles,
            summary.bytes,
            summary.persons as f64 / seconds.max(1e-9),
        );
        return Ok(());
    }
    let Some(dir) = args.out else {
        return Err(GenerateError::Config(
            "either --out or --server is needed".into(),
        ));
    };
    let format = match args.format {
        FormatArg::Bundles => Format::Bundles,
        FormatArg::Ndjson => Format::Ndjson,
    };
    let summary = tokio::task::spawn_blocking(move || write(&population, &dir, format))
        .await
        .map_err(|_| GenerateError::Stopped)??;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "generated {} persons ({} Patient records, {} resources, {} bundles, {} bytes) in {seconds:.1}s ({:.0} persons/s)",
        summary.persons,
        summary.patient_records,
        summary.resources,
        summary.bundles,
        summary.bytes,
        summary.persons as f64 / seconds.max(1e-9),
    );
    Ok(())
}
