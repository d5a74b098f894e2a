//! What the checker drives: the operations of a map, with the revision each write was given.
//!
//! The engine implements it through its crate-private stamped variants, so the checker sees the
//! same code paths users call. The trait is public (hidden) so that the checker's own tests can
//! drive deliberately broken engines through it.

use core::fmt::Debug;
use core::hash::BuildHasher;

use crate::map::ShardedMap;
use crate::record::{Plain, Record, VersionedMode};
use crate::types::{Conflict, LoadOrStore};

/// The key type of a target's records.
pub type KeyOf<T> = <<T as Target>::Record as Record>::Key;

/// A closure that edits a record in place, as `update` hands it over.
pub type EditFn<'f, R> = dyn for<'a> FnMut(<R as Record>::Mut<'a>) + 'f;

/// A map the checker can drive. Revisions are `0` on a map without them.
///
/// Implemented for [`ShardedMap`] in both modes; implement it for another engine only to test the
/// checker itself.
#[doc(hidden)]
#[allow(clippy::len_without_is_empty)] // mirrors the map's API only as far as the checker needs
pub trait Target {
    /// The record type.
    type Record: Record + Clone + PartialEq + Debug;
    /// Whether writes carry revisions (and `compare_and_swap` exists).
    const VERSIONED: bool;
    /// Number of shards.
    fn shard_count(&self) -> usize;
    /// The shard `key` lives in (used to force hot keys into one shard).
    fn shard_of(&self, key: &KeyOf<Self>) -> usize;
    /// `get` (plain) or `get_versioned` (versioned).
    fn get(&self, key: &KeyOf<Self>) -> Option<(Self::Record, u64)>;
    /// `contains_key`.
    fn contains_key(&self, key: &KeyOf<Self>) -> bool;
    /// `insert`, with the write's revision.
    fn insert(&self, record: Self::Record) -> (Option<Self::Record>, u64);
    /// `load_or_store`, with the stored record's revision.
    fn load_or_store(&self, record: Self::Record) -> (LoadOrStore<Self::Record>, u64);
    /// `update`, with the write's revision; `None` when absent.
    fn update(&self, key: &KeyOf<Self>, edit: &mut EditFn<'_, Self::Record>) -> Option<u64>;
    /// `remove`, with the removal's revision.
    fn remove(&self, key: &KeyOf<Self>) -> Option<(Self::Record, u64)>;
    /// `compare_and_swap`; `None` on a map without revisions. (Named apart from the map's own
    /// methods so that rustc never suggests this hidden trait to a user of a plain map.)
    fn try_swap(
        &self,
        expected: u64,
        record: Self::Record,
    ) -> Option<Result<u64, Conflict<Self::Record>>>;
    /// `retain`.
    fn retain(&self, keep: &mut dyn FnMut(&Self::Record) -> bool);
    /// `clear`.
    fn clear(&self);
    /// `snapshot`: every record with its revision, and the snapshot's version.
    fn snapshot(&self) -> (Vec<(Self::Record, u64)>, u64);
    /// `version()` (0 on a map without revisions).
    fn latest_revision(&self) -> u64;
    /// `len()`.
    fn len(&self) -> usize;
    /// `verify_consistency`, its error rendered.
    fn verify(&self) -> Result<(), String>;
}

/// The operations both modes share.
macro_rules! common_ops {
    () => {
        fn shard_count(&self) -> usize {
            ShardedMap::shard_count(self)
        }

        fn shard_of(&self, key: &R::Key) -> usize {
            self.shard_index(self.hash(key))
        }

        fn contains_key(&self, key: &R::Key) -> bool {
            ShardedMap::contains_key(self, key)
        }

        fn insert(&self, record: R) -> (Option<R>, u64) {
            self.insert_with_revision(record)
        }

        fn load_or_store(&self, record: R) -> (LoadOrStore<R>, u64) {
            self.load_or_store_with_revision(record)
        }

        fn update(&self, key: &R::Key, edit: &mut EditFn<'_, R>) -> Option<u64> {
            self.update_with_revision(key, |view| edit(view))
                .map(|((), revision)| revision)
        }

        fn remove(&self, key: &R::Key) -> Option<(R, u64)> {
            self.remove_with_revision(key, |_| true)
        }

        fn retain(&self, keep: &mut dyn FnMut(&R) -> bool) {
            ShardedMap::retain(self, keep)
        }

        fn clear(&self) {
            ShardedMap::clear(self)
        }

        fn len(&self) -> usize {
            ShardedMap::len(self)
        }

        fn verify(&self) -> Result<(), String> {
            self.verify_consistency()
                .map(drop)
                .map_err(|err| err.to_string())
        }
    };
}

impl<R, S> Target for ShardedMap<R, Plain, S>
where
    R: Record + Clone + PartialEq + Debug,
    S: BuildHasher + Clone,
{
    type Record = R;
    const VERSIONED: bool = false;

    common_ops!();

    fn get(&self, key: &R::Key) -> Option<(R, u64)> {
        ShardedMap::get(self, key).map(|record| (record, 0))
    }

    fn try_swap(&self, _: u64, _: R) -> Option<Result<u64, Conflict<R>>> {
        None
    }

    fn snapshot(&self) -> (Vec<(R, u64)>, u64) {
        let snapshot = ShardedMap::snapshot(self);
        (snapshot.into_iter().map(|record| (record, 0)).collect(), 0)
    }

    fn latest_revision(&self) -> u64 {
        0
    }
}

impl<R, S> Target for ShardedMap<R, VersionedMode, S>
where
    R: Record + Clone + PartialEq + Debug,
    S: BuildHasher + Clone,
{
    type Record = R;
    const VERSIONED: bool = true;

    common_ops!();

    fn get(&self, key: &R::Key) -> Option<(R, u64)> {
        self.get_versioned(key).map(|v| (v.value, v.version))
    }

    fn try_swap(&self, expected: u64, record: R) -> Option<Result<u64, Conflict<R>>> {
        Some(ShardedMap::compare_and_swap(self, expected, record))
    }

    fn snapshot(&self) -> (Vec<(R, u64)>, u64) {
        let snapshot = ShardedMap::snapshot(self);
        let records = snapshot
            .iter_versioned()
            .map(|v| (v.value.clone(), v.version))
            .collect();
        (records, snapshot.version())
    }

    fn latest_revision(&self) -> u64 {
        ShardedMap::version(self)
    }
}
