//! Per-key linearizability: a Wing-Gong search with Lowe's memoisation, as porcupine does it.
//!
//! A key's operations form a small history (each worker has at most one call pending, so the
//! search branches at most `threads + 2` ways). On a versioned map the revision each write was
//! given fixes the order of writes, which leaves only the reads to place: near-linear.

use core::hash::Hash;
use std::collections::HashSet;

use super::workload::Updater;
use crate::record::Record;

/// An interned record value of one key.
pub(crate) type Vid = u32;
/// A value a key holds in the model, with the revision of its last write (0 on a map without
/// revisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Held {
    pub(crate) value: Vid,
    pub(crate) revision: u64,
}

impl Held {
    pub(crate) fn new(value: Vid, revision: u64) -> Self {
        Held { value, revision }
    }
}

/// The sequential model of one key: absent, or the value it holds.
pub(crate) type State = Option<Held>;

/// What one operation did to, or saw of, one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Saw exactly this state (`get`, a snapshot's view of the key).
    Read(State),
    /// Saw this value, revision unknown (`retain` kept it).
    ReadValue(Vid),
    /// Saw presence (`contains_key`).
    Present(bool),
    Insert {
        new: Vid,
        prev: Option<Vid>,
        rev: u64,
    },
    Stored {
        new: Vid,
        rev: u64,
    },
    Loaded {
        current: Vid,
        stamp: u64,
    },
    Update {
        nonce: u64,
        rev: Option<u64>,
    },
    Remove(Option<Held>),
    CasOk {
        expected: u64,
        new: Vid,
        rev: u64,
    },
    CasErr {
        expected: u64,
        actual: u64,
    },
    /// `compare_and_remove` removed this value.
    CarOk {
        expected: u64,
        removed: Vid,
        rev: u64,
    },
    /// A transaction's part on this key: it saw `seen` and left `after`, with revision `rev`
    /// (the part of a committed transaction that changed the key; a read-only part is a `Read`).
    TxnPart {
        seen: State,
        after: State,
        rev: u64,
    },
    /// An entry's view of a present record was handed out (`or_insert` on an occupied slot)
    /// and not edited: the value stays, the write takes revision `rev`.
    Touch {
        rev: u64,
    },
    /// `retain` removed this value (its revision is not reported).
    Drop(Vid),
    /// `clear` ran over the key.
    Clear,
}

impl Kind {
    /// The revision of a write whose revision was reported.
    pub(crate) fn known_rev(&self) -> Option<u64> {
        match *self {
            Kind::Insert { rev, .. }
            | Kind::Stored { rev, .. }
            | Kind::Update { rev: Some(rev), .. }
            | Kind::Remove(Some(Held { revision: rev, .. }))
            | Kind::CasOk { rev, .. }
            | Kind::CarOk { rev, .. }
            | Kind::Touch { rev }
            | Kind::TxnPart { rev, .. } => Some(rev),
            _ => None,
        }
    }
}

/// One operation projected on one key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyOp {
    /// Index of the event in the history.
    pub(crate) event: usize,
    pub(crate) call: u64,
    pub(crate) ret: u64,
    pub(crate) kind: Kind,
}

/// Interns `record` among a key's values.
pub(crate) fn intern<R: PartialEq + Clone>(values: &mut Vec<R>, record: &R) -> Vid {
    match values.iter().position(|v| v == record) {
        Some(at) => at as Vid,
        None => {
            values.push(record.clone());
            (values.len() - 1) as Vid
        }
    }
}

/// The value `update` with `nonce` makes of `from`.
pub(crate) fn edited<R: Record + Clone + PartialEq>(
    values: &mut Vec<R>,
    from: Vid,
    updater: Option<Updater<R>>,
    nonce: u64,
) -> Vid {
    match updater {
        None => from,
        Some(edit) => {
            let mut record = values[from as usize].clone();
            edit(record.as_mut(), nonce);
            intern(values, &record)
        }
    }
}

fn stamp(state: State) -> u64 {
    state.map_or(0, |held| held.revision)
}

fn value(state: State) -> Option<Vid> {
    state.map(|held| held.value)
}

/// The model's step: the new state if `kind`'s result is possible from `state`.
pub(crate) fn apply<R: Record + Clone + PartialEq>(
    kind: Kind,
    state: State,
    values: &mut Vec<R>,
    updater: Option<Updater<R>>,
) -> Option<State> {
    match kind {
        Kind::Read(seen) => (state == seen).then_some(state),
        Kind::ReadValue(seen) => (value(state) == Some(seen)).then_some(state),
        Kind::Present(present) => (state.is_some() == present).then_some(state),
        Kind::Insert { new, prev, rev } => {
            (value(state) == prev).then_some(Some(Held::new(new, rev)))
        }
        Kind::Stored { new, rev } => state.is_none().then_some(Some(Held::new(new, rev))),
        Kind::Loaded { current, stamp } => {
            (state == Some(Held::new(current, stamp))).then_some(state)
        }
        Kind::Update { rev: None, .. } => state.is_none().then_some(None),
        Kind::Update {
            nonce,
            rev: Some(rev),
        } => {
            let from = state?.value;
            Some(Some(Held::new(edited(values, from, updater, nonce), rev)))
        }
        Kind::Remove(None) => state.is_none().then_some(None),
        Kind::Remove(Some(removed)) => (value(state) == Some(removed.value)).then_some(None),
        Kind::CasOk { expected, new, rev } => {
            (stamp(state) == expected).then_some(Some(Held::new(new, rev)))
        }
        Kind::CasErr { expected, actual } => {
            (stamp(state) != expected && stamp(state) == actual).then_some(state)
        }
        Kind::CarOk {
            expected, removed, ..
        } => (stamp(state) == expected && value(state) == Some(removed)).then_some(None),
        Kind::TxnPart { seen, after, .. } => (state == seen).then_some(after),
        Kind::Touch { rev } => Some(Some(Held::new(state?.value, rev))),
        Kind::Drop(removed) => (value(state) == Some(removed)).then_some(None),
        Kind::Clear => Some(None),
    }
}

/// Where the search got furthest before every order failed.
#[derive(Debug, Clone)]
pub(crate) struct Stuck<S = State> {
    /// The operation (index into the ops searched) that had to come next and could not.
    pub(crate) blocking: usize,
    /// The model's state at that point.
    pub(crate) state: S,
    /// The operations placed before it, in order.
    pub(crate) order: Vec<usize>,
}

/// The verdict on a history.
#[derive(Debug)]
pub(crate) enum Verdict<S = State> {
    Linearizable,
    /// The search budget ran out: no verdict (never reported as a violation).
    Undecided,
    NotLinearizable(Stuck<S>),
}

/// An operation's place in real time and, on a versioned map, among the writes: its writes take
/// the ranks `first..first + count` of the revision order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timed {
    pub(crate) call: u64,
    pub(crate) ret: u64,
    pub(crate) ranks: Option<Ranks>,
}

/// Positions in the revision order of all writes searched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranks {
    pub(crate) first: usize,
    pub(crate) count: usize,
}

/// Gives each operation the ranks of its revisions (`revisions(i)`, empty for reads) in the
/// order of all of them. An operation whose revisions are not consecutive in that order gets the
/// first and its count, so that another write ranked between them can never be placed.
pub(crate) fn rank(n: usize, revisions: impl Fn(usize) -> Vec<u64>) -> Vec<Option<Ranks>> {
    let mut writes: Vec<(u64, usize)> = Vec::new();
    for i in 0..n {
        writes.extend(revisions(i).into_iter().map(|revision| (revision, i)));
    }
    // Stable: writes that share a revision keep their history order.
    writes.sort_by_key(|&(revision, _)| revision);
    let mut ranks: Vec<Option<Ranks>> = vec![None; n];
    for (position, &(_, i)) in writes.iter().enumerate() {
        match &mut ranks[i] {
            Some(r) => r.count += 1,
            slot => {
                *slot = Some(Ranks {
                    first: position,
                    count: 1,
                })
            }
        }
    }
    ranks
}

const END: usize = usize::MAX;

/// A placed operation the search can take back: the call entry it lifted and what it changed.
struct Frame<S> {
    call: usize,
    state: S,
    done_rank: usize,
}

/// A search node already explored: the set of placed operations and the model's state.
#[derive(PartialEq, Eq, Hash)]
struct Memo<S> {
    linearized: Vec<u64>,
    state: S,
}

/// Decides whether `ops` (one key's history, starting in state `start`) is linearizable.
pub(crate) fn linearize<R: Record + Clone + PartialEq>(
    ops: &[KeyOp],
    values: &mut Vec<R>,
    start: State,
    versioned: bool,
    updater: Option<Updater<R>>,
    budget: usize,
) -> Verdict {
    let ranks = if versioned {
        rank(ops.len(), |i| ops[i].kind.known_rev().into_iter().collect())
    } else {
        vec![None; ops.len()]
    };
    let timed: Vec<Timed> = ops
        .iter()
        .zip(ranks)
        .map(|(op, ranks)| Timed {
            call: op.call,
            ret: op.ret,
            ranks,
        })
        .collect();
    search(&timed, start, budget, |i, &state| {
        apply(ops[i].kind, state, values, updater)
    })
}

/// The Wing-Gong search with memoisation, for any sequential model: `step(i, state)` is the
/// state after operation `i` if its result is possible from `state`.
pub(crate) fn search<S: Clone + Eq + Hash>(
    ops: &[Timed],
    start: S,
    budget: usize,
    mut step: impl FnMut(usize, &S) -> Option<S>,
) -> Verdict<S> {
    let n = ops.len();
    // Entry 2i is op i's call, 2i+1 its return; the list runs in ticket order from `head`.
    let mut order: Vec<usize> = (0..2 * n).collect();
    order.sort_unstable_by_key(|&e| {
        let op = &ops[e / 2];
        (if e % 2 == 0 { op.call } else { op.ret }, e % 2)
    });
    let head = 2 * n;
    let mut next = vec![END; 2 * n + 1];
    let mut prev = vec![head; 2 * n + 1];
    let mut last = head;
    for &e in &order {
        next[last] = e;
        prev[e] = last;
        last = e;
    }
    let lift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        next[prev[e]] = next[e];
        if next[e] != END {
            prev[next[e]] = prev[e];
        }
    };
    let unlift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        next[prev[e]] = e;
        if next[e] != END {
            prev[next[e]] = e;
        }
    };

    let mut linearized = vec![0_u64; n.div_ceil(64)];
    let mut state: S = start;
    let mut done_rank = 0;
    let mut stack: Vec<Frame<S>> = Vec::new();
    let mut cache: HashSet<Memo<S>> = HashSet::new();
    let mut best: Option<Stuck<S>> = None;
    let mut node = next[head];
    let mut steps = 0;
    loop {
        if next[head] == END {
            return Verdict::Linearizable;
        }
        steps += 1;
        if steps > budget {
            return Verdict::Undecided;
        }
        let i = node / 2;
        if node % 2 == 0 {
            if ops[i].ranks.is_none_or(|r| r.first == done_rank) {
                if let Some(new_state) = step(i, &state) {
                    let mut with = linearized.clone();
                    with[i / 64] |= 1 << (i % 64);
                    let memo = Memo {
                        linearized: with.clone(),
                        state: new_state.clone(),
                    };
                    if cache.insert(memo) {
                        let old = core::mem::replace(&mut state, new_state);
                        stack.push(Frame {
                            call: node,
                            state: old,
                            done_rank,
                        });
                        linearized = with;
                        if let Some(r) = ops[i].ranks {
                            done_rank += r.count;
                        }
                        lift(&mut next, &mut prev, node);
                        lift(&mut next, &mut prev, node + 1);
                        node = next[head];
                        continue;
                    }
                }
            }
            node = next[node];
        } else {
            if best.as_ref().is_none_or(|b| stack.len() > b.order.len()) {
                best = Some(Stuck {
                    blocking: i,
                    state: state.clone(),
                    order: stack.iter().map(|frame| frame.call / 2).collect(),
                });
            }
            let Some(frame) = stack.pop() else {
                return Verdict::NotLinearizable(best.expect("set just above"));
            };
            let (call, j) = (frame.call, frame.call / 2);
            unlift(&mut next, &mut prev, call + 1);
            unlift(&mut next, &mut prev, call);
            linearized[j / 64] &= !(1 << (j % 64));
            state = frame.state;
            done_rank = frame.done_rank;
            node = next[call];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(call: u64, ret: u64, kind: Kind) -> KeyOp {
        KeyOp {
            event: 0,
            call,
            ret,
            kind,
        }
    }

    fn insert(call: u64, ret: u64, new: Vid, prev: Option<Vid>, rev: u64) -> KeyOp {
        op(call, ret, Kind::Insert { new, prev, rev })
    }

    fn verdict(ops: &[KeyOp], versioned: bool) -> Verdict {
        let mut values: Vec<(u64, u64)> = (0..4).map(|n| (1, n)).collect();
        linearize(ops, &mut values, None, versioned, None, 100_000)
    }

    #[test]
    fn overlapping_writes_and_reads_linearize_in_either_order() {
        let ops = [
            insert(1, 10, 0, None, 0),
            insert(2, 9, 1, Some(0), 0),
            op(3, 4, Kind::Read(Some(Held::new(0, 0)))),
            op(11, 12, Kind::Read(Some(Held::new(1, 0)))),
        ];
        assert!(matches!(verdict(&ops, false), Verdict::Linearizable));
    }

    #[test]
    fn a_read_of_an_overwritten_value_after_the_overwrite_returned_is_caught() {
        let ops = [
            insert(1, 2, 0, None, 0),
            insert(3, 4, 1, Some(0), 0),
            op(5, 6, Kind::Read(Some(Held::new(0, 0)))),
        ];
        let Verdict::NotLinearizable(stuck) = verdict(&ops, false) else {
            panic!("stale read not caught");
        };
        assert_eq!(stuck.blocking, 2);
        assert_eq!(stuck.state, Some(Held::new(1, 0)));
    }

    #[test]
    fn two_stores_into_one_absent_key_are_caught() {
        let ops = [
            op(1, 4, Kind::Stored { new: 0, rev: 0 }),
            op(2, 3, Kind::Stored { new: 1, rev: 0 }),
        ];
        assert!(matches!(verdict(&ops, false), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn revisions_fix_the_order_of_concurrent_writes() {
        // Concurrent writes, but the revisions say 1 then 2: a later read of rev 1 is stale.
        let ops = [
            insert(1, 10, 1, Some(0), 3),
            insert(2, 9, 0, None, 2),
            op(11, 12, Kind::Read(Some(Held::new(0, 2)))),
        ];
        assert!(matches!(verdict(&ops, true), Verdict::NotLinearizable(_)));
        let ok = [
            ops[0],
            ops[1],
            op(11, 12, Kind::Read(Some(Held::new(1, 3)))),
        ];
        assert!(matches!(verdict(&ok, true), Verdict::Linearizable));
    }
}
