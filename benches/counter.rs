//! What one map-wide revision counter costs a versioned map's writes, and why it bounds them.
//!
//! Every versioned write takes the next value of one atomic (`fetch_add`): that is what makes
//! revisions unique, increasing along real time and snapshot versions exact. This bench times
//! that step alone, against the alternatives a write could take instead:
//!
//! - `load` of a word no one writes: a plain map's ticket (it only checks for an open pass);
//! - `fetch_add` on a counter of the thread's own (its own cache line): the price of the atomic
//!   read-modify-write itself;
//! - `fetch_add` on one shared counter: the versioned map's ticket, whose cache line moves to
//!   each core that writes.
//!
//! Each is timed back to back and with some local work between steps (about what a map write
//! does besides the ticket), at 1 and 2 threads; the figure is nanoseconds per step, median of
//! the repeats. On `n` cores that all write, the shared counter's line moves on almost every
//! step, so the map-wide rate of versioned writes is bounded by one line transfer per write
//! whatever `n` is: the 2-thread back-to-back figure is that transfer.
//!
//! ```text
//! cargo bench --bench counter
//! ```
//!
//! Environment: `MAPSAFE_COUNTER_STEPS` (steps per thread per run, default 4,000,000),
//! `MAPSAFE_COUNTER_REPEATS` (default 7).

use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A counter on its own cache lines (two, for the adjacent-line prefetcher).
#[repr(align(128))]
#[derive(Default)]
struct Padded(AtomicU64);

#[derive(Clone, Copy, PartialEq)]
enum Step {
    /// Load a word no thread writes.
    Load,
    /// `fetch_add` on the thread's own counter.
    OwnFetchAdd,
    /// `fetch_add` on the counter all threads share.
    SharedFetchAdd,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Load => "load of an unwritten word (plain ticket)",
            Step::OwnFetchAdd => "fetch_add, each thread its own counter",
            Step::SharedFetchAdd => "fetch_add, one shared counter (versioned ticket)",
        }
    }
}

/// About 90 ns of dependent arithmetic that touches no shared memory.
#[inline(always)]
fn local_work(seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..64 {
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17);
    }
    x
}

/// Runs `steps` steps on each of `threads` threads; returns nanoseconds per step per thread.
fn run(step: Step, threads: usize, steps: u64, work: bool) -> f64 {
    let shared = Padded::default();
    let own: Vec<Padded> = (0..threads).map(|_| Padded::default()).collect();
    let barrier = Barrier::new(threads);
    let elapsed: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (shared, own, barrier) = (&shared, &own[t], &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let mut acc = t as u64;
                    for _ in 0..steps {
                        acc ^= match step {
                            Step::Load => shared.0.load(Ordering::Acquire),
                            Step::OwnFetchAdd => own.0.fetch_add(1, Ordering::AcqRel),
                            Step::SharedFetchAdd => shared.0.fetch_add(1, Ordering::AcqRel),
                        };
                        if work {
                            acc = local_work(acc);
                        }
                    }
                    black_box(acc);
                    start.elapsed()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let slowest = elapsed.into_iter().max().unwrap();
    slowest.as_nanos() as f64 / steps as f64
}

/// Every kind of step, the cheapest first.
const STEPS: [Step; 3] = [Step::Load, Step::OwnFetchAdd, Step::SharedFetchAdd];

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().replace('_', "").parse().expect(name))
        .unwrap_or(default)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let steps = env("MAPSAFE_COUNTER_STEPS", 4_000_000);
    let repeats = env("MAPSAFE_COUNTER_REPEATS", 7).max(1) as usize;
    let threads: Vec<usize> = if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        vec![1, 2]
    } else {
        vec![1]
    };
    println!("## The revision counter: nanoseconds per step (median of {repeats})\n");
    println!(
        "| step | threads | back to back | between ~90 ns of local work | the step's share of that |"
    );
    println!("|---|---:|---:|---:|---:|");
    for &n in &threads {
        // Interleaved: every repeat runs every kind, so drifts of the machine hit all alike.
        let mut back = vec![Vec::new(); STEPS.len()];
        let mut spaced = vec![Vec::new(); STEPS.len()];
        for _ in 0..repeats {
            for (i, &step) in STEPS.iter().enumerate() {
                back[i].push(run(step, n, steps, false));
                spaced[i].push(run(step, n, steps / 8, true));
            }
        }
        let back: Vec<f64> = back.into_iter().map(median).collect();
        let spaced: Vec<f64> = spaced.into_iter().map(median).collect();
        // The load costs next to nothing (back to back), so the work with a load between is
        // the work alone.
        for (i, &step) in STEPS.iter().enumerate() {
            println!(
                "| {} | {n} | {:.1} | {:.1} | {:.1} |",
                step.name(),
                back[i],
                spaced[i],
                spaced[i] - spaced[0],
            );
        }
    }
    println!();
}
