//! What the checker hands back: a report on success, an actionable failure otherwise; and every
//! piece of report text (calls, results, model states, the rerun command) is rendered here.

use core::fmt::{self, Debug};

use super::Config;
use super::analyse::{Analysis, Finding};
use super::history::{
    Event, FINAL_THREAD, Op, Outcome, PROBE_THREAD, Revised, TxnAction, TxnRecord,
};
use super::search::State;
use super::shrink::Shrunk;
use super::target::EntryOutcome;
use crate::record::Record;

/// The kind of violation a [`CheckFailure`] reports.
///
/// # Example
///
/// ```
/// use mapsafe_core::check::FailureClass;
///
/// assert_eq!(FailureClass::TornSnapshot.to_string(), "torn snapshot");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureClass {
    /// No order of one key's operations agrees with both real time and their results (a stale
    /// read, a lost update, a non-atomic get-or-insert, ...).
    NotLinearizable,
    /// A snapshot missed a write that finished before another write it shows was called.
    TornSnapshot,
    /// Versioned: a snapshot differs from the state its version names.
    SnapshotNotAtVersion,
    /// Versioned: revisions repeat, or disagree with real time or with `version()`.
    RevisionOrder,
    /// A snapshot or a `retain` pass showed the same key twice.
    DuplicateKey,
    /// A call returned a record of another key, or of a key no call named.
    WrongRecord,
    /// At quiescence the map's size disagrees with its contents.
    FinalState,
    /// `verify_consistency` failed at quiescence.
    Inconsistent,
    /// A map operation panicked in a worker thread.
    Panicked,
    /// A transaction's writes were seen in part (a snapshot or another call saw some of them
    /// without the others), an aborted transaction's write was seen, or a committed
    /// transaction's revisions were not consecutive.
    TransactionNotAtomic,
    /// A closure ran more often than its operation allows (`get_or_insert_with`'s `make` twice,
    /// or although the key was present; a predicate twice).
    ClosureRuns,
    /// A call reported an outcome its operation cannot have (an `entry` that removes reporting
    /// an insert, a `remove_if` that removed what its predicate kept, ...).
    ImpossibleOutcome,
}

impl FailureClass {
    /// A short name, as used in the report's first line.
    pub fn name(self) -> &'static str {
        match self {
            FailureClass::NotLinearizable => "not linearizable",
            FailureClass::TornSnapshot => "torn snapshot",
            FailureClass::SnapshotNotAtVersion => "snapshot not at its version",
            FailureClass::RevisionOrder => "revision order",
            FailureClass::DuplicateKey => "duplicate key",
            FailureClass::WrongRecord => "wrong record",
            FailureClass::FinalState => "final state",
            FailureClass::Inconsistent => "inconsistent",
            FailureClass::Panicked => "panicked",
            FailureClass::TransactionNotAtomic => "transaction not atomic",
            FailureClass::ClosureRuns => "closure runs",
            FailureClass::ImpossibleOutcome => "impossible outcome",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A violation found by [`Checker::run`](super::Checker::run), with everything needed to act on
/// it: the class, the offending call (thread, tickets, arguments, result), the calls that bound
/// it, the key's surrounding history, the seed and the command that reruns the workload. Its
/// `Display` is the full report.
///
/// Tickets come from one `SeqCst` counter, taken just before each call and just after it
/// returns: a call whose tickets are `a..b` happened, in real time, within `a` and `b`.
///
/// # Example
///
/// ```
/// use mapsafe_core::check::{CheckFailure, Checker, Config};
/// use mapsafe_core::ShardedMap;
///
/// let checker = Checker::new(|key, nonce| (key, nonce)).config(Config::new().ops_per_thread(50));
/// let map: ShardedMap<(u64, u64)> = ShardedMap::new();
/// let outcome: Result<_, CheckFailure> = checker.run(&map);
/// if let Err(failure) = outcome {
///     // The whole report: class, offending call, bounds, history, seed, rerun command.
///     eprintln!("{failure}");
///     eprintln!("rerun with: {}", failure.reproduce());
///     panic!("{} violation", failure.class());
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CheckFailure(Box<Details>);

#[derive(Debug, Clone)]
pub(crate) struct Details {
    pub(crate) class: FailureClass,
    pub(crate) map: String,
    pub(crate) summary: String,
    pub(crate) offending: Option<String>,
    pub(crate) bounding: Vec<String>,
    pub(crate) key: Option<u64>,
    pub(crate) history: Vec<String>,
    pub(crate) shortest: Vec<String>,
    pub(crate) recorded_calls: usize,
    pub(crate) config: Config,
    pub(crate) reproduce: String,
}

impl CheckFailure {
    pub(crate) fn new(details: Details) -> Self {
        CheckFailure(Box::new(details))
    }

    /// What kind of violation.
    pub fn class(&self) -> FailureClass {
        self.0.class
    }

    /// The map's name, as given to the checker.
    pub fn map(&self) -> &str {
        &self.0.map
    }

    /// Why this is a violation, in words.
    pub fn summary(&self) -> &str {
        &self.0.summary
    }

    /// The offending call, rendered.
    pub fn offending(&self) -> Option<&str> {
        self.0.offending.as_deref()
    }

    /// The calls that bound it, rendered, each with why it is shown.
    pub fn bounding(&self) -> &[String] {
        &self.0.bounding
    }

    /// The key concerned, as the number given to `make`.
    pub fn key(&self) -> Option<u64> {
        self.0.key
    }

    /// That key's calls around the offending one, in ticket order (`>>` marks the offender).
    pub fn history(&self) -> &[String] {
        &self.0.history
    }

    /// The shortest offending history the checker found, rendered: a part of the recorded one
    /// that fails the same check on its own (in ticket order; `>>` marks the call the check
    /// stopped at; a first line may give the state a key starts in). Empty when the failure is
    /// not about the order of calls (a panic, the quiescent state).
    pub fn shortest_history(&self) -> &[String] {
        &self.0.shortest
    }

    /// How many calls the recorded history held.
    pub fn recorded_calls(&self) -> usize {
        self.0.recorded_calls
    }

    /// The workload that produced it (seed, threads, calls per thread).
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// A command that reruns the same workload.
    pub fn reproduce(&self) -> &str {
        &self.0.reproduce
    }
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        writeln!(f, "mapsafe::check: {} violation in {}", d.class, d.map)?;
        writeln!(f, "  {}", d.summary)?;
        writeln!(
            f,
            "  workload: seed {:#x}, {} threads x {} operations",
            d.config.seed, d.config.threads, d.config.ops_per_thread
        )?;
        if let Some(op) = &d.offending {
            writeln!(f, "  offending call:\n    {op}")?;
        }
        if !d.bounding.is_empty() {
            writeln!(f, "  bounded by:")?;
            for line in &d.bounding {
                writeln!(f, "    {line}")?;
            }
        }
        if !d.history.is_empty() {
            let key = d.key.map_or(String::new(), |k| format!(" of key {k}"));
            writeln!(
                f,
                "  history{key} around it (ticket order; `>>` = offending):"
            )?;
            for line in &d.history {
                writeln!(f, "    {line}")?;
            }
        }
        if !d.shortest.is_empty() {
            writeln!(
                f,
                "  shortest offending history found ({} of the {} calls recorded; it fails the \
                 same check on its own):",
                d.shortest.iter().filter(|l| !l.starts_with(START)).count(),
                d.recorded_calls
            )?;
            for line in &d.shortest {
                writeln!(f, "    {line}")?;
            }
        }
        writeln!(f, "  reproduce: {}", d.reproduce)?;
        write!(
            f,
            "  (the seed fixes every thread's operations; the interleaving is the OS's, so a rare \
             race may need a few reruns)"
        )
    }
}

impl std::error::Error for CheckFailure {}

/// What a passing [`Checker::run`](super::Checker::run) checked.
///
/// # Example
///
/// ```
/// use mapsafe_core::check::{Checker, Config};
/// use mapsafe_core::ShardedMap;
///
/// let checker = Checker::new(|key, nonce| (key, nonce)).config(Config::new().ops_per_thread(40));
/// let report = checker.run_seeds(ShardedMap::<(u64, u64)>::new, 2).unwrap();
/// assert_eq!(report.runs, 2);
/// assert!(report.calls >= 2 * 4 * 40);
/// println!("{report}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// Workloads (seeds) run.
    pub runs: usize,
    /// Calls recorded and checked, over all runs.
    pub calls: usize,
    /// Calls that overlapped another call in real time, over all runs: the history's
    /// concurrency (a run whose threads took turns would check little).
    pub overlapping_calls: usize,
    /// Snapshots checked, over all runs.
    pub snapshots: usize,
    /// The most distinct keys any one run touched.
    pub keys: usize,
    /// The most calls any one key saw in one run.
    pub longest_key_history: usize,
    /// Keys whose search ran out of budget (no verdict; not counted as a failure).
    pub undecided_keys: usize,
    /// The last seed run.
    pub last_seed: u64,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "linearizable: {} run(s), {} calls ({:.0}% overlapping another), {} snapshots \
             checked (longest key history {} calls; last seed {:#x})",
            self.runs,
            self.calls,
            100.0 * self.overlapping_calls as f64 / self.calls.max(1) as f64,
            self.snapshots,
            self.longest_key_history,
            self.last_seed
        )?;
        if self.undecided_keys > 0 {
            write!(
                f,
                "; {} key(s) undecided (search budget)",
                self.undecided_keys
            )?;
        }
        Ok(())
    }
}

/// How a shortest history's line that gives a key's start state begins.
const START: &str = "start: ";

/// Turns a finding into the failure report: every call it points at rendered, with the key's
/// history around the offending one and the shortest offending history found.
pub(crate) fn failure<R: Record + Clone + PartialEq + Debug>(
    analysis: &Analysis<'_, R>,
    finding: Finding,
    shrunk: Option<&Shrunk<R>>,
    map: &str,
    config: Config,
) -> CheckFailure {
    let key = finding.key;
    let offending = finding
        .offending
        .map(|e| render(analysis, e, key.or(analysis.events[e].op.key())));
    let bounding = finding
        .bounding
        .iter()
        .map(|bound| {
            let focus = key.or(analysis.events[bound.event].op.key());
            format!(
                "{}\n      ({})",
                render(analysis, bound.event, focus),
                bound.why
            )
        })
        .collect();
    let history = match (key, finding.offending) {
        (Some(key), Some(at)) => analysis
            .window(key, at, 12, 6)
            .into_iter()
            .map(|e| {
                let mark = if e == at { ">>" } else { "  " };
                format!("{mark} {}", render(analysis, e, Some(key)))
            })
            .collect(),
        _ => Vec::new(),
    };
    CheckFailure::new(Details {
        class: finding.class,
        map: map.to_string(),
        summary: finding.summary,
        offending,
        bounding,
        key,
        history,
        shortest: shrunk.map_or_else(Vec::new, |s| shortest(analysis, s)),
        recorded_calls: analysis.events.len(),
        reproduce: reproduce_command(&config),
        config,
    })
}

/// A shrunk history, in ticket order: the start states, then every call, `>>` marking where its
/// check stopped.
fn shortest<R: Record + Clone + PartialEq + Debug>(
    analysis: &Analysis<'_, R>,
    shrunk: &Shrunk<R>,
) -> Vec<String> {
    let recorded = &shrunk.recorded;
    let focus = match recorded.keys[..] {
        [key] => Some(key),
        _ => shrunk.finding.key,
    };
    let render = |e: &Event<R>, focus: Option<u64>| {
        e.render(analysis.versioned, focus, &|r| analysis.key_of(r))
    };
    let mut lines: Vec<String> = recorded
        .start
        .iter()
        .map(|start| {
            let state = match &start.state {
                Some(seen) => format!(
                    "{:?}{}",
                    seen.record,
                    rev(seen.revision, analysis.versioned)
                ),
                None => "absent".to_string(),
            };
            format!(
                "{START}key {} is {state}, as left by {}",
                start.key,
                render(&start.after, Some(start.key))
            )
        })
        .collect();
    let mut order: Vec<usize> = (0..recorded.events.len()).collect();
    order.sort_by_key(|&i| recorded.events[i].call);
    for i in order {
        let mark = if shrunk.finding.offending == Some(i) {
            ">>"
        } else {
            "  "
        };
        let e = &recorded.events[i];
        lines.push(format!("{mark} {}", render(e, e.op.key().or(focus))));
    }
    lines
}

/// Renders an event, focused on `key` for multi-key results.
fn render<R: Record + Clone + PartialEq + Debug>(
    analysis: &Analysis<'_, R>,
    event: usize,
    key: Option<u64>,
) -> String {
    analysis.events[event].render(analysis.versioned, key, &|r| analysis.key_of(r))
}

/// The command that reruns this workload: the seed and sizes as environment variables, and the
/// running test's name (the test harness names each test's thread after it).
fn reproduce_command(config: &Config) -> String {
    let mut command = format!(
        "MAPSAFE_SEED={:#x} MAPSAFE_OPS={} MAPSAFE_THREADS={} cargo test",
        config.seed, config.ops_per_thread, config.threads
    );
    if let Ok(package) = std::env::var("CARGO_PKG_NAME") {
        command.push_str(&format!(" -p {package}"));
        // The test binary: `name-<hash>`; the library's own is named after the crate.
        let exe = std::env::current_exe().ok();
        let stem = exe
            .as_ref()
            .and_then(|p| p.file_stem())
            .and_then(|s| s.to_str());
        if let Some((binary, _hash)) = stem.and_then(|s| s.rsplit_once('-')) {
            if binary == package.replace('-', "_") {
                command.push_str(" --lib");
            } else {
                command.push_str(&format!(" --test {binary}"));
            }
        }
    }
    match std::thread::current().name() {
        Some(test) if test != "main" => command.push_str(&format!(" -- {test} --exact")),
        _ => {}
    }
    command
}

/// A revision for humans: ` @rev 7` on a versioned map, nothing on a plain one.
struct Rev {
    revision: u64,
    versioned: bool,
}

impl fmt::Display for Rev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.versioned {
            write!(f, " @rev {}", self.revision)
        } else {
            Ok(())
        }
    }
}

/// `Some(record) @rev 7`, or `None`.
fn seen_text<R: Debug>(seen: &Option<Revised<R>>, versioned: bool) -> String {
    match seen {
        None => "None".to_string(),
        Some(seen) => format!("Some({:?}){}", seen.record, rev(seen.revision, versioned)),
    }
}

fn rev(revision: u64, versioned: bool) -> Rev {
    Rev {
        revision,
        versioned,
    }
}

/// `read key 1: Some(..), key 2: None; insert (2, 7); committed (key 2 @rev 9)`.
fn txn_text<R: Debug>(txn: &TxnRecord<R>, versioned: bool) -> String {
    let reads: Vec<String> = txn
        .reads
        .iter()
        .map(|read| format!("key {}: {}", read.key, seen_text(&read.seen, versioned)))
        .collect();
    let writes: Vec<String> = txn
        .writes
        .iter()
        .map(|write| match &write.action {
            TxnAction::Insert(record) => format!("insert {record:?}"),
            TxnAction::Update { nonce } => format!("update key {} (nonce {nonce:#x})", write.key),
            TxnAction::Remove => format!("remove key {}", write.key),
        })
        .collect();
    let end = match &txn.committed {
        None => "aborted".to_string(),
        Some(changed) => {
            let revisions: Vec<String> = changed
                .iter()
                .map(|c| format!("key {}{}", c.key, rev(c.revision, versioned)))
                .collect();
            format!("committed ({})", revisions.join(", "))
        }
    };
    format!(
        "read {}; {}; {end}",
        reads.join(", "),
        if writes.is_empty() {
            "no writes".to_string()
        } else {
            writes.join(", ")
        }
    )
}

/// A key's state in the model: `absent`, or its record (with its revision on a versioned map).
pub(crate) fn state_text<R: Debug>(state: State, values: &[R], versioned: bool) -> String {
    match state {
        None => "absent".to_string(),
        Some(held) => format!(
            "{:?}{}",
            values[held.value as usize],
            rev(held.revision, versioned)
        ),
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
            Op::GetOrInsertWith { key, record } => {
                format!("get_or_insert_with(key {key}, make -> {record:?})")
            }
            Op::RemoveIf { key } => format!("remove_if(key {key}, predicate)"),
            Op::CompareAndRemove { key, expected } => {
                format!("compare_and_remove(expected {expected}, key {key})")
            }
            Op::Entry {
                key,
                shape,
                record,
                nonce,
            } => format!(
                "entry(key {key}, {}) with record {record:?}, nonce {nonce:#x}",
                shape.code()
            ),
            Op::Transaction { keys, .. } => format!("transaction(keys {keys:?})"),
            op => format!("{}()", op.name()),
        };
        let result = match &self.outcome {
            Outcome::Get(seen) | Outcome::Remove(seen) => seen_text(seen, v),
            Outcome::Contains(b) => b.to_string(),
            Outcome::Insert { replaced, revision } => {
                format!("replaced {replaced:?}{}", rev(*revision, v))
            }
            Outcome::Stored { revision } => format!("Stored{}", rev(*revision, v)),
            Outcome::Loaded { current, revision } => {
                format!("Loaded {{ current: {current:?}{} }}", rev(*revision, v))
            }
            Outcome::Update(None) => "None (absent)".to_string(),
            Outcome::Update(Some(revision)) => format!("Some{}", rev(*revision, v)),
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
                    Some(key) => match records.iter().find(|r| key_of(&r.record) == Some(key)) {
                        Some(r) => format!(
                            "{} records{at}; key {key}: {:?}{}",
                            records.len(),
                            r.record,
                            rev(r.revision, v)
                        ),
                        None => format!("{} records{at}; key {key}: absent", records.len()),
                    },
                    None => format!("{} records{at}", records.len()),
                }
            }
            Outcome::Version(version) => version.to_string(),
            Outcome::Len(len) => len.to_string(),
            Outcome::GetOrInsertWith { current, made } => format!(
                "{:?}{} (make ran {made} time(s))",
                current.record,
                rev(current.revision, v)
            ),
            Outcome::RemoveIf { visits, removed } => {
                let shown: Vec<String> = visits
                    .iter()
                    .map(|vis| format!("{:?} -> {}", vis.record, !vis.kept))
                    .collect();
                format!(
                    "{} (predicate shown [{}])",
                    seen_text(removed, v),
                    shown.join(", ")
                )
            }
            Outcome::CompareAndRemove(Ok(removed)) => {
                format!("Ok({:?}{})", removed.record, rev(removed.revision, v))
            }
            Outcome::CompareAndRemove(Err(actual)) => format!("Err({actual})"),
            Outcome::Entry { outcome, made } => {
                let what = match outcome {
                    EntryOutcome::Inserted { revision } => {
                        format!("inserted{}", rev(*revision, v))
                    }
                    EntryOutcome::Found(found) => {
                        format!("found {:?}{}", found.value, rev(found.version, v))
                    }
                    EntryOutcome::Modified { revision } => {
                        format!("modified{}", rev(*revision, v))
                    }
                    EntryOutcome::Replaced { old, revision } => {
                        format!("replaced {old:?}{}", rev(*revision, v))
                    }
                    EntryOutcome::Removed(removed) => {
                        format!("removed {:?}{}", removed.value, rev(removed.version, v))
                    }
                    EntryOutcome::Vacant => "vacant, left so".to_string(),
                };
                if *made > 0 {
                    format!("{what} (make ran {made} time(s))")
                } else {
                    what
                }
            }
            Outcome::Transaction(txn) => txn_text(txn, v),
        };
        let who = if self.thread == FINAL_THREAD {
            format!("final#{}", self.seq)
        } else if self.thread == PROBE_THREAD {
            format!("probe#{}", self.seq)
        } else {
            format!("t{}#{}", self.thread, self.seq)
        };
        format!(
            "{who} [tickets {}..{}] {call} -> {result}",
            self.call, self.ret
        )
    }
}
