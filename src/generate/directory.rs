//! The clinicians and organizations every patient's records point at: one Organization per
//! source system and a fixed pool of Practitioners per role. Fixed size, so memory and output
//! for it do not grow with the population; names and ids come from the seed.

use serde_json::{json, Value};

use super::facilities::{self, Payer, Place};
use super::names::{AREA_CODES, CLINICIAN_FAMILY, FEMALE_GIVEN, MALE_GIVEN};
use super::rng::Rng;
use super::Source;

/// Roles a practitioner in the pool plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    PrimaryCare,
    CareManager,
    Hospitalist,
    Emergency,
    /// Index into `codes::SPECIALTIES`.
    Specialist(usize),
}

/// How many practitioners of each role the directory holds.
const POOL: [(Role, usize); 11] = [
    (Role::PrimaryCare, 10),
    (Role::CareManager, 4),
    (Role::Hospitalist, 6),
    (Role::Emergency, 4),
    (Role::Specialist(0), 2),
    (Role::Specialist(1), 2),
    (Role::Specialist(2), 2),
    (Role::Specialist(3), 2),
    (Role::Specialist(4), 2),
    (Role::Specialist(5), 2),
    (Role::Specialist(6), 2),
];

pub(crate) struct Practitioner {
    pub(crate) id: String,
    pub(crate) role: Role,
    resource: Value,
}

pub(crate) struct Directory {
    organizations: Vec<(Source, String, Value)>,
    payers: Vec<(Payer, String, Value)>,
    locations: Vec<(Place, String, Value)>,
    practitioners: Vec<Practitioner>,
    roles: Vec<Value>,
}

impl Directory {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = Rng::for_directory(seed);
        let organizations = Source::ALL
            .iter()
            .map(|source| {
                let id = rng.uuid();
                let resource = organization(&id, *source, &mut rng);
                (*source, id, resource)
            })
            .collect();
        let mut practitioners = Vec::new();
        for (role, count) in POOL {
            for _ in 0..count {
                let id = rng.uuid();
                let resource = practitioner(&id, &mut rng);
                practitioners.push(Practitioner { id, role, resource });
            }
        }
        let payers = Payer::ALL
            .iter()
            .map(|payer| {
                let id = rng.uuid();
                let resource = facilities::payer(&id, *payer, &mut rng);
                (*payer, id, resource)
            })
            .collect();
        let mut directory = Self {
            organizations,
            payers,
            locations: Vec::new(),
            practitioners,
            roles: Vec::new(),
        };
        for place in Place::ALL {
            let id = rng.uuid();
            let resource = facilities::location(&id, place, directory.organization(place.source()));
            directory.locations.push((place, id, resource));
        }
        let mut roles = Vec::with_capacity(directory.practitioners.len());
        for practitioner in &directory.practitioners {
            let (source, ..) = facilities::role_of(practitioner.role);
            let place = match source {
                Source::Clinic => Place::ClinicOffice,
                Source::Hospital => Place::MedicalWard,
                Source::Specialty => Place::SpecialtyOffice,
            };
            roles.push(facilities::practitioner_role(
                &rng.uuid(),
                &practitioner.id,
                practitioner.role,
                directory.organization(source),
                directory.location(place),
            ));
        }
        directory.roles = roles;
        directory
    }

    /// Organization id of an insurer.
    pub(crate) fn payer(&self, payer: Payer) -> &str {
        self.payers
            .iter()
            .find(|(p, _, _)| *p == payer)
            .map_or("", |(_, id, _)| id.as_str())
    }

    /// Location id of a place.
    pub(crate) fn location(&self, place: Place) -> &str {
        self.locations
            .iter()
            .find(|(p, _, _)| *p == place)
            .map_or("", |(_, id, _)| id.as_str())
    }

    /// Organization id of a source system.
    pub(crate) fn organization(&self, source: Source) -> &str {
        self.organizations
            .iter()
            .find(|(s, _, _)| *s == source)
            .map_or("", |(_, id, _)| id.as_str())
    }

    /// The practitioners of one role, in a stable order.
    pub(crate) fn with_role(&self, role: Role) -> impl Iterator<Item = &Practitioner> {
        self.practitioners.iter().filter(move |p| p.role == role)
    }

    /// Id of the `n`-th practitioner (modulo the pool) of a role.
    pub(crate) fn pick(&self, role: Role, n: u64) -> &str {
        let count = self.with_role(role).count().max(1) as u64;
        let wanted = usize::try_from(n % count).unwrap_or(0);
        self.with_role(role)
            .nth(wanted)
            .map_or("", |p| p.id.as_str())
    }

    /// Every directory resource, each after those it refers to.
    pub(crate) fn resources(&self) -> impl Iterator<Item = &Value> {
        self.organizations
            .iter()
            .map(|(_, _, r)| r)
            .chain(self.payers.iter().map(|(_, _, r)| r))
            .chain(self.locations.iter().map(|(_, _, r)| r))
            .chain(self.practitioners.iter().map(|p| &p.resource))
            .chain(self.roles.iter())
    }
}

fn organization(id: &str, source: Source, rng: &mut Rng) -> Value {
    let area = rng.pick(&AREA_CODES);
    json!({
        "resourceType": "Organization",
        "id": id,
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": npi(rng)}],
        "active": true,
        "type": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/organization-type",
            "code": "prov",
            "display": "Healthcare Provider"
        }]}],
        "name": source.organization_name(),
        "telecom": [{"system": "phone", "value": format!("({area}) 555-{}", rng.digits(4)), "use": "work"}],
    })
}

fn practitioner(id: &str, rng: &mut Rng) -> Value {
    let female = rng.chance(0.5);
    let given = if female {
        rng.pick(&FEMALE_GIVEN).0
    } else {
        rng.pick(&MALE_GIVEN).0
    };
    let family = rng.pick(&CLINICIAN_FAMILY);
    json!({
        "resourceType": "Practitioner",
        "id": id,
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": npi(rng)}],
        "active": true,
        "name": [{"use": "official", "family": family, "given": [given], "prefix": ["Dr."]}],
        "gender": if female { "female" } else { "male" },
    })
}

/// A National Provider Identifier: nine digits starting with 1 and the Luhn check digit
/// computed with the 80840 prefix, as CMS specifies, so NPI validators accept it.
fn npi(rng: &mut Rng) -> String {
    let body = format!("1{}", rng.digits(8));
    let check = luhn_check_digit(&format!("80840{body}"));
    format!("{body}{check}")
}

fn luhn_check_digit(digits: &str) -> u32 {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npi_check_digit_matches_the_cms_example() {
        // CMS's worked example: 123456789 has check digit 3.
        assert_eq!(luhn_check_digit("80840123456789"), 3);
    }

    #[test]
    fn every_role_has_practitioners() {
        let directory = Directory::new(7);
        for (role, count) in POOL {
            assert_eq!(directory.with_role(role).count(), count);
            assert!(!directory.pick(role, 12_345).is_empty());
        }
        for source in Source::ALL {
            assert!(!directory.organization(source).is_empty());
        }
        for payer in Payer::ALL {
            assert!(!directory.payer(payer).is_empty());
        }
        for place in Place::ALL {
            assert!(!directory.location(place).is_empty());
        }
        assert_eq!(directory.roles.len(), directory.practitioners.len());
    }
}
