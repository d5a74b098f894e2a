#![deny(warnings)]

use mapsafe::concurrent_map;

#[concurrent_map(versioned, consistency_test = make_order)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub nonce: u64,
}

fn make_order(key: u64, nonce: u64) -> Order {
    Order { id: key, nonce }
}

fn main() {
    let orders = OrderMap::new();
    let _ = orders.insert(make_order(1, 1));
}
