//! The FHIR model the rest of Hearth speaks.
pub mod fhirpath;
