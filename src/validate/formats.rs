//! Hand-written checks for the FHIR string primitives, registered as JSON-schema formats.
//!
//! The published schema checks these with `pattern`s. jsonschema compiles a fresh regex for every
//! place a primitive is used once `$ref`s are inlined, which made compiling all 146 validators
//! take seconds and most of a gigabyte. These functions are shared by every validator, run in one
//! pass without a regex engine, and also check what the patterns cannot: that a date exists.
//! The R4 patterns are XML-schema regexes, where `\s` means only space, tab, CR and LF; read as
//! JSON-schema (ECMA) regexes they also forbid no-break spaces and the like, which the official
//! examples contain. These checks use the XML-schema meaning, so `string` is any non-empty
//! text (R5 states it as `^[\s\S]+$`). Beyond the patterns, dates must exist (`2023-02-30`).

/// The format name the pruned schemas use for a primitive.
pub(crate) fn format_name(primitive: &str) -> String {
    format!("fhir-{primitive}")
}

/// The primitive a format name stands for.
pub(crate) fn primitive_of_format(format: &str) -> Option<&str> {
    format.strip_prefix("fhir-")
}

/// A check of one primitive's lexical form.
pub(crate) type Check = fn(&str) -> bool;

/// Every primitive checked by a format, with its check.
pub(crate) const CHECKS: &[(&str, Check)] = &[
    ("string", is_string),
    ("uri", is_uri),
    ("code", is_code),
    ("id", is_id),
    ("oid", is_oid),
    ("uuid", is_uuid),
    ("base64Binary", is_base64),
    ("date", is_date),
    ("dateTime", is_date_time),
    ("instant", is_instant),
    ("time", is_time),
];

/// `\s` of XML schema: space, tab, CR, LF.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// `[ \r\n\t\S]+`, which in XML-schema terms is any non-empty text.
fn is_string(s: &str) -> bool {
    !s.is_empty()
}

/// `\S*`: no whitespace at all (uri, url, canonical).
fn is_uri(s: &str) -> bool {
    !s.chars().any(is_space)
}

/// `[^\s]+(\s[^\s]+)*`: non-empty, single whitespace between words only.
fn is_code(s: &str) -> bool {
    let mut previous_space = true; // so leading whitespace fails
    for c in s.chars() {
        let space = is_space(c);
        if space && previous_space {
            return false;
        }
        previous_space = space;
    }
    !previous_space
}

/// `[A-Za-z0-9\-\.]{1,64}`.
fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// `urn:oid:[0-2](\.(0|[1-9][0-9]*))+`.
fn is_oid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("urn:oid:") else {
        return false;
    };
    let mut arcs = rest.split('.');
    let first_ok = matches!(arcs.next(), Some("0" | "1" | "2"));
    let mut count = 0;
    let rest_ok = arcs.all(|arc| {
        count += 1;
        is_digits(arc) && (arc == "0" || !arc.starts_with('0'))
    });
    first_ok && rest_ok && count > 0
}

/// `urn:uuid:` and a lowercase 8-4-4-4-12 hex UUID.
fn is_uuid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    let groups: Vec<&str> = rest.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, len)| {
            g.len() == len
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// `(\s*([0-9a-zA-Z\+/=]){4}\s*)+`: groups of four base64 characters, whitespace only between
/// groups.
fn is_base64(s: &str) -> bool {
    let mut symbols = 0usize;
    for c in s.chars() {
        if is_space(c) {
            if !symbols.is_multiple_of(4) {
                return false;
            }
        } else if c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=') {
            symbols += 1;
        } else {
            return false;
        }
    }
    symbols > 0 && symbols.is_multiple_of(4)
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, year not 0000, and the day must exist in that month.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(year) = number(b, 0, 4).filter(|y| *y > 0) else {
        return false;
    };
    match b.len() {
        4 => true,
        7 => b[4] == b'-' && month(b, 5).is_some(),
        10 => {
            b[4] == b'-'
                && b[7] == b'-'
                && month(b, 5).is_some_and(|m| {
                    number(b, 8, 2).is_some_and(|d| d >= 1 && d <= days_in_month(year, m))
                })
        }
        _ => false,
    }
}

/// A date, or a full date with `Thh:mm:ss[.f+]` and a time zone.
fn is_date_time(s: &str) -> bool {
    match s.len() {
        0..=10 => is_date(s),
        _ => is_instant(s),
    }
}

/// `YYYY-MM-DDThh:mm:ss[.f+]` with `Z` or `±hh:mm` (up to +14:00).
fn is_instant(s: &str) -> bool {
    let (Some(date), Some(rest)) = (s.get(..10), s.get(10..)) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('T') else {
        return false;
    };
    if date.len() != 10 || !is_date(date) {
        return false;
    }
    let zone_at = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    is_time(time) && is_zone(zone)
}

/// `hh:mm:ss[.f+]`, hours 00-23, seconds up to 60 (leap second).
fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    let clock = b.len() >= 8
        && b[2] == b':'
        && b[5] == b':'
        && number(b, 0, 2).is_some_and(|h| h <= 23)
        && number(b, 3, 2).is_some_and(|m| m <= 59)
        && number(b, 6, 2).is_some_and(|sec| sec <= 60);
    clock
        && match s.get(8..) {
            Some("") => true,
            Some(fraction) => fraction
                .strip_prefix('.')
                .is_some_and(|digits| !digits.is_empty() && is_digits(digits)),
            None => false,
        }
}

/// `Z`, or `±hh:mm` with hours 00-13 (any minutes) or exactly 14:00.
fn is_zone(s: &str) -> bool {
    if s == "Z" {
        return true;
    }
    let b = s.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && match (number(b, 1, 2), number(b, 4, 2)) {
            (Some(h), Some(m)) => (h <= 13 && m <= 59) || (h == 14 && m == 0),
            _ => false,
        }
}

fn month(b: &[u8], at: usize) -> Option<u32> {
    number(b, at, 2).filter(|m| (1..=12).contains(m))
}

/// The decimal number in `b[at..at + len]`, if those are all ASCII digits.
fn number(b: &[u8], at: usize, len: usize) -> Option<u32> {
    let digits = b.get(at..at + len)?;
    digits.iter().try_fold(0u32, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_r4_pattern_and_the_calendar() {
        for ok in ["2024", "2024-02", "2024-02-29", "0001-01-01", "2000-02-29"] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "0000",
            "2025-13-45",
            "2023-02-29",
            "1900-02-29",
            "2024-04-31",
            "2024-1-01",
            "24",
            "2024-00",
            "2024-01-00",
            "2024/01/01",
            "2024-01-01T00:00:00Z",
            "",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn date_times_need_a_zone_when_they_have_a_time() {
        for ok in [
            "2024",
            "2024-05-01",
            "2024-05-01T09:30:00Z",
            "2024-05-01T09:30:00.123+14:00",
            "2024-05-01T23:59:60-13:59",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "2024-05-01T09:30:00",
            "2024-05-01T09:30Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T09:30:00+14:30",
            "2024-05-01T09:30:00.Z",
            "2024-05-01 09:30:00Z",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
        assert!(!is_instant("2024-05-01"));
        assert!(is_instant("2024-05-01T09:30:00Z"));
    }

    #[test]
    fn string_like_primitives() {
        assert!(is_string("a b\tc\r\nd") && is_string(" Seul\u{a0}") && !is_string(""));
        assert!(is_code("in progress") && !is_code(" x") && !is_code("x  y") && !is_code(""));
        assert!(is_code("CHEST\u{a0}"), "only XML-schema whitespace counts");
        assert!(is_id("a-B.9") && !is_id("a_b") && !is_id(&"x".repeat(65)));
        assert!(is_uri("http://x/y") && !is_uri("http://x y"));
        assert!(is_oid("urn:oid:2.16.840.1") && !is_oid("urn:oid:3.1") && !is_oid("urn:oid:1"));
        assert!(is_oid("urn:oid:1.0") && !is_oid("urn:oid:1.01"));
        assert!(is_uuid("urn:uuid:c757873d-ec9a-4326-a141-556f43239520"));
        assert!(!is_uuid("urn:uuid:C757873D-EC9A-4326-A141-556F43239520"));
        assert!(is_base64("aGVs bG8=") && is_base64("aGVsbG8=") && !is_base64("aGVsbG8"));
        assert!(!is_base64("aG Vs") && !is_base64(""));
        assert!(is_time("09:30:00") && is_time("09:30:00.5") && !is_time("9:30:00"));
    }
}
