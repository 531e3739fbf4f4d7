//! `hearth demo`: the gateway on a fresh database, filled with a small generated population over
//! HTTP to itself (the same path an EHR push takes, validation included), then a few URLs to try.
//!
//! The default database is `./hearth-data/demo.db`, deleted and recreated at each start so a
//! demo always begins empty; it is kept after the demo stops so it can be inspected or served.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use crate::config::{Config, DEFAULT_LISTEN};
use crate::generate::{self, GenerateError, Population};
use crate::store::StoreOptions;
use crate::{Application, StartError};

pub const DEFAULT_DEMO_DATABASE_URL: &str = "sqlite:hearth-data/demo.db";

/// Run the gateway on a fresh database loaded with a synthetic population.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Persons to generate and load.
    #[arg(long, default_value_t = 200)]
    pub patients: u64,
    /// Generator seed; the same seed loads the same population.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// `sqlite:PATH` (deleted and recreated at start) or an empty PostgreSQL database.
    #[arg(long, default_value = DEFAULT_DEMO_DATABASE_URL)]
    pub database_url: String,
    /// Persons loaded at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot remove the previous demo database {path}: {source}")]
    Reset {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("cannot load the demo population: {0}")]
    Load(#[from] GenerateError),
    #[error("cannot read the server's CapabilityStatement: {0}")]
    Metadata(#[from] reqwest::Error),
    #[error("the server stopped unexpectedly")]
    Stopped,
}

/// What a demo loads once the server listens.
#[derive(Debug, Clone, Copy)]
pub struct DemoLoad {
    pub patients: u64,
    pub seed: u64,
    pub concurrency: usize,
}

/// Starts the gateway, loads the population, prints what to try, and serves until `shutdown`.
/// The first line printed is `hearth listening on http://ADDR`, as `serve` prints it.
pub async fn run(
    args: DemoArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DemoError> {
    if let Some(path) = args.database_url.strip_prefix("sqlite:") {
        reset_sqlite(Path::new(path))?;
    }
    let config = Config {
        listen: args.listen,
        database_url: args.database_url.clone(),
        // A demo database is throwaway: skip the per-commit fsync so loading is quick.
        store: StoreOptions {
            sqlite_full_sync: false,
            ..StoreOptions::default()
        },
        ..Config::default()
    };
    let load = DemoLoad {
        patients: args.patients,
        seed: args.seed,
        concurrency: args.concurrency,
    };
    serve(&config, load, shutdown).await
}

/// `hearth serve --demo`: the gateway as `serve` configures it, loaded as `hearth demo` loads
/// it. Only the default demo database is recreated; any other database keeps its data and the
/// population is written over it (every entry is a PUT, so loading again changes nothing).
pub async fn run_from_serve(
    mut config: Config,
    load: DemoLoad,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DemoError> {
    if config.database_url == crate::config::DEFAULT_DATABASE_URL {
        config.database_url = DEFAULT_DEMO_DATABASE_URL.to_owned();
        config.store.sqlite_full_sync = false;
        if let Some(path) = DEFAULT_DEMO_DATABASE_URL.strip_prefix("sqlite:") {
            reset_sqlite(Path::new(path))?;
        }
    }
    serve(&config, load, shutdown).await
}

async fn serve(
    config: &Config,
    load: DemoLoad,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DemoError> {
    let app = Application::build(config).await?;
    let base = format!("http://{}", app.local_addr().map_err(StartError::Serve)?);
    println!("hearth listening on {base}");

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        tokio::select! {
            () = shutdown => {},
            _ = stopped => {},
        }
    }));

    match load_and_describe(load, &base).await {
        Ok(urls) => {
            for line in urls {
                println!("{line}");
            }
        }
        Err(error) => {
            // The server is told to stop; its own result matters less than the load error.
            let _ = stop.send(());
            let _ = server.await;
            return Err(error);
        }
    }
    server.await.map_err(|_| DemoError::Stopped)??;
    Ok(())
}

/// Deletes a previous demo database and its WAL files, creating the directory if needed.
fn reset_sqlite(path: &Path) -> Result<(), DemoError> {
    let reset_error = |path: &Path, source| DemoError::Reset {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| reset_error(parent, source))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(reset_error(Path::new(&file), source)),
        }
    }
    Ok(())
}

async fn load_and_describe(args: DemoLoad, base: &str) -> Result<Vec<String>, DemoError> {
    let population = Population::new(generate::Config {
        patients: args.patients,
        seed: args.seed,
        ..generate::Config::default()
    })?;
    println!("loading {} generated persons ...", args.patients);
    let started = Instant::now();
    let client = reqwest::Client::new();
    let summary = generate::load(&population, &client, base, args.concurrency).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "loaded {} persons in {} transaction bundles in {seconds:.1}s",
        summary.persons, summary.bundles
    );
    let capabilities: Value = client
        .get(format!("{base}/metadata"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(try_urls(&population, base, &capabilities))
}

/// Lines naming URLs that work on this server now: reads, history, the transaction endpoint and
/// the CapabilityStatement; search URLs only for what the CapabilityStatement claims.
pub fn try_urls(population: &Population, base: &str, capabilities: &Value) -> Vec<String> {
    let mut lines = vec!["try:".to_owned()];
    if population.config().patients > 0 {
        let first = population.patient(0);
        let resources = first.latest_resources();
        let find = |wanted: &str| {
            resources
                .iter()
                .find(|r| r.get("resourceType").and_then(Value::as_str) == Some(wanted))
                .and_then(|r| r.get("id").and_then(Value::as_str))
                .map(|id| format!("{wanted}/{id}"))
        };
        if let Some(patient) = find("Patient") {
            lines.push(format!("  a Patient            GET  {base}/{patient}"));
            lines.push(format!(
                "  its history          GET  {base}/{patient}/_history"
            ));
            if supports_search(capabilities, "Observation", "subject") {
                lines.push(format!(
                    "  its Observations     GET  {base}/Observation?subject={patient}"
                ));
            }
        }
        if let Some(observation) = find("Observation") {
            lines.push(format!("  an Observation       GET  {base}/{observation}"));
        }
    }
    if supports_search(capabilities, "Patient", "family") {
        lines.push(format!(
            "  search Patients      GET  {base}/Patient?family=Smith"
        ));
    }
    lines.push(format!(
        "  recent changes       GET  {base}/_history?_count=10"
    ));
    lines.push(format!(
        "  transactions         POST {base}/ (a transaction Bundle)"
    ));
    lines.push(format!("  capabilities         GET  {base}/metadata"));
    lines
}

/// Whether the CapabilityStatement claims type-level search on `resource_type` with `param`.
pub fn supports_search(capabilities: &Value, resource_type: &str, param: &str) -> bool {
    let resources = capabilities
        .pointer("/rest/0/resource")
        .and_then(Value::as_array);
    let Some(resource) = resources.and_then(|all| {
        all.iter()
            .find(|r| r.get("type").and_then(Value::as_str) == Some(resource_type))
    }) else {
        return false;
    };
    let has = |list: &str, key: &str, wanted: &str| {
        resource
            .get(list)
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items
                    .iter()
                    .any(|item| item.get(key).and_then(Value::as_str) == Some(wanted))
            })
    };
    has("interaction", "code", "search-type") && has("searchParam", "name", param)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn search_is_claimed_only_with_the_interaction_and_the_parameter() {
        let with = json!({"rest": [{"resource": [{"type": "Patient",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": "family", "type": "string"}]}]}]});
        assert!(supports_search(&with, "Patient", "family"));
        assert!(!supports_search(&with, "Patient", "birthdate"));
        assert!(!supports_search(&with, "Observation", "family"));
        let without = json!({"rest": [{"resource": [{"type": "Patient",
            "interaction": [{"code": "read"}],
            "searchParam": [{"name": "family", "type": "string"}]}]}]});
        assert!(!supports_search(&without, "Patient", "family"));
    }

    #[test]
    fn urls_name_the_first_persons_resources_and_no_unclaimed_search() {
        let population = Population::new(generate::Config {
            patients: 1,
            ..generate::Config::default()
        })
        .unwrap();
        let lines = try_urls(&population, "http://h", &json!({}));
        let text = lines.join("\n");
        assert!(text.contains("GET  http://h/Patient/"), "{text}");
        assert!(text.contains("/_history\n"), "{text}");
        assert!(text.contains("GET  http://h/Observation/"), "{text}");
        assert!(!text.contains("family="), "{text}");
        assert!(!text.contains("subject="), "{text}");
    }
}
