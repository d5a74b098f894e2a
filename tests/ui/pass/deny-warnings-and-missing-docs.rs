//! A crate with the strictest common lint set: the expansion must not trip any of them.
#![deny(warnings, missing_docs, missing_debug_implementations, clippy::all)]

use mapsafe::concurrent_map;

/// Where an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Accepted.
    Placed,
    /// On its way.
    Shipped,
}

/// An order.
#[concurrent_map(shards = 32, versioned)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// Its id.
    #[key]
    pub id: u64,
    /// Where it is.
    pub status: Status,
    /// When it last changed.
    pub updated_at: u64,
}

/// A counter without `Clone`: the map still compiles, without the copying methods.
#[concurrent_map(name = Counters, hasher = std::hash::RandomState)]
#[derive(Debug)]
pub struct Counter {
    /// Its name.
    #[key]
    pub name: String,
    /// Its value.
    pub hits: u64,
}

/// A record with nothing but a key.
#[concurrent_map]
#[derive(Clone, Debug)]
pub struct Seen {
    /// The key.
    #[key]
    pub id: u64,
}

/// A record that is never used: no dead-code warning for what was generated.
#[concurrent_map]
struct Unused {
    #[key]
    id: u64,
    note: String,
}

fn main() {
    let orders = OrderMap::new();
    let _ = orders.insert(Order {
        id: 1,
        status: Status::Placed,
        updated_at: 0,
    });
    let _ = orders.update(&1, |order| *order.status = Status::Shipped);
    let seen = orders.get_versioned(&1).expect("present");
    assert!(orders.compare_and_swap(seen.version, seen.value).is_ok());
    let counters = Counters::default();
    let _ = counters.insert(Counter {
        name: "a".into(),
        hits: 0,
    });
    assert_eq!(counters.update("a", |c| *c.hits + 1), Some(1));
    let seen_ids = SeenMap::new();
    assert!(seen_ids.load_or_store(Seen { id: 3 }).is_stored());
    println!("{orders:?} {counters:?} {seen_ids:?}");
}
