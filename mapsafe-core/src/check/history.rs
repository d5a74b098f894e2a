//! A recorded history: every call with its arguments, its result and the two tickets that bound
//! it in real time.

use super::target::{EntryOutcome, KeyRevision};

/// One call as issued. Keys are the checker's key numbers (what `make(key, nonce)` was given).
#[derive(Debug, Clone)]
pub(crate) enum Op<R> {
    Get {
        key: u64,
    },
    Contains {
        key: u64,
    },
    Insert {
        key: u64,
        record: R,
    },
    LoadOrStore {
        key: u64,
        record: R,
    },
    Update {
        key: u64,
        nonce: u64,
    },
    Remove {
        key: u64,
    },
    Cas {
        key: u64,
        expected: u64,
        record: R,
    },
    Retain,
    Clear,
    Snapshot,
    Version,
    Len,
    /// `record` is what `make` returns.
    GetOrInsertWith {
        key: u64,
        record: R,
    },
    RemoveIf {
        key: u64,
    },
    CompareAndRemove {
        key: u64,
        expected: u64,
    },
    /// `record` is offered (or made); `nonce` edits, for the shapes that modify.
    Entry {
        key: u64,
        shape: EntryShape,
        record: R,
        nonce: u64,
    },
    /// Over 2 to 4 distinct keys; its writes use nonces `nonce..nonce + keys.len()`.
    Transaction {
        keys: Vec<u64>,
        nonce: u64,
    },
}

/// The closures an `entry` call is issued with (see [`Target`](super::Target)'s `entry_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryShape {
    OrInsert,
    OrInsertWith,
    AndModifyOrInsert,
    Replace,
    Remove,
}

impl EntryShape {
    pub(crate) const ALL: [EntryShape; 5] = [
        EntryShape::OrInsert,
        EntryShape::OrInsertWith,
        EntryShape::AndModifyOrInsert,
        EntryShape::Replace,
        EntryShape::Remove,
    ];

    /// The closure, as a user would write it.
    pub(crate) fn code(self) -> &'static str {
        match self {
            EntryShape::OrInsert => "|e| e.or_insert(record)",
            EntryShape::OrInsertWith => "|e| e.or_insert_with(make)",
            EntryShape::AndModifyOrInsert => "|e| e.and_modify(edit).or_insert(record)",
            EntryShape::Replace => "|e| if occupied, o.insert(record)",
            EntryShape::Remove => "|e| if occupied, o.remove()",
        }
    }
}

impl<R> Op<R> {
    /// The key a single-key operation is about.
    pub(crate) fn key(&self) -> Option<u64> {
        match self {
            Op::Get { key }
            | Op::Contains { key }
            | Op::Insert { key, .. }
            | Op::LoadOrStore { key, .. }
            | Op::Update { key, .. }
            | Op::Remove { key }
            | Op::Cas { key, .. }
            | Op::GetOrInsertWith { key, .. }
            | Op::RemoveIf { key }
            | Op::CompareAndRemove { key, .. }
            | Op::Entry { key, .. } => Some(*key),
            _ => None,
        }
    }

    /// The keys a transaction declares (none for other operations).
    pub(crate) fn declared(&self) -> &[u64] {
        match self {
            Op::Transaction { keys, .. } => keys,
            _ => &[],
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Get { .. } => "get",
            Op::Contains { .. } => "contains_key",
            Op::Insert { .. } => "insert",
            Op::LoadOrStore { .. } => "load_or_store",
            Op::Update { .. } => "update",
            Op::Remove { .. } => "remove",
            Op::Cas { .. } => "compare_and_swap",
            Op::Retain => "retain",
            Op::Clear => "clear",
            Op::Snapshot => "snapshot",
            Op::Version => "version",
            Op::Len => "len",
            Op::GetOrInsertWith { .. } => "get_or_insert_with",
            Op::RemoveIf { .. } => "remove_if",
            Op::CompareAndRemove { .. } => "compare_and_remove",
            Op::Entry { .. } => "entry",
            Op::Transaction { .. } => "transaction",
        }
    }
}

/// One record the `retain` (or `remove_if`) predicate was shown, with tickets taken inside the predicate (that
/// is, inside the shard's critical section) and its verdict.
#[derive(Debug, Clone)]
pub(crate) struct Visit<R> {
    pub(crate) record: R,
    pub(crate) kept: bool,
    pub(crate) t1: u64,
    pub(crate) t2: u64,
}

/// A record as a call saw it, with the revision of its last write (0 on a map without
/// revisions).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Revised<R> {
    pub(crate) record: R,
    pub(crate) revision: u64,
}

impl<R> From<(R, u64)> for Revised<R> {
    /// From the pair [`Target`](super::Target) returns.
    fn from((record, revision): (R, u64)) -> Self {
        Revised { record, revision }
    }
}

/// What a call returned. Revisions are 0 on a map without them.
#[derive(Debug, Clone)]
pub(crate) enum Outcome<R> {
    Get(Option<Revised<R>>),
    Contains(bool),
    Insert {
        replaced: Option<R>,
        revision: u64,
    },
    Stored {
        revision: u64,
    },
    Loaded {
        current: R,
        revision: u64,
    },
    Update(Option<u64>),
    Remove(Option<Revised<R>>),
    Cas(Result<u64, u64>),
    Retain(Vec<Visit<R>>),
    Clear,
    Snapshot {
        records: Vec<Revised<R>>,
        version: u64,
    },
    Version(u64),
    Len(usize),
    /// The stored record, and how many times `make` ran.
    GetOrInsertWith {
        current: Revised<R>,
        made: u32,
    },
    /// Every record the predicate was shown (with its verdict: `kept` = not removed), and the
    /// record removed.
    RemoveIf {
        visits: Vec<Visit<R>>,
        removed: Option<Revised<R>>,
    },
    /// `Ok`: the removed record with the removal's revision; `Err`: the key's actual revision.
    CompareAndRemove(Result<Revised<R>, u64>),
    /// What the slot went through, and how many times `make` ran (`or_insert_with`).
    Entry {
        outcome: EntryOutcome<R>,
        made: u32,
    },
    Transaction(TxnRecord<R>),
}

/// What a transaction's body saw and did in its last run, and how it ended.
#[derive(Debug, Clone)]
pub(crate) struct TxnRecord<R> {
    /// Each declared key as the body first read it (`version_of` giving the revision).
    pub(crate) reads: Vec<TxnRead<R>>,
    /// At most one write per key, after the reads.
    pub(crate) writes: Vec<TxnWrite<R>>,
    /// `None`: aborted. Otherwise each key the commit changed, with its revision.
    pub(crate) committed: Option<Vec<KeyRevision<u64>>>,
}

/// A declared key as a transaction read it.
#[derive(Debug, Clone)]
pub(crate) struct TxnRead<R> {
    pub(crate) key: u64,
    pub(crate) seen: Option<Revised<R>>,
}

/// One write inside a transaction.
#[derive(Debug, Clone)]
pub(crate) struct TxnWrite<R> {
    pub(crate) key: u64,
    pub(crate) action: TxnAction<R>,
}

/// What a transaction did to one key (each only where it changes the key: `update` and `remove`
/// only on a key the body saw present).
#[derive(Debug, Clone)]
pub(crate) enum TxnAction<R> {
    Insert(R),
    Update { nonce: u64 },
    Remove,
}

/// The `thread` of the reads taken at quiescence, after every worker joined.
pub(crate) const FINAL_THREAD: usize = usize::MAX;
/// The `thread` of the calls that probe, before the workers start, which operations a target
/// supports.
pub(crate) const PROBE_THREAD: usize = usize::MAX - 1;

/// One completed call.
#[derive(Debug, Clone)]
pub(crate) struct Event<R> {
    /// Worker thread, or [`FINAL_THREAD`].
    pub(crate) thread: usize,
    /// Position in that thread's sequence.
    pub(crate) seq: usize,
    /// Ticket taken just before the call.
    pub(crate) call: u64,
    /// Ticket taken just after it returned.
    pub(crate) ret: u64,
    pub(crate) op: Op<R>,
    pub(crate) outcome: Outcome<R>,
}

/// A key's state when a history begins. A recorded run starts with every key absent; a shrunk
/// history may start just after a call that left a key in a known state, and lists it here.
#[derive(Debug, Clone)]
pub(crate) struct Start<R> {
    pub(crate) key: u64,
    pub(crate) state: Option<Revised<R>>,
    /// The call whose effect `state` is (dropped from the shrunk history, shown beside it).
    pub(crate) after: Event<R>,
}

/// Hand-built histories for the checks' unit tests.
#[cfg(test)]
pub(crate) mod build {
    use super::{Event, Op, Outcome, Revised};
    use crate::check::workload::Recorded;

    /// The record of key `key` with contents `nonce`.
    pub(crate) type Rec = (u64, u64);

    pub(crate) fn make(key: u64, nonce: u64) -> Rec {
        (key, nonce)
    }

    pub(crate) fn seen(record: Rec, revision: u64) -> Revised<Rec> {
        Revised { record, revision }
    }

    /// A call of `thread` between tickets `call` and `ret`.
    pub(crate) fn event(
        thread: usize,
        call: u64,
        ret: u64,
        op: Op<Rec>,
        outcome: Outcome<Rec>,
    ) -> Event<Rec> {
        Event {
            thread,
            seq: 0,
            call,
            ret,
            op,
            outcome,
        }
    }

    /// A recorded run of `events` over `keys`, with no panic and a passing verification.
    pub(crate) fn recorded(events: Vec<Event<Rec>>, keys: &[u64]) -> Recorded<Rec> {
        Recorded {
            events,
            start: Vec::new(),
            keys: keys.to_vec(),
            panic: None,
            verify: Ok(()),
        }
    }
}
