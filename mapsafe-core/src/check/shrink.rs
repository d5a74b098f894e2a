//! Shrinking a failing history to a short one that fails the same check.
//!
//! A recorded run holds hundreds of calls; the violation usually needs a handful. The shrinker
//! tries smaller histories and keeps each one that the check that failed still fails with the
//! same class. It uses only reductions under which a failure of the smaller history implies a
//! failure of the recorded one, so the short history it prints is evidence on its own:
//!
//! - **Other keys**: every check but the quiescent one looks at keys apart (per-key
//!   linearizability is local) or at named pairs of keys, so the calls of other keys go, and
//!   snapshots and `retain` passes keep only the kept keys' records.
//! - **A later end**: cut at an instant no kept call spans. Every call before it precedes every
//!   call after it in real time, so any valid order of the whole history begins with a valid
//!   order of the part before the cut.
//! - **An earlier start** (per-key linearizability, one key): begin just after a call `m` that
//!   every earlier call precedes and no call overlaps, and whose result fixes the key's state
//!   (a read, an `insert`, a removal...). Every valid order places `m` last before the cut, so the
//!   rest must fit starting from that state, which the short history lists as its start.
//! - **Reads**: a call that changes nothing can be dropped: a valid order of the history without
//!   it is what remains of a valid order with it. (Revision order and projection are facts about
//!   single calls or pairs, so there any call can go.)
//!
//! Each reduction is re-checked; the cuts are found by bisection (failing is monotone in where
//! they fall), the reads are dropped one by one, within a bounded number of re-checks.

use core::fmt::Debug;
use std::collections::BTreeSet;

use super::analyse::{Analysis, Check, Finding};
use super::history::{Event, Op, Outcome, Revised, Start};
use super::report::FailureClass;
use super::target::EntryOutcome;
use super::workload::{Recorded, Updater};
use crate::record::Record;

/// Re-checks a shrink may spend on dropping reads, beyond the bisections.
const DROP_BUDGET: usize = 400;
/// Rounds of cutting and dropping reads.
const ROUNDS: usize = 3;

/// A shrunk history and the finding its re-check gave.
#[derive(Debug)]
pub(crate) struct Shrunk<R> {
    pub(crate) recorded: Recorded<R>,
    pub(crate) finding: Finding,
}

/// A candidate history: the events kept, and for each the index it had in the recorded one.
#[derive(Clone)]
struct Candidate<R> {
    recorded: Recorded<R>,
    origin: Vec<usize>,
}

impl<R: Clone> Candidate<R> {
    fn keep(&self, mut keep: impl FnMut(usize, &Event<R>) -> bool) -> Self {
        let mut out = Candidate {
            recorded: Recorded {
                events: Vec::new(),
                ..self.recorded.clone_without_events()
            },
            origin: Vec::new(),
        };
        for (i, event) in self.recorded.events.iter().enumerate() {
            if keep(i, event) {
                out.recorded.events.push(event.clone());
                out.origin.push(self.origin[i]);
            }
        }
        out
    }

    fn position(&self, original: usize) -> Option<usize> {
        self.origin.iter().position(|&o| o == original)
    }
}

impl<R: Clone> Recorded<R> {
    fn clone_without_events(&self) -> Self {
        Recorded {
            events: Vec::new(),
            start: self.start.clone(),
            keys: self.keys.clone(),
            panic: None,
            verify: Ok(()),
        }
    }
}

/// What the shrinker re-checks with.
struct Shrinker<R: Record> {
    versioned: bool,
    make: fn(u64, u64) -> R,
    updater: Option<Updater<R>>,
    check: Check,
    class: FailureClass,
    /// The offending call of the recorded history: kept in every candidate.
    offending: usize,
}

impl<R: Record + Clone + PartialEq + Debug> Shrinker<R> {
    /// The candidate's finding, if it fails the same check with the same class and still shows
    /// the offending call.
    fn fails(&self, candidate: &Candidate<R>) -> Option<Finding> {
        candidate.position(self.offending)?;
        let mut analysis =
            Analysis::new(&candidate.recorded, self.versioned, self.make, self.updater);
        match analysis.run_one(self.check) {
            Err(finding) if finding.class == self.class && finding.check == self.check => {
                Some(finding)
            }
            _ => None,
        }
    }
}

/// Shrinks `recorded`, which failed with `finding`; `None` if the failure is not about a
/// history (a panic, the quiescent state) or no smaller history fails.
pub(crate) fn shrink<R: Record + Clone + PartialEq + Debug>(
    recorded: &Recorded<R>,
    finding: &Finding,
    versioned: bool,
    make: fn(u64, u64) -> R,
    updater: Option<Updater<R>>,
) -> Option<Shrunk<R>> {
    if matches!(finding.check, Check::Panicked | Check::Quiescent) {
        return None;
    }
    let shrinker = Shrinker {
        versioned,
        make,
        updater,
        check: finding.check,
        class: finding.class,
        offending: finding.offending?,
    };
    let mut best = Candidate {
        recorded: recorded.clone(),
        origin: (0..recorded.events.len()).collect(),
    };
    let mut found = None;
    let mut consider = |candidate: Candidate<R>, best: &mut Candidate<R>| {
        if let Some(f) = shrinker.fails(&candidate) {
            *best = candidate;
            found = Some(f);
            true
        } else {
            false
        }
    };

    let any_call = pairwise(shrinker.check);
    // Facts about single calls or pairs: the calls the finding names may be all it takes.
    if any_call {
        let named: BTreeSet<usize> = finding
            .offending
            .into_iter()
            .chain(finding.bounding.iter().map(|b| b.event))
            .collect();
        if consider(best.keep(|i, _| named.contains(&i)), &mut best) {
            return found.map(|finding| Shrunk {
                recorded: best.recorded,
                finding,
            });
        }
    }
    // Other keys: per-key checks need only the finding's key (locality).
    let keys = match (finding.check, finding.key) {
        (Check::PerKey | Check::SnapshotCuts, Some(key)) => BTreeSet::from([key]),
        _ => finding_keys(recorded, finding),
    };
    if !keys.is_empty() {
        consider(only_keys(&best, &keys, finding.check, make), &mut best);
    }
    // Cut, then drop reads (long ones, snapshots and `retain`, leave few quiet instants to cut
    // at), and again while that helps.
    for _ in 0..ROUNDS {
        let before = best.recorded.events.len();
        if let Some(candidate) = later_end(&shrinker, &best, recorded) {
            consider(candidate, &mut best);
        }
        if let Some(candidate) = earlier_start(&shrinker, &best, recorded) {
            consider(candidate, &mut best);
        }
        drop_reads(&shrinker, &mut best, &mut consider);
        if best.recorded.events.len() == before {
            break;
        }
    }
    let finding = found?;
    Some(Shrunk {
        recorded: best.recorded,
        finding,
    })
}

/// The earliest cut at a quiet instant after the offending call that still fails.
fn later_end<R: Record + Clone + PartialEq + Debug>(
    shrinker: &Shrinker<R>,
    best: &Candidate<R>,
    recorded: &Recorded<R>,
) -> Option<Candidate<R>> {
    let offending_ret = recorded.events[shrinker.offending].ret;
    let cuts: Vec<u64> = quiet_cuts(&best.recorded.events)
        .into_iter()
        .filter(|&t| t >= offending_ret)
        .collect();
    let &cut = bisect(&cuts, false, |&t| {
        shrinker.fails(&best.keep(|_, e| e.call < t)).is_some()
    })?;
    Some(best.keep(|_, e| e.call < cut))
}

/// Per-key linearizability of one key: the latest start, just after a settled call before the
/// offending one, that still fails.
fn earlier_start<R: Record + Clone + PartialEq + Debug>(
    shrinker: &Shrinker<R>,
    best: &Candidate<R>,
    recorded: &Recorded<R>,
) -> Option<Candidate<R>> {
    let (Check::PerKey, &[key]) = (shrinker.check, &best.recorded.keys[..]) else {
        return None;
    };
    let events = &best.recorded.events;
    let key_of = |r: &R| make_key_of(shrinker.make, &best.recorded.keys, r);
    let offending_call = recorded.events[shrinker.offending].call;
    let mut settled: Vec<usize> = (0..events.len())
        .filter(|&i| {
            let m = &events[i];
            m.ret < offending_call
                && settled_state(m, key, &key_of).is_some()
                && events
                    .iter()
                    .enumerate()
                    .all(|(j, e)| j == i || e.ret < m.call || e.call > m.ret)
        })
        .collect();
    settled.sort_by_key(|&i| events[i].call);
    let start_after = |i: usize| {
        let m = events[i].clone();
        let state = settled_state(&m, key, &key_of).expect("filtered above");
        let mut candidate = best.keep(|_, e| e.call > m.ret);
        candidate.recorded.start = vec![Start {
            key,
            state,
            after: m,
        }];
        candidate
    };
    let &i = bisect(&settled, true, |&i| {
        shrinker.fails(&start_after(i)).is_some()
    })?;
    Some(start_after(i))
}

/// Drops the calls that change nothing, one by one, keeping each drop after which the history
/// still fails (any call, for the checks about single calls or pairs).
fn drop_reads<R: Record + Clone + PartialEq + Debug>(
    shrinker: &Shrinker<R>,
    best: &mut Candidate<R>,
    consider: &mut impl FnMut(Candidate<R>, &mut Candidate<R>) -> bool,
) {
    let any_call = pairwise(shrinker.check);
    // All at once first: often the writes alone fail.
    let origin = best.origin.clone();
    let all =
        best.keep(|i, e| origin[i] == shrinker.offending || !(any_call || changes_nothing(e)));
    if all.recorded.events.len() < best.recorded.events.len() && consider(all, best) {
        return;
    }
    let mut tries = 0;
    let mut at = 0;
    while at < best.recorded.events.len() && tries < DROP_BUDGET {
        let event = &best.recorded.events[at];
        if best.origin[at] == shrinker.offending || !(any_call || changes_nothing(event)) {
            at += 1;
            continue;
        }
        tries += 1;
        let candidate = best.keep(|j, _| j != at);
        if !consider(candidate, best) {
            at += 1;
        }
    }
}

/// Whether a check is about facts of single calls or pairs of them, so that dropping any other
/// call keeps its failures.
fn pairwise(check: Check) -> bool {
    matches!(
        check,
        Check::Project | Check::Revisions | Check::AbortedInvisible
    )
}

/// The keys a finding is about: its own, and those of the calls it points at (all the keys a
/// transaction declares).
fn finding_keys<R>(recorded: &Recorded<R>, finding: &Finding) -> BTreeSet<u64> {
    let events: Vec<&Op<R>> = finding
        .offending
        .iter()
        .chain(finding.bounding.iter().map(|b| &b.event))
        .map(|&e| &recorded.events[e].op)
        .collect();
    let declared = events.iter().flat_map(|op| op.declared().iter().copied());
    finding
        .key
        .into_iter()
        .chain(events.iter().filter_map(|op| op.key()))
        .chain(declared)
        .collect()
}

/// The candidate with only `keys`' calls, and multi-key results cut down to those keys.
fn only_keys<R: Record + Clone>(
    candidate: &Candidate<R>,
    keys: &BTreeSet<u64>,
    check: Check,
    make: fn(u64, u64) -> R,
) -> Candidate<R> {
    let kept: Vec<u64> = keys.iter().copied().collect();
    let mut out = candidate.keep(|_, e| match e.op.key() {
        Some(key) => keys.contains(&key),
        None => match e.op {
            Op::Version => check == Check::Revisions,
            Op::Len => false,
            _ => true,
        },
    });
    out.recorded.keys.retain(|k| keys.contains(k));
    out.recorded.start.retain(|s| keys.contains(&s.key));
    // A transaction keeps its parts on the kept keys (dropping the others' constraints only).
    out = out.keep(|_, e| {
        let declared = e.op.declared();
        declared.is_empty() || declared.iter().any(|k| keys.contains(k))
    });
    for event in &mut out.recorded.events {
        if let Op::Transaction { keys: declared, .. } = &mut event.op {
            declared.retain(|k| keys.contains(k));
        }
        if let Outcome::Transaction(txn) = &mut event.outcome {
            txn.reads.retain(|r| keys.contains(&r.key));
            txn.writes.retain(|w| keys.contains(&w.key));
            if let Some(changed) = &mut txn.committed {
                changed.retain(|c| keys.contains(&c.key));
            }
        }
    }
    let keep = |record: &R| make_key_of(make, &kept, record).is_some();
    for event in &mut out.recorded.events {
        match &mut event.outcome {
            Outcome::Snapshot { records, .. } => records.retain(|r| keep(&r.record)),
            Outcome::Retain(visits) => visits.retain(|v| keep(&v.record)),
            _ => {}
        }
    }
    out
}

/// The key number of `record` among `keys`, found through `make`.
fn make_key_of<R: Record>(make: fn(u64, u64) -> R, keys: &[u64], record: &R) -> Option<u64> {
    keys.iter()
        .copied()
        .find(|&k| make(k, 0).key() == record.key())
}

/// Instants no call spans, each just before a call starts (cutting there keeps the calls that
/// started earlier), and the end of time.
fn quiet_cuts<R>(events: &[Event<R>]) -> Vec<u64> {
    let mut by_call: Vec<&Event<R>> = events.iter().collect();
    by_call.sort_by_key(|e| e.call);
    let mut cuts = Vec::new();
    let mut reach = 0;
    for e in by_call {
        if reach != 0 && reach < e.call {
            cuts.push(e.call);
        }
        reach = reach.max(e.ret);
    }
    cuts.push(u64::MAX);
    cuts
}

/// The first item of `items` (or, with `last`, the last) that `fails`, assuming failing is
/// monotone along them; `None` if the end at which failing is certain does not fail either.
fn bisect<T>(items: &[T], last: bool, fails: impl Fn(&T) -> bool) -> Option<&T> {
    let (mut lo, mut hi) = (0, items.len());
    // Invariant: the answer is in lo..hi, found by probing the middle.
    let mut answer = None;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fails(&items[mid]) {
            answer = Some(mid);
            if last {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        } else if last {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    answer.map(|i| &items[i])
}

/// The state a call certainly left `key` in, when its result fixes it.
fn settled_state<R: Clone>(
    event: &Event<R>,
    key: u64,
    key_of: &dyn Fn(&R) -> Option<u64>,
) -> Option<Option<Revised<R>>> {
    let on_key = event.op.key().is_none_or(|k| k == key);
    if !on_key {
        return None;
    }
    let stored = |record: &R, revision: u64| {
        Some(Some(Revised {
            record: record.clone(),
            revision,
        }))
    };
    match (&event.op, &event.outcome) {
        (_, Outcome::Get(seen)) => Some(seen.clone()),
        (Op::Insert { record, .. }, Outcome::Insert { revision, .. })
        | (Op::LoadOrStore { record, .. }, Outcome::Stored { revision })
        | (Op::Cas { record, .. }, Outcome::Cas(Ok(revision))) => stored(record, *revision),
        (_, Outcome::Loaded { current, revision }) => stored(current, *revision),
        (_, Outcome::Remove(_) | Outcome::Update(None) | Outcome::Clear | Outcome::Cas(Err(0))) => {
            Some(None)
        }
        (_, Outcome::Snapshot { records, .. }) => Some(
            records
                .iter()
                .find(|r| key_of(&r.record) == Some(key))
                .cloned(),
        ),
        _ => None,
    }
}

/// Whether a call certainly changed nothing (its result says so).
fn changes_nothing<R>(event: &Event<R>) -> bool {
    match &event.outcome {
        Outcome::Get(_)
        | Outcome::Contains(_)
        | Outcome::Loaded { .. }
        | Outcome::Update(None)
        | Outcome::Remove(None)
        | Outcome::Cas(Err(_))
        | Outcome::Snapshot { .. }
        | Outcome::Version(_)
        | Outcome::Len(_) => true,
        Outcome::Retain(visits) => visits.iter().all(|v| v.kept),
        Outcome::GetOrInsertWith { made, .. } => *made == 0,
        Outcome::RemoveIf { removed, .. } => removed.is_none(),
        Outcome::CompareAndRemove(result) => result.is_err(),
        Outcome::Entry { outcome, .. } => {
            matches!(outcome, EntryOutcome::Found(_) | EntryOutcome::Vacant)
        }
        Outcome::Transaction(txn) => txn.committed.is_none() || txn.writes.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::history::Revised;
    use crate::check::history::build::{self, Rec, make};

    /// Builds a history one call at a time, each on its own tickets, threads taking turns.
    struct Builder {
        events: Vec<Event<Rec>>,
        ticket: u64,
    }

    impl Builder {
        fn push(&mut self, op: Op<Rec>, outcome: Outcome<Rec>) -> usize {
            let thread = self.events.len() % 3;
            let event = build::event(thread, self.ticket, self.ticket + 1, op, outcome);
            self.events.push(event);
            self.ticket += 2;
            self.events.len() - 1
        }
    }

    /// 10 keys written round after round, with reads and snapshots between, then one stale read
    /// of key 3: a long history whose violation needs two calls.
    fn long_history_with_a_stale_read() -> (Recorded<Rec>, usize) {
        let mut b = Builder {
            events: Vec::new(),
            ticket: 1,
        };
        let mut current: Vec<Option<Rec>> = vec![None; 10];
        for round in 0..30_u64 {
            for key in 0..10_u64 {
                let record = make(key, round + 1);
                let replaced = current[key as usize].replace(record);
                b.push(
                    Op::Insert { key, record },
                    Outcome::Insert {
                        replaced,
                        revision: 0,
                    },
                );
                let seen = current[key as usize].map(|record| Revised {
                    record,
                    revision: 0,
                });
                b.push(Op::Get { key }, Outcome::Get(seen));
            }
            let records = current
                .iter()
                .flatten()
                .map(|&record| Revised {
                    record,
                    revision: 0,
                })
                .collect();
            b.push(
                Op::Snapshot,
                Outcome::Snapshot {
                    records,
                    version: 0,
                },
            );
        }
        let stale = Revised {
            record: make(3, 1),
            revision: 0,
        };
        let at = b.push(Op::Get { key: 3 }, Outcome::Get(Some(stale)));
        let keys: Vec<u64> = (0..10).collect();
        (build::recorded(b.events, &keys), at)
    }

    #[test]
    fn a_long_failing_history_shrinks_to_a_short_one_that_fails_the_same_way_on_its_own() {
        let (recorded, stale) = long_history_with_a_stale_read();
        let mut analysis = Analysis::new(&recorded, false, make, None);
        let finding = analysis.run().expect_err("the stale read is a violation");
        assert_eq!(finding.class, FailureClass::NotLinearizable);
        assert_eq!(finding.offending, Some(stale));

        let shrunk = shrink(&recorded, &finding, false, make, None).expect("shrinks");
        let short = &shrunk.recorded;
        assert!(recorded.events.len() > 600);
        // The stale read, starting from the state the last write to key 3 left.
        assert_eq!(short.events.len(), 1, "{:#?}", short.events);
        assert!(matches!(short.events[0].op, Op::Get { key: 3 }));
        assert_eq!(short.start.len(), 1);
        assert_eq!(
            short.start[0].state.as_ref().map(|s| s.record),
            Some(make(3, 30))
        );
        // Evidence on its own: every check, run on the short history, finds the same violation.
        let mut again = Analysis::new(short, false, make, None);
        let refound = again.run().expect_err("the shrunk history still fails");
        assert_eq!(refound.class, FailureClass::NotLinearizable);
    }

    #[test]
    fn the_start_state_is_part_of_the_evidence() {
        // The one call left reads key 3's first value: legal had the key started with it, so it
        // is the start the shrinker computed (what the last write left) that makes it stale.
        let (recorded, _) = long_history_with_a_stale_read();
        let mut analysis = Analysis::new(&recorded, false, make, None);
        let finding = analysis.run().unwrap_err();
        let shrunk = shrink(&recorded, &finding, false, make, None).unwrap();
        let mut with_stale_as_start = shrunk.recorded.clone();
        with_stale_as_start.start[0].state = Some(Revised {
            record: make(3, 1),
            revision: 0,
        });
        let mut analysis = Analysis::new(&with_stale_as_start, false, make, None);
        assert!(
            analysis.run().is_ok(),
            "a read of the value the key starts with is legal"
        );
    }

    #[test]
    fn a_quiet_instant_is_one_no_call_spans() {
        let event = |call, ret| build::event(0, call, ret, Op::Len, Outcome::Len(0));
        // [1..4] and [2..6] overlap; [7..8] starts after both; [9..12] and [10..11] overlap.
        let events = [
            event(1, 4),
            event(2, 6),
            event(7, 8),
            event(9, 12),
            event(10, 11),
        ];
        assert_eq!(quiet_cuts(&events), vec![7, 9, u64::MAX]);
    }
}
