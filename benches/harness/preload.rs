//! Loading without the HTTP ingest: `hearth import` of the generator's NDJSON (the Bulk Data
//! shape) before the server starts, or a database loaded by an earlier run. The read mix then
//! takes its targets from the server itself.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::load::Targets;

pub struct Import {
    pub persons: u64,
    pub resources: u64,
    pub elapsed: Duration,
}

/// Generates `patients` persons as NDJSON and imports them into `database_url`.
pub fn import(database_url: &str, patients: u64) -> anyhow::Result<Import> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let generated = Command::new(super::server::hearth_binary())
        .args([
            "generate",
            "--format",
            "ndjson",
            "--patients",
            &patients.to_string(),
        ])
        .arg("--out")
        .arg(dir.path())
        .output()
        .context("running hearth generate")?;
    if !generated.status.success() {
        bail!(
            "generate failed: {}",
            String::from_utf8_lossy(&generated.stderr)
        );
    }
    // The resource files only: the ground truth beside them is not FHIR.
    let mut files: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| {
                    name.ends_with(".ndjson") && name.starts_with(char::is_uppercase)
                })
        })
        .collect();
    files.sort();
    let started = Instant::now();
    let imported = Command::new(super::server::hearth_binary())
        .arg("import")
        .args(&files)
        .args(["--database-url", database_url])
        .env("HEARTH_LOG", "warn")
        .output()
        .context("running hearth import")?;
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&imported.stdout);
    if !imported.status.success() {
        bail!(
            "import failed: {stdout}{}",
            String::from_utf8_lossy(&imported.stderr)
        );
    }
    let resources = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .context("import did not say how many resources it stored")?;
    Ok(Import {
        persons: patients,
        resources,
        elapsed,
    })
}

/// Up to `limit` ids of Patients and Observations, read from the server page by page.
pub async fn targets(
    client: &reqwest::Client,
    base: &str,
    limit: usize,
) -> anyhow::Result<Targets> {
    Ok(Targets {
        patients: ids(client, base, "Patient", limit).await?,
        observations: ids(client, base, "Observation", limit).await?,
    })
}

async fn ids(
    client: &reqwest::Client,
    base: &str,
    resource_type: &str,
    limit: usize,
) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut next = Some(format!("{base}/{resource_type}?_count=1000&_elements=id"));
    while let Some(url) = next.take() {
        let page: Value = client
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for entry in page["entry"].as_array().into_iter().flatten() {
            if let Some(id) = entry.pointer("/resource/id").and_then(Value::as_str) {
                found.push(format!("{resource_type}/{id}"));
            }
        }
        if found.len() >= limit {
            break;
        }
        next = page["link"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|link| link["relation"] == "next")
            .and_then(|link| link["url"].as_str())
            .map(str::to_owned);
    }
    found.truncate(limit);
    Ok(found)
}
