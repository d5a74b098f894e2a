//! The consistency checker (work in progress: issue 4 replaces this with the seeded,
//! multi-threaded history checker).

use core::fmt::Debug;

use crate::Record;
use crate::map::AsEngine;

/// Entry point of the test `#[concurrent_map(consistency_test = make)]` generates.
///
/// `new_map` builds an empty map; `make(key, nonce)` builds a record whose key is derived from
/// `key` and whose other contents differ for different `nonce`.
#[doc(hidden)]
pub fn generated_consistency_test<T>(
    map_name: &str,
    new_map: fn() -> T,
    make: fn(u64, u64) -> T::Record,
) where
    T: AsEngine + Sync,
    T::Record: Clone + PartialEq + Debug,
{
    let map = new_map();
    let engine = map.engine();
    for key in 0..64 {
        let _ = engine.insert(make(key, 1));
    }
    for key in 0..64 {
        let expected = make(key, 1);
        let got = engine.get(expected.key());
        assert_eq!(got.as_ref(), Some(&expected), "{map_name}: key {key} lost");
    }
    if let Err(err) = engine.verify_consistency() {
        panic!("{map_name}: {err}");
    }
}
