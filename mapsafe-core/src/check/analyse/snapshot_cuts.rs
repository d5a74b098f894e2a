//! Snapshot cuts (versioned maps).
//!
//! **Rule**: a snapshot at version `v` shows each key exactly as the key's writes with revision
//! `<= v`, replayed in revision order, leave it; the only allowance is for a `retain` or `clear`
//! that may have removed the key in the meantime, since their revisions are not reported.
//!
//! **Why it must hold**: `Snapshot::version()` promises that the snapshot holds exactly the
//! effects of the writes with revision `<= version()`. Per-key linearizability alone cannot see a
//! snapshot that is coherent per key but whose keys come from different instants.

use core::fmt::Debug;
use std::collections::HashMap;

use super::{Analysis, Finding, op_of};
use crate::check::history::Outcome;
use crate::check::report::FailureClass;
use crate::check::search::{self, Held, KeyOp, Kind, State};
use crate::record::Record;

impl<R: Record + Clone + PartialEq + Debug> Analysis<'_, R> {
    pub(super) fn snapshot_cuts(&mut self) -> Result<(), Finding> {
        let events = self.events;
        let updater = self.updater;
        // Each key's writes with a reported revision, in revision order, computed once.
        let mut ordered: HashMap<u64, Vec<KeyOp>> = HashMap::new();
        for (&key, hist) in &self.hists {
            let mut writes: Vec<KeyOp> = hist
                .ops
                .iter()
                .filter(|o| o.kind.known_rev().is_some())
                .copied()
                .collect();
            writes.sort_unstable_by_key(|o| o.kind.known_rev());
            ordered.insert(key, writes);
        }
        for (s, e) in events.iter().enumerate() {
            let Outcome::Snapshot { version, .. } = e.outcome else {
                continue;
            };
            for &key in self.keys {
                let Some(hist) = self.hists.get_mut(&key) else {
                    continue;
                };
                let Some(Kind::Read(shown)) = op_of(&hist.ops, s).map(|o| o.kind) else {
                    continue;
                };
                let all = &ordered[&key];
                let upto = all.partition_point(|o| o.kind.known_rev() <= Some(version));
                let writes = &all[..upto];
                let mut expected: State = hist.start;
                for w in writes {
                    expected = match w.kind {
                        Kind::Insert { new, rev, .. }
                        | Kind::Stored { new, rev }
                        | Kind::CasOk { new, rev, .. } => Some(Held::new(new, rev)),
                        Kind::Update {
                            nonce,
                            rev: Some(rev),
                        } => expected.map(|from| {
                            let value =
                                search::edited(&mut hist.values, from.value, updater, nonce);
                            Held::new(value, rev)
                        }),
                        Kind::Remove(Some(_)) | Kind::CarOk { .. } => None,
                        Kind::TxnPart { after, .. } => after,
                        Kind::Touch { rev } => expected.map(|from| Held::new(from.value, rev)),
                        _ => expected,
                    };
                }
                if shown == expected {
                    continue;
                }
                let last = writes.last().copied();
                let removed_unreported = expected.is_some()
                    && shown.is_none()
                    && hist.ops.iter().any(|o| {
                        matches!(o.kind, Kind::Drop(_) | Kind::Clear)
                            && o.call < e.ret
                            && last.is_none_or(|w| o.ret > w.call)
                    });
                if removed_unreported {
                    continue;
                }
                let next = all.get(upto).map(|o| o.event);
                let (shown_s, expected_s) = (self.show(key, shown), self.show(key, expected));
                let mut finding = Finding::new(
                    FailureClass::SnapshotNotAtVersion,
                    format!(
                        "the snapshot at version {version} shows key {key} as {shown_s}, but the \
                         writes with revision <= {version}, replayed in revision order, leave it \
                         {expected_s} (a torn snapshot, or a write whose revision and effect \
                         happened at different instants)"
                    ),
                )
                .at(Some(key), s);
                if let Some(w) = last {
                    finding = finding.bound(
                        w.event,
                        format!("last write to key {key} with revision <= {version}"),
                    );
                }
                if let Some(next) = next {
                    finding = finding.bound(
                        next,
                        format!("first write to key {key} after version {version}"),
                    );
                }
                return Err(finding);
            }
        }
        Ok(())
    }
}
