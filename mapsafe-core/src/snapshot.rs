//! Point-in-time snapshots.

use core::fmt;
use core::hash::BuildHasher;
use core::iter::FusedIterator;

use crate::map::ShardedMap;
use crate::record::{Mode, Plain, Record, VersionedMode};
use crate::reentry;
use crate::shard::ShardView;
use crate::types::Versioned;

/// One shard's copy: each record with the revision of its last write.
pub(crate) type ShardCopy<R, M> = Vec<(R, <M as Mode>::Revision)>;

/// A snapshot's work on one shard: copy it.
fn copy_shard<R: Record + Clone, M: Mode>(shard: ShardView<'_, R, M>) -> ShardCopy<R, M> {
    shard
        .table
        .iter()
        .map(|e| (e.record.clone(), e.revision))
        .collect()
}

impl<R: Record, M: Mode, S: BuildHasher> ShardedMap<R, M, S> {
    /// A point-in-time copy of the map: exactly the records the map held at one instant between
    /// this call's start and its end, however many threads write meanwhile.
    ///
    /// # Cost and stall
    ///
    /// The instant is fixed by one atomic step on the map's clock, which takes no lock and
    /// copies nothing. The shards are then copied one at a time under their read lock, never
    /// holding one while waiting for another. A writer that reaches a shard not yet copied
    /// copies it first (copy-before-write), under its write lock: the longest any call waits
    /// for a snapshot is one shard's copy, about `len() / shard_count()` records (a reader of
    /// that shard waits for it too), never the whole map nor someone else's slow `retain`.
    /// Snapshots of the same map run one at a time.
    ///
    /// # Panics
    ///
    /// If called from inside an operation on this map, or if cloning a record panics: then
    /// the snapshot panics with that record's panic, whichever thread was copying it; the map
    /// is left unchanged and no writer is affected.
    #[track_caller]
    pub fn snapshot(&self) -> Snapshot<R, M>
    where
        R: Clone,
    {
        let _scope = reentry::enter(self.id(), "snapshot");
        let (copies, version) = self.run_pass(copy_shard::<R, M>);
        Snapshot::from_parts(copies, version)
    }
}

/// An owned, point-in-time copy of a map, from `snapshot()`.
///
/// It holds exactly the records the map held at one instant. On a versioned map,
/// [`version`](Snapshot::version) says which: the snapshot holds exactly the effects of the writes
/// with revision ≤ `version()`.
///
/// # Example
///
/// ```
/// use mapsafe_core::ShardedMap;
///
/// let map: ShardedMap<(u32, u32)> = ShardedMap::new();
/// for i in 0..10 {
///     let _ = map.insert((i, i * i));
/// }
/// let snapshot = map.snapshot();
/// map.clear();
/// assert_eq!(snapshot.len(), 10);
/// let sum: u32 = snapshot.iter().map(|(_, sq)| sq).sum();
/// assert_eq!(sum, 285);
/// ```
pub struct Snapshot<R, M: Mode = Plain> {
    shards: Vec<ShardCopy<R, M>>,
    len: usize,
    version: u64,
}

impl<R, M: Mode> Snapshot<R, M> {
    pub(crate) fn from_parts(shards: Vec<ShardCopy<R, M>>, version: u64) -> Self {
        let len = shards.iter().map(Vec::len).sum();
        Snapshot {
            shards,
            len,
            version,
        }
    }

    /// The number of records.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` if the snapshot holds no record.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The records, in no particular order.
    pub fn iter(&self) -> Iter<'_, R, M> {
        Iter {
            entries: self.entries(),
        }
    }

    /// Every record with its stamp, in shard order.
    fn entries(&self) -> Entries<'_, R, M> {
        Entries {
            inner: self.shards.iter().flatten(),
            remaining: self.len,
        }
    }
}

impl<R> Snapshot<R, VersionedMode> {
    /// The revision this snapshot stands at: it holds exactly the effects of the writes with
    /// revision ≤ this.
    #[inline]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The records with the revision of their last write, in no particular order.
    pub fn iter_versioned(&self) -> impl ExactSizeIterator<Item = Versioned<&R>> + '_ {
        self.entries().map(|(value, version)| Versioned {
            version: *version,
            value,
        })
    }
}

impl<R: Clone, M: Mode> Clone for Snapshot<R, M> {
    fn clone(&self) -> Self {
        Snapshot {
            shards: self.shards.clone(),
            len: self.len,
            version: self.version,
        }
    }
}

impl<R: fmt::Debug, M: Mode> fmt::Debug for Snapshot<R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Snapshot");
        d.field("len", &self.len);
        if M::VERSIONED {
            d.field("version", &self.version);
        }
        d.field("records", &DebugRecords(self)).finish()
    }
}

struct DebugRecords<'a, R, M: Mode>(&'a Snapshot<R, M>);

impl<R: fmt::Debug, M: Mode> fmt::Debug for DebugRecords<'_, R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

/// Every record of a snapshot with its stamp: the one walk `iter` and `iter_versioned` share.
struct Entries<'a, R, M: Mode> {
    inner: core::iter::Flatten<core::slice::Iter<'a, ShardCopy<R, M>>>,
    remaining: usize,
}

impl<'a, R, M: Mode> Iterator for Entries<'a, R, M> {
    type Item = &'a (R, M::Revision);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.inner.next()?;
        self.remaining -= 1;
        Some(entry)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<R, M: Mode> ExactSizeIterator for Entries<'_, R, M> {}

/// Iterator over a snapshot's records, from [`Snapshot::iter`].
pub struct Iter<'a, R, M: Mode> {
    entries: Entries<'a, R, M>,
}

impl<'a, R, M: Mode> Iterator for Iter<'a, R, M> {
    type Item = &'a R;

    #[inline]
    fn next(&mut self) -> Option<&'a R> {
        self.entries.next().map(|(record, _)| record)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl<R, M: Mode> ExactSizeIterator for Iter<'_, R, M> {}
impl<R, M: Mode> FusedIterator for Iter<'_, R, M> {}

impl<R, M: Mode> fmt::Debug for Iter<'_, R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.entries.remaining)
            .finish_non_exhaustive()
    }
}

/// Owning iterator over a snapshot's records, from `Snapshot::into_iter`.
pub struct IntoIter<R, M: Mode> {
    inner: core::iter::Flatten<std::vec::IntoIter<ShardCopy<R, M>>>,
    remaining: usize,
}

impl<R, M: Mode> Iterator for IntoIter<R, M> {
    type Item = R;

    #[inline]
    fn next(&mut self) -> Option<R> {
        let (record, _) = self.inner.next()?;
        self.remaining -= 1;
        Some(record)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<R, M: Mode> ExactSizeIterator for IntoIter<R, M> {}
impl<R, M: Mode> FusedIterator for IntoIter<R, M> {}

impl<R, M: Mode> fmt::Debug for IntoIter<R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl<'a, R, M: Mode> IntoIterator for &'a Snapshot<R, M> {
    type Item = &'a R;
    type IntoIter = Iter<'a, R, M>;

    fn into_iter(self) -> Iter<'a, R, M> {
        self.iter()
    }
}

impl<R, M: Mode> IntoIterator for Snapshot<R, M> {
    type Item = R;
    type IntoIter = IntoIter<R, M>;

    fn into_iter(self) -> IntoIter<R, M> {
        IntoIter {
            remaining: self.len,
            inner: self.shards.into_iter().flatten(),
        }
    }
}
