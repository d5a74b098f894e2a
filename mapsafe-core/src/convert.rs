//! Bulk operations and conversions: collecting into a map, extending it, consuming it, cloning
//! it at one instant, and managing its capacity.

use core::hash::BuildHasher;

use crate::map::ShardedMap;
use crate::record::{Mode, Record};
use crate::reentry::Op;
use crate::shard::shrink;
use crate::snapshot::{IntoIter, copy_table};

impl<R: Record, M: Mode, S: BuildHasher + Default> FromIterator<R> for ShardedMap<R, M, S> {
    /// Collects records into a new map with the default shard count; a later record replaces
    /// an earlier one with the same key (as `insert` does).
    fn from_iter<I: IntoIterator<Item = R>>(records: I) -> Self {
        let records = records.into_iter();
        let mut map = Self::with_capacity(records.size_hint().0);
        map.extend(records);
        map
    }
}

impl<R: Record, M: Mode, S: BuildHasher> Extend<R> for ShardedMap<R, M, S> {
    /// Inserts every record, as `insert` does (a record replaces the one with its key).
    fn extend<I: IntoIterator<Item = R>>(&mut self, records: I) {
        (&*self).extend(records);
    }
}

impl<R: Record, M: Mode, S: BuildHasher> Extend<R> for &ShardedMap<R, M, S> {
    /// Inserts every record through a shared reference, so a map behind an `Arc` can be
    /// bulk-loaded.
    fn extend<I: IntoIterator<Item = R>>(&mut self, records: I) {
        for record in records {
            let _ = self.insert(record);
        }
    }
}

impl<R: Record + Clone, M: Mode, S: BuildHasher + Clone> Clone for ShardedMap<R, M, S> {
    /// A point-in-time copy: the records the map held at one instant (taken as a
    /// [`snapshot`](ShardedMap::snapshot) is, with the same bounded stall), with the same
    /// shard count and hasher, and on a versioned map the same revisions and `version()`.
    ///
    /// # Panics
    ///
    /// If called from inside an operation on this map, or if cloning a record panics.
    #[track_caller]
    fn clone(&self) -> Self {
        let _scope = self.scope(Op::Clone);
        self.count_pass(|p| &p.snapshots);
        let (tables, version) = self.run_pass(copy_table::<R, M>);
        let copy =
            Self::with_shards_capacity_and_hasher(self.shard_count(), 0, self.hasher().clone());
        for (slot, table) in copy.shards.iter().zip(tables) {
            *slot.write() = table;
        }
        copy.shared().clock.set_revision(version);
        copy
    }
}

impl<R: Record, M: Mode, S: BuildHasher> ShardedMap<R, M, S> {
    /// How many records the map can hold before some shard must grow (the sum over shards).
    #[track_caller]
    pub fn capacity(&self) -> usize {
        let _scope = self.scope(Op::Capacity);
        self.shards.iter().map(|s| s.read().capacity()).sum()
    }

    /// Makes room for `additional` more records, spread evenly over the shards, one shard at a
    /// time.
    #[track_caller]
    pub fn reserve(&self, additional: usize) {
        let _scope = self.scope(Op::Reserve);
        let per_shard = additional.div_ceil(self.shard_count());
        for slot in self.shards.iter() {
            self.make_room(&mut slot.write(), per_shard);
        }
    }

    /// Shrinks every shard's table to fit its records, one shard at a time.
    ///
    /// Shards never shrink on their own: like `std`'s and hashbrown's maps, a table keeps the
    /// room it grew to, so a map that is refilled after a mass removal does not pay for growth
    /// again. After removing most records for good, call this to give the memory back.
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    ///
    /// let map: ShardedMap<(u32, u32)> = (0..10_000).map(|i| (i, i)).collect();
    /// map.retain(|&(k, _)| k < 10);
    /// let before = map.capacity();
    /// map.shrink_to_fit();
    /// assert!(map.capacity() < before / 10);
    /// assert_eq!(map.len(), 10);
    /// ```
    #[track_caller]
    pub fn shrink_to_fit(&self) {
        let _scope = self.scope(Op::ShrinkToFit);
        for slot in self.shards.iter() {
            shrink(&mut slot.write(), &|key| self.hash(key));
        }
    }
}

impl<R: Record, M: Mode, S> IntoIterator for ShardedMap<R, M, S> {
    type Item = R;
    type IntoIter = IntoIter<R, M>;

    /// Consumes the map, yielding its records in no particular order.
    fn into_iter(self) -> IntoIter<R, M> {
        IntoIter::new(
            self.shards
                .into_vec()
                .into_iter()
                .map(|slot| slot.lock.into_inner())
                .collect(),
        )
    }
}
