//! The consistency checker's view of an `EtcdMap` (`mapsafe_core::check::Target`), so that
//! `Checker::run_target` drives etcd with the same workload and the same analysis as the
//! in-process map.
//!
//! The checker's calls cannot fail, so this adapter turns etcd's failures into outcomes:
//!
//! - **Reads** (`get`, `contains_key`, `snapshot`, `len`, `version`, `verify`) are retried,
//!   failing over between members, until one answers ([`BUDGET`]).
//! - **A write whose outcome is unknown** (the member died or timed out after the request was
//!   sent) is resolved, not guessed. First a *fence*: a transaction that goes through raft and
//!   changes nothing; once it commits, a request that died with its member can no longer commit
//!   (it was either committed before the fence or dropped). Then the key's history since the
//!   call began, read with MVCC ranges at past revisions, says whether the write landed: the
//!   checker's records are unique per nonce, so a put that landed is the one version holding its
//!   exact bytes, and its `mod_revision` is its revision (for `insert`, the version before it is
//!   what it replaced). A write that did not land is sent again; it is still inside the call.
//! - `update` and `remove` are optimistic loops on `mod_revision` (the checker's `remove` is a
//!   compare-and-remove of the version it read, not a blind delete), so a landed one is the
//!   successor of the version it read, with the edited bytes (update) or absent (remove).
//! - `retain` and `clear` run alone: they take the adapter's gate exclusively (every other call
//!   takes it shared). The checker records `retain`'s predicate calls as the instants the
//!   records were seen and removed, which an in-process map satisfies by running the predicate
//!   under the shard lock; against etcd the removal is a transaction sent after the predicate
//!   has run, so a concurrent call on the same key would fall between the two. Under the gate,
//!   nothing in this process writes meanwhile, so the commit can be resent until definite, and a
//!   refused compare means an earlier send landed.
//!
//! What this cannot resolve, and the analysis would then report: two `remove`s of the same
//! version, one of whose answers was lost (both would claim the removal); an `update` without an
//! updater whose lost write left the same bytes as a concurrent one; a request that outlives its
//! member's death in flight to the leader (the fence assumes it died with the member); history
//! compacted while a write is being resolved; and writers outside this process under the prefix.

use core::fmt::Debug;
use std::sync::{RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use mapsafe_core::check::{CheckFailure, CheckReport, Checker, EditFn, KeyOf, Target};
use mapsafe_core::{Conflict, LoadOrStore, Record};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::EtcdError;
use crate::map::{EtcdMap, compare_mod};
use crate::transport::{Compare, Kv, Relation, Target as Field, TxnOp};

/// How long the adapter keeps retrying before it panics (which the checker reports).
pub(crate) const BUDGET: Duration = Duration::from_secs(60);

/// How many conflicts an optimistic loop meets before it panics.
const ATTEMPTS: u32 = 1_000;

/// One change of a key: its revision, and the key's state just before and after it.
struct Step {
    revision: u64,
    before: Option<Kv>,
    after: Option<Kv>,
}

impl<R> EtcdMap<R>
where
    R: Record + Clone + PartialEq + Debug + Serialize + DeserializeOwned,
    R::Key: Serialize + DeserializeOwned,
{
    fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.check_gate.read().unwrap_or_else(|e| e.into_inner())
    }

    fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.check_gate.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Retries a read until it succeeds; panics on an error that retrying cannot cure.
    fn settle<T>(&self, op: &str, mut read: impl FnMut() -> Result<T, EtcdError>) -> T {
        let deadline = Instant::now() + BUDGET;
        loop {
            match read() {
                Ok(out) => return out,
                Err(err) if err.is_transient() && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(err) => panic!("mapsafe-etcd check: `{op}` failed: {err}"),
            }
        }
    }

    /// After a write failed with `err`: panics unless the outcome is merely unknown, then
    /// fences so that the lost request can no longer commit.
    fn after_unknown(&self, op: &str, err: EtcdError) {
        if !err.is_transient() {
            panic!("mapsafe-etcd check: `{op}` failed: {err}");
        }
        self.resolved_writes
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        self.settle("fence", || {
            self.transport
                .txn(
                    &[Compare {
                        key: self.prefix.clone(),
                        target: Field::Mod,
                        relation: Relation::Less,
                        revision: i64::MAX as u64,
                    }],
                    &[],
                    &[TxnOp::Delete(self.prefix.clone())],
                )
                .map(drop)
        });
    }

    /// The key's state at `revision` (which must be at least 1).
    fn state_at(&self, key: &[u8], revision: u64) -> Result<Option<Kv>, EtcdError> {
        if revision == 0 {
            return Ok(None);
        }
        Ok(self.transport.range(key, None, revision, false)?.kvs.pop())
    }

    /// Every change of `key` with a revision above `since`, newest first, from MVCC reads.
    fn history(&self, key: &[u8], since: u64) -> Result<Vec<Step>, EtcdError> {
        let now = self.transport.range(key, None, 0, false)?;
        let (mut revision, mut state) = (now.revision, now.kvs.into_iter().next());
        let mut steps = Vec::new();
        while revision > since {
            match state {
                Some(kv) if kv.mod_revision <= since => break,
                Some(kv) => {
                    let before = self.state_at(key, kv.mod_revision - 1)?;
                    revision = kv.mod_revision - 1;
                    steps.push(Step {
                        revision: kv.mod_revision,
                        before: before.clone(),
                        after: Some(kv),
                    });
                    state = before;
                }
                None => {
                    // Absent at `revision`: present just before means deleted at `revision`.
                    let before = self.state_at(key, revision - 1)?;
                    if before.is_some() {
                        steps.push(Step {
                            revision,
                            before: before.clone(),
                            after: None,
                        });
                    }
                    revision -= 1;
                    state = before;
                }
            }
        }
        Ok(steps)
    }

    /// The change since `since` that holds exactly `bytes`, if a put of them landed.
    fn landed(&self, key: &[u8], since: u64, bytes: &[u8], parent: Option<u64>) -> Option<Step> {
        let steps = self.settle("resolve", || self.history(key, since));
        steps.into_iter().find(|s| {
            s.after.as_ref().is_some_and(|kv| kv.value == bytes)
                && parent.is_none_or(|p| s.before.as_ref().map(|kv| kv.mod_revision) == Some(p))
        })
    }

    /// A blind put (`insert`) or a create-only put (`load_or_store`) or a compare-and-swap,
    /// resolved when its answer is lost. `send` sends it once.
    fn resolved_put<T>(
        &self,
        op: &str,
        record: &R,
        mut send: impl FnMut() -> Result<T, EtcdError>,
        found: impl Fn(Step) -> T,
    ) -> T {
        let key = self.etcd_key(record.key());
        let bytes = self.encode(record);
        let since = self.transport.seen_revision();
        loop {
            match send() {
                Ok(out) => return out,
                Err(err) => {
                    self.after_unknown(op, err);
                    if let Some(step) = self.landed(&key, since, &bytes, None) {
                        return found(step);
                    }
                }
            }
        }
    }

    fn decode_kv(&self, kv: &Kv) -> R {
        self.decode(kv)
            .unwrap_or_else(|err| panic!("mapsafe-etcd check: {err}"))
    }
}

impl<R> EtcdMap<R>
where
    R: Record + Clone + PartialEq + Debug + Serialize + DeserializeOwned,
    R::Key: Serialize + DeserializeOwned,
{
    /// Runs mapsafe's consistency checker on this map with `seed`: the same workload and the
    /// same analysis as on the in-process map (see `mapsafe::check`), through etcd. The map's
    /// prefix must be empty; use a fresh one per run.
    ///
    /// The checker's calls cannot fail, so etcd's failures become outcomes: reads are retried
    /// (failing over) until a member answers; a write whose answer was lost is resolved after a
    /// fence (a raft round trip that changes nothing) from the key's MVCC history, where the
    /// checker's unique records show whether it landed and at which revision, and is sent again
    /// if it did not. `retain` and `clear` run alone (no other checker call in this process runs
    /// meanwhile), because the checker takes `retain`'s predicate calls as the instants records
    /// are removed, and etcd removes them in a transaction sent after the predicate. Unresolvable:
    /// two `remove`s of one version of which one lost its answer, a lost request still in flight
    /// to the leader after the fence, compacted history, and writers outside this process.
    ///
    /// # Errors
    ///
    /// The checker's [`CheckFailure`] when the history is not linearizable (or a call could not
    /// be completed within a minute: that surfaces as a worker's panic in the report).
    ///
    /// # Panics
    ///
    /// If the prefix is not empty.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use mapsafe_core::check::{Checker, Config};
    /// use mapsafe_etcd::EtcdMap;
    ///
    /// let map: EtcdMap<(u64, u64)> =
    ///     EtcdMap::connect(&["http://127.0.0.1:2379"], "check-run-1/").unwrap();
    /// let checker = Checker::new(|key, nonce| (key, nonce)).config(Config::new().threads(4));
    /// let report = map.run_checker(&checker, 7).expect("etcd is linearizable");
    /// println!("{report}");
    /// ```
    pub fn run_checker(
        &self,
        checker: &Checker<R>,
        seed: u64,
    ) -> Result<CheckReport, CheckFailure> {
        checker.run_target(self, seed)
    }
}

impl<R> Target for EtcdMap<R>
where
    R: Record + Clone + PartialEq + Debug + Serialize + DeserializeOwned,
    R::Key: Serialize + DeserializeOwned,
{
    type Record = R;
    const VERSIONED: bool = true;

    /// etcd has no shards: the checker's hot keys are simply its first key numbers.
    fn shard_count(&self) -> usize {
        1
    }

    fn shard_of(&self, _: &KeyOf<Self>) -> usize {
        0
    }

    fn get(&self, key: &KeyOf<Self>) -> Option<(R, u64)> {
        let _gate = self.shared();
        self.settle("get_versioned", || self.get_versioned(key))
            .map(|v| (v.value, v.version))
    }

    fn contains_key(&self, key: &KeyOf<Self>) -> bool {
        let _gate = self.shared();
        self.settle("contains_key", || EtcdMap::contains_key(self, key))
    }

    fn insert(&self, record: R) -> (Option<R>, u64) {
        let _gate = self.shared();
        self.resolved_put(
            "insert",
            &record,
            || self.insert_stamped(record.clone()),
            |step| (step.before.map(|kv| self.decode_kv(&kv)), step.revision),
        )
    }

    fn load_or_store(&self, record: R) -> (LoadOrStore<R>, u64) {
        let _gate = self.shared();
        self.resolved_put(
            "load_or_store",
            &record,
            || self.load_or_store_stamped(record.clone()),
            |step| (LoadOrStore::Stored, step.revision),
        )
    }

    fn update(&self, key: &KeyOf<Self>, edit: &mut EditFn<'_, R>) -> Option<u64> {
        let _gate = self.shared();
        let key = self.etcd_key(key);
        let since = self.transport.seen_revision();
        for _ in 0..ATTEMPTS {
            let kv = self.settle("update", || self.read_kv(&key))?;
            let mut record = self.decode_kv(&kv);
            edit(record.as_mut());
            let bytes = self.encode(&record);
            match self.swap_kv(&key, kv.mod_revision, bytes.clone()) {
                Ok(Ok(revision)) => return Some(revision),
                Ok(Err(_)) => {}
                Err(err) => {
                    self.after_unknown("update", err);
                    if let Some(step) = self.landed(&key, since, &bytes, Some(kv.mod_revision)) {
                        return Some(step.revision);
                    }
                }
            }
        }
        panic!("mapsafe-etcd check: `update` met {ATTEMPTS} conflicts in a row")
    }

    fn remove(&self, key: &KeyOf<Self>) -> Option<(R, u64)> {
        let _gate = self.shared();
        let key = self.etcd_key(key);
        let since = self.transport.seen_revision();
        for _ in 0..ATTEMPTS {
            let kv = self.settle("remove", || self.read_kv(&key))?;
            match self.remove_kv_if(&key, kv.mod_revision) {
                Ok(Ok((revision, removed))) => return Some((self.decode_kv(&removed), revision)),
                Ok(Err(_)) => {}
                Err(err) => {
                    self.after_unknown("remove", err);
                    let steps = self.settle("resolve", || self.history(&key, since));
                    let ours = steps.into_iter().find(|s| {
                        s.after.is_none()
                            && s.before.as_ref().map(|b| b.mod_revision) == Some(kv.mod_revision)
                    });
                    if let Some(step) = ours {
                        return Some((self.decode_kv(&kv), step.revision));
                    }
                }
            }
        }
        panic!("mapsafe-etcd check: `remove` met {ATTEMPTS} conflicts in a row")
    }

    fn try_swap(&self, expected: u64, record: R) -> Option<Result<u64, Conflict<R>>> {
        let _gate = self.shared();
        Some(self.resolved_put(
            "compare_and_swap",
            &record,
            || self.compare_and_swap(expected, record.clone()),
            |step| Ok(step.revision),
        ))
    }

    fn retain(&self, keep: &mut dyn FnMut(&R) -> bool) {
        let _gate = self.exclusive();
        let range = self.settle("retain", || {
            self.transport.scan(&self.prefix, &self.prefix_end, 0)
        });
        let (mut compares, mut deletes, mut gets) = (Vec::new(), Vec::new(), Vec::new());
        for kv in &range.kvs {
            if !keep(&self.decode_kv(kv)) {
                compares.push(compare_mod(&kv.key, kv.mod_revision));
                deletes.push(TxnOp::Delete(kv.key.clone()));
                gets.push(TxnOp::Get(kv.key.clone()));
            }
        }
        if deletes.is_empty() {
            return;
        }
        let deadline = Instant::now() + BUDGET;
        loop {
            match self.transport.txn(&compares, &deletes, &gets) {
                Ok(answer) if answer.succeeded => return,
                // Refused: only an earlier send of this very commit can have removed them.
                Ok(answer) if answer.responses.iter().all(Vec::is_empty) => return,
                Ok(_) => panic!(
                    "mapsafe-etcd check: a record `retain` refused changed under the gate: \
                     something outside the checker writes under the prefix"
                ),
                Err(err) if Instant::now() < deadline => self.after_unknown("retain", err),
                Err(err) => panic!("mapsafe-etcd check: `retain` failed: {err}"),
            }
        }
    }

    fn clear(&self) {
        let _gate = self.exclusive();
        // Under the gate nothing else writes, so sending the delete again is harmless.
        self.settle("clear", || EtcdMap::clear(self));
    }

    fn snapshot(&self) -> (Vec<(R, u64)>, u64) {
        let _gate = self.shared();
        let snapshot = self.settle("snapshot", || EtcdMap::snapshot(self));
        let records = snapshot
            .iter_versioned()
            .map(|v| (v.value.clone(), v.version))
            .collect();
        (records, snapshot.version())
    }

    fn latest_revision(&self) -> u64 {
        let _gate = self.shared();
        self.settle("version", || self.version())
    }

    fn len(&self) -> usize {
        let _gate = self.shared();
        self.settle("len", || EtcdMap::len(self))
    }

    fn verify(&self) -> Result<(), String> {
        let _gate = self.shared();
        self.settle("verify_consistency", || self.verify_consistency())
            .map(drop)
            .map_err(|err| err.to_string())
    }
}
