//! Benchmark harness: the real `hearth` binary loaded with a generated population over HTTP,
//! then a read mix; prints throughput, client-side latency percentiles per query kind, server
//! peak RSS, database size, cold start, generation speed and the machine it ran on.
//!
//! `cargo bench --bench harness` (SQLite in a temporary directory), or
//! with `HEARTH_BENCH_DATABASE_URL=postgres://…` (an empty PostgreSQL database) or `sqlite:PATH`.
//! Knobs: `HEARTH_BENCH_PATIENTS` (1000), `HEARTH_BENCH_CONCURRENCY` (8, ingest),
//! `HEARTH_BENCH_READ_CONCURRENCY` (16), `HEARTH_BENCH_READS` (20000), `HEARTH_BENCH_READ_RATE`
//! (requests/s offered by all read clients together; 0, the default, sends back to back),
//! `HEARTH_BENCH_LOAD`
//! (`http`: transaction Bundles over HTTP; `import`: `hearth import` of NDJSON before the server
//! starts; `none`: the database is already loaded), `HEARTH_BENCH_BIN` (the `hearth` binary to
//! measure; default, the one built with the harness). Server settings (e.g.
//! `HEARTH_SQLITE_SYNCHRONOUS`, `HEARTH_POOL_SIZE`) pass through the environment to the server.

mod load;
mod preload;
mod reads;
mod server;

use std::time::Duration;

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use server::{Database, Machine, Server};

fn knob(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} must be a whole number, not {value:?}")),
        Err(_) => Ok(default),
    }
}

fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; this harness takes its knobs from the environment.
    let patients = knob("HEARTH_BENCH_PATIENTS", 1000)?;
    let concurrency = usize::try_from(knob("HEARTH_BENCH_CONCURRENCY", 8)?)?;
    let read_concurrency = usize::try_from(knob("HEARTH_BENCH_READ_CONCURRENCY", 16)?)?;
    let reads = usize::try_from(knob("HEARTH_BENCH_READS", 20_000)?)?;
    let read_rate = match knob("HEARTH_BENCH_READ_RATE", 0)? {
        0 => None,
        rate => Some(rate as f64),
    };
    let mode = std::env::var("HEARTH_BENCH_LOAD").unwrap_or_else(|_| "http".into());
    let machine = Machine::read();
    let load_before = server::load_average();
    let database = Database::from_env()?;
    let client = reqwest::Client::new();

    let imported = match mode.as_str() {
        "import" => Some(preload::import(&database.url(), patients)?),
        "http" | "none" => None,
        other => anyhow::bail!("HEARTH_BENCH_LOAD must be http, import or none, not {other:?}"),
    };
    let server = Server::start(&database.url(), &client).await?;
    let (idle_rss, _) = server.rss_mib();
    // For attaching a profiler (`perf record -p PID`) while the bench runs.
    eprintln!("server pid {}", server.pid());
    let capabilities: Value = client
        .get(format!("{}/metadata", server.base))
        .send()
        .await?
        .json()
        .await?;
    let kinds = reads::kinds(&capabilities);

    let ingest = if mode == "http" {
        let progress = bar(patients, "ingest");
        let ingest = load::run(&client, &server.base, patients, concurrency, &progress).await?;
        progress.finish_and_clear();
        Some(ingest)
    } else {
        None
    };
    let (_, ingest_peak) = server.rss_mib();
    let size = database.size_bytes().await?;
    let targets = match &ingest {
        Some(ingest) => ingest.targets.clone(),
        None => preload::targets(&client, &server.base, 20_000).await?,
    };

    let progress = bar(reads as u64, "reads");
    let read = reads::run(
        &client,
        &server.base,
        targets,
        &kinds,
        reads,
        read_concurrency,
        read_rate,
        &progress,
    )
    .await?;
    progress.finish_and_clear();
    let (_, peak_rss) = server.rss_mib();
    let load_after = server::load_average();

    let seconds = |d: Duration| d.as_secs_f64().max(1e-9);
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!();
    println!("| | |");
    println!("| --- | --- |");
    println!(
        "| machine | {} cores, {:.1} GiB, {} |",
        machine.cores, machine.memory_gib, machine.cpu
    );
    println!("| load average before / after | {load_before} / {load_after} |");
    println!("| backend | {} |", database.backend());
    println!(
        "| cold start | {:.0} ms (spawn to /readyz) |",
        server.cold_start.as_secs_f64() * 1e3
    );
    if let Some(ingest) = &ingest {
        println!(
            "| generation | {} persons in {:.1} s on one thread = {:.0} persons/s, {:.0} resources/s |",
            ingest.persons,
            ingest.generation.as_secs_f64(),
            ingest.persons as f64 / seconds(ingest.generation),
            ingest.resources as f64 / seconds(ingest.generation)
        );
        println!(
            "| ingest | {} resources in {} transaction bundles ({:.0} MiB) in {:.1} s, concurrency {concurrency} |",
            ingest.resources,
            ingest.bundles,
            ingest.bytes as f64 / (1024.0 * 1024.0),
            ingest.elapsed.as_secs_f64()
        );
        println!(
            "| ingest throughput | **{:.0} resources/s** ({:.0} bundles/s, {:.1} persons/s) |",
            ingest.resources as f64 / seconds(ingest.elapsed),
            ingest.bundles as f64 / seconds(ingest.elapsed),
            ingest.persons as f64 / seconds(ingest.elapsed)
        );
    }
    if let Some(import) = &imported {
        println!(
            "| import (`hearth import`, 1,000 per transaction) | {} persons, {} resources in {:.1} s = **{:.0} resources/s** |",
            import.persons,
            import.resources,
            import.elapsed.as_secs_f64(),
            import.resources as f64 / seconds(import.elapsed)
        );
    }
    println!(
        "| database size | {:.1} MiB after ingest |",
        size as f64 / (1024.0 * 1024.0)
    );
    println!(
        "| server RSS | idle {idle_rss} MiB, peak during ingest {ingest_peak} MiB, peak overall {peak_rss} MiB |"
    );
    println!(
        "| reads | {} in {:.1} s = {:.0}/s, concurrency {read_concurrency}, {} |",
        read.total,
        read.elapsed.as_secs_f64(),
        read.total as f64 / seconds(read.elapsed),
        match read_rate {
            Some(rate) => format!("offered {rate:.0}/s (latency from each request's due time)"),
            None => "back to back".to_owned(),
        }
    );
    println!();
    println!("| request | count | p50 ms | p95 ms | p99 ms | max ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut rows: Vec<(&str, &Histogram<u64>)> = Vec::new();
    if let Some(ingest) = &ingest {
        rows.push(("transaction bundle", &ingest.latency));
    }
    rows.extend(read.latency.iter().map(|(kind, h)| (kind.label(), h)));
    for (label, h) in rows {
        println!(
            "| {label} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            h.len(),
            ms(h, 0.50),
            ms(h, 0.95),
            ms(h, 0.99),
            h.max() as f64 / 1000.0
        );
    }
    let scoped = read
        .latency
        .iter()
        .filter(|(kind, _)| kind.patient_scoped() && kind.label().starts_with("search"))
        .map(|(_, h)| ms(h, 0.99))
        .fold(0.0_f64, f64::max);
    println!("\nworst p99 of the patient-scoped searches: {scoped:.2} ms");
    if !kinds.iter().any(|k| k.label().starts_with("search")) {
        println!("\n(search not run: the CapabilityStatement does not claim it)");
    }
    Ok(())
}
