//! Transactions: all of a transaction's writes at one instant, or none.
//!
//! Per key, a transaction is one more call (its part on that key, checked by [`per_key`]
//! (super::per_key)); what only the keys together show is checked here, in three rules.

use core::fmt::Debug;
use std::collections::{BTreeSet, HashMap};

use super::{Analysis, Finding, Tally};
use crate::check::history::{Op, Outcome, TxnAction, TxnRecord};
use crate::check::report::{self, FailureClass};
use crate::check::search::{self, Held, Kind, State, Timed, Verdict, Vid};
use crate::record::Record;

/// Search steps the whole-map model may take before it is reported undecided.
const SEARCH_BUDGET: usize = 4_000_000;

/// One key's part of a multi-key step.
#[derive(Debug, Clone, Copy)]
struct Part {
    slot: usize,
    kind: Kind,
}

/// One step of the whole-map model: a transaction or a snapshot is one step over all its keys;
/// any other call is a step on one key.
#[derive(Debug)]
struct Step {
    event: usize,
    call: u64,
    ret: u64,
    parts: Vec<Part>,
}

impl<R: Record + Clone + PartialEq + Debug> Analysis<'_, R> {
    /// **Rule**: no call sees a value that an aborted transaction wrote.
    ///
    /// **Why it must hold**: an aborted transaction (its closure returned `Err` or panicked)
    /// leaves every key as it was; its writes went to copies that were dropped. Values are
    /// unique, so seeing one names the write it came from. Checked before per-key
    /// linearizability, which would report the same read as a phantom without saying why.
    pub(super) fn aborted_invisible(&mut self) -> Result<(), Finding> {
        let events = self.events;
        for (t, e) in events.iter().enumerate() {
            let Outcome::Transaction(txn) = &e.outcome else {
                continue;
            };
            if txn.committed.is_some() {
                continue;
            }
            for (key, value) in self.intended(txn) {
                let Some(hist) = self.hists.get(&key) else {
                    continue;
                };
                let Some(vid) = hist.values.iter().position(|v| *v == value) else {
                    continue;
                };
                let vid = vid as Vid;
                if let Some(op) = hist.ops.iter().find(|o| o.event != t && shows(o.kind, vid)) {
                    return Err(Finding::new(
                        FailureClass::TransactionNotAtomic,
                        format!(
                            "a call saw key {key} as {value:?}, a record only an aborted \
                             transaction wrote: an aborted transaction's write took effect"
                        ),
                    )
                    .at(Some(key), op.event)
                    .bound(t, format!("the aborted transaction that wrote {value:?}")));
                }
            }
        }
        Ok(())
    }

    /// The records an aborted transaction would have left, per key (a removal leaves none, and
    /// an update without an updater changes no record).
    fn intended(&self, txn: &TxnRecord<R>) -> Vec<(u64, R)> {
        txn.writes
            .iter()
            .filter_map(|write| {
                let seen = txn.reads.iter().find(|r| r.key == write.key)?.seen.as_ref();
                let record = match &write.action {
                    TxnAction::Insert(record) => record.clone(),
                    TxnAction::Update { nonce } => {
                        let edit = self.updater?;
                        let mut record = seen?.record.clone();
                        edit(record.as_mut(), *nonce);
                        record
                    }
                    TxnAction::Remove => return None,
                };
                Some((write.key, record))
            })
            .collect()
    }

    /// Runs the two rules over committed transactions (revisions, then the whole-map model).
    pub(super) fn transactions(&mut self, tally: &mut Tally) -> Result<(), Finding> {
        if !self
            .events
            .iter()
            .any(|e| matches!(e.op, Op::Transaction { .. }))
        {
            return Ok(());
        }
        if self.versioned {
            self.consecutive_revisions()?;
        }
        self.whole_map(tally)
    }

    /// **Rule** (versioned maps): a committed transaction's revisions are consecutive: no other
    /// write's revision, and no `version()` or snapshot version, falls between its first and
    /// its last.
    ///
    /// **Why it must hold**: the transaction's writes take effect at one instant, so nothing can
    /// be ordered between them; a version inside the range would name a state holding some of
    /// its writes and not the others.
    fn consecutive_revisions(&self) -> Result<(), Finding> {
        let mut writes: Vec<(u64, usize)> = Vec::new();
        for hist in self.hists.values() {
            for op in &hist.ops {
                if let Some(revision) = op.kind.known_rev() {
                    writes.push((revision, op.event));
                }
            }
        }
        for (t, e) in self.events.iter().enumerate() {
            let Outcome::Transaction(TxnRecord {
                committed: Some(changed),
                ..
            }) = &e.outcome
            else {
                continue;
            };
            let (Some(first), Some(last)) = (
                changed.iter().map(|c| c.revision).min(),
                changed.iter().map(|c| c.revision).max(),
            ) else {
                continue;
            };
            let fail = |what: String, other: usize| {
                Finding::new(
                    FailureClass::TransactionNotAtomic,
                    format!(
                        "a committed transaction's revisions run from {first} to {last}, but \
                         {what}: its writes did not take effect at one instant"
                    ),
                )
                .at(self.events[other].op.key(), other)
                .bound(t, "the transaction")
            };
            if let Some(&(revision, w)) = writes
                .iter()
                .find(|&&(r, w)| w != t && (first..=last).contains(&r))
            {
                return Err(fail(format!("another write got revision {revision}"), w));
            }
            for (i, other) in self.events.iter().enumerate() {
                if let Outcome::Version(v) | Outcome::Snapshot { version: v, .. } = other.outcome {
                    if (first..last).contains(&v) {
                        let what = format!("`{}` reported version {v}", other.op.name());
                        return Err(fail(what, i));
                    }
                }
            }
        }
        Ok(())
    }

    /// **Rule**: some single order of all the calls on the keys transactions touch, taking each
    /// transaction and each snapshot as one step over its keys, agrees with real time and with
    /// every result, replayed on a model of those keys together (versioned maps: with the
    /// writes in revision order).
    ///
    /// **Why it must hold**: a committed transaction's writes take effect at one instant and
    /// its reads see one instant, and a snapshot is one instant of the whole map; so the calls
    /// on those keys are instants of one object, which is what the search looks for. Run after
    /// the per-key checks passed, a failure here is a transaction (or a snapshot) seen in part.
    fn whole_map(&mut self, tally: &mut Tally) -> Result<(), Finding> {
        let keys: Vec<u64> = self
            .events
            .iter()
            .flat_map(|e| e.op.declared().iter().copied())
            .collect::<BTreeSet<u64>>()
            .into_iter()
            .collect();
        let mut steps: Vec<Step> = Vec::new();
        let mut grouped: HashMap<usize, usize> = HashMap::new();
        for (slot, key) in keys.iter().enumerate() {
            let Some(hist) = self.hists.get(key) else {
                continue;
            };
            for op in &hist.ops {
                let part = Part {
                    slot,
                    kind: op.kind,
                };
                let whole = matches!(
                    self.events[op.event].op,
                    Op::Transaction { .. } | Op::Snapshot
                );
                if whole {
                    if let Some(&at) = grouped.get(&op.event) {
                        steps[at].parts.push(part);
                        continue;
                    }
                    grouped.insert(op.event, steps.len());
                }
                steps.push(Step {
                    event: op.event,
                    call: op.call,
                    ret: op.ret,
                    parts: vec![part],
                });
            }
        }
        let ranks = if self.versioned {
            search::rank(steps.len(), |i| {
                steps[i]
                    .parts
                    .iter()
                    .filter_map(|p| p.kind.known_rev())
                    .collect()
            })
        } else {
            vec![None; steps.len()]
        };
        let timed: Vec<Timed> = steps
            .iter()
            .zip(ranks)
            .map(|(s, ranks)| Timed {
                call: s.call,
                ret: s.ret,
                ranks,
            })
            .collect();
        let mut values: Vec<Vec<R>> = keys
            .iter()
            .map(|k| {
                self.hists
                    .get(k)
                    .map_or_else(Vec::new, |h| h.values.clone())
            })
            .collect();
        let start: Vec<State> = keys
            .iter()
            .map(|k| self.hists.get(k).and_then(|h| h.start))
            .collect();
        let updater = self.updater;
        let verdict = search::search(&timed, start, SEARCH_BUDGET, |i, state: &Vec<State>| {
            let mut next = state.clone();
            for part in &steps[i].parts {
                let slot = part.slot;
                next[slot] = search::apply(part.kind, next[slot], &mut values[slot], updater)?;
            }
            Some(next)
        });
        let stuck = match verdict {
            Verdict::Linearizable => return Ok(()),
            Verdict::Undecided => {
                tally.undecided_keys += 1;
                return Ok(());
            }
            Verdict::NotLinearizable(stuck) => stuck,
        };
        let blocked = &steps[stuck.blocking];
        let held: Vec<String> = keys
            .iter()
            .zip(&stuck.state)
            .zip(&values)
            .map(|((k, &state), values)| {
                let state = report::state_text(state, values, self.versioned);
                format!("key {k}: {state}")
            })
            .collect();
        let mut finding = Finding::new(
            FailureClass::TransactionNotAtomic,
            format!(
                "each key alone is linearizable, but no single order of the {} calls on keys \
                 {keys:?} (each transaction and snapshot one step) agrees with real time and \
                 every result: a transaction's writes were seen in part. The longest agreeing \
                 order places {}; then the call below must come next and cannot (the keys held \
                 {})",
                steps.len(),
                stuck.order.len(),
                held.join(", ")
            ),
        )
        .at(blocked_key(blocked, &keys), blocked.event);
        // The transactions running while the blocked call ran.
        for step in &steps {
            let txn = matches!(self.events[step.event].op, Op::Transaction { .. });
            if txn
                && step.event != blocked.event
                && step.call < blocked.ret
                && step.ret > blocked.call
            {
                finding = finding.bound(step.event, "a transaction running meanwhile");
            }
        }
        Err(finding)
    }
}

/// The key a blocked step is about, when it has one.
fn blocked_key(step: &Step, keys: &[u64]) -> Option<u64> {
    match step.parts[..] {
        [part] => Some(keys[part.slot]),
        _ => None,
    }
}

/// Whether an operation saw the value `vid` (as opposed to writing it).
fn shows(kind: Kind, vid: Vid) -> bool {
    let held = |state: State| state.is_some_and(|h: Held| h.value == vid);
    match kind {
        Kind::Read(seen) => held(seen),
        Kind::ReadValue(v) | Kind::Drop(v) => v == vid,
        Kind::Loaded { current, .. } => current == vid,
        Kind::Insert { prev, .. } => prev == Some(vid),
        Kind::Remove(gone) => held(gone),
        Kind::CarOk { removed, .. } => removed == vid,
        Kind::TxnPart { seen, .. } => held(seen),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::check::analyse::{Analysis, Check, Finding};
    use crate::check::history::build::{Rec, event, make, recorded, seen};
    use crate::check::history::{Event, Op, Outcome, TxnAction, TxnRead, TxnRecord, TxnWrite};
    use crate::check::report::FailureClass;
    use crate::check::target::KeyRevision;

    fn insert(call: u64, key: u64, nonce: u64, replaced: Option<u64>, revision: u64) -> Event<Rec> {
        let record = make(key, nonce);
        let replaced = replaced.map(|n| make(key, n));
        let outcome = Outcome::Insert { replaced, revision };
        event(0, call, call + 1, Op::Insert { key, record }, outcome)
    }

    /// A transaction over keys 1 and 2 that read `(1, 10)` and `(2, 20)` (at revisions 1 and 2
    /// on a versioned map) and inserted `(1, 11)` and `(2, 21)`; `revisions` as the commit
    /// reported them, `None` = aborted.
    fn transfer(call: u64, ret: u64, versioned: bool, revisions: Option<[u64; 2]>) -> Event<Rec> {
        let rev = |r: u64| if versioned { r } else { 0 };
        let txn = TxnRecord {
            reads: vec![
                TxnRead {
                    key: 1,
                    seen: Some(seen(make(1, 10), rev(1))),
                },
                TxnRead {
                    key: 2,
                    seen: Some(seen(make(2, 20), rev(2))),
                },
            ],
            writes: vec![
                TxnWrite {
                    key: 1,
                    action: TxnAction::Insert(make(1, 11)),
                },
                TxnWrite {
                    key: 2,
                    action: TxnAction::Insert(make(2, 21)),
                },
            ],
            committed: revisions.map(|[a, b]| {
                vec![
                    KeyRevision {
                        key: 1,
                        revision: a,
                    },
                    KeyRevision {
                        key: 2,
                        revision: b,
                    },
                ]
            }),
        };
        let op = Op::Transaction {
            keys: vec![1, 2],
            nonce: 11,
        };
        event(1, call, ret, op, Outcome::Transaction(txn))
    }

    /// A snapshot showing key 1 and key 2 with these nonces and revisions, at `version`.
    fn snapshot(call: u64, ret: u64, shown: [(u64, u64); 2], version: u64) -> Event<Rec> {
        let records = vec![
            seen(make(1, shown[0].0), shown[0].1),
            seen(make(2, shown[1].0), shown[1].1),
        ];
        let outcome = Outcome::Snapshot { records, version };
        event(2, call, ret, Op::Snapshot, outcome)
    }

    fn get(call: u64, key: u64, nonce: u64, revision: u64) -> Event<Rec> {
        let outcome = Outcome::Get(Some(seen(make(key, nonce), revision)));
        event(3, call, call + 1, Op::Get { key }, outcome)
    }

    /// Keys 1 and 2 hold `(1, 10)` and `(2, 20)` (revisions 1 and 2 on a versioned map) before
    /// `rest`.
    fn history(versioned: bool, rest: Vec<Event<Rec>>) -> Result<(), Finding> {
        let rev = |r: u64| if versioned { r } else { 0 };
        let mut events = vec![
            insert(1, 1, 10, None, rev(1)),
            insert(3, 2, 20, None, rev(2)),
        ];
        events.extend(rest);
        let recorded = recorded(events, &[1, 2]);
        Analysis::new(&recorded, versioned, make, None)
            .run()
            .map(drop)
    }

    fn fails(outcome: Result<(), Finding>, check: Check) {
        let finding = outcome.expect_err("a violation");
        assert_eq!(
            finding.class,
            FailureClass::TransactionNotAtomic,
            "{finding:?}"
        );
        assert_eq!(finding.check, check, "{finding:?}");
    }

    #[test]
    fn a_transaction_seen_whole_before_or_after_its_instant_is_legal() {
        for versioned in [false, true] {
            let rev = |r: u64| if versioned { r } else { 0 };
            let outcome = history(
                versioned,
                vec![
                    transfer(5, 10, versioned, Some([rev(3), rev(4)])),
                    // Concurrent with the transaction: sees it not yet applied.
                    snapshot(6, 9, [(10, rev(1)), (20, rev(2))], rev(2)),
                    snapshot(11, 12, [(11, rev(3)), (21, rev(4))], rev(4)),
                    get(13, 1, 11, rev(3)),
                ],
            );
            assert!(outcome.is_ok(), "versioned {versioned}: {outcome:?}");
        }
    }

    #[test]
    fn a_snapshot_that_sees_a_transaction_in_part_is_caught() {
        // Plain map: each key alone fits (the snapshot overlaps the transaction), but no one
        // instant shows key 1 written and key 2 not.
        let split = snapshot(6, 9, [(11, 0), (20, 0)], 0);
        fails(
            history(false, vec![transfer(5, 10, false, Some([0, 0])), split]),
            Check::Transactions,
        );
        // Versioned: the snapshot's version falls between the transaction's revisions.
        let split = snapshot(6, 9, [(11, 3), (20, 2)], 3);
        fails(
            history(true, vec![transfer(5, 10, true, Some([3, 4])), split]),
            Check::Transactions,
        );
    }

    #[test]
    fn an_aborted_transactions_write_that_is_seen_is_caught() {
        for versioned in [false, true] {
            let rev = |r: u64| if versioned { r } else { 0 };
            let outcome = history(
                versioned,
                vec![transfer(5, 10, versioned, None), get(11, 1, 11, rev(3))],
            );
            fails(outcome, Check::AbortedInvisible);
            // The same transaction, committed, makes the read legal.
            let outcome = history(
                versioned,
                vec![
                    transfer(5, 10, versioned, Some([rev(3), rev(4)])),
                    get(11, 1, 11, rev(3)),
                ],
            );
            assert!(outcome.is_ok(), "versioned {versioned}: {outcome:?}");
        }
    }

    #[test]
    fn another_write_between_a_transactions_revisions_is_caught() {
        let rev_events = vec![
            insert(1, 1, 10, None, 1),
            insert(3, 2, 20, None, 2),
            transfer(5, 10, true, Some([3, 5])),
            insert(6, 3, 30, None, 4),
        ];
        let recorded = recorded(rev_events, &[1, 2, 3]);
        let outcome = Analysis::new(&recorded, true, make, None).run().map(drop);
        fails(outcome, Check::Transactions);
    }
}
