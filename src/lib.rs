//! Hearth: a FHIR R4 interoperability gateway for patient-centred medical homes.

pub mod fhir;
pub mod measure;
