//! Tokenizer for FHIRPath (N1 grammar subset that covers literals, identifiers, operators and
//! the punctuation of invocations).

use super::error::ParseError;

/// One lexical token with the byte offset where it starts (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// A plain or `backtick`-delimited identifier.
    Ident(String),
    /// A single-quoted string literal, escapes already resolved.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A decimal literal, kept as text so precision is not lost.
    Decimal(String),
    /// A date/time literal after `@`, without the `@`.
    DateTime(String),
    /// `%name` or `%'name'` external constant.
    Constant(String),
    /// `$this`, `$index`, `$total`.
    Special(String),
    Symbol(&'static str),
    Eof,
}

const SYMBOLS: &[&str] = &[
    "<=", ">=", "!=", "!~", ".", "(", ")", "[", "]", "{", "}", ",", "|", "=", "~", "<", ">", "+",
    "-", "*", "/", "&",
];

/// Splits `src` into tokens, ending with [`TokenKind::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if src[i..].starts_with("//") {
            i = src[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        }
        if src[i..].starts_with("/*") {
            let end = src[i + 2..]
                .find("*/")
                .ok_or(ParseError::Unterminated { offset: i })?;
            i += end + 4;
            continue;
        }
        let start = i;
        let kind = if c.is_ascii_alphabetic() || c == b'_' {
            i = scan_ident(bytes, i);
            TokenKind::Ident(src[start..i].to_owned())
        } else if c == b'`' {
            let (text, next) = scan_quoted(src, i, b'`')?;
            i = next;
            TokenKind::Ident(text)
        } else if c == b'\'' {
            let (text, next) = scan_quoted(src, i, b'\'')?;
            i = next;
            TokenKind::Str(text)
        } else if c.is_ascii_digit() {
            let (kind, next) = scan_number(src, i)?;
            i = next;
            kind
        } else if c == b'@' {
            i += 1;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || b"-:.+TZ".contains(&bytes[i]))
            {
                i += 1;
            }
            TokenKind::DateTime(src[start + 1..i].to_owned())
        } else if c == b'%' {
            if bytes.get(i + 1) == Some(&b'\'') || bytes.get(i + 1) == Some(&b'`') {
                let quote = bytes[i + 1];
                let (text, next) = scan_quoted(src, i + 1, quote)?;
                i = next;
                TokenKind::Constant(text)
            } else {
                i = scan_ident(bytes, i + 1);
                TokenKind::Constant(src[start + 1..i].to_owned())
            }
        } else if c == b'$' {
            i = scan_ident(bytes, i + 1);
            TokenKind::Special(src[start + 1..i].to_owned())
        } else if let Some(sym) = SYMBOLS.iter().find(|s| src[i..].starts_with(**s)) {
            i += sym.len();
            TokenKind::Symbol(sym)
        } else {
            return Err(ParseError::UnexpectedChar {
                offset: i,
                found: src[i..].chars().next().unwrap_or(' '),
            });
        };
        tokens.push(Token {
            kind,
            offset: start,
        });
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        offset: src.len(),
    });
    Ok(tokens)
}

fn scan_ident(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    i
}

/// Reads a quoted string starting at the opening quote; returns the unescaped text and the
/// offset after the closing quote.
fn scan_quoted(src: &str, start: usize, quote: u8) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((n, ch)) = chars.next() {
        if ch as u32 == u32::from(quote) {
            return Ok((out, start + 1 + n + 1));
        }
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        let Some((_, esc)) = chars.next() else { break };
        match esc {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'f' => out.push('\u{c}'),
            'u' => {
                let hex: String = chars.by_ref().take(4).map(|(_, h)| h).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or(ParseError::BadEscape { offset: start + n })?;
                out.push(code);
            }
            other => out.push(other),
        }
    }
    Err(ParseError::Unterminated { offset: start })
}

fn scan_number(src: &str, start: usize) -> Result<(TokenKind, usize), ParseError> {
    let bytes = src.as_bytes();
    let mut i = start;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    // A `.` followed by a digit makes a decimal; otherwise it is an invocation (`1.toString()`).
    if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        return Ok((TokenKind::Decimal(src[start..i].to_owned()), i));
    }
    let value = src[start..i]
        .parse::<i64>()
        .map_err(|_| ParseError::BadNumber { offset: start })?;
    Ok((TokenKind::Int(value), i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn tokenizes_paths_strings_and_operators() {
        assert_eq!(
            kinds("a.where(type='x\\'y') != 1.5"),
            vec![
                TokenKind::Ident("a".into()),
                TokenKind::Symbol("."),
                TokenKind::Ident("where".into()),
                TokenKind::Symbol("("),
                TokenKind::Ident("type".into()),
                TokenKind::Symbol("="),
                TokenKind::Str("x'y".into()),
                TokenKind::Symbol(")"),
                TokenKind::Symbol("!="),
                TokenKind::Decimal("1.5".into()),
                TokenKind::Eof,
            ]
        );
    }

    #[test]
    fn tokenizes_constants_dates_and_indexers() {
        assert_eq!(
            kinds("%resource.x[0] | @2020-01-01T10:00:00Z | $this"),
            vec![
                TokenKind::Constant("resource".into()),
                TokenKind::Symbol("."),
                TokenKind::Ident("x".into()),
                TokenKind::Symbol("["),
                TokenKind::Int(0),
                TokenKind::Symbol("]"),
                TokenKind::Symbol("|"),
                TokenKind::DateTime("2020-01-01T10:00:00Z".into()),
                TokenKind::Symbol("|"),
                TokenKind::Special("this".into()),
                TokenKind::Eof,
            ]
        );
    }

    #[test]
    fn rejects_unterminated_string() {
        assert!(matches!(
            tokenize("a = 'x"),
            Err(ParseError::Unterminated { .. })
        ));
    }
}
