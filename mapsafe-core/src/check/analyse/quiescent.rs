//! The quiescent state (both modes).
//!
//! **Rule**: after every worker joined, `len()` equals the number of records a snapshot holds,
//! and `verify_consistency` passes. (The final reads of every key are ordinary calls of the
//! history, checked per key like the others.)
//!
//! **Why it must hold**: with no call in flight the map has one state, so its size, its contents
//! and its own invariants must agree; a counter that drifted under concurrency, or a record filed
//! in the wrong shard, shows only here.

use core::fmt::Debug;

use super::{Analysis, Finding};
use crate::check::history::{FINAL_THREAD, Outcome};
use crate::check::report::FailureClass;
use crate::record::Record;

impl<R: Record + Clone + PartialEq + Debug> Analysis<'_, R> {
    pub(super) fn quiescent(&self) -> Result<(), Finding> {
        let finals = || {
            self.events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.thread == FINAL_THREAD)
        };
        let snapshot_len = finals().find_map(|(_, e)| match &e.outcome {
            Outcome::Snapshot { records, .. } => Some(records.len()),
            _ => None,
        });
        let len_read = finals().find_map(|(i, e)| match e.outcome {
            Outcome::Len(len) => Some((i, len)),
            _ => None,
        });
        if let (Some(expected), Some((i, len))) = (snapshot_len, len_read) {
            if expected != len {
                return Err(Finding::new(
                    FailureClass::FinalState,
                    format!(
                        "at quiescence `len()` is {len} but a snapshot holds {expected} records"
                    ),
                )
                .at(None, i));
            }
        }
        if let Err(err) = &self.recorded.verify {
            return Err(Finding::new(
                FailureClass::Inconsistent,
                format!("`verify_consistency` failed at quiescence: {err}"),
            ));
        }
        Ok(())
    }
}
