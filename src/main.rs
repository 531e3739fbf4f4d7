//! The `hearth` command line. It only parses arguments and calls the library.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hearth::config::{Config, DEFAULT_DATABASE_URL, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES};
use hearth::store::StoreOptions;

// Requests and measure runs build and drop JSON trees of many small, short-lived allocations
// (glibc malloc was a fifth to a third of a read request's instructions and a quarter of a
// measure run's), on every rayon thread at once where glibc's arenas fragment and contend.
// `override` routes SQLite's C allocations through it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "hearth",
    version,
    about = "FHIR R4 interoperability gateway for patient-centred medical homes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the FHIR server.
    Serve(ServeArgs),
    /// Recompute the search index of every current resource (e.g. after adding custom
    /// SearchParameters), then exit.
    Reindex(ReindexArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(DatabaseArgs),
    /// Load NDJSON files (one resource per line, as Bulk Data exports them) into the database.
    Import(ImportArgs),
    /// Run the gateway on a fresh database loaded with a generated population, and print URLs to try.
    Demo(hearth::demo::DemoArgs),
    /// Generate a synthetic population (files or straight into a FHIR server).
    Generate(hearth::generate::GenerateArgs),
    /// Quality measures: run published eCQM test cases.
    #[command(subcommand)]
    Measure(MeasureCommand),
    /// Check FHIR JSON files against the R4 schema; exits non-zero if any is invalid.
    Validate {
        /// Files holding one resource each.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum MeasureCommand {
    /// Run the published test cases in DIR (measures/, libraries/, valuesets/, tests/).
    Test {
        dir: std::path::PathBuf,
        /// Cases whose differences are known and explained.
        #[arg(long, default_value = "measure-known-differences.md")]
        known: std::path::PathBuf,
    },
    /// Store the measure content in DIR (measures/, libraries/, valuesets/) in the database.
    Load {
        dir: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Evaluate a stored measure and print its MeasureReport.
    Eval {
        /// Canonical url (optionally `url|version`) or id of the Measure.
        #[arg(long)]
        measure: String,
        #[arg(long)]
        period_start: String,
        #[arg(long)]
        period_end: String,
        /// `Patient/[id]` (individual report) or `Group/[id]`; default every patient.
        #[arg(long)]
        subject: Option<String>,
        /// A JSON Parameters resource of CQL parameter values for the measure's library.
        #[arg(long, value_name = "FILE")]
        parameters: Option<std::path::PathBuf>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Args)]
struct DatabaseArgs {
    /// `sqlite:PATH` (created if missing) or `postgres://user@host/db`.
    #[arg(long, env = "HEARTH_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Database connections (PostgreSQL) or read connections (SQLite).
    #[arg(long, env = "HEARTH_POOL_SIZE", default_value_t = 8)]
    pool_size: u32,
    /// SQLite commit durability: `full` fsyncs every commit (survives power loss); `normal`
    /// survives a killed process but may lose the last commits on power loss, for faster loads.
    #[arg(long, env = "HEARTH_SQLITE_SYNCHRONOUS", default_value = "full")]
    sqlite_synchronous: SqliteSync,
    /// SQLite reads through a memory map of up to this many bytes of the database (0: none).
    /// Reading mapped pages spares a system call and a copy per page; the price is that a disk
    /// read error stops the process (SIGBUS) instead of failing one request.
    #[arg(long, env = "HEARTH_SQLITE_MMAP_SIZE", default_value_t = StoreOptions::default().sqlite_mmap_size)]
    sqlite_mmap_size: u64,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "HEARTH_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "HEARTH_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Public base URL for Location headers and links (default: from the request's Host).
    #[arg(long, env = "HEARTH_BASE_URL")]
    base_url: Option<String>,
    /// Load a generated population over HTTP once listening and print URLs to try, as
    /// `hearth demo` does. With the default database, uses a fresh `hearth-data/demo.db`.
    #[arg(long)]
    demo: bool,
    /// Persons loaded by --demo.
    #[arg(long, default_value_t = 200, requires = "demo")]
    demo_patients: u64,
    /// Generator seed for --demo.
    #[arg(long, default_value_t = 1, requires = "demo")]
    demo_seed: u64,
}

#[derive(Args)]
struct ImportArgs {
    /// `.ndjson` files, or directories whose `.ndjson` files are all loaded.
    #[arg(required = true)]
    paths: Vec<std::path::PathBuf>,
    /// Resources per transaction.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Transactions in flight at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    #[command(flatten)]
    database: DatabaseArgs,
    /// The base URL the server is configured with: absolute references to it index as local.
    #[arg(long, env = "HEARTH_BASE_URL")]
    base_url: Option<String>,
    /// Keep every index in place during a load into an empty database (by default the indexes
    /// over random ids are dropped and built once at the end, which is several times faster;
    /// a server serving that database meanwhile would search without them).
    #[arg(long)]
    keep_indexes: bool,
}

#[derive(Args)]
struct ReindexArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The base URL the server is configured with: absolute references to it index as local.
    #[arg(long, env = "HEARTH_BASE_URL")]
    base_url: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SqliteSync {
    Full,
    Normal,
}

impl DatabaseArgs {
    fn store_options(&self) -> StoreOptions {
        StoreOptions {
            pool_size: self.pool_size,
            pg_schema: None,
            sqlite_full_sync: matches!(self.sqlite_synchronous, SqliteSync::Full),
            sqlite_mmap_size: self.sqlite_mmap_size,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
                .unwrap_or_else(|_| "hearth=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal: they cost CPU on every span.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hearth: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hearth: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Validate { files } => validate(&files),
        Command::Demo(args) => Ok(hearth::demo::run(args, shutdown_signal()).await?),
        Command::Generate(args) => Ok(hearth::generate::run(args).await?),
        Command::Measure(MeasureCommand::Test { dir, known }) => {
            let summary = hearth::measure::conformance::run(&dir, &known)?;
            print!("{}", summary.render());
            let unexpected = summary.unexpected();
            if unexpected > 0 {
                anyhow::bail!("{unexpected} unexpected measure test failures");
            }
            Ok(())
        }
        Command::Measure(MeasureCommand::Load { dir, database }) => {
            let store =
                hearth::store::open(&database.database_url, &database.store_options()).await?;
            let stored = hearth::measure::commands::load(store.clone(), &dir).await;
            store.close().await;
            println!("stored {} measure resources", stored?);
            Ok(())
        }
        Command::Measure(MeasureCommand::Eval {
            measure,
            period_start,
            period_end,
            subject,
            parameters,
            database,
        }) => {
            let store =
                hearth::store::open(&database.database_url, &database.store_options()).await?;
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(indicatif::ProgressStyle::with_template(
                "{spinner} {pos} patients {per_sec} {elapsed}",
            )?);
            let progress = |done: u64| bar.set_position(done);
            let args = hearth::measure::commands::EvalArgs {
                measure,
                period_start,
                period_end,
                subject,
                parameters,
            };
            let report =
                hearth::measure::commands::eval(store.clone(), args, Some(&progress)).await;
            bar.finish();
            store.close().await;
            println!("{}", serde_json::to_string_pretty(&report?)?);
            Ok(())
        }
        Command::Import(args) => import(args).await,
        Command::Migrate(args) => {
            hearth::store::migrate(&args.database_url, &args.store_options()).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Reindex(args) => {
            let indexed = hearth::reindex(
                &args.database.database_url,
                &args.database.store_options(),
                args.base_url.as_deref(),
            )
            .await?;
            println!("reindexed {indexed} resources");
            Ok(())
        }
    }
}

async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{spinner} {pos} resources {per_sec} {elapsed}",
    )?);
    let progress = |stored: u64| bar.set_position(stored);
    let summary = hearth::import(
        &args.database.database_url,
        &args.database.store_options(),
        &args.paths,
        &hearth::import::ImportSettings {
            batch: args.batch,
            concurrency: args.concurrency,
            base_url: args.base_url,
            defer_indexes: !args.keep_indexes,
        },
        &progress,
    )
    .await;
    bar.finish_and_clear();
    let summary = summary?;
    for refusal in &summary.refused {
        eprintln!("refused {refusal}");
    }
    let seconds = summary.elapsed.as_secs_f64();
    println!(
        "imported {} resources in {seconds:.1} s ({:.0} resources/s); {} refused",
        summary.stored,
        summary.stored as f64 / seconds.max(1e-9),
        summary.refused.len()
    );
    if summary.deferred_indexes > 0 {
        println!(
            "built {} indexes deferred for the load in {:.1} s",
            summary.deferred_indexes,
            summary.index_build.as_secs_f64()
        );
    }
    if !summary.refused.is_empty() {
        anyhow::bail!("{} resources were refused", summary.refused.len());
    }
    Ok(())
}

fn validate(files: &[std::path::PathBuf]) -> anyhow::Result<()> {
    let validator = hearth::validate::Validator::load()?;
    let outcomes = hearth::validate::validate_files(&validator, files);
    let invalid = outcomes
        .iter()
        .filter(|outcome| outcome.result.is_err())
        .count();
    for outcome in &outcomes {
        println!("{outcome}");
    }
    if invalid > 0 {
        anyhow::bail!(
            "{invalid} of {} files are not valid FHIR R4",
            outcomes.len()
        );
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config {
        listen: args.listen,
        database_url: args.database.database_url.clone(),
        max_body_bytes: args.max_body_bytes,
        base_url: args.base_url,
        store: args.database.store_options(),
    };
    if args.demo {
        let load = hearth::demo::DemoLoad {
            patients: args.demo_patients,
            seed: args.demo_seed,
            concurrency: 4,
        };
        hearth::demo::run_from_serve(config, load, shutdown_signal()).await?;
        return Ok(());
    }
    let app = hearth::Application::build(&config).await?;
    println!("hearth listening on http://{}", app.local_addr()?);
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
