//! Point-in-time snapshots: `snapshot()` and what it returns.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::iter::FusedIterator;

use hashbrown::hash_table;

use crate::hasher::DefaultHasher;
use crate::map::ShardedMap;
use crate::record::{Mode, Plain, Record, VersionedMode};
use crate::reentry::Op;
use crate::shard::{Entry, ShardView, Table, shard_of, shard_shift};
use crate::types::Versioned;

/// A pass's work for a snapshot (and a map's `Clone`): copy the shard's table as it is. The
/// copy keeps the table's layout (hashbrown clones a table slot by slot, with no rehash and no
/// call to `Hash`), so a snapshot is looked up as fast as the map.
pub(crate) fn copy_table<R: Record + Clone, M: Mode>(shard: ShardView<'_, R, M>) -> Table<R, M> {
    shard.table.clone()
}

impl<R: Record + Clone, M: Mode> Clone for Entry<R, M> {
    fn clone(&self) -> Self {
        Entry {
            revision: self.revision,
            record: self.record.clone(),
        }
    }
}

impl<R: Record, M: Mode, S: BuildHasher + Clone> ShardedMap<R, M, S> {
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
    pub fn snapshot(&self) -> Snapshot<R, M, S>
    where
        R: Clone,
    {
        let _scope = self.scope(Op::Snapshot);
        self.count_pass(|p| &p.snapshots);
        let (shards, version) = self.run_pass(copy_table::<R, M>);
        Snapshot {
            len: shards.iter().map(Table::len).sum(),
            shards,
            version,
            hasher: self.hasher().clone(),
        }
    }
}

/// An owned, point-in-time copy of a map, from `snapshot()`.
///
/// It holds exactly the records the map held at one instant. On a versioned map,
/// [`version`](Snapshot::version) says which: the snapshot holds exactly the effects of the writes
/// with revision ≤ `version()`. It is looked up by key like the map ([`get`](Snapshot::get),
/// [`contains_key`](Snapshot::contains_key)), and two snapshots are equal when they hold the
/// same records, in whatever order.
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
/// assert_eq!(snapshot.get(&3), Some(&(3, 9)));
/// let sum: u32 = snapshot.iter().map(|(_, sq)| sq).sum();
/// assert_eq!(sum, 285);
/// ```
pub struct Snapshot<R: Record, M: Mode = Plain, S = DefaultHasher> {
    shards: Vec<Table<R, M>>,
    len: usize,
    version: u64,
    hasher: S,
}

impl<R: Record, M: Mode, S> Snapshot<R, M, S> {
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

    /// Every entry, in shard order.
    fn entries(&self) -> Entries<'_, R, M> {
        Entries {
            shards: self.shards.iter(),
            current: None,
            remaining: self.len,
        }
    }
}

impl<R: Record, M: Mode, S: BuildHasher> Snapshot<R, M, S> {
    fn find<Q>(&self, key: &Q) -> Option<&Entry<R, M>>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        self.shards[shard_of(hash, shard_shift(self.shards.len()))]
            .find(hash, |e| e.record.key().borrow() == key)
    }

    /// The record with this key, looked up (not scanned).
    pub fn get<Q>(&self, key: &Q) -> Option<&R>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).map(|e| &e.record)
    }

    /// `true` if the snapshot holds a record with this key.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).is_some()
    }
}

impl<R: Record, S> Snapshot<R, VersionedMode, S> {
    /// The revision this snapshot stands at: it holds exactly the effects of the writes with
    /// revision ≤ this.
    #[inline]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The records with the revision of their last write, in no particular order.
    pub fn iter_versioned(&self) -> impl ExactSizeIterator<Item = Versioned<&R>> + '_ {
        self.entries().map(|e| Versioned {
            version: e.revision,
            value: &e.record,
        })
    }
}

impl<R: Record, S: BuildHasher> Snapshot<R, VersionedMode, S> {
    /// The record with this key and the revision of its last write.
    pub fn get_versioned<Q>(&self, key: &Q) -> Option<Versioned<&R>>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).map(|e| Versioned {
            version: e.revision,
            value: &e.record,
        })
    }
}

impl<R: Record + Clone, M: Mode, S: Clone> Clone for Snapshot<R, M, S> {
    fn clone(&self) -> Self {
        Snapshot {
            shards: self.shards.clone(),
            len: self.len,
            version: self.version,
            hasher: self.hasher.clone(),
        }
    }
}

impl<R: Record + PartialEq, M: Mode, S: BuildHasher> PartialEq for Snapshot<R, M, S> {
    /// The same records (and, versioned, the same revisions), in whatever order.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self.entries().all(|e| {
                other
                    .find(e.record.key())
                    .is_some_and(|o| o.record == e.record && o.revision == e.revision)
            })
    }
}

impl<R: Record + Eq, M: Mode, S: BuildHasher> Eq for Snapshot<R, M, S> {}

impl<R: Record + fmt::Debug, M: Mode, S> fmt::Debug for Snapshot<R, M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Snapshot");
        d.field("len", &self.len);
        if M::VERSIONED {
            d.field("version", &self.version);
        }
        d.field("records", &DebugRecords(self)).finish()
    }
}

struct DebugRecords<'a, R: Record, M: Mode, S>(&'a Snapshot<R, M, S>);

impl<R: Record + fmt::Debug, M: Mode, S> fmt::Debug for DebugRecords<'_, R, M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

/// Every entry of a snapshot: the one walk `iter` and `iter_versioned` share.
struct Entries<'a, R: Record, M: Mode> {
    shards: core::slice::Iter<'a, Table<R, M>>,
    current: Option<hash_table::Iter<'a, Entry<R, M>>>,
    remaining: usize,
}

impl<'a, R: Record, M: Mode> Iterator for Entries<'a, R, M> {
    type Item = &'a Entry<R, M>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.current.as_mut().and_then(Iterator::next) {
                self.remaining -= 1;
                return Some(entry);
            }
            self.current = Some(self.shards.next()?.iter());
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<R: Record, M: Mode> ExactSizeIterator for Entries<'_, R, M> {}

/// Iterator over a snapshot's records, from [`Snapshot::iter`].
pub struct Iter<'a, R: Record, M: Mode> {
    entries: Entries<'a, R, M>,
}

impl<'a, R: Record, M: Mode> Iterator for Iter<'a, R, M> {
    type Item = &'a R;

    #[inline]
    fn next(&mut self) -> Option<&'a R> {
        self.entries.next().map(|e| &e.record)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl<R: Record, M: Mode> ExactSizeIterator for Iter<'_, R, M> {}
impl<R: Record, M: Mode> FusedIterator for Iter<'_, R, M> {}

impl<R: Record, M: Mode> fmt::Debug for Iter<'_, R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.entries.remaining)
            .finish_non_exhaustive()
    }
}

/// Owning iterator over a snapshot's records, from `Snapshot::into_iter`.
pub struct IntoIter<R: Record, M: Mode> {
    shards: std::vec::IntoIter<Table<R, M>>,
    current: Option<hash_table::IntoIter<Entry<R, M>>>,
    remaining: usize,
}

impl<R: Record, M: Mode> Iterator for IntoIter<R, M> {
    type Item = R;

    #[inline]
    fn next(&mut self) -> Option<R> {
        loop {
            if let Some(entry) = self.current.as_mut().and_then(Iterator::next) {
                self.remaining -= 1;
                return Some(entry.record);
            }
            self.current = Some(self.shards.next()?.into_iter());
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<R: Record, M: Mode> ExactSizeIterator for IntoIter<R, M> {}
impl<R: Record, M: Mode> FusedIterator for IntoIter<R, M> {}

impl<R: Record, M: Mode> fmt::Debug for IntoIter<R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl<R: Record, M: Mode> IntoIter<R, M> {
    /// The records of `tables`, consumed (also what a map's `into_iter` yields).
    pub(crate) fn new(tables: Vec<Table<R, M>>) -> Self {
        IntoIter {
            remaining: tables.iter().map(Table::len).sum(),
            shards: tables.into_iter(),
            current: None,
        }
    }
}

impl<'a, R: Record, M: Mode, S> IntoIterator for &'a Snapshot<R, M, S> {
    type Item = &'a R;
    type IntoIter = Iter<'a, R, M>;

    fn into_iter(self) -> Iter<'a, R, M> {
        self.iter()
    }
}

impl<R: Record, M: Mode, S> IntoIterator for Snapshot<R, M, S> {
    type Item = R;
    type IntoIter = IntoIter<R, M>;

    fn into_iter(self) -> IntoIter<R, M> {
        IntoIter::new(self.shards)
    }
}
