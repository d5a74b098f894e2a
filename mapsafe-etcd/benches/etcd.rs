//! Operations per second and latency percentiles of `get`, `compare_and_swap` and a two-key
//! `transaction` on a local single-member etcd and on a three-member cluster, next to the same
//! calls on the in-process versioned map.
//!
//! `cargo bench -p mapsafe-etcd --bench etcd` (about 10 s; needs `etcd` on the PATH, and says
//! so otherwise). `MAPSAFE_BENCH_SECS` sets each measurement's length (default 0.5).

use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use mapsafe::concurrent_map;
use mapsafe_etcd::EtcdMap;
use mapsafe_etcd::local::{LocalCluster, etcd_binary};
use serde::{Deserialize, Serialize};

#[concurrent_map(versioned)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    #[key]
    pub id: u64,
    pub balance: i64,
}

const THREADS: usize = 4;
/// Keys per thread: each thread works on its own keys, so the figures are the store's cost,
/// not contention's.
const KEYS: u64 = 16;

/// One measured call on thread `t`, `i`-th time; returns nothing, panics on an error.
type Call<'a> = dyn Fn(usize, u64) + Sync + 'a;

struct Figures {
    ops_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `call` from `THREADS` threads for `secs` each, timing every call.
fn measure(secs: f64, call: &Call<'_>) -> Figures {
    let barrier = Barrier::new(THREADS);
    let budget = Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let begin = Instant::now();
                    let mut mine = Vec::new();
                    let mut i = 0;
                    while begin.elapsed() < budget {
                        let at = Instant::now();
                        call(t, i);
                        mine.push(at.elapsed());
                        i += 1;
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Figures {
        ops_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn key(t: usize, i: u64) -> u64 {
    t as u64 * KEYS + i % KEYS
}

/// Each thread's keys' current revisions, so that only the swap is timed (each thread keeps
/// the revision its last swap returned).
fn remembered(revision_of: impl Fn(u64) -> u64) -> Vec<Mutex<Vec<u64>>> {
    (0..THREADS)
        .map(|t| Mutex::new((0..KEYS).map(|k| revision_of(key(t, k))).collect()))
        .collect()
}

fn row(target: &str, op: &str, f: &Figures) {
    println!(
        "| {target} | {op} | {:.0} | {:.1?} | {:.1?} |",
        f.ops_per_sec, f.p50, f.p99
    );
}

fn in_process(secs: f64) {
    let map = AccountMap::new();
    for id in 0..THREADS as u64 * KEYS {
        let _ = map.insert(Account { id, balance: 0 });
    }
    let target = "in-process `AccountMap`";
    row(
        target,
        "get",
        &measure(secs, &|t, i| {
            assert!(map.get(&key(t, i)).is_some());
        }),
    );
    row(
        target,
        "compare_and_swap",
        &measure(secs, &|t, i| {
            let id = key(t, i);
            let seen = map.get_versioned(&id).unwrap();
            let next = Account {
                id,
                balance: seen.value.balance + 1,
            };
            map.compare_and_swap(seen.version, next).expect("own key");
        }),
    );
    row(
        target,
        "two-key transaction",
        &measure(secs, &|t, i| {
            let (from, to) = (key(t, i), key(t, i + 1));
            let moved: Result<(), ()> = map.transaction(&[&from, &to], |tx| {
                let _ = tx.update(&from, |a| *a.balance -= 1);
                let _ = tx.update(&to, |a| *a.balance += 1);
                Ok(())
            });
            moved.expect("own keys");
        }),
    );
}

fn on_etcd(secs: f64, target: &str, endpoints: &[String]) {
    let endpoints = LocalCluster::endpoint_strs(endpoints);
    let map: EtcdMap<Account> = EtcdMap::connect(&endpoints, "bench/").unwrap();
    for id in 0..THREADS as u64 * KEYS {
        let _ = map.insert(Account { id, balance: 0 }).unwrap();
    }
    row(
        target,
        "get",
        &measure(secs, &|t, i| {
            assert!(map.get(&key(t, i)).unwrap().is_some());
        }),
    );
    let revisions = remembered(|id| map.get_versioned(&id).unwrap().unwrap().version);
    row(
        target,
        "compare_and_swap",
        &measure(secs, &|t, i| {
            let mut mine = revisions[t].lock().unwrap();
            let slot = (i % KEYS) as usize;
            let next = Account {
                id: key(t, i),
                balance: i as i64,
            };
            mine[slot] = map
                .compare_and_swap(mine[slot], next)
                .unwrap()
                .expect("own key");
        }),
    );
    row(
        target,
        "two-key transaction",
        &measure(secs, &|t, i| {
            let (from, to) = (key(t, i), key(t, i + 1));
            map.transaction(&[&from, &to], |tx| {
                let _ = tx.update(&from, |a| *a.balance -= 1);
                let _ = tx.update(&to, |a| *a.balance += 1);
                Ok::<_, ()>(())
            })
            .unwrap()
            .unwrap();
        }),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("MAPSAFE_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if smoke { 0.05 } else { 0.5 });
    let Some(binary) = etcd_binary() else {
        println!("skipped: etcd not installed (install `etcd-server` to measure)");
        return;
    };
    println!(
        "{THREADS} threads, each on its own {KEYS} keys, {secs} s per row; etcd data in {}\n",
        std::env::temp_dir().display()
    );
    println!("| target | call | ops/s | p50 | p99 |");
    println!("|---|---|---:|---:|---:|");
    in_process(secs);
    let single = LocalCluster::start(binary.clone(), 1);
    on_etcd(secs, "etcd, 1 member", &single.endpoints());
    drop(single);
    let cluster = LocalCluster::start(binary, 3);
    on_etcd(secs, "etcd, 3 members", &cluster.endpoints());
}
