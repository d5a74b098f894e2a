//! Instructions per operation, for profiling with callgrind (instruction counts do not depend on
//! what else the machine runs). Each `(map, operation)` pair is one `#[inline(never)]` function
//! that runs the operation on `N` keys of a warm table; `scripts/callgrind-ops.sh` runs this
//! binary under callgrind once per function and divides by `N`.
//!
//! Run alone (`cargo bench --bench instructions`) it only times the same loops, roughly.

use std::hint::black_box;
use std::time::Instant;

use dashmap::DashMap;
use mapsafe::DefaultHasher;

mod common;
use common::{Entry, EntryMap, VersionedEntry, VersionedEntryMap};

/// Keys per measured loop.
const N: u64 = 1 << 14;

type Dash = DashMap<u64, u64>;
type DashFold = DashMap<u64, u64, DefaultHasher>;
type Brown = hashbrown::HashMap<u64, u64, DefaultHasher>;
/// The same hasher under another type, so that the 64-shard dashmap's measured loops are their
/// own functions (identical ones would be merged, and callgrind would count both as one).
type DashFold64 = DashMap<u64, u64, Fold64>;

#[derive(Clone, Default)]
struct Fold64(DefaultHasher);

impl std::hash::BuildHasher for Fold64 {
    type Hasher = <DefaultHasher as std::hash::BuildHasher>::Hasher;
    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

/// The four operations the throughput mixes use, on one map, and three more a user writes:
/// a zero-copy read, a get-or-insert that finds the key, and an entry that increments.
trait Ops {
    fn get(&self, k: u64) -> bool;
    fn insert(&mut self, k: u64) -> bool;
    fn update(&mut self, k: u64) -> bool;
    fn remove(&mut self, k: u64) -> bool;
    /// Reads the value without copying the record (dashmap: a `Ref`; mapsafe: `read`).
    fn read(&self, k: u64) -> bool;
    /// Get-or-insert of a present key (mapsafe: `load_or_store`; dashmap: `entry().or_insert`).
    fn load(&self, k: u64) -> bool;
    /// Increment through an entry (mapsafe: `entry`; dashmap: `*entry().or_insert(0) += 1`).
    fn entry(&self, k: u64) -> bool;
    /// Moves one unit from `k` to its neighbour key `k ^ 1` (mapsafe: a two-key `transaction`;
    /// the others: two `get_mut`, which is not atomic).
    fn transfer(&mut self, k: u64) -> bool;
}

type Engine<M> = mapsafe::ShardedMap<(u64, u64), M>;
type EnginePlain = Engine<mapsafe::Plain>;
type EngineVersioned = Engine<mapsafe::VersionedMode>;
type EngineUnprobed = Engine<mapsafe_core::UnprobedPlain>;

macro_rules! engine_ops {
    ($map:ty) => {
        impl Ops for $map {
            fn get(&self, k: u64) -> bool {
                <$map>::get(self, &k).is_some()
            }
            fn insert(&mut self, k: u64) -> bool {
                <$map>::insert(self, (k, 0)).is_none()
            }
            fn update(&mut self, k: u64) -> bool {
                <$map>::update(self, &k, |v| *v += 1).is_some()
            }
            fn remove(&mut self, k: u64) -> bool {
                <$map>::remove(self, &k).is_some()
            }
            fn read(&self, k: u64) -> bool {
                <$map>::read(self, &k, |r| black_box(r.1)).is_some()
            }
            fn load(&self, k: u64) -> bool {
                <$map>::load_or_store(self, (k, 0)).is_loaded()
            }
            fn entry(&self, k: u64) -> bool {
                <$map>::entry(self, &k, |e| {
                    *e.or_insert((k, 0)) += 1;
                });
                true
            }
            fn transfer(&mut self, k: u64) -> bool {
                <$map>::transaction(self, &[&k, &(k ^ 1)], |tx| {
                    let from = tx.update(&k, |v| *v = v.wrapping_sub(1));
                    let to = tx.update(&(k ^ 1), |v| *v = v.wrapping_add(1));
                    if from.is_some() && to.is_some() {
                        Ok(())
                    } else {
                        Err(())
                    }
                })
                .is_ok()
            }
        }
    };
}
engine_ops!(EnginePlain);
engine_ops!(EngineVersioned);
engine_ops!(EngineUnprobed);

macro_rules! generated_map_ops {
    ($map:ty, $record:ident) => {
        impl Ops for $map {
            fn get(&self, k: u64) -> bool {
                EntryLike::get(self, k)
            }
            fn insert(&mut self, k: u64) -> bool {
                <$map>::insert(self, $record { k, v: 0 }).is_none()
            }
            fn update(&mut self, k: u64) -> bool {
                <$map>::update(self, &k, |e| *e.v += 1).is_some()
            }
            fn remove(&mut self, k: u64) -> bool {
                <$map>::remove(self, &k).is_some()
            }
            fn read(&self, k: u64) -> bool {
                <$map>::read(self, &k, |r| black_box(r.v)).is_some()
            }
            fn load(&self, k: u64) -> bool {
                <$map>::load_or_store(self, $record { k, v: 0 }).is_loaded()
            }
            fn entry(&self, k: u64) -> bool {
                <$map>::entry(self, &k, |e| {
                    *e.or_insert($record { k, v: 0 }).v += 1;
                });
                true
            }
            fn transfer(&mut self, k: u64) -> bool {
                <$map>::transaction(self, &[&k, &(k ^ 1)], |tx| {
                    let from = tx.update(&k, |e| *e.v = e.v.wrapping_sub(1));
                    let to = tx.update(&(k ^ 1), |e| *e.v = e.v.wrapping_add(1));
                    if from.is_some() && to.is_some() {
                        Ok(())
                    } else {
                        Err(())
                    }
                })
                .is_ok()
            }
        }
        impl EntryLike for $map {
            fn get(&self, k: u64) -> bool {
                <$map>::get(self, &k).is_some()
            }
        }
    };
}

/// Disambiguates `get` between the generated maps' inherent method and [`Ops::get`].
trait EntryLike {
    fn get(&self, k: u64) -> bool;
}

generated_map_ops!(EntryMap, Entry);
generated_map_ops!(VersionedEntryMap, VersionedEntry);

macro_rules! dashmap_ops {
    ($map:ty) => {
        impl Ops for $map {
            fn get(&self, k: u64) -> bool {
                DashMap::get(self, &k).is_some()
            }
            fn insert(&mut self, k: u64) -> bool {
                DashMap::insert(self, k, 0).is_none()
            }
            fn update(&mut self, k: u64) -> bool {
                self.get_mut(&k).map(|mut v| *v += 1).is_some()
            }
            fn remove(&mut self, k: u64) -> bool {
                DashMap::remove(self, &k).is_some()
            }
            fn read(&self, k: u64) -> bool {
                DashMap::get(self, &k).map(|v| black_box(*v)).is_some()
            }
            fn load(&self, k: u64) -> bool {
                black_box(*DashMap::entry(self, k).or_insert(0));
                true
            }
            fn entry(&self, k: u64) -> bool {
                *DashMap::entry(self, k).or_insert(0) += 1;
                true
            }
            fn transfer(&mut self, k: u64) -> bool {
                let from = self.get_mut(&k).map(|mut v| *v = v.wrapping_sub(1));
                let to = self.get_mut(&(k ^ 1)).map(|mut v| *v = v.wrapping_add(1));
                from.is_some() && to.is_some()
            }
        }
    };
}
dashmap_ops!(Dash);
dashmap_ops!(DashFold);
dashmap_ops!(DashFold64);

impl Ops for Brown {
    fn get(&self, k: u64) -> bool {
        hashbrown::HashMap::get(self, &k).is_some()
    }
    fn insert(&mut self, k: u64) -> bool {
        hashbrown::HashMap::insert(self, k, 0).is_none()
    }
    fn update(&mut self, k: u64) -> bool {
        self.get_mut(&k).map(|v| *v += 1).is_some()
    }
    fn remove(&mut self, k: u64) -> bool {
        hashbrown::HashMap::remove(self, &k).is_some()
    }
    fn read(&self, k: u64) -> bool {
        hashbrown::HashMap::get(self, &k)
            .map(|v| black_box(*v))
            .is_some()
    }
    fn load(&self, k: u64) -> bool {
        hashbrown::HashMap::contains_key(self, &k)
    }
    fn entry(&self, k: u64) -> bool {
        hashbrown::HashMap::contains_key(self, &k)
    }
    fn transfer(&mut self, k: u64) -> bool {
        let from = self.get_mut(&k).map(|v| *v = v.wrapping_sub(1));
        let to = self.get_mut(&(k ^ 1)).map(|v| *v = v.wrapping_add(1));
        from.is_some() && to.is_some()
    }
}

/// Defines one measured function per operation for a map type, named `{prefix}_{op}`.
macro_rules! measured {
    ($prefix:ident, $map:ty) => {
        mod $prefix {
            use super::*;

            #[inline(never)]
            pub fn get(m: &mut $map, keys: &[u64]) -> usize {
                keys.iter().filter(|&&k| Ops::get(m, k)).count()
            }
            #[inline(never)]
            pub fn update(m: &mut $map, keys: &[u64]) -> usize {
                keys.iter().filter(|&&k| Ops::update(m, k)).count()
            }
            /// Inserts absent keys (`k + N`), the table having room for them.
            #[inline(never)]
            pub fn insert(m: &mut $map, keys: &[u64]) -> usize {
                keys.iter().filter(|&&k| Ops::insert(m, k + N)).count()
            }
            /// Removes the keys `insert` added.
            #[inline(never)]
            pub fn remove(m: &mut $map, keys: &[u64]) -> usize {
                keys.iter().filter(|&&k| Ops::remove(m, k + N)).count()
            }
            #[inline(never)]
            pub fn read(m: &mut $map, keys: &[u64]) -> usize {
                keys.iter().filter(|&&k| Ops::read(m, k)).count()
            }
            #[inline(never)]
            pub fn load(m: &mut $map, keys: &[u64]) -> usize {
                keys.iter().filter(|&&k| Ops::load(m, k)).count()
            }
            #[inline(never)]
            pub fn entry(m: &mut $map, keys: &[u64]) -> usize {
                keys.iter().filter(|&&k| Ops::entry(m, k)).count()
            }
            /// Every key and its neighbour `k ^ 1` are present (the keys come in pairs).
            #[inline(never)]
            pub fn transfer(m: &mut $map, keys: &[u64]) -> usize {
                keys.iter().filter(|&&k| Ops::transfer(m, k)).count()
            }
            /// Inserts every key into an empty map of the same shape, which grows (and so
            /// rehashes) as it fills: RapidGrow's cost per insert, growth included.
            #[inline(never)]
            pub fn grow(mut m: $map, keys: &[u64]) -> usize {
                keys.iter().filter(|&&k| Ops::insert(&mut m, k)).count()
            }

            pub fn run(mut m: $map, empty: $map, keys: &[u64]) {
                let start = Instant::now();
                let done = black_box(grow(empty, keys));
                let ns = start.elapsed().as_nanos() as f64 / keys.len() as f64;
                assert_eq!(done, keys.len(), "{}::grow", stringify!($prefix));
                eprintln!("{:>18}   grow: {ns:6.1} ns/op", stringify!($prefix));
                for &k in keys {
                    Ops::insert(&mut m, k);
                }
                for (name, f) in [
                    ("get", get as fn(&mut $map, &[u64]) -> usize),
                    ("update", update),
                    ("insert", insert),
                    ("remove", remove),
                    ("read", read),
                    ("load", load),
                    ("entry", entry),
                    ("transfer", transfer),
                ] {
                    let start = Instant::now();
                    let done = black_box(f(&mut m, keys));
                    let ns = start.elapsed().as_nanos() as f64 / keys.len() as f64;
                    assert_eq!(done, keys.len(), "{}::{name}", stringify!($prefix));
                    eprintln!("{:>18} {name:>6}: {ns:6.1} ns/op", stringify!($prefix));
                }
            }
        }
    };
}

measured!(mapsafe_plain, EntryMap);
measured!(mapsafe_versioned, VersionedEntryMap);
measured!(dashmap_std, Dash);
measured!(dashmap_foldhash, DashFold);
measured!(hashbrown_unsync, Brown);
measured!(engine_plain_64, EnginePlain);
measured!(engine_versioned_64, EngineVersioned);
measured!(dashmap_foldhash_64, DashFold64);
measured!(engine_unprobed_64, EngineUnprobed);

fn main() {
    // Spread-out keys, so that every shard and every probe position is used, in pairs `k` and
    // `k ^ 1` (for `transfer`).
    let keys: Vec<u64> = (0..N)
        .map(|i| ((i >> 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16) << 1 | (i & 1))
        .collect();
    let cap = 4 * N as usize;
    // Each map twice: with room for every key, and empty (for `grow`).
    let [m, e] = [cap, 0].map(EntryMap::with_capacity);
    mapsafe_plain::run(m, e, &keys);
    let [m, e] = [cap, 0].map(VersionedEntryMap::with_capacity);
    mapsafe_versioned::run(m, e, &keys);
    let [m, e] = [cap, 0].map(Dash::with_capacity);
    dashmap_std::run(m, e, &keys);
    let hasher = DefaultHasher::default;
    let [m, e] = [cap, 0].map(|c| DashFold::with_capacity_and_hasher(c, hasher()));
    dashmap_foldhash::run(m, e, &keys);
    let [m, e] = [cap, 0].map(|c| Brown::with_capacity_and_hasher(c, hasher()));
    hashbrown_unsync::run(m, e, &keys);
    // Engine against engine: the same hasher and 64 shards on both sides.
    let [m, e] = [cap, 0].map(|c| EnginePlain::with_shards_capacity_and_hasher(64, c, hasher()));
    engine_plain_64::run(m, e, &keys);
    let [m, e] =
        [cap, 0].map(|c| EngineVersioned::with_shards_capacity_and_hasher(64, c, hasher()));
    engine_versioned_64::run(m, e, &keys);
    let [m, e] = [cap, 0].map(|c| EngineUnprobed::with_shards_capacity_and_hasher(64, c, hasher()));
    engine_unprobed_64::run(m, e, &keys);
    let [m, e] = [cap, 0]
        .map(|c| DashFold64::with_capacity_and_hasher_and_shard_amount(c, Fold64(hasher()), 64));
    dashmap_foldhash_64::run(m, e, &keys);
}
