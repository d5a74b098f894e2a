//! The sharded map engine.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::mem;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry as TableEntry;

use crate::hasher::DefaultHasher;
use crate::pass::{Pass, PendingPass, ShardView};
use crate::record::{Mode, Plain, Record, Revisioned};
use crate::reentry::{self, ClosureScope};
use crate::snapshot::{Snapshot, copy_shard};
use crate::sync::{Mutex, RwLock, RwLockWriteGuard};
use crate::types::{Conflict, LoadOrStore, Versioned};

/// The largest number of shards a map may have.
pub const MAX_SHARDS: usize = 1024;

/// One stored record and the stamp of its last write. The key is not stored apart: the table
/// finds and rehashes entries through `record.key()`, so an entry is as small as dashmap's and an
/// insert clones no key (no allocation for a `String` key). `verify_consistency` still catches a
/// key that changed after insertion: the record is then no longer the one its key finds.
pub(crate) struct Entry<R: Record, M: Mode> {
    pub(crate) stamp: M::Stamp,
    pub(crate) record: R,
}

pub(crate) type Table<R, M> = HashTable<Entry<R, M>>;

/// What a shard lock protects.
pub(crate) struct Shard<R: Record, M: Mode> {
    pub(crate) table: Table<R, M>,
    /// A point-in-time pass (snapshot, verification) that has fixed its instant but not yet
    /// processed this shard: the next writer processes the shard for it before changing
    /// anything (work-before-write).
    pub(crate) pending: Option<Arc<dyn PendingPass<R, M>>>,
}

/// A shard with its size published for lock-free `len()`. Aligned to 128 bytes (two cache lines,
/// as crossbeam does on x86_64, because of the adjacent-line prefetcher) so that neighbouring
/// shards never share a line.
///
/// The lock and `len` fill the first line. The second line would be padding, so it carries the
/// map's revision counter (only shard 0's is used): every versioned write bumps it, so it must
/// not share a line with anything that is read on every operation, and keeping it here rather
/// than in a cache-padded field of the map keeps the map itself small (an empty map is no larger
/// than dashmap's).
#[repr(C, align(128))]
pub(crate) struct ShardSlot<R: Record, M: Mode> {
    pub(crate) lock: RwLock<Shard<R, M>>,
    /// `table.len()` as of the last write; written only under the write lock.
    pub(crate) len: AtomicUsize,
    /// The revision counter, in shard 0 only (`repr(C)` puts it after the lock and `len`; its
    /// alignment puts it on the next cache line).
    revision: RevisionCounter,
}

/// The revision counter, on a cache line of its own.
#[repr(align(64))]
#[derive(Default)]
struct RevisionCounter(AtomicU64);

/// A write lock on one shard that publishes the shard's size when released (also on unwind),
/// so `len()` never scans and never disagrees with the table after a panic.
pub(crate) struct ShardWrite<'a, R: Record, M: Mode> {
    guard: RwLockWriteGuard<'a, Shard<R, M>>,
    len: &'a AtomicUsize,
}

impl<R: Record, M: Mode> Deref for ShardWrite<'_, R, M> {
    type Target = Shard<R, M>;
    #[inline(always)]
    fn deref(&self) -> &Shard<R, M> {
        &self.guard
    }
}

impl<R: Record, M: Mode> DerefMut for ShardWrite<'_, R, M> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Shard<R, M> {
        &mut self.guard
    }
}

impl<R: Record, M: Mode> Drop for ShardWrite<'_, R, M> {
    #[inline(always)]
    fn drop(&mut self) {
        self.len.store(self.guard.table.len(), Ordering::Relaxed);
    }
}

/// A sharded concurrent map of records that carry their own key.
///
/// This is the engine behind every map `#[concurrent_map]` generates; it can also be used
/// directly with `(K, V)` pairs. Every method takes `&self`. No method returns a guard or a
/// reference into the map: reads return owned values or run a closure under the shard's lock.
///
/// - `R` is the record type (see [`Record`]).
/// - `M` is [`Plain`] or [`Revisioned`]; only revisioned maps have `version`, `get_versioned` and
///   `compare_and_swap`.
/// - `S` is the [`BuildHasher`]; each key is hashed once, the high bits choose the shard and the
///   same hash is reused by the shard's table.
///
/// # Re-entrancy
///
/// Calling a method that takes a shard lock (every lookup and write, `snapshot`,
/// `verify_consistency`) from inside a `read`, `update` or `retain` closure running on the same
/// map panics at once: it would otherwise deadlock on the lock the closure holds. The lock-free
/// `len`, `is_empty`, `shard_count` and `version` stay callable. A panic inside a closure
/// releases the lock and leaves the map consistent.
///
/// # Example
///
/// ```
/// use mapsafe_core::ShardedMap;
///
/// let map: ShardedMap<(String, u32)> = ShardedMap::new();
/// assert_eq!(map.insert(("apples".to_string(), 3)), None);
/// assert_eq!(map.update("apples", |n| { *n += 1; *n }), Some(4));
/// assert_eq!(map.read("apples", |(_, n)| *n), Some(4));
/// assert_eq!(map.len(), 1);
/// ```
pub struct ShardedMap<R: Record, M: Mode = Plain, S = DefaultHasher> {
    shards: Box<[ShardSlot<R, M>]>,
    /// `57 - log2(shards)`: the shard is taken from the `log2(shards)` hash bits just below the
    /// top 7, which hashbrown keeps for its control bytes.
    shift: u32,
    hasher: S,
    /// Point-in-time passes (snapshots, verifications) run one at a time: each marks every
    /// shard.
    pass_gate: Mutex<()>,
}

/// The shard count used when none is given: four shards per hardware thread, rounded up to a
/// power of two (as dashmap does), computed once per process.
pub fn default_shard_count() -> usize {
    static CACHED: AtomicUsize = AtomicUsize::new(0);
    match CACHED.load(Ordering::Relaxed) {
        0 => {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let n = (threads * 4).next_power_of_two().clamp(1, MAX_SHARDS);
            CACHED.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

impl<R: Record, M: Mode, S: BuildHasher + Default> ShardedMap<R, M, S> {
    /// An empty map with the default shard count. Allocates no table until the first insert.
    pub fn new() -> Self {
        Self::with_shards_capacity_and_hasher(default_shard_count(), 0, S::default())
    }

    /// An empty map with room for `capacity` records before any shard grows (assuming an even
    /// spread over the shards).
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_shards_capacity_and_hasher(default_shard_count(), capacity, S::default())
    }

    /// An empty map with exactly `shards` shards.
    ///
    /// # Panics
    ///
    /// If `shards` is not a power of two in `1..=1024`.
    pub fn with_shards(shards: usize) -> Self {
        Self::with_shards_capacity_and_hasher(shards, 0, S::default())
    }
}

impl<R: Record, M: Mode, S: BuildHasher + Default> Default for ShardedMap<R, M, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Record, M: Mode, S: BuildHasher> ShardedMap<R, M, S> {
    /// An empty map with `shards` shards, room for `capacity` records, and the given hasher.
    ///
    /// # Panics
    ///
    /// If `shards` is not a power of two in `1..=1024`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::hash::RandomState;
    /// use mapsafe_core::{Plain, ShardedMap};
    ///
    /// let map: ShardedMap<(u64, u64), Plain, RandomState> =
    ///     ShardedMap::with_shards_capacity_and_hasher(8, 1000, RandomState::new());
    /// assert_eq!(map.shard_count(), 8);
    /// ```
    pub fn with_shards_capacity_and_hasher(shards: usize, capacity: usize, hasher: S) -> Self {
        assert!(
            shards.is_power_of_two() && shards <= MAX_SHARDS,
            "mapsafe: the shard count must be a power of two in 1..={MAX_SHARDS}, found {shards}"
        );
        let per_shard = capacity.div_ceil(shards);
        let shards: Box<[ShardSlot<R, M>]> = (0..shards)
            .map(|_| ShardSlot {
                lock: RwLock::new(Shard {
                    table: HashTable::with_capacity(per_shard),
                    pending: None,
                }),
                len: AtomicUsize::new(0),
                revision: RevisionCounter::default(),
            })
            .collect();
        ShardedMap {
            shift: 57 - shards.len().trailing_zeros(),
            shards,
            hasher,
            pass_gate: Mutex::new(()),
        }
    }

    /// The map's hasher.
    pub fn hasher(&self) -> &S {
        &self.hasher
    }

    /// The number of shards, fixed at construction.
    #[inline]
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The number of records. O(shards): it sums per-shard counters without taking any lock, so
    /// while other threads write it is a value the map held at some recent moment per shard.
    #[inline]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.len.load(Ordering::Relaxed))
            .sum()
    }

    /// `true` if the map holds no record (same caveat as [`len`](Self::len)).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.shards
            .iter()
            .all(|s| s.len.load(Ordering::Relaxed) == 0)
    }

    // ----- plumbing ------------------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn id(&self) -> usize {
        self as *const Self as usize
    }

    #[inline(always)]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Shard index from the bits just below hashbrown's top-7 control bits. A shift and a mask
    /// (rather than shifting the top bits down) so that one shard needs no branch and the index
    /// is visibly below `shards.len()`, which lets the compiler drop the bounds check.
    #[inline(always)]
    pub(crate) fn shard_index(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize & (self.shards.len() - 1)
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn shards(&self) -> &[ShardSlot<R, M>] {
        &self.shards
    }

    /// Runs `f` on `record`'s slot in its shard's table (occupied or vacant), under the shard's
    /// write lock: the one path by which a whole record is written.
    #[inline(always)]
    fn with_table_entry<T>(
        &self,
        op: &'static str,
        record: R,
        f: impl FnOnce(TableEntry<'_, Entry<R, M>>, R) -> T,
    ) -> T {
        reentry::check(self.id(), op);
        let hash = self.hash(record.key());
        let mut shard = self.write_shard(self.shard_index(hash));
        let hasher = &self.hasher;
        let slot = shard.table.entry(
            hash,
            |e| e.record.key() == record.key(),
            |e| hasher.hash_one(e.record.key()),
        );
        f(slot, record)
    }

    /// Write-locks shard `idx`, first serving any snapshot still waiting to copy it.
    #[inline(always)]
    pub(crate) fn write_shard(&self, idx: usize) -> ShardWrite<'_, R, M> {
        let slot = &self.shards[idx];
        let mut guard = slot.lock.write();
        if guard.pending.is_some() {
            self.serve_pending(idx, &mut guard);
        }
        ShardWrite {
            guard,
            len: &slot.len,
        }
    }

    /// The next revision (versioned maps), taken while the caller holds the shard's write lock,
    /// so that a snapshot, which holds every shard lock while it reads the counter, sees either
    /// all of a write or none of it.
    #[inline(always)]
    fn next_stamp(&self) -> M::Stamp {
        if M::VERSIONED {
            M::stamp(self.revision().fetch_add(1, Ordering::AcqRel) + 1)
        } else {
            M::stamp(0)
        }
    }

    /// Takes `n` consecutive revisions at once and returns the last one.
    #[inline]
    fn take_revisions(&self, n: usize) -> u64 {
        if M::VERSIONED && n > 0 {
            self.revision().fetch_add(n as u64, Ordering::AcqRel) + n as u64
        } else {
            0
        }
    }

    pub(crate) fn current_revision(&self) -> u64 {
        self.revision().load(Ordering::Acquire)
    }

    /// The map-wide revision counter (there is always at least one shard).
    #[inline(always)]
    fn revision(&self) -> &AtomicU64 {
        &self.shards[0].revision.0
    }

    /// Runs `f` on the entry for `key` under the shard's read lock.
    #[inline(always)]
    fn with_entry<Q, T>(
        &self,
        key: &Q,
        op: &'static str,
        f: impl FnOnce(&Entry<R, M>) -> T,
    ) -> Option<T>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        reentry::check(self.id(), op);
        let hash = self.hash(key);
        let shard = self.shards[self.shard_index(hash)].lock.read();
        shard
            .table
            .find(hash, |e| e.record.key().borrow() == key)
            .map(f)
    }

    // ----- reads ---------------------------------------------------------------------------

    /// `true` if a record with this key is present.
    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.with_entry(key, "contains_key", |_| ()).is_some()
    }

    /// A clone of the record with this key.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<R>
    where
        R: Clone,
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.with_entry(key, "get", |e| e.record.clone())
    }

    /// Runs `f` on the record with this key under the shard's read lock, without copying it.
    /// `None` if the key is absent.
    ///
    /// # Panics
    ///
    /// If `f` calls into this same map (it would deadlock), or if `f` panics.
    #[inline]
    pub fn read<Q, T>(&self, key: &Q, f: impl FnOnce(&R) -> T) -> Option<T>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let id = self.id();
        self.with_entry(key, "read", |e| {
            let _scope = ClosureScope::enter(id, "read");
            f(&e.record)
        })
    }

    // ----- writes --------------------------------------------------------------------------

    /// Stores `record`, replacing any record with the same key, and returns the one replaced.
    #[inline]
    pub fn insert(&self, record: R) -> Option<R> {
        self.insert_stamped(record).0
    }

    /// `insert`, also returning the stamp given to the write.
    #[inline]
    pub(crate) fn insert_stamped(&self, record: R) -> (Option<R>, M::Stamp) {
        self.with_table_entry("insert", record, |slot, record| match slot {
            TableEntry::Occupied(mut occupied) => {
                let stamp = self.next_stamp();
                let entry = occupied.get_mut();
                entry.stamp = stamp;
                (Some(mem::replace(&mut entry.record, record)), stamp)
            }
            TableEntry::Vacant(vacant) => {
                let stamp = self.next_stamp();
                vacant.insert(Entry { stamp, record });
                (None, stamp)
            }
        })
    }

    /// Atomic get-or-insert: stores `record` if its key is absent, otherwise leaves the map
    /// unchanged and hands back both the stored record and the offered one.
    #[inline]
    pub fn load_or_store(&self, record: R) -> LoadOrStore<R>
    where
        R: Clone,
    {
        self.load_or_store_stamped(record).0
    }

    /// `load_or_store`, also returning the stamp of the stored record (the new write's stamp
    /// when it stored, the existing record's stamp when it loaded).
    #[inline]
    pub(crate) fn load_or_store_stamped(&self, record: R) -> (LoadOrStore<R>, M::Stamp)
    where
        R: Clone,
    {
        self.with_table_entry("load_or_store", record, |slot, record| match slot {
            TableEntry::Occupied(occupied) => {
                let entry = occupied.get();
                let current = entry.record.clone();
                (
                    LoadOrStore::Loaded {
                        current,
                        offered: record,
                    },
                    entry.stamp,
                )
            }
            TableEntry::Vacant(vacant) => {
                let stamp = self.next_stamp();
                vacant.insert(Entry { stamp, record });
                (LoadOrStore::Stored, stamp)
            }
        })
    }

    /// Atomically updates the record with this key in place: `f` gets mutable access to every
    /// field except the key, under the shard's write lock. `None` if the key is absent.
    ///
    /// On a versioned map the write is stamped before `f` runs, so even an update that panics
    /// halfway leaves a record whose revision is newer than any earlier write.
    ///
    /// # Panics
    ///
    /// If `f` calls into this same map (it would deadlock), or if `f` panics. Either way the
    /// lock is released and the map stays consistent.
    #[inline]
    pub fn update<Q, T>(&self, key: &Q, f: impl FnOnce(R::Mut<'_>) -> T) -> Option<T>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.update_stamped(key, f).map(|(out, _)| out)
    }

    #[inline]
    pub(crate) fn update_stamped<Q, T>(
        &self,
        key: &Q,
        f: impl FnOnce(R::Mut<'_>) -> T,
    ) -> Option<(T, M::Stamp)>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let id = self.id();
        reentry::check(id, "update");
        let hash = self.hash(key);
        let mut shard = self.write_shard(self.shard_index(hash));
        let entry = shard
            .table
            .find_mut(hash, |e| e.record.key().borrow() == key)?;
        let stamp = self.next_stamp();
        entry.stamp = stamp;
        let _scope = ClosureScope::enter(id, "update");
        Some((f(entry.record.as_mut()), stamp))
    }

    /// Removes the record with this key and returns it.
    #[inline]
    pub fn remove<Q>(&self, key: &Q) -> Option<R>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_stamped(key).map(|(record, _)| record)
    }

    #[inline]
    pub(crate) fn remove_stamped<Q>(&self, key: &Q) -> Option<(R, M::Stamp)>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        reentry::check(self.id(), "remove");
        let hash = self.hash(key);
        let mut shard = self.write_shard(self.shard_index(hash));
        let occupied = shard
            .table
            .find_entry(hash, |e| e.record.key().borrow() == key)
            .ok()?;
        let stamp = self.next_stamp();
        let (entry, _) = occupied.remove();
        Some((entry.record, stamp))
    }

    /// Keeps only the records for which `f` returns `true`, one shard at a time (each shard
    /// atomically; the map as a whole is not frozen). On a versioned map every removed record
    /// takes a fresh revision.
    ///
    /// # Panics
    ///
    /// If `f` calls into this same map (it would deadlock), or if `f` panics. Either way every
    /// lock is released and the map stays consistent (records already removed stay removed).
    pub fn retain(&self, mut f: impl FnMut(&R) -> bool) {
        let id = self.id();
        reentry::check(id, "retain");
        for idx in 0..self.shards.len() {
            let mut shard = self.write_shard(idx);
            let _scope = ClosureScope::enter(id, "retain");
            shard.table.retain(|e| {
                let keep = f(&e.record);
                if !keep {
                    self.next_stamp();
                }
                keep
            });
        }
    }

    /// Removes every record, one shard at a time. On a versioned map every removed record takes
    /// a fresh revision. Records are dropped after their shard's lock is released.
    pub fn clear(&self) {
        reentry::check(self.id(), "clear");
        for idx in 0..self.shards.len() {
            let removed = {
                let mut shard = self.write_shard(idx);
                self.take_revisions(shard.table.len());
                mem::take(&mut shard.table)
            };
            drop(removed);
        }
    }

    // ----- snapshots -----------------------------------------------------------------------

    /// A point-in-time copy of the map: exactly the records the map held at one instant between
    /// this call's start and its end, however many threads write meanwhile.
    ///
    /// # Cost and stall
    ///
    /// The instant is fixed by write-locking every shard in turn and marking it, which copies
    /// nothing: writers and readers wait for O(shards) lock handoffs, not for O(records) work.
    /// The shards are then copied one at a time under a read lock, so readers never wait for a
    /// copy. A writer that reaches a shard not yet copied copies that shard itself first
    /// (copy-before-write): the longest a writer stalls is the time to clone one shard,
    /// about `len() / shard_count()` records, never the whole map. Snapshots of the same map
    /// run one at a time.
    ///
    /// # Panics
    ///
    /// If called from inside a closure on this map, or if cloning a record panics (the map is
    /// left unchanged and writers are not affected).
    pub fn snapshot(&self) -> Snapshot<R, M>
    where
        R: Clone,
    {
        let (copies, version) = self.point_in_time("snapshot", copy_shard::<R, M>);
        Snapshot::from_parts(copies, version)
    }

    /// Runs `work` on every shard as it was at one instant (see [`crate::pass`]) and returns
    /// the results in shard order with the revision at that instant. Writers wait for the
    /// marking (O(shards) lock handoffs) and at most for one shard's `work`.
    pub(crate) fn point_in_time<T: Send + 'static>(
        &self,
        op: &'static str,
        work: fn(ShardView<'_, R, M>) -> T,
    ) -> (Vec<T>, u64) {
        reentry::check(self.id(), op);
        let _one_at_a_time = self.pass_gate.lock();
        let pass = Arc::new(Pass::new(self.shards.len(), work));
        let _close = pass.close_on_drop();
        let version = {
            let mut guards: Vec<_> = self.shards.iter().map(|s| s.lock.write()).collect();
            let version = self.current_revision();
            for guard in &mut guards {
                guard.pending = Some(pass.clone() as Arc<dyn PendingPass<R, M>>);
            }
            version
        };
        for idx in 0..self.shards.len() {
            let shard = self.shards[idx].lock.read();
            self.serve(&*pass, idx, &shard.table);
        }
        pass.close();
        (pass.take_results(), version)
    }

    /// Hands shard `idx` to a pass, with what it needs of the map.
    fn serve(&self, pass: &dyn PendingPass<R, M>, idx: usize, table: &Table<R, M>) {
        let place = |key: &R::Key| {
            let hash = self.hash(key);
            (hash, self.shard_index(hash))
        };
        pass.serve(ShardView {
            idx,
            table,
            published_len: self.shards[idx].len.load(Ordering::Relaxed),
            place: &place,
        });
    }

    /// Serves the pass still waiting on this shard, then forgets it. If the pass's work panics
    /// (a record's `Clone` panicked), the mark stays, so the write that called this never happens
    /// before the work does.
    #[cold]
    #[inline(never)]
    fn serve_pending(&self, idx: usize, shard: &mut Shard<R, M>) {
        if let Some(pending) = &shard.pending {
            self.serve(&**pending, idx, &shard.table);
        }
        shard.pending = None;
    }
}

impl<R: Record, S: BuildHasher> ShardedMap<R, Revisioned, S> {
    /// The latest revision issued; 0 for a new map.
    #[inline]
    pub fn version(&self) -> u64 {
        self.current_revision()
    }

    /// A clone of the record with this key and the revision of its last write.
    #[inline]
    pub fn get_versioned<Q>(&self, key: &Q) -> Option<Versioned<R>>
    where
        R: Clone,
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.with_entry(key, "get_versioned", |e| Versioned {
            version: e.stamp,
            value: e.record.clone(),
        })
    }

    /// Stores `record` only if its key's current revision is `expected` (0: the key must be
    /// absent) and returns the write's new revision. Otherwise nothing changes and the record
    /// comes back in [`Conflict`] with the key's actual revision (0: absent).
    ///
    /// This is the cure for lost updates: read with `get_versioned`, decide, write with
    /// `compare_and_swap`, and retry on `Conflict`.
    #[inline]
    pub fn compare_and_swap(&self, expected: u64, record: R) -> Result<u64, Conflict<R>> {
        self.with_table_entry("compare_and_swap", record, |slot, record| match slot {
            TableEntry::Occupied(mut occupied) => {
                let entry = occupied.get_mut();
                if entry.stamp != expected {
                    return Err(Conflict {
                        actual: entry.stamp,
                        offered: record,
                    });
                }
                let revision = self.next_stamp();
                entry.stamp = revision;
                entry.record = record;
                Ok(revision)
            }
            TableEntry::Vacant(vacant) => {
                if expected != 0 {
                    return Err(Conflict {
                        actual: 0,
                        offered: record,
                    });
                }
                let revision = self.next_stamp();
                vacant.insert(Entry {
                    stamp: revision,
                    record,
                });
                Ok(revision)
            }
        })
    }
}

impl<R: Record, M: Mode, S> fmt::Debug for ShardedMap<R, M, S>
where
    S: BuildHasher,
{
    /// Shows the size, the shard count and (versioned) the revision; takes no lock.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ShardedMap");
        d.field("len", &self.len())
            .field("shards", &self.shard_count());
        if M::VERSIONED {
            d.field("version", &self.current_revision());
        }
        d.finish_non_exhaustive()
    }
}

/// Access to the engine behind a generated map, for mapsafe's own tools (the consistency
/// checker). It gives no power the map's own API lacks: the engine's methods are the same safe
/// operations.
#[doc(hidden)]
pub trait AsEngine {
    /// The record type.
    type Record: Record;
    /// [`Plain`] or [`Revisioned`].
    type Mode: Mode;
    /// The hasher.
    type Hasher: BuildHasher;
    /// The engine.
    fn engine(&self) -> &ShardedMap<Self::Record, Self::Mode, Self::Hasher>;
}

impl<R: Record, M: Mode, S: BuildHasher> AsEngine for ShardedMap<R, M, S> {
    type Record = R;
    type Mode = M;
    type Hasher = S;
    #[inline(always)]
    fn engine(&self) -> &Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn shard_slot_keeps_the_revision_counter_off_the_lock_line() {
        type Slot = ShardSlot<(u64, u64), Revisioned>;
        assert_eq!(size_of::<Slot>(), 128);
        assert!(offset_of!(Slot, len) < 64);
        assert_eq!(offset_of!(Slot, revision), 64);
        type Big = ShardSlot<(String, [u64; 32]), Plain>;
        assert_eq!(size_of::<Big>(), 128);
    }

    #[test]
    fn empty_map_is_no_larger_than_a_pointer_pair_and_a_hasher() {
        // dashmap 6 with std's hasher is 40 bytes plus one 128-byte slot per shard, as we are.
        assert!(size_of::<ShardedMap<(u64, u64)>>() <= 40);
        assert!(size_of::<ShardedMap<(u64, u64), Revisioned>>() <= 40);
    }

    #[test]
    fn shard_index_takes_the_bits_below_the_top_seven() {
        for shards in [1, 2, 8, 64, 1024] {
            let map: ShardedMap<(u64, u64)> = ShardedMap::with_shards(shards);
            let bits = shards.trailing_zeros();
            for hash in [
                0,
                u64::MAX,
                0x0123_4567_89ab_cdef,
                1 << 56,
                1 << 57,
                0xfe00_0000_0000_0000,
            ] {
                // The historical definition: the top `bits` bits of `hash << 7`.
                let expected = if bits == 0 {
                    0
                } else {
                    ((hash << 7) >> (64 - bits)) as usize
                };
                assert_eq!(
                    map.shard_index(hash),
                    expected,
                    "{shards} shards, hash {hash:#x}"
                );
                assert!(map.shard_index(hash) < shards);
            }
        }
    }

    #[test]
    fn revisions_live_in_shard_zero_for_every_shard_count() {
        for shards in [1, 2, 64] {
            let map: ShardedMap<(u64, u64), Revisioned> = ShardedMap::with_shards(shards);
            for i in 0..100 {
                let _ = map.insert((i, i));
            }
            assert_eq!(map.version(), 100);
            assert_eq!(map.shards()[0].revision.0.load(Ordering::Relaxed), 100);
            map.clear();
            assert_eq!(map.version(), 200);
        }
    }
}
