use std::rc::Rc;

use mapsafe::concurrent_map;

#[concurrent_map]
pub struct CacheEntry<V> {
    #[key]
    pub id: u64,
    pub value: V,
}

fn main() {
    let cache = CacheEntryMap::<Rc<String>>::new();
    let _ = cache.insert(CacheEntry { id: 1, value: Rc::new(String::new()) });
}
