use std::cell::Cell;
use std::hash::{BuildHasher, DefaultHasher};
use std::marker::PhantomData;
use std::rc::Rc;

use mapsafe::concurrent_map;

/// A hasher that counts the hashers it builds in a `Cell`: neither `Send` nor `Sync`.
#[derive(Clone, Default)]
pub struct CountingHasher {
    built: Rc<Cell<u64>>,
    _not_sync: PhantomData<Cell<()>>,
}

impl BuildHasher for CountingHasher {
    type Hasher = DefaultHasher;
    fn build_hasher(&self) -> DefaultHasher {
        self.built.set(self.built.get() + 1);
        DefaultHasher::new()
    }
}

#[concurrent_map(hasher = CountingHasher)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

fn main() {}
