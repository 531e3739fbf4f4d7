//! The syntax tree a parsed FHIRPath expression is held in. Built once, evaluated many times.

/// A FHIRPath expression node.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Literal),
    /// `{}`: the empty collection.
    Empty,
    /// `$this`, `$index`, `$total`.
    This,
    IndexVar,
    Total,
    /// `%name`.
    Constant(String),
    /// An identifier that starts with an upper-case letter at the start of a path, such as
    /// `Observation` in `Observation.code`: it selects the context when the context is of that
    /// type (FHIR element names always start in lower case).
    TypeName(String),
    /// `target.name`, or `name` on the current context when `target` is `None`.
    Member {
        target: Option<Box<Expr>>,
        name: String,
    },
    /// `target.f(args)`, or `f(args)` on the current context when `target` is `None`.
    Call {
        target: Option<Box<Expr>>,
        function: Function,
        args: Vec<Expr>,
    },
    /// `target[index]`.
    Indexer(Box<Expr>, Box<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `expr is T` / `expr as T`, also `ofType(T)`, `.is(T)` and `.as(T)`.
    Type {
        op: TypeOp,
        expr: Box<Expr>,
        spec: TypeSpec,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Boolean(bool),
    String(String),
    Integer(i64),
    Decimal(f64),
    /// `@2020-01-01`, `@2020-01-01T10:00Z`, `@T10:00`: kept as written (without the `@`).
    DateTime(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Plus,
    Minus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Mul,
    Div,
    IntDiv,
    Mod,
    Add,
    Sub,
    Concat,
    Union,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Equiv,
    Ne,
    NotEquiv,
    In,
    Contains,
    And,
    Or,
    Xor,
    Implies,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeOp {
    /// `is`: true when the single item is of the type.
    Is,
    /// `as`: the items of the type (lenient on collections, as FHIR search expressions need).
    As,
    /// `ofType()`: the items of the type.
    OfType,
}

/// A type specifier such as `Quantity`, `FHIR.Patient` or `System.String`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSpec {
    pub namespace: Option<String>,
    pub name: String,
}

/// The functions the engine knows; unknown names are rejected when parsing, so a parsed
/// expression never fails later for lack of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Where,
    Select,
    Exists,
    Empty,
    All,
    AllTrue,
    AnyTrue,
    First,
    Last,
    Tail,
    Skip,
    Take,
    Single,
    Count,
    Distinct,
    Not,
    Resolve,
    Extension,
    HasValue,
    Iif,
    ToString,
    ToInteger,
    StartsWith,
    EndsWith,
    ContainsText,
    Lower,
    Upper,
    Length,
    Children,
    Descendants,
    Union,
    Combine,
    Trace,
}

impl Function {
    /// Looks a function up by name, with the range of argument counts it accepts.
    pub(crate) fn lookup(name: &str) -> Option<(Function, usize, usize)> {
        use Function as F;
        Some(match name {
            "where" => (F::Where, 1, 1),
            "select" => (F::Select, 1, 1),
            "exists" => (F::Exists, 0, 1),
            "empty" => (F::Empty, 0, 0),
            "all" => (F::All, 1, 1),
            "allTrue" => (F::AllTrue, 0, 0),
            "anyTrue" => (F::AnyTrue, 0, 0),
            "first" => (F::First, 0, 0),
            "last" => (F::Last, 0, 0),
            "tail" => (F::Tail, 0, 0),
            "skip" => (F::Skip, 1, 1),
            "take" => (F::Take, 1, 1),
            "single" => (F::Single, 0, 0),
            "count" => (F::Count, 0, 0),
            "distinct" => (F::Distinct, 0, 0),
            "not" => (F::Not, 0, 0),
            "resolve" => (F::Resolve, 0, 0),
            "extension" => (F::Extension, 1, 1),
            "hasValue" => (F::HasValue, 0, 0),
            "iif" => (F::Iif, 2, 3),
            "toString" => (F::ToString, 0, 0),
            "toInteger" => (F::ToInteger, 0, 0),
            "startsWith" => (F::StartsWith, 1, 1),
            "endsWith" => (F::EndsWith, 1, 1),
            "contains" => (F::ContainsText, 1, 1),
            "lower" => (F::Lower, 0, 0),
            "upper" => (F::Upper, 0, 0),
            "length" => (F::Length, 0, 0),
            "children" => (F::Children, 0, 0),
            "descendants" => (F::Descendants, 0, 0),
            "union" => (F::Union, 1, 1),
            "combine" => (F::Combine, 1, 1),
            "trace" => (F::Trace, 1, 2),
            _ => return None,
        })
    }

    /// Whether arguments are evaluated per input item (with `$this` bound) rather than once.
    pub(crate) fn iterates(self) -> bool {
        matches!(
            self,
            Function::Where | Function::Select | Function::All | Function::Exists
        )
    }
}
