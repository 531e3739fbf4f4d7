//! Per-patient memory of function results and retrieves.
//!
//! CQL functions are pure: for one patient (fixed data, parameters and evaluation instant)
//! a function called again with the same arguments gives the same result. Measures call
//! the same fluent functions on the same resources from several definitions (CMS165 relates
//! every blood pressure reading to its Encounter once for the systolic and once for the
//! diastolic criteria, and takes `latest()` of each reading's date in four places), so each
//! call is keyed by its definition and arguments and its result kept for the patient.
//!
//! Only arguments whose identity is cheap and exact make a key: FHIR values borrowed from
//! the patient's data (the same element, read as the same type, is the same value), nulls,
//! booleans and integers. Calls with other arguments are evaluated every time.

use super::model::FxMap;
use super::value::Value;

/// The arguments a key can hold: functions of up to this many operands are remembered.
const MAX_ARGS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Arg {
    Absent,
    Null,
    Bool(bool),
    Int(i64),
    /// The element's address and its FHIR type name's (address, length).
    Fhir(usize, usize, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CallKey {
    def: usize,
    args: [Arg; MAX_ARGS],
}

/// The key of calling `def` with `args`, if the arguments can make one.
pub(crate) fn key(def: usize, args: &[Value]) -> Option<CallKey> {
    if args.len() > MAX_ARGS {
        return None;
    }
    let mut out = [Arg::Absent; MAX_ARGS];
    for (slot, v) in out.iter_mut().zip(args) {
        *slot = match v {
            Value::Null => Arg::Null,
            Value::Bool(b) => Arg::Bool(*b),
            Value::Int(i) => Arg::Int(*i),
            // Data borrowed for the whole evaluation: an address names one element.
            Value::Fhir(node, ty) => Arg::Fhir(
                std::ptr::from_ref(*node) as usize,
                ty.as_ptr() as usize,
                ty.len(),
            ),
            _ => return None,
        };
    }
    Some(CallKey { def, args: out })
}

/// What one patient's evaluation remembers.
#[derive(Default)]
pub(crate) struct Memo<'a> {
    pub calls: FxMap<CallKey, Value<'a>>,
    /// Fixed retrieves by the address of their plan node.
    pub retrieves: FxMap<usize, Value<'a>>,
    /// Indexes of keyed queries (see `keyed`) by the address of their plan node.
    pub keyed: FxMap<usize, super::keyed::KeyIndex<'a>>,
}
