//! What a map reports about itself: `stats()` after a contended workload, and the same probes as
//! the Prometheus text an operator would scrape and alert on.
//!
//! ```text
//! cargo run --release --example probes --features metrics
//! ```
//!
//! Four threads count words into a map (`entry`), move stock between two counters in
//! transactions (some aborted), race compare-and-swaps on one hot key, take snapshots and verify
//! the map; one thread also calls the map from inside its own closure, which is refused.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

use mapsafe::concurrent_map;
use metrics_exporter_prometheus::PrometheusBuilder;

/// A counter per word.
#[concurrent_map(shards = 4, versioned)]
#[derive(Clone, Debug, PartialEq)]
pub struct Count {
    #[key]
    pub word: String,
    pub n: u64,
}

fn main() {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .expect("no other metrics recorder is installed");
    let counts = CountMap::new();
    let _ = counts.insert(Count {
        word: "stock-a".into(),
        n: 1_000,
    });
    let _ = counts.insert(Count {
        word: "stock-b".into(),
        n: 0,
    });
    let _ = counts.insert(Count {
        word: "hot".into(),
        n: 0,
    });
    let words = ["the", "cat", "sat", "on", "the", "mat", "hot", "hot", "hot"];

    thread::scope(|s| {
        for t in 0..4u64 {
            let counts = &counts;
            s.spawn(move || {
                for i in 0..20_000u64 {
                    let word = words[((i + t) % words.len() as u64) as usize];
                    counts.entry(word, |e| {
                        *e.or_insert_with(|| Count {
                            word: word.into(),
                            n: 0,
                        })
                        .n += 1;
                    });
                    if i % 50 == 0 {
                        // Move one unit from a to b, unless a is empty: an abort.
                        let _ = counts.transaction(&["stock-a", "stock-b"], |tx| {
                            if tx.get("stock-a").map_or(0, |c| c.n) == 0 {
                                return Err("out of stock");
                            }
                            let _ = tx.update("stock-a", |c| *c.n -= 1);
                            let _ = tx.update("stock-b", |c| *c.n += 1);
                            Ok(())
                        });
                    }
                    if i % 20 == 0 {
                        // A read-decide-write on the hot key that may lose the race: a conflict.
                        let seen = counts.get_versioned("hot").expect("inserted above");
                        let next = Count {
                            n: seen.value.n + 1,
                            ..seen.value
                        };
                        let _ = counts.compare_and_swap(seen.version, next);
                    }
                    if i % 5_000 == 0 {
                        let _ = counts.snapshot().len();
                        let _ = counts.verify_consistency();
                    }
                }
            });
        }
    });
    // A bug the map refuses loudly: calling it from inside its own closure. (The panic is
    // caught here, so its message is printed as this example's output, not as a crash.)
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        println!(
            "== a call from inside the map's own closure, refused\n{}\n",
            info.payload()
                .downcast_ref::<String>()
                .map_or("(no message)", String::as_str)
        );
    }));
    let refused = catch_unwind(AssertUnwindSafe(|| {
        counts.read("the", |_| {
            counts.len() + counts.get("cat").map_or(0, |c| c.n as usize)
        })
    }));
    std::panic::set_hook(default_hook);
    assert!(refused.is_err());

    let stats = counts.stats();
    println!("== stats() of CountMap\n{stats}\n");
    stats.publish_metrics("CountMap");
    println!(
        "== the same probes, as Prometheus renders them\n{}",
        handle.render()
    );
}
