//! The shard layer: what a shard stores, its lock, and the guard that publishes its size.
//!
//! This module depends on nothing but the record and clock types; the map, the passes, entries
//! and transactions are built on it.

use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use hashbrown::HashTable;

use crate::clock::Clock;
use crate::probes::{MapProbes, Pending, Probe, ShardProbes};
use crate::record::{Mode, Record};
use crate::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The index of the shard a key with this hash belongs to, for a map of `2^(63 - shift)` shards
/// (see [`shard_shift`]): the top bits of the hash times an odd constant (Fibonacci hashing), so
/// that every bit of the hash counts. Taking a few fixed bits of the hash instead (as dashmap
/// does) puts every key in one shard when the hash varies only elsewhere: an identity hasher on
/// integer keys, or foldhash on small integers under an unlucky seed. One multiplication.
#[inline(always)]
pub(crate) fn shard_of(hash: u64, shift: u32) -> usize {
    const SPREAD: u64 = 0x9e37_79b9_7f4a_7c15;
    // Two shifts so that one shard (shift 63) needs no branch: the first leaves 63 bits.
    ((hash.wrapping_mul(SPREAD) >> 1) >> shift) as usize
}

/// The [`shard_of`] shift for a power-of-two shard count.
pub(crate) fn shard_shift(shards: usize) -> u32 {
    63 - shards.trailing_zeros()
}

/// One stored record and the revision of its last write: as small as dashmap's entry on a
/// plain map (no key clone, no stored hash; the table rehashes through `record.key()`).
pub(crate) struct Entry<R: Record, M: Mode> {
    pub(crate) revision: M::Revision,
    pub(crate) record: R,
}

/// A shard's records.
pub(crate) type Table<R, M> = HashTable<Entry<R, M>>;

/// Makes room for `additional` more entries, so that the inserts that follow never rehash.
///
/// hashbrown rehashes a table when it grows or when tombstones have used up its room, calling
/// the user's `Hash` on every record; a `Hash` that panicked there would make hashbrown drop
/// every record it had not moved yet. So the rehash runs every `Hash` under `catch_unwind`: a
/// record whose `Hash` panics is filed under a placeholder hash (kept, and reported by
/// `verify_consistency` as unreachable: the fault stays with its own record), every other
/// record is moved intact, and then the panic fails the calling operation before it changes
/// anything.
///
/// Generic over the hash function (not `&dyn`), so that the rehash of a growing table inlines
/// the user's `Hash` for every record it moves.
#[inline(always)]
pub(crate) fn make_room<R: Record, M: Mode>(
    table: &mut Table<R, M>,
    additional: usize,
    hash: impl Fn(&R::Key) -> u64,
) {
    if has_room(table, additional) {
        return;
    }
    grow_or_fail(table, additional, hash);
}

#[cold]
#[inline(never)]
fn grow_or_fail<R: Record, M: Mode>(
    table: &mut Table<R, M>,
    additional: usize,
    hash: impl Fn(&R::Key) -> u64,
) {
    let failure = core::cell::Cell::new(None);
    table.reserve(additional, guarded(&hash, &failure));
    if let Some(payload) = failure.take() {
        std::panic::resume_unwind(payload);
    }
}

/// `true` if `additional` inserts fit without a rehash.
#[inline(always)]
pub(crate) fn has_room<R: Record, M: Mode>(table: &Table<R, M>, additional: usize) -> bool {
    table.capacity() - table.len() >= additional
}

/// Runs the user's `Hash` on every record, before a change that must be all-or-nothing (a
/// transaction's commit) may rehash: a panic here leaves the table as it was.
#[cold]
#[inline(never)]
pub(crate) fn hash_all<R: Record, M: Mode>(table: &Table<R, M>, hash: &dyn Fn(&R::Key) -> u64) {
    for entry in table.iter() {
        hash(entry.record.key());
    }
}

/// The rehash after [`hash_all`] has passed, with every hash under `catch_unwind` (a `Hash` that
/// panics the second time only misfiles its own record).
#[cold]
#[inline(never)]
pub(crate) fn reserve_hashed<R: Record, M: Mode>(
    table: &mut Table<R, M>,
    additional: usize,
    hash: &dyn Fn(&R::Key) -> u64,
) {
    table.reserve(additional, guarded(hash, &core::cell::Cell::new(None)));
}

/// Rebuilds a table's layout (`shrink_to_fit`), with the same protection as [`make_room`].
pub(crate) fn shrink<R: Record, M: Mode>(table: &mut Table<R, M>, hash: &dyn Fn(&R::Key) -> u64) {
    hash_all(table, hash);
    table.shrink_to_fit(guarded(hash, &core::cell::Cell::new(None)));
}

/// The hasher every rehash uses: the user's `Hash` under `catch_unwind`. A record whose `Hash`
/// panics is filed under a placeholder hash (0) and the panic is kept in `failure`.
#[inline(always)]
fn guarded<'a, R: Record, M: Mode>(
    hash: &'a (impl Fn(&R::Key) -> u64 + ?Sized),
    failure: &'a core::cell::Cell<Option<Box<dyn core::any::Any + Send>>>,
) -> impl Fn(&Entry<R, M>) -> u64 + 'a {
    move |e| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hash(e.record.key())))
            .unwrap_or_else(|payload| {
                failure.set(Some(payload));
                0
            })
    }
}

/// The hasher for inserts after [`make_room`]: hashbrown does not call it (there is room), but
/// its signature needs one.
pub(crate) fn no_rehash<R: Record, M: Mode>(_: &Entry<R, M>) -> u64 {
    unreachable!("mapsafe bug: a table rehashed after make_room")
}

/// One shard as a pass sees it.
pub(crate) struct ShardView<'a, R: Record, M: Mode> {
    /// The shard's index.
    pub(crate) idx: usize,
    /// Its records.
    pub(crate) table: &'a Table<R, M>,
    /// The size it publishes for `len()`.
    pub(crate) published_len: usize,
    /// A key's hash and the shard it belongs in, by the map's hasher.
    pub(crate) place: &'a dyn Fn(&R::Key) -> (u64, usize),
}

/// Work a point-in-time pass may still be owed by a shard: what a writer that finds the pass
/// open hands its shard to before changing it. Type-erased so that writers, whose records need
/// not be `Clone`, can serve a snapshot (whose records must be).
pub(crate) trait Debt<R: Record, M: Mode>: Send + Sync {
    /// The pass's unique id (ids are never reused).
    fn id(&self) -> u64;
    /// The clock count at the pass's instant: a ticket whose count is at least this was taken
    /// after the instant.
    fn threshold(&self) -> u64;
    /// Hands the shard to the pass, unless the pass has it already or has failed. Never
    /// panics: a panic in the pass's work fails the pass, not the caller.
    fn serve(&self, shard: ShardView<'_, R, M>);
}

/// The part of [`Shared::publishing`] that counts the transactions publishing now.
pub(crate) const PUBLISHERS: u64 = (1 << 32) - 1;

/// What the map keeps beside its shards: the clock, the pass registry and the map-wide probes.
/// Boxed on its own cache lines: every versioned write bumps the clock, so it must not share a
/// line with anything read on every operation.
#[repr(align(64))]
pub(crate) struct Shared<R: Record, M: Mode> {
    pub(crate) clock: Clock,
    /// The seqlock of transactions' publications of their shards' sizes, so `len()` never adds
    /// up part of one: the low 32 bits ([`PUBLISHERS`]) count the transactions publishing now,
    /// the high bits count finished publications. Several transactions on disjoint shards can
    /// publish at once, so a reader must wait for none to be publishing (a single odd/even
    /// counter would look even while two publish).
    pub(crate) publishing: AtomicU64,
    /// The id of the open pass (0: none yet), readable without a lock.
    pub(crate) open_id: AtomicU64,
    /// The open pass, for writers that owe it their shard.
    pub(crate) open: Mutex<Option<Arc<dyn Debt<R, M>>>>,
    /// Passes run one at a time.
    pub(crate) gate: Mutex<()>,
    pub(crate) probes: MapProbes,
}

impl<R: Record, M: Mode> Default for Shared<R, M> {
    fn default() -> Self {
        Shared {
            clock: Clock::default(),
            publishing: AtomicU64::new(0),
            open_id: AtomicU64::new(0),
            open: Mutex::new(None),
            gate: Mutex::new(()),
            probes: MapProbes::default(),
        }
    }
}

/// A shard with its size published for lock-free `len()`. Aligned to 128 bytes (two cache lines,
/// as crossbeam does on x86_64, because of the adjacent-line prefetcher) so that neighbouring
/// shards never share a line.
///
/// The lock, the size, the served mark and the low-order write counters fill the first line; the
/// flushed counters fill the second (which would otherwise be padding).
#[repr(C, align(128))]
pub(crate) struct ShardSlot<R: Record, M: Mode> {
    pub(crate) lock: RwLock<Table<R, M>>,
    /// `table.len()` as of the last write; written only under the write lock.
    pub(crate) len: AtomicUsize,
    /// The id of the last pass this shard was handed to. Written under the shard's lock (read
    /// or write), read under its write lock; the lock orders both, so Relaxed suffices.
    pub(crate) served: AtomicU64,
    /// The low-order part of the shard's write counters (see [`Pending`]), on this line so
    /// that counting a write touches no other.
    pub(crate) pending: Pending,
    pub(crate) probes: ShardProbes,
}

impl<R: Record, M: Mode> ShardSlot<R, M> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        ShardSlot {
            lock: RwLock::new(HashTable::with_capacity(capacity)),
            len: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            pending: Pending::default(),
            probes: ShardProbes::default(),
        }
    }

    /// Write-locks the shard, counting a wait if another thread holds it.
    #[inline(always)]
    pub(crate) fn write(&self) -> ShardWrite<'_, R, M> {
        let table = match self.lock.try_write() {
            Some(table) => table,
            None => self.write_contended(),
        };
        ShardWrite { table, slot: self }
    }

    #[cold]
    #[inline(never)]
    fn write_contended(&self) -> RwLockWriteGuard<'_, Table<R, M>> {
        if M::PROBED {
            MapProbes::count(&self.probes.contended);
        }
        self.lock.write()
    }

    /// Read-locks the shard, counting a wait if a writer holds it.
    #[inline(always)]
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Table<R, M>> {
        match self.lock.try_read() {
            Some(table) => table,
            None => self.read_contended(),
        }
    }

    #[cold]
    #[inline(never)]
    fn read_contended(&self) -> RwLockReadGuard<'_, Table<R, M>> {
        if M::PROBED {
            MapProbes::count(&self.probes.contended);
        }
        self.lock.read()
    }

    /// Counts `n` writes of a kind; the caller holds the shard's write lock.
    #[inline(always)]
    pub(crate) fn note(&self, probe: Probe, n: u64) {
        if M::PROBED {
            self.pending.add(probe, n, &self.probes);
        }
    }

    /// Write-locks the shard if no one holds it.
    #[inline]
    pub(crate) fn try_write(&self) -> Option<ShardWrite<'_, R, M>> {
        Some(ShardWrite {
            table: self.lock.try_write()?,
            slot: self,
        })
    }
}

/// A write lock on one shard that publishes the shard's size when released (also on unwind),
/// so `len()` never scans and never disagrees with the table after a panic.
pub(crate) struct ShardWrite<'a, R: Record, M: Mode> {
    table: RwLockWriteGuard<'a, Table<R, M>>,
    pub(crate) slot: &'a ShardSlot<R, M>,
}

impl<R: Record, M: Mode> ShardWrite<'_, R, M> {
    /// Publishes the table's size now (a transaction publishes all its shards at once).
    #[inline(always)]
    pub(crate) fn publish_len(&self) {
        // Relaxed: `len()` wants each shard's latest size, not an order with other memory (a
        // transaction orders its shards' sizes through the `publishing` seqlock).
        self.slot.len.store(self.table.len(), Ordering::Relaxed);
    }
}

impl<R: Record, M: Mode> Deref for ShardWrite<'_, R, M> {
    type Target = Table<R, M>;
    #[inline(always)]
    fn deref(&self) -> &Table<R, M> {
        &self.table
    }
}

impl<R: Record, M: Mode> DerefMut for ShardWrite<'_, R, M> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Table<R, M> {
        &mut self.table
    }
}

impl<R: Record, M: Mode> Drop for ShardWrite<'_, R, M> {
    #[inline(always)]
    fn drop(&mut self) {
        self.publish_len();
    }
}
