//! `entry`: one key's slot, inside a closure that runs under the shard's write lock.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::mem;

use crate::map::{Settle, ShardedMap, settle_if_owed, take_ticket};
use crate::record::{Mode, Record, VersionedMode};
use crate::reentry::Op;
use crate::shard::{Entry as Stored, ShardSlot, Shared, Table, make_room, no_rehash};

/// What every entry needs to write: the table under its lock and the write protocol.
struct Slot<'a, R: Record, M: Mode> {
    table: &'a mut Table<R, M>,
    slot: &'a ShardSlot<R, M>,
    shared: &'a Shared<R, M>,
    settle: &'a dyn Settle<R, M>,
    /// The map's hash of a key, for making room before an insert.
    hash: &'a dyn Fn(&R::Key) -> u64,
}

impl<R: Record, M: Mode> Slot<'_, R, M> {
    /// Takes one fresh revision (versioned) and serves an open pass first, before a change.
    #[inline(always)]
    fn begin_write(&self) -> u64 {
        let ticket = take_ticket(self.shared, 1);
        settle_if_owed(self.shared, self.slot, self.table, ticket, self.settle);
        ticket.first
    }
}

/// One key's slot in a map, handed to the closure of [`ShardedMap::entry`] while the key's
/// shard is write-locked. It cannot leave the closure.
///
/// # Example
///
/// ```
/// use mapsafe_core::ShardedMap;
///
/// let words: ShardedMap<(String, u32)> = ShardedMap::new();
/// for word in "the cat and the hat".split(' ') {
///     words.entry(word, |e| *e.or_insert_with(|| (word.to_string(), 0)) += 1);
/// }
/// assert_eq!(words.read("the", |(_, n)| *n), Some(2));
/// ```
pub enum Entry<'a, R: Record, M: Mode> {
    /// The key has a record.
    Occupied(OccupiedEntry<'a, R, M>),
    /// The key has no record.
    Vacant(VacantEntry<'a, R, M>),
}

/// A slot that holds a record, inside an [`Entry`] closure.
pub struct OccupiedEntry<'a, R: Record, M: Mode> {
    slot: Slot<'a, R, M>,
    bucket: usize,
    /// The revision of this entry's write, once it has made one: an `entry` call changes its
    /// record as one write, so later changes in the same call share it.
    written: Option<u64>,
}

/// A slot with no record, inside an [`Entry`] closure.
pub struct VacantEntry<'a, R: Record, M: Mode> {
    slot: Slot<'a, R, M>,
    hash: u64,
    /// Whether a record's key is the slot's key.
    matches: &'a dyn Fn(&R::Key) -> bool,
    /// The slot's key, for the mismatch message.
    key: &'a dyn fmt::Debug,
}

impl<'a, R: Record, M: Mode> Entry<'a, R, M> {
    /// `true` if the key has a record.
    pub fn is_occupied(&self) -> bool {
        matches!(self, Entry::Occupied(_))
    }

    /// The record's view, inserting `record` first if the key is vacant. On a versioned map
    /// the returned view's write takes a fresh revision (the record may change through it).
    ///
    /// # Panics
    ///
    /// If the key is vacant and `record` has another key (nothing is stored).
    #[track_caller]
    pub fn or_insert(self, record: R) -> R::Mut<'a> {
        match self {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(record),
        }
    }

    /// The record's view, inserting `make()` first if the key is vacant (`make` runs only
    /// then). Revisions as for [`or_insert`](Self::or_insert).
    ///
    /// # Panics
    ///
    /// If `make` returns a record with another key (nothing is stored).
    #[track_caller]
    pub fn or_insert_with(self, make: impl FnOnce() -> R) -> R::Mut<'a> {
        match self {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(make()),
        }
    }

    /// Runs `f` on the record if the key is occupied (a write: a fresh revision on a versioned
    /// map), and hands the entry on.
    pub fn and_modify(self, f: impl FnOnce(R::Mut<'_>)) -> Self {
        match self {
            Entry::Occupied(mut entry) => {
                f(entry.get_mut());
                Entry::Occupied(entry)
            }
            vacant => vacant,
        }
    }
}

impl<'a, R: Record, M: Mode> OccupiedEntry<'a, R, M> {
    fn stored(&self) -> &Stored<R, M> {
        self.slot
            .table
            .get_bucket(self.bucket)
            .expect("mapsafe bug: an occupied entry lost its bucket")
    }

    fn stored_mut(&mut self) -> &mut Stored<R, M> {
        self.slot
            .table
            .get_bucket_mut(self.bucket)
            .expect("mapsafe bug: an occupied entry lost its bucket")
    }

    /// The record.
    pub fn get(&self) -> &R {
        &self.stored().record
    }

    /// A mutable view of the record (everything but its key). On a versioned map this is a
    /// write and takes a fresh revision, as `update` does; later changes through the same
    /// entry share that revision (one `entry` call is one write to its record).
    pub fn get_mut(&mut self) -> R::Mut<'_> {
        self.get_mut_revised().0
    }

    /// `get_mut`, also returning the write's revision.
    pub(crate) fn get_mut_revised(&mut self) -> (R::Mut<'_>, u64) {
        let revision = self.write(|p| &p.updates);
        (self.stored_mut().record.as_mut(), revision)
    }

    /// [`get_mut`](Self::get_mut) for the rest of the closure.
    pub fn into_mut(mut self) -> R::Mut<'a> {
        self.write(|p| &p.updates);
        self.slot
            .table
            .get_bucket_mut(self.bucket)
            .expect("mapsafe bug: an occupied entry lost its bucket")
            .record
            .as_mut()
    }

    /// Starts this entry's write if it has not made one yet (a fresh revision, and any open
    /// pass served first) and returns its revision.
    fn write(
        &mut self,
        counter: fn(&crate::probes::ShardProbes) -> &core::sync::atomic::AtomicU64,
    ) -> u64 {
        if let Some(revision) = self.written {
            return revision;
        }
        let revision = self.slot.begin_write();
        self.slot.slot.note(counter, 1);
        self.stored_mut().revision = M::revision(revision);
        self.written = Some(revision);
        revision
    }

    /// Replaces the record and returns the old one.
    ///
    /// # Panics
    ///
    /// If `record` has another key (nothing is stored).
    #[track_caller]
    pub fn insert(&mut self, record: R) -> R {
        self.insert_revised(record).0
    }

    /// `insert`, also returning the write's revision.
    #[track_caller]
    pub(crate) fn insert_revised(&mut self, record: R) -> (R, u64) {
        let current = self.stored().record.key();
        if record.key() != current {
            panic!(
                "mapsafe: `entry` for key {current:?} was handed a record with key {:?}; a \
                 record must be stored under its own key, so nothing was stored",
                record.key()
            );
        }
        let revision = self.write(|p| &p.inserts);
        (
            mem::replace(&mut self.stored_mut().record, record),
            revision,
        )
    }

    /// Removes the record and returns it.
    pub fn remove(self) -> R {
        self.remove_revised().0
    }

    /// `remove`, also returning the removal's revision.
    pub(crate) fn remove_revised(self) -> (R, u64) {
        let revision = self.slot.begin_write();
        self.slot.slot.note(|p| &p.removes, 1);
        let (stored, _) = self
            .slot
            .table
            .get_bucket_entry(self.bucket)
            .ok()
            .expect("mapsafe bug: an occupied entry lost its bucket")
            .remove();
        (stored.record, revision)
    }
}

impl<R: Record> OccupiedEntry<'_, R, VersionedMode> {
    /// The revision of the record's last write.
    pub fn version(&self) -> u64 {
        self.stored().revision
    }
}

impl<'a, R: Record, M: Mode> VacantEntry<'a, R, M> {
    /// Stores `record` in the slot and returns its view.
    ///
    /// # Panics
    ///
    /// If `record` has another key than the one passed to `entry` (nothing is stored).
    #[track_caller]
    pub fn insert(self, record: R) -> R::Mut<'a> {
        self.insert_revised(record).0
    }

    /// `insert`, also returning the write's revision.
    #[track_caller]
    pub(crate) fn insert_revised(self, record: R) -> (R::Mut<'a>, u64) {
        if !(self.matches)(record.key()) {
            panic!(
                "mapsafe: `entry` for key {:?} was handed a record with key {:?}; a record must \
                 be stored under its own key, so nothing was stored",
                self.key,
                record.key()
            );
        }
        make_room(self.slot.table, 1, self.slot.hash);
        let revision = self.slot.begin_write();
        self.slot.slot.note(|p| &p.inserts, 1);
        let stored = Stored {
            revision: M::revision(revision),
            record,
        };
        let entry = self.slot.table.insert_unique(self.hash, stored, no_rehash);
        (entry.into_mut().record.as_mut(), revision)
    }
}

impl<R: Record + fmt::Debug, M: Mode> fmt::Debug for Entry<'_, R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Occupied(entry) => f.debug_tuple("Occupied").field(entry).finish(),
            Entry::Vacant(entry) => f.debug_tuple("Vacant").field(entry).finish(),
        }
    }
}

impl<R: Record + fmt::Debug, M: Mode> fmt::Debug for OccupiedEntry<'_, R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OccupiedEntry")
            .field("record", self.get())
            .finish()
    }
}

impl<R: Record, M: Mode> fmt::Debug for VacantEntry<'_, R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VacantEntry")
            .field("key", &self.key)
            .finish()
    }
}

impl<R: Record, M: Mode, S: BuildHasher> ShardedMap<R, M, S> {
    /// Runs `f` on the key's slot under the shard's write lock: every read-decide-write on one
    /// key in one call (dashmap's `entry`, without the guard). The [`Entry`] cannot leave the
    /// closure, and the lookup is by `&Q`, so a hit allocates no owned key.
    ///
    /// The changes made to a present record through the entry are one write: the first takes
    /// a fresh revision (on a versioned map) and the rest share it, so no snapshot sees part
    /// of them. Removing the record is a write of its own. A panic in `f` keeps the changes
    /// already made, like `update`.
    ///
    /// # Panics
    ///
    /// If `f` calls this map, if `f` panics, or if a record handed to the entry has another
    /// key than `key` (nothing is stored then).
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::{Entry, ShardedMap};
    ///
    /// let stock: ShardedMap<(String, u32)> = ShardedMap::new();
    /// let _ = stock.insert(("pears".into(), 3));
    /// let sold = stock.entry("pears", |e| match e {
    ///     Entry::Occupied(mut pears) if pears.get().1 >= 2 => {
    ///         *pears.get_mut() -= 2;
    ///         true
    ///     }
    ///     _ => false,
    /// });
    /// assert!(sold);
    /// assert_eq!(stock.read("pears", |(_, n)| *n), Some(1));
    /// ```
    #[track_caller]
    pub fn entry<Q, T>(&self, key: &Q, f: impl FnOnce(Entry<'_, R, M>) -> T) -> T
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        let _scope = self.scope(Op::Entry);
        let hash = self.hash(key);
        let mut shard = self.write_shard(hash);
        let bucket = Self::find_bucket(&shard, hash, key);
        let slot = shard.slot;
        let rehash = |key: &R::Key| self.hash(key);
        let slot = Slot {
            table: &mut shard,
            slot,
            shared: self.shared(),
            settle: self,
            hash: &rehash,
        };
        let matches = |found: &R::Key| found.borrow() == key;
        f(match bucket {
            Some(bucket) => Entry::Occupied(OccupiedEntry {
                slot,
                bucket,
                written: None,
            }),
            None => Entry::Vacant(VacantEntry {
                slot,
                hash,
                matches: &matches,
                key: &key,
            }),
        })
    }
}
