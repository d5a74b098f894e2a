//! The default hasher.

use core::fmt;
use core::hash::BuildHasher;

/// The default [`BuildHasher`] of every mapsafe map: foldhash, seeded at random per map.
///
/// Each map gets its own random seed (on top of a per-process random global seed), so an
/// attacker who does not see the map's internals cannot precompute keys that collide in it.
/// foldhash is a fast, *minimally* DoS-resistant hash (the same one hashbrown uses by default):
/// if your keys come from an adversary who can observe timing over a long-running process, choose
/// SipHash with `hasher = std::hash::RandomState`.
///
/// # Example
///
/// ```
/// use core::hash::BuildHasher;
/// use mapsafe_core::DefaultHasher;
///
/// let a = DefaultHasher::default();
/// assert_eq!(a.hash_one(42_u64), a.clone().hash_one(42_u64));
/// ```
#[derive(Clone, Default)]
pub struct DefaultHasher(foldhash::fast::RandomState);

impl BuildHasher for DefaultHasher {
    type Hasher = foldhash::fast::FoldHasher<'static>;

    #[inline(always)]
    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

impl fmt::Debug for DefaultHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The seed is the map's secret: never print it.
        f.write_str("DefaultHasher { .. }")
    }
}
