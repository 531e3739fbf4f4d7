//! Ingest and read benchmark against the real `hearth` binary.
//!
//! `cargo bench --bench ingest` (SQLite in a temporary directory), or with
//! `HEARTH_BENCH_DATABASE_URL=postgres://…` for PostgreSQL. Knobs: `HEARTH_BENCH_BUNDLES` (default
//! 400), `HEARTH_BENCH_CONCURRENCY` (8), `HEARTH_BENCH_READS` (20000).
//! Prints: cold start, ingest throughput in resources/s, read latency percentiles, server RSS.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(database_url: &str) -> (Server, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .env("HEARTH_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("hearth binary starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let base = first
        .trim()
        .rsplit(' ')
        .next()
        .expect("address on the first line")
        .to_owned();
    (Server { child, base }, started.elapsed())
}

/// One encounter bundle of about 50 resources for one new patient, linked by urn:uuid.
fn encounter_bundle(seed: usize) -> Value {
    let patient = format!("urn:uuid:{:08x}-0000-4000-8000-000000000000", seed);
    let encounter = format!("urn:uuid:{:08x}-0000-4000-8000-000000000001", seed);
    let mut entries = vec![
        json!({"fullUrl": patient, "request": {"method": "POST", "url": "Patient"}, "resource": {
            "resourceType": "Patient", "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": format!("MRN{seed}")}],
            "name": [{"family": format!("Family{seed}"), "given": ["Alex"]}], "gender": "female", "birthDate": "1961-04-12",
            "address": [{"line": ["1 Main St"], "city": "Springfield", "postalCode": "01101"}]}}),
        json!({"fullUrl": encounter, "request": {"method": "POST", "url": "Encounter"}, "resource": {
            "resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
            "subject": {"reference": patient}, "period": {"start": "2025-03-01T09:00:00Z", "end": "2025-03-01T09:30:00Z"}}}),
        json!({"request": {"method": "POST", "url": "Condition"}, "resource": {
            "resourceType": "Condition", "subject": {"reference": patient}, "encounter": {"reference": encounter},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertension"}]}}}),
    ];
    for n in 0..45 {
        entries.push(json!({"request": {"method": "POST", "url": "Observation"}, "resource": {
            "resourceType": "Observation", "status": "final", "subject": {"reference": patient}, "encounter": {"reference": encounter},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel"}]},
            "effectiveDateTime": format!("2025-03-01T09:{:02}:00Z", n % 60),
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 120 + n % 30, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 70 + n % 20, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
            ]}}));
    }
    entries.push(json!({"request": {"method": "POST", "url": "Procedure"}, "resource": {
        "resourceType": "Procedure", "status": "completed", "subject": {"reference": patient}, "encounter": {"reference": encounter},
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "93000"}]}}}));
    entries.push(json!({"request": {"method": "POST", "url": "MedicationRequest"}, "resource": {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": {"reference": patient},
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "314076"}]}}}));
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let bundles = env_or("HEARTH_BENCH_BUNDLES", 400);
    let concurrency = env_or("HEARTH_BENCH_CONCURRENCY", 8);
    let reads = env_or("HEARTH_BENCH_READS", 20_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let database_url = std::env::var("HEARTH_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite:{}", dir.path().join("bench.db").display()));
    let backend = if database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };

    let (server, cold_start) = start_server(&database_url);
    let pid = server.child.id();
    let client = reqwest::Client::new();
    let ready = Instant::now();
    while client
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .map(|r| r.status().is_success())
        .ok()
        != Some(true)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "server never became ready"
        );
    }
    let cold_start = cold_start + ready.elapsed();
    let idle_rss = rss_kib(pid);

    let bodies: Vec<String> = (0..bundles)
        .map(|i| encounter_bundle(i).to_string())
        .collect();
    let per_bundle = encounter_bundle(0)["entry"].as_array().map_or(0, Vec::len);
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let peak_rss = Arc::new(std::sync::atomic::AtomicU64::new(idle_rss));
    let sampler = {
        let peak = peak_rss.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, bodies, next) = (
            client.clone(),
            server.base.clone(),
            bodies.clone(),
            next.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break ids };
                let response = client
                    .post(&base)
                    .header("content-type", "application/fhir+json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("bundle posted");
                assert!(
                    response.status().is_success(),
                    "bundle {i} failed: {}",
                    response.status()
                );
                let reply: Value = response.json().await.expect("response bundle");
                if let Some(location) = reply["entry"][3]["response"]["location"].as_str() {
                    ids.push(
                        location
                            .split("/_history")
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
            }
        }));
    }
    let mut targets = Vec::new();
    for worker in workers {
        targets.extend(worker.await.expect("worker finished"));
    }
    let ingest = started.elapsed();
    let resources = bundles * per_bundle;

    let targets = Arc::new(targets);
    let started = Instant::now();
    let mut readers = Vec::new();
    for reader in 0..concurrency {
        let (client, base, targets) = (client.clone(), server.base.clone(), targets.clone());
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for n in (reader..reads).step_by(concurrency) {
                let target = &targets[n % targets.len()];
                let begun = Instant::now();
                let response = client
                    .get(format!("{base}/{target}"))
                    .send()
                    .await
                    .expect("read sent");
                assert!(response.status().is_success());
                response.bytes().await.expect("read body");
                latencies.push(begun.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for reader in readers {
        latencies.extend(reader.await.expect("reader finished"));
    }
    let read_time = started.elapsed();
    sampler.abort();
    latencies.sort();

    println!("backend            {backend}");
    println!(
        "machine            {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "cold start         {:.0} ms (spawn to ready)",
        cold_start.as_secs_f64() * 1000.0
    );
    println!("ingest             {resources} resources in {bundles} transaction bundles of {per_bundle}, concurrency {concurrency}");
    println!(
        "ingest throughput  {:.0} resources/s ({:.1} bundles/s)",
        resources as f64 / ingest.as_secs_f64(),
        bundles as f64 / ingest.as_secs_f64()
    );
    println!(
        "reads              {} in {:.2} s = {:.0}/s, concurrency {concurrency}",
        latencies.len(),
        read_time.as_secs_f64(),
        latencies.len() as f64 / read_time.as_secs_f64()
    );
    println!(
        "read latency       p50 {:.2} ms  p99 {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "server RSS         idle {} MiB, peak under load {} MiB",
        idle_rss / 1024,
        peak_rss.load(std::sync::atomic::Ordering::Relaxed) / 1024
    );
}
