//! Errors of the FHIRPath engine: parsing (syntax, unsupported function) and evaluation.

use thiserror::Error;

/// Why an expression could not be parsed. Offsets are byte offsets into the expression.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParseError {
    #[error("unexpected character {found:?} at {offset}")]
    UnexpectedChar { offset: usize, found: char },
    #[error("unterminated string or comment starting at {offset}")]
    Unterminated { offset: usize },
    #[error("invalid escape sequence at {offset}")]
    BadEscape { offset: usize },
    #[error("invalid number at {offset}")]
    BadNumber { offset: usize },
    #[error("expected {expected} at {offset}")]
    Expected {
        expected: &'static str,
        offset: usize,
    },
    #[error("unsupported function {name}() at {offset}")]
    UnsupportedFunction { name: String, offset: usize },
    #[error("function {name}() takes {min} to {max} argument(s), got {found}")]
    Arity {
        name: String,
        min: usize,
        max: usize,
        found: usize,
    },
    #[error("expression has more than {max} tokens")]
    TooLong { max: usize },
    #[error("expression nests deeper than {max} levels")]
    TooDeep { max: usize },
}

/// Why an expression could not be evaluated against a resource.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EvalError {
    #[error("{function}() expects a single item, got {count}")]
    NotSingleton {
        function: &'static str,
        count: usize,
    },
    #[error("{operation} is not defined for these operand types")]
    TypeMismatch { operation: &'static str },
    #[error("unknown external constant %{0}")]
    UnknownConstant(String),
    #[error("{0} is not supported")]
    Unsupported(&'static str),
}
