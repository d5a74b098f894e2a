//! `EtcdMap`: the versioned map's methods on an etcd cluster.

use core::borrow::Borrow;
use core::fmt;
use core::marker::PhantomData;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mapsafe_core::{Conflict, LoadOrStore, Record, Versioned};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::EtcdError;
use crate::snapshot::Snapshot;
use crate::transport::{self, Compare, Kv, Relation, Target, Transport, TxnOp};
use crate::txn::Txn;
use crate::watch::Watch;

/// How many times `update`, `transaction` and `retain` read, decide and try to write before
/// giving up with [`EtcdError::ConflictExhausted`], unless configured.
pub const DEFAULT_ATTEMPTS: u32 = 100;

/// A map of records kept in etcd: one etcd key per record under a prefix, the record as JSON.
///
/// The methods are those of a `#[concurrent_map(versioned)]` map with the same meaning, each
/// wrapped in `Result<_, EtcdError>`. A record's revision is its etcd `mod_revision`, and
/// [`version`](Self::version) is the store's revision, so revisions from this map and from
/// `etcdctl` agree. Where etcd forces a different meaning, the method's docs say so:
///
/// - `update`, `transaction` and `retain` are optimistic (read, decide, write with a compare on
///   `mod_revision`, retry on conflict), so their closures are `FnMut` and may run more than once;
/// - etcd gives **one revision per transaction**: every key a `transaction` (or a `clear`, or
///   one `retain`) writes gets the same revision, where the in-process map gives consecutive
///   ones;
/// - an [`EtcdError`] on a write means its outcome is unknown.
///
/// `EtcdMap` is `Send + Sync`; share it with `Arc`.
///
/// # Example
///
/// ```no_run
/// use mapsafe::concurrent_map;
/// use mapsafe_etcd::EtcdMap;
/// use serde::{Deserialize, Serialize};
///
/// #[concurrent_map(versioned)]
/// #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// pub struct Order {
///     #[key]
///     pub id: u64,
///     pub paid: bool,
/// }
///
/// # fn main() -> Result<(), mapsafe_etcd::EtcdError> {
/// let orders: EtcdMap<Order> = EtcdMap::connect(&["http://127.0.0.1:2379"], "orders/")?;
/// let revision = orders.compare_and_swap(0, Order { id: 7, paid: false })?.expect("new key");
/// let seen = orders.get_versioned(&7)?.unwrap();
/// assert_eq!(seen.version, revision);
/// # Ok(())
/// # }
/// ```
pub struct EtcdMap<R> {
    pub(crate) transport: Transport,
    pub(crate) prefix: Vec<u8>,
    pub(crate) prefix_end: Vec<u8>,
    attempts: u32,
    /// Taken exclusively by the checker's `retain` and `clear` (see `check.rs`), shared by its
    /// other calls; the map's own methods never take it.
    pub(crate) check_gate: RwLock<()>,
    /// Writes whose answer was lost and that the checker's adapter resolved from history.
    pub(crate) resolved_writes: AtomicU64,
    _records: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for EtcdMap<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdMap")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// The first key after every key that starts with `prefix` (etcd's prefix range end).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // An empty prefix (or all 0xff): "\0" means every key from `key` on.
    vec![0]
}

impl<R> EtcdMap<R>
where
    R: Record + Clone + Serialize + DeserializeOwned,
    R::Key: Serialize + DeserializeOwned,
{
    /// Connects to the cluster whose members answer at `endpoints` (`http://host:port` each; the
    /// client fails over between them) and keeps this map's records under `prefix`, which nothing
    /// else should write. Checks that a member answers. Waits at most 5 s for a connection and
    /// for each answer; see [`connect_with_timeout`](Self::connect_with_timeout).
    ///
    /// # Errors
    ///
    /// [`EtcdError::InvalidEndpoint`] for an endpoint that is not `http://host:port`, and
    /// [`EtcdError::Unavailable`] or [`EtcdError::Timeout`] when no member answers.
    pub fn connect(endpoints: &[&str], prefix: &str) -> Result<Self, EtcdError> {
        Self::connect_with_timeout(endpoints, prefix, transport::DEFAULT_TIMEOUT)
    }

    /// [`connect`](Self::connect), waiting at most `timeout` for a connection and for each
    /// answer. A read that times out moves on to the next member; a write that times out is an
    /// error (its outcome is unknown).
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn connect_with_timeout(
        endpoints: &[&str],
        prefix: &str,
        timeout: Duration,
    ) -> Result<Self, EtcdError> {
        let map = EtcdMap {
            transport: Transport::new(endpoints, timeout)?,
            prefix: prefix.as_bytes().to_vec(),
            prefix_end: prefix_end(prefix.as_bytes()),
            attempts: DEFAULT_ATTEMPTS,
            check_gate: RwLock::new(()),
            resolved_writes: AtomicU64::new(0),
            _records: PhantomData,
        };
        map.version()?;
        Ok(map)
    }

    /// How many times optimistic calls try before [`EtcdError::ConflictExhausted`] (default
    /// [`DEFAULT_ATTEMPTS`], at least 1).
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// How many writes the consistency checker's adapter found with a lost answer and resolved
    /// from etcd's history (see the checker's target in this crate); 0 outside the checker.
    #[doc(hidden)]
    pub fn resolved_writes(&self) -> u64 {
        self.resolved_writes.load(Ordering::Relaxed)
    }

    /// The etcd key of a record's key: the prefix, then the key as JSON.
    pub(crate) fn etcd_key<Q: Serialize + ?Sized>(&self, key: &Q) -> Vec<u8> {
        etcd_key(&self.prefix, key)
    }

    pub(crate) fn encode(&self, record: &R) -> Vec<u8> {
        serde_json::to_vec(record).expect("mapsafe-etcd: a record failed to serialize to JSON")
    }

    pub(crate) fn decode(&self, kv: &Kv) -> Result<R, EtcdError> {
        serde_json::from_slice(&kv.value).map_err(|e| EtcdError::Undecodable {
            key: String::from_utf8_lossy(&kv.key).into_owned(),
            reason: e.to_string(),
        })
    }

    pub(crate) fn decode_versioned(&self, kv: &Kv) -> Result<Versioned<R>, EtcdError> {
        Ok(Versioned {
            version: kv.mod_revision,
            value: self.decode(kv)?,
        })
    }

    /// The pair stored under an etcd key, if any.
    pub(crate) fn read_kv(&self, key: &[u8]) -> Result<Option<Kv>, EtcdError> {
        Ok(self.transport.range(key, None, 0, false)?.kvs.pop())
    }

    /// Stores `value` only if the key's `mod_revision` is `expected` (0: absent): `Ok` with the
    /// write's revision, or `Err` with what the key holds.
    pub(crate) fn swap_kv(
        &self,
        key: &[u8],
        expected: u64,
        value: Vec<u8>,
    ) -> Result<Result<u64, Option<Kv>>, EtcdError> {
        let answer = self.transport.txn(
            &[compare_mod(key, expected)],
            &[TxnOp::Put(key.to_vec(), value)],
            &[TxnOp::Get(key.to_vec())],
        )?;
        Ok(if answer.succeeded {
            Ok(answer.revision)
        } else {
            Err(answer.responses.into_iter().flatten().next())
        })
    }

    /// Deletes the key only if its `mod_revision` is `expected`: `Ok` with the removal's revision
    /// and the pair removed, or `Err` with what the key holds.
    pub(crate) fn remove_kv_if(
        &self,
        key: &[u8],
        expected: u64,
    ) -> Result<Result<(u64, Kv), Option<Kv>>, EtcdError> {
        let answer = self.transport.txn(
            &[compare_mod(key, expected)],
            &[TxnOp::Delete(key.to_vec())],
            &[TxnOp::Get(key.to_vec())],
        )?;
        let mut kvs = answer.responses.into_iter().flatten();
        Ok(match (answer.succeeded, kvs.next()) {
            (true, Some(removed)) => Ok((answer.revision, removed)),
            (_, current) => Err(current),
        })
    }

    /// A clone of the record stored under `key`.
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`]; reads fail over between members.
    pub fn get<Q>(&self, key: &Q) -> Result<Option<R>, EtcdError>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        Ok(self.get_versioned(key)?.map(|v| v.value))
    }

    /// The record stored under `key` with its revision (etcd's `mod_revision`).
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`].
    pub fn get_versioned<Q>(&self, key: &Q) -> Result<Option<Versioned<R>>, EtcdError>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        match self.read_kv(&self.etcd_key(key))? {
            Some(kv) => self.decode_versioned(&kv).map(Some),
            None => Ok(None),
        }
    }

    /// Whether a record is stored under `key`.
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`].
    pub fn contains_key<Q>(&self, key: &Q) -> Result<bool, EtcdError>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let range = self.transport.range(&self.etcd_key(key), None, 0, true)?;
        Ok(range.count > 0)
    }

    /// Stores the record (upsert); returns the record it replaced.
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`]; the write's outcome is then unknown.
    pub fn insert(&self, record: R) -> Result<Option<R>, EtcdError> {
        Ok(self.insert_stamped(record)?.0)
    }

    /// `insert`, with the write's revision.
    pub(crate) fn insert_stamped(&self, record: R) -> Result<(Option<R>, u64), EtcdError> {
        let key = self.etcd_key(record.key());
        let (revision, prev) = self.transport.put(&key, &self.encode(&record))?;
        let replaced = prev.map(|kv| self.decode(&kv)).transpose()?;
        Ok((replaced, revision))
    }

    /// Atomic get-or-insert: one etcd transaction that stores the record only if its key was
    /// never created (`create_revision == 0`), and otherwise returns what is stored.
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`]; the write's outcome is then unknown.
    pub fn load_or_store(&self, record: R) -> Result<LoadOrStore<R>, EtcdError> {
        Ok(self.load_or_store_stamped(record)?.0)
    }

    /// `load_or_store`, with the stored record's revision.
    pub(crate) fn load_or_store_stamped(
        &self,
        record: R,
    ) -> Result<(LoadOrStore<R>, u64), EtcdError> {
        let key = self.etcd_key(record.key());
        let answer = self.transport.txn(
            &[Compare {
                key: key.clone(),
                target: Target::Create,
                relation: Relation::Equal,
                revision: 0,
            }],
            &[TxnOp::Put(key.clone(), self.encode(&record))],
            &[TxnOp::Get(key)],
        )?;
        if answer.succeeded {
            return Ok((LoadOrStore::Stored, answer.revision));
        }
        match answer.responses.into_iter().flatten().next() {
            Some(kv) => {
                let current = self.decode(&kv)?;
                Ok((
                    LoadOrStore::Loaded {
                        current,
                        offered: record,
                    },
                    kv.mod_revision,
                ))
            }
            // The failure branch reads the key at the revision the compare saw it created.
            None => Err(EtcdError::Rejected {
                code: 0,
                status: 200,
                message: "etcd refused a create-only put on a key it reports absent".into(),
            }),
        }
    }

    /// Edits the record under `key` through its view and writes it back if nobody wrote it in
    /// between; returns the closure's result, `None` when the key is absent.
    ///
    /// Unlike the in-process map, which runs the closure once under the shard lock, this reads
    /// the record, runs `f` on a copy, and writes with a compare on the `mod_revision` it read;
    /// on conflict it reads again and **runs `f` again** (so `f` is `FnMut`, and should be a
    /// function of the record it is given), up to the configured attempts.
    ///
    /// # Errors
    ///
    /// [`EtcdError::ConflictExhausted`] when every attempt met a conflict; any other
    /// [`EtcdError`], after which the outcome of the last attempt is unknown.
    pub fn update<Q, T>(
        &self,
        key: &Q,
        f: impl for<'a> FnMut(R::Mut<'a>) -> T,
    ) -> Result<Option<T>, EtcdError>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        Ok(self.update_stamped(key, f)?.map(|(out, _)| out))
    }

    /// `update`, with the write's revision.
    pub(crate) fn update_stamped<Q, T>(
        &self,
        key: &Q,
        mut f: impl for<'a> FnMut(R::Mut<'a>) -> T,
    ) -> Result<Option<(T, u64)>, EtcdError>
    where
        Q: Serialize + ?Sized,
    {
        let key = self.etcd_key(key);
        let mut current = self.read_kv(&key)?;
        for _ in 0..self.attempts {
            let Some(kv) = current else {
                return Ok(None);
            };
            let mut record = self.decode(&kv)?;
            let out = f(record.as_mut());
            match self.swap_kv(&key, kv.mod_revision, self.encode(&record))? {
                Ok(revision) => return Ok(Some((out, revision))),
                Err(now) => current = now,
            }
        }
        Err(EtcdError::ConflictExhausted {
            operation: "update",
            attempts: self.attempts,
        })
    }

    /// Removes and returns the record under `key`.
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`]; the write's outcome is then unknown.
    pub fn remove<Q>(&self, key: &Q) -> Result<Option<R>, EtcdError>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let (_, removed) = self.transport.delete(&self.etcd_key(key), None)?;
        removed.first().map(|kv| self.decode(kv)).transpose()
    }

    /// Stores the record only if its key's revision is `expected` (0: the key must be absent):
    /// one etcd transaction comparing `mod_revision`. `Ok` holds the new revision; a
    /// [`Conflict`] hands the record back with the key's actual revision (0: absent).
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`]; the write's outcome is then unknown.
    pub fn compare_and_swap(
        &self,
        expected: u64,
        record: R,
    ) -> Result<Result<u64, Conflict<R>>, EtcdError> {
        let key = self.etcd_key(record.key());
        Ok(match self.swap_kv(&key, expected, self.encode(&record))? {
            Ok(revision) => Ok(revision),
            Err(current) => Err(Conflict {
                actual: current.map_or(0, |kv| kv.mod_revision),
                offered: record,
            }),
        })
    }

    /// Removes the record under `key` only if its revision is `expected`: `Ok` holds the removed
    /// record with the removal's revision, `Err` the key's actual revision (0: absent; `expected`
    /// 0 never removes anything).
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`]; the write's outcome is then unknown.
    pub fn compare_and_remove<Q>(
        &self,
        expected: u64,
        key: &Q,
    ) -> Result<Result<Versioned<R>, u64>, EtcdError>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let key = self.etcd_key(key);
        if expected == 0 {
            return Ok(Err(self.read_kv(&key)?.map_or(0, |kv| kv.mod_revision)));
        }
        Ok(match self.remove_kv_if(&key, expected)? {
            Ok((revision, kv)) => Ok(Versioned {
                version: revision,
                value: self.decode(&kv)?,
            }),
            Err(current) => Err(current.map_or(0, |kv| kv.mod_revision)),
        })
    }

    /// Runs `f` on the declared keys and commits its writes atomically: one etcd transaction
    /// that compares every declared key's `mod_revision` with what `f` read (so `f`'s reads are
    /// still true when its writes land: serializable), retried from a fresh read on conflict.
    ///
    /// `f` sees the records as one read at one revision, and its own writes. If it returns
    /// `Err`, nothing is written. Differences from the in-process map: `f` may **run more than
    /// once** (so it is `FnMut`, and should decide from what `Txn` shows it); every key it writes
    /// gets the **same revision** (etcd gives one revision per transaction); a transaction that
    /// writes nothing sends no write. Touching a key not in `keys` panics, as in-process.
    ///
    /// # Errors
    ///
    /// [`EtcdError::ConflictExhausted`] when every attempt met a conflict; any other
    /// [`EtcdError`], after which the outcome of the commit is unknown.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # use mapsafe_etcd::EtcdMap;
    /// # fn demo(stock: &EtcdMap<(String, u32)>) -> Result<(), mapsafe_etcd::EtcdError> {
    /// let (from, to) = ("pears".to_string(), "plums".to_string());
    /// let moved = stock.transaction(&[&from, &to], |tx| {
    ///     let have = tx.get(&from).map_or(0, |s| s.1);
    ///     if have < 5 || !tx.contains_key(&to) {
    ///         return Err(have);
    ///     }
    ///     let _ = tx.update(&from, |qty| *qty -= 5);
    ///     let _ = tx.update(&to, |qty| *qty += 5);
    ///     Ok(())
    /// })?;
    /// # let _ = moved;
    /// # Ok(())
    /// # }
    /// ```
    pub fn transaction<Q, T, E>(
        &self,
        keys: &[&Q],
        mut f: impl FnMut(&mut Txn<'_, R>) -> Result<T, E>,
    ) -> Result<Result<T, E>, EtcdError>
    where
        R::Key: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let mut etcd_keys: Vec<Vec<u8>> = keys.iter().map(|k| self.etcd_key(*k)).collect();
        etcd_keys.sort();
        etcd_keys.dedup();
        let gets: Vec<TxnOp> = etcd_keys.iter().cloned().map(TxnOp::Get).collect();
        // A read-only transaction: every declared key at one revision.
        let mut read = self.transport.txn(&[], &gets, &[])?.responses;
        for _ in 0..self.attempts {
            let mut tx = Txn::new(self, &etcd_keys, read)?;
            let out = match f(&mut tx) {
                Ok(out) => out,
                Err(err) => return Ok(Err(err)),
            };
            let (compares, writes) = tx.into_commit(self);
            if writes.is_empty() {
                return Ok(Ok(out));
            }
            let answer = self.transport.txn(&compares, &writes, &gets)?;
            if answer.succeeded {
                return Ok(Ok(out));
            }
            read = answer.responses;
        }
        Err(EtcdError::ConflictExhausted {
            operation: "transaction",
            attempts: self.attempts,
        })
    }

    /// Keeps only the records for which `keep` returns `true`.
    ///
    /// Reads every record at one revision, runs `keep` on each, then removes the refused ones in
    /// one etcd transaction that compares each refused record's `mod_revision` with what `keep`
    /// saw; on conflict it starts over, so **`keep` may run more than once per record**. The
    /// records it removes share one revision. (The in-process `retain` is atomic per shard; this
    /// one is atomic over the refused records, and records written after the read are not seen.)
    ///
    /// # Errors
    ///
    /// [`EtcdError::ConflictExhausted`] when every attempt met a conflict; any other
    /// [`EtcdError`], after which the removals' outcome is unknown.
    pub fn retain(&self, mut keep: impl FnMut(&R) -> bool) -> Result<(), EtcdError> {
        for _ in 0..self.attempts {
            if self.retain_once(&mut keep)? {
                return Ok(());
            }
        }
        Err(EtcdError::ConflictExhausted {
            operation: "retain",
            attempts: self.attempts,
        })
    }

    /// One attempt of `retain`: `false` when a refused record changed after the read.
    pub(crate) fn retain_once(&self, keep: &mut dyn FnMut(&R) -> bool) -> Result<bool, EtcdError> {
        let range = self.transport.scan(&self.prefix, &self.prefix_end, 0)?;
        let mut compares = Vec::new();
        let mut deletes = Vec::new();
        for kv in &range.kvs {
            if !keep(&self.decode(kv)?) {
                compares.push(compare_mod(&kv.key, kv.mod_revision));
                deletes.push(TxnOp::Delete(kv.key.clone()));
            }
        }
        if deletes.is_empty() {
            return Ok(true);
        }
        Ok(self.transport.txn(&compares, &deletes, &[])?.succeeded)
    }

    /// Removes every record under the prefix: one etcd delete, at one revision.
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`]; the removals' outcome is then unknown.
    pub fn clear(&self) -> Result<(), EtcdError> {
        self.transport
            .delete(&self.prefix, Some(&self.prefix_end))
            .map(drop)
    }

    /// Every record, read at one revision (etcd's MVCC makes it point-in-time);
    /// [`Snapshot::version`] is that revision.
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`]; [`EtcdError::Undecodable`] names a value under the prefix that is not
    /// a record.
    pub fn snapshot(&self) -> Result<Snapshot<R>, EtcdError> {
        self.snapshot_at_revision(0)
    }

    /// The records as they were at `revision` (which must not be compacted): the past, read from
    /// etcd's history.
    ///
    /// # Errors
    ///
    /// [`EtcdError::Compacted`] when etcd has compacted that revision away; a future revision is
    /// [`EtcdError::Rejected`].
    pub fn snapshot_at(&self, revision: u64) -> Result<Snapshot<R>, EtcdError> {
        self.snapshot_at_revision(revision.max(1))
    }

    fn snapshot_at_revision(&self, revision: u64) -> Result<Snapshot<R>, EtcdError> {
        let range = self
            .transport
            .scan(&self.prefix, &self.prefix_end, revision)?;
        let version = range.revision;
        let records = range
            .kvs
            .iter()
            .map(|kv| Ok((kv.key.clone(), self.decode_versioned(kv)?)))
            .collect::<Result<Vec<_>, EtcdError>>()?;
        Ok(Snapshot::new(self.prefix.clone(), version, records))
    }

    /// The number of records under the prefix (etcd counts them; no records are sent).
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`].
    pub fn len(&self) -> Result<usize, EtcdError> {
        Ok(self.len_at()?.0)
    }

    /// `len()`, with the revision it was counted at.
    pub(crate) fn len_at(&self) -> Result<(usize, u64), EtcdError> {
        let range = self
            .transport
            .range(&self.prefix, Some(&self.prefix_end), 0, true)?;
        Ok((range.count as usize, range.revision))
    }

    /// Whether the prefix holds no record.
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`].
    pub fn is_empty(&self) -> Result<bool, EtcdError> {
        Ok(self.len()? == 0)
    }

    /// The store's latest revision (a fresh etcd is at 1; writes under other prefixes move it
    /// too).
    ///
    /// # Errors
    ///
    /// Any [`EtcdError`].
    pub fn version(&self) -> Result<u64, EtcdError> {
        Ok(self.len_at()?.1)
    }

    /// The changes under the prefix from `from_revision` on (inclusive), in revision order. See
    /// [`Watch`].
    pub fn watch(&self, from_revision: u64) -> Watch<'_, R> {
        Watch::new(self, from_revision.max(1))
    }
}

/// `mod_revision(key) == expected`.
pub(crate) fn compare_mod(key: &[u8], expected: u64) -> Compare {
    Compare {
        key: key.to_vec(),
        target: Target::Mod,
        relation: Relation::Equal,
        revision: expected,
    }
}

/// The etcd key of a record's key: `prefix` then the key as JSON.
pub(crate) fn etcd_key<Q: Serialize + ?Sized>(prefix: &[u8], key: &Q) -> Vec<u8> {
    let mut out = prefix.to_vec();
    serde_json::to_writer(&mut out, key).expect("mapsafe-etcd: a key failed to serialize to JSON");
    out
}

#[cfg(test)]
mod tests {
    use super::{etcd_key, prefix_end};

    #[test]
    fn prefix_end_is_the_first_key_past_the_prefix() {
        assert_eq!(prefix_end(b"orders/"), b"orders0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b""), b"\0");
    }

    #[test]
    fn keys_are_the_prefix_then_json_so_str_and_string_agree() {
        assert_eq!(etcd_key(b"p/", &7_u64), b"p/7");
        assert_eq!(etcd_key(b"p/", "ada"), etcd_key(b"p/", &"ada".to_string()));
        assert_eq!(etcd_key(b"p/", "ada"), b"p/\"ada\"");
    }
}
