//! The sharded map: construction, size, lookups and the single-key operations.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::mem;
use core::sync::atomic::{self, AtomicUsize, Ordering};

use hashbrown::hash_table::{self, OccupiedEntry, VacantEntry};

use crate::clock::Ticket;
use crate::hasher::DefaultHasher;
use crate::probes::Probe;
use crate::protocol::{Settle, begin_write_at, settle_if_owed, store_vacant, take_ticket};
use crate::record::{Mode, Plain, Record};
use crate::reentry;
use crate::reentry::Op;
use crate::shard::{
    Debt, Entry, PUBLISHERS, ShardSlot, ShardView, ShardWrite, Shared, Table, make_room, no_rehash,
    shard_of, shard_shift,
};
use crate::types::LoadOrStore;

/// The largest number of shards a map may have.
pub const MAX_SHARDS: usize = 1024;

/// A sharded concurrent map of records that carry their own key.
///
/// This is the engine behind every map `#[concurrent_map]` generates; it can also be used
/// directly with `(K, V)` pairs. Every method takes `&self`. No method returns a guard or a
/// reference into the map: reads return owned values or run a closure under the shard's lock.
///
/// - `R` is the record type (see [`Record`]).
/// - `M` is [`Plain`] or [`VersionedMode`](crate::VersionedMode); only versioned maps have
///   `version`, `get_versioned`, `compare_and_swap` and `compare_and_remove`.
/// - `S` is the [`BuildHasher`]; each key is hashed once, the hash (mixed, so that every bit
///   counts) chooses the shard and the same hash is handed to the shard's table.
///
/// # Re-entrancy
///
/// Calling a method that takes a shard lock from inside one of this map's operations (its
/// closure, or a record's `Clone`, `Hash`, `Eq` or `Drop` running under its lock) panics at
/// once, pointing at the offending call: it would otherwise deadlock on the lock the operation
/// holds. The lock-free `len`, `is_empty`, `shard_count` and `version` stay callable. A panic
/// inside a closure releases the lock and leaves the map consistent.
///
/// # Guarantees under faults
///
/// No operation holds one shard lock while it blocks on another, so mapsafe adds no deadlock to
/// code that calls other maps from closures. A point-in-time pass (`snapshot`,
/// `verify_consistency`) delays another call by at most one shard's worth of its work. A panic
/// in user code fails the call that ran it and nothing else: a table that grows runs each
/// record's `Hash` under `catch_unwind` (a panicking one misfiles only its own record and fails
/// the call before it changes anything), replaced records are dropped after the lock is
/// released, and a writer that serves a snapshot whose `Clone` panics fails the snapshot, not
/// itself.
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
    pub(crate) shards: Box<[ShardSlot<R, M>]>,
    pub(crate) shared: Box<Shared<R, M>>,
    /// The [`shard_of`] shift for the shard count.
    shift: u32,
    hasher: S,
}

/// The shard count used when none is given: four shards per hardware thread, rounded up to a
/// power of two (as dashmap does), computed once per process.
pub fn default_shard_count() -> usize {
    static CACHED: AtomicUsize = AtomicUsize::new(0);
    // Relaxed: a cache of a value every thread computes alike; a race only computes it twice.
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
    #[track_caller]
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
    #[track_caller]
    pub fn with_shards_capacity_and_hasher(shards: usize, capacity: usize, hasher: S) -> Self {
        assert!(
            shards.is_power_of_two() && shards <= MAX_SHARDS,
            "mapsafe: the shard count must be a power of two in 1..={MAX_SHARDS}, found {shards}"
        );
        let per_shard = capacity.div_ceil(shards);
        ShardedMap {
            shift: shard_shift(shards),
            shards: (0..shards)
                .map(|_| ShardSlot::with_capacity(per_shard))
                .collect(),
            shared: Box::default(),
            hasher,
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
    /// while other threads write it is a value the map held at some recent moment per shard
    /// (never part of a transaction).
    #[inline]
    pub fn len(&self) -> usize {
        let publishing = &self.shared().publishing;
        loop {
            // A seqlock read (see `Shared::publishing`): Acquire pairs with the Release that
            // ends a transaction's publication, the fence with the one that starts it.
            let before = publishing.load(Ordering::Acquire);
            if before & PUBLISHERS == 0 {
                let sum = self
                    .shards
                    .iter()
                    .map(|s| s.len.load(Ordering::Relaxed))
                    .sum();
                atomic::fence(Ordering::Acquire);
                if publishing.load(Ordering::Relaxed) == before {
                    return sum;
                }
            }
            std::thread::yield_now();
        }
    }

    /// `true` if the map holds no record (same caveat as [`len`](Self::len)).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    /// The index of the shard a hash belongs to (see [`shard_of`]).
    #[inline(always)]
    pub(crate) fn shard_index(&self, hash: u64) -> usize {
        shard_of(hash, self.shift)
    }

    /// What the map keeps beside its shards.
    #[inline(always)]
    pub(crate) fn shared(&self) -> &Shared<R, M> {
        &self.shared
    }

    /// Enters the re-entrancy scope of `op` on this map (see `reentry`).
    #[inline(always)]
    #[track_caller]
    pub(crate) fn scope(&self, op: Op) -> reentry::Scope {
        reentry::enter(self.id(), op, || {
            M::PROBED.then_some(&self.shared.probes.refused)
        })
    }

    /// The latest revision issued (0 on a plain map).
    #[inline(always)]
    pub(crate) fn current_revision(&self) -> u64 {
        if M::VERSIONED {
            self.shared().clock.revision()
        } else {
            0
        }
    }

    /// Write-locks the shard `hash` belongs to.
    #[inline(always)]
    pub(crate) fn write_shard(&self, hash: u64) -> ShardWrite<'_, R, M> {
        self.shards[self.shard_index(hash)].write()
    }

    /// Called under a shard's write lock after deciding to change it and before changing it:
    /// takes the write's ticket (with `n` fresh revisions on a versioned map) and first hands
    /// the shard to a pass that fixed its instant before the ticket. Returns the first fresh
    /// revision (0 on a plain map).
    #[inline(always)]
    pub(crate) fn begin_write(&self, shard: &ShardWrite<'_, R, M>, n: u64) -> u64 {
        let ticket = take_ticket(self.shared(), n);
        settle_if_owed(self.shared(), shard.slot, shard, ticket, self);
        ticket.first
    }

    /// Hands `table`, the contents of `slot`, to a pass, and marks the shard served.
    pub(crate) fn serve(&self, pass: &dyn Debt<R, M>, slot: &ShardSlot<R, M>, table: &Table<R, M>) {
        // Relaxed loads and stores of `len` and `served`: the shard's lock (held by the caller,
        // read or write) orders them with every other access.
        let place = |key: &R::Key| {
            let hash = self.hash(key);
            (hash, self.shard_index(hash))
        };
        let idx = self.slot_index(slot);
        pass.serve(ShardView {
            idx,
            table,
            published_len: slot.len.load(Ordering::Relaxed),
            place: &place,
        });
        slot.served.store(pass.id(), Ordering::Relaxed);
    }

    /// The index of one of this map's shard slots.
    fn slot_index(&self, slot: &ShardSlot<R, M>) -> usize {
        (slot as *const ShardSlot<R, M> as usize - self.shards.as_ptr() as usize)
            / mem::size_of::<ShardSlot<R, M>>()
    }

    /// The bucket of `key`'s entry in `table`.
    #[inline(always)]
    pub(crate) fn find_bucket<Q>(table: &Table<R, M>, hash: u64, key: &Q) -> Option<usize>
    where
        R::Key: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        table.find_bucket_index(hash, |e| e.record.key().borrow() == key)
    }

    /// Runs `f` on the entry for `key` under the shard's read lock. The caller is inside a
    /// re-entrancy scope.
    #[inline(always)]
    fn with_entry<Q, T>(&self, key: &Q, f: impl FnOnce(&Entry<R, M>) -> T) -> Option<T>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let table = self.shards[self.shard_index(hash)].read();
        table.find(hash, |e| e.record.key().borrow() == key).map(f)
    }

    /// Makes room for `additional` entries in `table` without any rehash losing a record (see
    /// `shard::make_room`): call before the ticket, so that a panicking `Hash` fails the call
    /// with nothing changed.
    #[inline(always)]
    pub(crate) fn make_room(&self, table: &mut Table<R, M>, additional: usize) {
        make_room(table, additional, |key: &R::Key| self.hash(key));
    }

    /// Stores a new entry (the caller found its key absent, made room and took its ticket).
    #[inline(always)]
    pub(crate) fn store_new(table: &mut Table<R, M>, hash: u64, revision: u64, record: R) {
        table.insert_unique(
            hash,
            Entry {
                revision: M::revision(revision),
                record,
            },
            no_rehash,
        );
    }

    /// [`begin_write_at`] on this map.
    #[inline(always)]
    pub(crate) fn begin_write_at<'t>(
        &self,
        slot: &ShardSlot<R, M>,
        found: OccupiedEntry<'t, Entry<R, M>>,
        n: u64,
    ) -> (OccupiedEntry<'t, Entry<R, M>>, Ticket) {
        begin_write_at(self.shared(), slot, self, found, n)
    }

    /// [`store_vacant`] on this map, returning the write's revision.
    #[inline(always)]
    pub(crate) fn store_vacant(
        &self,
        slot: &ShardSlot<R, M>,
        vacant: VacantEntry<'_, Entry<R, M>>,
        hash: u64,
        record: R,
    ) -> u64 {
        store_vacant(self.shared(), slot, self, vacant, hash, record).1
    }

    // ----- reads ---------------------------------------------------------------------------

    /// `true` if a record with this key is present.
    #[inline]
    #[track_caller]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _scope = self.scope(Op::ContainsKey);
        self.with_entry(key, |_| ()).is_some()
    }

    /// A clone of the record with this key.
    #[inline]
    #[track_caller]
    pub fn get<Q>(&self, key: &Q) -> Option<R>
    where
        R: Clone,
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _scope = self.scope(Op::Get);
        self.with_entry(key, |e| e.record.clone())
    }

    /// A clone of the record and its revision (0 on a plain map), for a caller already inside
    /// its re-entrancy scope.
    #[inline(always)]
    pub(crate) fn get_with_revision_in_scope<Q>(&self, key: &Q) -> Option<(R, u64)>
    where
        R: Clone,
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.with_entry(key, |e| (e.record.clone(), M::number(e.revision)))
    }

    /// Runs `f` on the record with this key under the shard's read lock, without copying it.
    /// `None` if the key is absent.
    ///
    /// `f` cannot keep a reference into the map: what it returns must own its data (clone the
    /// field you need, e.g. `|r| r.name.clone()`).
    ///
    /// # Panics
    ///
    /// If `f` calls into this same map (it would deadlock), or if `f` panics; the lock is
    /// released either way.
    #[inline]
    #[track_caller]
    pub fn read<Q, T>(&self, key: &Q, f: impl FnOnce(&R) -> T) -> Option<T>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _scope = self.scope(Op::Read);
        self.with_entry(key, |e| f(&e.record))
    }

    /// Visits every record without copying it, holding each shard's read lock while visiting
    /// it: each shard is seen at one instant (as `retain` changes it), the map as a whole is
    /// not. For one instant of the whole map, take a [`snapshot`](Self::snapshot).
    ///
    /// # Panics
    ///
    /// If `f` calls into this same map, or if `f` panics; the lock is released either way.
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    ///
    /// let map: ShardedMap<(u32, u32)> = (0..10).map(|i| (i, i * i)).collect();
    /// let mut sum = 0;
    /// map.for_each(|(_, square)| sum += square);
    /// assert_eq!(sum, 285);
    /// ```
    #[track_caller]
    pub fn for_each(&self, mut f: impl FnMut(&R)) {
        let _scope = self.scope(Op::ForEach);
        for slot in self.shards.iter() {
            let table = slot.read();
            for entry in table.iter() {
                f(&entry.record);
            }
        }
    }

    // ----- writes --------------------------------------------------------------------------

    /// Stores `record`, replacing any record with the same key, and returns the one replaced.
    #[inline]
    #[track_caller]
    pub fn insert(&self, record: R) -> Option<R> {
        self.insert_with_revision(record).0
    }

    /// `insert`, also returning the write's revision.
    #[inline]
    #[track_caller]
    pub(crate) fn insert_with_revision(&self, record: R) -> (Option<R>, u64) {
        let _scope = self.scope(Op::Insert);
        let hash = self.hash(record.key());
        let mut shard = self.write_shard(hash);
        let slot = shard.slot;
        // Room first (a growth runs the user's `Hash`, which may panic: nothing has changed
        // yet), then one probe finds the key or the slot it goes in, as hashbrown's own insert.
        self.make_room(&mut shard, 1);
        match shard.entry(hash, |e| e.record.key() == record.key(), no_rehash) {
            hash_table::Entry::Occupied(found) => {
                let (mut found, ticket) = self.begin_write_at(slot, found, 1);
                slot.note(Probe::Inserts, 1);
                let entry = found.get_mut();
                entry.revision = M::revision(ticket.first);
                (Some(mem::replace(&mut entry.record, record)), ticket.first)
            }
            hash_table::Entry::Vacant(vacant) => {
                let revision = self.store_vacant(slot, vacant, hash, record);
                (None, revision)
            }
        }
    }

    /// Atomic get-or-insert: stores `record` if its key is absent, otherwise leaves the map
    /// unchanged and hands back both the stored record and the offered one.
    #[inline]
    #[track_caller]
    pub fn load_or_store(&self, record: R) -> LoadOrStore<R>
    where
        R: Clone,
    {
        self.load_or_store_with_revision(record).0
    }

    /// `load_or_store`, also returning the revision of the stored record (the new write's
    /// when it stored, the existing record's when it loaded).
    #[inline]
    #[track_caller]
    pub(crate) fn load_or_store_with_revision(&self, record: R) -> (LoadOrStore<R>, u64)
    where
        R: Clone,
    {
        let _scope = self.scope(Op::LoadOrStore);
        let hash = self.hash(record.key());
        let mut shard = self.write_shard(hash);
        let slot = shard.slot;
        self.make_room(&mut shard, 1);
        match shard.entry(hash, |e| e.record.key() == record.key(), no_rehash) {
            hash_table::Entry::Occupied(found) => {
                slot.note(Probe::Found, 1);
                let entry = found.get();
                let loaded = LoadOrStore::Loaded {
                    current: entry.record.clone(),
                    offered: record,
                };
                (loaded, M::number(entry.revision))
            }
            hash_table::Entry::Vacant(vacant) => {
                slot.note(Probe::Stored, 1);
                let revision = self.store_vacant(slot, vacant, hash, record);
                (LoadOrStore::Stored, revision)
            }
        }
    }

    /// The record with this key (a clone), inserting `make()` first if the key is absent.
    /// `make` runs at most once, and only when the key is absent, under the shard's write lock
    /// (so concurrent callers for one key never both run it).
    ///
    /// # Panics
    ///
    /// If the record `make` returns has a different key (nothing is stored), if `make` calls
    /// this map, or if `make` panics (nothing is stored).
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    ///
    /// let cache: ShardedMap<(u64, String)> = ShardedMap::new();
    /// let mut computed = 0;
    /// for _ in 0..3 {
    ///     let (_, text) = cache.get_or_insert_with(&7, || {
    ///         computed += 1;
    ///         (7, "seven".to_string())
    ///     });
    ///     assert_eq!(text, "seven");
    /// }
    /// assert_eq!(computed, 1);
    /// ```
    #[inline]
    #[track_caller]
    pub fn get_or_insert_with<Q>(&self, key: &Q, make: impl FnOnce() -> R) -> R
    where
        R: Clone,
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        self.get_or_insert_with_revision(key, make).0
    }

    /// `get_or_insert_with`, also returning the record's revision and whether it stored.
    #[inline]
    #[track_caller]
    pub(crate) fn get_or_insert_with_revision<Q>(
        &self,
        key: &Q,
        make: impl FnOnce() -> R,
    ) -> (R, u64, bool)
    where
        R: Clone,
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        let _scope = self.scope(Op::GetOrInsertWith);
        let hash = self.hash(key);
        let mut shard = self.write_shard(hash);
        let slot = shard.slot;
        self.make_room(&mut shard, 1);
        let vacant = match shard.entry(hash, |e| e.record.key().borrow() == key, no_rehash) {
            hash_table::Entry::Occupied(found) => {
                slot.note(Probe::Found, 1);
                let entry = found.get();
                return (entry.record.clone(), M::number(entry.revision), false);
            }
            hash_table::Entry::Vacant(vacant) => vacant,
        };
        let record = make();
        check_key::<R, Q>("get_or_insert_with", key, record.key());
        let copy = record.clone();
        slot.note(Probe::Stored, 1);
        let revision = self.store_vacant(slot, vacant, hash, record);
        (copy, revision, true)
    }

    /// Atomically updates the record with this key in place: `f` gets mutable access to every
    /// field except the key, under the shard's write lock. `None` if the key is absent.
    ///
    /// On a versioned map the write takes its revision before `f` runs, so even an update that
    /// panics halfway leaves a record whose revision is newer than any earlier write.
    ///
    /// `f` cannot keep a reference into the map: what it returns must own its data.
    ///
    /// # Panics
    ///
    /// If `f` calls into this same map (it would deadlock), or if `f` panics. Either way the
    /// lock is released and the map stays consistent (what `f` had changed stays changed).
    #[inline]
    #[track_caller]
    #[must_use = "`None` means the key was absent and nothing was updated"]
    pub fn update<Q, T>(&self, key: &Q, f: impl FnOnce(R::Mut<'_>) -> T) -> Option<T>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.update_with_revision(key, f).map(|(out, _)| out)
    }

    /// `update`, also returning the write's revision.
    #[inline]
    #[track_caller]
    pub(crate) fn update_with_revision<Q, T>(
        &self,
        key: &Q,
        f: impl FnOnce(R::Mut<'_>) -> T,
    ) -> Option<(T, u64)>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _scope = self.scope(Op::Update);
        let hash = self.hash(key);
        let mut shard = self.write_shard(hash);
        let slot = shard.slot;
        let found = shard
            .find_entry(hash, |e| e.record.key().borrow() == key)
            .ok()?;
        let (mut found, ticket) = self.begin_write_at(slot, found, 1);
        slot.note(Probe::Updates, 1);
        let entry = found.get_mut();
        entry.revision = M::revision(ticket.first);
        Some((f(entry.record.as_mut()), ticket.first))
    }

    /// Removes the record with this key and returns it.
    #[inline]
    #[track_caller]
    pub fn remove<Q>(&self, key: &Q) -> Option<R>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_with_revision(key, |_| true)
            .map(|(record, _)| record)
    }

    /// Removes and returns the record with this key only if `pred` says so (Go's
    /// `CompareAndDelete`, Java's `remove(key, value)`), in one step under the shard's write
    /// lock: no other write comes between the test and the removal.
    ///
    /// # Panics
    ///
    /// If `pred` calls this map, or if `pred` panics (nothing is removed).
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    ///
    /// let sessions: ShardedMap<(u64, u64)> = ShardedMap::new(); // (id, expires_at)
    /// let _ = sessions.insert((1, 100));
    /// let now = 50;
    /// assert_eq!(sessions.remove_if(&1, |(_, expires)| *expires <= now), None);
    /// assert_eq!(sessions.remove_if(&1, |(_, expires)| *expires <= 150), Some((1, 100)));
    /// ```
    #[inline]
    #[track_caller]
    pub fn remove_if<Q>(&self, key: &Q, pred: impl FnOnce(&R) -> bool) -> Option<R>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_with_revision(key, pred)
            .map(|(record, _)| record)
    }

    /// `remove_if`, also returning the removal's revision.
    #[inline]
    #[track_caller]
    pub(crate) fn remove_with_revision<Q>(
        &self,
        key: &Q,
        pred: impl FnOnce(&R) -> bool,
    ) -> Option<(R, u64)>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _scope = self.scope(Op::Remove);
        let hash = self.hash(key);
        let mut shard = self.write_shard(hash);
        let slot = shard.slot;
        let found = shard
            .find_entry(hash, |e| e.record.key().borrow() == key)
            .ok()?;
        if !pred(&found.get().record) {
            return None;
        }
        let (found, ticket) = self.begin_write_at(slot, found, 1);
        slot.note(Probe::Removes, 1);
        let (entry, _) = found.remove();
        Some((entry.record, ticket.first))
    }

    /// Keeps only the records for which `f` returns `true`, one shard at a time: each shard
    /// atomically, the map as a whole not frozen. On a versioned map every removed record
    /// takes a fresh revision. Removed records are dropped after their shard's lock is released.
    ///
    /// # Panics
    ///
    /// If `f` calls into this same map (it would deadlock), or if `f` panics. Either way every
    /// lock is released and the map stays consistent: shards already done stay done, and the
    /// shard `f` panicked in is left as it was.
    #[track_caller]
    pub fn retain(&self, mut f: impl FnMut(&R) -> bool) {
        let mut doomed: Vec<usize> = Vec::new();
        for slot in self.shards.iter() {
            let removed = {
                let _scope = self.scope(Op::Retain);
                let mut shard = slot.write();
                doomed.clear();
                doomed.extend(shard.iter_buckets().filter(|&bucket| {
                    !f(&shard.get_bucket(bucket).expect("bucket listed").record)
                }));
                if doomed.is_empty() {
                    continue;
                }
                self.begin_write(&shard, doomed.len() as u64);
                shard.slot.note(Probe::Removes, doomed.len() as u64);
                doomed
                    .iter()
                    .map(|&bucket| {
                        let entry = shard.get_bucket_entry(bucket).ok().expect("bucket listed");
                        entry.remove().0
                    })
                    .collect::<Vec<_>>()
            };
            drop(removed);
        }
    }

    /// Removes every record, one shard at a time. On a versioned map every removed record takes
    /// a fresh revision. Records are dropped after their shard's lock is released.
    #[track_caller]
    pub fn clear(&self) {
        for slot in self.shards.iter() {
            let removed = {
                let _scope = self.scope(Op::Clear);
                let mut shard = slot.write();
                if shard.is_empty() {
                    continue;
                }
                self.begin_write(&shard, shard.len() as u64);
                shard.slot.note(Probe::Removes, shard.len() as u64);
                mem::take(&mut *shard)
            };
            drop(removed);
        }
    }
}

impl<R: Record, M: Mode, S: BuildHasher> Settle<R, M> for ShardedMap<R, M, S> {
    #[cold]
    #[inline(never)]
    fn settle(&self, slot: &ShardSlot<R, M>, table: &Table<R, M>, ticket: Ticket) {
        let open = self.shared().open.lock().clone();
        let Some(pass) = open else {
            // The pass ended: it had this shard already (it could not finish without it) or
            // it failed.
            return;
        };
        if ticket.count() >= pass.threshold() && slot.served.load(Ordering::Relaxed) != pass.id() {
            let start = std::time::Instant::now();
            self.serve(&*pass, slot, table);
            if M::PROBED {
                self.shared.probes.stalled(start.elapsed());
            }
        }
    }
}

/// Panics unless `found` (the key of a record handed to the map for `key`'s slot) is `key`.
#[track_caller]
pub(crate) fn check_key<R: Record, Q: Eq + fmt::Debug + ?Sized>(op: &str, key: &Q, found: &R::Key)
where
    R::Key: Borrow<Q>,
{
    if found.borrow() != key {
        panic!(
            "mapsafe: `{op}` for key {key:?} was handed a record with key {found:?}; a record \
             must be stored under its own key, so nothing was stored"
        );
    }
}

impl<R: Record, M: Mode, S> fmt::Debug for ShardedMap<R, M, S>
where
    S: BuildHasher,
{
    /// Shows the size, the shard count and (versioned) the revision; takes no lock.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug_as("ShardedMap", f)
    }
}

impl<R: Record, M: Mode, S: BuildHasher> ShardedMap<R, M, S> {
    /// The map's `Debug` under another type name (generated maps show their own).
    #[doc(hidden)]
    pub fn debug_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct(name);
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
    /// [`Plain`] or [`VersionedMode`](crate::VersionedMode).
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
    use crate::VersionedMode;
    use core::mem::{offset_of, size_of};

    #[test]
    fn shard_slot_keeps_its_probes_off_the_lock_line() {
        type Slot = ShardSlot<(u64, u64), VersionedMode>;
        assert_eq!(size_of::<Slot>(), 128);
        assert!(offset_of!(Slot, served) < 64);
        assert!(
            offset_of!(Slot, pending) < 64,
            "write counters beside the lock"
        );
        assert_eq!(offset_of!(Slot, probes), 64);
        type Big = ShardSlot<(String, [u64; 32]), Plain>;
        assert_eq!(size_of::<Big>(), 128);
    }

    #[test]
    fn empty_map_is_a_slice_a_box_and_a_hasher() {
        // dashmap 6 with std's hasher is 40 bytes plus one 128-byte slot per shard; we add the
        // box of the shared state (clock, pass registry, map-wide probes).
        assert!(size_of::<ShardedMap<(u64, u64)>>() <= 48);
        assert!(size_of::<ShardedMap<(u64, u64), VersionedMode>>() <= 48);
    }

    #[test]
    fn shard_index_is_below_the_shard_count_and_depends_on_every_bit() {
        for shards in [1, 2, 8, 64, 1024] {
            let map: ShardedMap<(u64, u64)> = ShardedMap::with_shards(shards);
            for hash in [0, u64::MAX, 0x0123_4567_89ab_cdef, 1 << 56, 1 << 63] {
                assert!(map.shard_index(hash) < shards);
            }
            if shards > 1 {
                // Flipping any single bit of the hash moves some hash to another shard.
                for bit in 0..64 {
                    assert!(
                        (0..64u64).any(|h| map.shard_index(h) != map.shard_index(h ^ (1 << bit))),
                        "{shards} shards ignore hash bit {bit}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_clock_counts_every_write_for_every_shard_count() {
        for shards in [1, 2, 64] {
            let map: ShardedMap<(u64, u64), VersionedMode> = ShardedMap::with_shards(shards);
            for i in 0..100 {
                let _ = map.insert((i, i));
            }
            assert_eq!(map.version(), 100);
            assert_eq!(map.shared.clock.revision(), 100);
            map.clear();
            assert_eq!(map.version(), 200);
        }
    }
}
