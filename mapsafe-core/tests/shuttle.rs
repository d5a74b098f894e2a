//! Schedule exploration of the engine's lock, revision and snapshot protocol under shuttle.
//!
//! Built with `--cfg shuttle` the engine's `parking_lot` locks are shuttle's (the
//! `shuttle-parking_lot` drop-in), so shuttle decides who runs at every lock operation and can
//! drive the interleavings that OS threads rarely produce: a writer slipping between a snapshot's
//! marking and copying phases, two writers racing for one key, and so on. Each scenario runs
//! under the randomized scheduler (seeded) and under PCT (which targets bugs of small depth).
//!
//! ```text
//! RUSTFLAGS="--cfg shuttle" CARGO_TARGET_DIR=target/shuttle cargo test -p mapsafe-core --test shuttle
//! MAPSAFE_SHUTTLE_ITERS=100000 RUSTFLAGS="--cfg shuttle" CARGO_TARGET_DIR=target/shuttle cargo test -p mapsafe-core --release --test shuttle
//! ```
//!
//! `MAPSAFE_SHUTTLE_ITERS` sets the schedules per scheduler and scenario (default 1000),
//! `MAPSAFE_SEED` the random scheduler's seed. A failure prints shuttle's schedule, which
//! `shuttle::replay` reruns exactly.
#![cfg(shuttle)]

use std::hash::{BuildHasherDefault, DefaultHasher as SipHasher};
use std::sync::Arc;

use mapsafe_core::check::Target;
use mapsafe_core::{LoadOrStore, ShardedMap, VersionedMode};
use shuttle::thread;

/// A fixed hasher: the same keys land in the same shards in every schedule, so a failing
/// schedule replays.
type Fixed = BuildHasherDefault<SipHasher>;
type Rec = (u64, u64);
type Map = ShardedMap<Rec, VersionedMode, Fixed>;

fn iterations() -> usize {
    std::env::var("MAPSAFE_SHUTTLE_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

fn seed() -> u64 {
    std::env::var("MAPSAFE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed)
}

/// Runs `scenario` under the seeded random scheduler, then under PCT.
fn explore(name: &str, scenario: fn()) {
    let (iters, seed) = (iterations(), seed());
    println!("{name}: {iters} random schedules (MAPSAFE_SEED={seed}) + {iters} PCT schedules");
    shuttle::check_random_with_seed(scenario, seed, iters);
    shuttle::check_pct(scenario, iters, 3);
}

/// A map with two shards and one key known to be in each.
fn two_shard_map() -> (Arc<Map>, u64, u64) {
    let map = Map::with_shards_capacity_and_hasher(2, 0, Fixed::default());
    let a = (0..).find(|k| Target::shard_of(&map, k) == 0).unwrap();
    let b = (0..).find(|k| Target::shard_of(&map, k) == 1).unwrap();
    (Arc::new(map), a, b)
}

/// What a thread did, with the revision each write got, to replay in revision order.
#[derive(Debug, Clone, Copy)]
enum Write {
    Insert(u64, u64),
    Add(u64, u64),
    Remove(u64),
}

fn replay(
    initial: &[((u64, u64), u64)],
    writes: &[(u64, Write)],
    upto: u64,
) -> Vec<((u64, u64), u64)> {
    let mut state: Vec<((u64, u64), u64)> = initial.to_vec();
    let mut writes: Vec<_> = writes.iter().filter(|(rev, _)| *rev <= upto).collect();
    writes.sort_by_key(|(rev, _)| *rev);
    for &&(rev, write) in &writes {
        match write {
            Write::Insert(k, v) => {
                state.retain(|((key, _), _)| *key != k);
                state.push(((k, v), rev));
            }
            Write::Add(k, n) => {
                let entry = state.iter_mut().find(|((key, _), _)| *key == k).unwrap();
                *entry = ((k, entry.0.1 + n), rev);
            }
            Write::Remove(k) => state.retain(|((key, _), _)| *key != k),
        }
    }
    state.sort();
    state
}

fn snapshot_scenario() {
    let (map, a, b) = two_shard_map();
    let _ = map.insert((a, 0));
    let _ = map.insert((b, 0));
    let initial = vec![((a, 0), 1), ((b, 0), 2)];
    // `Target`'s methods are the engine's own, also returning each write's revision.
    let writer = {
        let map = Arc::clone(&map);
        thread::spawn(move || {
            let r1 = Target::insert(&*map, (a, 1)).1;
            let r2 = Target::insert(&*map, (b, 1)).1;
            let r3 = Target::remove(&*map, &a).unwrap().1;
            vec![
                (r1, Write::Insert(a, 1)),
                (r2, Write::Insert(b, 1)),
                (r3, Write::Remove(a)),
            ]
        })
    };
    let adder = {
        let map = Arc::clone(&map);
        thread::spawn(move || Target::update(&*map, &b, &mut |v: &mut u64| *v += 10).unwrap())
    };
    let snapshot = map.snapshot();
    let mut writes = writer.join().unwrap();
    writes.push((adder.join().unwrap(), Write::Add(b, 10)));
    let mut shown: Vec<((u64, u64), u64)> = snapshot
        .iter_versioned()
        .map(|v| (*v.value, v.version))
        .collect();
    shown.sort();
    let expected = replay(&initial, &writes, snapshot.version());
    assert_eq!(
        shown,
        expected,
        "snapshot at version {} is not the state at that version",
        snapshot.version()
    );
    map.verify_consistency().unwrap();
}

#[test]
fn snapshot_holds_exactly_the_writes_up_to_its_version() {
    explore("snapshot", snapshot_scenario);
}

fn same_key_scenario() {
    let (map, a, _) = two_shard_map();
    let threads: Vec<_> = (1..=3)
        .map(|t| {
            let map = Arc::clone(&map);
            thread::spawn(move || (Target::insert(&*map, (a, t)), t))
        })
        .collect();
    // ((replaced, revision), value written)
    let mut writes: Vec<((Option<Rec>, u64), u64)> =
        threads.into_iter().map(|h| h.join().unwrap()).collect();
    // In revision order, each write replaced exactly the one before it.
    writes.sort_by_key(|((_, rev), _)| *rev);
    let mut before = None;
    for ((replaced, rev), value) in &writes {
        assert_eq!(
            *replaced, before,
            "write @rev {rev} replaced the wrong record: {writes:?}"
        );
        before = Some((a, *value));
    }
    let last = map.get_versioned(&a).unwrap();
    let ((_, newest), value) = writes[2];
    assert_eq!((last.version, last.value), (newest, (a, value)));
    assert_eq!(newest, map.version());
}

#[test]
fn writes_to_one_key_take_effect_in_revision_order() {
    explore("same key", same_key_scenario);
}

fn load_or_store_scenario() {
    let (map, a, _) = two_shard_map();
    let threads: Vec<_> = (1..=3)
        .map(|t| {
            let map = Arc::clone(&map);
            thread::spawn(move || map.load_or_store((a, t)))
        })
        .collect();
    let outcomes: Vec<LoadOrStore<(u64, u64)>> =
        threads.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        outcomes.iter().filter(|o| o.is_stored()).count(),
        1,
        "{outcomes:?}"
    );
    let stored = map.get(&a).unwrap();
    for outcome in &outcomes {
        if let LoadOrStore::Loaded { current, .. } = outcome {
            assert_eq!(*current, stored);
        }
    }
}

#[test]
fn load_or_store_stores_exactly_once() {
    explore("load_or_store", load_or_store_scenario);
}

fn update_scenario() {
    let (map, a, b) = two_shard_map();
    let _ = map.insert((a, 0));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                for _ in 0..2 {
                    map.update(&a, |v| *v += 1).unwrap();
                    let _ = map.insert((b, 7));
                }
            })
        })
        .collect();
    let snapshot = map.snapshot();
    for h in threads {
        h.join().unwrap();
    }
    assert_eq!(map.get(&a), Some((a, 4)), "an update was lost");
    assert_eq!(map.version(), 1 + 8);
    assert!(
        snapshot
            .iter_versioned()
            .all(|v| v.version <= snapshot.version())
    );
    map.verify_consistency().unwrap();
}

#[test]
fn update_never_loses_a_concurrent_update() {
    explore("update", update_scenario);
}

fn cas_scenario() {
    let (map, a, _) = two_shard_map();
    let _ = map.insert((a, 0));
    let threads: Vec<_> = (1..=2)
        .map(|t| {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                let seen = map.get_versioned(&a).unwrap();
                map.compare_and_swap(seen.version, (a, seen.value.1 + t))
                    .ok()
            })
        })
        .collect();
    let wins: Vec<u64> = threads
        .into_iter()
        .filter_map(|h| h.join().unwrap())
        .collect();
    assert!(!wins.is_empty(), "no compare_and_swap succeeded");
    let last = map.get_versioned(&a).unwrap();
    assert_eq!(last.version, *wins.iter().max().unwrap());
    // A second winner must have read the first winner's write: the value only grows.
    if wins.len() == 2 {
        assert_eq!(
            last.value.1, 3,
            "a compare_and_swap overwrote a write it had not seen"
        );
    }
}

#[test]
fn compare_and_swap_never_overwrites_an_unseen_write() {
    explore("compare_and_swap", cas_scenario);
}

fn retain_clear_scenario() {
    let (map, a, b) = two_shard_map();
    for k in [a, b, a + 2, b + 2] {
        let _ = map.insert((k, k));
    }
    let retainer = {
        let map = Arc::clone(&map);
        thread::spawn(move || map.retain(|(k, _)| *k == a || *k == b))
    };
    let writer = {
        let map = Arc::clone(&map);
        thread::spawn(move || {
            let _ = map.insert((b, 100));
            map.clear();
            let _ = map.insert((a, 200));
        })
    };
    let snapshot = map.snapshot();
    retainer.join().unwrap();
    writer.join().unwrap();
    let mut keys: Vec<u64> = snapshot.iter().map(|(k, _)| *k).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), snapshot.len(), "a snapshot showed a key twice");
    assert!(
        snapshot
            .iter_versioned()
            .all(|v| v.version <= snapshot.version())
    );
    assert_eq!(map.get(&a), Some((a, 200)));
    let report = map.verify_consistency().unwrap();
    assert_eq!(report.entries, map.len());
}

#[test]
fn retain_and_clear_race_writers_and_snapshots_safely() {
    explore("retain/clear", retain_clear_scenario);
}

/// A snapshot among closures that call another map: thread A reads `a` on `m1` and inserts
/// into `m2` from its closure, thread B updates `m2` and reads `b` of `m1` from its closure. Alone
/// they cannot deadlock; a snapshot of `m1` must not close a cycle with them (shuttle reports a
/// deadlock as a failure).
fn cross_map_snapshot_scenario() {
    let (m1, a, b) = two_shard_map();
    let m2 = Arc::new(Map::with_shards_capacity_and_hasher(1, 0, Fixed::default()));
    let _ = m1.insert((a, 1));
    let _ = m1.insert((b, 2));
    let _ = m2.insert((7, 7));
    let ta = {
        let (m1, m2) = (Arc::clone(&m1), Arc::clone(&m2));
        thread::spawn(move || m1.read(&b, |_| m2.insert((8, 8))))
    };
    let tb = {
        let (m1, m2) = (Arc::clone(&m1), Arc::clone(&m2));
        thread::spawn(move || m2.update(&7, |_| m1.get(&a)))
    };
    let snapshot = m1.snapshot();
    assert!(ta.join().unwrap().is_some());
    assert_eq!(tb.join().unwrap(), Some(Some((a, 1))));
    assert_eq!(snapshot.len(), 2);
}

#[test]
fn a_snapshot_adds_no_deadlock_to_closures_that_call_other_maps() {
    explore("cross-map snapshot", cross_map_snapshot_scenario);
}

/// A snapshot that starts during a `retain`, with a writer on a shard the `retain` has done:
/// the writer never waits for the rest of the `retain` behind the snapshot (a deadlock-free
/// schedule always exists; shuttle explores them), and the snapshot holds one instant.
fn retain_snapshot_scenario() {
    let (map, a, b) = two_shard_map();
    let _ = map.insert((a, 1));
    let _ = map.insert((b, 1));
    let retainer = {
        let map = Arc::clone(&map);
        thread::spawn(move || map.retain(|&(_, v)| v != 1))
    };
    let writer = {
        let map = Arc::clone(&map);
        thread::spawn(move || Target::insert(&*map, (a, 5)).1)
    };
    let snapshot = map.snapshot();
    retainer.join().unwrap();
    let write = writer.join().unwrap();
    // Revisions 1, 2: the inserts; the retain takes one per removal; the writer one.
    let shown: Vec<_> = snapshot
        .iter_versioned()
        .map(|v| (*v.value, v.version))
        .collect();
    for (record, revision) in &shown {
        assert!(
            *revision <= snapshot.version(),
            "{shown:?} at {}",
            snapshot.version()
        );
        if record.0 == a && record.1 == 5 {
            assert_eq!(*revision, write);
        }
    }
    if write <= snapshot.version() {
        assert!(shown.iter().any(|(r, _)| *r == (a, 5)), "{shown:?}");
    }
    map.verify_consistency().unwrap();
}

#[test]
fn a_snapshot_during_retain_holds_one_instant() {
    explore("retain vs snapshot", retain_snapshot_scenario);
}

/// Transfers as transactions against a snapshot: the snapshot sees each transfer whole or not
/// at all, and its version separates them exactly.
fn transaction_snapshot_scenario() {
    let (map, a, b) = two_shard_map();
    let _ = map.insert((a, 10));
    let _ = map.insert((b, 10));
    let mover = {
        let map = Arc::clone(&map);
        thread::spawn(move || {
            for _ in 0..2 {
                let moved: Result<(), ()> = map.transaction(&[&a, &b], |tx| {
                    let _ = tx.update(&a, |v| *v -= 1);
                    let _ = tx.update(&b, |v| *v += 1);
                    Ok(())
                });
                moved.unwrap();
            }
        })
    };
    let snapshot = map.snapshot();
    mover.join().unwrap();
    let total: u64 = snapshot.iter().map(|r| r.1).sum();
    assert_eq!(total, 20, "a transfer seen half done: {snapshot:?}");
    // Revisions 3..=4 and 5..=6 are the two transfers: the version never splits one.
    assert!(matches!(snapshot.version(), 2 | 4 | 6), "{snapshot:?}");
    assert_eq!(map.len(), 2);
}

#[test]
fn a_snapshot_never_sees_part_of_a_transaction() {
    explore("transaction vs snapshot", transaction_snapshot_scenario);
}

/// Two transactions over overlapping keys, one locking them in the other's reverse order of
/// declaration: both commit, serially, and no deadlock is possible.
fn transaction_transaction_scenario() {
    let (map, a, b) = two_shard_map();
    let _ = map.insert((a, 0));
    let _ = map.insert((b, 0));
    let one = {
        let map = Arc::clone(&map);
        thread::spawn(move || {
            map.transaction(&[&a, &b], |tx| {
                let seen = tx.get(&b).unwrap().1;
                let _ = tx.update(&a, |v| *v = seen + 1);
                let _ = tx.update(&b, |v| *v += 1);
                Ok::<_, ()>(seen)
            })
        })
    };
    let two = {
        let map = Arc::clone(&map);
        thread::spawn(move || {
            map.transaction(&[&b, &a], |tx| {
                let seen = tx.get(&a).unwrap().1;
                let _ = tx.update(&b, |v| *v += 10);
                let _ = tx.update(&a, |v| *v = seen + 10);
                Ok::<_, ()>(seen)
            })
        })
    };
    let (one, two) = (one.join().unwrap().unwrap(), two.join().unwrap().unwrap());
    let (va, vb) = (map.get(&a).unwrap().1, map.get(&b).unwrap().1);
    assert_eq!(vb, 11, "both transactions committed");
    // Serializable: exactly one of them ran first and the other saw its writes.
    assert!(
        (one == 0 && two == 1 && va == 11) || (two == 0 && one == 10 && va == 11),
        "one saw {one}, two saw {two}, a = {va}"
    );
}

#[test]
fn overlapping_transactions_serialize_without_deadlock() {
    explore(
        "transaction vs transaction",
        transaction_transaction_scenario,
    );
}

/// The exploration can fail: a get-or-insert built from a read check and a later write, with
/// the same (shuttle-controlled) locks the engine uses, is caught.
#[test]
#[should_panic(expected = "stored twice")]
fn exploration_finds_a_non_atomic_get_or_insert() {
    fn broken() {
        let slot = Arc::new(shuttle_parking_lot::RwLock::new(None::<u64>));
        let threads: Vec<_> = (1..=2)
            .map(|t| {
                let slot = Arc::clone(&slot);
                thread::spawn(move || {
                    if slot.read().is_some() {
                        return false;
                    }
                    *slot.write() = Some(t);
                    true
                })
            })
            .collect();
        let stored = threads
            .into_iter()
            .filter(|_| true)
            .map(|h| h.join().unwrap())
            .filter(|s| *s)
            .count();
        assert_eq!(stored, 1, "stored twice");
    }
    shuttle::check_random_with_seed(broken, seed(), iterations());
}
