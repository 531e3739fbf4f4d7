//! Who a patient is, and how each source system's registration of them differs: the feed
//! variations record linkage has to cope with (nickname, typo, missing phone, old address).

use serde::Serialize;
use serde_json::{json, Value};

use super::clock::{date, days_from_civil};
use super::names::{AREA_CODES, FAMILY, FEMALE_GIVEN, MALE_GIVEN, STREETS, TOWNS};
use super::rng::Rng;
use super::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sex {
    Female,
    Male,
}

#[derive(Debug, Clone)]
pub(crate) struct Address {
    line: String,
    city: &'static str,
    state: &'static str,
    zip: String,
}

impl Address {
    fn random(rng: &mut Rng) -> Self {
        let (city, state, zip3) = *rng.pick(&TOWNS);
        let mut line = format!("{} {}", rng.range(1, 9999), rng.pick(&STREETS));
        if rng.chance(0.2) {
            line.push_str(&format!(" Apt {}", rng.range(1, 40)));
        }
        Self {
            line,
            city,
            state,
            zip: format!("{zip3}{}", rng.digits(2)),
        }
    }

    fn to_fhir(&self) -> Value {
        json!({
            "use": "home",
            "line": [self.line],
            "city": self.city,
            "state": self.state,
            "postalCode": self.zip,
            "country": "US",
        })
    }
}

/// OMB race and ethnicity categories (CDC race & ethnicity code system), with US shares.
const RACES: [(&str, &str); 5] = [
    ("2106-3", "White"),
    ("2054-5", "Black or African American"),
    ("2028-9", "Asian"),
    ("1002-5", "American Indian or Alaska Native"),
    ("2076-8", "Native Hawaiian or Other Pacific Islander"),
];
const RACE_WEIGHTS: [f64; 5] = [0.72, 0.14, 0.07, 0.02, 0.05];
const CDC_RACE_ETHNICITY: &str = "urn:oid:2.16.840.1.113883.6.238";

/// A variation one source's registration of the person carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variation {
    Nickname,
    Typo,
    MissingPhone,
    OldAddress,
}

/// How one source registered the person.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub(crate) source: Source,
    pub(crate) patient_id: String,
    pub(crate) mrn: String,
    pub(crate) variations: Vec<Variation>,
    typo_family: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) id: String,
    pub(crate) sex: Sex,
    pub(crate) birth: i64,
    given: &'static str,
    nickname: &'static str,
    family: &'static str,
    middle_initial: char,
    phone: String,
    address: Address,
    /// Where the person lived before moving during the simulated years, if they moved.
    old_address: Option<Address>,
    race: usize,
    hispanic: bool,
    pub(crate) registrations: Vec<Registration>,
}

impl Person {
    /// Draws a person alive on `end_day`. Every draw happens here, in a fixed order, so the
    /// rest of a life can use the same stream without shifting demographics.
    pub(crate) fn draw(rng: &mut Rng, end_day: i64) -> Self {
        let sex = if rng.chance(0.52) {
            Sex::Female
        } else {
            Sex::Male
        };
        // Age bands of a primary-care panel, children to the very old.
        let band = rng.weighted(&[0.14, 0.12, 0.14, 0.15, 0.17, 0.15, 0.09, 0.04]);
        let age_years = (band as i64) * 12 + rng.range(0, 11);
        let birth = end_day - age_years * 365 - rng.range(0, 364);
        let (given, nickname) = match sex {
            Sex::Female => *rng.pick(&FEMALE_GIVEN),
            Sex::Male => *rng.pick(&MALE_GIVEN),
        };
        let family = *rng.pick(&FAMILY);
        let middle_initial = char::from(b'A' + u8::try_from(rng.range(0, 25)).unwrap_or(0));
        let phone = format!(
            "({}) {}-{}",
            rng.pick(&AREA_CODES),
            rng.range(200, 989),
            rng.digits(4)
        );
        let address = Address::random(rng);
        let old_address = rng.chance(0.15).then(|| Address::random(rng));
        let race = rng.weighted(&RACE_WEIGHTS);
        let hispanic = rng.chance(0.18);
        let id = rng.uuid();
        let mut person = Self {
            id,
            sex,
            birth,
            given,
            nickname,
            family,
            middle_initial,
            phone,
            address,
            old_address,
            race,
            hispanic,
            registrations: Vec::with_capacity(3),
        };
        for source in Source::ALL {
            let registration = person.register(source, rng);
            person.registrations.push(registration);
        }
        person
    }

    fn register(&self, source: Source, rng: &mut Rng) -> Registration {
        let patient_id = rng.uuid();
        let mrn = source.mrn(rng);
        // Draw every variation's dice whatever the source, to keep the stream aligned.
        let nickname = rng.chance(0.35) && self.nickname != self.given;
        let typo = rng.chance(0.08);
        let missing_phone = rng.chance(0.3);
        let old_address = rng.chance(0.7) && self.old_address.is_some();
        let typo_family = misspell(self.family, rng);
        let mut variations = Vec::new();
        // The medical home is the best-kept registration; the others drift.
        if source != Source::Clinic {
            if nickname {
                variations.push(Variation::Nickname);
            }
            if typo {
                variations.push(Variation::Typo);
            }
            if missing_phone {
                variations.push(Variation::MissingPhone);
            }
            if old_address {
                variations.push(Variation::OldAddress);
            }
        }
        Registration {
            source,
            patient_id,
            mrn,
            variations,
            typo_family,
        }
    }

    pub(crate) fn registration(&self, source: Source) -> Option<&Registration> {
        self.registrations.iter().find(|r| r.source == source)
    }

    pub(crate) fn gender(&self) -> &'static str {
        match self.sex {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }

    /// The Patient resource a source sends for this person.
    pub(crate) fn patient(
        &self,
        registration: &Registration,
        organization: &str,
        gp: Option<&str>,
    ) -> Value {
        let has = |v: Variation| registration.variations.contains(&v);
        let given = if has(Variation::Nickname) {
            self.nickname
        } else {
            self.given
        };
        let family = if has(Variation::Typo) {
            registration.typo_family.as_str()
        } else {
            self.family
        };
        let mut given_names = vec![given.to_owned()];
        if registration.source == Source::Clinic {
            given_names.push(self.middle_initial.to_string());
        }
        let address = match (&self.old_address, has(Variation::OldAddress)) {
            (Some(old), true) => old,
            _ => &self.address,
        };
        let (race_code, race_display) = RACES.get(self.race).copied().unwrap_or(RACES[0]);
        let (eth_code, eth_display) = if self.hispanic {
            ("2135-2", "Hispanic or Latino")
        } else {
            ("2186-5", "Not Hispanic or Latino")
        };
        let mut patient = json!({
            "resourceType": "Patient",
            "id": registration.patient_id,
            "extension": [
                {
                    "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                    "extension": [
                        {"url": "ombCategory", "valueCoding": {"system": CDC_RACE_ETHNICITY, "code": race_code, "display": race_display}},
                        {"url": "text", "valueString": race_display}
                    ]
                },
                {
                    "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
                    "extension": [
                        {"url": "ombCategory", "valueCoding": {"system": CDC_RACE_ETHNICITY, "code": eth_code, "display": eth_display}},
                        {"url": "text", "valueString": eth_display}
                    ]
                }
            ],
            "identifier": [{
                "use": "usual",
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR", "display": "Medical record number"}]},
                "system": registration.source.mrn_system(),
                "value": registration.mrn,
            }],
            "active": true,
            "name": [{"use": "official", "family": family, "given": given_names}],
            "gender": self.gender(),
            "birthDate": date(self.birth),
            "address": [address.to_fhir()],
            "managingOrganization": {"reference": format!("Organization/{organization}")},
        });
        if let Some(object) = patient.as_object_mut() {
            if !has(Variation::MissingPhone) {
                object.insert(
                    "telecom".into(),
                    json!([{"system": "phone", "value": self.phone, "use": "home"}]),
                );
            }
            if let Some(gp) = gp {
                object.insert(
                    "generalPractitioner".into(),
                    json!([{"reference": format!("Practitioner/{gp}")}]),
                );
            }
        }
        patient
    }
}

/// The family name with one realistic keying error: two letters swapped, one doubled, or one
/// dropped.
fn misspell(name: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let len = chars.len();
    if len < 4 {
        return format!("{name}{}", chars.last().copied().unwrap_or('e'));
    }
    let at = usize::try_from(rng.range(1, (len - 2) as i64)).unwrap_or(1);
    match rng.range(0, 2) {
        0 => chars.swap(at, at + 1),
        1 => chars.insert(at, chars[at]),
        _ => {
            chars.remove(at);
        }
    }
    let typo: String = chars.into_iter().collect();
    if typo == name {
        format!("{name}e")
    } else {
        typo
    }
}

/// First day of the simulated window: January 1st, `years` years before the end year's end.
pub(crate) fn window_start(end_year: i64, years: i64) -> i64 {
    days_from_civil(end_year - years + 1, 1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_always_differ_from_the_name() {
        let mut rng = Rng::for_person(3, 0);
        for name in FAMILY {
            for _ in 0..20 {
                let typo = misspell(name, &mut rng);
                assert_ne!(typo, name);
                assert!(typo.len().abs_diff(name.len()) <= 1);
            }
        }
    }
}
