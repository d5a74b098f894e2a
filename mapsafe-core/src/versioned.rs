//! The methods only versioned maps have: revisions, compare-and-swap and compare-and-remove.

use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use core::mem;

use crate::map::ShardedMap;
use crate::record::{Record, VersionedMode};
use crate::reentry::Op;
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
            match Self::find_bucket(&shard, hash, record.key()) {
                Some(bucket) => {
                    let actual = shard
                        .get_bucket(bucket)
                        .expect("bucket just found")
                        .revision;
                    if actual != expected {
                        shard.slot.note(|p| &p.conflicts, 1);
                        return Err(Conflict {
                            actual,
                            offered: record,
                        });
                    }
                    let revision = self.begin_write(&shard, 1);
                    shard.slot.note(|p| &p.swaps, 1);
                    shard.slot.note(|p| &p.inserts, 1);
                    let entry = shard.get_bucket_mut(bucket).expect("bucket just found");
                    entry.revision = revision;
                    (Some(mem::replace(&mut entry.record, record)), Ok(revision))
                }
                None if expected != 0 => {
                    shard.slot.note(|p| &p.conflicts, 1);
                    return Err(Conflict {
                        actual: 0,
                        offered: record,
                    });
                }
                None => {
                    self.make_room(&mut shard, 1);
                    let revision = self.begin_write(&shard, 1);
                    shard.slot.note(|p| &p.swaps, 1);
                    shard.slot.note(|p| &p.inserts, 1);
                    Self::store_new(&mut shard, hash, revision, record);
                    (None, Ok(revision))
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
        let Some(bucket) = Self::find_bucket(&shard, hash, key) else {
            shard.slot.note(|p| &p.conflicts, 1);
            return Err(0);
        };
        let actual = shard
            .get_bucket(bucket)
            .expect("bucket just found")
            .revision;
        if actual != expected {
            shard.slot.note(|p| &p.conflicts, 1);
            return Err(actual);
        }
        let version = self.begin_write(&shard, 1);
        shard.slot.note(|p| &p.swaps, 1);
        shard.slot.note(|p| &p.removes, 1);
        let (entry, _) = shard
            .get_bucket_entry(bucket)
            .ok()
            .expect("bucket just found")
            .remove();
        Ok(Versioned {
            version,
            value: entry.record,
        })
    }
}
