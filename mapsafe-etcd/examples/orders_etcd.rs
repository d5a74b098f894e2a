//! The lost update and its cure, in one process and on an etcd cluster, side by side.
//!
//! The scenario of mapsafe's `orders` example: several workers stream timestamped status events
//! for the same orders; each order's newest event is the truth. A blind `insert` loses updates;
//! `get_versioned` + `compare_and_swap`, retried on `Conflict`, loses none. The same record type
//! and the same calls run on the in-process `OrderMap` and on `EtcdMap<Order>`, whose revisions
//! are etcd's `mod_revision`s.
//!
//! Run with `cargo run --release -p mapsafe-etcd --example orders_etcd`. It starts a throwaway
//! three-member etcd on 127.0.0.1 if `etcd` is on the `PATH` (Debian: `apt-get install
//! etcd-server`), and otherwise says how to get it and exits.

use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use mapsafe::{Conflict, Versioned, concurrent_map};
use mapsafe_etcd::local::{LocalCluster, etcd_binary};
use mapsafe_etcd::{EtcdError, EtcdMap};
use serde::{Deserialize, Serialize};

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Status {
    /// Received.
    Placed,
    /// Payment cleared.
    Paid,
    /// On its way.
    Shipped,
    /// Arrived.
    Delivered,
}

/// One order: the same struct for both maps.
#[concurrent_map(versioned)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: Status,
    pub updated_at: u64,
}

const ORDERS: u64 = 20;
const EVENTS_PER_ORDER: u64 = 12;
const THREADS: usize = 4;

/// The two calls the cure needs, on either map.
trait Orders: Sync {
    fn get_versioned(&self, id: u64) -> Result<Option<Versioned<Order>>, EtcdError>;
    fn compare_and_swap(
        &self,
        expected: u64,
        order: Order,
    ) -> Result<Result<u64, Conflict<Order>>, EtcdError>;
    fn insert(&self, order: Order) -> Result<(), EtcdError>;
}

impl Orders for OrderMap {
    fn get_versioned(&self, id: u64) -> Result<Option<Versioned<Order>>, EtcdError> {
        Ok(OrderMap::get_versioned(self, &id))
    }
    fn compare_and_swap(
        &self,
        expected: u64,
        order: Order,
    ) -> Result<Result<u64, Conflict<Order>>, EtcdError> {
        Ok(OrderMap::compare_and_swap(self, expected, order))
    }
    fn insert(&self, order: Order) -> Result<(), EtcdError> {
        let _ = OrderMap::insert(self, order);
        Ok(())
    }
}

impl Orders for EtcdMap<Order> {
    fn get_versioned(&self, id: u64) -> Result<Option<Versioned<Order>>, EtcdError> {
        EtcdMap::get_versioned(self, &id)
    }
    fn compare_and_swap(
        &self,
        expected: u64,
        order: Order,
    ) -> Result<Result<u64, Conflict<Order>>, EtcdError> {
        EtcdMap::compare_and_swap(self, expected, order)
    }
    fn insert(&self, order: Order) -> Result<(), EtcdError> {
        EtcdMap::insert(self, order).map(drop)
    }
}

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
    let mut rng = 0x5eed_0f0b_de75;
    let mut streams = vec![Vec::new(); THREADS];
    for updated_at in 1..=EVENTS_PER_ORDER {
        for id in 0..ORDERS {
            let status = match updated_at * 4 / (EVENTS_PER_ORDER + 1) {
                0 => Status::Placed,
                1 => Status::Paid,
                2 => Status::Shipped,
                _ => Status::Delivered,
            };
            streams[(next(&mut rng) % THREADS as u64) as usize].push(Order {
                id,
                status,
                updated_at,
            });
        }
    }
    streams
}

/// Applies every stream from its own thread; prints how many orders end on a stale status.
fn run(
    name: &str,
    map: &impl Orders,
    apply: impl Fn(&dyn Orders, &Order) -> Result<(), EtcdError> + Sync,
) -> Result<(), EtcdError> {
    for id in 0..ORDERS {
        map.insert(Order {
            id,
            status: Status::Placed,
            updated_at: 0,
        })?;
    }
    let streams = event_streams();
    let barrier = Barrier::new(THREADS);
    let started = Instant::now();
    thread::scope(|s| {
        let handles: Vec<_> = streams
            .iter()
            .map(|stream| {
                let (barrier, apply) = (&barrier, &apply);
                s.spawn(move || {
                    barrier.wait();
                    stream.iter().try_for_each(|event| apply(map, event))
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("a worker panicked"))
    })?;
    let elapsed = started.elapsed();
    let mut stale = 0;
    for id in 0..ORDERS {
        let order = map.get_versioned(id)?.expect("orders are never removed");
        if order.value.updated_at != EVENTS_PER_ORDER {
            stale += 1;
        }
    }
    let verdict = if stale == 0 {
        "every order on its newest status".to_string()
    } else {
        format!("{stale} of {ORDERS} orders left on a STALE status (lost updates)")
    };
    println!("{name:<50} {verdict:<58} {elapsed:>9.2?}");
    Ok(())
}

fn blind_insert(map: &dyn Orders, event: &Order) -> Result<(), EtcdError> {
    // Real workers do something between reading an event and writing it.
    thread::sleep(Duration::from_micros(200));
    map.insert(event.clone())
}

/// The cure: read, decide, write only if nobody wrote since, else re-read.
fn compare_and_swap(
    conflicts: &AtomicU64,
) -> impl Fn(&dyn Orders, &Order) -> Result<(), EtcdError> + Sync + '_ {
    move |map, event| loop {
        let seen = map
            .get_versioned(event.id)?
            .expect("orders are never removed");
        if seen.value.updated_at >= event.updated_at {
            return Ok(());
        }
        thread::sleep(Duration::from_micros(200));
        match map.compare_and_swap(seen.version, event.clone())? {
            Ok(_revision) => return Ok(()),
            Err(Conflict { .. }) => {
                conflicts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn main() -> Result<(), EtcdError> {
    let Some(binary) = etcd_binary() else {
        println!(
            "this example needs `etcd` on the PATH: install Debian's `etcd-server` \
             (`apt-get install etcd-server`) or put an etcd 3.4+ binary on the PATH, then run \
             it again"
        );
        return Ok(());
    };
    println!(
        "{ORDERS} orders, {EVENTS_PER_ORDER} timestamped status events each, {THREADS} threads\n"
    );
    let cluster = LocalCluster::start(binary, 3);
    let endpoints = cluster.endpoints();
    let endpoints = LocalCluster::endpoint_strs(&endpoints);

    run("in process: blind insert", &OrderMap::new(), blind_insert)?;
    let etcd: EtcdMap<Order> = EtcdMap::connect(&endpoints, "orders-blind/")?;
    run("etcd, 3 members: blind insert", &etcd, blind_insert)?;

    let conflicts = AtomicU64::new(0);
    run(
        "in process: get_versioned + compare_and_swap",
        &OrderMap::new(),
        compare_and_swap(&conflicts),
    )?;
    println!(
        "{:>50} {} writes refused by compare_and_swap and retried instead of lost",
        "",
        conflicts.swap(0, Ordering::Relaxed)
    );
    let etcd: EtcdMap<Order> = EtcdMap::connect(&endpoints, "orders-cas/")?;
    run(
        "etcd, 3 members: get_versioned + compare_and_swap",
        &etcd,
        compare_and_swap(&conflicts),
    )?;
    println!(
        "{:>50} {} writes refused by compare_and_swap and retried instead of lost",
        "",
        conflicts.load(Ordering::Relaxed)
    );

    println!();
    match etcd.verify_consistency()? {
        Ok(report) => println!("verify_consistency: {report}"),
        Err(err) => println!("verify_consistency: {err}"),
    }
    let snapshot = etcd.snapshot()?;
    println!(
        "snapshot at etcd revision {}: {} orders, all {:?}: {}",
        snapshot.version(),
        snapshot.len(),
        Status::Delivered,
        snapshot.iter().all(|o| o.status == Status::Delivered)
    );
    Ok(())
}
