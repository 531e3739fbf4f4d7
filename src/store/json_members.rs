//! The top-level members of a JSON object, found without parsing their values.
//!
//! The code filter reads one element of each stored body; serde's `IgnoredAny` skipped the
//! members before it token by token, most of the filter's cost. This walks the text
//! instead: strings are jumped over with a vectorised search for the closing quote, and
//! containers by counting brackets outside strings. It checks the structure of the object
//! itself (keys, colons, commas) but not the grammar inside the values it skips: stored
//! bodies are written by serde_json from a parsed value (`store::write::stamp`), so they are
//! valid JSON. Anything it does not expect ends the walk with `None`, and the caller falls
//! back to a full serde read.
//!
//! Why not a crate: serde_json (`RawValue`, `IgnoredAny`) and jiter skip a value by lexing
//! every token in it, the cost this avoids; sonic-rs's lazy `get` skips as this does, but
//! brings a second JSON parser with its own SIMD `unsafe` code for one 150-line job.

/// A member: its key as written (no escapes) and its value's text.
pub(crate) type Member<'a> = (&'a str, &'a str);

/// Walks the members of the object `text` holds, in order.
pub(crate) struct Members<'a> {
    text: &'a str,
    at: usize,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    First,
    Next,
    Done,
}

impl<'a> Members<'a> {
    pub(crate) fn new(text: &'a str) -> Members<'a> {
        Members {
            text,
            at: 0,
            state: State::First,
        }
    }

    /// The next member; `Some(None)` when the text is not what the walk expects (a
    /// non-object, a key with escapes, a truncated value), `None` after the closing brace.
    pub(crate) fn next_member(&mut self) -> Option<Option<Member<'a>>> {
        let b = self.text.as_bytes();
        let mut i = skip_ws(b, self.at);
        match self.state {
            State::Done => return None,
            State::First => {
                if b.get(i) != Some(&b'{') {
                    return self.fail();
                }
                i = skip_ws(b, i + 1);
                if b.get(i) == Some(&b'}') {
                    self.state = State::Done;
                    return None;
                }
            }
            State::Next => match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    self.state = State::Done;
                    return None;
                }
                _ => return self.fail(),
            },
        }
        self.state = State::Next;
        if b.get(i) != Some(&b'"') {
            return self.fail();
        }
        let Some(key_end) = skip_string(b, i) else {
            return self.fail();
        };
        let key = match self.text.get(i + 1..key_end - 1) {
            Some(k) if !k.contains('\\') => k,
            _ => return self.fail(),
        };
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return self.fail();
        }
        let start = skip_ws(b, i + 1);
        let Some(end) = skip_value(b, start) else {
            return self.fail();
        };
        let Some(value) = self.text.get(start..end) else {
            return self.fail();
        };
        self.at = end;
        Some(Some((key, value)))
    }

    fn fail(&mut self) -> Option<Option<Member<'a>>> {
        self.state = State::Done;
        Some(None)
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The index after the string that starts with the quote at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = j + memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        if b.get(k) == Some(&b'"') {
            return Some(k + 1);
        }
        // A backslash escapes the next byte (`\"`, `\\`, or the start of `\uXXXX`).
        j = k + 2;
    }
}

/// The index after the value that starts at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        // A number, `true`, `false` or `null`: up to the next delimiter.
        _ => {
            let mut j = i;
            while !matches!(
                b.get(j),
                None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            ) {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Members;

    fn all(text: &str) -> Vec<Option<(String, String)>> {
        let mut m = Members::new(text);
        let mut out = Vec::new();
        while let Some(member) = m.next_member() {
            out.push(member.map(|(k, v)| (k.to_owned(), v.to_owned())));
        }
        out
    }

    fn ok(pairs: &[(&str, &str)]) -> Vec<Option<(String, String)>> {
        pairs
            .iter()
            .map(|(k, v)| Some(((*k).to_owned(), (*v).to_owned())))
            .collect()
    }

    #[test]
    fn walks_members_of_every_kind_in_order() {
        let text = r#" { "a" : 1 , "b":"x\"}y\\","c":{"d":[1,{"e":"]"}]},"f":[],"g":true,"h":null,"i":-2.5e3 } "#;
        assert_eq!(
            all(text),
            ok(&[
                ("a", "1"),
                ("b", r#""x\"}y\\""#),
                ("c", r#"{"d":[1,{"e":"]"}]}"#),
                ("f", "[]"),
                ("g", "true"),
                ("h", "null"),
                ("i", "-2.5e3"),
            ])
        );
        assert_eq!(all("{}"), ok(&[]));
    }

    #[test]
    fn stops_with_none_on_what_it_does_not_expect() {
        assert_eq!(all("[1]"), vec![None]);
        assert_eq!(all("not json"), vec![None]);
        assert_eq!(all(r#"{"a\u0062":1}"#), vec![None]);
        assert_eq!(all(r#"{"a":{"b":1"#), vec![None]);
        // An unclosed object: its complete members, then the failure.
        assert_eq!(
            all(r#"{"a":{"b":1}"#),
            vec![ok(&[("a", r#"{"b":1}"#)])[0].clone(), None]
        );
        assert_eq!(all(r#"{"a":"open"#), vec![None]);
        assert_eq!(
            all(r#"{"a":1 "b":2}"#),
            vec![ok(&[("a", "1")])[0].clone(), None]
        );
        assert_eq!(all(r#"{"a":}"#), vec![None]);
    }
}
