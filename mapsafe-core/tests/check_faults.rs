//! The checker is itself tested: a small sharded engine with one switchable bug at a time must
//! be caught in at least 95% of seeded runs, and the same engine without a bug must never be.
//!
//! Why a separate engine instead of fault-injection switches in `ShardedMap`: the real hot path
//! stays free of test-only branches, and the checker is exercised as a black box through the
//! same `Target` interface it drives the real engine with. Each buggy window sleeps briefly
//! (`preempted()`), standing in for an unlucky preemption, so that the bug shows up within a
//! short run even when a loaded machine runs the workers one at a time.
//!
//! Figures: `cargo test -p mapsafe-core --test check_faults -- --nocapture` prints the detection
//! rate of each bug; `MAPSAFE_RUNS=200` runs more seeds per bug.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use mapsafe_core::check::{
    CheckFailure, Checker, Config, EditFn, EntryOutcome, FailureClass, KeyRevision, Target,
    TxnBody, TxnOps, TxnOutcome,
};
use mapsafe_core::{Conflict, LoadOrStore, Versioned};

type Rec = (u64, u64);
/// A stored value and its revision.
type Entry = (u64, u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bug {
    None,
    /// `load_or_store` checks under a read lock, then stores under a write lock.
    NonAtomicLoadOrStore,
    /// Writes take their revision before locking the shard.
    RevisionOutsideLock,
    /// `snapshot` copies the shards one at a time, each under its own lock only.
    TornSnapshot,
    /// `get` serves from a cache that writers do not invalidate.
    StaleRead,
    /// `update` edits a copy outside the lock and writes it back, over any concurrent write.
    LostUpdate,
    /// A committed transaction applies its writes one shard at a time, each under that shard's
    /// lock only.
    TxnShardAtATime,
    /// `compare_and_remove` removes whatever revision the key has.
    CompareAndRemoveIgnoresRevision,
    /// `entry` looks the key up, releases the lock, and locks again to act on what it saw.
    EntryReleasesLock,
    /// `get_or_insert_with` checks for the key, runs `make` outside the lock, then stores or
    /// returns what another caller stored meanwhile (so `make` can run for nothing, twice).
    MakeOutsideLock,
}

const SHARDS: usize = 4;

/// Where a buggy engine leaves its race open: another thread gets to run here even when the
/// machine has no spare core.
fn preempted() {
    std::thread::sleep(Duration::from_micros(50));
}

/// A small sharded engine: key -> (value, revision). With `compound`, it also offers the
/// compound operations and transactions; without, the checker's workload is the classic one.
struct Faulty<const VERSIONED: bool> {
    bug: Bug,
    compound: bool,
    shards: Vec<RwLock<HashMap<u64, (u64, u64)>>>,
    revision: AtomicU64,
    /// `StaleRead`'s cache: key -> (value and revision last read, reads since).
    cache: Mutex<HashMap<u64, (Option<Entry>, u32)>>,
}

impl<const V: bool> Faulty<V> {
    fn new(bug: Bug) -> Self {
        Faulty {
            bug,
            compound: false,
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            revision: AtomicU64::new(0),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn shard(&self, key: u64) -> &RwLock<HashMap<u64, (u64, u64)>> {
        &self.shards[self.shard_index(key)]
    }

    fn shard_index(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 62) as usize % SHARDS
    }

    fn next_rev(&self) -> u64 {
        if V {
            self.revision.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            0
        }
    }

    /// The same engine offering the compound operations and transactions too.
    fn compound(bug: Bug) -> Self {
        Faulty {
            compound: true,
            ..Faulty::new(bug)
        }
    }

    /// A revision for a write about to lock its shard: early (and after a pause) when the bug
    /// is on; otherwise `None`, and the write takes it under the lock.
    fn early_rev(&self) -> Option<u64> {
        (self.bug == Bug::RevisionOutsideLock).then(|| {
            let rev = self.next_rev();
            preempted();
            rev
        })
    }
}

impl<const V: bool> Target for Faulty<V> {
    type Record = Rec;
    const VERSIONED: bool = V;

    fn shard_count(&self) -> usize {
        SHARDS
    }

    fn shard_of(&self, key: &u64) -> usize {
        self.shard_index(*key)
    }

    fn get(&self, key: &u64) -> Option<(Rec, u64)> {
        let read = || {
            self.shard(*key)
                .read()
                .unwrap()
                .get(key)
                .map(|&(v, rev)| ((*key, v), rev))
        };
        if self.bug != Bug::StaleRead {
            return read();
        }
        let mut cache = self.cache.lock().unwrap();
        let entry = cache.entry(*key).or_insert((None, 0));
        if entry.1 % 4 == 0 {
            entry.0 = read().map(|((_, v), rev)| (v, rev));
        }
        entry.1 += 1;
        entry.0.map(|(v, rev)| ((*key, v), rev))
    }

    fn contains_key(&self, key: &u64) -> bool {
        self.shard(*key).read().unwrap().contains_key(key)
    }

    fn insert(&self, (key, value): Rec) -> (Option<Rec>, u64) {
        let early = self.early_rev();
        let mut shard = self.shard(key).write().unwrap();
        let rev = early.unwrap_or_else(|| self.next_rev());
        let old = shard.insert(key, (value, rev));
        (old.map(|(v, _)| (key, v)), rev)
    }

    fn load_or_store(&self, (key, value): Rec) -> (LoadOrStore<Rec>, u64) {
        if self.bug == Bug::NonAtomicLoadOrStore {
            if let Some(&(v, rev)) = self.shard(key).read().unwrap().get(&key) {
                let out = LoadOrStore::Loaded {
                    current: (key, v),
                    offered: (key, value),
                };
                return (out, rev);
            }
            preempted();
            let rev = self.next_rev();
            self.shard(key).write().unwrap().insert(key, (value, rev));
            return (LoadOrStore::Stored, rev);
        }
        let early = self.early_rev();
        let mut shard = self.shard(key).write().unwrap();
        if let Some(&(v, rev)) = shard.get(&key) {
            let out = LoadOrStore::Loaded {
                current: (key, v),
                offered: (key, value),
            };
            return (out, rev);
        }
        let rev = early.unwrap_or_else(|| self.next_rev());
        shard.insert(key, (value, rev));
        (LoadOrStore::Stored, rev)
    }

    fn update(&self, key: &u64, edit: &mut EditFn<'_, Rec>) -> Option<u64> {
        if self.bug == Bug::LostUpdate {
            let (mut value, _) = *self.shard(*key).read().unwrap().get(key)?;
            edit(&mut value);
            preempted();
            let rev = self.next_rev();
            self.shard(*key).write().unwrap().insert(*key, (value, rev));
            return Some(rev);
        }
        let early = self.early_rev();
        let mut shard = self.shard(*key).write().unwrap();
        let entry = shard.get_mut(key)?;
        let rev = early.unwrap_or_else(|| self.next_rev());
        edit(&mut entry.0);
        entry.1 = rev;
        Some(rev)
    }

    fn remove(&self, key: &u64) -> Option<(Rec, u64)> {
        let early = self.early_rev();
        let mut shard = self.shard(*key).write().unwrap();
        let (v, _) = shard.remove(key)?;
        Some(((*key, v), early.unwrap_or_else(|| self.next_rev())))
    }

    fn try_swap(&self, expected: u64, (key, value): Rec) -> Option<Result<u64, Conflict<Rec>>> {
        if !V {
            return None;
        }
        let early = self.early_rev();
        let mut shard = self.shard(key).write().unwrap();
        let actual = shard.get(&key).map_or(0, |&(_, rev)| rev);
        if actual != expected {
            let offered = (key, value);
            return Some(Err(Conflict { actual, offered }));
        }
        let rev = early.unwrap_or_else(|| self.next_rev());
        shard.insert(key, (value, rev));
        Some(Ok(rev))
    }

    fn retain(&self, keep: &mut dyn FnMut(&Rec) -> bool) {
        for shard in &self.shards {
            let mut shard = shard.write().unwrap();
            shard.retain(|&key, (value, _)| {
                let kept = keep(&(key, *value));
                if !kept {
                    self.next_rev();
                }
                kept
            });
        }
    }

    fn clear(&self) {
        for shard in &self.shards {
            let mut shard = shard.write().unwrap();
            for _ in shard.drain() {
                self.next_rev();
            }
        }
    }

    fn snapshot(&self) -> (Vec<(Rec, u64)>, u64) {
        let copy = |shard: &HashMap<u64, (u64, u64)>, out: &mut Vec<(Rec, u64)>| {
            out.extend(shard.iter().map(|(&k, &(v, rev))| ((k, v), rev)));
        };
        let mut out = Vec::new();
        if self.bug == Bug::TornSnapshot {
            let version = self.revision.load(Ordering::SeqCst);
            for shard in &self.shards {
                copy(&shard.read().unwrap(), &mut out);
                preempted();
            }
            return (out, version);
        }
        let guards: Vec<_> = self.shards.iter().map(|s| s.read().unwrap()).collect();
        let version = self.revision.load(Ordering::SeqCst);
        for guard in &guards {
            copy(guard, &mut out);
        }
        (out, version)
    }

    fn latest_revision(&self) -> u64 {
        self.revision.load(Ordering::SeqCst)
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().unwrap().len()).sum()
    }

    fn verify(&self) -> Result<(), String> {
        Ok(())
    }

    fn get_or_insert_with(
        &self,
        key: &u64,
        make: &mut dyn FnMut() -> Rec,
    ) -> Option<Versioned<Rec>> {
        if !self.compound {
            return None;
        }
        if self.bug == Bug::MakeOutsideLock && !self.shard(*key).read().unwrap().contains_key(key) {
            // A computation worth caching takes a while: a wide window for a racing caller.
            for _ in 0..30 {
                preempted();
            }
            let (k, v) = make();
            let mut shard = self.shard(*key).write().unwrap();
            if let Some(&(v, version)) = shard.get(key) {
                return Some(Versioned {
                    version,
                    value: (*key, v),
                });
            }
            let version = self.next_rev();
            shard.insert(k, (v, version));
            return Some(Versioned {
                version,
                value: (k, v),
            });
        }
        let mut shard = self.shard(*key).write().unwrap();
        if let Some(&(v, version)) = shard.get(key) {
            return Some(Versioned {
                version,
                value: (*key, v),
            });
        }
        let (k, v) = make();
        let version = self.next_rev();
        shard.insert(k, (v, version));
        Some(Versioned {
            version,
            value: (k, v),
        })
    }

    fn remove_if(
        &self,
        key: &u64,
        predicate: &mut dyn FnMut(&Rec) -> bool,
    ) -> Option<Option<Versioned<Rec>>> {
        if !self.compound {
            return None;
        }
        let mut shard = self.shard(*key).write().unwrap();
        let Some(&(v, _)) = shard.get(key) else {
            return Some(None);
        };
        if !predicate(&(*key, v)) {
            return Some(None);
        }
        shard.remove(key);
        let version = self.next_rev();
        Some(Some(Versioned {
            version,
            value: (*key, v),
        }))
    }

    fn compare_and_remove(&self, expected: u64, key: &u64) -> Option<Result<Versioned<Rec>, u64>> {
        if !(V && self.compound) {
            return None;
        }
        let mut shard = self.shard(*key).write().unwrap();
        let actual = shard.get(key).map_or(0, |&(_, rev)| rev);
        let ignore = self.bug == Bug::CompareAndRemoveIgnoresRevision;
        if actual == 0 || (actual != expected && !ignore) {
            return Some(Err(actual));
        }
        let (v, _) = shard.remove(key).expect("present: its revision is not 0");
        let version = self.next_rev();
        Some(Ok(Versioned {
            version,
            value: (*key, v),
        }))
    }

    fn entry_or_insert(&self, record: Rec) -> Option<EntryOutcome<Rec>> {
        self.entry(record.0, |slot, rev| match slot {
            Some(&mut (v, version)) => (
                None,
                EntryOutcome::Found(Versioned {
                    version,
                    value: (record.0, v),
                }),
            ),
            None => (
                Some(Some(record.1)),
                EntryOutcome::Inserted { revision: rev() },
            ),
        })
    }

    fn entry_or_insert_with(
        &self,
        key: &u64,
        make: &mut dyn FnMut() -> Rec,
    ) -> Option<EntryOutcome<Rec>> {
        self.entry(*key, |slot, rev| match slot {
            Some(&mut (v, version)) => (
                None,
                EntryOutcome::Found(Versioned {
                    version,
                    value: (*key, v),
                }),
            ),
            None => (
                Some(Some(make().1)),
                EntryOutcome::Inserted { revision: rev() },
            ),
        })
    }

    fn entry_and_modify_or_insert(
        &self,
        record: Rec,
        edit: &mut EditFn<'_, Rec>,
    ) -> Option<EntryOutcome<Rec>> {
        self.entry(record.0, |slot, rev| match slot {
            Some((v, version)) => {
                edit(v);
                *version = rev();
                (None, EntryOutcome::Modified { revision: *version })
            }
            None => (
                Some(Some(record.1)),
                EntryOutcome::Inserted { revision: rev() },
            ),
        })
    }

    fn entry_replace(&self, record: Rec) -> Option<EntryOutcome<Rec>> {
        self.entry(record.0, |slot, rev| match slot {
            Some((v, version)) => {
                let old = (record.0, *v);
                *v = record.1;
                *version = rev();
                (
                    None,
                    EntryOutcome::Replaced {
                        old,
                        revision: *version,
                    },
                )
            }
            None => (None, EntryOutcome::Vacant),
        })
    }

    fn entry_remove(&self, key: &u64) -> Option<EntryOutcome<Rec>> {
        self.entry(*key, |slot, rev| match slot {
            Some(&mut (v, _)) => {
                let removed = Versioned {
                    version: rev(),
                    value: (*key, v),
                };
                (Some(None), EntryOutcome::Removed(removed))
            }
            None => (None, EntryOutcome::Vacant),
        })
    }

    fn transaction(&self, keys: &[u64], body: &mut TxnBody<'_, Rec>) -> Option<TxnOutcome<u64>> {
        if !self.compound {
            return None;
        }
        // Every involved shard, in index order (as snapshots take them): no deadlock.
        let shards: BTreeSet<usize> = keys.iter().map(|&k| self.shard_index(k)).collect();
        let mut guards: Vec<_> = shards
            .iter()
            .map(|&s| (s, self.shards[s].write().unwrap()))
            .collect();
        let mut txn = FaultyTxn {
            view: keys
                .iter()
                .map(|&k| {
                    let guard = &guards
                        .iter()
                        .find(|(s, _)| *s == self.shard_index(k))
                        .unwrap()
                        .1;
                    (k, guard.get(&k).copied())
                })
                .collect(),
            written: BTreeSet::new(),
        };
        if !body(&mut txn) {
            return Some(TxnOutcome::Aborted);
        }
        let changed: Vec<u64> = txn.written.iter().copied().collect();
        let first = if V {
            self.revision
                .fetch_add(changed.len() as u64, Ordering::SeqCst)
                + 1
        } else {
            0
        };
        let revision = |i: usize| if V { first + i as u64 } else { 0 };
        let shard_at_a_time = self.bug == Bug::TxnShardAtATime;
        if shard_at_a_time {
            drop(guards);
            guards = Vec::new();
        }
        for (i, &key) in changed.iter().enumerate() {
            let s = self.shard_index(key);
            let mut own;
            let shard = if shard_at_a_time {
                preempted();
                own = self.shards[s].write().unwrap();
                &mut *own
            } else {
                &mut *guards.iter_mut().find(|(g, _)| *g == s).unwrap().1
            };
            match txn.view[&key] {
                Some((v, _)) => shard.insert(key, (v, revision(i))),
                None => shard.remove(&key),
            };
        }
        let revisions = changed
            .iter()
            .enumerate()
            .map(|(i, &key)| KeyRevision {
                key,
                revision: revision(i),
            })
            .collect();
        Some(TxnOutcome::Committed(revisions))
    }
}

impl<const V: bool> Faulty<V> {
    /// One `entry` call: `act` sees the slot (and a way to take a fresh revision) and returns
    /// what to store (`Some(None)`: remove) and the outcome.
    fn entry(
        &self,
        key: u64,
        act: impl FnOnce(
            Option<&mut (u64, u64)>,
            &dyn Fn() -> u64,
        ) -> (Option<Option<u64>>, EntryOutcome<Rec>),
    ) -> Option<EntryOutcome<Rec>> {
        if !self.compound {
            return None;
        }
        // The bug: decide on what the key held a moment ago, then lock again to act on it.
        let stale = (self.bug == Bug::EntryReleasesLock).then(|| {
            let seen = self.shard(key).read().unwrap().get(&key).copied();
            preempted();
            seen
        });
        let mut shard = self.shard(key).write().unwrap();
        let rev = std::cell::Cell::new(None);
        let fresh = || {
            let r = rev.get().unwrap_or_else(|| self.next_rev());
            rev.set(Some(r));
            r
        };
        let mut seen = stale.flatten();
        let slot = match stale {
            Some(_) => seen.as_mut(),
            None => shard.get_mut(&key),
        };
        let (store, outcome) = act(slot, &fresh);
        if let (Some(_), None, Some(edited)) = (stale, store, seen) {
            // An edit of the stale copy is written back over whatever is there now.
            shard.insert(key, edited);
        }
        match store {
            Some(Some(v)) => {
                shard.insert(key, (v, fresh()));
            }
            Some(None) => {
                shard.remove(&key);
            }
            None => {}
        }
        Some(outcome)
    }
}

/// A transaction's working copy of its declared keys: key -> (value, revision) or absent.
struct FaultyTxn {
    view: HashMap<u64, Option<(u64, u64)>>,
    written: BTreeSet<u64>,
}

impl FaultyTxn {
    fn slot(&mut self, key: u64) -> &mut Option<(u64, u64)> {
        self.view
            .get_mut(&key)
            .unwrap_or_else(|| panic!("key {key} was not declared"))
    }
}

impl TxnOps<Rec> for FaultyTxn {
    fn get(&self, key: &u64) -> Option<Rec> {
        self.view[key].map(|(v, _)| (*key, v))
    }

    fn version_of(&self, key: &u64) -> u64 {
        self.view[key].map_or(0, |(_, rev)| rev)
    }

    fn insert(&mut self, (key, value): Rec) -> Option<Rec> {
        self.written.insert(key);
        let rev = self.slot(key).map_or(0, |(_, rev)| rev);
        self.slot(key).replace((value, rev)).map(|(v, _)| (key, v))
    }

    fn update(&mut self, key: &u64, edit: &mut EditFn<'_, Rec>) -> bool {
        let Some((v, _)) = self.slot(*key) else {
            return false;
        };
        edit(v);
        self.written.insert(*key);
        true
    }

    fn remove(&mut self, key: &u64) -> Option<Rec> {
        let old = self.slot(*key).take()?;
        self.written.insert(*key);
        Some((*key, old.0))
    }
}

fn make(key: u64, nonce: u64) -> Rec {
    (key, nonce)
}

fn bump(value: &mut u64, nonce: u64) {
    *value = value.rotate_left(7) ^ nonce;
}

fn runs() -> u64 {
    std::env::var("MAPSAFE_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40)
}

/// Runs `runs()` seeds against a fresh engine each; returns the failures.
fn failures<const V: bool>(bug: Bug) -> (u64, Vec<CheckFailure>) {
    failures_of::<V>(bug, Faulty::new)
}

/// The same, against the engine offering the compound operations and transactions.
fn compound_failures<const V: bool>(bug: Bug) -> (u64, Vec<CheckFailure>) {
    failures_of::<V>(bug, Faulty::compound)
}

fn failures_of<const V: bool>(bug: Bug, engine: fn(Bug) -> Faulty<V>) -> (u64, Vec<CheckFailure>) {
    // A get-or-insert race needs two callers on one absent key at once, rarer than the other
    // bugs' windows: give it longer runs.
    let ops = if bug == Bug::MakeOutsideLock {
        400
    } else {
        Config::new().ops_per_thread
    };
    let checker = Checker::new(make)
        .updater(bump)
        .name(&format!("Faulty<{V}>({bug:?})"))
        .config(Config::new().ops_per_thread(ops));
    let base = Config::from_env().seed;
    let found = (0..runs())
        .filter_map(|i| checker.run_target(&engine(bug), base.wrapping_add(i)).err())
        .collect();
    (runs(), found)
}

fn assert_caught<const V: bool>(bug: Bug, classes: &[FailureClass]) {
    assert_found::<V>(bug, failures::<V>(bug), classes);
}

fn assert_compound_caught<const V: bool>(bug: Bug, classes: &[FailureClass]) {
    assert_found::<V>(bug, compound_failures::<V>(bug), classes);
}

fn assert_found<const V: bool>(
    bug: Bug,
    (runs, found): (u64, Vec<CheckFailure>),
    classes: &[FailureClass],
) {
    let rate = found.len() as f64 / runs as f64;
    let mode = if V { "versioned" } else { "plain" };
    println!(
        "{bug:?} ({mode}): caught in {}/{runs} runs ({:.1}%)",
        found.len(),
        rate * 100.0
    );
    let mut classes_found: Vec<String> = found.iter().map(|f| f.class().to_string()).collect();
    classes_found.sort();
    classes_found.dedup_by(|a, b| a == b);
    println!("  classes reported: {classes_found:?}");
    if let Some(first) = found.first() {
        println!("first report:\n{first}\n");
    }
    for failure in &found {
        // Every report is actionable: the offending call, its key's history, the seed and a
        // command that reruns the workload.
        let text = failure.to_string();
        assert!(failure.offending().is_some(), "no offending call:\n{text}");
        assert!(
            failure.key().is_none() || !failure.history().is_empty(),
            "no history:\n{text}"
        );
        let seed = format!("MAPSAFE_SEED={:#x}", failure.config().seed);
        assert!(
            failure.reproduce().contains(&seed),
            "no reproduce command:\n{text}"
        );
        assert!(
            text.contains(&seed) && text.contains(failure.summary()),
            "{text}"
        );
        // The shrunk history: much shorter, and still pointing at a call.
        let shortest = failure.shortest_history();
        if !matches!(
            failure.class(),
            FailureClass::FinalState | FailureClass::Inconsistent | FailureClass::Panicked
        ) {
            let calls = shortest_calls(failure);
            assert!(
                calls >= 1 && calls * 4 <= failure.recorded_calls(),
                "shrunk to {calls} of {} calls:\n{text}",
                failure.recorded_calls()
            );
            let marked = shortest.iter().filter(|l| l.starts_with(">>")).count();
            assert_eq!(
                marked, 1,
                "no offending call in the shrunk history:\n{text}"
            );
        }
        assert!(
            classes.contains(&failure.class()),
            "{bug:?} reported as {}:\n{failure}",
            failure.class()
        );
    }
    assert!(
        rate >= 0.95,
        "{bug:?} ({mode}) caught in only {}/{runs} runs",
        found.len()
    );
}

/// Calls in a failure's shrunk history (its `start:` lines are states, not calls).
fn shortest_calls(failure: &CheckFailure) -> usize {
    failure
        .shortest_history()
        .iter()
        .filter(|line| !line.starts_with("start: "))
        .count()
}

#[test]
fn a_failure_prints_a_shrunk_history_much_shorter_than_the_recorded_one() {
    // 4 threads x 400 calls: a recorded history of well over 1,600 calls.
    let checker = Checker::new(make)
        .updater(bump)
        .name("Faulty<false>(LostUpdate)")
        .config(Config::new().ops_per_thread(400));
    let base = Config::from_env().seed;
    let failure = (0..10)
        .find_map(|i| {
            checker
                .run_target(&Faulty::<false>::new(Bug::LostUpdate), base.wrapping_add(i))
                .err()
        })
        .expect("a lost update is caught within 10 seeds");
    let text = failure.to_string();
    println!("{text}");
    assert_eq!(failure.class(), FailureClass::NotLinearizable, "{text}");
    assert!(failure.recorded_calls() >= 1600, "{text}");
    let calls = shortest_calls(&failure);
    assert!(
        calls >= 1 && calls * 10 <= failure.recorded_calls(),
        "shrunk to {calls} of {} calls:\n{text}",
        failure.recorded_calls()
    );
    // The call the check stops at is on the failing key, and the report prints it all.
    let key = failure.key().expect("a per-key failure names its key");
    let marked: Vec<&String> = failure
        .shortest_history()
        .iter()
        .filter(|l| l.starts_with(">>"))
        .collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(
        // Calls that name the key (`get(key 3)`) or a record of it (`insert((3, ..))`,
        // `retain() -> removed (3, ..)`).
        marked[0].contains(&format!("key {key}")) || marked[0].contains(&format!("({key}, ")),
        "{text}"
    );
    assert!(text.contains("shortest offending history found"), "{text}");
    assert!(text.contains(failure.reproduce()), "{text}");
}

#[test]
fn correct_fake_engine_never_fails() {
    for (runs, found) in [failures::<false>(Bug::None), failures::<true>(Bug::None)] {
        if let Some(failure) = found.first() {
            panic!("false alarm ({} of {runs} runs):\n{failure}", found.len());
        }
    }
}

#[test]
fn correct_fake_engine_with_compound_operations_and_transactions_never_fails() {
    // What one run checks (printed with --nocapture): calls, snapshots, undecided searches.
    for versioned in [false, true] {
        let checker = Checker::new(make).updater(bump);
        let seed = Config::from_env().seed;
        let report = if versioned {
            checker.run_target(&Faulty::<true>::compound(Bug::None), seed)
        } else {
            checker.run_target(&Faulty::<false>::compound(Bug::None), seed)
        };
        match report {
            Ok(report) => println!("compound (versioned: {versioned}): {report}"),
            Err(failure) => panic!("false alarm:\n{failure}"),
        }
    }
    let runs = [
        compound_failures::<false>(Bug::None),
        compound_failures::<true>(Bug::None),
    ];
    for (runs, found) in runs {
        if let Some(failure) = found.first() {
            panic!("false alarm ({} of {runs} runs):\n{failure}", found.len());
        }
    }
}

#[test]
fn transaction_applied_one_shard_at_a_time_is_caught() {
    // Applying outside the locks also lets other writes in between the transaction's reads and
    // its writes: a per-key violation is as good a catch as a split seen across keys.
    let common = [
        FailureClass::TransactionNotAtomic,
        FailureClass::NotLinearizable,
        FailureClass::TornSnapshot,
    ];
    assert_compound_caught::<false>(Bug::TxnShardAtATime, &common);
    let versioned = [
        FailureClass::SnapshotNotAtVersion,
        FailureClass::RevisionOrder,
    ];
    assert_compound_caught::<true>(
        Bug::TxnShardAtATime,
        &[&common[..], &versioned[..]].concat(),
    );
}

#[test]
fn an_entry_that_releases_the_lock_between_lookup_and_write_is_caught() {
    let classes = [
        FailureClass::NotLinearizable,
        FailureClass::TornSnapshot,
        FailureClass::RevisionOrder,
        FailureClass::SnapshotNotAtVersion,
    ];
    assert_compound_caught::<false>(Bug::EntryReleasesLock, &classes);
    assert_compound_caught::<true>(Bug::EntryReleasesLock, &classes);
}

#[test]
fn a_get_or_insert_with_that_runs_make_outside_the_lock_is_caught() {
    let classes = [FailureClass::ClosureRuns, FailureClass::NotLinearizable];
    assert_compound_caught::<false>(Bug::MakeOutsideLock, &classes);
    assert_compound_caught::<true>(Bug::MakeOutsideLock, &classes);
}

#[test]
fn compare_and_remove_that_ignores_the_revision_is_caught() {
    assert_compound_caught::<true>(
        Bug::CompareAndRemoveIgnoresRevision,
        &[FailureClass::NotLinearizable],
    );
}

#[test]
fn non_atomic_load_or_store_is_caught() {
    assert_caught::<false>(Bug::NonAtomicLoadOrStore, &[FailureClass::NotLinearizable]);
    assert_caught::<true>(
        Bug::NonAtomicLoadOrStore,
        &[
            FailureClass::NotLinearizable,
            FailureClass::SnapshotNotAtVersion,
            FailureClass::RevisionOrder,
        ],
    );
}

#[test]
fn revision_taken_outside_the_shard_lock_is_caught() {
    assert_caught::<true>(
        Bug::RevisionOutsideLock,
        &[
            FailureClass::NotLinearizable,
            FailureClass::SnapshotNotAtVersion,
            FailureClass::RevisionOrder,
        ],
    );
}

#[test]
fn torn_snapshot_is_caught() {
    assert_caught::<false>(
        Bug::TornSnapshot,
        &[FailureClass::TornSnapshot, FailureClass::NotLinearizable],
    );
    assert_caught::<true>(
        Bug::TornSnapshot,
        &[
            FailureClass::SnapshotNotAtVersion,
            FailureClass::RevisionOrder,
            FailureClass::TornSnapshot,
            FailureClass::NotLinearizable,
        ],
    );
}

#[test]
fn stale_read_is_caught() {
    assert_caught::<false>(Bug::StaleRead, &[FailureClass::NotLinearizable]);
    assert_caught::<true>(Bug::StaleRead, &[FailureClass::NotLinearizable]);
}

#[test]
fn update_that_loses_a_concurrent_write_is_caught() {
    assert_caught::<false>(Bug::LostUpdate, &[FailureClass::NotLinearizable]);
    assert_caught::<true>(
        Bug::LostUpdate,
        &[
            FailureClass::NotLinearizable,
            FailureClass::SnapshotNotAtVersion,
            FailureClass::RevisionOrder,
        ],
    );
}
