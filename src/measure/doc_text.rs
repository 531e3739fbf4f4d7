//! The strings of parsed documents. FHIR data repeats a small vocabulary in every resource:
//! element names (every key), code systems, statuses, units. Those are shared static strings,
//! found in a table, so parsing allocates (and freeing walks) only for the rest; keys were
//! half of all the allocations a population run made.

use std::collections::HashSet;
use std::fmt;
use std::hash::BuildHasherDefault;
use std::ops::Deref;
use std::sync::LazyLock;

use super::model::FxHasher;

/// A string of a document: shared when it is in the vocabulary, owned otherwise.
#[derive(Clone)]
pub enum Text {
    Shared(&'static str),
    Owned(Box<str>),
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Shared(s) => s,
            Text::Owned(s) => s,
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        shared(s).map_or_else(|| Text::Owned(s.into()), Text::Shared)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        shared(&s).map_or_else(|| Text::Owned(s.into_boxed_str()), Text::Shared)
    }
}

/// The vocabulary's copy of `s`, if it has one.
fn shared(s: &str) -> Option<&'static str> {
    // Longer strings are rarely repeated vocabulary; skipping them skips hashing them.
    if s.len() > LONGEST {
        return None;
    }
    VOCABULARY.get(s).copied()
}

static VOCABULARY: LazyLock<HashSet<&'static str, BuildHasherDefault<FxHasher>>> =
    LazyLock::new(|| words().collect());

const LONGEST: usize = 80;

/// The vocabulary: words separated by whitespace, `#` lines are comments.
const WORDS: &str = include_str!("doc_vocabulary.txt");

fn words() -> impl Iterator<Item = &'static str> {
    WORDS
        .lines()
        .filter(|line| !line.starts_with('#'))
        .flat_map(str::split_whitespace)
}

#[cfg(test)]
mod tests {
    use super::{words, Text, LONGEST};

    #[test]
    fn vocabulary_is_shared_and_other_text_owned() {
        assert!(matches!(Text::from("resourceType"), Text::Shared(_)));
        assert!(matches!(
            Text::from("http://loinc.org".to_owned()),
            Text::Shared(_)
        ));
        let other = Text::from("Systolic blood pressure");
        assert!(matches!(other, Text::Owned(_)));
        assert_eq!(&*other, "Systolic blood pressure");
        assert_eq!(Text::from("final"), Text::from("final".to_owned()));
        assert!(words().count() > 300);
        assert!(
            words().all(|w| w.len() <= LONGEST),
            "a word is never looked up"
        );
    }
}
