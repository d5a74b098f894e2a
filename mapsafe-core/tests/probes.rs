//! Each runtime probe counts exactly the event it names: every test provokes its events and
//! asserts the counts `stats()` reports.

use std::hash::{BuildHasherDefault, DefaultHasher as SipHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use mapsafe_core::check::Target;
use mapsafe_core::{Plain, Record, ShardedMap, UnprobedPlain, VersionedMode};

type Fixed = BuildHasherDefault<SipHasher>;
type Map = ShardedMap<(u64, u64), Plain, Fixed>;
type Versioned = ShardedMap<(u64, u64), VersionedMode, Fixed>;

#[test]
fn writes_are_counted_by_kind() {
    let map = Map::with_shards(4);
    for k in 0..10 {
        let _ = map.insert((k, k));
    }
    let _ = map.insert((0, 1)); // a replacing insert is an insert
    let _ = map.update(&1, |v| *v += 1);
    let _ = map.update(&99, |v| *v += 1); // absent: no write
    let _ = map.remove(&2);
    let _ = map.remove_if(&3, |_| false); // refused: no write
    map.retain(|&(k, _)| k != 4);
    map.entry(&5, |e| *e.or_insert((5, 0)) += 1); // present: an update
    map.entry(&50, |e| *e.or_insert((50, 0)) += 1); // absent: an insert
    let stats = map.stats();
    assert_eq!(
        (stats.inserts, stats.updates, stats.removes),
        (12, 2, 2),
        "{stats}"
    );
    assert_eq!(stats.len, 9);
    map.clear();
    assert_eq!(map.stats().removes, 11);
}

#[test]
fn get_or_insert_outcomes_are_counted() {
    let map = Map::with_shards(2);
    assert!(map.load_or_store((1, 1)).is_stored());
    assert!(map.load_or_store((1, 2)).is_loaded());
    let _ = map.get_or_insert_with(&1, || (1, 3));
    let _ = map.get_or_insert_with(&2, || (2, 3));
    let stats = map.stats();
    assert_eq!((stats.loads_found, stats.loads_stored), (2, 2), "{stats}");
    assert_eq!(stats.inserts, 2);
}

#[test]
fn compare_and_swap_and_remove_count_successes_and_conflicts() {
    let map = Versioned::with_shards(2);
    let rev = map.compare_and_swap(0, (1, 1)).unwrap();
    assert!(map.compare_and_swap(0, (1, 2)).is_err());
    assert!(map.compare_and_swap(rev + 1, (1, 2)).is_err());
    assert!(map.compare_and_remove(rev + 1, &1).is_err());
    assert!(map.compare_and_remove(0, &7).is_err());
    assert!(map.compare_and_remove(rev, &1).is_ok());
    let stats = map.stats();
    assert_eq!((stats.swaps, stats.conflicts), (2, 4), "{stats}");
}

#[test]
fn transactions_are_counted_committed_or_aborted() {
    let map = Versioned::with_shards(2);
    let _ = map.insert((1, 1));
    let _ = map.transaction(&[&1], |tx| {
        let _ = tx.update(&1, |v| *v += 1);
        Ok::<_, ()>(())
    });
    let _ = map.transaction(&[&1], |_| Err::<(), _>("no"));
    let _ = catch_unwind(AssertUnwindSafe(|| {
        map.transaction(&[&1], |_| -> Result<(), ()> { panic!("boom") })
    }));
    let stats = map.stats();
    assert_eq!(
        (stats.transactions_committed, stats.transactions_aborted),
        (1, 2),
        "{stats}"
    );
    assert_eq!(
        stats.inserts, 2,
        "the committed transaction's write is an insert"
    );
}

#[test]
fn refused_reentrant_calls_are_counted() {
    let map = Map::with_shards(1);
    let _ = map.insert((1, 1));
    for _ in 0..3 {
        let _ = catch_unwind(AssertUnwindSafe(|| map.read(&1, |_| map.get(&1))));
    }
    assert_eq!(map.stats().reentries_refused, 3);
}

#[test]
fn a_lock_that_had_to_be_waited_for_is_counted_on_its_shard() {
    let map = Arc::new(Map::with_shards(4));
    let key = 11;
    let shard = map.shard_of(&key);
    let _ = map.insert((key, 0));
    let inside = Arc::new(Barrier::new(2));
    let holder = {
        let (map, inside) = (map.clone(), inside.clone());
        thread::spawn(move || {
            let _ = map.update(&key, |_| {
                inside.wait();
                thread::sleep(Duration::from_millis(200));
            });
        })
    };
    inside.wait();
    assert_eq!(map.get(&key), Some((key, 0)));
    holder.join().unwrap();
    let stats = map.stats();
    assert_eq!(stats.contended, 1, "{stats}");
    assert_eq!(stats.most_contended_shard, Some((shard, 1)));
}

/// A record whose key's hash can be changed after insertion (a broken `Hash`).
#[derive(Clone, Debug, PartialEq)]
struct Drifting {
    key: DriftKey,
}

#[derive(Clone, Debug)]
struct DriftKey(Arc<AtomicBool>, u64);

impl PartialEq for DriftKey {
    fn eq(&self, other: &Self) -> bool {
        self.1 == other.1
    }
}

impl Eq for DriftKey {}

impl Hash for DriftKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.1, self.0.load(Ordering::Relaxed)).hash(state);
    }
}

impl Record for Drifting {
    type Key = DriftKey;
    type Mut<'a> = ();
    fn key(&self) -> &DriftKey {
        &self.key
    }
    fn as_mut(&mut self) {}
}

#[test]
fn verifications_and_their_failures_are_counted_by_kind() {
    let map: ShardedMap<Drifting, Plain, Fixed> = ShardedMap::with_shards(1);
    let drift = Arc::new(AtomicBool::new(false));
    let _ = map.insert(Drifting {
        key: DriftKey(drift.clone(), 1),
    });
    assert!(map.verify_consistency().is_ok());
    drift.store(true, Ordering::Relaxed);
    assert!(map.verify_consistency().is_err());
    let stats = map.stats();
    assert_eq!(
        (stats.verifications, stats.verification_failures),
        (2, 1),
        "{stats}"
    );
    assert_eq!(stats.violations_by_kind, vec![("Unreachable", 1)]);
    assert!(stats.to_string().contains("1 x Unreachable"), "{stats}");
}

static SLOW: AtomicBool = AtomicBool::new(false);

#[derive(Debug, PartialEq)]
struct Slow(u64);

impl Clone for Slow {
    fn clone(&self) -> Self {
        if SLOW.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(if self.0 == 0 { 300 } else { 50 }));
        }
        Slow(self.0)
    }
}

#[test]
fn passes_and_the_longest_stall_they_caused_are_counted() {
    let map = Arc::new(ShardedMap::<(u64, Slow), Plain, Fixed>::with_shards(2));
    let first = (0..).find(|k| map.shard_of(k) == 0).unwrap();
    let second = (0..).find(|k| map.shard_of(k) == 1).unwrap();
    let _ = map.insert((first, Slow(0)));
    let _ = map.insert((second, Slow(1)));
    assert_eq!(map.stats().longest_pass_stall, Duration::ZERO);
    SLOW.store(true, Ordering::Relaxed);
    let snapshot = {
        let map = map.clone();
        thread::spawn(move || map.snapshot().len())
    };
    // The snapshot is copying shard 0 (300 ms); this writer serves shard 1 first (50 ms).
    thread::sleep(Duration::from_millis(100));
    let _ = map.insert((second, Slow(2)));
    assert_eq!(snapshot.join().unwrap(), 2);
    SLOW.store(false, Ordering::Relaxed);
    let _ = map.verify_consistency();
    let stats = map.stats();
    assert_eq!((stats.snapshots, stats.verifications), (1, 1), "{stats}");
    assert!(
        stats.longest_pass_stall >= Duration::from_millis(50),
        "{stats}"
    );
}

#[test]
fn stats_display_one_topic_a_line() {
    let map = Map::with_shards(2);
    let _ = map.insert((1, 1));
    let text = map.stats().to_string();
    for topic in [
        "size:",
        "writes:",
        "get-or-insert:",
        "compare-and-*:",
        "transactions:",
        "contention:",
        "passes:",
        "safety:",
    ] {
        assert!(text.contains(topic), "{text}");
    }
    assert!(text.contains("1 records in 2 shards"), "{text}");
}

#[test]
fn the_benchmark_only_mode_counts_nothing() {
    let map: ShardedMap<(u64, u64), UnprobedPlain, Fixed> = ShardedMap::with_shards(2);
    let _ = map.insert((1, 1));
    let _ = map.update(&1, |v| *v += 1);
    let stats = map.stats();
    assert_eq!((stats.inserts, stats.updates, stats.len), (0, 0, 1));
}
