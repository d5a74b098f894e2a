//! Projection: every event becomes one operation (or several, for a `retain`) on each key it
//! touches, so that the checks can look at one key at a time. A record returned for a key must
//! carry that key, and a multi-key result may show each key once: those two facts are checked
//! here, while projecting, because nothing later could make sense of a result that breaks them.

use core::fmt::Debug;
use std::collections::HashMap;

use super::{Analysis, Finding, KeyHist};
use crate::check::history::{Op, Outcome, Revised};
use crate::check::report::FailureClass;
use crate::check::search::{self, Held, KeyOp, Kind, Vid};
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
                    for visit in visits {
                        let key = self.key_of(&visit.record).expect("checked by spread");
                        let vid = self.vid(key, &visit.record);
                        let kind = if visit.kept {
                            Kind::ReadValue(vid)
                        } else {
                            Kind::Drop(vid)
                        };
                        self.push(key, i, visit.t1, visit.t2, kind);
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
                (op, outcome) => unreachable!("{} recorded with {outcome:?}", op.name()),
            }
        }
        Ok(())
    }
}
