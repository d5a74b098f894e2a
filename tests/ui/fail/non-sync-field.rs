use std::cell::Cell;

use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Order {
    #[key]
    pub id: u64,
    pub visits: Cell<u32>,
}

fn main() {}
