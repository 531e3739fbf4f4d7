//! Ingest: the generator's transaction Bundles POSTed over HTTP, persons `concurrency` at a time
//! (a person's Bundles in order, as sources send them). Generation runs on a blocking thread
//! ahead of the senders; its busy time is measured apart so generation speed is known too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use hearth::generate::{Config, Population};
use indicatif::ProgressBar;
use serde_json::Value;
use tokio::sync::{mpsc, Mutex};

/// One person, ready to send.
struct Person {
    bundles: Vec<(Vec<u8>, u64)>,
    patients: Vec<String>,
    observations: Vec<String>,
}

/// What the reads will ask for: `Type/id` of some Patients and Observations.
#[derive(Clone, Default)]
pub struct Targets {
    pub patients: Vec<String>,
    pub observations: Vec<String>,
}

pub struct Ingest {
    pub persons: u64,
    pub bundles: u64,
    pub resources: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    /// Time the generator thread spent generating and serializing.
    pub generation: Duration,
    pub latency: Histogram<u64>,
    pub targets: Targets,
}

/// Targets kept per kind; enough to spread reads over the database without holding all ids.
const MAX_TARGETS: usize = 20_000;

pub async fn run(
    client: &reqwest::Client,
    base: &str,
    patients: u64,
    concurrency: usize,
    progress: &ProgressBar,
) -> anyhow::Result<Ingest> {
    let population = Population::new(Config {
        patients,
        ..Config::default()
    })?;
    let directory = serde_json::to_vec(&population.directory_bundle())?;
    let directory_resources = population.directory_resources().count() as u64;
    post(client, base, directory.clone()).await?;

    let (sender, receiver) = mpsc::channel::<Person>(concurrency * 4);
    let producer = tokio::task::spawn_blocking(move || -> anyhow::Result<Duration> {
        let mut busy = Duration::ZERO;
        for index in 0..patients {
            let started = Instant::now();
            let output = population.patient(index);
            let mut person = Person {
                bundles: Vec::with_capacity(output.batches.len()),
                patients: Vec::new(),
                observations: Vec::new(),
            };
            for batch in &output.batches {
                let mut bytes = Vec::with_capacity(16 << 10);
                batch.write_bundle(&mut bytes)?;
                person.bundles.push((bytes, batch.resources.len() as u64));
            }
            for resource in output.latest_resources() {
                let kind = resource.get("resourceType").and_then(Value::as_str);
                let id = resource.get("id").and_then(Value::as_str).unwrap_or("");
                match kind {
                    Some("Patient") => person.patients.push(format!("Patient/{id}")),
                    Some("Observation") => person.observations.push(format!("Observation/{id}")),
                    _ => {}
                }
            }
            busy += started.elapsed();
            if sender.blocking_send(person).is_err() {
                break;
            }
        }
        Ok(busy)
    });

    let receiver = Arc::new(Mutex::new(receiver));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, base, receiver, progress) = (
            client.clone(),
            base.to_owned(),
            receiver.clone(),
            progress.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut mine = Ingest {
                persons: 0,
                bundles: 0,
                resources: 0,
                bytes: 0,
                elapsed: Duration::ZERO,
                generation: Duration::ZERO,
                latency: Histogram::new(3)?,
                targets: Targets::default(),
            };
            loop {
                let next = receiver.lock().await.recv().await;
                let Some(person) = next else { break };
                for (bundle, resources) in person.bundles {
                    mine.bytes += bundle.len() as u64;
                    let begun = Instant::now();
                    post(&client, &base, bundle).await?;
                    mine.latency.record(micros(begun.elapsed()))?;
                    mine.bundles += 1;
                    mine.resources += resources;
                }
                mine.persons += 1;
                keep(&mut mine.targets.patients, person.patients);
                keep(&mut mine.targets.observations, person.observations);
                progress.inc(1);
            }
            anyhow::Ok(mine)
        }));
    }
    let mut total = Ingest {
        persons: 0,
        bundles: 1,
        resources: directory_resources,
        bytes: directory.len() as u64,
        elapsed: Duration::ZERO,
        generation: Duration::ZERO,
        latency: Histogram::new(3)?,
        targets: Targets::default(),
    };
    for worker in workers {
        let part = worker.await.context("ingest worker")??;
        total.persons += part.persons;
        total.bundles += part.bundles;
        total.resources += part.resources;
        total.bytes += part.bytes;
        total.latency.add(&part.latency)?;
        keep(&mut total.targets.patients, part.targets.patients);
        keep(&mut total.targets.observations, part.targets.observations);
    }
    total.elapsed = started.elapsed();
    total.generation = producer.await.context("generator thread")??;
    Ok(total)
}

fn keep(into: &mut Vec<String>, more: Vec<String>) {
    let room = MAX_TARGETS.saturating_sub(into.len());
    into.extend(more.into_iter().take(room));
}

pub fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

async fn post(client: &reqwest::Client, base: &str, body: Vec<u8>) -> anyhow::Result<()> {
    let response = client
        .post(base)
        .header("content-type", "application/fhir+json")
        .header("prefer", "return=minimal")
        .body(body)
        .send()
        .await?;
    let status = response.status();
    // Read the whole answer so the connection is reused and the latency covers the response.
    let answer = response.bytes().await?;
    if !status.is_success() {
        bail!(
            "the server answered {status} to a transaction: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(500)])
        );
    }
    Ok(())
}
