//! Per-key linearizability.
//!
//! **Rule**: for every key, some order of the key's operations agrees with real time (a call that
//! returned before another was called comes first) and with every result, replayed on a
//! sequential model of one entry that starts absent. On a versioned map the order of writes is
//! their revision order.
//!
//! **Why it must hold**: every call on one key runs under that key's shard lock, so it takes
//! effect at one instant between its call and its return; the instants order the calls, and
//! replaying them in that order gives every result. Linearizability is local (Herlihy and Wing),
//! so checking keys apart loses nothing, and a small Wing-Gong search per key decides it.

use core::fmt::Debug;

use super::{Analysis, Finding, Tally};
use crate::check::report::FailureClass;
use crate::check::search::{self, Kind, Verdict};
use crate::record::Record;

/// Search steps one key may take before it is reported undecided.
const SEARCH_BUDGET: usize = 2_000_000;

impl<R: Record + Clone + PartialEq + Debug> Analysis<'_, R> {
    /// Searches every key's history; counts the undecided ones in `tally`.
    pub(super) fn per_key(&mut self, tally: &mut Tally) -> Result<(), Finding> {
        for &key in self.keys {
            let Some(hist) = self.hists.get_mut(&key) else {
                continue;
            };
            tally.longest_key_history = tally.longest_key_history.max(hist.ops.len());
            match search::linearize(
                &hist.ops,
                &mut hist.values,
                hist.start,
                self.versioned,
                self.updater,
                SEARCH_BUDGET,
            ) {
                Verdict::Linearizable => {}
                Verdict::Undecided => tally.undecided_keys += 1,
                Verdict::NotLinearizable(stuck) => {
                    // Would the key's results fit some order if the revisions did not fix the
                    // order of writes? Then the revisions are what is wrong.
                    let mut values = hist.values.clone();
                    let unordered = search::linearize(
                        &hist.ops,
                        &mut values,
                        hist.start,
                        false,
                        self.updater,
                        SEARCH_BUDGET,
                    );
                    let by_revision = self.versioned && matches!(unordered, Verdict::Linearizable);
                    return Err(self.explain(key, &stuck, by_revision));
                }
            }
        }
        Ok(())
    }

    /// Turns a failed search into a finding naming the operation that could not be placed.
    fn explain(&self, key: u64, stuck: &search::Stuck, by_revision: bool) -> Finding {
        let hist = &self.hists[&key];
        let op = hist.ops[stuck.blocking];
        let e = &self.events[op.event];
        let held = self.show(key, stuck.state);
        let name = e.op.name();
        let what = match op.kind {
            Kind::Read(_) | Kind::ReadValue(_) | Kind::Present(_) => format!(
                "a stale or phantom read: `{name}` saw something key {key} never held at any \
                 instant of the call (the model held {held})"
            ),
            Kind::Stored { .. } => format!(
                "`{name}` stored although key {key} was present ({held}): \
                 a get-or-insert that is not atomic"
            ),
            Kind::Loaded { .. } => {
                format!("`{name}` loaded a record key {key} did not hold (the model held {held})")
            }
            Kind::Insert { .. } => format!(
                "`{name}` replaced a record key {key} did not hold (the model held {held}): \
                 a lost or reordered write"
            ),
            Kind::Touch { .. } => format!(
                "an `entry` found key {key} present when it was not (the model held {held})"
            ),
            Kind::Update { .. } => format!(
                "`{name}` cannot be placed: its result or its effect contradicts key {key}'s \
                 other operations (the model held {held}): a lost update"
            ),
            Kind::Remove(_) => format!(
                "`{name}` returned something key {key} did not hold (the model held {held})"
            ),
            Kind::CasOk { .. } | Kind::CasErr { .. } => format!(
                "`{name}` decided against key {key}'s actual revision (the model held \
                 {held})"
            ),
            Kind::CarOk { .. } => format!(
                "`compare_and_remove` removed key {key} against its actual revision or record \
                 (the model held {held})"
            ),
            Kind::TxnPart { .. } => format!(
                "a transaction's part on key {key} saw or left what no order allows (the model \
                 held {held}): a transaction that is not isolated"
            ),
            Kind::Drop(_) => {
                format!("`retain` removed a record key {key} did not hold (the model held {held})")
            }
            Kind::Clear => format!("`clear` cannot be placed on key {key} (the model held {held})"),
        };
        let mut summary = format!(
            "no order of key {key}'s {} operations agrees with both real time and their results. \
             The longest agreeing order places {} of them; then the operation below must come \
             next and cannot: {what}",
            hist.ops.len(),
            stuck.order.len()
        );
        let class = if by_revision {
            summary = format!(
                "key {key}'s results fit together only in an order of writes that contradicts \
                 the revisions they were given: a write's revision and its effect happened at \
                 different instants (a revision taken outside the shard lock?). Placing writes in \
                 revision order, {} of {} operations fit, leaving the key {held}; the call \
                 below is where that order breaks",
                stuck.order.len(),
                hist.ops.len()
            );
            FailureClass::RevisionOrder
        } else {
            FailureClass::NotLinearizable
        };
        let mut finding = Finding::new(class, summary).at(Some(key), op.event);
        // The write that put the model in the state the offending call contradicts.
        if let Some(&w) = stuck.order.iter().rev().find(|&&w| {
            !matches!(
                hist.ops[w].kind,
                Kind::Read(_)
                    | Kind::ReadValue(_)
                    | Kind::Present(_)
                    | Kind::Loaded { .. }
                    | Kind::CasErr { .. }
            )
        }) {
            finding = finding.bound(
                hist.ops[w].event,
                format!("last write placed before it (left key {key} {held})"),
            );
        }
        if let Some(before) = hist
            .ops
            .iter()
            .filter(|o| o.ret < op.call && o.event != op.event)
            .max_by_key(|o| o.ret)
        {
            finding = finding.bound(
                before.event,
                "the latest call on the key that returned before it was called",
            );
        }
        if let Some(after) = hist
            .ops
            .iter()
            .filter(|o| o.call > op.ret)
            .min_by_key(|o| o.call)
        {
            finding = finding.bound(
                after.event,
                "the first call on the key made after it returned",
            );
        }
        finding
    }
}
