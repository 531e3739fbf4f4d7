//! String normalisation for the default (case- and accent-insensitive, starts-with) string
//! search.

use std::borrow::Cow;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lower-cases `s` and strips accents (`Élodie Müller` → `elodie muller`), borrowing when `s`
/// is already normal.
pub fn normalize(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return Cow::Borrowed(s);
    }
    if s.is_ascii() {
        return Cow::Owned(s.to_ascii_lowercase());
    }
    let stripped: String = s.nfd().filter(|c| !is_combining_mark(*c)).collect();
    Cow::Owned(stripped.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_and_strips_accents() {
        assert_eq!(normalize("Élodie Müller-Øster"), "elodie muller-øster");
        assert_eq!(normalize("SMITH"), "smith");
        assert!(matches!(normalize("smith"), Cow::Borrowed("smith")));
        assert_eq!(normalize("Ñandú"), "nandu");
    }
}
