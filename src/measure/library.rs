//! Loading published measure content: Measure, Library (ELM JSON inside
//! `Library.content`, base64) and ValueSet resources from a directory tree.

use std::collections::HashSet;
use std::path::Path;

use base64::Engine as _;

use super::model::FxMap;
use super::value::Json;

type FxSet<T> = HashSet<T, std::hash::BuildHasherDefault<super::model::FxHasher>>;
use super::MeasureError;

/// One ELM library as decoded from its Library resource.
#[derive(Debug)]
pub struct ElmLibrary {
    pub name: String,
    pub version: Option<String>,
    pub url: Option<String>,
    /// The ELM `library` object.
    pub elm: Json,
}

/// Everything loaded from a content directory.
#[derive(Debug, Default)]
pub struct Content {
    pub measures: Vec<Json>,
    pub libraries: Vec<ElmLibrary>,
    pub terminology: Terminology,
}

/// Value-set expansions as hash sets keyed by system then code.
#[derive(Debug, Default)]
pub struct Terminology {
    pub sets: Vec<FxMap<String, FxSet<String>>>,
    by_url: FxMap<String, u32>,
}

impl Terminology {
    pub fn add(&mut self, vs: &Json) {
        let Some(url) = vs.get("url").and_then(Json::as_str) else {
            return;
        };
        let mut codes: FxMap<String, FxSet<String>> = FxMap::default();
        let contains = vs
            .get("expansion")
            .and_then(|e| e.get("contains"))
            .and_then(Json::as_array);
        for c in contains.into_iter().flatten() {
            collect_contains(c, &mut codes);
        }
        // Value sets shipped without an expansion: fall back to enumerated compose codes.
        if contains.is_none() {
            let includes = vs
                .get("compose")
                .and_then(|c| c.get("include"))
                .and_then(Json::as_array);
            for inc in includes.into_iter().flatten() {
                let system = inc.get("system").and_then(Json::as_str).unwrap_or_default();
                for c in inc
                    .get("concept")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(code) = c.get("code").and_then(Json::as_str) {
                        codes
                            .entry(system.to_owned())
                            .or_default()
                            .insert(code.to_owned());
                    }
                }
            }
        }
        let idx = self.sets.len() as u32;
        self.sets.push(codes);
        self.by_url.insert(url.to_owned(), idx);
    }

    pub fn lookup(&self, url: &str) -> Option<u32> {
        let base = url.split('|').next().unwrap_or(url);
        self.by_url.get(base).copied()
    }

    pub fn contains(&self, vs: u32, system: Option<&str>, code: &str) -> bool {
        let Some(set) = self.sets.get(vs as usize) else {
            return false;
        };
        match system {
            Some(s) => set.get(s).is_some_and(|codes| codes.contains(code)),
            None => set.values().any(|codes| codes.contains(code)),
        }
    }
}

fn collect_contains(c: &Json, out: &mut FxMap<String, FxSet<String>>) {
    if let (Some(system), Some(code)) = (
        c.get("system").and_then(Json::as_str),
        c.get("code").and_then(Json::as_str),
    ) {
        out.entry(system.to_owned())
            .or_default()
            .insert(code.to_owned());
    }
    for nested in c
        .get("contains")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        collect_contains(nested, out);
    }
}

/// Reads every `*.json` file under `dir` (recursively) and sorts resources by type.
pub fn load_dir(dir: &Path) -> Result<Content, MeasureError> {
    let mut content = Content::default();
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| MeasureError::Io(f.clone(), e))?;
        let json: Json =
            serde_json::from_str(&text).map_err(|e| MeasureError::Json(f.clone(), e))?;
        add_resource(&mut content, json)?;
    }
    Ok(content)
}

/// Adds one resource (or each entry of a Bundle) to the content.
pub fn add_resource(content: &mut Content, json: Json) -> Result<(), MeasureError> {
    match json.get("resourceType").and_then(Json::as_str) {
        Some("Measure") => content.measures.push(json),
        Some("Library") => {
            if let Some(lib) = decode_library(&json)? {
                content.libraries.push(lib);
            }
        }
        Some("ValueSet") => content.terminology.add(&json),
        Some("Bundle") => {
            if let Some(Json::Array(entries)) = json.get("entry") {
                for e in entries {
                    if let Some(r) = e.get("resource") {
                        add_resource(content, r.clone())?;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), MeasureError> {
    let entries = std::fs::read_dir(dir).map_err(|e| MeasureError::Io(dir.to_path_buf(), e))?;
    for entry in entries {
        let path = entry
            .map_err(|e| MeasureError::Io(dir.to_path_buf(), e))?
            .path();
        if path.is_dir() {
            // Test cases live beside the content; they are loaded separately.
            if path.file_name().is_some_and(|n| n == "tests") {
                continue;
            }
            collect_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Decodes the `application/elm+json` attachment of a Library resource.
pub fn decode_library(lib: &Json) -> Result<Option<ElmLibrary>, MeasureError> {
    let name = lib.get("name").and_then(Json::as_str).unwrap_or_default();
    let contents = lib.get("content").and_then(Json::as_array);
    let Some(att) = contents
        .into_iter()
        .flatten()
        .find(|c| c.get("contentType").and_then(Json::as_str) == Some("application/elm+json"))
    else {
        return Ok(None);
    };
    let data = att.get("data").and_then(Json::as_str).unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| MeasureError::Content(format!("library {name}: bad base64 ELM: {e}")))?;
    let mut doc: Json = serde_json::from_slice(&bytes)
        .map_err(|e| MeasureError::Content(format!("library {name}: bad ELM JSON: {e}")))?;
    let elm = doc
        .get_mut("library")
        .map(Json::take)
        .ok_or_else(|| MeasureError::Content(format!("library {name}: ELM has no `library`")))?;
    let ident = elm.get("identifier");
    let elm_name = ident
        .and_then(|i| i.get("id"))
        .and_then(Json::as_str)
        .unwrap_or(name)
        .to_owned();
    let version = ident
        .and_then(|i| i.get("version"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    Ok(Some(ElmLibrary {
        name: elm_name,
        version,
        url: lib.get("url").and_then(Json::as_str).map(str::to_owned),
        elm,
    }))
}
