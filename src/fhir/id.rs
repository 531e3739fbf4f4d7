use std::fmt;

use super::resource_type::truncate_for_message;

/// A logical resource id: `[A-Za-z0-9\-\.]{1,64}` (FHIR R4 `id` datatype).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(String);

#[derive(Debug, thiserror::Error)]
#[error(
    "'{0}' is not a valid resource id: ids are 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'"
)]
pub struct IdError(pub String);

impl Id {
    pub fn parse(text: &str) -> Result<Id, IdError> {
        let valid = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if valid {
            Ok(Id(text.to_owned()))
        } else {
            Err(IdError(truncate_for_message(text)))
        }
    }

    /// A fresh server-assigned id.
    pub fn generate() -> Id {
        Id(uuid::Uuid::new_v4().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_ids_and_rejects_others() {
        assert!(Id::parse("example").is_ok());
        assert!(Id::parse("a.b-C9").is_ok());
        assert!(Id::parse(&"x".repeat(64)).is_ok());
        assert!(Id::parse(&"x".repeat(65)).is_err());
        assert!(Id::parse("").is_err());
        assert!(Id::parse("has space").is_err());
        assert!(Id::parse("slash/inside").is_err());
        assert!(Id::parse(&Id::generate().to_string()).is_ok());
    }
}
