//! Torn snapshots (both modes).
//!
//! **Rule**: a snapshot that shows the effect of write B also shows every write that returned
//! before B was called (or something later on that key).
//!
//! **Why it must hold**: a snapshot holds the map at one instant, after B took effect; a write
//! that returned before B was called took effect before B, so before that instant. Only certain
//! facts are used (unique values identify their writer; real-time order only), so a correct map
//! never trips it, on plain maps too, where there is no version to cut at.

use core::fmt::Debug;
use std::collections::HashMap;

use super::{Analysis, Finding, Span, op_of};
use crate::check::history::Op;
use crate::check::report::FailureClass;
use crate::check::search::{Kind, Vid};
use crate::record::Record;

/// A write that certainly changed its key.
struct Change {
    event: usize,
    span: Span,
    /// The value it left; `None` = absent.
    left: Option<Vid>,
}

/// One key's writes, as this check needs them.
#[derive(Default)]
struct Writes {
    /// The store that produced each value (values are unique, so there is one).
    producer: HashMap<Vid, usize>,
    changes: Vec<Change>,
    /// Calls that may have removed the key.
    removals: Vec<Span>,
}

/// What one snapshot shows of one key.
#[derive(Clone, Copy)]
struct Shown {
    key: u64,
    value: Option<Vid>,
}

/// The latest-called producer of a value a snapshot shows: the snapshot's instant is after it.
#[derive(Clone, Copy)]
struct Floor {
    call: u64,
    event: usize,
    key: u64,
}

impl<R: Record + Clone + PartialEq + Debug> Analysis<'_, R> {
    pub(super) fn torn_snapshots(&self) -> Result<(), Finding> {
        let mut per_key: HashMap<u64, Writes> = HashMap::new();
        for (&key, hist) in &self.hists {
            let mut w = Writes::default();
            for op in &hist.ops {
                let span = Span {
                    call: op.call,
                    ret: op.ret,
                };
                match op.kind {
                    Kind::Insert { new, .. }
                    | Kind::Stored { new, .. }
                    | Kind::CasOk { new, .. } => {
                        w.producer.entry(new).or_insert(op.event);
                        w.changes.push(Change {
                            event: op.event,
                            span,
                            left: Some(new),
                        });
                    }
                    // A transaction's update that left the value as it was (an edit the checker
                    // cannot see, with no updater) produced nothing a snapshot can tell apart.
                    Kind::TxnPart {
                        seen,
                        after: Some(after),
                        ..
                    } if seen.map(|held| held.value) == Some(after.value) => {}
                    Kind::TxnPart {
                        after: Some(after), ..
                    } => {
                        w.producer.entry(after.value).or_insert(op.event);
                        w.changes.push(Change {
                            event: op.event,
                            span,
                            left: Some(after.value),
                        });
                    }
                    Kind::Remove(Some(_))
                    | Kind::Drop(_)
                    | Kind::CarOk { .. }
                    | Kind::TxnPart { after: None, .. } => {
                        w.changes.push(Change {
                            event: op.event,
                            span,
                            left: None,
                        });
                        w.removals.push(span);
                    }
                    Kind::Clear => w.removals.push(span),
                    _ => {}
                }
            }
            per_key.insert(key, w);
        }
        for (s, e) in self.events.iter().enumerate() {
            if !matches!(e.op, Op::Snapshot) {
                continue;
            }
            let shown: Vec<Shown> = self
                .keys
                .iter()
                .filter_map(|&key| {
                    let op = op_of(&self.hists.get(&key)?.ops, s)?;
                    match op.kind {
                        Kind::Read(seen) => Some(Shown {
                            key,
                            value: seen.map(|held| held.value),
                        }),
                        _ => None,
                    }
                })
                .collect();
            let mut floor: Option<Floor> = None;
            for shown in &shown {
                let producer = shown
                    .value
                    .and_then(|v| per_key[&shown.key].producer.get(&v));
                if let Some(&p) = producer {
                    let call = self.events[p].call;
                    if floor.is_none_or(|f| call > f.call) {
                        floor = Some(Floor {
                            call,
                            event: p,
                            key: shown.key,
                        });
                    }
                }
            }
            let Some(floor) = floor else {
                continue;
            };
            for &Shown { key, value } in &shown {
                let w = &per_key[&key];
                let stale = match value {
                    Some(v) => match w.producer.get(&v) {
                        Some(&p) => {
                            let pe = &self.events[p];
                            w.changes.iter().find(|c| {
                                c.span.ret < floor.call && pe.ret < c.span.call && c.left != Some(v)
                            })
                        }
                        None => None,
                    },
                    None => w.changes.iter().find(|c| {
                        c.left.is_some()
                            && c.span.ret < floor.call
                            && !w
                                .removals
                                .iter()
                                .any(|r| r.call < e.ret && r.ret > c.span.call)
                    }),
                };
                if let Some(missed) = stale {
                    let shown_s = match value {
                        Some(v) => format!("{:?}", self.hists[&key].values[v as usize]),
                        None => "absent".to_string(),
                    };
                    let witness_key = floor.key;
                    return Err(Finding::new(
                        FailureClass::TornSnapshot,
                        format!(
                            "the snapshot shows key {key} as {shown_s}, missing a write that \
                             returned before another write the same snapshot does show (on key \
                             {witness_key}) was even called: it was not taken at one instant"
                        ),
                    )
                    .at(Some(key), s)
                    .bound(
                        missed.event,
                        format!("write to key {key} the snapshot missed"),
                    )
                    .bound(
                        floor.event,
                        format!(
                            "write to key {witness_key} the snapshot shows, called after the \
                             missed one returned"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}
