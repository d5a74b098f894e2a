//! Projection: every event becomes one operation (or several, for a `retain`) on each key it
//! touches, so that the checks can look at one key at a time. A record returned for a key must
//! carry that key, and a multi-key result may show each key once: those two facts are checked
//! here, while projecting, because nothing later could make sense of a result that breaks them.

use core::fmt::Debug;
use std::collections::HashMap;

use super::{Analysis, Finding, KeyHist};
use crate::check::history::{EntryShape, Op, Outcome, Revised, TxnAction, TxnRecord};
use crate::check::report::FailureClass;
use crate::check::search::{self, Held, KeyOp, Kind, Vid};
use crate::check::target::EntryOutcome;
use crate::record::Record;

impl<R: Record + Clone + PartialEq + Debug> Analysis<'_, R> {
    pub(super) fn hist(&mut self, key: u64) -> &mut KeyHist<R> {
        self.hists.entry(key).or_insert_with(|| KeyHist {
            start: None,
            ops: Vec::new(),
            values: Vec::new(),
        })
    }

    fn push(&mut self, key: u64, event: usize, call: u64, ret: u64, kind: Kind) {
        self.hist(key).ops.push(KeyOp {
            event,
            call,
            ret,
            kind,
        });
    }

    pub(super) fn vid(&mut self, key: u64, record: &R) -> Vid {
        search::intern(&mut self.hist(key).values, record)
    }

    /// A record returned for `key` must carry that key.
    fn own(&mut self, key: u64, record: &R, event: usize) -> Result<Vid, Finding> {
        match self.key_of(record) {
            Some(k) if k == key => Ok(self.vid(key, record)),
            other => Err(Finding::new(
                FailureClass::WrongRecord,
                format!(
                    "a call about key {key} returned {record:?}, a record of {}",
                    other.map_or("a key no call named".to_string(), |k| format!("key {k}"))
                ),
            )
            .at(Some(key), event)),
        }
    }

    /// [`own`](Self::own), keeping the revision.
    fn own_held(
        &mut self,
        key: u64,
        seen: &Option<Revised<R>>,
        event: usize,
    ) -> Result<Option<Held>, Finding> {
        match seen {
            Some(seen) => {
                let value = self.own(key, &seen.record, event)?;
                Ok(Some(Held::new(value, seen.revision)))
            }
            None => Ok(None),
        }
    }

    /// Maps a multi-key result's records to key numbers, refusing strangers and duplicates.
    fn spread<'r>(
        &self,
        records: impl Iterator<Item = &'r R>,
        event: usize,
        what: &str,
    ) -> Result<HashMap<u64, &'r R>, Finding>
    where
        R: 'r,
    {
        let mut seen = HashMap::new();
        for record in records {
            let Some(key) = self.key_of(record) else {
                return Err(Finding::new(
                    FailureClass::WrongRecord,
                    format!("{what} returned {record:?}, whose key no call ever named"),
                )
                .at(None, event));
            };
            if let Some(first) = seen.insert(key, record) {
                return Err(Finding::new(
                    FailureClass::DuplicateKey,
                    format!(
                        "{what} showed key {key} twice: {first:?} and {record:?} (an iteration \
                         that saw a record move, or a key filed in two places)"
                    ),
                )
                .at(Some(key), event));
            }
        }
        Ok(seen)
    }

    /// An `entry` call as the single-key operation it amounts to, given the closure's shape.
    #[allow(clippy::too_many_arguments)] // one call's fields, taken apart by the caller's match
    fn entry_kind(
        &mut self,
        key: u64,
        shape: EntryShape,
        record: &R,
        nonce: u64,
        outcome: &EntryOutcome<R>,
        made: u32,
        event: usize,
    ) -> Result<Kind, Finding> {
        let inserted = matches!(outcome, EntryOutcome::Inserted { .. });
        if made > 1 || (shape == EntryShape::OrInsertWith && (made == 1) != inserted) {
            let why = if made > 1 {
                format!("ran `make` {made} times")
            } else if inserted {
                "stored a record without running `make`".to_string()
            } else {
                "ran `make` although the slot was occupied".to_string()
            };
            return Err(Finding::new(
                FailureClass::ClosureRuns,
                format!("`entry(.., {})` on key {key} {why}", shape.code()),
            )
            .at(Some(key), event));
        }
        use EntryShape as S;
        Ok(match (shape, outcome) {
            (
                S::OrInsert | S::OrInsertWith | S::AndModifyOrInsert,
                EntryOutcome::Inserted { revision },
            ) => Kind::Stored {
                new: self.vid(key, record),
                rev: *revision,
            },
            (S::OrInsert | S::OrInsertWith, EntryOutcome::Found(found)) => Kind::Loaded {
                current: self.own(key, &found.value, event)?,
                stamp: found.version,
            },
            // `or_insert` on an occupied slot hands out the record's view: a write (a fresh
            // revision on a versioned map) that, with nothing edited, keeps the value.
            (S::OrInsert | S::OrInsertWith, EntryOutcome::Modified { revision }) => {
                Kind::Touch { rev: *revision }
            }
            (S::AndModifyOrInsert, EntryOutcome::Modified { revision }) => Kind::Update {
                nonce,
                rev: Some(*revision),
            },
            (S::Replace, EntryOutcome::Replaced { old, revision }) => Kind::Insert {
                new: self.vid(key, record),
                prev: Some(self.own(key, old, event)?),
                rev: *revision,
            },
            (S::Remove, EntryOutcome::Removed(gone)) => {
                let value = self.own(key, &gone.value, event)?;
                Kind::Remove(Some(Held::new(value, gone.version)))
            }
            (S::Replace | S::Remove, EntryOutcome::Vacant) => Kind::Read(None),
            _ => {
                let why = format!("`entry(.., {})` cannot end {outcome:?}", shape.code());
                return Err(impossible(key, event, &why));
            }
        })
    }

    /// A transaction as one part per declared key: a committed write is the key going from
    /// what the body read to what it left, with the key's revision; anything else a read.
    fn project_txn(
        &mut self,
        event: usize,
        keys: &[u64],
        txn: &TxnRecord<R>,
    ) -> Result<(), Finding> {
        let e = &self.events[event];
        let (call, ret) = (e.call, e.ret);
        if let Some(changed) = &txn.committed {
            let mut reported: Vec<u64> = changed.iter().map(|c| c.key).collect();
            let mut written: Vec<u64> = txn.writes.iter().map(|w| w.key).collect();
            reported.sort_unstable();
            written.sort_unstable();
            // A map without revisions may report the keys it changed, or none.
            let fits = reported == written || (!self.versioned && reported.is_empty());
            if !fits {
                let why = format!(
                    "a committed transaction over keys {keys:?} wrote keys {written:?} but \
                     reported new revisions for keys {reported:?}"
                );
                return Err(impossible(keys[0], event, &why));
            }
        }
        for read in &txn.reads {
            let key = read.key;
            let seen = self.own_held(key, &read.seen, event)?;
            let write = txn.writes.iter().find(|w| w.key == key);
            let kind = match (&txn.committed, write) {
                (Some(changed), Some(write)) => {
                    let rev = changed
                        .iter()
                        .find(|c| c.key == key)
                        .map_or(0, |c| c.revision);
                    let after = match &write.action {
                        TxnAction::Insert(record) => Some(Held::new(self.vid(key, record), rev)),
                        TxnAction::Update { nonce } => {
                            let from = seen.expect("the body updates only keys it saw present");
                            let updater = self.updater;
                            let values = &mut self.hist(key).values;
                            let value = search::edited(values, from.value, updater, *nonce);
                            Some(Held::new(value, rev))
                        }
                        TxnAction::Remove => None,
                    };
                    Kind::TxnPart { seen, after, rev }
                }
                _ => Kind::Read(seen),
            };
            self.push(key, event, call, ret, kind);
        }
        Ok(())
    }

    /// Projects every event on the keys it touches.
    pub(super) fn project(&mut self) -> Result<(), Finding> {
        let events = self.events;
        for (i, e) in events.iter().enumerate() {
            let (call, ret) = (e.call, e.ret);
            match (&e.op, &e.outcome) {
                (Op::Get { key }, Outcome::Get(seen)) => {
                    let seen = self.own_held(*key, seen, i)?;
                    self.push(*key, i, call, ret, Kind::Read(seen));
                }
                (Op::Contains { key }, Outcome::Contains(present)) => {
                    self.push(*key, i, call, ret, Kind::Present(*present));
                }
                (Op::Insert { key, record }, Outcome::Insert { replaced, revision }) => {
                    let new = self.vid(*key, record);
                    let prev = match replaced {
                        Some(old) => Some(self.own(*key, old, i)?),
                        None => None,
                    };
                    let rev = *revision;
                    self.push(*key, i, call, ret, Kind::Insert { new, prev, rev });
                }
                (Op::LoadOrStore { key, record }, Outcome::Stored { revision }) => {
                    let new = self.vid(*key, record);
                    let rev = *revision;
                    self.push(*key, i, call, ret, Kind::Stored { new, rev });
                }
                (Op::LoadOrStore { key, .. }, Outcome::Loaded { current, revision }) => {
                    let current = self.own(*key, current, i)?;
                    let stamp = *revision;
                    self.push(*key, i, call, ret, Kind::Loaded { current, stamp });
                }
                (Op::Update { key, nonce }, Outcome::Update(rev)) => {
                    let (nonce, rev) = (*nonce, *rev);
                    self.push(*key, i, call, ret, Kind::Update { nonce, rev });
                }
                (Op::Remove { key }, Outcome::Remove(removed)) => {
                    let removed = self.own_held(*key, removed, i)?;
                    self.push(*key, i, call, ret, Kind::Remove(removed));
                }
                (
                    Op::Cas {
                        key,
                        expected,
                        record,
                    },
                    Outcome::Cas(result),
                ) => {
                    let expected = *expected;
                    let kind = match *result {
                        Ok(rev) => {
                            let new = self.vid(*key, record);
                            Kind::CasOk { expected, new, rev }
                        }
                        Err(actual) => Kind::CasErr { expected, actual },
                    };
                    self.push(*key, i, call, ret, kind);
                }
                (Op::Retain, Outcome::Retain(visits)) => {
                    let seen =
                        self.spread(visits.iter().map(|v| &v.record), i, "retain's predicate")?;
                    for &key in self.keys {
                        if !seen.contains_key(&key) {
                            self.push(key, i, call, ret, Kind::Read(None));
                        }
                    }
                    // A kept record was read while the predicate saw it. A removal takes effect
                    // when the retain commits the record's shard (all of a shard's removals at
                    // once), so anywhere from the predicate's call to the retain's return.
                    for visit in visits {
                        let key = self.key_of(&visit.record).expect("checked by spread");
                        let vid = self.vid(key, &visit.record);
                        if visit.kept {
                            self.push(key, i, visit.t1, visit.t2, Kind::ReadValue(vid));
                        } else {
                            self.push(key, i, visit.t1, ret, Kind::Drop(vid));
                        }
                    }
                }
                (Op::Clear, Outcome::Clear) => {
                    for &key in self.keys {
                        self.push(key, i, call, ret, Kind::Clear);
                    }
                }
                (Op::Snapshot, Outcome::Snapshot { records, .. }) => {
                    let shown = self.spread(records.iter().map(|r| &r.record), i, "snapshot")?;
                    let revisions: HashMap<u64, u64> = records
                        .iter()
                        .filter_map(|r| Some((self.key_of(&r.record)?, r.revision)))
                        .collect();
                    for &key in self.keys {
                        let seen = shown
                            .get(&key)
                            .map(|record| Held::new(self.vid(key, record), revisions[&key]));
                        self.push(key, i, call, ret, Kind::Read(seen));
                    }
                }
                (Op::Version, Outcome::Version(_)) | (Op::Len, Outcome::Len(_)) => {}
                (
                    Op::GetOrInsertWith { key, record },
                    Outcome::GetOrInsertWith { current, made },
                ) => {
                    let value = self.own(*key, &current.record, i)?;
                    let (stamp, rev) = (current.revision, current.revision);
                    let kind = match made {
                        0 => Kind::Loaded {
                            current: value,
                            stamp,
                        },
                        1 if current.record == *record => Kind::Stored { new: value, rev },
                        1 => {
                            return Err(Finding::new(
                                FailureClass::ClosureRuns,
                                format!(
                                    "`get_or_insert_with` ran `make` although key {key} was \
                                     present: it returned {:?}, not the record `make` built",
                                    current.record
                                ),
                            )
                            .at(Some(*key), i));
                        }
                        n => return Err(ran_twice("get_or_insert_with", "make", *n, *key, i)),
                    };
                    self.push(*key, i, call, ret, kind);
                }
                (Op::RemoveIf { key }, Outcome::RemoveIf { visits, removed }) => {
                    if visits.len() > 1 {
                        let n = visits.len() as u32;
                        return Err(ran_twice("remove_if", "the predicate", n, *key, i));
                    }
                    let kind = match (visits.first(), removed) {
                        (None, None) => Kind::Read(None),
                        (Some(visit), None) if visit.kept => {
                            Kind::ReadValue(self.own(*key, &visit.record, i)?)
                        }
                        (Some(visit), Some(gone)) if !visit.kept && visit.record == gone.record => {
                            let value = self.own(*key, &gone.record, i)?;
                            Kind::Remove(Some(Held::new(value, gone.revision)))
                        }
                        _ => {
                            return Err(impossible(
                                *key,
                                i,
                                "`remove_if`'s result disagrees with what its predicate was shown and said",
                            ));
                        }
                    };
                    self.push(*key, i, call, ret, kind);
                }
                (Op::CompareAndRemove { key, expected }, Outcome::CompareAndRemove(result)) => {
                    let expected = *expected;
                    let kind = match result {
                        Ok(gone) => Kind::CarOk {
                            expected,
                            removed: self.own(*key, &gone.record, i)?,
                            rev: gone.revision,
                        },
                        // Absent: nothing to remove, whatever was expected.
                        Err(0) => Kind::Present(false),
                        Err(actual) => Kind::CasErr {
                            expected,
                            actual: *actual,
                        },
                    };
                    self.push(*key, i, call, ret, kind);
                }
                (
                    Op::Entry {
                        key,
                        shape,
                        record,
                        nonce,
                    },
                    Outcome::Entry { outcome, made },
                ) => {
                    let kind = self.entry_kind(*key, *shape, record, *nonce, outcome, *made, i)?;
                    self.push(*key, i, call, ret, kind);
                }
                (Op::Transaction { keys, .. }, Outcome::Transaction(txn)) => {
                    self.project_txn(i, keys, txn)?;
                }
                (op, outcome) => unreachable!("{} recorded with {outcome:?}", op.name()),
            }
        }
        Ok(())
    }
}

/// A closure that ran `n` times where at most once is allowed.
fn ran_twice(call: &str, closure: &str, n: u32, key: u64, event: usize) -> Finding {
    Finding::new(
        FailureClass::ClosureRuns,
        format!("`{call}` on key {key} ran {closure} {n} times; it may run at most once"),
    )
    .at(Some(key), event)
}

/// A result the call cannot have returned, whatever the map did.
fn impossible(key: u64, event: usize, why: &str) -> Finding {
    Finding::new(FailureClass::ImpossibleOutcome, why.to_string()).at(Some(key), event)
}
