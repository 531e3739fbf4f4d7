//! The directory's places, payers and roles: the Locations where care happens (the medical
//! home's office, the hospital's emergency department and wards, the specialty office), the
//! insurers that pay for it, and the PractitionerRoles that tie each clinician to the
//! organization they work for.

use serde_json::{json, Value};

use super::directory::Role;
use super::names::AREA_CODES;
use super::resources::reference;
use super::rng::Rng;
use super::Source;

const ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
const PHYSICAL_TYPE: &str = "http://terminology.hl7.org/CodeSystem/location-physical-type";
const NUCC: &str = "http://nucc.org/provider-taxonomy";
/// Source of Payment Typology, the code system of the eCQM Payer Type value set.
pub(crate) const SOPT: &str = "https://nahdo.org/sopt";

/// A place care happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    ClinicOffice,
    Emergency,
    MedicalWard,
    SurgicalWard,
    IntensiveCare,
    Dialysis,
    SpecialtyOffice,
}

impl Place {
    pub(crate) const ALL: [Place; 7] = [
        Self::ClinicOffice,
        Self::Emergency,
        Self::MedicalWard,
        Self::SurgicalWard,
        Self::IntensiveCare,
        Self::Dialysis,
        Self::SpecialtyOffice,
    ];

    pub(crate) fn source(self) -> Source {
        match self {
            Self::ClinicOffice => Source::Clinic,
            Self::SpecialtyOffice => Source::Specialty,
            _ => Source::Hospital,
        }
    }

    /// Name, HL7 RoleCode (type), its display, and the physical type (`bu` building, `wa` ward).
    fn describe(
        self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        (&'static str, &'static str),
    ) {
        const BUILDING: (&str, &str) = ("bu", "Building");
        const WARD: (&str, &str) = ("wa", "Ward");
        match self {
            Self::ClinicOffice => (
                "Hearthside Family Medicine, main office",
                "FMC",
                "Family Medicine Clinic",
                BUILDING,
            ),
            Self::Emergency => (
                "Riverside General, Emergency Department",
                "ER",
                "Emergency room",
                WARD,
            ),
            Self::MedicalWard => (
                "Riverside General, Medical Ward 3 East",
                "HU",
                "Hospital unit",
                WARD,
            ),
            Self::SurgicalWard => (
                "Riverside General, Surgical Ward 4 West",
                "HU",
                "Hospital unit",
                WARD,
            ),
            Self::IntensiveCare => (
                "Riverside General, Intensive Care Unit",
                "ICU",
                "Intensive care unit",
                WARD,
            ),
            Self::Dialysis => (
                "Riverside General, Outpatient Dialysis Unit",
                "HD",
                "Hemodialysis unit",
                WARD,
            ),
            Self::SpecialtyOffice => (
                "Lakeshore Specialty Group, Lakeshore Drive office",
                "OF",
                "Outpatient facility",
                BUILDING,
            ),
        }
    }
}

pub(crate) fn location(id: &str, place: Place, organization: &str) -> Value {
    let (name, code, display, (physical, physical_display)) = place.describe();
    json!({
        "resourceType": "Location",
        "id": id,
        "status": "active",
        "name": name,
        "mode": "instance",
        "type": [{"coding": [{"system": ROLE_CODE, "code": code, "display": display}]}],
        "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": physical, "display": physical_display}]},
        "managingOrganization": reference("Organization", organization),
    })
}

/// An insurer, with its Source of Payment Typology code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payer {
    Medicare,
    Medicaid,
    BlueCross,
    Commercial,
}

impl Payer {
    pub(crate) const ALL: [Payer; 4] = [
        Self::Medicare,
        Self::Medicaid,
        Self::BlueCross,
        Self::Commercial,
    ];

    /// Name, SOPT code and SOPT display.
    pub(crate) fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Medicare => (
                "Medicare (Centers for Medicare & Medicaid Services)",
                "1",
                "MEDICARE",
            ),
            Self::Medicaid => ("Great Lakes State Medicaid", "2", "MEDICAID"),
            Self::BlueCross => (
                "Lakes Region Blue Cross Blue Shield",
                "6",
                "BLUE CROSS/BLUE SHIELD",
            ),
            Self::Commercial => ("Northwind Health Plan", "5", "PRIVATE HEALTH INSURANCE"),
        }
    }
}

pub(crate) fn payer(id: &str, payer: Payer, rng: &mut Rng) -> Value {
    let (name, _, _) = payer.describe();
    let area = rng.pick(&AREA_CODES);
    json!({
        "resourceType": "Organization",
        "id": id,
        "active": true,
        "type": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/organization-type",
            "code": "pay",
            "display": "Payer"
        }]}],
        "name": name,
        "telecom": [{"system": "phone", "value": format!("(800) {area}-{}", rng.digits(4)), "use": "work"}],
    })
}

/// Where a practitioner of a role works, and as what (HL7 practitioner-role code, NUCC
/// taxonomy code and display).
pub(crate) fn role_of(role: Role) -> (Source, &'static str, &'static str, &'static str) {
    match role {
        Role::PrimaryCare => (Source::Clinic, "doctor", "207Q00000X", "Family Medicine"),
        Role::CareManager => (Source::Clinic, "nurse", "163W00000X", "Registered Nurse"),
        Role::Hospitalist => (Source::Hospital, "doctor", "208M00000X", "Hospitalist"),
        Role::Emergency => (
            Source::Hospital,
            "doctor",
            "207P00000X",
            "Emergency Medicine",
        ),
        Role::Specialist(index) => {
            let (code, display) = match index {
                0 => ("207RC0000X", "Cardiovascular Disease"),
                1 => ("207RE0101X", "Endocrinology, Diabetes & Metabolism"),
                2 => ("2084P0800X", "Psychiatry"),
                3 => ("207RP1001X", "Pulmonary Disease"),
                4 => ("207RG0100X", "Gastroenterology"),
                5 => ("207X00000X", "Orthopaedic Surgery"),
                _ => ("207N00000X", "Dermatology"),
            };
            (Source::Specialty, "doctor", code, display)
        }
    }
}

pub(crate) fn practitioner_role(
    id: &str,
    practitioner: &str,
    role: Role,
    organization: &str,
    location: &str,
) -> Value {
    let (_, code, taxonomy, display) = role_of(role);
    json!({
        "resourceType": "PractitionerRole",
        "id": id,
        "active": true,
        "practitioner": reference("Practitioner", practitioner),
        "organization": reference("Organization", organization),
        "code": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/practitioner-role", "code": code}]}],
        "specialty": [{"coding": [{"system": NUCC, "code": taxonomy, "display": display}]}],
        "location": [reference("Location", location)],
    })
}
