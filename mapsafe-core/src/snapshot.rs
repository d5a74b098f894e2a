//! Point-in-time snapshots.

use core::fmt;
use core::iter::FusedIterator;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::map::Table;
use crate::record::{Mode, Plain, Record, Revisioned};
use crate::sync::Mutex;
use crate::types::Versioned;

/// One shard's copy: each record with the stamp of its last write.
type ShardCopy<R, M> = Vec<(R, <M as Mode>::Stamp)>;

/// A shard's copy once taken, `None` until then.
type Slot<R, M> = Mutex<Option<ShardCopy<R, M>>>;

/// A shard copy owed to a snapshot in progress. Type-erased in the shard so that writers, whose
/// records need not be `Clone`, can still serve a snapshot (whose records must be).
pub(crate) trait PendingCopy<R: Record, M: Mode>: Send + Sync {
    /// Copies `table` as shard `idx` unless it was copied already.
    fn copy(&self, idx: usize, table: &Table<R, M>);
}

/// The shared state of one snapshot in progress.
pub(crate) struct SnapshotJob<R: Record, M: Mode> {
    /// Cleared once the snapshot has all its copies (or gave up): a shard still marked with a
    /// closed job is then just unmarked by its next writer.
    open: AtomicBool,
    slots: Box<[Slot<R, M>]>,
}

impl<R: Record, M: Mode> SnapshotJob<R, M> {
    pub(crate) fn new(shards: usize) -> Self {
        SnapshotJob {
            open: AtomicBool::new(true),
            slots: (0..shards).map(|_| Mutex::new(None)).collect(),
        }
    }

    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::Release);
    }

    /// Closes the job when dropped, so a snapshot that panics never leaves writers copying for
    /// nobody.
    pub(crate) fn close_on_drop(&self) -> impl Drop + '_ {
        struct Close<'a, R: Record, M: Mode>(&'a SnapshotJob<R, M>);
        impl<R: Record, M: Mode> Drop for Close<'_, R, M> {
            fn drop(&mut self) {
                self.0.close();
            }
        }
        Close(self)
    }

    /// Every shard's copy, in shard order. Call after every shard was copied.
    pub(crate) fn take_copies(&self) -> Vec<ShardCopy<R, M>> {
        self.slots
            .iter()
            .map(|slot| {
                slot.lock()
                    .take()
                    .expect("mapsafe bug: a snapshot finished with a shard left uncopied")
            })
            .collect()
    }
}

impl<R: Record + Clone, M: Mode> PendingCopy<R, M> for SnapshotJob<R, M> {
    fn copy(&self, idx: usize, table: &Table<R, M>) {
        if !self.open.load(Ordering::Acquire) {
            return;
        }
        let mut slot = self.slots[idx].lock();
        if slot.is_none() {
            *slot = Some(table.iter().map(|e| (e.record.clone(), e.stamp)).collect());
        }
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
            inner: self.shards.iter().flatten(),
            remaining: self.len,
        }
    }
}

impl<R> Snapshot<R, Revisioned> {
    /// The revision this snapshot stands at: it holds exactly the effects of the writes with
    /// revision ≤ this.
    #[inline]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The records with the revision of their last write, in no particular order.
    pub fn iter_versioned(&self) -> impl ExactSizeIterator<Item = Versioned<&R>> + '_ {
        self.iter_stamped().map(|(value, version)| Versioned {
            version: *version,
            value,
        })
    }

    fn iter_stamped(&self) -> impl ExactSizeIterator<Item = (&R, &u64)> + '_ {
        StampedIter {
            inner: self.shards.iter().flatten(),
            remaining: self.len,
        }
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

/// Iterator over a snapshot's records, from [`Snapshot::iter`].
pub struct Iter<'a, R, M: Mode> {
    inner: core::iter::Flatten<core::slice::Iter<'a, ShardCopy<R, M>>>,
    remaining: usize,
}

impl<'a, R, M: Mode> Iterator for Iter<'a, R, M> {
    type Item = &'a R;

    #[inline]
    fn next(&mut self) -> Option<&'a R> {
        let (record, _) = self.inner.next()?;
        self.remaining -= 1;
        Some(record)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<R, M: Mode> ExactSizeIterator for Iter<'_, R, M> {}
impl<R, M: Mode> FusedIterator for Iter<'_, R, M> {}

impl<R, M: Mode> fmt::Debug for Iter<'_, R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

struct StampedIter<'a, R> {
    inner: core::iter::Flatten<core::slice::Iter<'a, ShardCopy<R, Revisioned>>>,
    remaining: usize,
}

impl<'a, R> Iterator for StampedIter<'a, R> {
    type Item = (&'a R, &'a u64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (record, stamp) = self.inner.next()?;
        self.remaining -= 1;
        Some((record, stamp))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<R> ExactSizeIterator for StampedIter<'_, R> {}

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
