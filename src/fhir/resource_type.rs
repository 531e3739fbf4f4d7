use std::fmt;
use std::str::FromStr;

use super::resource_types::RESOURCE_TYPES;

/// A resource type name known to FHIR R4. Holding one proves the name is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceType(&'static str);

#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a FHIR R4 resource type")]
pub struct UnknownResourceType(pub String);

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        self.0
    }

    pub fn all() -> impl Iterator<Item = ResourceType> {
        RESOURCE_TYPES.iter().map(|name| ResourceType(name))
    }
}

impl FromStr for ResourceType {
    type Err = UnknownResourceType;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        RESOURCE_TYPES
            .binary_search(&name)
            .map(|index| ResourceType(RESOURCE_TYPES[index]))
            .map_err(|_| UnknownResourceType(truncate_for_message(name)))
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Echoing untrusted input back is useful, but not a megabyte of it.
pub fn truncate_for_message(text: &str) -> String {
    const LIMIT: usize = 64;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_for_binary_search() {
        assert!(RESOURCE_TYPES.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(RESOURCE_TYPES.len(), 146);
    }

    #[test]
    fn parses_known_and_rejects_unknown() {
        assert_eq!(
            "Patient".parse::<ResourceType>().map(|t| t.as_str()).ok(),
            Some("Patient")
        );
        assert!("patient".parse::<ResourceType>().is_err());
        assert!("Foo".parse::<ResourceType>().is_err());
    }
}
