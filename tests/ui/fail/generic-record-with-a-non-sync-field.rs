use std::cell::Cell;

use mapsafe::concurrent_map;

#[concurrent_map]
pub struct CacheEntry<V> {
    #[key]
    pub id: u64,
    pub value: V,
    pub hits: Cell<u32>,
}

fn main() {}
