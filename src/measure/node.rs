//! The evaluation plan: ELM compiled once into nodes with every reference
//! (expressions, functions, parameters, aliases, value sets) resolved to an index.

use std::sync::Arc;

use super::datetime::Precision;
use super::value::Value;

/// A type as written in ELM (`NamedTypeSpecifier`, `ListTypeSpecifier`, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum TypeSpec {
    /// A CQL system type (`Integer`, `DateTime`, `Any`, ...).
    System(Arc<str>),
    /// A FHIR model type (`Observation`, `dateTime`, `Period`, ...).
    Fhir(Arc<str>),
    List(Box<TypeSpec>),
    Interval(Box<TypeSpec>),
    Choice(Vec<TypeSpec>),
    Tuple,
}

/// Targets of the `ConvertsToX` operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    Boolean,
    Date,
    DateTime,
    Decimal,
    Integer,
    Quantity,
    Ratio,
    String,
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op1 {
    Not,
    IsNull,
    IsTrue,
    IsFalse,
    Exists,
    Negate,
    Abs,
    Start,
    End,
    Width,
    Size,
    PointFrom,
    SingletonFrom,
    First,
    Last,
    Distinct,
    Flatten,
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Median,
    Mode,
    Product,
    GeometricMean,
    Variance,
    StdDev,
    PopulationVariance,
    PopulationStdDev,
    AllTrue,
    AnyTrue,
    ToStr,
    ToInteger,
    ToDecimal,
    ToDateTime,
    ToDate,
    ToTime,
    ToQuantity,
    ToConcept,
    ToList,
    ToBoolean,
    /// `ConvertsToX`: whether the `ToX` conversion (the wrapped operator) succeeds.
    ConvertsTo(Conversion),
    DateFrom,
    TimeFrom,
    TimezoneOffsetFrom,
    Component(Precision),
    Upper,
    Lower,
    Length,
    Predecessor,
    Successor,
    Truncate,
    Floor,
    Ceiling,
    Ln,
    Exp,
    ExpandValueSet,
    PrecisionOf,
    ToRatio,
    /// A string as the list of its characters.
    ToChars,
    /// Every child element of a FHIR value, tuple or list members.
    Children,
    /// Children, recursively.
    Descendents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op2 {
    And,
    Or,
    Xor,
    Implies,
    Equal,
    NotEqual,
    Equivalent,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
    Add,
    Subtract,
    Multiply,
    Divide,
    TruncatedDivide,
    Modulo,
    Power,
    Log,
    Round,
    In,
    Contains,
    ProperIn,
    ProperContains,
    Includes,
    IncludedIn,
    ProperIncludes,
    ProperIncludedIn,
    Overlaps,
    OverlapsBefore,
    OverlapsAfter,
    Before,
    After,
    SameAs,
    SameOrBefore,
    SameOrAfter,
    Meets,
    MeetsBefore,
    MeetsAfter,
    Starts,
    Ends,
    Union,
    Intersect,
    Except,
    DifferenceBetween,
    DurationBetween,
    CalculateAgeAt,
    IndexOf,
    Indexer,
    StartsWith,
    EndsWith,
    Matches,
    Split,
    Expand,
    CollapsePer,
    ConvertQuantity,
    InValueSet,
    AnyInValueSet,
    Times,
    SplitOnMatches,
    LowBoundary,
    HighBoundary,
    CanConvertQuantity,
    InCodeSystem,
    AnyInCodeSystem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpN {
    Coalesce,
    Concatenate,
    Date,
    DateTime,
    Time,
    Substring,
    Combine,
    PositionOf,
    LastPositionOf,
    Message,
    /// source, start index, end index (exclusive, null for the rest).
    Slice,
    Now,
    Today,
    TimeOfDay,
    /// argument, pattern, substitution.
    ReplaceMatches,
}

#[derive(Debug)]
pub enum Node {
    Lit(Value<'static>),
    ExprRef(usize),
    ParamRef(usize),
    /// A slot of the current frame: function operand, query alias or let.
    Slot(usize),
    Call(usize, Vec<Node>),
    /// Overloads chosen by the runtime types of the arguments.
    CallDyn(Vec<usize>, Vec<Node>),
    /// A FHIRHelpers conversion of one argument: native when the value has a
    /// direct system equivalent, else the (overloaded) ELM function.
    /// The flag limits the native path to Periods (`ToInterval`).
    Convert(Box<Node>, Vec<usize>, bool),
    Property(Box<Node>, Arc<str>),
    Retrieve(Box<Retrieve>),
    Query(Box<Query>),
    If(Box<[Node; 3]>),
    Case(Box<Case>),
    Op1(Op1, Box<Node>),
    Op2(Op2, Box<[Node; 2]>, Option<Precision>),
    OpN(OpN, Vec<Node>),
    List(Vec<Node>),
    Tuple(Vec<(Arc<str>, Node)>),
    Instance(Arc<str>, Vec<(Arc<str>, Node)>),
    /// low, high, low-closed, high-closed.
    Interval(Box<[Node; 4]>),
    Is(Box<Node>, TypeSpec),
    As(Box<Node>, TypeSpec, bool),
    /// A loaded value set.
    ValueSet(u32),
    /// A natively implemented external function.
    Native(super::native::Native, Vec<Node>),
    /// `Filter`, `ForEach`, `Repeat` and `Aggregate`: `body` evaluated per element.
    Iterate(Box<Iterate>),
    /// A row-invariant part of the enclosing query's clauses (see `hoist`): evaluated on
    /// first use in each evaluation of the query, then read from the query's table at the index.
    Hoisted(usize, Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IterKind {
    Filter,
    ForEach,
    Repeat,
    /// The generic `Aggregate`: the body's value becomes the next `$total`.
    Aggregate,
}

#[derive(Debug)]
pub struct Iterate {
    pub kind: IterKind,
    pub source: Node,
    pub body: Node,
    /// The element (`$this`, `Current`) is in `slot`, its 0-based index
    /// (`Iteration`) in `slot + 1` and the accumulator (`Total`) in `slot + 2`.
    pub slot: usize,
    /// `Aggregate`'s `initialValue` (null when absent).
    pub init: Option<Node>,
}

#[derive(Debug)]
pub struct Case {
    pub comparand: Option<Node>,
    pub items: Vec<(Node, Node)>,
    pub otherwise: Node,
}

#[derive(Debug)]
pub struct Retrieve {
    pub resource_type: &'static str,
    /// Only resources declaring this profile in `meta.profile` (non-base, non-QI-Core profiles).
    pub profile: Option<String>,
    /// LOINC code a vital-signs profile fixes on `Observation.code`.
    pub fixed_loinc: Option<&'static str>,
    /// The element a negation profile fixes (`status`, `doNotPerform`).
    pub negation: Option<super::compile_tables::FixedElement>,
    /// A positive QI-Core profile: resources declaring only a negation profile
    /// (say `qicore-medicationnotrequested` for `qicore-medicationrequest`) are left out.
    pub positive_profile: Option<String>,
    pub code_property: Option<Arc<str>>,
    pub codes: Option<Node>,
    /// Further code filters (`codeFilter` beyond the first): property and codes.
    pub more_codes: Vec<(Arc<str>, Node)>,
    /// Date filters: property path (FHIR choice allowed) and the range it must lie in.
    pub dates: Vec<DateFilter>,
    /// `context`: the retrieve is empty unless it evaluates to a value.
    pub context: Option<Node>,
    /// The filters read nothing that changes within a patient's evaluation, so the result
    /// is kept for the patient (see `hoist::retrieve_is_fixed`).
    pub fixed: bool,
}

/// `dateProperty`/`dateRange` or a `dateFilter` entry.
#[derive(Debug)]
pub struct DateFilter {
    /// Path of a single date-valued property, or `None` with `low`/`high` paths.
    pub property: Option<Arc<str>>,
    pub low_property: Option<Arc<str>>,
    pub high_property: Option<Arc<str>>,
    pub range: Node,
}

#[derive(Debug)]
pub struct Source {
    pub alias: Arc<str>,
    pub expr: Node,
    pub slot: usize,
}

#[derive(Debug)]
pub struct Relationship {
    pub source: Source,
    pub such_that: Node,
    pub without: bool,
}

#[derive(Debug)]
pub enum SortKey {
    Element,
    Column(Arc<str>),
    /// Expression evaluated with the row in `slot`.
    Expr(Node, usize),
}

#[derive(Debug)]
pub struct SortItem {
    pub desc: bool,
    pub key: SortKey,
}

#[derive(Debug)]
pub struct Aggregate {
    pub expr: Node,
    pub slot: usize,
    pub starting: Option<Node>,
    pub distinct: bool,
}

#[derive(Debug)]
pub struct Query {
    pub sources: Vec<Source>,
    pub lets: Vec<Source>,
    pub relationships: Vec<Relationship>,
    pub where_: Option<Node>,
    pub ret: Option<(Node, bool)>,
    pub aggregate: Option<Aggregate>,
    pub sort: Vec<SortItem>,
    /// How many row-invariant parts the clauses hold (`Node::Hoisted` indexes).
    pub hoisted: usize,
    /// Answered from a per-patient index of the rows' ids (see `keyed`).
    pub keyed: Option<super::keyed::KeyedBy>,
}

/// A compiled expression definition or function.
#[derive(Debug)]
pub struct Def {
    pub library: Arc<str>,
    pub name: Arc<str>,
    pub operands: Vec<TypeSpec>,
    pub body: Node,
    pub frame: usize,
    /// Expression definitions (not functions) are cached per patient.
    pub function: bool,
}
