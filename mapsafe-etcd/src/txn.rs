//! `Txn`: what an `EtcdMap::transaction` closure works on — copies of the declared keys' records
//! read at one revision, and the writes it stages for one etcd transaction.

use core::borrow::Borrow;
use core::fmt;

use mapsafe_core::Record;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::EtcdError;
use crate::map::{EtcdMap, compare_mod, etcd_key};
use crate::transport::{Compare, Kv, TxnOp};

struct Slot<R> {
    key: Vec<u8>,
    /// The `mod_revision` read (0: absent); the commit compares against it.
    read_revision: u64,
    current: Option<R>,
    written: bool,
}

/// The declared keys of one `transaction` attempt. Reads see the transaction's own writes;
/// nothing reaches etcd until the closure returns `Ok`.
pub struct Txn<'m, R> {
    prefix: &'m [u8],
    slots: Vec<Slot<R>>,
}

impl<R: fmt::Debug> fmt::Debug for Txn<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.slots.iter().map(|s| &s.current))
            .finish()
    }
}

impl<'m, R> Txn<'m, R>
where
    R: Record + Clone + Serialize + DeserializeOwned,
    R::Key: Serialize + DeserializeOwned,
{
    /// The slots of `keys` (sorted, unique) from one read: one response per key.
    pub(crate) fn new(
        map: &'m EtcdMap<R>,
        keys: &[Vec<u8>],
        read: Vec<Vec<Kv>>,
    ) -> Result<Self, EtcdError> {
        let mut slots = Vec::with_capacity(keys.len());
        for (key, kvs) in keys.iter().zip(read) {
            let kv = kvs.into_iter().next();
            slots.push(Slot {
                key: key.clone(),
                read_revision: kv.as_ref().map_or(0, |kv| kv.mod_revision),
                current: kv.map(|kv| map.decode(&kv)).transpose()?,
                written: false,
            });
        }
        Ok(Txn {
            prefix: &map.prefix,
            slots,
        })
    }

    fn slot<Q: Serialize + ?Sized>(&mut self, key: &Q) -> &mut Slot<R> {
        let at = self.at(key);
        &mut self.slots[at]
    }

    fn at<Q: Serialize + ?Sized>(&self, key: &Q) -> usize {
        let key = etcd_key(self.prefix, key);
        match self.slots.binary_search_by(|s| s.key.as_slice().cmp(&key)) {
            Ok(at) => at,
            Err(_) => panic!(
                "mapsafe-etcd: a transaction touched etcd key {:?}, which is not among its \
                 declared keys; list every key the closure may touch in `transaction(&[...])`",
                String::from_utf8_lossy(&key)
            ),
        }
    }

    /// The record under `key`, as this transaction sees it.
    ///
    /// # Panics
    ///
    /// If `key` was not declared.
    pub fn get<Q>(&self, key: &Q) -> Option<&R>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.slots[self.at(key)].current.as_ref()
    }

    /// Whether `key` holds a record, as this transaction sees it.
    ///
    /// # Panics
    ///
    /// If `key` was not declared.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.slots[self.at(key)].current.is_some()
    }

    /// The key's revision when the transaction read it (0: absent). Writes inside the
    /// transaction do not change it: they get their revision at the commit.
    ///
    /// # Panics
    ///
    /// If `key` was not declared.
    pub fn version_of<Q>(&self, key: &Q) -> u64
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.slots[self.at(key)].read_revision
    }

    /// Stages a store of `record`; returns the record it replaces.
    ///
    /// # Panics
    ///
    /// If the record's key was not declared.
    pub fn insert(&mut self, record: R) -> Option<R> {
        let slot = self.slot(record.key());
        slot.written = true;
        slot.current.replace(record)
    }

    /// Stages an edit of the record under `key`; `None` when absent.
    ///
    /// # Panics
    ///
    /// If `key` was not declared.
    #[must_use = "`None`: the key was absent and nothing was updated"]
    pub fn update<Q, U>(&mut self, key: &Q, f: impl for<'a> FnOnce(R::Mut<'a>) -> U) -> Option<U>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let slot = self.slot(key);
        let record = slot.current.as_mut()?;
        slot.written = true;
        Some(f(record.as_mut()))
    }

    /// Stages the removal of the record under `key`; returns it.
    ///
    /// # Panics
    ///
    /// If `key` was not declared.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<R>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let slot = self.slot(key);
        let removed = slot.current.take();
        slot.written |= removed.is_some();
        removed
    }

    /// The commit: a compare on every declared key's read revision, and the staged writes.
    pub(crate) fn into_commit(self, map: &EtcdMap<R>) -> (Vec<Compare>, Vec<TxnOp>) {
        let compares = self
            .slots
            .iter()
            .map(|s| compare_mod(&s.key, s.read_revision))
            .collect();
        let writes = self
            .slots
            .into_iter()
            .filter(|s| s.written)
            .map(|s| match s.current {
                Some(record) => TxnOp::Put(s.key, map.encode(&record)),
                None => TxnOp::Delete(s.key),
            })
            .collect();
        (compares, writes)
    }
}
