//! The `rayon` feature: parallel iteration of snapshots, and maps collected and extended from
//! parallel iterators.
//!
//! A [`Snapshot`] is [`IntoParallelIterator`] by value (yielding records) and by reference
//! (yielding `&R`, so `snapshot.par_iter()` works); a [`ShardedMap`] is
//! [`FromParallelIterator`] and [`ParallelExtend`], inserting from every rayon thread at once.
//!
//! # Example
//!
//! ```
//! use mapsafe_core::ShardedMap;
//! use rayon::prelude::*;
//!
//! let squares: ShardedMap<(u64, u64)> = (0..1000_u64).into_par_iter().map(|i| (i, i * i)).collect();
//! let snapshot = squares.snapshot();
//! let sum: u64 = snapshot.par_iter().map(|&(_, sq)| sq).sum();
//! assert_eq!(sum, snapshot.iter().map(|&(_, sq)| sq).sum());
//! ```

use core::fmt;
use core::hash::BuildHasher;

use ::rayon::iter::plumbing::UnindexedConsumer;
use ::rayon::iter::{FromParallelIterator, IntoParallelIterator, ParallelExtend, ParallelIterator};

use crate::map::ShardedMap;
use crate::record::{Mode, Record};
use crate::reentry::Op;
use crate::snapshot::Snapshot;

/// Parallel iterator over a snapshot's records, from `snapshot.into_par_iter()`.
pub struct IntoParIter<R: Send> {
    records: ::rayon::vec::IntoIter<R>,
}

/// Parallel iterator over references to a snapshot's records, from `snapshot.par_iter()`.
pub struct ParIter<'a, R: Sync> {
    records: ::rayon::vec::IntoIter<&'a R>,
}

impl<R: Record, M: Mode, S> IntoParallelIterator for Snapshot<R, M, S> {
    type Item = R;
    type Iter = IntoParIter<R>;

    /// The records, in no particular order, split among rayon's threads.
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    /// use rayon::prelude::*;
    ///
    /// let map: ShardedMap<(u32, String)> = (0..100).map(|i| (i, i.to_string())).collect();
    /// let names: Vec<String> = map.snapshot().into_par_iter().map(|(_, name)| name).collect();
    /// assert_eq!(names.len(), 100);
    /// ```
    fn into_par_iter(self) -> IntoParIter<R> {
        // The shards' tables are private to the snapshot: moving the records (not copying
        // them) into one vector is what splits evenly among threads.
        let records: Vec<R> = self.into_iter().collect();
        IntoParIter {
            records: records.into_par_iter(),
        }
    }
}

impl<'a, R: Record, M: Mode, S> IntoParallelIterator for &'a Snapshot<R, M, S> {
    type Item = &'a R;
    type Iter = ParIter<'a, R>;

    /// References to the records, in no particular order, split among rayon's threads; also
    /// reached as `snapshot.par_iter()`.
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    /// use rayon::prelude::*;
    ///
    /// let map: ShardedMap<(u32, u64)> = (0..100).map(|i| (i, u64::from(i))).collect();
    /// let snapshot = map.snapshot();
    /// let evens = snapshot.par_iter().filter(|(k, _)| k % 2 == 0).count();
    /// assert_eq!(evens, 50);
    /// ```
    fn into_par_iter(self) -> ParIter<'a, R> {
        let records: Vec<&'a R> = self.iter().collect();
        ParIter {
            records: records.into_par_iter(),
        }
    }
}

impl<R: Send> ParallelIterator for IntoParIter<R> {
    type Item = R;

    fn drive_unindexed<C: UnindexedConsumer<R>>(self, consumer: C) -> C::Result {
        self.records.drive_unindexed(consumer)
    }

    fn opt_len(&self) -> Option<usize> {
        self.records.opt_len()
    }
}

impl<'a, R: Sync> ParallelIterator for ParIter<'a, R> {
    type Item = &'a R;

    fn drive_unindexed<C: UnindexedConsumer<&'a R>>(self, consumer: C) -> C::Result {
        self.records.drive_unindexed(consumer)
    }

    fn opt_len(&self) -> Option<usize> {
        self.records.opt_len()
    }
}

impl<R: Send> fmt::Debug for IntoParIter<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoParIter")
            .field("remaining", &self.records.opt_len())
            .finish_non_exhaustive()
    }
}

impl<R: Sync> fmt::Debug for ParIter<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParIter")
            .field("remaining", &self.records.opt_len())
            .finish_non_exhaustive()
    }
}

impl<R: Record, M: Mode, S: BuildHasher + Default + Sync> FromParallelIterator<R>
    for ShardedMap<R, M, S>
{
    /// Collects records from a parallel iterator into a new map with the default shard
    /// count, inserting from every rayon thread at once. Of several records with the same key,
    /// one is kept and which one is not specified (the threads race; collect sequentially for
    /// "the last one wins").
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    /// use rayon::prelude::*;
    ///
    /// let map: ShardedMap<(u32, u32)> = (0..10_000).into_par_iter().map(|i| (i, i % 7)).collect();
    /// assert_eq!(map.len(), 10_000);
    /// assert_eq!(map.get(&20), Some((20, 6)));
    /// ```
    fn from_par_iter<I: IntoParallelIterator<Item = R>>(records: I) -> Self {
        let records = records.into_par_iter();
        let map = Self::with_capacity(records.opt_len().unwrap_or(0));
        (&map).par_extend(records);
        map
    }
}

impl<R: Record, M: Mode, S: BuildHasher + Sync> ParallelExtend<R> for ShardedMap<R, M, S> {
    /// Inserts every record from every rayon thread at once, as `insert` does (a record
    /// replaces the one with its key; among records of the input with the same key, which one
    /// is kept is not specified).
    #[track_caller]
    fn par_extend<I: IntoParallelIterator<Item = R>>(&mut self, records: I) {
        (&*self).par_extend(records);
    }
}

impl<R: Record, M: Mode, S: BuildHasher + Sync> ParallelExtend<R> for &ShardedMap<R, M, S> {
    /// Inserts every record from every rayon thread at once through a shared reference, so a
    /// map behind an `Arc` can be bulk-loaded in parallel (see the `ShardedMap` impl).
    ///
    /// # Panics
    ///
    /// If called from inside an operation on this map: the inserts run on other threads,
    /// which would wait forever for the lock this thread holds.
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    /// use rayon::prelude::*;
    ///
    /// let map: ShardedMap<(u32, u32)> = ShardedMap::new();
    /// let mut shared = &map;
    /// shared.par_extend((0..1000).into_par_iter().map(|i| (i, i)));
    /// assert_eq!(map.len(), 1000);
    /// ```
    #[track_caller]
    fn par_extend<I: IntoParallelIterator<Item = R>>(&mut self, records: I) {
        // Checked here, on the calling thread: the inserts run on rayon's threads, where the
        // re-entrancy check cannot see that this thread holds one of the map's locks. The
        // scope ends at once, so the inserts this thread runs itself as a rayon worker pass.
        drop(self.scope(Op::ParExtend));
        let map: &ShardedMap<R, M, S> = self;
        records.into_par_iter().for_each(|record| {
            let _ = map.insert(record);
        });
    }
}
