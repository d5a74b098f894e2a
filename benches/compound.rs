//! Read-decide-write in one call, against the ways users write it with the peers. Every map
//! uses mapsafe's hasher (foldhash), so the engines are compared, not the hashers.
//!
//! - **word count** over a Zipf-distributed vocabulary (s = 1.0, 50,000 words): mapsafe's `entry`
//!   against dashmap's `*entry(w).or_insert(0) += 1` (which needs an owned key per call) and its
//!   best pattern, `get_mut` first and `entry` only on a miss;
//! - **get-or-compute**: `get_or_insert_with` against dashmap's `entry().or_insert_with()`;
//! - **two-key transfers** between random accounts, with a concurrent auditor summing a
//!   snapshot: mapsafe's `transaction` against one global `Mutex<HashMap>` and a dashmap with a
//!   global `RwLock` beside it (transfers take it shared, audits exclusive), and two plain
//!   `update`s (which audits can see half done); the torn-audit count is reported per way;
//! - **what a transaction adds** over two `update`s, one thread, no auditor.
//!
//! Runs are interleaved (each round runs every contender once per cell, rotating the order);
//! the report gives medians and the median of per-round ratios against the named baseline.
//!
//! ```text
//! cargo bench --bench compound
//! MAPSAFE_BENCH_ROUNDS=3 cargo bench --bench compound   # quicker
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use dashmap::DashMap;
use mapsafe::{DefaultHasher, Plain, ShardedMap};

const WORDS: usize = 50_000;
const OPS: usize = 400_000;
const ACCOUNTS: u64 = 1_000;

fn rounds() -> usize {
    std::env::var("MAPSAFE_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// `n` word indices drawn from a Zipf(1.0) distribution over `WORDS` words, by inverse CDF.
fn zipf_stream(n: usize, seed: u64) -> Vec<usize> {
    let weights: Vec<f64> = (1..=WORDS).map(|r| 1.0 / r as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(WORDS);
    let mut acc = 0.0;
    for w in weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            let u = (xorshift(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
            cdf.partition_point(|&c| c < u).min(WORDS - 1)
        })
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// Runs `f` on `threads` threads (each with its thread index) and returns operations per
/// second for `ops` operations in all.
fn run(threads: usize, ops: usize, f: &(dyn Fn(usize) + Sync)) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || f(t));
        }
    });
    ops as f64 / start.elapsed().as_secs_f64()
}

struct Contender<'a> {
    name: &'static str,
    run: Box<dyn Fn() -> f64 + 'a>,
}

/// Runs every contender once per round, rotating the order, and prints medians and the median
/// per-round ratio against the first contender.
fn table(title: &str, contenders: &[Contender<'_>]) {
    let rounds = rounds();
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for round in 0..rounds {
        for i in 0..contenders.len() {
            let i = (i + round) % contenders.len();
            results[i].push((contenders[i].run)());
        }
    }
    println!("### {title}\n");
    println!(
        "| way | Mops/s (median of {rounds}) | ratio to {} |",
        contenders[0].name
    );
    println!("|---|---:|---:|");
    for (c, r) in contenders.iter().zip(&results) {
        let ratios: Vec<f64> = r.iter().zip(&results[0]).map(|(a, b)| a / b).collect();
        println!(
            "| {} | {:.2} | {:.2}x |",
            c.name,
            median(r.clone()) / 1e6,
            median(ratios)
        );
    }
    println!();
}

type Counts = ShardedMap<(String, u64), Plain, DefaultHasher>;
type Dash<K, V> = DashMap<K, V, DefaultHasher>;

fn word_count(threads: usize, words: &[String], stream: &[usize]) {
    let per = stream.len() / threads;
    let part = |t: usize| &stream[t * per..(t + 1) * per];
    table(
        &format!("word count, Zipf over {WORDS} words, {threads} thread(s)"),
        &[
            Contender {
                name: "dashmap entry().or_insert",
                run: Box::new(|| {
                    let map: Dash<String, u64> = Dash::default();
                    run(threads, per * threads, &|t| {
                        for &w in part(t) {
                            *map.entry(words[w].clone()).or_insert(0) += 1;
                        }
                    })
                }),
            },
            Contender {
                name: "dashmap get_mut, then entry",
                run: Box::new(|| {
                    let map: Dash<String, u64> = Dash::default();
                    run(threads, per * threads, &|t| {
                        for &w in part(t) {
                            match map.get_mut(words[w].as_str()) {
                                Some(mut n) => *n += 1,
                                None => *map.entry(words[w].clone()).or_insert(0) += 1,
                            }
                        }
                    })
                }),
            },
            Contender {
                name: "mapsafe entry",
                run: Box::new(|| {
                    let map = Counts::new();
                    run(threads, per * threads, &|t| {
                        for &w in part(t) {
                            let word = words[w].as_str();
                            map.entry(word, |e| *e.or_insert_with(|| (word.to_owned(), 0)) += 1);
                        }
                    })
                }),
            },
        ],
    );
}

fn get_or_compute(threads: usize, stream: &[usize]) {
    let per = stream.len() / threads;
    let part = |t: usize| &stream[t * per..(t + 1) * per];
    table(
        &format!("get-or-compute over a Zipf stream of {WORDS} keys, {threads} thread(s)"),
        &[
            Contender {
                name: "dashmap entry().or_insert_with",
                run: Box::new(|| {
                    let map: Dash<u64, u64> = Dash::default();
                    run(threads, per * threads, &|t| {
                        for &k in part(t) {
                            let k = k as u64;
                            black_box(*map.entry(k).or_insert_with(|| k * 3));
                        }
                    })
                }),
            },
            Contender {
                name: "mapsafe get_or_insert_with",
                run: Box::new(|| {
                    let map: ShardedMap<(u64, u64), Plain, DefaultHasher> = ShardedMap::new();
                    run(threads, per * threads, &|t| {
                        for &k in part(t) {
                            let k = k as u64;
                            black_box(map.get_or_insert_with(&k, || (k, k * 3)));
                        }
                    })
                }),
            },
        ],
    );
}

/// A transfer way: the transfer itself and an audit that returns the total it saw.
struct Bank<'a> {
    name: &'static str,
    transfer: Box<dyn Fn(u64, u64) + Sync + 'a>,
    audit: Box<dyn Fn() -> i64 + Sync + 'a>,
}

fn transfers(threads: usize, with_auditor: bool) {
    let total = ACCOUNTS as i64 * 100;
    let txn: ShardedMap<(u64, i64), Plain, DefaultHasher> =
        (0..ACCOUNTS).map(|a| (a, 100)).collect();
    let two_updates: ShardedMap<(u64, i64), Plain, DefaultHasher> =
        (0..ACCOUNTS).map(|a| (a, 100)).collect();
    let global: Mutex<HashMap<u64, i64>> = Mutex::new((0..ACCOUNTS).map(|a| (a, 100)).collect());
    let beside = (RwLock::new(()), {
        let d: Dash<u64, i64> = Dash::default();
        for a in 0..ACCOUNTS {
            d.insert(a, 100);
        }
        d
    });
    let banks = [
        Bank {
            name: "Mutex<HashMap>",
            transfer: Box::new(|from, to| {
                let mut m = global.lock().unwrap();
                *m.get_mut(&from).unwrap() -= 1;
                *m.get_mut(&to).unwrap() += 1;
            }),
            audit: Box::new(|| global.lock().unwrap().values().sum()),
        },
        Bank {
            name: "RwLock beside a dashmap",
            transfer: Box::new(|from, to| {
                let _shared = beside.0.read().unwrap();
                *beside.1.get_mut(&from).unwrap() -= 1;
                *beside.1.get_mut(&to).unwrap() += 1;
            }),
            audit: Box::new(|| {
                let _exclusive = beside.0.write().unwrap();
                beside.1.iter().map(|r| *r.value()).sum()
            }),
        },
        Bank {
            name: "mapsafe transaction",
            transfer: Box::new(|from, to| {
                let _ = txn.transaction(&[&from, &to], |tx| {
                    let _ = tx.update(&from, |n| *n -= 1);
                    let _ = tx.update(&to, |n| *n += 1);
                    Ok::<_, ()>(())
                });
            }),
            audit: Box::new(|| txn.snapshot().iter().map(|r| r.1).sum()),
        },
        Bank {
            name: "mapsafe two updates (not atomic)",
            transfer: Box::new(|from, to| {
                let _ = two_updates.update(&from, |n| *n -= 1);
                let _ = two_updates.update(&to, |n| *n += 1);
            }),
            audit: Box::new(|| two_updates.snapshot().iter().map(|r| r.1).sum()),
        },
    ];
    let ops = OPS / 4;
    let torn: Vec<AtomicU64> = banks.iter().map(|_| AtomicU64::new(0)).collect();
    let audits: Vec<AtomicU64> = banks.iter().map(|_| AtomicU64::new(0)).collect();
    let contenders: Vec<Contender<'_>> = banks
        .iter()
        .enumerate()
        .map(|(i, bank)| {
            let (torn, audits) = (&torn[i], &audits[i]);
            Contender {
                name: bank.name,
                run: Box::new(move || {
                    let done = AtomicBool::new(false);
                    std::thread::scope(|s| {
                        if with_auditor {
                            s.spawn(|| {
                                while !done.load(Ordering::Relaxed) {
                                    if (bank.audit)() != total {
                                        torn.fetch_add(1, Ordering::Relaxed);
                                    }
                                    audits.fetch_add(1, Ordering::Relaxed);
                                }
                            });
                        }
                        let rate = run(threads, ops, &|t| {
                            let mut state = (t as u64 + 1) * 0x9e37_79b9_7f4a_7c15;
                            for _ in 0..ops / threads {
                                let from = xorshift(&mut state) % ACCOUNTS;
                                let to =
                                    (from + 1 + xorshift(&mut state) % (ACCOUNTS - 1)) % ACCOUNTS;
                                (bank.transfer)(from, to);
                            }
                        });
                        done.store(true, Ordering::Relaxed);
                        rate
                    })
                }),
            }
        })
        .collect();
    let title = if with_auditor {
        format!("two-key transfers with a concurrent auditor, {threads} transfer thread(s)")
    } else {
        format!("two-key transfers, no auditor, {threads} thread(s)")
    };
    table(&title, &contenders);
    if with_auditor {
        println!("| way | audits | audits that saw a transfer half done |");
        println!("|---|---:|---:|");
        for (i, bank) in banks.iter().enumerate() {
            println!(
                "| {} | {} | {} |",
                bank.name,
                audits[i].load(Ordering::Relaxed),
                torn[i].load(Ordering::Relaxed)
            );
        }
        println!();
    }
}

fn main() {
    let words: Vec<String> = (0..WORDS).map(|i| format!("word{i}")).collect();
    let stream = zipf_stream(OPS, 0x5eed);
    for threads in [1, 2] {
        word_count(threads, &words, &stream);
        get_or_compute(threads, &stream);
    }
    transfers(1, false);
    transfers(2, false);
    transfers(1, true);
}
