//! The FHIR model the rest of Hearth speaks.
pub mod compartment;
pub mod fhirpath;
pub mod index;
pub mod search_params;
