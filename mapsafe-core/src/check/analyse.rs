//! From a recorded history to a verdict: projection per key, the per-key search, and the checks
//! that span keys (revision order, snapshot cuts, torn snapshots, the quiescent state).

use core::fmt::Debug;
use std::collections::HashMap;

use super::history::{Event, FINAL_THREAD, Op, Outcome};
use super::report::FailureClass;
use super::search::{self, KeyOp, Kind, State, Verdict, Vid};
use super::workload::{Recorded, Updater};
use crate::record::Record;

/// What went wrong, pointing into the history; `report` renders it.
#[derive(Debug)]
pub(crate) struct Finding {
    pub(crate) class: FailureClass,
    pub(crate) summary: String,
    pub(crate) key: Option<u64>,
    pub(crate) offending: Option<usize>,
    /// Events that bound the offending one, each with the reason it is shown.
    pub(crate) bounding: Vec<(usize, String)>,
}

impl Finding {
    fn new(class: FailureClass, summary: String) -> Self {
        Finding {
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
        self.bounding.push((event, why.into()));
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

struct KeyHist<R> {
    ops: Vec<KeyOp>,
    values: Vec<R>,
}

/// The analysis of one history.
pub(crate) struct Analysis<'a, R: Record> {
    pub(crate) events: &'a [Event<R>],
    versioned: bool,
    updater: Option<Updater<R>>,
    keys: &'a [u64],
    key_numbers: HashMap<R::Key, u64>,
    hists: HashMap<u64, KeyHist<R>>,
}

const SEARCH_BUDGET: usize = 2_000_000;

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
        Analysis {
            events: &recorded.events,
            versioned,
            updater,
            keys: &recorded.keys,
            key_numbers,
            hists: HashMap::new(),
        }
    }

    /// The key number of a record, if any call named its key.
    pub(crate) fn key_of(&self, record: &R) -> Option<u64> {
        self.key_numbers.get(record.key()).copied()
    }

    fn hist(&mut self, key: u64) -> &mut KeyHist<R> {
        self.hists.entry(key).or_insert_with(|| KeyHist {
            ops: Vec::new(),
            values: Vec::new(),
        })
    }

    fn push(&mut self, key: u64, event: usize, call: u64, ret: u64, kind: Kind) {
        self.hist(key).ops.push(KeyOp {
            event,
            call,
            ret,
            kind,
        });
    }

    fn vid(&mut self, key: u64, record: &R) -> Vid {
        search::intern(&mut self.hist(key).values, record)
    }

    /// A record returned for `key` must carry that key.
    fn own(&mut self, key: u64, record: &R, event: usize) -> Result<Vid, Finding> {
        match self.key_of(record) {
            Some(k) if k == key => Ok(self.vid(key, record)),
            other => Err(Finding::new(
                FailureClass::WrongRecord,
                format!(
                    "a call about key {key} returned {record:?}, a record of {}",
                    other.map_or("a key no call named".to_string(), |k| format!("key {k}"))
                ),
            )
            .at(Some(key), event)),
        }
    }

    /// Maps a multi-key result's records to key numbers, refusing strangers and duplicates.
    fn spread<'r>(
        &self,
        records: impl Iterator<Item = &'r R>,
        event: usize,
        what: &str,
    ) -> Result<HashMap<u64, &'r R>, Finding>
    where
        R: 'r,
    {
        let mut seen = HashMap::new();
        for record in records {
            let Some(key) = self.key_of(record) else {
                return Err(Finding::new(
                    FailureClass::WrongRecord,
                    format!("{what} returned {record:?}, whose key no call ever named"),
                )
                .at(None, event));
            };
            if let Some(first) = seen.insert(key, record) {
                return Err(Finding::new(
                    FailureClass::DuplicateKey,
                    format!(
                        "{what} showed key {key} twice: {first:?} and {record:?} (an iteration \
                         that saw a record move, or a key filed in two places)"
                    ),
                )
                .at(Some(key), event));
            }
        }
        Ok(seen)
    }

    /// Projects every event on the keys it touches.
    fn project(&mut self) -> Result<(), Finding> {
        let events = self.events;
        for (i, e) in events.iter().enumerate() {
            let (call, ret) = (e.call, e.ret);
            match (&e.op, &e.outcome) {
                (Op::Get { key }, Outcome::Get(seen)) => {
                    let seen = match seen {
                        Some((record, rev)) => Some((self.own(*key, record, i)?, *rev)),
                        None => None,
                    };
                    self.push(*key, i, call, ret, Kind::Read(seen));
                }
                (Op::Contains { key }, Outcome::Contains(present)) => {
                    self.push(*key, i, call, ret, Kind::Present(*present));
                }
                (Op::Insert { key, record }, Outcome::Insert { replaced, revision }) => {
                    let new = self.vid(*key, record);
                    let prev = match replaced {
                        Some(old) => Some(self.own(*key, old, i)?),
                        None => None,
                    };
                    let rev = *revision;
                    self.push(*key, i, call, ret, Kind::Insert { new, prev, rev });
                }
                (Op::LoadOrStore { key, record }, Outcome::Stored { revision }) => {
                    let new = self.vid(*key, record);
                    let rev = *revision;
                    self.push(*key, i, call, ret, Kind::Stored { new, rev });
                }
                (Op::LoadOrStore { key, .. }, Outcome::Loaded { current, revision }) => {
                    let current = self.own(*key, current, i)?;
                    let stamp = *revision;
                    self.push(*key, i, call, ret, Kind::Loaded { current, stamp });
                }
                (Op::Update { key, nonce }, Outcome::Update(rev)) => {
                    let (nonce, rev) = (*nonce, *rev);
                    self.push(*key, i, call, ret, Kind::Update { nonce, rev });
                }
                (Op::Remove { key }, Outcome::Remove(removed)) => {
                    let removed = match removed {
                        Some((record, rev)) => Some((self.own(*key, record, i)?, *rev)),
                        None => None,
                    };
                    self.push(*key, i, call, ret, Kind::Remove(removed));
                }
                (
                    Op::Cas {
                        key,
                        expected,
                        record,
                    },
                    Outcome::Cas(result),
                ) => {
                    let expected = *expected;
                    let kind = match *result {
                        Ok(rev) => {
                            let new = self.vid(*key, record);
                            Kind::CasOk { expected, new, rev }
                        }
                        Err(actual) => Kind::CasErr { expected, actual },
                    };
                    self.push(*key, i, call, ret, kind);
                }
                (Op::Retain, Outcome::Retain(visits)) => {
                    let seen =
                        self.spread(visits.iter().map(|v| &v.record), i, "retain's predicate")?;
                    for &key in self.keys {
                        if !seen.contains_key(&key) {
                            self.push(key, i, call, ret, Kind::Read(None));
                        }
                    }
                    // A kept record was read while the predicate saw it. A removal takes effect
                    // when the retain commits the record's shard (all of a shard's removals at
                    // once), so anywhere from the predicate's call to the retain's return.
                    for visit in visits {
                        let key = self.key_of(&visit.record).expect("checked by spread");
                        let vid = self.vid(key, &visit.record);
                        if visit.kept {
                            self.push(key, i, visit.t1, visit.t2, Kind::ReadValue(vid));
                        } else {
                            self.push(key, i, visit.t1, ret, Kind::Drop(vid));
                        }
                    }
                }
                (Op::Clear, Outcome::Clear) => {
                    for &key in self.keys {
                        self.push(key, i, call, ret, Kind::Clear);
                    }
                }
                (Op::Snapshot, Outcome::Snapshot { records, .. }) => {
                    let shown = self.spread(records.iter().map(|(r, _)| r), i, "snapshot")?;
                    let revs: HashMap<u64, u64> = records
                        .iter()
                        .filter_map(|(r, rev)| Some((self.key_of(r)?, *rev)))
                        .collect();
                    for &key in self.keys {
                        let seen = shown
                            .get(&key)
                            .map(|record| (self.vid(key, record), revs[&key]));
                        self.push(key, i, call, ret, Kind::Read(seen));
                    }
                }
                (Op::Version, Outcome::Version(_)) | (Op::Len, Outcome::Len(_)) => {}
                (op, outcome) => unreachable!("{} recorded with {outcome:?}", op.name()),
            }
        }
        Ok(())
    }

    /// Runs every check; the first violation found wins.
    pub(crate) fn run(&mut self, recorded: &Recorded<R>) -> Result<Tally, Finding> {
        if let Some((thread, message)) = &recorded.panic {
            return Err(Finding::new(
                FailureClass::Panicked,
                format!("worker thread {thread} panicked: {message}"),
            ));
        }
        self.project()?;
        if self.versioned {
            self.revision_order()?;
        }
        let mut tally = Tally {
            events: self.events.len(),
            overlapping: overlapping(self.events),
            keys: self.keys.len(),
            snapshots: self
                .events
                .iter()
                .filter(|e| matches!(e.op, Op::Snapshot))
                .count(),
            ..Tally::default()
        };
        for &key in self.keys {
            let Some(hist) = self.hists.get_mut(&key) else {
                continue;
            };
            tally.longest_key_history = tally.longest_key_history.max(hist.ops.len());
            match search::linearize(
                &hist.ops,
                &mut hist.values,
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
                        false,
                        self.updater,
                        SEARCH_BUDGET,
                    );
                    let by_revision = self.versioned && matches!(unordered, Verdict::Linearizable);
                    return Err(self.explain(key, &stuck, by_revision));
                }
            }
        }
        if self.versioned {
            self.snapshot_cuts()?;
        }
        self.torn_snapshots()?;
        self.quiescent(recorded)?;
        Ok(tally)
    }

    fn show(&self, key: u64, state: State) -> String {
        match state {
            None => "absent".to_string(),
            Some((vid, rev)) => {
                let record = &self.hists[&key].values[vid as usize];
                if self.versioned {
                    format!("{record:?} @rev {rev}")
                } else {
                    format!("{record:?}")
                }
            }
        }
    }

    /// Turns a failed search into a finding naming the operation that could not be placed.
    fn explain(&self, key: u64, stuck: &search::Stuck, by_revision: bool) -> Finding {
        let hist = &self.hists[&key];
        let op = hist.ops[stuck.blocking];
        let e = &self.events[op.event];
        let held = self.show(key, stuck.state);
        let what = match op.kind {
            Kind::Read(_) | Kind::ReadValue(_) | Kind::Present(_) => format!(
                "a stale or phantom read: `{}` saw something key {key} never held at any \
                 instant of the call (the model held {held})",
                e.op.name()
            ),
            Kind::Stored { .. } => format!(
                "`load_or_store` stored although key {key} was present ({held}): \
                 a get-or-insert that is not atomic"
            ),
            Kind::Loaded { .. } => format!(
                "`load_or_store` loaded a record key {key} did not hold (the model held {held})"
            ),
            Kind::Insert { .. } => format!(
                "`insert` replaced a record key {key} did not hold (the model held {held}): \
                 a lost or reordered write"
            ),
            Kind::Update { .. } => format!(
                "`update` cannot be placed: its result or its effect contradicts key {key}'s \
                 other operations (the model held {held}): a lost update"
            ),
            Kind::Remove(_) => format!(
                "`remove` returned something key {key} did not hold (the model held {held})"
            ),
            Kind::CasOk { .. } | Kind::CasErr { .. } => format!(
                "`compare_and_swap` decided against key {key}'s actual revision (the model held \
                 {held})"
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

    /// Revisions are unique, non-zero, and ordered like real time; every version read agrees.
    fn revision_order(&self) -> Result<(), Finding> {
        let mut writes: Vec<(u64, usize)> = Vec::new();
        for hist in self.hists.values() {
            for op in &hist.ops {
                if let Some(rev) = op.kind.known_rev() {
                    writes.push((rev, op.event));
                }
            }
        }
        writes.sort_unstable();
        for pair in writes.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(Finding::new(
                    FailureClass::RevisionOrder,
                    format!("two writes were given the same revision {}", pair[0].0),
                )
                .at(self.events[pair[1].1].op.key(), pair[1].1)
                .bound(pair[0].1, "the other write with that revision"));
            }
        }
        if let Some(&(0, event)) = writes.first() {
            return Err(Finding::new(
                FailureClass::RevisionOrder,
                "a write was given revision 0, which means \"absent\"".to_string(),
            )
            .at(self.events[event].op.key(), event));
        }
        // Sweep in revision order: a write must not have returned before a write with a lower
        // revision was even called.
        let mut latest_call: Option<usize> = None;
        for &(rev, event) in &writes {
            let e = &self.events[event];
            if let Some(lower) = latest_call {
                let l = &self.events[lower];
                if e.ret < l.call {
                    return Err(Finding::new(
                        FailureClass::RevisionOrder,
                        format!(
                            "revisions disagree with real time: a write that returned before \
                             another was called got the higher revision ({rev}); the later write \
                             got {} (a revision taken outside the shard lock, or a counter that \
                             is not monotonic)",
                            write_rev(&l.outcome)
                        ),
                    )
                    .at(l.op.key(), lower)
                    .bound(event, "returned before the offending write was called, yet has the higher revision")
                    .bound_key(e.op.key()));
                }
            }
            if latest_call.is_none_or(|l| self.events[l].call < e.call) {
                latest_call = Some(event);
            }
        }
        // Every `version()` read and every snapshot's version sits between the writes that
        // finished before it and those that started after it.
        for (i, e) in self.events.iter().enumerate() {
            let version = match e.outcome {
                Outcome::Version(v) | Outcome::Snapshot { version: v, .. } => v,
                _ => continue,
            };
            for &(rev, w) in &writes {
                let we = &self.events[w];
                let (bad, why) = if we.ret < e.call && rev > version {
                    (
                        true,
                        "returned before it was called, yet its revision is above the version",
                    )
                } else if we.call > e.ret && rev <= version {
                    (
                        true,
                        "was called after it returned, yet its revision is within the version",
                    )
                } else {
                    (false, "")
                };
                if bad {
                    return Err(Finding::new(
                        FailureClass::RevisionOrder,
                        format!(
                            "`{}` reported version {version}, but write @rev {rev} {why}",
                            e.op.name()
                        ),
                    )
                    .at(we.op.key(), i)
                    .bound(w, why));
                }
            }
        }
        Ok(())
    }

    /// Versioned: each snapshot holds exactly the effects of the writes with revision ≤ its
    /// version (replayed in revision order), allowing only for `retain`/`clear` removals, whose
    /// revisions are not reported.
    fn snapshot_cuts(&mut self) -> Result<(), Finding> {
        let events = self.events;
        let updater = self.updater;
        // Each key's writes with a reported revision, in revision order, computed once.
        let mut ordered: HashMap<u64, Vec<KeyOp>> = HashMap::new();
        for (&key, hist) in &self.hists {
            let mut writes: Vec<KeyOp> = hist
                .ops
                .iter()
                .filter(|o| o.kind.known_rev().is_some())
                .copied()
                .collect();
            writes.sort_unstable_by_key(|o| o.kind.known_rev());
            ordered.insert(key, writes);
        }
        for (s, e) in events.iter().enumerate() {
            let Outcome::Snapshot { version, .. } = e.outcome else {
                continue;
            };
            for &key in self.keys {
                let Some(hist) = self.hists.get_mut(&key) else {
                    continue;
                };
                let Some(Kind::Read(shown)) = op_of(&hist.ops, s).map(|o| o.kind) else {
                    continue;
                };
                let all = &ordered[&key];
                let upto = all.partition_point(|o| o.kind.known_rev() <= Some(version));
                let writes: Vec<(u64, KeyOp)> = all[..upto]
                    .iter()
                    .map(|o| (o.kind.known_rev().unwrap_or(0), *o))
                    .collect();
                let mut expected: State = None;
                for (_, w) in &writes {
                    expected = match w.kind {
                        Kind::Insert { new, rev, .. }
                        | Kind::Stored { new, rev }
                        | Kind::CasOk { new, rev, .. } => Some((new, rev)),
                        Kind::Update {
                            nonce,
                            rev: Some(rev),
                        } => expected.map(|(from, _)| {
                            (search::edited(&mut hist.values, from, updater, nonce), rev)
                        }),
                        Kind::Remove(Some(_)) => None,
                        _ => expected,
                    };
                }
                if shown == expected {
                    continue;
                }
                let last = writes.last().map(|(_, w)| *w);
                let removed_unreported = expected.is_some()
                    && shown.is_none()
                    && hist.ops.iter().any(|o| {
                        matches!(o.kind, Kind::Drop(_) | Kind::Clear)
                            && o.call < e.ret
                            && last.is_none_or(|w| o.ret > w.call)
                    });
                if removed_unreported {
                    continue;
                }
                let next = all.get(upto).map(|o| o.event);
                let (shown_s, expected_s) = (self.show(key, shown), self.show(key, expected));
                let mut finding = Finding::new(
                    FailureClass::SnapshotNotAtVersion,
                    format!(
                        "the snapshot at version {version} shows key {key} as {shown_s}, but the \
                         writes with revision <= {version}, replayed in revision order, leave it \
                         {expected_s} (a torn snapshot, or a write whose revision and effect \
                         happened at different instants)"
                    ),
                )
                .at(Some(key), s);
                if let Some(w) = last {
                    finding = finding.bound(
                        w.event,
                        format!("last write to key {key} with revision <= {version}"),
                    );
                }
                if let Some(next) = next {
                    finding = finding.bound(
                        next,
                        format!("first write to key {key} after version {version}"),
                    );
                }
                return Err(finding);
            }
        }
        Ok(())
    }

    /// Both modes: a snapshot that shows the effect of write B must also show every write that
    /// returned before B was called. Only certain facts are used (unique values identify their
    /// writer; real-time order only), so a correct map never trips it.
    fn torn_snapshots(&self) -> Result<(), Finding> {
        // Per key: which store produced each value, and the writes that certainly changed it.
        struct Writes {
            producer: HashMap<Vid, usize>,
            /// (event, call, ret, value it left: None = absent)
            changes: Vec<(usize, u64, u64, Option<Vid>)>,
            /// Calls that may have removed the key: (call, ret).
            removals: Vec<(u64, u64)>,
        }
        let mut per_key: HashMap<u64, Writes> = HashMap::new();
        for (&key, hist) in &self.hists {
            let mut w = Writes {
                producer: HashMap::new(),
                changes: Vec::new(),
                removals: Vec::new(),
            };
            for op in &hist.ops {
                match op.kind {
                    Kind::Insert { new, .. }
                    | Kind::Stored { new, .. }
                    | Kind::CasOk { new, .. } => {
                        w.producer.entry(new).or_insert(op.event);
                        w.changes.push((op.event, op.call, op.ret, Some(new)));
                    }
                    Kind::Remove(Some(_)) | Kind::Drop(_) => {
                        w.changes.push((op.event, op.call, op.ret, None));
                        w.removals.push((op.call, op.ret));
                    }
                    Kind::Clear => w.removals.push((op.call, op.ret)),
                    _ => {}
                }
            }
            per_key.insert(key, w);
        }
        for (s, e) in self.events.iter().enumerate() {
            if !matches!(e.op, Op::Snapshot) {
                continue;
            }
            let shown: Vec<(u64, Option<Vid>)> = self
                .keys
                .iter()
                .filter_map(|&key| {
                    let op = op_of(&self.hists.get(&key)?.ops, s)?;
                    match op.kind {
                        Kind::Read(seen) => Some((key, seen.map(|(v, _)| v))),
                        _ => None,
                    }
                })
                .collect();
            // The snapshot's instant is after every shown value's writer was called.
            let mut floor: Option<(u64, usize, u64)> = None;
            for &(key, seen) in &shown {
                if let Some(p) = seen.and_then(|v| per_key[&key].producer.get(&v)) {
                    let call = self.events[*p].call;
                    if floor.is_none_or(|(c, _, _)| call > c) {
                        floor = Some((call, *p, key));
                    }
                }
            }
            let Some((floor, witness, witness_key)) = floor else {
                continue;
            };
            for &(key, seen) in &shown {
                let w = &per_key[&key];
                let stale = match seen {
                    Some(v) => match w.producer.get(&v) {
                        Some(&p) => {
                            let pe = &self.events[p];
                            w.changes.iter().find(|&&(_, call, ret, left)| {
                                ret < floor && pe.ret < call && left != Some(v)
                            })
                        }
                        None => None,
                    },
                    None => w.changes.iter().find(|&&(_, call, ret, left)| {
                        left.is_some()
                            && ret < floor
                            && !w.removals.iter().any(|&(rc, rr)| rc < e.ret && rr > call)
                    }),
                };
                if let Some(&(missed, ..)) = stale {
                    let shown_s = match seen {
                        Some(v) => format!("{:?}", self.hists[&key].values[v as usize]),
                        None => "absent".to_string(),
                    };
                    return Err(Finding::new(
                        FailureClass::TornSnapshot,
                        format!(
                            "the snapshot shows key {key} as {shown_s}, missing a write that \
                             returned before another write the same snapshot does show (on key \
                             {witness_key}) was even called: it was not taken at one instant"
                        ),
                    )
                    .at(Some(key), s)
                    .bound(missed, format!("write to key {key} the snapshot missed"))
                    .bound(witness, format!("write to key {witness_key} the snapshot shows, called after the missed one returned")));
                }
            }
        }
        Ok(())
    }

    /// At quiescence: `len()` agrees with the final snapshot, and `verify_consistency` passes.
    fn quiescent(&self, recorded: &Recorded<R>) -> Result<(), Finding> {
        let finals: Vec<(usize, &Event<R>)> = self
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.thread == FINAL_THREAD)
            .collect();
        let snapshot_len = finals.iter().find_map(|(_, e)| match &e.outcome {
            Outcome::Snapshot { records, .. } => Some(records.len()),
            _ => None,
        });
        let len = finals.iter().find_map(|(i, e)| match e.outcome {
            Outcome::Len(len) => Some((*i, len)),
            _ => None,
        });
        if let (Some(expected), Some((i, len))) = (snapshot_len, len) {
            if expected != len {
                return Err(Finding::new(
                    FailureClass::FinalState,
                    format!(
                        "at quiescence `len()` is {len} but a snapshot holds {expected} records"
                    ),
                )
                .at(None, i));
            }
        }
        if let Err(err) = &recorded.verify {
            return Err(Finding::new(
                FailureClass::Inconsistent,
                format!("`verify_consistency` failed at quiescence: {err}"),
            ));
        }
        Ok(())
    }
}

/// A key's projection of event `event` (a key's ops are in event order; a `retain` may have
/// projected several, and then this is the first).
fn op_of(ops: &[KeyOp], event: usize) -> Option<&KeyOp> {
    let at = ops.partition_point(|o| o.event < event);
    ops.get(at).filter(|o| o.event == event)
}

/// How many calls overlapped another call in real time.
fn overlapping<R>(events: &[Event<R>]) -> usize {
    let mut spans: Vec<(u64, u64)> = events.iter().map(|e| (e.call, e.ret)).collect();
    spans.sort_unstable();
    let mut overlapped = vec![false; spans.len()];
    let mut reach: Option<(u64, usize)> = None;
    for (i, &(call, ret)) in spans.iter().enumerate() {
        if let Some((end, j)) = reach {
            if end > call {
                overlapped[i] = true;
                overlapped[j] = true;
            }
        }
        if reach.is_none_or(|(end, _)| ret > end) {
            reach = Some((ret, i));
        }
    }
    overlapped.iter().filter(|o| **o).count()
}

fn write_rev<R>(outcome: &Outcome<R>) -> u64 {
    match outcome {
        Outcome::Insert { revision, .. } | Outcome::Stored { revision } => *revision,
        Outcome::Update(Some(rev)) | Outcome::Cas(Ok(rev)) | Outcome::Remove(Some((_, rev))) => {
            *rev
        }
        _ => 0,
    }
}

trait BoundKey {
    fn bound_key(self, key: Option<u64>) -> Self;
}

impl BoundKey for Finding {
    /// Keeps the finding's key, or takes this one if it had none.
    fn bound_key(mut self, key: Option<u64>) -> Self {
        self.key = self.key.or(key);
        self
    }
}

impl<R: Record + Clone + PartialEq + Debug> Analysis<'_, R> {
    /// The events of `key`'s history around `offending` (ticket order): up to `before` earlier
    /// and `after` later ones.
    pub(crate) fn window(
        &self,
        key: u64,
        offending: usize,
        before: usize,
        after: usize,
    ) -> Vec<usize> {
        let Some(hist) = self.hists.get(&key) else {
            return Vec::new();
        };
        let mut ops: Vec<&KeyOp> = hist.ops.iter().collect();
        ops.sort_by_key(|o| o.call);
        let mut events: Vec<usize> = Vec::new();
        for o in ops {
            if !events.contains(&o.event) {
                events.push(o.event);
            }
        }
        let at = events
            .iter()
            .position(|&e| e == offending)
            .unwrap_or(events.len());
        let start = at.saturating_sub(before);
        let end = (at + after + 1).min(events.len());
        events[start..end].to_vec()
    }

    /// Renders an event, focused on `key` for multi-key results.
    pub(crate) fn render(&self, event: usize, key: Option<u64>) -> String {
        self.events[event].render(self.versioned, key, &|r| self.key_of(r))
    }
}
