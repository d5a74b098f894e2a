//! The seeded workload: threads released together by a barrier, each issuing a seeded mix of
//! every operation over a key space built to collide, every call bracketed by two tickets from
//! one `SeqCst` counter.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

use super::Config;
use super::history::{
    EntryShape, Event, FINAL_THREAD, Op, Outcome, PROBE_THREAD, Revised, Start, TxnAction, TxnRead,
    TxnRecord, TxnWrite, Visit,
};
use super::rng::SplitMix64;
use super::target::{KeyRevision, Target, TxnOps, TxnOutcome};
use crate::record::Record;
use crate::types::{LoadOrStore, Versioned};

/// First key number of the cold range; hot and warm keys are below it.
pub(crate) const COLD_BASE: u64 = 1 << 32;
/// First key number searched for warm keys.
const WARM_BASE: u64 = 1 << 20;

/// How `update` edits a record in the checker's workload: given the record's mutable view (what
/// `update` closures receive) and the call's nonce. It must be a pure function of the old record
/// and the nonce, so the checker's model can replay it; mixing the old value in makes a lost
/// update visible in every later read.
///
/// # Example
///
/// ```
/// use mapsafe_core::check::{Checker, Updater};
///
/// fn scramble(value: &mut u64, nonce: u64) {
///     *value = value.rotate_left(13) ^ nonce;
/// }
///
/// let edit: Updater<(u64, u64)> = scramble;
/// let _checker = Checker::new(|key, nonce| (key, nonce)).updater(edit);
/// ```
pub type Updater<R> = for<'a> fn(<R as Record>::Mut<'a>, u64);

/// Everything the workers share.
pub(crate) struct Workload<R: Record> {
    pub(crate) config: Config,
    pub(crate) make: fn(u64, u64) -> R,
    pub(crate) updater: Option<Updater<R>>,
    pub(crate) hot: Vec<u64>,
    pub(crate) warm: Vec<u64>,
    pub(crate) tickets: AtomicU64,
    pub(crate) cold_next: AtomicU64,
}

/// Which optional operations a target supports, found by probing it once before a run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Supported {
    get_or_insert_with: bool,
    remove_if: bool,
    compare_and_remove: bool,
    /// Per [`EntryShape::ALL`].
    entry: [bool; 5],
    transaction: bool,
}

impl Supported {
    fn any(&self) -> bool {
        self.get_or_insert_with
            || self.remove_if
            || self.compare_and_remove
            || self.entry.iter().any(|&e| e)
            || self.transaction
    }
}

/// Per mille of calls that are optional operations, on a target that supports some.
const OPTIONAL_PER_MILLE: u64 = 250;

/// A worker thread that panicked, and its message.
#[derive(Debug, Clone)]
pub(crate) struct WorkerPanic {
    pub(crate) thread: usize,
    pub(crate) message: String,
}

/// The recorded run.
#[derive(Debug, Clone)]
pub(crate) struct Recorded<R> {
    pub(crate) events: Vec<Event<R>>,
    /// Keys that do not start absent (none in a recorded run).
    pub(crate) start: Vec<Start<R>>,
    /// Every key number any call named.
    pub(crate) keys: Vec<u64>,
    pub(crate) panic: Option<WorkerPanic>,
    pub(crate) verify: Result<(), String>,
}

impl<R: Record + Clone> Workload<R> {
    /// Chooses the hot keys (all in one shard) and the warm keys for this map.
    pub(crate) fn new<T: Target<Record = R> + ?Sized>(
        target: &T,
        config: Config,
        make: fn(u64, u64) -> R,
        updater: Option<Updater<R>>,
    ) -> Self {
        let mut hot = Vec::new();
        let shard = target.shard_of(make(0, 0).key());
        let mut candidate = 0;
        // Keys are spread evenly, so the expected search is `hot_keys * shards` candidates; the
        // bound only stops a pathological hasher from looping forever.
        while hot.len() < config.hot_keys && candidate < 1 << 20 {
            if target.shard_of(make(candidate, 0).key()) == shard {
                hot.push(candidate);
            }
            candidate += 1;
        }
        let warm = (WARM_BASE..WARM_BASE + config.warm_keys as u64).collect();
        Workload {
            config,
            make,
            updater,
            hot,
            warm,
            tickets: AtomicU64::new(1),
            cold_next: AtomicU64::new(COLD_BASE),
        }
    }

    fn ticket(&self) -> u64 {
        self.tickets.fetch_add(1, Ordering::SeqCst)
    }

    /// Runs every worker, then the quiescent final reads, then `verify_consistency`.
    pub(crate) fn run<H, T>(&self, host: &H, engine: fn(&H) -> &T) -> Recorded<R>
    where
        H: Sync,
        T: Target<Record = R> + ?Sized,
        R: Send,
    {
        let threads = self.config.threads.max(1);
        let barrier = Barrier::new(threads);
        let arrived = AtomicUsize::new(0);
        let mut rng = SplitMix64::new(self.config.seed);
        let seeds: Vec<u64> = (0..threads).map(|_| rng.next_u64()).collect();
        let mut events = Vec::new();
        let mut panic = None;
        let (supported, probes) = self.probe(engine(host));
        events.extend(probes);
        let supported = &supported;
        let progress: Arc<[AtomicUsize]> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
        let _watchdog = self.watchdog(Arc::clone(&progress));
        std::thread::scope(|scope| {
            let handles: Vec<_> = seeds
                .iter()
                .enumerate()
                .map(|(thread, &seed)| {
                    let (barrier, arrived, progress) = (&barrier, &arrived, &progress);
                    scope.spawn(move || {
                        let target = engine(host);
                        // A blocking barrier wakes its sleepers one by one, late enough for the
                        // first thread to finish alone; a spinning one releases them together.
                        barrier.wait();
                        arrived.fetch_add(1, Ordering::SeqCst);
                        let mut spins = 0_u32;
                        while arrived.load(Ordering::SeqCst) < threads {
                            // Spin first (a yield could deschedule us just as the last thread
                            // arrives), then give way if the cores are taken.
                            spins += 1;
                            if spins < 50_000 {
                                core::hint::spin_loop();
                            } else {
                                std::thread::yield_now();
                            }
                        }
                        let rng = SplitMix64::new(seed);
                        self.worker(target, thread, rng, supported, &progress[thread])
                    })
                })
                .collect();
            for (thread, handle) in handles.into_iter().enumerate() {
                match handle.join() {
                    Ok(mut mine) => events.append(&mut mine),
                    Err(payload) => {
                        let message = payload
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| payload.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "(non-string panic payload)".into());
                        panic.get_or_insert(WorkerPanic { thread, message });
                    }
                }
            }
        });
        let target = engine(host);
        let cold_end = self.cold_next.load(Ordering::SeqCst);
        let mut keys: Vec<u64> = self.hot.iter().chain(&self.warm).copied().collect();
        keys.extend(COLD_BASE..cold_end);
        if panic.is_none() {
            let finals =
                keys.iter()
                    .map(|&key| Op::Get { key })
                    .chain([Op::Snapshot, Op::Len, Op::Version]);
            for (seq, op) in finals.enumerate() {
                events.extend(self.call(target, FINAL_THREAD, seq, op, &mut SplitMix64::new(0)));
            }
        }
        Recorded {
            events,
            start: Vec::new(),
            keys,
            panic,
            verify: target.verify(),
        }
    }

    fn pick_key(&self, rng: &mut SplitMix64) -> u64 {
        let roll = rng.below(100);
        if roll < 45 && !self.hot.is_empty() {
            self.hot[rng.below(self.hot.len() as u64) as usize]
        } else if roll < 80 && !self.warm.is_empty() {
            self.warm[rng.below(self.warm.len() as u64) as usize]
        } else {
            let end = self.cold_next.load(Ordering::Relaxed);
            if end == COLD_BASE || rng.chance(600) {
                self.cold_next.fetch_add(1, Ordering::Relaxed)
            } else {
                COLD_BASE + rng.below(end - COLD_BASE)
            }
        }
    }

    /// Issues each optional operation once on the first hot keys, recording the calls a target
    /// supports (they are ordinary calls of the history); an unsupported one does nothing.
    fn probe<T: Target<Record = R> + ?Sized>(&self, target: &T) -> (Supported, Vec<Event<R>>) {
        let mut supported = Supported::default();
        let mut events = Vec::new();
        let Some(&key) = self.hot.first() else {
            return (supported, events);
        };
        let mut rng = SplitMix64::new(self.config.seed ^ 0x7072_6f62_6573);
        let mut nonce = 1 << 60;
        let mut probe = |op: Op<R>, events: &mut Vec<Event<R>>| {
            let seq = events.len();
            let event = self.call(target, PROBE_THREAD, seq, op, &mut rng);
            events.extend(event);
            events.len() > seq
        };
        for (i, &shape) in EntryShape::ALL.iter().enumerate() {
            nonce += 1;
            let record = (self.make)(key, nonce);
            let op = Op::Entry {
                key,
                shape,
                record,
                nonce,
            };
            supported.entry[i] = probe(op, &mut events);
        }
        nonce += 1;
        let record = (self.make)(key, nonce);
        supported.get_or_insert_with = probe(Op::GetOrInsertWith { key, record }, &mut events);
        supported.remove_if = probe(Op::RemoveIf { key }, &mut events);
        if T::VERSIONED {
            let op = Op::CompareAndRemove { key, expected: 0 };
            supported.compare_and_remove = probe(op, &mut events);
        }
        if self.hot.len() >= 2 {
            let keys = self.hot[..2].to_vec();
            supported.transaction = probe(
                Op::Transaction {
                    keys,
                    nonce: nonce + 1,
                },
                &mut events,
            );
        }
        (supported, events)
    }

    /// An optional operation the target supports, on `key` (transactions: on 2 to 4 keys, mostly
    /// hot ones).
    /// `read` issues a `get` first (for `compare_and_remove`'s expected revision).
    fn optional_op(
        &self,
        rng: &mut SplitMix64,
        supported: &Supported,
        key: u64,
        nonce: &mut u64,
        read: &mut dyn FnMut(u64) -> u64,
    ) -> Option<Op<R>> {
        let shapes: Vec<EntryShape> = EntryShape::ALL
            .iter()
            .zip(supported.entry)
            .filter_map(|(&shape, on)| on.then_some(shape))
            .collect();
        let choices = [
            (supported.transaction && self.hot.len() >= 2, 35),
            (supported.get_or_insert_with, 15),
            (supported.remove_if, 15),
            (supported.compare_and_remove, 15),
            (!shapes.is_empty(), 20),
        ];
        let total: u64 = choices.iter().filter(|c| c.0).map(|c| c.1).sum();
        let mut roll = rng.below(total.max(1));
        let mut pick = None;
        for (i, &(on, weight)) in choices.iter().enumerate() {
            if on && pick.is_none() {
                if roll < weight {
                    pick = Some(i);
                } else {
                    roll -= weight;
                }
            }
        }
        let record = (self.make)(key, *nonce);
        Some(match pick? {
            0 => {
                // Mostly hot keys (one shard), with a few warm ones so that some transactions
                // span shards.
                let mut pool: Vec<u64> = self
                    .hot
                    .iter()
                    .chain(self.warm.iter().take(2))
                    .copied()
                    .collect();
                let count = (2 + rng.below(3) as usize).min(pool.len());
                let keys: Vec<u64> = (0..count)
                    .map(|_| pool.swap_remove(rng.below(pool.len() as u64) as usize))
                    .collect();
                let op = Op::Transaction {
                    keys,
                    nonce: *nonce,
                };
                *nonce += 4;
                op
            }
            1 => Op::GetOrInsertWith { key, record },
            2 => Op::RemoveIf { key },
            3 => {
                // Mostly the read-decide-remove cycle; sometimes a blind or a stale
                // expectation, so that refusals are exercised too.
                let expected = match rng.below(10) {
                    0..4 => read(key),
                    4..7 => 0,
                    _ => read(key).saturating_sub(1),
                };
                Op::CompareAndRemove { key, expected }
            }
            _ => Op::Entry {
                key,
                shape: shapes[rng.below(shapes.len() as u64) as usize],
                record,
                nonce: *nonce,
            },
        })
    }

    fn worker<T: Target<Record = R> + ?Sized>(
        &self,
        target: &T,
        thread: usize,
        mut rng: SplitMix64,
        supported: &Supported,
        progress: &AtomicUsize,
    ) -> Vec<Event<R>> {
        let ops = self.config.ops_per_thread;
        let mut events = Vec::with_capacity(ops + ops / 8);
        let mut nonce = (thread as u64 + 1) << 40;
        let mut last_revision = 0;
        let mut seq = 0;
        while seq < ops {
            let key = self.pick_key(&mut rng);
            nonce += 1;
            // Only on a target that supports some, so that the others' workloads stay as they were.
            if supported.any() && rng.chance(OPTIONAL_PER_MILLE) {
                let mut reads = Vec::new();
                let mut read_rng = rng.fork();
                let mut read = |key: u64| {
                    let op = Op::Get { key };
                    let read = self.call(target, thread, seq, op, &mut read_rng);
                    let expected = match read.as_ref().map(|e| &e.outcome) {
                        Some(Outcome::Get(Some(seen))) => seen.revision,
                        _ => 0,
                    };
                    reads.extend(read);
                    expected
                };
                let op = self.optional_op(&mut rng, supported, key, &mut nonce, &mut read);
                seq += reads.len();
                events.append(&mut reads);
                if let Some(op) = op {
                    events.extend(self.call(target, thread, seq, op, &mut rng));
                    seq += 1;
                    progress.store(seq, Ordering::Relaxed);
                    continue;
                }
            }
            let record = || (self.make)(key, nonce);
            let roll = rng.below(1000);
            let op = match roll {
                0..180 => Op::Get { key },
                180..230 => Op::Contains { key },
                230..380 => Op::Insert {
                    key,
                    record: record(),
                },
                380..500 => Op::LoadOrStore {
                    key,
                    record: record(),
                },
                500..620 => Op::Update { key, nonce },
                620..720 => Op::Remove { key },
                720..830 if T::VERSIONED => {
                    // Usually the read-decide-write cycle `compare_and_swap` exists for; sometimes
                    // a stale or blind expectation, to exercise conflicts.
                    let expected = match rng.below(10) {
                        0 => 0,
                        1 => last_revision,
                        _ => {
                            let read = self.call(target, thread, seq, Op::Get { key }, &mut rng);
                            let read = read.expect("`get` is always supported");
                            seq += 1;
                            let expected = match &read.outcome {
                                Outcome::Get(Some(seen)) => seen.revision,
                                _ => 0,
                            };
                            events.push(read);
                            expected
                        }
                    };
                    Op::Cas {
                        key,
                        expected,
                        record: record(),
                    }
                }
                720..830 => Op::Insert {
                    key,
                    record: record(),
                },
                830..860 => Op::Retain,
                860..900 => Op::Snapshot,
                900..930 if T::VERSIONED => Op::Version,
                900..930 => Op::Len,
                930..933 => Op::Clear,
                _ => Op::Get { key },
            };
            let event = self.call(target, thread, seq, op, &mut rng);
            let event = event.expect("the classic operations are always supported");
            if let Outcome::Insert { revision, .. } | Outcome::Stored { revision } = event.outcome {
                last_revision = revision;
            }
            events.push(event);
            seq += 1;
            progress.store(seq, Ordering::Relaxed);
        }
        events
    }

    /// A thread that aborts the process, with a report, if this run is not over within
    /// `MAPSAFE_DEADLINE_SECS` (default 120): a deadlocked map must fail its test, not hang CI.
    /// The run is over when the returned sender is dropped.
    fn watchdog(&self, progress: Arc<[AtomicUsize]>) -> mpsc::Sender<()> {
        let (over, wait) = mpsc::channel::<()>();
        let deadline = Duration::from_secs(
            std::env::var("MAPSAFE_DEADLINE_SECS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(120),
        );
        let (seed, ops) = (self.config.seed, self.config.ops_per_thread);
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(deadline) {
                let done: Vec<usize> = progress.iter().map(|p| p.load(Ordering::Relaxed)).collect();
                eprintln!(
                    "mapsafe::check: no end after {deadline:?} (seed {seed:#x}): the map is \
                     deadlocked or stalled. Calls completed per thread (of {ops}): {done:?}; \
                     the quiescent reads run after every thread is done. Aborting."
                );
                std::process::abort();
            }
        });
        over
    }

    /// Issues one call between two tickets.
    fn call<T: Target<Record = R> + ?Sized>(
        &self,
        target: &T,
        thread: usize,
        seq: usize,
        op: Op<R>,
        rng: &mut SplitMix64,
    ) -> Option<Event<R>> {
        let make = self.make;
        let key_of = |key: u64| make(key, 0).key().clone();
        let mut predicate_rng = rng.fork();
        let call = self.ticket();
        let updater = self.updater;
        let edit_with = |nonce: u64| {
            move |view: R::Mut<'_>| {
                if let Some(edit) = updater {
                    edit(view, nonce);
                }
            }
        };
        let revised = |v: Versioned<R>| Revised {
            record: v.value,
            revision: v.version,
        };
        let outcome = match &op {
            Op::Get { key } => Outcome::Get(target.get(&key_of(*key)).map(Revised::from)),
            Op::Contains { key } => Outcome::Contains(target.contains_key(&key_of(*key))),
            Op::Insert { record, .. } => {
                let (replaced, revision) = target.insert(record.clone());
                Outcome::Insert { replaced, revision }
            }
            Op::LoadOrStore { record, .. } => match target.load_or_store(record.clone()) {
                (LoadOrStore::Stored, revision) => Outcome::Stored { revision },
                (LoadOrStore::Loaded { current, .. }, revision) => {
                    Outcome::Loaded { current, revision }
                }
            },
            Op::Update { key, nonce } => {
                Outcome::Update(target.update(&key_of(*key), &mut edit_with(*nonce)))
            }
            Op::Remove { key } => Outcome::Remove(target.remove(&key_of(*key)).map(Revised::from)),
            Op::Cas {
                expected, record, ..
            } => match target.try_swap(*expected, record.clone()) {
                Some(Ok(revision)) => Outcome::Cas(Ok(revision)),
                Some(Err(conflict)) => Outcome::Cas(Err(conflict.actual)),
                None => unreachable!("compare_and_swap is only issued on versioned maps"),
            },
            Op::Retain => {
                let mut visits = Vec::new();
                target.retain(&mut |record| {
                    let t1 = self.ticket();
                    let kept = !predicate_rng.chance(250);
                    visits.push(Visit {
                        record: record.clone(),
                        kept,
                        t1,
                        t2: self.ticket(),
                    });
                    kept
                });
                Outcome::Retain(visits)
            }
            Op::Clear => {
                target.clear();
                Outcome::Clear
            }
            Op::Snapshot => {
                let (records, version) = target.snapshot();
                let records = records.into_iter().map(Revised::from).collect();
                Outcome::Snapshot { records, version }
            }
            Op::Version => Outcome::Version(target.latest_revision()),
            Op::Len => Outcome::Len(target.len()),
            Op::GetOrInsertWith { key, record } => {
                let mut made = 0;
                let current = target.get_or_insert_with(&key_of(*key), &mut || {
                    made += 1;
                    record.clone()
                })?;
                Outcome::GetOrInsertWith {
                    current: revised(current),
                    made,
                }
            }
            Op::RemoveIf { key } => {
                let mut visits = Vec::new();
                let removed = target.remove_if(&key_of(*key), &mut |record| {
                    let t1 = self.ticket();
                    let remove = predicate_rng.chance(500);
                    visits.push(Visit {
                        record: record.clone(),
                        kept: !remove,
                        t1,
                        t2: self.ticket(),
                    });
                    remove
                })?;
                Outcome::RemoveIf {
                    visits,
                    removed: removed.map(revised),
                }
            }
            Op::CompareAndRemove { key, expected } => {
                let result = target.compare_and_remove(*expected, &key_of(*key))?;
                Outcome::CompareAndRemove(result.map(revised))
            }
            Op::Entry {
                key,
                shape,
                record,
                nonce,
            } => {
                let mut made = 0;
                let mut edit = edit_with(*nonce);
                let outcome = match shape {
                    EntryShape::OrInsert => target.entry_or_insert(record.clone()),
                    EntryShape::OrInsertWith => {
                        target.entry_or_insert_with(&key_of(*key), &mut || {
                            made += 1;
                            record.clone()
                        })
                    }
                    EntryShape::AndModifyOrInsert => {
                        target.entry_and_modify_or_insert(record.clone(), &mut edit)
                    }
                    EntryShape::Replace => target.entry_replace(record.clone()),
                    EntryShape::Remove => target.entry_remove(&key_of(*key)),
                }?;
                Outcome::Entry { outcome, made }
            }
            Op::Transaction { keys, nonce } => {
                let decide = rng.fork();
                let declared: Vec<R::Key> = keys.iter().map(|&k| key_of(k)).collect();
                let mut last: Option<TxnRecord<R>> = None;
                let outcome = target.transaction(&declared, &mut |tx: &mut dyn TxnOps<R>| {
                    // Each run decides alike: a target that retries reruns the same body.
                    let mut rng = decide.clone();
                    let (run, commit) = self.txn_body(tx, keys, *nonce, &mut rng);
                    last = Some(run);
                    commit
                })?;
                let TxnRecord { reads, writes, .. } = last.unwrap_or(TxnRecord {
                    reads: Vec::new(),
                    writes: Vec::new(),
                    committed: None,
                });
                let committed = match outcome {
                    TxnOutcome::Aborted => None,
                    TxnOutcome::Committed(changed) => Some(
                        changed
                            .into_iter()
                            .map(|c| KeyRevision {
                                // A key no one declared stays out of range, for the analysis.
                                key: keys
                                    .iter()
                                    .copied()
                                    .find(|&k| key_of(k) == c.key)
                                    .unwrap_or(u64::MAX),
                                revision: c.revision,
                            })
                            .collect(),
                    ),
                };
                Outcome::Transaction(TxnRecord {
                    reads,
                    writes,
                    committed,
                })
            }
        };
        let ret = self.ticket();
        Some(Event {
            thread,
            seq,
            call,
            ret,
            op,
            outcome,
        })
    }

    /// The checker's transaction: reads every declared key, then for each key either leaves it,
    /// inserts a fresh record, updates it or removes it (the last two only where present), and
    /// commits three times in four. Returns what it read and wrote (not yet committed), and
    /// whether to commit.
    fn txn_body(
        &self,
        tx: &mut dyn TxnOps<R>,
        keys: &[u64],
        nonce: u64,
        rng: &mut SplitMix64,
    ) -> (TxnRecord<R>, bool) {
        let key_of = |key: u64| (self.make)(key, 0).key().clone();
        let reads: Vec<TxnRead<R>> = keys
            .iter()
            .map(|&key| {
                let k = key_of(key);
                let seen = tx.get(&k).map(|record| Revised {
                    record,
                    revision: tx.version_of(&k),
                });
                TxnRead { key, seen }
            })
            .collect();
        let mut writes = Vec::new();
        for (i, read) in reads.iter().enumerate() {
            let (key, nonce) = (read.key, nonce + i as u64);
            let present = read.seen.is_some();
            let action = match rng.below(4) {
                1 => Some(TxnAction::Insert((self.make)(key, nonce))),
                2 if present => Some(TxnAction::Update { nonce }),
                2 => Some(TxnAction::Insert((self.make)(key, nonce))),
                3 if present => Some(TxnAction::Remove),
                _ => None,
            };
            let Some(action) = action else { continue };
            match &action {
                TxnAction::Insert(record) => {
                    let _ = tx.insert(record.clone());
                }
                TxnAction::Update { nonce } => {
                    let updater = self.updater;
                    let nonce = *nonce;
                    let _ = tx.update(&key_of(key), &mut |view| {
                        if let Some(edit) = updater {
                            edit(view, nonce);
                        }
                    });
                }
                TxnAction::Remove => {
                    let _ = tx.remove(&key_of(key));
                }
            }
            writes.push(TxnWrite { key, action });
        }
        let run = TxnRecord {
            reads,
            writes,
            committed: None,
        };
        (run, !rng.chance(250))
    }
}
