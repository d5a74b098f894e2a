//! A recorded history: every call with its arguments, its result and the two tickets that bound
//! it in real time.

/// One call as issued. Keys are the checker's key numbers (what `make(key, nonce)` was given).
#[derive(Debug, Clone)]
pub(crate) enum Op<R> {
    Get { key: u64 },
    Contains { key: u64 },
    Insert { key: u64, record: R },
    LoadOrStore { key: u64, record: R },
    Update { key: u64, nonce: u64 },
    Remove { key: u64 },
    Cas { key: u64, expected: u64, record: R },
    Retain,
    Clear,
    Snapshot,
    Version,
    Len,
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
            | Op::Cas { key, .. } => Some(*key),
            _ => None,
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
        }
    }
}

/// One record the `retain` predicate was shown, with tickets taken inside the predicate (that
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
}

/// The `thread` of the reads taken at quiescence, after every worker joined.
pub(crate) const FINAL_THREAD: usize = usize::MAX;

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
