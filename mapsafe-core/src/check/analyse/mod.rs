//! From a recorded history to a verdict.
//!
//! The history is first projected on the keys it touches ([`project`]); then the checks run, each
//! in its own module, in this order, and the first violation found wins:
//!
//! 1. [`revisions`] (versioned maps): revisions are unique and agree with real time;
//! 2. [`transactions`], first rule: no call sees an aborted transaction's write;
//! 3. [`per_key`]: each key's operations are linearizable;
//! 4. [`snapshot_cuts`] (versioned maps): a snapshot holds the writes up to its version;
//! 5. [`torn`]: a snapshot is taken at one instant;
//! 6. [`transactions`], the other rules: a committed transaction's revisions are consecutive,
//!    and its writes take effect together (a whole-map model over the keys transactions touch);
//! 7. [`quiescent`]: the state left after the workers joined is coherent.
//!
//! Revisions come first because a wrong revision also breaks the later checks, and its own
//! message names the cause; an aborted transaction's write would otherwise surface as a phantom
//! read; per-key linearizability comes before the snapshot and whole-map checks because they
//! assume each key's writes are already known to be in a coherent order, so that what fails
//! there is what only several keys together show.

mod per_key;
mod project;
mod quiescent;
mod revisions;
mod snapshot_cuts;
mod torn;
mod transactions;

use core::fmt::Debug;
use std::collections::HashMap;

use super::history::{Event, Op};
use super::report::{self, FailureClass};
use super::search::{Held, KeyOp, State};
use super::workload::{Recorded, Updater};
use crate::record::Record;

/// A call that bounds the offending one in a [`Finding`], with the reason it is shown.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub(crate) event: usize,
    pub(crate) why: String,
}

/// The check that produced a [`Finding`]: a shrunk history is re-checked by the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// A worker panicked: there is no history to check.
    Panicked,
    /// Projection: a result of the wrong key, or a key shown twice.
    Project,
    Revisions,
    PerKey,
    SnapshotCuts,
    Torn,
    AbortedInvisible,
    Transactions,
    Quiescent,
}

/// What went wrong, pointing into the history; `report` renders it.
#[derive(Debug)]
pub(crate) struct Finding {
    pub(crate) check: Check,
    pub(crate) class: FailureClass,
    pub(crate) summary: String,
    pub(crate) key: Option<u64>,
    pub(crate) offending: Option<usize>,
    pub(crate) bounding: Vec<Bound>,
}

impl Finding {
    fn new(class: FailureClass, summary: String) -> Self {
        Finding {
            // Set by `Analysis::check`, which knows which check ran.
            check: Check::Panicked,
            class,
            summary,
            key: None,
            offending: None,
            bounding: Vec::new(),
        }
    }

    fn at(mut self, key: Option<u64>, offending: usize) -> Self {
        self.key = key;
        self.offending = Some(offending);
        self
    }

    fn bound(mut self, event: usize, why: impl Into<String>) -> Self {
        self.bounding.push(Bound {
            event,
            why: why.into(),
        });
        self
    }

    /// Keeps the finding's key, or takes this one if it had none.
    fn bound_key(mut self, key: Option<u64>) -> Self {
        self.key = self.key.or(key);
        self
    }
}

/// Numbers about a history that passed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) events: usize,
    pub(crate) keys: usize,
    pub(crate) snapshots: usize,
    pub(crate) undecided_keys: usize,
    pub(crate) longest_key_history: usize,
    /// Calls whose ticket interval overlapped another call's (real concurrency, not turns).
    pub(crate) overlapping: usize,
}

/// One key's projected history: its state when the history begins, its operations in event
/// order and the values they name.
struct KeyHist<R> {
    start: State,
    ops: Vec<KeyOp>,
    values: Vec<R>,
}

/// The analysis of one history.
pub(crate) struct Analysis<'a, R: Record> {
    recorded: &'a Recorded<R>,
    pub(crate) events: &'a [Event<R>],
    pub(crate) versioned: bool,
    updater: Option<Updater<R>>,
    keys: &'a [u64],
    key_numbers: HashMap<R::Key, u64>,
    hists: HashMap<u64, KeyHist<R>>,
}

impl<'a, R: Record + Clone + PartialEq + Debug> Analysis<'a, R> {
    pub(crate) fn new(
        recorded: &'a Recorded<R>,
        versioned: bool,
        make: fn(u64, u64) -> R,
        updater: Option<Updater<R>>,
    ) -> Self {
        let key_numbers = recorded
            .keys
            .iter()
            .map(|&k| (make(k, 0).key().clone(), k))
            .collect();
        let mut analysis = Analysis {
            recorded,
            events: &recorded.events,
            versioned,
            updater,
            keys: &recorded.keys,
            key_numbers,
            hists: HashMap::new(),
        };
        for start in &recorded.start {
            let state = start
                .state
                .as_ref()
                .map(|seen| Held::new(analysis.vid(start.key, &seen.record), seen.revision));
            analysis.hist(start.key).start = state;
        }
        analysis
    }

    /// The key number of a record, if any call named its key.
    pub(crate) fn key_of(&self, record: &R) -> Option<u64> {
        self.key_numbers.get(record.key()).copied()
    }

    /// Runs every check; the first violation found wins.
    pub(crate) fn run(&mut self) -> Result<Tally, Finding> {
        if let Some(panic) = &self.recorded.panic {
            return Err(Finding::new(
                FailureClass::Panicked,
                format!("worker thread {} panicked: {}", panic.thread, panic.message),
            ));
        }
        let mut tally = self.tally();
        self.check(Check::Project, &mut tally)?;
        if self.versioned {
            self.check(Check::Revisions, &mut tally)?;
        }
        self.check(Check::AbortedInvisible, &mut tally)?;
        self.check(Check::PerKey, &mut tally)?;
        if self.versioned {
            self.check(Check::SnapshotCuts, &mut tally)?;
        }
        self.check(Check::Torn, &mut tally)?;
        self.check(Check::Transactions, &mut tally)?;
        self.check(Check::Quiescent, &mut tally)?;
        Ok(tally)
    }

    /// Projects the history, then runs only `check` (how a shrunk history is re-checked).
    pub(crate) fn run_one(&mut self, check: Check) -> Result<(), Finding> {
        let mut tally = Tally::default();
        self.check(Check::Project, &mut tally)?;
        if check != Check::Project {
            self.check(check, &mut tally)?;
        }
        Ok(())
    }

    /// Runs one check, naming it in its finding.
    fn check(&mut self, check: Check, tally: &mut Tally) -> Result<(), Finding> {
        let outcome = match check {
            Check::Panicked => Ok(()),
            Check::Project => self.project(),
            Check::Revisions => self.revision_order(),
            Check::PerKey => self.per_key(tally),
            Check::SnapshotCuts => self.snapshot_cuts(),
            Check::Torn => self.torn_snapshots(),
            Check::AbortedInvisible => self.aborted_invisible(),
            Check::Transactions => self.transactions(tally),
            Check::Quiescent => self.quiescent(),
        };
        outcome.map_err(|finding| Finding { check, ..finding })
    }

    /// The numbers of a history, before the checks add theirs.
    fn tally(&self) -> Tally {
        Tally {
            events: self.events.len(),
            overlapping: overlapping(self.events),
            keys: self.keys.len(),
            snapshots: self
                .events
                .iter()
                .filter(|e| matches!(e.op, Op::Snapshot))
                .count(),
            ..Tally::default()
        }
    }

    /// `key`'s state in the model, for a finding's summary.
    fn show(&self, key: u64, state: State) -> String {
        report::state_text(state, &self.hists[&key].values, self.versioned)
    }

    /// The events of `key`'s history around `offending` (ticket order): up to `before` earlier
    /// and `after` later ones.
    pub(crate) fn window(
        &self,
        key: u64,
        offending: usize,
        before: usize,
        after: usize,
    ) -> Vec<usize> {
        let mut ops: Vec<&KeyOp> = self
            .hists
            .get(&key)
            .map_or(Vec::new(), |h| h.ops.iter().collect());
        ops.sort_by_key(|o| o.call);
        let mut events: Vec<usize> = Vec::new();
        for o in ops {
            if !events.contains(&o.event) {
                events.push(o.event);
            }
        }
        // A finding made while the history was still being projected (a closure that ran
        // twice) comes before its own projection: the offending call is the history's end.
        if !events.contains(&offending) {
            events.push(offending);
        }
        let at = events
            .iter()
            .position(|&e| e == offending)
            .unwrap_or(events.len());
        let start = at.saturating_sub(before);
        let end = (at + after + 1).min(events.len());
        events[start..end].to_vec()
    }
}

/// A key's projection of event `event` (a key's ops are in event order; a `retain` may have
/// projected several, and then this is the first).
fn op_of(ops: &[KeyOp], event: usize) -> Option<&KeyOp> {
    let at = ops.partition_point(|o| o.event < event);
    ops.get(at).filter(|o| o.event == event)
}

/// A call's interval in tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    call: u64,
    ret: u64,
}

/// The latest-returning span seen so far in a sweep, and its position.
#[derive(Clone, Copy)]
struct Reach {
    ret: u64,
    at: usize,
}

/// How many calls overlapped another call in real time.
fn overlapping<R>(events: &[Event<R>]) -> usize {
    let mut spans: Vec<Span> = events
        .iter()
        .map(|e| Span {
            call: e.call,
            ret: e.ret,
        })
        .collect();
    spans.sort_unstable();
    let mut overlapped = vec![false; spans.len()];
    let mut reach: Option<Reach> = None;
    for (i, span) in spans.iter().enumerate() {
        if let Some(r) = reach {
            if r.ret > span.call {
                overlapped[i] = true;
                overlapped[r.at] = true;
            }
        }
        if reach.is_none_or(|r| span.ret > r.ret) {
            reach = Some(Reach {
                ret: span.ret,
                at: i,
            });
        }
    }
    overlapped.iter().filter(|o| **o).count()
}
