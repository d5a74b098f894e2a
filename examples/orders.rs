//! Several threads stream status updates for the same orders. A blind `insert` loses updates;
//! `compare_and_swap` does not.
//!
//! Run with `cargo run --release --example orders`.

use mapsafe::{Revisioned, ShardedMap};

fn main() {
    let map: ShardedMap<(u64, u64), Revisioned> = ShardedMap::new();
    for id in 0..100 {
        let _ = map.insert((id, 0));
    }
    println!("{}", map.verify_consistency().expect("consistent"));
}
