//! A recorded history: every call with its arguments, its result and the two tickets that bound
//! it in real time.

use core::fmt::{self, Debug};

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

/// What a call returned. Revisions are 0 on a map without them.
#[derive(Debug, Clone)]
pub(crate) enum Outcome<R> {
    Get(Option<(R, u64)>),
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
    Remove(Option<(R, u64)>),
    Cas(Result<u64, u64>),
    Retain(Vec<Visit<R>>),
    Clear,
    Snapshot {
        records: Vec<(R, u64)>,
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

/// Formats a revision for humans.
struct Rev(u64, bool);

impl fmt::Display for Rev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 {
            write!(f, " @rev {}", self.0)
        } else {
            Ok(())
        }
    }
}

impl<R: Debug> Event<R> {
    /// `t2#57 [1180..1183] get(key 17) -> ...`; `focus` restricts multi-key results (snapshots,
    /// retain) to one key, which `key_of` recognises.
    pub(crate) fn render(
        &self,
        versioned: bool,
        focus: Option<u64>,
        key_of: &dyn Fn(&R) -> Option<u64>,
    ) -> String {
        let v = versioned;
        let call = match &self.op {
            Op::Get { key } | Op::Contains { key } | Op::Remove { key } => {
                format!("{}(key {key})", self.op.name())
            }
            Op::Insert { record, .. } | Op::LoadOrStore { record, .. } => {
                format!("{}({record:?})", self.op.name())
            }
            Op::Update { key, nonce } => format!("update(key {key}, nonce {nonce:#x})"),
            Op::Cas {
                expected, record, ..
            } => format!("compare_and_swap(expected {expected}, {record:?})"),
            op => format!("{}()", op.name()),
        };
        let result = match &self.outcome {
            Outcome::Get(None) => "None".to_string(),
            Outcome::Get(Some((r, rev))) => format!("Some({r:?}){}", Rev(*rev, v)),
            Outcome::Contains(b) => b.to_string(),
            Outcome::Insert { replaced, revision } => {
                format!("replaced {replaced:?}{}", Rev(*revision, v))
            }
            Outcome::Stored { revision } => format!("Stored{}", Rev(*revision, v)),
            Outcome::Loaded { current, revision } => {
                format!("Loaded {{ current: {current:?}{} }}", Rev(*revision, v))
            }
            Outcome::Update(None) => "None (absent)".to_string(),
            Outcome::Update(Some(rev)) => format!("Some{}", Rev(*rev, v)),
            Outcome::Remove(None) => "None".to_string(),
            Outcome::Remove(Some((r, rev))) => format!("Some({r:?}){}", Rev(*rev, v)),
            Outcome::Cas(Ok(rev)) => format!("Ok({rev})"),
            Outcome::Cas(Err(actual)) => format!("Err(Conflict {{ actual: {actual} }})"),
            Outcome::Retain(visits) => match focus {
                Some(key) => match visits.iter().find(|vis| key_of(&vis.record) == Some(key)) {
                    Some(vis) if vis.kept => format!(
                        "kept {:?} (seen at tickets {}..{})",
                        vis.record, vis.t1, vis.t2
                    ),
                    Some(vis) => format!(
                        "removed {:?} (at tickets {}..{})",
                        vis.record, vis.t1, vis.t2
                    ),
                    None => format!("key {key} not seen"),
                },
                None => format!(
                    "{} seen, {} removed",
                    visits.len(),
                    visits.iter().filter(|vis| !vis.kept).count()
                ),
            },
            Outcome::Clear => "()".to_string(),
            Outcome::Snapshot { records, version } => {
                let at = if v {
                    format!(" at version {version}")
                } else {
                    String::new()
                };
                match focus {
                    Some(key) => match records.iter().find(|(r, _)| key_of(r) == Some(key)) {
                        Some((r, rev)) => {
                            format!(
                                "{} records{at}; key {key}: {r:?}{}",
                                records.len(),
                                Rev(*rev, v)
                            )
                        }
                        None => format!("{} records{at}; key {key}: absent", records.len()),
                    },
                    None => format!("{} records{at}", records.len()),
                }
            }
            Outcome::Version(version) => version.to_string(),
            Outcome::Len(len) => len.to_string(),
        };
        let who = if self.thread == FINAL_THREAD {
            format!("final#{}", self.seq)
        } else {
            format!("t{}#{}", self.thread, self.seq)
        };
        format!(
            "{who} [tickets {}..{}] {call} -> {result}",
            self.call, self.ret
        )
    }
}
