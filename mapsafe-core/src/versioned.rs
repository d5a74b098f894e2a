//! The methods only versioned maps have: revisions, compare-and-swap and compare-and-remove.

use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use core::mem;

use hashbrown::hash_table;

use crate::map::ShardedMap;
use crate::probes::Probe;
use crate::record::{Record, VersionedMode};
use crate::reentry::Op;
use crate::shard::{Entry, no_rehash};
use crate::types::{Conflict, Versioned};

impl<R: Record, S: BuildHasher> ShardedMap<R, VersionedMode, S> {
    /// The latest revision issued; 0 for a new map.
    #[inline]
    pub fn version(&self) -> u64 {
        self.current_revision()
    }

    /// A clone of the record with this key and the revision of its last write.
    #[inline]
    #[track_caller]
    pub fn get_versioned<Q>(&self, key: &Q) -> Option<Versioned<R>>
    where
        R: Clone,
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _scope = self.scope(Op::GetVersioned);
        self.get_with_revision_in_scope(key)
            .map(|(value, version)| Versioned { version, value })
    }

    /// Stores `record` only if its key's current revision is `expected` (0: the key must be
    /// absent) and returns the write's new revision. Otherwise nothing changes and the record
    /// comes back in [`Conflict`] with the key's actual revision (0: absent).
    ///
    /// This is the cure for lost updates: read with `get_versioned`, decide, write with
    /// `compare_and_swap`, and retry on `Conflict`. A refused swap takes no revision. The
    /// replaced record is dropped after the shard's lock is released.
    #[inline]
    #[track_caller]
    pub fn compare_and_swap(&self, expected: u64, record: R) -> Result<u64, Conflict<R>> {
        let (replaced, outcome) = {
            let _scope = self.scope(Op::CompareAndSwap);
            let hash = self.hash(record.key());
            let mut shard = self.write_shard(hash);
            let slot = shard.slot;
            let conflict = |actual, offered| {
                slot.note(Probe::Conflicts, 1);
                Err(Conflict { actual, offered })
            };
            let eq = |e: &Entry<R, VersionedMode>| e.record.key() == record.key();
            if expected != 0 {
                // The key must be present: one probe finds it, no room is needed.
                let Ok(found) = shard.find_entry(hash, eq) else {
                    return conflict(0, record);
                };
                let actual = found.get().revision;
                if actual != expected {
                    return conflict(actual, record);
                }
                let (mut found, ticket) = self.begin_write_at(slot, found, 1);
                slot.note(Probe::Swaps, 1);
                slot.note(Probe::Inserts, 1);
                let entry = found.get_mut();
                entry.revision = ticket.first;
                (
                    Some(mem::replace(&mut entry.record, record)),
                    Ok(ticket.first),
                )
            } else {
                // The key must be absent: room first (as `insert`), then one probe.
                self.make_room(&mut shard, 1);
                match shard.entry(hash, eq, no_rehash) {
                    hash_table::Entry::Occupied(found) => {
                        let actual = found.get().revision;
                        return conflict(actual, record);
                    }
                    hash_table::Entry::Vacant(vacant) => {
                        slot.note(Probe::Swaps, 1);
                        (None, Ok(self.store_vacant(slot, vacant, hash, record)))
                    }
                }
            }
        };
        drop(replaced);
        outcome
    }

    /// Removes the record with this key only if its revision is `expected`. `Ok` holds the
    /// removed record with the revision stamped on the removal; `Err` holds the key's actual
    /// revision (0: absent), and nothing changes (no revision is taken).
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::{ShardedMap, VersionedMode};
    ///
    /// let map: ShardedMap<(u32, &str), VersionedMode> = ShardedMap::new();
    /// let rev = map.compare_and_swap(0, (1, "a")).unwrap();
    /// assert_eq!(map.compare_and_remove(rev + 1, &1), Err(rev));
    /// let removed = map.compare_and_remove(rev, &1).unwrap();
    /// assert_eq!((removed.value, removed.version), ((1, "a"), rev + 1));
    /// assert_eq!(map.compare_and_remove(rev, &1), Err(0));
    /// ```
    #[inline]
    #[track_caller]
    #[must_use = "`Err` means the key was not removed: it holds the key's actual revision"]
    pub fn compare_and_remove<Q>(&self, expected: u64, key: &Q) -> Result<Versioned<R>, u64>
    where
        R::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _scope = self.scope(Op::CompareAndRemove);
        let hash = self.hash(key);
        let mut shard = self.write_shard(hash);
        let slot = shard.slot;
        let Ok(found) = shard.find_entry(hash, |e| e.record.key().borrow() == key) else {
            slot.note(Probe::Conflicts, 1);
            return Err(0);
        };
        let actual = found.get().revision;
        if actual != expected {
            slot.note(Probe::Conflicts, 1);
            return Err(actual);
        }
        let (found, ticket) = self.begin_write_at(slot, found, 1);
        slot.note(Probe::Swaps, 1);
        slot.note(Probe::Removes, 1);
        let (entry, _) = found.remove();
        let version = ticket.first;
        Ok(Versioned {
            version,
            value: entry.record,
        })
    }
}
