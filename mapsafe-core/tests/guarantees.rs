//! The guarantees under faults: no deadlock a pass adds, bounded stalls, and faults that stay
//! with their cause. Each test reproduces a scenario that once broke a promise, with nothing but
//! the public API, and runs under a deadline so a regression fails instead of hanging CI.

use std::hash::{BuildHasherDefault, DefaultHasher as SipHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use mapsafe_core::check::Target;
use mapsafe_core::{Plain, ShardedMap, VersionedMode};

const DEADLINE: Duration = Duration::from_secs(20);

/// Runs `body` on its own thread and returns its result, or fails the test if it has not
/// finished within the deadline (a deadlock).
fn within_deadline<T: Send + 'static>(what: &str, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, wait) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(catch_unwind(AssertUnwindSafe(body)));
    });
    match wait.recv_timeout(DEADLINE) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(_) => panic!("{what}: still running after {DEADLINE:?}: a deadlock"),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

type Fixed = BuildHasherDefault<SipHasher>;
type Map<M = Plain> = ShardedMap<(u64, u64), M, Fixed>;

/// `n` keys that live in shard `shard` of `map`.
fn keys_in_shard<T: Target<Record = (u64, u64)>>(map: &T, shard: usize, n: usize) -> Vec<u64> {
    (0..).filter(|k| map.shard_of(k) == shard).take(n).collect()
}

/// A snapshot used to write-lock shard 0 and then wait for shard 1 while holding it. With a read
/// closure on shard 1 that calls a second map, and a closure of that second map calling `get` on
/// shard 0, the three threads waited for each other forever.
#[test]
fn a_snapshot_adds_no_deadlock_to_closures_that_call_other_maps() {
    within_deadline("snapshot among cross-map closures", || {
        let m1 = Arc::new(Map::<Plain>::with_shards(2));
        let m2 = Arc::new(Map::<Plain>::with_shards(1));
        let k0 = keys_in_shard(&*m1, 0, 1)[0];
        let k1 = keys_in_shard(&*m1, 1, 1)[0];
        let _ = m1.insert((k0, 0));
        let _ = m1.insert((k1, 1));
        let _ = m2.insert((7, 7));
        let a_in = Arc::new(AtomicBool::new(false));
        let b_in = Arc::new(AtomicBool::new(false));
        let spin = |flag: &AtomicBool| {
            while !flag.load(Ordering::Acquire) {
                thread::yield_now();
            }
        };

        let a = {
            let (m1, m2, a_in, b_in) = (m1.clone(), m2.clone(), a_in.clone(), b_in.clone());
            thread::spawn(move || {
                m1.read(&k1, |_| {
                    a_in.store(true, Ordering::Release);
                    spin(&b_in);
                    // Give the snapshot time to start waiting on this shard.
                    thread::sleep(Duration::from_millis(150));
                    let _ = m2.insert((8, 8));
                })
            })
        };
        spin(&a_in);
        let b = {
            let (m1, m2, b_in) = (m1.clone(), m2.clone(), b_in.clone());
            thread::spawn(move || {
                m2.update(&7, |_| {
                    b_in.store(true, Ordering::Release);
                    thread::sleep(Duration::from_millis(100));
                    m1.get(&k0)
                })
            })
        };
        spin(&b_in);
        let c = {
            let m1 = m1.clone();
            thread::spawn(move || m1.snapshot().len())
        };
        assert_eq!(a.join().unwrap(), Some(()));
        assert_eq!(b.join().unwrap(), Some(Some((k0, 0))));
        assert_eq!(c.join().unwrap(), 2);
    });
}

/// A snapshot that started during a slow `retain` used to end up holding every shard the
/// `retain` had finished, so a `get` on shard 0 waited for the rest of the `retain`.
#[test]
fn a_snapshot_during_a_slow_retain_does_not_stall_other_shards() {
    let (waited, per_shard) = within_deadline("get during retain and snapshot", || {
        const SHARDS: usize = 8;
        const PER_SHARD: usize = 10;
        const SLOW: Duration = Duration::from_millis(5);
        let map = Arc::new(Map::<Plain>::with_shards(SHARDS));
        for shard in 0..SHARDS {
            for k in keys_in_shard(&*map, shard, PER_SHARD) {
                let _ = map.insert((k, 0));
            }
        }
        let probe = keys_in_shard(&*map, 0, 1)[0];
        let retain = {
            let map = map.clone();
            thread::spawn(move || {
                map.retain(|_| {
                    thread::sleep(SLOW);
                    true
                })
            })
        };
        // Let the retain get past shard 0, then start a snapshot behind it.
        thread::sleep(SLOW * (PER_SHARD as u32 * 2));
        let snapshot = {
            let map = map.clone();
            thread::spawn(move || map.snapshot().len())
        };
        thread::sleep(SLOW * (PER_SHARD as u32));
        let start = Instant::now();
        let _ = map.insert((probe, 1));
        let waited = start.elapsed();
        retain.join().unwrap();
        assert_eq!(snapshot.join().unwrap(), SHARDS * PER_SHARD);
        (waited, SLOW * PER_SHARD as u32)
    });
    // The retain still has about five shards to go when the insert is issued: waiting for all
    // of them (the old behaviour) takes at least 4 shards' worth.
    assert!(
        waited < per_shard * 3,
        "an insert on a shard the retain had finished waited {waited:?} \
         (one shard's share of the retain is {per_shard:?})"
    );
}

thread_local! {
    static PANIC_ON_HASH: std::cell::Cell<u64> = const { std::cell::Cell::new(u64::MAX) };
}

/// A key whose `Hash` panics for one value while armed (on this thread): a broken `Hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Touchy(u64);

impl Hash for Touchy {
    fn hash<H: Hasher>(&self, state: &mut H) {
        if PANIC_ON_HASH.get() == self.0 {
            panic!("Touchy({}) refuses to hash", self.0);
        }
        self.0.hash(state);
    }
}

/// Hashes a `u64` to itself, so consecutive keys fill consecutive slots and removals leave
/// tombstones (hashbrown marks a freed slot deleted, not empty, inside a full run).
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type TouchyMap<M> = ShardedMap<(Touchy, u64), M, BuildHasherDefault<Identity>>;

/// A one-shard map with ten records, whose table is full of tombstones: the next write that
/// needs room rehashes it in place.
fn ten<M: mapsafe_core::Mode>() -> TouchyMap<M> {
    let map = TouchyMap::<M>::with_shards_capacity_and_hasher(1, 112, Default::default());
    for k in 0..112 {
        let _ = map.insert((Touchy(k), k));
    }
    for k in 10..112 {
        let _ = map.remove(&Touchy(k));
    }
    map
}

/// Runs `op` many times with record 3's `Hash` armed to panic, between inserts and removes of
/// other keys that fill the table with tombstones, so some `op` runs when the table must
/// rehash in place.
fn churn<M: mapsafe_core::Mode>(map: &TouchyMap<M>, op: impl Fn(&TouchyMap<M>, u64)) {
    for i in 0..500 {
        PANIC_ON_HASH.set(3);
        let _ = catch_unwind(AssertUnwindSafe(|| op(map, i)));
        PANIC_ON_HASH.set(u64::MAX);
        let _ = map.insert((Touchy(1000 + i), i));
        let _ = map.remove(&Touchy(1000 + i));
    }
}

fn assert_survivors<M: mapsafe_core::Mode>(map: &TouchyMap<M>, what: &str) {
    for k in 0..10 {
        assert_eq!(
            map.read(&Touchy(k), |r| r.1),
            Some(k),
            "{what}: record {k} was lost when a key's Hash panicked in a rehash"
        );
    }
    map.verify_consistency()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

fn hash_panic_scenarios<M: mapsafe_core::Mode>() {
    let map = ten::<M>();
    churn(&map, |m, i| {
        let _ = m.insert((Touchy(5000 + i), i));
        let _ = m.remove(&Touchy(5000 + i));
    });
    assert_survivors(&map, "insert of a new key");
    let map = ten::<M>();
    churn(&map, |m, _| {
        let _ = m.load_or_store((Touchy(1), 1));
    });
    assert_survivors(&map, "load_or_store that only loads");
}

/// hashbrown rehashes a table in place when tombstones have used up its spare room; a `Hash` that
/// panicked there made hashbrown drop every record it had not rehashed yet.
#[test]
fn a_panicking_hash_never_loses_other_records() {
    hash_panic_scenarios::<Plain>();
    hash_panic_scenarios::<VersionedMode>();
}

#[test]
fn a_conflicting_compare_and_swap_with_a_panicking_hash_loses_nothing() {
    let map = ten::<VersionedMode>();
    churn(&map, |m, _| {
        let _ = m.compare_and_swap(99, (Touchy(1), 1));
    });
    assert_survivors(&map, "conflicting compare_and_swap");
}

static SLOW_CLONE: AtomicU64 = AtomicU64::new(u64::MAX);
static BAD_CLONE: AtomicU64 = AtomicU64::new(u64::MAX);

/// A value whose `Clone` is slow or panics for chosen keys.
#[derive(Debug, PartialEq)]
struct Fragile(u64);

impl Clone for Fragile {
    fn clone(&self) -> Self {
        if SLOW_CLONE.load(Ordering::Relaxed) == self.0 {
            thread::sleep(Duration::from_millis(300));
        }
        if BAD_CLONE.load(Ordering::Relaxed) == self.0 {
            panic!("Fragile({}) cannot be cloned", self.0);
        }
        Fragile(self.0)
    }
}

/// A writer that reached a shard a snapshot had not copied yet copied it on the snapshot's
/// behalf; a record whose `Clone` panicked there made the writer's own `remove` panic.
#[test]
fn a_snapshot_whose_clone_panics_fails_the_snapshot_not_the_writer() {
    within_deadline("writer serving a failing snapshot", || {
        let map = Arc::new(ShardedMap::<(u64, Fragile), Plain, Fixed>::with_shards(2));
        let slow = (0..).find(|k| map.shard_of(k) == 0).unwrap();
        let bad: Vec<u64> = (0..).filter(|k| map.shard_of(k) == 1).take(2).collect();
        for k in [slow, bad[0], bad[1]] {
            let _ = map.insert((k, Fragile(k)));
        }
        SLOW_CLONE.store(slow, Ordering::Relaxed);
        BAD_CLONE.store(bad[0], Ordering::Relaxed);
        let snapshot = {
            let map = map.clone();
            thread::spawn(move || map.snapshot().len())
        };
        // The snapshot is busy copying shard 0; this writer reaches shard 1 first.
        thread::sleep(Duration::from_millis(100));
        let removed = catch_unwind(AssertUnwindSafe(|| map.remove(&bad[1])));
        let snapshot = snapshot.join();
        SLOW_CLONE.store(u64::MAX, Ordering::Relaxed);
        BAD_CLONE.store(u64::MAX, Ordering::Relaxed);
        let removed = removed.unwrap_or_else(|p| {
            panic!(
                "remove panicked because of the snapshot's Clone: {}",
                panic_message(&*p)
            )
        });
        assert_eq!(removed.map(|r| r.0), Some(bad[1]));
        let failure = snapshot.expect_err("the snapshot should fail with the Clone's panic");
        assert!(
            panic_message(&*failure).contains("cannot be cloned"),
            "{}",
            panic_message(&*failure)
        );
        assert_eq!(map.len(), 2);
        map.verify_consistency().unwrap();
        // The map takes snapshots again.
        assert_eq!(map.snapshot().len(), 2);
    });
}

type DropMap = ShardedMap<(u64, Reentrant), VersionedMode, Fixed>;

static DROP_MAP: OnceLock<Arc<DropMap>> = OnceLock::new();

/// A value whose `Drop` (when armed) looks a key up in the map it lives in.
#[derive(Debug, Clone, PartialEq)]
struct Reentrant {
    armed: bool,
}

impl Drop for Reentrant {
    fn drop(&mut self) {
        if self.armed
            && let Some(map) = DROP_MAP.get()
        {
            let _ = map.contains_key(&0);
        }
    }
}

/// `compare_and_swap` dropped the record it replaced while holding the shard's write lock, so
/// a `Drop` that called the same map hung.
#[test]
fn a_replaced_record_is_dropped_after_the_lock_is_released() {
    within_deadline("Drop that calls its own map", || {
        let map = DROP_MAP
            .get_or_init(|| Arc::new(DropMap::with_shards(1)))
            .clone();
        let rev = map
            .compare_and_swap(0, (0, Reentrant { armed: true }))
            .unwrap();
        let rev = map
            .compare_and_swap(rev, (0, Reentrant { armed: true }))
            .expect("the swap should succeed");
        let _ = map.insert((1, Reentrant { armed: true }));
        let _ = map.insert((1, Reentrant { armed: false }));
        map.retain(|r| r.0 != 0);
        let _ = map.insert((0, Reentrant { armed: true }));
        map.clear();
        assert!(rev > 0 && map.is_empty());
    });
}

type CloneMap = ShardedMap<(u64, Recursive), Plain, Fixed>;

static CLONE_MAP: OnceLock<Arc<CloneMap>> = OnceLock::new();

/// A value whose `Clone` writes to the map it lives in.
#[derive(Debug, PartialEq)]
struct Recursive;

impl Clone for Recursive {
    fn clone(&self) -> Self {
        if let Some(map) = CLONE_MAP.get() {
            let _ = map.insert((1, Recursive));
        }
        Recursive
    }
}

/// User code that runs under a shard lock (here a record's `Clone` inside `get`) and calls the
/// same map must panic with mapsafe's message, never hang.
#[test]
fn user_code_under_a_lock_that_calls_its_map_panics_instead_of_hanging() {
    let message = within_deadline("Clone that calls its own map", || {
        let map = CLONE_MAP
            .get_or_init(|| Arc::new(CloneMap::with_shards(1)))
            .clone();
        let _ = map.insert((0, Recursive));
        let outcome = catch_unwind(AssertUnwindSafe(|| map.get(&0)));
        let message = panic_message(&*outcome.expect_err("get should panic"));
        // The map is still usable.
        assert_eq!(map.len(), 1);
        map.verify_consistency().unwrap();
        message
    });
    assert!(
        message.contains("`insert`") && message.contains("`get`"),
        "{message}"
    );
}

/// A re-entrancy panic points at the user's line (the engine's methods are `#[track_caller]`),
/// not at mapsafe's source.
#[test]
fn a_reentrant_call_panics_at_the_callers_line() {
    let map = Map::<Plain>::with_shards(1);
    let _ = map.insert((1, 1));
    let (tx, rx) = mpsc::channel();
    let previous = std::panic::take_hook();
    // The hook is process-wide and other tests panic on purpose: listen to this thread only.
    let me = thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if thread::current().id() == me
            && let Some(location) = info.location()
        {
            let _ = tx.send((location.file().to_string(), location.line()));
        }
    }));
    let expected_line = line!() + 1;
    let outcome = catch_unwind(AssertUnwindSafe(|| map.read(&1, |_| map.contains_key(&1))));
    std::panic::set_hook(previous);
    assert!(outcome.is_err());
    let (file, line) = rx.recv().unwrap();
    assert!(
        file.ends_with("guarantees.rs"),
        "the panic points at {file}:{line}"
    );
    assert_eq!(line, expected_line);
}

static LIVE: AtomicU64 = AtomicU64::new(0);

/// A value that counts its live copies and whose `Clone` panics on the third copy of a pass.
#[derive(Debug)]
struct Counted(u64);

static CLONES: AtomicU64 = AtomicU64::new(0);

impl Clone for Counted {
    fn clone(&self) -> Self {
        if CLONES.fetch_add(1, Ordering::Relaxed) == 2 {
            panic!("third copy refused");
        }
        LIVE.fetch_add(1, Ordering::Relaxed);
        Counted(self.0)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A snapshot that fails frees the copies it had made at once, rather than keeping them alive
/// until the next pass.
#[test]
fn a_failed_snapshot_frees_its_partial_copies() {
    let map = ShardedMap::<(u64, Counted), Plain, Fixed>::with_shards(4);
    for k in 0..8 {
        LIVE.fetch_add(1, Ordering::Relaxed);
        let _ = map.insert((k, Counted(k)));
    }
    assert_eq!(LIVE.load(Ordering::Relaxed), 8);
    CLONES.store(0, Ordering::Relaxed);
    assert!(catch_unwind(AssertUnwindSafe(|| map.snapshot())).is_err());
    assert_eq!(
        LIVE.load(Ordering::Relaxed),
        8,
        "partial copies still alive"
    );
    CLONES.store(100, Ordering::Relaxed);
    assert_eq!(map.snapshot().len(), 8);
    assert_eq!(LIVE.load(Ordering::Relaxed), 8);
}

#[test]
fn keys_spread_over_the_shards_even_when_the_hash_varies_only_in_its_low_bits() {
    // Choosing the shard from a few fixed bits of the hash puts all of these keys in one shard
    // (an identity hasher, or foldhash on small integers under an unlucky seed, varies only in
    // the low bits); the shard index must depend on every bit.
    type Identity64 = ShardedMap<(u64, u64), Plain, BuildHasherDefault<Identity>>;
    for shards in [4, 64] {
        let map = Identity64::with_shards(shards);
        let n = 64 * shards as u64;
        for k in 0..n {
            let _ = map.insert((k, k));
        }
        let stats = map.stats();
        assert_eq!(stats.len, n as usize);
        assert!(
            stats.max_shard_len <= 3 * 64 && stats.min_shard_len >= 64 / 4,
            "{shards} shards, {n} sequential keys: shard sizes from {} to {}",
            stats.min_shard_len,
            stats.max_shard_len
        );
        for k in 0..n {
            assert_eq!(map.get(&k), Some((k, k)));
        }
        let snapshot = map.snapshot();
        assert!((0..n).all(|k| snapshot.get(&k) == Some(&(k, k))));
    }
}
