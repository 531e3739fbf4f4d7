//! Writing a population to disk: transaction Bundles as NDJSON (one Bundle a line, in sending
//! order), or NDJSON per resource type as a Bulk Data export has it. Either way
//! `ground-truth.ndjson` says which Patient records are one person. Persons are generated in
//! parallel a chunk at a time and written in order, so memory stays flat at any size.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value;

use super::{GenerateError, PatientOutput, Population};

/// Persons generated together before writing; bounds memory, keeps both cores busy.
const CHUNK: u64 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `bundles.ndjson`: one transaction Bundle per line, the directory Bundle first.
    Bundles,
    /// `<ResourceType>.ndjson`: the final version of every resource, one per line.
    Ndjson,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub persons: u64,
    pub patient_records: u64,
    pub bundles: u64,
    pub resources: u64,
    pub bytes: u64,
}

/// Lines ready to write: (file name, line without its newline).
type Lines = Vec<(String, Vec<u8>)>;

pub fn write(
    population: &Population,
    dir: &Path,
    format: Format,
) -> Result<WriteSummary, GenerateError> {
    fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
    let mut files = Files::new(dir);
    let mut summary = WriteSummary::default();

    let directory = match format {
        Format::Bundles => vec![(
            "bundles.ndjson".to_owned(),
            line(&population.directory_bundle())?,
        )],
        Format::Ndjson => population
            .directory_resources()
            .map(|r| Ok((file_for(r), line(r)?)))
            .collect::<Result<Lines, GenerateError>>()?,
    };
    summary.resources += population.directory_resources().count() as u64;
    summary.bundles += u64::from(format == Format::Bundles);
    files.write_all(&directory, &mut summary)?;

    let total = population.config().patients;
    let mut start = 0;
    while start < total {
        let end = (start + CHUNK).min(total);
        let rendered: Vec<Result<(Lines, u64, u64, u64), GenerateError>> = (start..end)
            .into_par_iter()
            .map(|index| render(&population.patient(index), format))
            .collect();
        for item in rendered {
            let (lines, bundles, resources, patients) = item?;
            summary.persons += 1;
            summary.bundles += bundles;
            summary.resources += resources;
            summary.patient_records += patients;
            files.write_all(&lines, &mut summary)?;
        }
        start = end;
    }
    files.finish()?;
    Ok(summary)
}

/// One person's lines, with counts of bundles, resources and Patient records.
fn render(output: &PatientOutput, format: Format) -> Result<(Lines, u64, u64, u64), GenerateError> {
    let mut lines = Vec::new();
    let latest = output.latest_resources();
    let patients = latest
        .iter()
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Patient"))
        .count() as u64;
    let bundles = match format {
        Format::Bundles => {
            for batch in &output.batches {
                let mut bytes = Vec::with_capacity(8 << 10);
                batch.write_bundle(&mut bytes)?;
                lines.push(("bundles.ndjson".to_owned(), bytes));
            }
            output.batches.len() as u64
        }
        Format::Ndjson => {
            for resource in &latest {
                lines.push((file_for(resource), line(resource)?));
            }
            0
        }
    };
    lines.push((
        "ground-truth.ndjson".to_owned(),
        serde_json::to_vec(&output.ground_truth)?,
    ));
    Ok((lines, bundles, latest.len() as u64, patients))
}

fn file_for(resource: &Value) -> String {
    let resource_type = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("Unknown");
    format!("{resource_type}.ndjson")
}

fn line(value: &Value) -> Result<Vec<u8>, GenerateError> {
    Ok(serde_json::to_vec(value)?)
}

fn io_error(path: &Path, source: std::io::Error) -> GenerateError {
    GenerateError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Output files, opened on first use (truncating any earlier run's).
struct Files {
    dir: PathBuf,
    open: BTreeMap<String, BufWriter<File>>,
}

impl Files {
    fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            open: BTreeMap::new(),
        }
    }

    fn write_all(
        &mut self,
        lines: &Lines,
        summary: &mut WriteSummary,
    ) -> Result<(), GenerateError> {
        for (name, text) in lines {
            let path = self.dir.join(name);
            if !self.open.contains_key(name) {
                let file = File::create(&path).map_err(|source| io_error(&path, source))?;
                self.open
                    .insert(name.clone(), BufWriter::with_capacity(1 << 16, file));
            }
            if let Some(writer) = self.open.get_mut(name) {
                writer
                    .write_all(text)
                    .and_then(|()| writer.write_all(b"\n"))
                    .map_err(|source| io_error(&path, source))?;
                summary.bytes += text.len() as u64 + 1;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(), GenerateError> {
        for (name, mut writer) in self.open {
            writer
                .flush()
                .map_err(|source| io_error(&self.dir.join(&name), source))?;
        }
        Ok(())
    }
}
