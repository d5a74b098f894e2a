//! The figures users ask about besides throughput, for maps of 1,000,000 records:
//!
//! - `snapshot()`: how long it takes, and the longest a concurrent writer is stalled meanwhile,
//!   against the time to copy one shard (a snapshot of a one-shard map holding as many records as
//!   one shard of the big map) and the writer's longest operation when no snapshot runs;
//! - `verify_consistency()`: how long it takes against a plain iteration over the same records
//!   (dashmap's `iter()` and hashbrown's).
//!
//! ```text
//! cargo bench --bench figures
//! MAPSAFE_FIGURES_RECORDS=100000 MAPSAFE_FIGURES_REPEATS=3 cargo bench --bench figures   # quick
//! ```
//!
//! Environment: `MAPSAFE_FIGURES_RECORDS` (default 1,000,000), `MAPSAFE_FIGURES_REPEATS` (default
//! 9). Every time is the median of the repeats; stalls are the maximum over all of them.

use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mapsafe::concurrent_map;

mod common;
use common::{Entry, EntryMap, VersionedEntry, VersionedEntryMap};

/// A one-shard map: copying it is copying one shard.
#[concurrent_map(shards = 1)]
#[derive(Clone, Debug)]
pub struct OneShardEntry {
    #[key]
    pub k: u64,
    pub v: u64,
}

/// The same, versioned.
#[concurrent_map(shards = 1, versioned)]
#[derive(Clone, Debug)]
pub struct OneShardVersionedEntry {
    #[key]
    pub k: u64,
    pub v: u64,
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().replace('_', "").parse().expect(name))
        .unwrap_or(default)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// What one writer saw while the main thread took snapshots.
struct Stalls {
    /// For each snapshot, the writer's longest operation that overlapped it.
    during: Vec<Duration>,
    /// The writer's longest operation that overlapped no snapshot.
    outside: Duration,
    /// Operations the writer completed.
    ops: u64,
}

/// Takes `warmup + repeats` snapshots with `take` while a writer thread overwrites records with
/// `write` as fast as it can; returns the times of the last `repeats` and what the writer saw
/// meanwhile.
fn snapshots_under_a_writer(
    warmup: usize,
    repeats: usize,
    records: u64,
    take: &(dyn Fn() -> usize + Sync),
    write: &(dyn Fn(u64) + Sync),
) -> (Vec<Duration>, Stalls) {
    let epoch = Instant::now();
    let stop = AtomicBool::new(false);
    let ready = Barrier::new(2);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            // Every operation slower than this is kept with its start, to be matched against
            // the snapshot windows afterwards.
            let threshold = Duration::from_micros(2);
            let mut slow: Vec<(Duration, Duration)> = Vec::new();
            let mut ops = 0_u64;
            let mut key = 0_u64;
            ready.wait();
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                write(key);
                let took = start.elapsed();
                if took > threshold {
                    slow.push((start - epoch, took));
                }
                key = (key + 7919) % records;
                ops += 1;
            }
            (slow, ops)
        });
        ready.wait();
        std::thread::sleep(Duration::from_millis(20));
        let mut windows = Vec::new();
        let mut times = Vec::new();
        for i in 0..warmup + repeats {
            let start = Instant::now();
            let len = black_box(take());
            let took = start.elapsed();
            assert_eq!(len as u64, records, "a snapshot lost records");
            windows.push((start - epoch, start - epoch + took));
            if i >= warmup {
                times.push(took);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        let (slow, ops) = writer.join().expect("writer");
        let overlaps = |(start, took): (Duration, Duration), (from, to): (Duration, Duration)| {
            start < to && start + took > from
        };
        let longest = |window: (Duration, Duration)| {
            slow.iter()
                .filter(|&&op| overlaps(op, window))
                .map(|&(_, took)| took)
                .max()
                .unwrap_or_default()
        };
        let stalls = Stalls {
            during: windows[warmup..].iter().map(|&w| longest(w)).collect(),
            outside: slow
                .iter()
                .filter(|&&op| !windows.iter().any(|&w| overlaps(op, w)))
                .map(|&(_, took)| took)
                .max()
                .unwrap_or_default(),
            ops,
        };
        (times, stalls)
    })
}

/// Runs [`snapshots_under_a_writer`] and prints its table row.
fn snapshot_row(
    name: &str,
    repeats: usize,
    records: u64,
    take: &(dyn Fn() -> usize + Sync),
    write: &(dyn Fn(u64) + Sync),
) {
    let (times, stalls) = snapshots_under_a_writer(2, repeats, records, take, write);
    let worst = stalls.during.iter().max().copied().unwrap_or_default();
    println!(
        "| {name} | {} | {} | {} | {} | {} |",
        ms(median(times)),
        us(median(stalls.during)),
        us(worst),
        us(stalls.outside),
        stalls.ops
    );
}

fn snapshot_figures(records: u64, repeats: usize) {
    let plain = EntryMap::with_capacity(records as usize);
    let versioned = VersionedEntryMap::with_capacity(records as usize);
    for k in 0..records {
        let _ = plain.insert(Entry { k, v: k });
        let _ = versioned.insert(VersionedEntry { k, v: k });
    }
    let shards = plain.shard_count();
    let per_shard = records / shards as u64;
    // One one-shard map per shard of the big map, copied in turn: each copy then reads memory the
    // last copies did not leave in the cache, as a writer's copy of one of the big map's shards
    // does (copying the same small map again and again would time a copy from the L3 cache).
    let one: Vec<OneShardEntryMap> = (0..shards)
        .map(|_| OneShardEntryMap::with_capacity(per_shard as usize))
        .collect();
    let one_versioned: Vec<OneShardVersionedEntryMap> = (0..shards)
        .map(|_| OneShardVersionedEntryMap::with_capacity(per_shard as usize))
        .collect();
    for k in 0..per_shard {
        for (a, b) in one.iter().zip(&one_versioned) {
            let _ = a.insert(OneShardEntry { k, v: k });
            let _ = b.insert(OneShardVersionedEntry { k, v: k });
        }
    }
    let turn = std::cell::Cell::new(0);
    let next = || {
        turn.set(turn.get() + 1);
        turn.get() % shards
    };

    println!("## snapshot of {records} records ({shards} shards, {per_shard} records per shard)\n");
    println!(
        "Copies without a writer (\"one shard\" is a snapshot of a one-shard map holding \
         {per_shard} records, taken in turn from {shards} such maps so that, like a shard of the \
         big map, its records are not in the cache; the slowest is usually the first, on memory \
         never touched before):\n"
    );
    println!("| copy | median | slowest |");
    println!("|---|---:|---:|");
    let copies = |name: &str, take: &dyn Fn() -> usize| {
        let mut times: Vec<Duration> = (0..repeats).map(|_| time(|| black_box(take())).0).collect();
        times.sort();
        println!(
            "| {name} | {} | {} |",
            us(median(times.clone())),
            us(times[times.len() - 1])
        );
    };
    copies("one shard, plain", &|| one[next()].snapshot().len());
    copies("one shard, versioned", &|| {
        one_versioned[next()].snapshot().len()
    });
    copies("whole map, plain", &|| plain.snapshot().len());
    copies("whole map, versioned", &|| versioned.snapshot().len());
    // A writer's copy-before-write runs while the snapshot thread copies another shard on the
    // other core: the same, with a second thread copying another set of one-shard maps meanwhile.
    let others: Vec<OneShardEntryMap> = (0..shards)
        .map(|_| OneShardEntryMap::with_capacity(per_shard as usize))
        .collect();
    for k in 0..per_shard {
        for map in &others {
            let _ = map.insert(OneShardEntry { k, v: k });
        }
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for map in others.iter().cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                black_box(map.snapshot().len());
            }
        });
        copies(
            "one shard, plain, while another thread copies other shards",
            &|| one[next()].snapshot().len(),
        );
        stop.store(true, Ordering::Relaxed);
    });

    println!(
        "\nUnder a writer thread that overwrites records as fast as it can (after 2 warm-up \
         snapshots):\n"
    );
    println!(
        "| map | snapshot, median | writer's longest op per snapshot, median | ... worst snapshot | writer's longest op outside snapshots | writer ops |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    snapshot_row(
        "mapsafe",
        repeats,
        records,
        &|| plain.snapshot().len(),
        &|k| {
            let _ = plain.insert(Entry { k, v: 1 });
        },
    );
    snapshot_row(
        "mapsafe-versioned",
        repeats,
        records,
        &|| versioned.snapshot().len(),
        &|k| {
            let _ = versioned.insert(VersionedEntry { k, v: 1 });
        },
    );
    println!();
}

fn verify_figures(records: u64, repeats: usize) {
    let plain = EntryMap::with_capacity(records as usize);
    let versioned = VersionedEntryMap::with_capacity(records as usize);
    let dash: dashmap::DashMap<u64, u64> = dashmap::DashMap::with_capacity(records as usize);
    let mut brown: hashbrown::HashMap<u64, u64, mapsafe::DefaultHasher> =
        hashbrown::HashMap::with_capacity_and_hasher(records as usize, Default::default());
    for k in 0..records {
        let _ = plain.insert(Entry { k, v: k });
        let _ = versioned.insert(VersionedEntry { k, v: k });
        dash.insert(k, k);
        brown.insert(k, k);
    }
    let runs =
        |f: &dyn Fn() -> u64| median((0..repeats).map(|_| time(|| black_box(f())).0).collect());
    let verify_plain = runs(&|| plain.verify_consistency().expect("consistent").entries as u64);
    let verify_versioned =
        runs(&|| versioned.verify_consistency().expect("consistent").entries as u64);
    let dash_iter = runs(&|| dash.iter().map(|r| *r.value()).sum());
    let brown_iter = runs(&|| brown.values().sum());
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();

    println!("## verify_consistency on {records} records\n");
    println!("| pass | median | vs dashmap `iter()` | vs hashbrown `values()` |");
    println!("|---|---:|---:|---:|");
    for (name, d) in [
        ("mapsafe `verify_consistency()`", verify_plain),
        ("mapsafe-versioned `verify_consistency()`", verify_versioned),
        ("dashmap `iter()` (sum of values)", dash_iter),
        ("hashbrown `values()` (sum, unsynchronized)", brown_iter),
    ] {
        println!(
            "| {name} | {} | {:.1}x | {:.1}x |",
            ms(d),
            ratio(d, dash_iter),
            ratio(d, brown_iter)
        );
    }
    println!();
}

/// A snapshot that starts during a slow `retain` (its predicate spins about 1 µs per record):
/// the longest any `insert` waits meanwhile, against one shard's share of the `retain` and the
/// whole `retain`. A pass that held the shards behind the `retain` (as mapsafe's first engine
/// did) would make an insert wait for the rest of the `retain`.
fn retain_stall_figures(records: u64, repeats: usize) {
    let map = EntryMap::with_capacity(records as usize);
    for k in 0..records {
        let _ = map.insert(Entry { k, v: k });
    }
    let shards = map.shard_count() as u32;
    let slow = |_: &Entry| {
        let start = Instant::now();
        while start.elapsed() < Duration::from_micros(1) {
            std::hint::spin_loop();
        }
        true
    };
    let mut retains = Vec::new();
    let mut worst = Duration::ZERO;
    let mut waits = Vec::new();
    for _ in 0..repeats {
        let done = AtomicBool::new(false);
        let barrier = Barrier::new(3);
        std::thread::scope(|s| {
            s.spawn(|| {
                barrier.wait();
                retains.push(time(|| map.retain(slow)).0);
                done.store(true, Ordering::Release);
            });
            s.spawn(|| {
                barrier.wait();
                // Start the snapshot a quarter of the way into the retain.
                std::thread::sleep(Duration::from_micros(records / 4));
                black_box(map.snapshot().len());
            });
            barrier.wait();
            let mut k = 0u64;
            while !done.load(Ordering::Acquire) {
                k = (k + 7919) % records;
                let (took, _) = time(|| map.insert(Entry { k, v: k }));
                worst = worst.max(took);
                waits.push(took);
            }
        });
    }
    let retain = median(retains);
    let share = retain / shards;
    println!(
        "## writes during a slow `retain` and a snapshot ({records} records, {shards} shards)\n"
    );
    println!("| figure | time |");
    println!("|---|---:|");
    println!("| whole `retain` (median) | {} |", ms(retain));
    println!("| one shard's share of it | {} |", ms(share));
    println!(
        "| median `insert` meanwhile | {} |",
        us(median(waits.clone()))
    );
    println!(
        "| longest `insert` meanwhile | {} ({:.2} shards' worth) |",
        ms(worst),
        worst.as_secs_f64() / share.as_secs_f64()
    );
    println!();
}

/// `for_each` (no copy, per-shard consistent) against `snapshot` (a copy of one instant) for
/// counting the records that match a predicate.
fn for_each_figures(records: u64, repeats: usize) {
    let map = EntryMap::with_capacity(records as usize);
    for k in 0..records {
        let _ = map.insert(Entry { k, v: k });
    }
    let visit = median(
        (0..repeats)
            .map(|_| {
                time(|| {
                    let mut n = 0u64;
                    map.for_each(|e| n += u64::from(e.v % 3 == 0));
                    black_box(n)
                })
                .0
            })
            .collect(),
    );
    let copy = median(
        (0..repeats)
            .map(|_| time(|| black_box(map.snapshot().iter().filter(|e| e.v % 3 == 0).count())).0)
            .collect(),
    );
    println!("## counting matching records: `for_each` against `snapshot` ({records} records)\n");
    println!("| way | median |");
    println!("|---|---:|");
    println!("| `for_each` | {} |", ms(visit));
    println!("| `snapshot().iter()` | {} |", ms(copy));
    println!();
}

fn main() {
    let records = env("MAPSAFE_FIGURES_RECORDS", 1_000_000) as u64;
    let repeats = env("MAPSAFE_FIGURES_REPEATS", 9).max(1);
    snapshot_figures(records, repeats);
    verify_figures(records, repeats);
    retain_stall_figures(records, repeats.min(3));
    for_each_figures(records, repeats);
}
