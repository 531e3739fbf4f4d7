//! Lookup tables and literal parsing for the ELM compiler.

use std::sync::Arc;

use super::compile::s;
use super::datetime::DateTime;
use super::node::{Conversion, Op1, Op2, TypeSpec};
use super::value::{Json, Quantity, Text, Value};

pub(crate) const SYSTEM_NS: &str = "{urn:hl7-org:elm-types:r1}";

pub(crate) fn named_type(name: &str) -> TypeSpec {
    if let Some(n) = name.strip_prefix(SYSTEM_NS) {
        TypeSpec::System(Arc::from(n))
    } else if let Some(n) = name.strip_prefix("System.") {
        TypeSpec::System(Arc::from(n))
    } else {
        let local = name.rsplit('}').next().unwrap_or(name);
        let local = local
            .strip_prefix("FHIR.")
            .unwrap_or(local)
            .replace('.', "_");
        TypeSpec::Fhir(Arc::from(local))
    }
}

pub(crate) fn literal(e: &Json) -> Option<Value<'static>> {
    let vt = s(e, "valueType")?;
    let v = s(e, "value");
    let t = vt.strip_prefix(SYSTEM_NS).unwrap_or(vt);
    Some(match (t, v) {
        (_, None) => Value::Null,
        ("Boolean", Some(v)) => Value::Bool(v == "true"),
        ("Integer" | "Long", Some(v)) => Value::Int(v.trim_end_matches('L').parse().ok()?),
        ("Decimal", Some(v)) => Value::Dec(v.parse().ok()?),
        ("String", Some(v)) => Value::Str(Text::Shared(Arc::from(v))),
        ("Date", Some(v)) => Value::Date(DateTime::parse(v)?),
        ("DateTime", Some(v)) => Value::DateTime(DateTime::parse(v)?),
        ("Time", Some(v)) => Value::Time(super::datetime::parse_time(v)?),
        _ => return None,
    })
}

pub(crate) fn quantity(e: &Json) -> Quantity {
    let value = match e.get("value") {
        Some(Json::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Json::String(s)) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    };
    Quantity {
        value,
        unit: Arc::from(s(e, "unit").unwrap_or("1")),
    }
}

pub(crate) fn op1(ty: &str) -> Option<Op1> {
    use Op1::*;
    Some(match ty {
        "Not" => Not,
        "IsNull" => IsNull,
        "IsTrue" => IsTrue,
        "IsFalse" => IsFalse,
        "Exists" => Exists,
        "Negate" => Negate,
        "Abs" => Abs,
        "Start" => Start,
        "End" => End,
        "Width" => Width,
        "Size" => Size,
        "PointFrom" => PointFrom,
        "SingletonFrom" => SingletonFrom,
        "First" => First,
        "Last" => Last,
        "Distinct" => Distinct,
        "Flatten" => Flatten,
        "Count" => Count,
        "Sum" => Sum,
        "Min" => Min,
        "Max" => Max,
        "Avg" => Avg,
        "Median" => Median,
        "Mode" => Mode,
        "Product" => Product,
        "GeometricMean" => GeometricMean,
        "Variance" => Variance,
        "StdDev" => StdDev,
        "PopulationVariance" => PopulationVariance,
        "PopulationStdDev" => PopulationStdDev,
        "AllTrue" => AllTrue,
        "AnyTrue" => AnyTrue,
        "ToString" => ToStr,
        "ToInteger" | "ToLong" => ToInteger,
        "ToDecimal" => ToDecimal,
        "ToDateTime" => ToDateTime,
        "ToDate" => ToDate,
        "ToTime" => ToTime,
        "ToQuantity" => ToQuantity,
        "ToConcept" => ToConcept,
        "ToList" => ToList,
        "ToBoolean" => ToBoolean,
        "ConvertsToBoolean" => ConvertsTo(Conversion::Boolean),
        "ConvertsToDate" => ConvertsTo(Conversion::Date),
        "ConvertsToDateTime" => ConvertsTo(Conversion::DateTime),
        "ConvertsToDecimal" => ConvertsTo(Conversion::Decimal),
        "ConvertsToInteger" | "ConvertsToLong" => ConvertsTo(Conversion::Integer),
        "ConvertsToQuantity" => ConvertsTo(Conversion::Quantity),
        "ConvertsToString" => ConvertsTo(Conversion::String),
        "ConvertsToTime" => ConvertsTo(Conversion::Time),
        "DateFrom" => DateFrom,
        "TimeFrom" => TimeFrom,
        "TimezoneOffsetFrom" | "TimezoneFrom" => TimezoneOffsetFrom,
        "Upper" => Upper,
        "Lower" => Lower,
        "Length" => Length,
        "Predecessor" => Predecessor,
        "Successor" => Successor,
        "Truncate" => Truncate,
        "Floor" => Floor,
        "Ceiling" => Ceiling,
        "Ln" => Ln,
        "Exp" => Exp,
        "ExpandValueSet" => ExpandValueSet,
        "Precision" => PrecisionOf,
        _ => return None,
    })
}

pub(crate) fn op2(ty: &str) -> Option<Op2> {
    use Op2::*;
    Some(match ty {
        "And" => And,
        "Or" => Or,
        "Xor" => Xor,
        "Implies" => Implies,
        "Equal" => Equal,
        "NotEqual" => NotEqual,
        "Equivalent" => Equivalent,
        "Less" => Less,
        "Greater" => Greater,
        "LessOrEqual" => LessOrEqual,
        "GreaterOrEqual" => GreaterOrEqual,
        "Add" => Add,
        "Subtract" => Subtract,
        "Multiply" => Multiply,
        "Divide" => Divide,
        "TruncatedDivide" => TruncatedDivide,
        "Modulo" => Modulo,
        "Power" => Power,
        "Log" => Log,
        "In" => In,
        "ProperIn" => ProperIn,
        "ProperContains" => ProperContains,
        "Contains" => Contains,
        "Includes" => Includes,
        "IncludedIn" => IncludedIn,
        "ProperIncludes" => ProperIncludes,
        "ProperIncludedIn" => ProperIncludedIn,
        "Overlaps" => Overlaps,
        "OverlapsBefore" => OverlapsBefore,
        "OverlapsAfter" => OverlapsAfter,
        "Before" => Before,
        "After" => After,
        "SameAs" => SameAs,
        "SameOrBefore" => SameOrBefore,
        "SameOrAfter" => SameOrAfter,
        "Meets" => Meets,
        "MeetsBefore" => MeetsBefore,
        "MeetsAfter" => MeetsAfter,
        "Starts" => Starts,
        "Ends" => Ends,
        "Union" => Union,
        "Intersect" => Intersect,
        "Except" => Except,
        "DifferenceBetween" => DifferenceBetween,
        "DurationBetween" => DurationBetween,
        "CalculateAgeAt" => CalculateAgeAt,
        "Indexer" => Indexer,
        "StartsWith" => StartsWith,
        "EndsWith" => EndsWith,
        "Matches" => Matches,
        "ConvertQuantity" => ConvertQuantity,
        "Times" => Times,
        _ => return None,
    })
}

/// The LOINC code each FHIR R4 vital-signs profile fixes on `Observation.code`
/// (http://hl7.org/fhir/R4/observation-vitalsigns.html). Conformance to these
/// profiles is decidable from the data alone, so a retrieve such as
/// `["observation-bp"]` keeps only matching Observations even when `meta.profile`
/// is not trusted; without this it returns every Observation (BMI, heart rate,
/// smoking status, ...) and measures reading the BP components see nulls.
/// The US Core observation profiles fixing one LOINC code work the same way.
pub(crate) fn vital_signs_code(profile: &str) -> Option<&'static str> {
    if let Some(name) = profile.strip_prefix("http://hl7.org/fhir/us/core/StructureDefinition/") {
        // The US Core observation profiles QI-Core 4.1.1 exposes, fixed by one LOINC code.
        return Some(match name {
            "us-core-smokingstatus" => "72166-2",
            "us-core-pulse-oximetry" => "59408-5",
            "pediatric-bmi-for-age" => "59576-9",
            "pediatric-weight-for-height" => "77606-2",
            "head-occipital-frontal-circumference-percentile" => "8289-1",
            _ => return None,
        });
    }
    let name = profile.strip_prefix("http://hl7.org/fhir/StructureDefinition/")?;
    Some(match name {
        "vitalspanel" => "85353-1",
        "resprate" => "9279-1",
        "heartrate" => "8867-4",
        "oxygensat" => "2708-6",
        "bodytemp" => "8310-5",
        "bodyheight" => "8302-2",
        "headcircum" => "9843-4",
        "bodyweight" => "29463-7",
        "bmi" => "39156-5",
        "bp" => "85354-9",
        _ => return None,
    })
}

/// What a QI-Core negation profile fixes on the resource, so that conformance
/// is decidable from the data: `["ProcedureNotDone"]` must not return the
/// procedures that were done, nor `["MedicationNotRequested"]` the orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedElement {
    /// `status` has this code.
    Status(&'static str),
    /// `doNotPerform` is true.
    DoNotPerform,
    /// A `modifierExtension` whose url ends in `doNotPerform` is true (DeviceRequest).
    DoNotPerformExtension,
}

pub(crate) const QICORE_PROFILES: &str = "http://hl7.org/fhir/us/qicore/StructureDefinition/";

/// The fixed element of a QI-Core negation profile (4.1.1 and 6.0 names).
pub(crate) fn negation_profile(profile: &str) -> Option<FixedElement> {
    let name = profile.strip_prefix(QICORE_PROFILES)?;
    Some(match name {
        "qicore-procedurenotdone"
        | "qicore-immunizationnotdone"
        | "qicore-mednotadministered"
        | "qicore-medicationadministrationnotdone"
        | "qicore-communicationnotdone" => FixedElement::Status("not-done"),
        "qicore-observationnotdone" | "qicore-observationcancelled" => {
            FixedElement::Status("cancelled")
        }
        "qicore-medicationnotdispensed" | "qicore-medicationdispensedeclined" => {
            FixedElement::Status("declined")
        }
        "qicore-taskrejected" => FixedElement::Status("rejected"),
        "qicore-medicationnotrequested" | "qicore-servicenotrequested" => {
            FixedElement::DoNotPerform
        }
        "qicore-devicenotrequested" => FixedElement::DoNotPerformExtension,
        _ => return None,
    })
}
