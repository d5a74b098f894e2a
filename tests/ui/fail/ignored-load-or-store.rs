#![deny(unused_must_use)]

use mapsafe::concurrent_map;

#[concurrent_map(versioned)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

fn main() {
    let orders = OrderMap::new();
    orders.load_or_store(Order { id: 1, status: 0 });
}
