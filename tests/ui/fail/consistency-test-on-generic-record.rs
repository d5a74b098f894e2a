use mapsafe::concurrent_map;

#[concurrent_map(consistency_test = make)]
#[derive(Clone, Debug, PartialEq)]
pub struct CacheEntry<V> {
    #[key]
    pub id: u64,
    pub value: V,
}

fn make(key: u64, nonce: u64) -> CacheEntry<u64> {
    CacheEntry { id: key, value: nonce }
}

fn main() {
    let _ = make(1, 2);
}
