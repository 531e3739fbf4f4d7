//! `hearth validate FILE…`: validate resources stored as JSON files.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{ValidationFailure, Validator};

/// Why one file did not validate.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    #[error("not JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("{0}")]
    Invalid(ValidationFailure),
}

/// The result for one file.
#[derive(Debug)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub result: Result<(), FileError>,
}

impl fmt::Display for FileOutcome {
    /// `path: ok`, or `path:` followed by one indented line per issue.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.result {
            Ok(()) => write!(f, "{path}: ok"),
            Err(FileError::Invalid(ValidationFailure::Invalid(issues))) => {
                write!(f, "{path}: {} issue(s)", issues.len())?;
                issues.iter().try_for_each(|issue| write!(f, "\n  {issue}"))
            }
            Err(error) => write!(f, "{path}: {error}"),
        }
    }
}

/// Validates each file as one resource (a Bundle counts as one, its entries checked within).
pub fn validate_files<P: AsRef<Path>>(validator: &Validator, paths: &[P]) -> Vec<FileOutcome> {
    paths
        .iter()
        .map(|path| FileOutcome {
            path: path.as_ref().to_path_buf(),
            result: validate_file(validator, path.as_ref()),
        })
        .collect()
}

fn validate_file(validator: &Validator, path: &Path) -> Result<(), FileError> {
    let bytes = std::fs::read(path).map_err(FileError::Read)?;
    let resource = serde_json::from_slice(&bytes).map_err(FileError::Json)?;
    validator.validate(&resource).map_err(FileError::Invalid)
}
