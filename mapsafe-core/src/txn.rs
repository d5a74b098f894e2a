//! Transactions: several keys read and changed atomically.
//!
//! A transaction write-locks the shards of its declared keys without hold-and-wait (try-locks
//! in shard order; when one is busy it releases all, waits for that one alone, and starts
//! over), runs its closure on copies of the records it changes, and commits them all under
//! those locks: one ticket for all of its revisions, so a pass sees all of it or none of it.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::mem;
use core::sync::atomic::{self, Ordering};

use smallvec::SmallVec;

use crate::hasher::DefaultHasher;
use crate::map::ShardedMap;
use crate::probes::{MapProbes, Probe};
use crate::protocol::{settle_if_owed, take_ticket};
use crate::record::{Mode, Record, VersionedMode};
use crate::reentry::{self, Op};
use crate::shard::{PUBLISHERS, ShardWrite, has_room, hash_all, reserve_hashed};

/// Every key a committed transaction changed, with its revision.
pub(crate) type Changed<R> = Vec<(<R as Record>::Key, u64)>;

/// How many keys, shards and staged writes a transaction keeps inline (more spill to the heap).
const INLINE: usize = 4;

/// A transaction's staged writes; after the commit, the records they replaced.
type StagedWrites<R> = SmallVec<[Staged<R>; INLINE]>;

/// One key the transaction wrote, with its new value.
struct Staged<R: Record> {
    hash: u64,
    key: R::Key,
    /// `None`: removed.
    value: Option<R>,
    /// Where the key's record sits in its table (`None`: the key was absent).
    bucket: Option<usize>,
    /// The key's position in `Txn::shards`.
    shard: usize,
}

/// The view of a map inside [`ShardedMap::transaction`]: reads see the transaction's own
/// writes, and nothing is written to the map until the closure returns `Ok`.
///
/// Every key touched must be among the keys declared to `transaction`; touching another one
/// panics (and nothing is written).
///
/// (Its fields drop in order: the locks are released first, then the re-entrancy scope is left,
/// then the staged writes — after a commit, the records they replaced — are dropped, so a
/// record's `Drop` may call the map.)
pub struct Txn<'a, R: Record, M: Mode, S = DefaultHasher> {
    map: &'a ShardedMap<R, M, S>,
    /// The write-locked shards, in shard order, with their indices.
    shards: SmallVec<[(usize, ShardWrite<'a, R, M>); INLINE]>,
    /// Hashes of the declared keys.
    declared: SmallVec<[u64; INLINE]>,
    /// Whether a record's key is one of the declared keys.
    is_declared: &'a dyn Fn(&R::Key) -> bool,
    _scope: reentry::Scope,
    staged: StagedWrites<R>,
}

/// Where a key's current value lives inside a transaction.
enum Found {
    Staged(usize),
    Table { shard: usize, bucket: usize },
    Absent { shard: usize },
}

impl<'a, R: Record + Clone, M: Mode, S: BuildHasher> Txn<'a, R, M, S> {
    /// Finds `key`, panicking if it was not declared.
    #[track_caller]
    fn find<Q>(&self, key: &Q) -> (u64, Found)
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        let hash = self.map.hash(key);
        if !self.declared.contains(&hash) {
            undeclared(key);
        }
        if let Some(i) = self
            .staged
            .iter()
            .position(|s| s.hash == hash && s.key.borrow() == key)
        {
            return (hash, Found::Staged(i));
        }
        let idx = self.map.shard_index(hash);
        let shard = self
            .shards
            .iter()
            .position(|(i, _)| *i == idx)
            .expect("a declared key's shard is locked");
        match ShardedMap::<R, M, S>::find_bucket(&self.shards[shard].1, hash, key) {
            Some(bucket) => {
                let record = &self.shards[shard]
                    .1
                    .get_bucket(bucket)
                    .expect("found")
                    .record;
                if !(self.is_declared)(record.key()) {
                    undeclared(key);
                }
                (hash, Found::Table { shard, bucket })
            }
            None => (hash, Found::Absent { shard }),
        }
    }

    fn table_record(&self, shard: usize, bucket: usize) -> &R {
        &self.shards[shard]
            .1
            .get_bucket(bucket)
            .expect("mapsafe bug: a transaction lost a bucket")
            .record
    }

    /// The record with this key as the transaction sees it.
    ///
    /// # Panics
    ///
    /// If the key was not declared.
    #[track_caller]
    pub fn get<Q>(&self, key: &Q) -> Option<&R>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        match self.find(key).1 {
            Found::Staged(i) => self.staged[i].value.as_ref(),
            Found::Table { shard, bucket } => Some(self.table_record(shard, bucket)),
            Found::Absent { .. } => None,
        }
    }

    /// `true` if the key has a record, as the transaction sees it.
    ///
    /// # Panics
    ///
    /// If the key was not declared.
    #[track_caller]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Stages `key`'s new value (a copy of the record it had, if any) and returns its slot.
    #[track_caller]
    fn stage<Q>(&mut self, key: &Q) -> Option<usize>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        let (hash, found) = self.find(key);
        match found {
            Found::Staged(i) => Some(i),
            Found::Table { shard, bucket } => {
                let record = self.table_record(shard, bucket).clone();
                self.staged.push(Staged {
                    hash,
                    key: record.key().clone(),
                    value: Some(record),
                    bucket: Some(bucket),
                    shard,
                });
                Some(self.staged.len() - 1)
            }
            Found::Absent { .. } => None,
        }
    }

    /// Stores `record` (replacing the key's record) and returns the record it replaced.
    ///
    /// # Panics
    ///
    /// If the record's key was not declared.
    #[track_caller]
    pub fn insert(&mut self, record: R) -> Option<R> {
        if !(self.is_declared)(record.key()) {
            undeclared(record.key());
        }
        let key = record.key().clone();
        let (hash, found) = self.find(&key);
        match found {
            Found::Staged(i) => self.staged[i].value.replace(record),
            Found::Table { shard, bucket } => {
                let old = self.table_record(shard, bucket).clone();
                self.staged.push(Staged {
                    hash,
                    key,
                    value: Some(record),
                    bucket: Some(bucket),
                    shard,
                });
                Some(old)
            }
            Found::Absent { shard } => {
                self.staged.push(Staged {
                    hash,
                    key,
                    value: Some(record),
                    bucket: None,
                    shard,
                });
                None
            }
        }
    }

    /// Updates the record with this key (everything but its key); `None` if it is absent.
    ///
    /// # Panics
    ///
    /// If the key was not declared.
    #[track_caller]
    #[must_use = "`None` means the key was absent and nothing was updated"]
    pub fn update<Q, U>(&mut self, key: &Q, f: impl FnOnce(R::Mut<'_>) -> U) -> Option<U>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        let i = self.stage(key)?;
        let value = self.staged[i].value.as_mut()?;
        Some(f(value.as_mut()))
    }

    /// Removes the record with this key and returns it.
    ///
    /// # Panics
    ///
    /// If the key was not declared.
    #[track_caller]
    pub fn remove<Q>(&mut self, key: &Q) -> Option<R>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        let i = self.stage(key)?;
        self.staged[i].value.take()
    }

    /// Applies the staged writes, all under the locks and with one ticket, leaving in each
    /// staged write's place the record it replaced (dropped with the transaction, after the
    /// locks are released). Returns, if `record` is set, every changed key with its revision.
    fn commit(&mut self, record: bool) -> Changed<R> {
        let map = self.map;
        let hash = |key: &R::Key| map.hash(key);
        let (shards, staged) = (&mut self.shards[..], &mut self.staged[..]);
        // A key inserted and removed again inside the transaction changes nothing.
        let writes = |s: &Staged<R>| s.value.is_some() || s.bucket.is_some();
        let n = staged.iter().filter(|s| writes(s)).count();
        if n == 0 {
            return Vec::new();
        }
        let inserts = staged
            .iter()
            .any(|s| s.bucket.is_none() && s.value.is_some());
        let resizes = inserts
            || staged
                .iter()
                .any(|s| s.value.is_none() && s.bucket.is_some());
        // Every shard that must grow for the inserts has its records hashed first, before any
        // change: a panicking `Hash` fails the commit with nothing written. (The rehash itself
        // comes after the replacements and removals, which address entries by bucket.)
        if inserts {
            for (i, (_, shard)) in shards.iter().enumerate() {
                let n = inserts_into(staged, i);
                if n > 0 && !has_room(shard, n) {
                    hash_all(shard, &hash);
                }
            }
        }
        let shared = map.shared();
        let ticket = take_ticket(shared, n as u64);
        for (_, shard) in shards.iter() {
            settle_if_owed(shared, shard.slot, shard, ticket, map);
        }
        let mut changed = Vec::with_capacity(if record { n } else { 0 });
        let mut revision = ticket.first;
        // Replacements and removals by bucket first (they move no other entry), then inserts
        // (which may grow a table and move buckets).
        for by_bucket in [true, false] {
            for i in 0..staged.len() {
                let (shard, bucket) = (staged[i].shard, staged[i].bucket);
                if bucket.is_some() != by_bucket || !writes(&staged[i]) {
                    continue;
                }
                if bucket.is_none() && !has_room(&shards[shard].1, 1) {
                    let n = inserts_into(&staged[i..], shard);
                    reserve_hashed(&mut shards[shard].1, n, &hash);
                }
                let staged = &mut staged[i];
                if record {
                    let number = if M::VERSIONED { revision } else { 0 };
                    changed.push((staged.key.clone(), number));
                }
                let table = &mut shards[shard].1;
                let stores = staged.value.is_some();
                table.slot.note(
                    if stores {
                        Probe::Inserts
                    } else {
                        Probe::Removes
                    },
                    1,
                );
                // The staged value goes into the table, the record it replaces into its place.
                staged.value = match (bucket, staged.value.take()) {
                    (Some(bucket), Some(record)) => {
                        let entry = table.get_bucket_mut(bucket).expect("staged bucket");
                        entry.revision = M::revision(revision);
                        Some(mem::replace(&mut entry.record, record))
                    }
                    (Some(bucket), None) => {
                        let (entry, _) = table
                            .get_bucket_entry(bucket)
                            .ok()
                            .expect("staged bucket")
                            .remove();
                        Some(entry.record)
                    }
                    (None, Some(record)) => {
                        ShardedMap::<R, M, S>::store_new(table, staged.hash, revision, record);
                        None
                    }
                    (None, None) => unreachable!("skipped above"),
                };
                if M::VERSIONED {
                    revision += 1;
                }
            }
        }
        // Publish the sizes of several shards that changed size inside one seqlock window,
        // so `len()` never adds up part of the transaction (one shard's size is one store, and
        // sizes that did not change need no window). Joining the publishers (and the Release
        // fence) before the stores pairs with `len`'s Acquire fence; leaving (Release), which
        // also counts a finished publication, pairs with its Acquire load.
        if resizes && shards.len() > 1 {
            shared.publishing.fetch_add(1, Ordering::Relaxed);
            atomic::fence(Ordering::Release);
            for (_, shard) in shards.iter() {
                shard.publish_len();
            }
            shared.publishing.fetch_add(PUBLISHERS, Ordering::Release);
        }
        changed
    }

    /// The revision of the key's last committed write, 0 if absent before the transaction (and
    /// always 0 on a plain map).
    #[track_caller]
    pub(crate) fn revision_of<Q>(&self, key: &Q) -> u64
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        let (shard, bucket) = match self.find(key).1 {
            Found::Staged(i) => match self.staged[i].bucket {
                Some(bucket) => (self.staged[i].shard, bucket),
                None => return 0,
            },
            Found::Table { shard, bucket } => (shard, bucket),
            Found::Absent { .. } => return 0,
        };
        M::number(
            self.shards[shard]
                .1
                .get_bucket(bucket)
                .expect("mapsafe bug: a transaction lost a bucket")
                .revision,
        )
    }
}

impl<R: Record + Clone, S: BuildHasher> Txn<'_, R, VersionedMode, S> {
    /// The revision of the key's last committed write (0: absent before the transaction). The
    /// transaction's own writes take their revisions when it commits.
    ///
    /// # Panics
    ///
    /// If the key was not declared.
    #[track_caller]
    pub fn version_of<Q>(&self, key: &Q) -> u64
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        self.revision_of(key)
    }
}

/// How many of `staged` insert into the transaction's shard `shard`.
fn inserts_into<R: Record>(staged: &[Staged<R>], shard: usize) -> usize {
    staged
        .iter()
        .filter(|s| s.shard == shard && s.bucket.is_none())
        .count()
}

/// Counts an aborted transaction when dropped.
struct Aborted<'a>(Option<&'a core::sync::atomic::AtomicU64>);

impl Drop for Aborted<'_> {
    fn drop(&mut self) {
        if let Some(counter) = self.0 {
            MapProbes::count(counter);
        }
    }
}

#[cold]
#[track_caller]
fn undeclared<Q: fmt::Debug + ?Sized>(key: &Q) -> ! {
    panic!(
        "mapsafe: a transaction touched key {key:?}, which is not among the keys passed to \
         `transaction`; nothing was written. Declare every key the closure may touch"
    )
}

impl<R: Record, M: Mode, S> fmt::Debug for Txn<'_, R, M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Txn")
            .field("shards", &self.shards.len())
            .field("declared", &self.declared.len())
            .field("staged", &self.staged.len())
            .finish_non_exhaustive()
    }
}

impl<R: Record, M: Mode, S: BuildHasher> ShardedMap<R, M, S> {
    /// Runs `f` atomically over several keys. `keys` lists every key `f` may touch
    /// (duplicates allowed); `f` reads and writes them through the [`Txn`].
    ///
    /// - **Atomic**: if `f` returns `Ok`, all its writes take effect at one instant; if it
    ///   returns `Err` or panics, none do. No observer (`get`, `snapshot`,
    ///   `verify_consistency`, `len`, another transaction) sees part of it.
    /// - **Isolated**: `f` runs with every involved shard write-locked, so no other call
    ///   changes its keys meanwhile (serializable).
    /// - **Deadlock-free**: the shards are taken without hold-and-wait (try-locks in shard
    ///   order; when one is busy, all are released, that one is waited for alone, and it
    ///   starts over). While `f` runs, calling another map is nested locking, as in any
    ///   closure.
    /// - **Revisions** (versioned): each key the transaction changed gets one fresh revision,
    ///   consecutive for the transaction; a read-only or aborted transaction takes none.
    ///
    /// The transaction works on copies of the records it changes (hence `R: Clone`).
    ///
    /// # Panics
    ///
    /// If `f` touches a key not in `keys`, calls this map, or panics; nothing is written.
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    ///
    /// let stock: ShardedMap<(&str, u32)> = ShardedMap::new();
    /// let _ = stock.insert(("shelf", 10));
    /// let _ = stock.insert(("store", 0));
    /// let moved = stock.transaction(&[&"shelf", &"store"], |tx| {
    ///     let have = tx.get(&"shelf").map_or(0, |(_, n)| *n);
    ///     if have < 5 {
    ///         return Err(have);
    ///     }
    ///     let _ = tx.update(&"shelf", |n| *n -= 5);
    ///     let _ = tx.update(&"store", |n| *n += 5);
    ///     Ok(5)
    /// });
    /// assert_eq!(moved, Ok(5));
    /// assert_eq!(stock.get(&"store"), Some(("store", 5)));
    /// ```
    #[track_caller]
    pub fn transaction<Q, T, E>(
        &self,
        keys: &[&Q],
        f: impl FnOnce(&mut Txn<'_, R, M, S>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        R: Clone,
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        self.transaction_revised(keys, false, f).map(|(out, _)| out)
    }

    /// `transaction`, also returning every key it changed with its revision if `record` is
    /// set (the checker's view; empty otherwise).
    #[track_caller]
    pub(crate) fn transaction_revised<Q, T, E>(
        &self,
        keys: &[&Q],
        record: bool,
        f: impl FnOnce(&mut Txn<'_, R, M, S>) -> Result<T, E>,
    ) -> Result<(T, Changed<R>), E>
    where
        R: Clone,
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        let scope = self.scope(Op::Transaction);
        let declared: SmallVec<[u64; INLINE]> = keys.iter().map(|key| self.hash(*key)).collect();
        let mut indices: SmallVec<[usize; INLINE]> =
            declared.iter().map(|&h| self.shard_index(h)).collect();
        indices.sort_unstable();
        indices.dedup();
        let is_declared = |found: &R::Key| keys.iter().any(|key| found.borrow() == *key);
        let mut tx = Txn {
            map: self,
            shards: self.lock_all(&indices),
            declared,
            is_declared: &is_declared,
            _scope: scope,
            staged: StagedWrites::new(),
        };
        // Counts the transaction as aborted unless it commits (also when `f` panics).
        let probes = &self.shared().probes;
        let abort = Aborted(M::PROBED.then_some(&probes.aborted));
        let outcome = f(&mut tx);
        let changed = if outcome.is_ok() {
            core::mem::forget(abort);
            if M::PROBED {
                MapProbes::count(&probes.committed);
            }
            tx.commit(record)
        } else {
            Vec::new()
        };
        // Releases the locks, leaves the scope, then drops the replaced records.
        drop(tx);
        outcome.map(|out| (out, changed))
    }

    /// Write-locks the shards `indices` (sorted, distinct) without holding any while waiting.
    fn lock_all(&self, indices: &[usize]) -> SmallVec<[(usize, ShardWrite<'_, R, M>); INLINE]> {
        let mut held = SmallVec::with_capacity(indices.len());
        loop {
            let busy = indices
                .iter()
                .find(|&&idx| match self.shards[idx].try_write() {
                    Some(guard) => {
                        held.push((idx, guard));
                        false
                    }
                    None => true,
                });
            match busy {
                None => return held,
                Some(&idx) => {
                    held.clear();
                    // Wait for the busy shard alone, then start over.
                    drop(self.shards[idx].write());
                }
            }
        }
    }
}
