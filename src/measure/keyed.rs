//! Queries that pick resources by id, answered from a per-patient index.
//!
//! `singleton from ([Encounter] E where E.id = reference.reference.getId())` is how
//! measures resolve a reference; called once per referring resource it scans every
//! Encounter each time. When a query's single source gives the same list for the whole
//! patient (a fixed retrieve or an expression definition) and its only clause is `where`
//! `<alias>.id = <expression not reading the row>`, the rows' ids are read once into a
//! map, and each evaluation looks its key up there.
//!
//! The answer is the scan's: the row side is evaluated by the compiled expression itself,
//! row 0 and the key in operand order, so the same errors surface first; a null id or key
//! matches nothing; equal ids keep all their rows in source order. Only string ids and
//! keys take the map (where `Equal` is string equality); anything else runs the scan.

use std::sync::Arc;

use super::eval::{Cx, R};
use super::hoist::reads_free_slot;
use super::model::FxMap;
use super::node::{Node, Op2, Query};
use super::value::{Text, Value};

/// Which operand of the `where` equality reads the row (the other one is the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyedBy {
    pub row_operand: usize,
}

/// Recognises a query answerable by id lookup; `mark` is the query's first slot.
pub(crate) fn recognize(q: &Query, mark: usize) -> Option<KeyedBy> {
    let [source] = q.sources.as_slice() else {
        return None;
    };
    let fixed_source = match &source.expr {
        Node::Retrieve(r) => r.fixed,
        Node::ExprRef(_) => true,
        _ => false,
    };
    if !fixed_source
        || !q.lets.is_empty()
        || !q.relationships.is_empty()
        || q.ret.is_some()
        || q.aggregate.is_some()
        || !q.sort.is_empty()
    {
        return None;
    }
    let Some(Node::Op2(Op2::Equal, operands, None)) = &q.where_ else {
        return None;
    };
    let row_operand = operands.iter().position(|o| reads_id_of(o, source.slot))?;
    let key = &operands[1 - row_operand];
    (!reads_free_slot(key, mark, &mut Vec::new())).then_some(KeyedBy { row_operand })
}

/// `<alias>.id`, possibly read on through `.value` or a FHIRHelpers conversion.
fn reads_id_of(n: &Node, slot: usize) -> bool {
    match n {
        Node::Property(src, name) if &**name == "id" => matches!(**src, Node::Slot(s) if s == slot),
        Node::Property(src, _) | Node::Convert(src, _, _) => reads_id_of(src, slot),
        _ => false,
    }
}

/// One patient's index of a keyed query's rows.
pub(crate) enum KeyIndex<'a> {
    /// Some row's id is neither a string nor null: every evaluation scans.
    Unusable,
    Ready {
        rows: Arc<Vec<Value<'a>>>,
        /// Per id, its first and last row.
        ends: FxMap<Text<'a>, (u32, u32)>,
        /// Per row, the next row with the same id (`u32::MAX`: none).
        next: Vec<u32>,
    },
}

/// The string an id or key compares as under `Equal`, or `Err` when it is not a string.
fn as_text<'a>(v: &Value<'a>) -> Result<Option<Text<'a>>, ()> {
    let system = match v {
        Value::Fhir(..) => v.to_system(),
        _ => v.clone(),
    };
    match system {
        Value::Null => Ok(None),
        Value::Str(t) => Ok(Some(t)),
        _ => Err(()),
    }
}

impl<'a> Cx<'a> {
    pub(crate) fn keyed_query(&mut self, q: &Query, by: KeyedBy) -> R<'a> {
        let (Some(Node::Op2(_, operands, _)), Some(source)) = (&q.where_, q.sources.first()) else {
            return self.scan_query(q);
        };
        let row_side = &operands[by.row_operand];
        // A hoisted key is read outside the query's table of hoisted values.
        let key_side = match &operands[1 - by.row_operand] {
            Node::Hoisted(_, inner) => &**inner,
            other => other,
        };
        let at = std::ptr::from_ref(q) as usize;
        let key = if self.memo.keyed.contains_key(&at) {
            self.eval(key_side)?
        } else {
            let rows = match self.eval(&source.expr)? {
                Value::List(rows) => rows,
                _ => return self.scan_query(q),
            };
            if rows.is_empty() {
                return Ok(Value::list(Vec::new()));
            }
            if u32::try_from(rows.len()).map_or(true, |n| n == u32::MAX) {
                return self.scan_query(q);
            }
            let (index, key) =
                self.build_index(rows, source.slot, row_side, key_side, by.row_operand)?;
            self.memo.keyed.insert(at, index);
            key
        };
        let Ok(key) = as_text(&key) else {
            return self.scan_query(q);
        };
        match self.memo.keyed.get(&at) {
            Some(KeyIndex::Ready { rows, ends, next }) => {
                let mut out = Vec::new();
                let mut i = key.and_then(|k| ends.get(&k)).map_or(u32::MAX, |e| e.0);
                while let Some(row) = rows.get(i as usize) {
                    out.push(row.clone());
                    i = next.get(i as usize).copied().unwrap_or(u32::MAX);
                }
                Ok(Value::list(out))
            }
            _ => self.scan_query(q),
        }
    }

    /// Reads every row's id; the key is evaluated where the scan first would (with row 0).
    fn build_index(
        &mut self,
        rows: Arc<Vec<Value<'a>>>,
        slot: usize,
        row_side: &Node,
        key_side: &Node,
        row_operand: usize,
    ) -> Result<(KeyIndex<'a>, Value<'a>), super::MeasureError> {
        let mut key = None;
        if row_operand == 1 {
            key = Some(self.eval(key_side)?);
        }
        let mut ends: FxMap<Text<'a>, (u32, u32)> = FxMap::default();
        let mut next = vec![u32::MAX; rows.len()];
        let mut usable = true;
        for (i, row) in (0..u32::MAX).zip(rows.iter()) {
            self.set(slot, row.clone());
            let id = self.eval(row_side)?;
            if key.is_none() {
                key = Some(self.eval(key_side)?);
            }
            match as_text(&id) {
                Ok(Some(id)) => match ends.get_mut(&id) {
                    Some((_, last)) => {
                        if let Some(link) = next.get_mut(*last as usize) {
                            *link = i;
                        }
                        *last = i;
                    }
                    None => {
                        ends.insert(id, (i, i));
                    }
                },
                Ok(None) => {}
                Err(()) => {
                    usable = false;
                    break;
                }
            }
        }
        let index = if usable {
            KeyIndex::Ready { rows, ends, next }
        } else {
            KeyIndex::Unusable
        };
        Ok((index, key.unwrap_or_default()))
    }
}
