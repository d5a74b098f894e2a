//! Multi-threaded behaviour of the engine. Every test is seeded: it prints its seed, and
//! `MAPSAFE_SEED=<seed> cargo test -p mapsafe-core --test concurrency <name>` replays the same
//! per-thread operation streams (the interleaving is up to the OS).

use std::collections::HashMap;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use mapsafe_core::{LoadOrStore, Plain, ShardedMap, VersionedMode};

/// splitmix64: small, seedable, good enough to pick keys.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn for_thread(seed: u64, thread: u64) -> Rng {
        let mut rng = Rng(seed ^ thread.wrapping_mul(0xd1b5_4a32_d192_ed03));
        rng.next();
        rng
    }
}

fn seed(test: &str) -> u64 {
    let seed = std::env::var("MAPSAFE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    println!("{test}: seed {seed} (replay with MAPSAFE_SEED={seed})");
    seed
}

const THREADS: u64 = 4;

#[test]
fn disjoint_keys_from_many_threads_all_land() {
    let seed = seed("disjoint_keys_from_many_threads_all_land");
    let map: ShardedMap<(u64, u64)> = ShardedMap::with_shards(8);
    let per_thread = 3000;
    let barrier = Barrier::new(THREADS as usize);
    let expected: Vec<HashMap<u64, u64>> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (map, barrier) = (&map, &barrier);
                s.spawn(move || {
                    let mut rng = Rng::for_thread(seed, t);
                    let mut mine = HashMap::new();
                    barrier.wait();
                    for _ in 0..per_thread {
                        let key = t * 1_000_000 + rng.below(500);
                        match rng.below(4) {
                            0 => {
                                assert_eq!(map.remove(&key).map(|r| r.1), mine.remove(&key));
                            }
                            1 => {
                                let seen = map.update(&key, |v| {
                                    *v += 1;
                                    *v
                                });
                                let model = mine.get_mut(&key).map(|v| {
                                    *v += 1;
                                    *v
                                });
                                assert_eq!(seen, model, "seed {seed}");
                            }
                            _ => {
                                let value = rng.next();
                                let old = map.insert((key, value)).map(|r| r.1);
                                assert_eq!(old, mine.insert(key, value), "seed {seed}");
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total: usize = expected.iter().map(HashMap::len).sum();
    assert_eq!(map.len(), total, "seed {seed}");
    for mine in &expected {
        for (key, value) in mine {
            assert_eq!(map.get(key), Some((*key, *value)), "seed {seed}");
        }
    }
    map.verify_consistency().unwrap();
}

#[test]
fn overlapping_updates_are_never_lost() {
    let seed = seed("overlapping_updates_are_never_lost");
    let keys = 16;
    let map: ShardedMap<(u64, u64)> = ShardedMap::with_shards(4);
    for key in 0..keys {
        let _ = map.insert((key, 0));
    }
    let barrier = Barrier::new(THREADS as usize);
    let mut expected = vec![0_u64; keys as usize];
    thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (map, barrier) = (&map, &barrier);
                s.spawn(move || {
                    let mut rng = Rng::for_thread(seed, t);
                    let mut added = vec![0_u64; keys as usize];
                    barrier.wait();
                    for _ in 0..20_000 {
                        let key = rng.below(keys);
                        let amount = 1 + rng.below(3);
                        map.update(&key, |v| *v += amount).unwrap();
                        added[key as usize] += amount;
                    }
                    added
                })
            })
            .collect();
        for handle in handles {
            for (total, added) in expected.iter_mut().zip(handle.join().unwrap()) {
                *total += added;
            }
        }
    });
    for key in 0..keys {
        assert_eq!(
            map.get(&key).unwrap().1,
            expected[key as usize],
            "key {key}, seed {seed}"
        );
    }
}

#[test]
fn load_or_store_race_stores_each_key_exactly_once() {
    let seed = seed("load_or_store_race_stores_each_key_exactly_once");
    let keys = 2000;
    let map: ShardedMap<(u64, u64)> = ShardedMap::with_shards(16);
    let barrier = Barrier::new(THREADS as usize);
    let winners: Vec<Vec<u64>> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (map, barrier) = (&map, &barrier);
                s.spawn(move || {
                    let mut rng = Rng::for_thread(seed, t);
                    let mut order: Vec<u64> = (0..keys).collect();
                    for i in (1..order.len()).rev() {
                        order.swap(i, rng.below(i as u64 + 1) as usize);
                    }
                    barrier.wait();
                    let mut won = Vec::new();
                    for key in order {
                        match map.load_or_store((key, t)) {
                            LoadOrStore::Stored => won.push(key),
                            LoadOrStore::Loaded { current, offered } => {
                                assert_eq!(offered, (key, t));
                                assert_eq!(current.0, key);
                                assert_ne!(current.1, t, "loaded our own record: seed {seed}");
                            }
                        }
                    }
                    won
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let stored: usize = winners.iter().map(Vec::len).sum();
    assert_eq!(
        stored, keys as usize,
        "every key stored exactly once, seed {seed}"
    );
    for (t, won) in winners.iter().enumerate() {
        for key in won {
            assert_eq!(map.get(key), Some((*key, t as u64)), "seed {seed}");
        }
    }
}

#[test]
fn compare_and_swap_retry_loses_no_increment() {
    let seed = seed("compare_and_swap_retry_loses_no_increment");
    let keys = 8;
    let map: ShardedMap<(u64, u64), VersionedMode> = ShardedMap::with_shards(4);
    let barrier = Barrier::new(THREADS as usize);
    let per_thread = 20_000;
    let conflicts: u64 = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (map, barrier) = (&map, &barrier);
                s.spawn(move || {
                    let mut rng = Rng::for_thread(seed, t);
                    let mut conflicts = 0;
                    barrier.wait();
                    for _ in 0..per_thread {
                        let key = rng.below(keys);
                        loop {
                            let (expected, value) = map
                                .get_versioned(&key)
                                .map_or((0, 0), |v| (v.version, v.value.1));
                            match map.compare_and_swap(expected, (key, value + 1)) {
                                Ok(revision) => {
                                    assert!(revision > expected, "seed {seed}");
                                    break;
                                }
                                Err(conflict) => {
                                    assert_ne!(conflict.actual, expected, "seed {seed}");
                                    conflicts += 1;
                                }
                            }
                        }
                    }
                    conflicts
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let total: u64 = (0..keys).map(|k| map.get(&k).map_or(0, |r| r.1)).sum();
    assert_eq!(total, THREADS * per_thread, "seed {seed}");
    // Every successful CAS took exactly one revision; conflicts took none.
    assert_eq!(map.version(), THREADS * per_thread, "seed {seed}");
    println!("{conflicts} conflicts retried");
    map.verify_consistency().unwrap();
}

/// Writers move one unit at a time from one account to another (take, then give), so at any
/// instant the total is between `TOTAL - writers` and `TOTAL`. A snapshot that copied one shard
/// before a move and another after it can show `TOTAL + 1`; one that is point-in-time cannot.
#[test]
fn snapshot_is_point_in_time_under_writers() {
    let seed = seed("snapshot_is_point_in_time_under_writers");
    const ACCOUNTS: u64 = 64;
    const TOTAL: u64 = ACCOUNTS * 1000;
    let writers = 3;
    let map: ShardedMap<(u64, u64), Plain> = ShardedMap::with_shards(16);
    for account in 0..ACCOUNTS {
        let _ = map.insert((account, 1000));
    }
    let done = AtomicBool::new(false);
    let moves = AtomicU64::new(0);
    let snapshots = thread::scope(|s| {
        for t in 0..writers {
            let (map, done, moves) = (&map, &done, &moves);
            s.spawn(move || {
                let mut rng = Rng::for_thread(seed, t);
                while !done.load(Ordering::Relaxed) {
                    let from = rng.below(ACCOUNTS);
                    let to = (from + 1 + rng.below(ACCOUNTS - 1)) % ACCOUNTS;
                    let took = map
                        .update(&from, |balance| {
                            let took = *balance > 0;
                            *balance -= u64::from(took);
                            took
                        })
                        .unwrap();
                    if took {
                        map.update(&to, |balance| *balance += 1).unwrap();
                    }
                    moves.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // Keep taking snapshots until the writers have really run meanwhile.
        let mut taken = 0;
        while taken < 300 || moves.load(Ordering::Relaxed) < 20_000 {
            let snapshot = map.snapshot();
            assert_eq!(snapshot.len(), ACCOUNTS as usize, "seed {seed}");
            let sum: u64 = snapshot.iter().map(|(_, balance)| balance).sum();
            assert!(
                (TOTAL - writers..=TOTAL).contains(&sum),
                "torn snapshot: total {sum}, expected {}..={TOTAL}; seed {seed}",
                TOTAL - writers
            );
            taken += 1;
        }
        done.store(true, Ordering::Relaxed);
        taken
    });
    assert!(snapshots >= 300);
    println!(
        "{snapshots} snapshots during {} moves",
        moves.load(Ordering::Relaxed)
    );
    let sum: u64 = map.snapshot().iter().map(|r| r.1).sum();
    assert_eq!(sum, TOTAL, "at rest the total is exact; seed {seed}");
}

/// On a versioned map a snapshot must hold exactly the writes with revision ≤ its version.
/// Writers use `compare_and_swap`, which reports each write's revision, and log them; afterwards
/// every snapshot is compared with the state replayed from the log up to its version.
#[test]
fn versioned_snapshot_holds_exactly_the_writes_up_to_its_version() {
    let seed = seed("versioned_snapshot_holds_exactly_the_writes_up_to_its_version");
    const KEYS: u64 = 48;
    let writers = 3;
    let map: ShardedMap<(u64, u64), VersionedMode> = ShardedMap::with_shards(8);
    let done = AtomicBool::new(false);
    let (logs, snapshots) = thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|t| {
                let (map, done) = (&map, &done);
                s.spawn(move || {
                    let mut rng = Rng::for_thread(seed, t);
                    let mut log = Vec::new();
                    let mut nonce = 0;
                    while !done.load(Ordering::Relaxed) {
                        let key = rng.below(KEYS);
                        let expected = map.get_versioned(&key).map_or(0, |v| v.version);
                        nonce += 1;
                        let value = (t << 32) | nonce;
                        if let Ok(revision) = map.compare_and_swap(expected, (key, value)) {
                            log.push((revision, key, value));
                        }
                    }
                    log
                })
            })
            .collect();
        // Keep taking snapshots until they have landed between many different writes.
        let started = std::time::Instant::now();
        let mut snapshots: Vec<_> = Vec::new();
        let mut versions = std::collections::HashSet::new();
        while snapshots.len() < 200 || versions.len() < 100 {
            let snapshot = map.snapshot();
            versions.insert(snapshot.version());
            snapshots.push(snapshot);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "writers made no progress; seed {seed}"
            );
        }
        done.store(true, Ordering::Relaxed);
        let logs: Vec<_> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        (logs, snapshots)
    });
    let mut writes = logs;
    writes.sort_unstable();
    assert!(
        writes.windows(2).all(|w| w[0].0 < w[1].0),
        "revisions are unique; seed {seed}"
    );
    // Replay the writes in revision order, comparing each snapshot when the replay reaches its
    // version.
    let mut snapshots = snapshots;
    snapshots.sort_by_key(|s| s.version());
    let mut expected = HashMap::new();
    let mut replayed = writes.iter().peekable();
    for snapshot in &snapshots {
        let version = snapshot.version();
        while let Some(&(_, key, value)) = replayed.next_if(|w| w.0 <= version) {
            expected.insert(key, value);
        }
        let actual: HashMap<u64, u64> = snapshot.iter().copied().collect();
        assert_eq!(
            actual, expected,
            "snapshot at version {version} differs from the writes up to it; seed {seed}"
        );
        assert!(snapshot.iter_versioned().all(|v| v.version <= version));
    }
    let distinct: std::collections::HashSet<u64> = snapshots.iter().map(|s| s.version()).collect();
    println!(
        "{} writes, {} snapshots at {} distinct versions",
        writes.len(),
        snapshots.len(),
        distinct.len()
    );
}

#[test]
fn verify_raises_no_false_alarm_under_writers() {
    let seed = seed("verify_raises_no_false_alarm_under_writers");
    let map: ShardedMap<(u64, u64), VersionedMode> = ShardedMap::with_shards(8);
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        for t in 0..2 {
            let (map, done) = (&map, &done);
            s.spawn(move || {
                let mut rng = Rng::for_thread(seed, t);
                while !done.load(Ordering::Relaxed) {
                    let key = rng.below(2000);
                    match rng.below(5) {
                        0 => drop(map.remove(&key)),
                        1 => map.retain(|r| r.0 % 97 != key % 97),
                        2 => drop(map.update(&key, |v| *v += 1)),
                        _ => drop(map.insert((key, key))),
                    }
                }
            });
        }
        for _ in 0..100 {
            if let Err(err) = map.verify_consistency() {
                panic!("false alarm under writers: {err}; seed {seed}");
            }
        }
        done.store(true, Ordering::Relaxed);
    });
}

/// Writers only insert fresh keys into a versioned map, so at every instant the number of
/// records equals the revision. A verification whose cut is not one instant (a shard checked
/// before some writes and another after) reports a count that differs from its version.
#[test]
fn verify_checks_a_point_in_time_cut_under_writers() {
    let seed = seed("verify_checks_a_point_in_time_cut_under_writers");
    let map: ShardedMap<(u64, u64), VersionedMode> = ShardedMap::with_shards(8);
    let writing = AtomicU64::new(2);
    let next_key = AtomicU64::new(0);
    let checks = thread::scope(|s| {
        for _ in 0..2 {
            let (map, writing, next_key) = (&map, &writing, &next_key);
            s.spawn(move || {
                for _ in 0..20_000 {
                    let key = next_key.fetch_add(1, Ordering::Relaxed);
                    assert!(map.insert((key, seed)).is_none());
                }
                writing.fetch_sub(1, Ordering::Relaxed);
            });
        }
        let mut checks = Vec::new();
        while writing.load(Ordering::Relaxed) > 0 {
            let report = map.verify_consistency().unwrap();
            checks.push((report.entries as u64, report.version.unwrap()));
        }
        checks
    });
    for &(entries, version) in &checks {
        assert_eq!(entries, version, "the cut is not one instant; seed {seed}");
    }
    let mid_write = checks
        .iter()
        .filter(|(_, v)| (1..40_000).contains(v))
        .count();
    println!(
        "{} verifications, {mid_write} while writers ran",
        checks.len()
    );
    assert_eq!(map.verify_consistency().unwrap().entries, 40_000);
}

#[test]
fn len_never_adds_up_part_of_concurrent_transactions() {
    // Two threads commit transactions at once, each moving one record from one shard to
    // another (the size of the map never changes); `len()` must never see one half of a move.
    // Two commits that publish their shards' sizes at the same time must both finish before a
    // reader trusts its sum.
    let seed = seed("len_never_adds_up_part_of_concurrent_transactions");
    let map: ShardedMap<(u64, u64)> = ShardedMap::with_shards(8);
    let keys: Vec<u64> = (0..64).collect();
    for &k in &keys {
        let _ = map.insert((k, 0));
    }
    let total = map.len();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let torn = std::sync::atomic::AtomicU64::new(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (map, stop) = (&map, &stop);
            s.spawn(move || {
                let mut rng = Rng::for_thread(seed, t);
                // Each mover owns half of the keys (even or odd): it removes one it holds and
                // inserts one it does not, in one transaction.
                let mut held: Vec<u64> = (0..64).filter(|k| k % 2 == t).collect();
                let mut free: Vec<u64> = (1000..1032).map(|k| k * 2 + t).collect();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let i = rng.below(held.len() as u64) as usize;
                    let j = rng.below(free.len() as u64) as usize;
                    let (out, into) = (held[i], free[j]);
                    map.transaction(&[&out, &into], |tx| {
                        let record = tx.remove(&out).expect("held");
                        tx.insert((into, record.1 + 1));
                        Ok::<_, ()>(())
                    })
                    .unwrap();
                    held[i] = into;
                    free[j] = out;
                }
            });
        }
        let (map, stop, torn) = (&map, &stop, &torn);
        s.spawn(move || {
            while std::time::Instant::now() < deadline {
                for _ in 0..1000 {
                    if map.len() != total {
                        torn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    });
    assert_eq!(
        torn.into_inner(),
        0,
        "len() saw part of a transaction (seed {seed})"
    );
    assert_eq!(map.len(), total);
}
