//! `entry`: one key's slot, inside a closure that runs under the shard's write lock.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::mem;

use hashbrown::hash_table;

use crate::map::ShardedMap;
use crate::probes::Probe;
use crate::protocol::{Settle, begin_write_at, store_vacant};
use crate::record::{Mode, Record, VersionedMode};
use crate::reentry::Op;
use crate::shard::{Entry as Stored, ShardSlot, Shared, no_rehash};

/// What every entry needs to write: its shard and the write protocol.
struct Slot<'a, R: Record, M: Mode> {
    slot: &'a ShardSlot<R, M>,
    shared: &'a Shared<R, M>,
    settle: &'a dyn Settle<R, M>,
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
    /// The table's entry (`None` only for the moment a write that serves a pass takes it
    /// again).
    found: Option<hash_table::OccupiedEntry<'a, Stored<R, M>>>,
    /// The revision of this entry's write, once it has made one: an `entry` call changes its
    /// record as one write, so later changes in the same call share it.
    written: Option<u64>,
}

/// A slot with no record, inside an [`Entry`] closure.
pub struct VacantEntry<'a, R: Record, M: Mode> {
    slot: Slot<'a, R, M>,
    /// Where the key's probe ended (the table has room for it).
    vacant: hash_table::VacantEntry<'a, Stored<R, M>>,
    hash: u64,
    /// Whether a record's key is the slot's key.
    matches: &'a dyn Fn(&R::Key) -> bool,
    /// The slot's key, for the mismatch message.
    key: &'a dyn fmt::Debug,
}

impl<'a, R: Record, M: Mode> Entry<'a, R, M> {
    /// `true` if the key has a record.
    #[inline]
    pub fn is_occupied(&self) -> bool {
        matches!(self, Entry::Occupied(_))
    }

    /// The record's view, inserting `record` first if the key is vacant. On a versioned map
    /// the returned view's write takes a fresh revision (the record may change through it).
    ///
    /// # Panics
    ///
    /// If the key is vacant and `record` has another key (nothing is stored).
    #[inline]
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
    #[inline]
    #[track_caller]
    pub fn or_insert_with(self, make: impl FnOnce() -> R) -> R::Mut<'a> {
        match self {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(make()),
        }
    }

    /// Runs `f` on the record if the key is occupied (a write: a fresh revision on a versioned
    /// map), and hands the entry on.
    #[inline]
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
    #[inline]
    fn found(&self) -> &hash_table::OccupiedEntry<'a, Stored<R, M>> {
        self.found
            .as_ref()
            .expect("mapsafe bug: an occupied entry lost its slot")
    }

    #[inline]
    fn found_mut(&mut self) -> &mut hash_table::OccupiedEntry<'a, Stored<R, M>> {
        self.found
            .as_mut()
            .expect("mapsafe bug: an occupied entry lost its slot")
    }

    #[inline]
    fn stored(&self) -> &Stored<R, M> {
        self.found().get()
    }

    /// The record.
    #[inline]
    pub fn get(&self) -> &R {
        &self.stored().record
    }

    /// A mutable view of the record (everything but its key). On a versioned map this is a
    /// write and takes a fresh revision, as `update` does; later changes through the same
    /// entry share that revision (one `entry` call is one write to its record).
    #[inline]
    pub fn get_mut(&mut self) -> R::Mut<'_> {
        self.get_mut_revised().0
    }

    /// `get_mut`, also returning the write's revision.
    #[inline]
    pub(crate) fn get_mut_revised(&mut self) -> (R::Mut<'_>, u64) {
        let revision = self.write(Probe::Updates);
        (self.found_mut().get_mut().record.as_mut(), revision)
    }

    /// [`get_mut`](Self::get_mut) for the rest of the closure.
    #[inline]
    pub fn into_mut(mut self) -> R::Mut<'a> {
        self.write(Probe::Updates);
        self.found
            .expect("mapsafe bug: an occupied entry lost its slot")
            .into_mut()
            .record
            .as_mut()
    }

    /// Starts this entry's write if it has not made one yet (a fresh revision, and any open
    /// pass served first) and returns its revision.
    #[inline]
    fn write(&mut self, counter: Probe) -> u64 {
        if let Some(revision) = self.written {
            return revision;
        }
        let found = self
            .found
            .take()
            .expect("mapsafe bug: an occupied entry lost its slot");
        let (mut found, ticket) =
            begin_write_at(self.slot.shared, self.slot.slot, self.slot.settle, found, 1);
        self.slot.slot.note(counter, 1);
        found.get_mut().revision = M::revision(ticket.first);
        self.found = Some(found);
        self.written = Some(ticket.first);
        ticket.first
    }

    /// Replaces the record and returns the old one.
    ///
    /// # Panics
    ///
    /// If `record` has another key (nothing is stored).
    #[inline]
    #[track_caller]
    pub fn insert(&mut self, record: R) -> R {
        self.insert_revised(record).0
    }

    /// `insert`, also returning the write's revision.
    #[inline]
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
        let revision = self.write(Probe::Inserts);
        (
            mem::replace(&mut self.found_mut().get_mut().record, record),
            revision,
        )
    }

    /// Removes the record and returns it.
    #[inline]
    pub fn remove(self) -> R {
        self.remove_revised().0
    }

    /// `remove`, also returning the removal's revision.
    #[inline]
    pub(crate) fn remove_revised(self) -> (R, u64) {
        let found = self
            .found
            .expect("mapsafe bug: an occupied entry lost its slot");
        let (found, ticket) =
            begin_write_at(self.slot.shared, self.slot.slot, self.slot.settle, found, 1);
        self.slot.slot.note(Probe::Removes, 1);
        (found.remove().0.record, ticket.first)
    }
}

impl<R: Record> OccupiedEntry<'_, R, VersionedMode> {
    /// The revision of the record's last write.
    #[inline]
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
    #[inline]
    #[track_caller]
    pub fn insert(self, record: R) -> R::Mut<'a> {
        self.insert_revised(record).0
    }

    /// `insert`, also returning the write's revision.
    #[inline]
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
        let (stored, revision) = store_vacant(
            self.slot.shared,
            self.slot.slot,
            self.slot.settle,
            self.vacant,
            self.hash,
            record,
        );
        (stored.into_mut().record.as_mut(), revision)
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
    #[inline]
    #[track_caller]
    pub fn entry<Q, T>(&self, key: &Q, f: impl FnOnce(Entry<'_, R, M>) -> T) -> T
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + fmt::Debug + ?Sized,
    {
        let _scope = self.scope(Op::Entry);
        let hash = self.hash(key);
        let mut shard = self.write_shard(hash);
        let slot = shard.slot;
        // Room first, as `insert` does (a growth runs the user's `Hash`, before any change),
        // then one probe finds the key or the slot it would go in.
        self.make_room(&mut shard, 1);
        let found = shard.entry(hash, |e| e.record.key().borrow() == key, no_rehash);
        let slot = Slot {
            slot,
            shared: self.shared(),
            settle: self,
        };
        let matches = |found: &R::Key| found.borrow() == key;
        f(match found {
            hash_table::Entry::Occupied(found) => Entry::Occupied(OccupiedEntry {
                slot,
                found: Some(found),
                written: None,
            }),
            hash_table::Entry::Vacant(vacant) => Entry::Vacant(VacantEntry {
                slot,
                vacant,
                hash,
                matches: &matches,
                key: &key,
            }),
        })
    }
}
