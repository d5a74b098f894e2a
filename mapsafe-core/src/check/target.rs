//! What the checker drives: the operations of a map, with the revision each write was given.
//!
//! The engine implements it through its crate-private stamped variants, so the checker sees the
//! same code paths users call. The trait is public (hidden) so that the checker's own tests can
//! drive deliberately broken engines through it.

use core::fmt::Debug;
use core::hash::BuildHasher;

use crate::entry::Entry;
use crate::map::ShardedMap;
use crate::record::Mode;
use crate::record::{Plain, Record, VersionedMode};
use crate::txn::Txn;
use crate::types::{Conflict, LoadOrStore, Versioned};

/// The key type of a target's records.
pub type KeyOf<T> = <<T as Target>::Record as Record>::Key;

/// A closure that edits a record in place, as `update` hands it over.
pub type EditFn<'f, R> = dyn for<'a> FnMut(<R as Record>::Mut<'a>) + 'f;

/// What an `entry` call did to its slot, whichever shape the closure had. Revisions are `0` on a
/// map without them.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub enum EntryOutcome<R> {
    /// The slot was vacant; the record offered (or made) is now stored with this revision.
    Inserted {
        /// The insert's revision.
        revision: u64,
    },
    /// The slot was occupied and is unchanged: its record and revision.
    Found(Versioned<R>),
    /// The slot was occupied; its record was edited in place and given this revision.
    Modified {
        /// The edit's revision.
        revision: u64,
    },
    /// The slot was occupied; its record was replaced by the one offered.
    Replaced {
        /// The record it held.
        old: R,
        /// The replacement's revision.
        revision: u64,
    },
    /// The slot was occupied; its record was removed, with the removal's revision.
    Removed(Versioned<R>),
    /// The slot was vacant and is left so.
    Vacant,
}

/// What a transaction's body may do: `Txn`'s methods, in a form a trait object can carry.
/// Reads see the transaction's own writes; revisions are `0` on a map without them.
#[doc(hidden)]
pub trait TxnOps<R: Record> {
    /// `tx.get(key)`, cloned.
    fn get(&self, key: &R::Key) -> Option<R>;
    /// `tx.version_of(key)` (0 = absent; 0 on a map without revisions).
    fn version_of(&self, key: &R::Key) -> u64;
    /// `tx.insert(record)`.
    fn insert(&mut self, record: R) -> Option<R>;
    /// `tx.update(key, edit)`; `false` when absent.
    fn update(&mut self, key: &R::Key, edit: &mut EditFn<'_, R>) -> bool;
    /// `tx.remove(key)`.
    fn remove(&mut self, key: &R::Key) -> Option<R>;
}

/// A transaction's body: given the transaction, returns `true` to commit (`Ok`) or `false` to
/// abort (`Err`). It may run more than once on a target that retries (an optimistic store); only
/// its last run counts.
#[doc(hidden)]
pub type TxnBody<'f, R> = dyn FnMut(&mut dyn TxnOps<R>) -> bool + 'f;

/// A key a committed transaction changed, with the revision it was given.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRevision<K> {
    /// The key.
    pub key: K,
    /// Its fresh revision (0 on a map without revisions).
    pub revision: u64,
}

/// How a transaction ended.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutcome<K> {
    /// Its writes took effect; every key it changed, with its revision.
    Committed(Vec<KeyRevision<K>>),
    /// The body returned `false`: nothing took effect.
    Aborted,
}

/// A map the checker can drive. Revisions are `0` on a map without them.
///
/// Implemented for [`ShardedMap`] in both modes; implement it for another engine only to test the
/// checker itself. The compound operations and transactions have default bodies that return
/// `None`, "not supported by this target": the checker probes each once before a run and issues
/// only the supported ones.
#[doc(hidden)]
#[allow(clippy::len_without_is_empty)] // mirrors the map's API only as far as the checker needs
pub trait Target {
    /// The record type.
    type Record: Record + Clone + PartialEq + Debug;
    /// Whether writes carry revisions (and `compare_and_swap` exists).
    const VERSIONED: bool;
    /// Number of shards.
    fn shard_count(&self) -> usize;
    /// The shard `key` lives in (used to force hot keys into one shard).
    fn shard_of(&self, key: &KeyOf<Self>) -> usize;
    /// `get` (plain) or `get_versioned` (versioned).
    fn get(&self, key: &KeyOf<Self>) -> Option<(Self::Record, u64)>;
    /// `contains_key`.
    fn contains_key(&self, key: &KeyOf<Self>) -> bool;
    /// `insert`, with the write's revision.
    fn insert(&self, record: Self::Record) -> (Option<Self::Record>, u64);
    /// `load_or_store`, with the stored record's revision.
    fn load_or_store(&self, record: Self::Record) -> (LoadOrStore<Self::Record>, u64);
    /// `update`, with the write's revision; `None` when absent.
    fn update(&self, key: &KeyOf<Self>, edit: &mut EditFn<'_, Self::Record>) -> Option<u64>;
    /// `remove`, with the removal's revision.
    fn remove(&self, key: &KeyOf<Self>) -> Option<(Self::Record, u64)>;
    /// `compare_and_swap`; `None` on a map without revisions. (Named apart from the map's own
    /// methods so that rustc never suggests this hidden trait to a user of a plain map.)
    fn try_swap(
        &self,
        expected: u64,
        record: Self::Record,
    ) -> Option<Result<u64, Conflict<Self::Record>>>;
    /// `retain`.
    fn retain(&self, keep: &mut dyn FnMut(&Self::Record) -> bool);
    /// `clear`.
    fn clear(&self);
    /// `snapshot`: every record with its revision, and the snapshot's version.
    fn snapshot(&self) -> (Vec<(Self::Record, u64)>, u64);
    /// `version()` (0 on a map without revisions).
    fn latest_revision(&self) -> u64;
    /// `len()`.
    fn len(&self) -> usize;
    /// `verify_consistency`, its error rendered.
    fn verify(&self) -> Result<(), String>;

    /// `get_or_insert_with(key, make)`: the stored record with its revision (the found one's,
    /// or the insert's). `None`: not supported.
    fn get_or_insert_with(
        &self,
        key: &KeyOf<Self>,
        make: &mut dyn FnMut() -> Self::Record,
    ) -> Option<Versioned<Self::Record>> {
        let _ = (key, make);
        None
    }

    /// `remove_if(key, predicate)`: `Some(removed)`, the removed record with the removal's
    /// revision. `None`: not supported.
    #[allow(clippy::option_option)] // outer: supported; inner: removed
    fn remove_if(
        &self,
        key: &KeyOf<Self>,
        predicate: &mut dyn FnMut(&Self::Record) -> bool,
    ) -> Option<Option<Versioned<Self::Record>>> {
        let _ = (key, predicate);
        None
    }

    /// `compare_and_remove(expected, key)`. `None`: not supported (always, on a map without
    /// revisions).
    fn compare_and_remove(
        &self,
        expected: u64,
        key: &KeyOf<Self>,
    ) -> Option<Result<Versioned<Self::Record>, u64>> {
        let _ = (expected, key);
        None
    }

    /// `entry(key, |e| e.or_insert(record))`, where `key` is the record's. `None`: not
    /// supported.
    fn entry_or_insert(&self, record: Self::Record) -> Option<EntryOutcome<Self::Record>> {
        let _ = record;
        None
    }

    /// `entry(key, |e| e.or_insert_with(make))`. `None`: not supported.
    fn entry_or_insert_with(
        &self,
        key: &KeyOf<Self>,
        make: &mut dyn FnMut() -> Self::Record,
    ) -> Option<EntryOutcome<Self::Record>> {
        let _ = (key, make);
        None
    }

    /// `entry(key, |e| e.and_modify(edit).or_insert(record))` (the word counter's shape), where
    /// `key` is the record's. `None`: not supported.
    fn entry_and_modify_or_insert(
        &self,
        record: Self::Record,
        edit: &mut EditFn<'_, Self::Record>,
    ) -> Option<EntryOutcome<Self::Record>> {
        let _ = (record, edit);
        None
    }

    /// `entry(key, |e| match e { Occupied(mut o) => replace with o.insert(record), Vacant(_) =>
    /// leave it })`, where `key` is the record's. `None`: not supported.
    fn entry_replace(&self, record: Self::Record) -> Option<EntryOutcome<Self::Record>> {
        let _ = record;
        None
    }

    /// `entry(key, |e| match e { Occupied(o) => o.remove(), Vacant(_) => leave it })`. `None`:
    /// not supported.
    fn entry_remove(&self, key: &KeyOf<Self>) -> Option<EntryOutcome<Self::Record>> {
        let _ = key;
        None
    }

    /// `transaction(keys, body)`, `body` returning `true` for `Ok` (commit) and `false` for
    /// `Err` (abort). `None`: not supported.
    fn transaction(
        &self,
        keys: &[KeyOf<Self>],
        body: &mut TxnBody<'_, Self::Record>,
    ) -> Option<TxnOutcome<KeyOf<Self>>> {
        let _ = (keys, body);
        None
    }
}

/// The operations both modes share.
macro_rules! common_ops {
    () => {
        fn shard_count(&self) -> usize {
            ShardedMap::shard_count(self)
        }

        fn shard_of(&self, key: &R::Key) -> usize {
            self.shard_index(self.hash(key))
        }

        fn contains_key(&self, key: &R::Key) -> bool {
            ShardedMap::contains_key(self, key)
        }

        fn insert(&self, record: R) -> (Option<R>, u64) {
            self.insert_with_revision(record)
        }

        fn load_or_store(&self, record: R) -> (LoadOrStore<R>, u64) {
            self.load_or_store_with_revision(record)
        }

        fn update(&self, key: &R::Key, edit: &mut EditFn<'_, R>) -> Option<u64> {
            self.update_with_revision(key, |view| edit(view))
                .map(|((), revision)| revision)
        }

        fn remove(&self, key: &R::Key) -> Option<(R, u64)> {
            self.remove_with_revision(key, |_| true)
        }

        fn retain(&self, keep: &mut dyn FnMut(&R) -> bool) {
            ShardedMap::retain(self, keep)
        }

        fn clear(&self) {
            ShardedMap::clear(self)
        }

        fn len(&self) -> usize {
            ShardedMap::len(self)
        }

        fn verify(&self) -> Result<(), String> {
            self.verify_consistency()
                .map(drop)
                .map_err(|err| err.to_string())
        }

        fn get_or_insert_with(
            &self,
            key: &R::Key,
            make: &mut dyn FnMut() -> R,
        ) -> Option<Versioned<R>> {
            let (value, version, _) = self.get_or_insert_with_revision(key, make);
            Some(Versioned { version, value })
        }

        fn remove_if(
            &self,
            key: &R::Key,
            predicate: &mut dyn FnMut(&R) -> bool,
        ) -> Option<Option<Versioned<R>>> {
            Some(
                self.remove_with_revision(key, predicate)
                    .map(|(value, version)| Versioned { version, value }),
            )
        }

        fn entry_or_insert(&self, record: R) -> Option<EntryOutcome<R>> {
            let key = record.key().clone();
            Some(self.entry(&key, |e| match e {
                Entry::Occupied(mut o) => EntryOutcome::Modified {
                    revision: o.get_mut_revised().1,
                },
                Entry::Vacant(v) => EntryOutcome::Inserted {
                    revision: v.insert_revised(record).1,
                },
            }))
        }

        fn entry_or_insert_with(
            &self,
            key: &R::Key,
            make: &mut dyn FnMut() -> R,
        ) -> Option<EntryOutcome<R>> {
            Some(self.entry(key, |e| match e {
                Entry::Occupied(mut o) => EntryOutcome::Modified {
                    revision: o.get_mut_revised().1,
                },
                Entry::Vacant(v) => EntryOutcome::Inserted {
                    revision: v.insert_revised(make()).1,
                },
            }))
        }

        fn entry_and_modify_or_insert(
            &self,
            record: R,
            edit: &mut EditFn<'_, R>,
        ) -> Option<EntryOutcome<R>> {
            let key = record.key().clone();
            // `and_modify(edit)` writes once; the `or_insert` after it hands out the view
            // again, a second write (as the public shorthands do).
            Some(self.entry(&key, |e| match e {
                Entry::Occupied(mut o) => {
                    edit(o.get_mut_revised().0);
                    EntryOutcome::Modified {
                        revision: o.get_mut_revised().1,
                    }
                }
                Entry::Vacant(v) => EntryOutcome::Inserted {
                    revision: v.insert_revised(record).1,
                },
            }))
        }

        fn entry_replace(&self, record: R) -> Option<EntryOutcome<R>> {
            let key = record.key().clone();
            Some(self.entry(&key, |e| match e {
                Entry::Occupied(mut o) => {
                    let (old, revision) = o.insert_revised(record);
                    EntryOutcome::Replaced { old, revision }
                }
                Entry::Vacant(_) => EntryOutcome::Vacant,
            }))
        }

        fn entry_remove(&self, key: &R::Key) -> Option<EntryOutcome<R>> {
            Some(self.entry(key, |e| match e {
                Entry::Occupied(o) => {
                    let (value, version) = o.remove_revised();
                    EntryOutcome::Removed(Versioned { version, value })
                }
                Entry::Vacant(_) => EntryOutcome::Vacant,
            }))
        }

        fn transaction(
            &self,
            keys: &[R::Key],
            body: &mut TxnBody<'_, R>,
        ) -> Option<TxnOutcome<R::Key>> {
            let keys: Vec<&R::Key> = keys.iter().collect();
            let outcome =
                self.transaction_revised(&keys, true, |tx| if body(tx) { Ok(()) } else { Err(()) });
            Some(match outcome {
                Ok(((), changed)) => TxnOutcome::Committed(
                    changed
                        .into_iter()
                        .map(|(key, revision)| KeyRevision { key, revision })
                        .collect(),
                ),
                Err(()) => TxnOutcome::Aborted,
            })
        }
    };
}

impl<R, M, S> TxnOps<R> for Txn<'_, R, M, S>
where
    R: Record + Clone,
    M: Mode,
    S: BuildHasher,
{
    fn get(&self, key: &R::Key) -> Option<R> {
        Txn::get(self, key).cloned()
    }

    fn version_of(&self, key: &R::Key) -> u64 {
        self.revision_of(key)
    }

    fn insert(&mut self, record: R) -> Option<R> {
        Txn::insert(self, record)
    }

    fn update(&mut self, key: &R::Key, edit: &mut EditFn<'_, R>) -> bool {
        Txn::update(self, key, |view| edit(view)).is_some()
    }

    fn remove(&mut self, key: &R::Key) -> Option<R> {
        Txn::remove(self, key)
    }
}

impl<R, S> Target for ShardedMap<R, Plain, S>
where
    R: Record + Clone + PartialEq + Debug,
    S: BuildHasher + Clone,
{
    type Record = R;
    const VERSIONED: bool = false;

    common_ops!();

    fn get(&self, key: &R::Key) -> Option<(R, u64)> {
        ShardedMap::get(self, key).map(|record| (record, 0))
    }

    fn try_swap(&self, _: u64, _: R) -> Option<Result<u64, Conflict<R>>> {
        None
    }

    fn snapshot(&self) -> (Vec<(R, u64)>, u64) {
        let snapshot = ShardedMap::snapshot(self);
        (snapshot.into_iter().map(|record| (record, 0)).collect(), 0)
    }

    fn latest_revision(&self) -> u64 {
        0
    }
}

impl<R, S> Target for ShardedMap<R, VersionedMode, S>
where
    R: Record + Clone + PartialEq + Debug,
    S: BuildHasher + Clone,
{
    type Record = R;
    const VERSIONED: bool = true;

    common_ops!();

    fn get(&self, key: &R::Key) -> Option<(R, u64)> {
        self.get_versioned(key).map(|v| (v.value, v.version))
    }

    fn try_swap(&self, expected: u64, record: R) -> Option<Result<u64, Conflict<R>>> {
        Some(ShardedMap::compare_and_swap(self, expected, record))
    }

    fn compare_and_remove(&self, expected: u64, key: &R::Key) -> Option<Result<Versioned<R>, u64>> {
        Some(ShardedMap::compare_and_remove(self, expected, key))
    }

    fn snapshot(&self) -> (Vec<(R, u64)>, u64) {
        let snapshot = ShardedMap::snapshot(self);
        let records = snapshot
            .iter_versioned()
            .map(|v| (v.value.clone(), v.version))
            .collect();
        (records, snapshot.version())
    }

    fn latest_revision(&self) -> u64 {
        ShardedMap::version(self)
    }
}
