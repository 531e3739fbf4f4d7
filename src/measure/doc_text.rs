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
    let vocabulary = &*VOCABULARY;
    // Most text that is not vocabulary (dates, ids, references, display text) is turned away
    // by its first byte and length alone, without hashing it.
    let (&first, len) = (s.as_bytes().first()?, s.len());
    let lengths = vocabulary.lengths_by_first_byte[usize::from(first)];
    if len > LONGEST || lengths & (1 << len) == 0 {
        return None;
    }
    vocabulary.words.get(s).copied()
}

struct Vocabulary {
    words: HashSet<&'static str, BuildHasherDefault<FxHasher>>,
    /// Per first byte, bit `n` set when some word starting with it is `n` bytes long.
    lengths_by_first_byte: [u128; 256],
}

static VOCABULARY: LazyLock<Vocabulary> = LazyLock::new(|| {
    let mut lengths_by_first_byte = [0u128; 256];
    for word in words() {
        if let (Some(&first), true) = (word.as_bytes().first(), word.len() <= LONGEST) {
            lengths_by_first_byte[usize::from(first)] |= 1 << word.len();
        }
    }
    Vocabulary {
        words: words().collect(),
        lengths_by_first_byte,
    }
});

/// Longer words are never looked up (below 128, the bits of a length mask).
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
        assert!(words().all(|w| matches!(Text::from(w), Text::Shared(_))));
        for other in [
            "2025-06-01",
            "Practitioner/4d2a2b6e",
            "",
            "resourceTyp",
            "finals",
        ] {
            assert!(matches!(Text::from(other), Text::Owned(_)), "{other}");
        }
        assert!(
            words().all(|w| w.len() <= LONGEST),
            "a word is never looked up"
        );
    }
}
