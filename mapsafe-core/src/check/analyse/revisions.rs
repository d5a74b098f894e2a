//! Revision order (versioned maps).
//!
//! **Rule**: every write's revision is non-zero and unique; a write that returned before another
//! was called has the lower revision; and every `version()` read and every snapshot's version lies
//! between the revisions of the writes that returned before it was called and of those called
//! after it returned.
//!
//! **Why it must hold**: a versioned map takes each write's revision from one counter inside the
//! write's critical section, so revisions order the writes as their instants do, and `version()`
//! reads that counter at one instant of its own call.

use core::fmt::Debug;

use super::{Analysis, Finding};
use crate::check::history::Outcome;
use crate::check::report::FailureClass;
use crate::record::Record;

/// A write with its reported revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RevisedWrite {
    revision: u64,
    event: usize,
}

impl<R: Record + Clone + PartialEq + Debug> Analysis<'_, R> {
    pub(super) fn revision_order(&self) -> Result<(), Finding> {
        let mut writes: Vec<RevisedWrite> = Vec::new();
        for hist in self.hists.values() {
            for op in &hist.ops {
                if let Some(revision) = op.kind.known_rev() {
                    writes.push(RevisedWrite {
                        revision,
                        event: op.event,
                    });
                }
            }
        }
        writes.sort_unstable();
        for pair in writes.windows(2) {
            let (first, second) = (pair[0], pair[1]);
            if first.revision == second.revision {
                return Err(Finding::new(
                    FailureClass::RevisionOrder,
                    format!("two writes were given the same revision {}", first.revision),
                )
                .at(self.events[second.event].op.key(), second.event)
                .bound(first.event, "the other write with that revision"));
            }
        }
        if let Some(&RevisedWrite { revision: 0, event }) = writes.first() {
            return Err(Finding::new(
                FailureClass::RevisionOrder,
                "a write was given revision 0, which means \"absent\"".to_string(),
            )
            .at(self.events[event].op.key(), event));
        }
        // Sweep in revision order: a write must not have returned before a write with a lower
        // revision was even called.
        let mut latest_call: Option<RevisedWrite> = None;
        for &write in &writes {
            let e = &self.events[write.event];
            if let Some(lower) = latest_call {
                let l = &self.events[lower.event];
                if e.ret < l.call {
                    return Err(Finding::new(
                        FailureClass::RevisionOrder,
                        format!(
                            "revisions disagree with real time: a write that returned before \
                             another was called got the higher revision ({}); the later write \
                             got {} (a revision taken outside the shard lock, or a counter that \
                             is not monotonic)",
                            write.revision, lower.revision
                        ),
                    )
                    .at(l.op.key(), lower.event)
                    .bound(
                        write.event,
                        "returned before the offending write was called, yet has the higher \
                         revision",
                    )
                    .bound_key(e.op.key()));
                }
            }
            if latest_call.is_none_or(|l| self.events[l.event].call < e.call) {
                latest_call = Some(write);
            }
        }
        // Every `version()` read and every snapshot's version sits between the writes that
        // finished before it and those that started after it.
        for (i, e) in self.events.iter().enumerate() {
            let version = match e.outcome {
                Outcome::Version(v) | Outcome::Snapshot { version: v, .. } => v,
                _ => continue,
            };
            for write in &writes {
                let we = &self.events[write.event];
                let rev = write.revision;
                let why = if we.ret < e.call && rev > version {
                    "returned before it was called, yet its revision is above the version"
                } else if we.call > e.ret && rev <= version {
                    "was called after it returned, yet its revision is within the version"
                } else {
                    continue;
                };
                return Err(Finding::new(
                    FailureClass::RevisionOrder,
                    format!(
                        "`{}` reported version {version}, but write @rev {rev} {why}",
                        e.op.name()
                    ),
                )
                .at(we.op.key(), i)
                .bound(write.event, why));
            }
        }
        Ok(())
    }
}
