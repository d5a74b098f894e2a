//! The lost update, and its cure.
//!
//! Several threads stream timestamped status updates for the same orders, as workers consuming
//! an event queue would. Each order's newest event (highest `updated_at`) is the truth. Four ways
//! to apply the stream:
//!
//! 1. blind `insert`: whichever write lands last wins, old or new;
//! 2. check-then-insert: read, compare timestamps, `insert` — looks right, but another thread can
//!    write between the check and the insert (the example yields there, as a worker that logs or
//!    calls a service would);
//! 3. `update` with a newer-wins rule: the check and the write happen under one shard lock;
//! 4. `get_versioned` + `compare_and_swap`, retried on `Conflict`: optimistic, lock-free reads.
//!
//! Then orders move between warehouses, two records that must change together: done with two
//! `update`s, concurrent snapshots catch the move half done; done as one `transaction`, never.
//! Last, the versioned map's `stats()`: what an operator sees of the story (conflicts retried,
//! lock contention, passes).
//!
//! Run with `cargo run --release --example orders`.

use std::collections::BTreeMap;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use mapsafe::{Conflict, concurrent_map};

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Received.
    Placed,
    /// Payment cleared.
    Paid,
    /// In a box.
    Packed,
    /// On its way.
    Shipped,
    /// Arrived.
    Delivered,
}

impl Status {
    /// The status an order has after its `step`-th event.
    fn after(step: u64) -> Status {
        match step * 5 / (EVENTS_PER_ORDER + 1) {
            0 => Status::Placed,
            1 => Status::Paid,
            2 => Status::Packed,
            3 => Status::Shipped,
            _ => Status::Delivered,
        }
    }
}

/// One order, as the map stores it. `consistency_test` makes `cargo test` run mapsafe's
/// linearizability checker against `OrderMap` (see `order_for_check`).
#[concurrent_map(shards = 32, versioned, consistency_test = order_for_check)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: Status,
    pub updated_at: u64,
}

/// What the generated consistency test stores: a distinct order per `key`, with contents that
/// differ per `nonce` so the checker can tell every write apart.
#[cfg_attr(not(test), allow(dead_code))]
fn order_for_check(key: u64, nonce: u64) -> Order {
    Order {
        id: key,
        status: Status::after(nonce % EVENTS_PER_ORDER + 1),
        updated_at: nonce,
    }
}

/// How many orders each warehouse holds (the records a move changes together).
#[concurrent_map(shards = 8, versioned)]
#[derive(Clone, Debug, PartialEq)]
pub struct Warehouse {
    #[key]
    pub site: u32,
    pub orders: u64,
}

const SITES: u32 = 4;
const ORDERS: u64 = 2_000;
const EVENTS_PER_ORDER: u64 = 40;
const THREADS: usize = 4;
const SEED: u64 = 0x5eed_0f0b_de75;

/// splitmix64, so the event streams are the same on every run.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Every order's events, dealt at random to the threads; each thread sees its share of an
/// order's events in timestamp order, but the threads race each other.
fn event_streams() -> Vec<Vec<Order>> {
    let mut rng = SEED;
    let mut streams = vec![Vec::new(); THREADS];
    for updated_at in 1..=EVENTS_PER_ORDER {
        for id in 0..ORDERS {
            let event = Order {
                id,
                status: Status::after(updated_at),
                updated_at,
            };
            streams[(next(&mut rng) % THREADS as u64) as usize].push(event);
        }
    }
    streams
}

/// Applies every stream from its own thread, all started together.
fn run(name: &str, streams: &[Vec<Order>], apply: impl Fn(&OrderMap, &Order) + Sync) -> OrderMap {
    let map = OrderMap::with_capacity(ORDERS as usize);
    for id in 0..ORDERS {
        let _ = map.insert(Order {
            id,
            status: Status::Placed,
            updated_at: 0,
        });
    }
    let barrier = Barrier::new(streams.len());
    let started = Instant::now();
    thread::scope(|s| {
        for stream in streams {
            let (map, barrier, apply) = (&map, &barrier, &apply);
            s.spawn(move || {
                barrier.wait();
                for event in stream {
                    apply(map, event);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let stale = (0..ORDERS)
        .filter(|id| map.read(id, |o| o.updated_at).unwrap() != EVENTS_PER_ORDER)
        .count();
    let verdict = if stale == 0 {
        "every order on its newest status".to_string()
    } else {
        format!("{stale} of {ORDERS} orders left on a STALE status (lost updates)")
    };
    println!("{name:<36} {verdict:<60} {elapsed:>9.2?}");
    map
}

#[cfg_attr(test, allow(dead_code))]
fn main() {
    let streams = event_streams();
    println!(
        "{ORDERS} orders, {EVENTS_PER_ORDER} timestamped status events each, {THREADS} threads\n"
    );

    run("1. blind insert", &streams, |map, event| {
        let _ = map.insert(event.clone());
    });

    run("2. get, compare, then insert", &streams, |map, event| {
        let newer = map
            .read(&event.id, |current| event.updated_at > current.updated_at)
            .unwrap_or(true);
        if newer {
            // Real workers do something between deciding and writing (log, call a service...).
            thread::yield_now();
            // Another thread may have written a newer event meanwhile: this insert erases it.
            let _ = map.insert(event.clone());
        }
    });

    run("3. update, newer wins", &streams, |map, event| {
        let _ = map.update(&event.id, |order| {
            if event.updated_at > *order.updated_at {
                *order.status = event.status;
                *order.updated_at = event.updated_at;
            }
        });
    });

    let conflicts = AtomicU64::new(0);
    let map = run(
        "4. get_versioned + compare_and_swap",
        &streams,
        |map, event| {
            loop {
                let seen = map
                    .get_versioned(&event.id)
                    .expect("orders are never removed");
                if seen.value.updated_at >= event.updated_at {
                    return;
                }
                // The same gap as in 2: here a write that lands in it makes the swap fail instead.
                thread::yield_now();
                match map.compare_and_swap(seen.version, event.clone()) {
                    Ok(_revision) => return,
                    // Someone wrote since we read: re-read and decide again.
                    Err(Conflict { .. }) => {
                        conflicts.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        },
    );
    println!(
        "{:>36} {} writes refused by compare_and_swap and retried instead of lost",
        "",
        conflicts.load(Ordering::Relaxed)
    );

    println!();
    moves("5. move orders with two updates", |sites, from, to| {
        // Between the two writes the order is in neither warehouse.
        let _ = sites.update(&from, |w| *w.orders -= 1);
        let _ = sites.update(&to, |w| *w.orders += 1);
    });
    moves("6. move orders in a transaction", |sites, from, to| {
        let _ = sites.transaction(&[&from, &to], |tx| {
            let _ = tx.update(&from, |w| *w.orders -= 1);
            let _ = tx.update(&to, |w| *w.orders += 1);
            Ok::<_, ()>(())
        });
    });

    println!();
    match map.verify_consistency() {
        Ok(report) => println!("verify_consistency: {report}"),
        Err(err) => println!("verify_consistency: {err}"),
    }
    let snapshot = map.snapshot();
    let mut by_status = BTreeMap::new();
    for order in &snapshot {
        *by_status.entry(order.status).or_insert(0) += 1;
    }
    println!(
        "snapshot at revision {}: {} orders, by status {by_status:?}",
        snapshot.version(),
        snapshot.len()
    );
    println!(
        "\nstats() of the map step 4 wrote, as an operator sees it:\n{}",
        map.stats()
    );
}

/// Moves orders between random warehouses from three threads while a fourth audits snapshots:
/// every snapshot must count all the orders, in whichever warehouse.
fn moves(name: &str, step: impl Fn(&WarehouseMap, u32, u32) + Sync) {
    let sites = WarehouseMap::new();
    let per_site = ORDERS / u64::from(SITES);
    for site in 0..SITES {
        let _ = sites.insert(Warehouse {
            site,
            orders: per_site,
        });
    }
    let done = AtomicBool::new(false);
    let (audits, torn) = (AtomicU64::new(0), AtomicU64::new(0));
    let started = Instant::now();
    thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let total: u64 = sites.snapshot().iter().map(|w| w.orders).sum();
                audits.fetch_add(1, Ordering::Relaxed);
                if total != ORDERS {
                    torn.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let movers: Vec<_> = (0..THREADS as u64 - 1)
            .map(|t| {
                let (sites, step) = (&sites, &step);
                s.spawn(move || {
                    let mut rng = SEED ^ (t + 1);
                    for _ in 0..20_000 {
                        let from = (next(&mut rng) % u64::from(SITES)) as u32;
                        let to =
                            (from + 1 + (next(&mut rng) % u64::from(SITES - 1)) as u32) % SITES;
                        step(sites, from, to);
                    }
                })
            })
            .collect();
        for mover in movers {
            mover.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    let (audits, torn) = (audits.load(Ordering::Relaxed), torn.load(Ordering::Relaxed));
    let verdict = if torn == 0 {
        format!("no snapshot of {audits} saw a move half done")
    } else {
        format!("{torn} of {audits} snapshots saw a move HALF DONE")
    };
    println!("{name:<36} {verdict:<60} {:>9.2?}", started.elapsed());
}
