//! `Snapshot`: the records under a prefix as one etcd read at one revision.

use core::borrow::Borrow;
use core::fmt;

use mapsafe_core::{Record, Versioned};
use serde::Serialize;

use crate::map::etcd_key;

/// An owned, point-in-time copy of an [`EtcdMap`](crate::EtcdMap): exactly the records etcd held
/// at revision [`version`](Self::version), from one read (etcd's MVCC), however many clients
/// write meanwhile. Records come in etcd key order.
pub struct Snapshot<R> {
    prefix: Vec<u8>,
    version: u64,
    /// Sorted by etcd key (etcd returns ranges in key order).
    records: Vec<(Vec<u8>, Versioned<R>)>,
}

impl<R> Snapshot<R> {
    pub(crate) fn new(
        prefix: Vec<u8>,
        version: u64,
        records: Vec<(Vec<u8>, Versioned<R>)>,
    ) -> Self {
        Snapshot {
            prefix,
            version,
            records,
        }
    }

    /// The revision the snapshot was read at: it holds exactly the effects of the writes with
    /// revision ≤ this.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Number of records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the snapshot holds no record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records, in etcd key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &R> + '_ {
        self.records.iter().map(|(_, v)| &v.value)
    }

    /// The records with the revision of their last write.
    pub fn iter_versioned(&self) -> impl ExactSizeIterator<Item = Versioned<&R>> + '_ {
        self.records.iter().map(|(_, v)| Versioned {
            version: v.version,
            value: &v.value,
        })
    }

    fn find<Q: Serialize + ?Sized>(&self, key: &Q) -> Option<&Versioned<R>> {
        let key = etcd_key(&self.prefix, key);
        self.records
            .binary_search_by(|(k, _)| k.as_slice().cmp(&key))
            .ok()
            .map(|at| &self.records[at].1)
    }
}

impl<R: Record> Snapshot<R> {
    /// The record under `key` (looked up, not scanned).
    pub fn get<Q>(&self, key: &Q) -> Option<&R>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.find(key).map(|v| &v.value)
    }

    /// The record under `key` with its revision.
    pub fn get_versioned<Q>(&self, key: &Q) -> Option<Versioned<&R>>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.find(key).map(|v| Versioned {
            version: v.version,
            value: &v.value,
        })
    }

    /// Whether a record is stored under `key`.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.find(key).is_some()
    }
}

impl<R: fmt::Debug> fmt::Debug for Snapshot<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.version)
            .field(
                "records",
                &self
                    .records
                    .iter()
                    .map(|(_, v)| &v.value)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<R: Clone> Clone for Snapshot<R> {
    fn clone(&self) -> Self {
        Snapshot {
            prefix: self.prefix.clone(),
            version: self.version,
            records: self.records.clone(),
        }
    }
}

/// Same records (order is etcd's key order on both sides), regardless of the revision read at.
impl<R: PartialEq> PartialEq for Snapshot<R> {
    fn eq(&self, other: &Self) -> bool {
        self.records.len() == other.records.len()
            && self
                .records
                .iter()
                .zip(&other.records)
                .all(|((ka, a), (kb, b))| ka == kb && a.value == b.value)
    }
}

impl<R: Eq> Eq for Snapshot<R> {}

impl<'a, R> IntoIterator for &'a Snapshot<R> {
    type Item = &'a R;
    type IntoIter = core::iter::Map<
        core::slice::Iter<'a, (Vec<u8>, Versioned<R>)>,
        fn(&'a (Vec<u8>, Versioned<R>)) -> &'a R,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.records.iter().map(|(_, v)| &v.value)
    }
}

impl<R> IntoIterator for Snapshot<R> {
    type Item = R;
    type IntoIter = core::iter::Map<
        std::vec::IntoIter<(Vec<u8>, Versioned<R>)>,
        fn((Vec<u8>, Versioned<R>)) -> R,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.records.into_iter().map(|(_, v)| v.value)
    }
}
