//! Runtime probes: what happened to a map, counted as it happens and read without a lock.
//!
//! Per-shard counters are written only by the thread holding the shard's write lock, so a
//! write is a plain load and store (no atomic read-modify-write, no new contended line): the
//! counters sit on the shard's own second cache line. Lock contention is counted only when a
//! lock could not be taken at once, and rare map-wide events (passes, transactions, refused
//! re-entry, verification failures) on the map's shared line. `stats()` sums them with relaxed
//! loads: each counter is exact, and the set is a recent picture, not one instant.

use core::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::sync::Mutex;

/// Adds `n` to a counter only the current lock holder writes: a load and a store, which
/// compile to plain moves. Relaxed: `stats()` needs each counter's value, not an order.
#[inline(always)]
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// One shard's counters (its own cache line).
#[derive(Default)]
#[repr(align(64))]
pub(crate) struct ShardProbes {
    pub(crate) inserts: AtomicU64,
    pub(crate) updates: AtomicU64,
    pub(crate) removes: AtomicU64,
    pub(crate) found: AtomicU64,
    pub(crate) stored: AtomicU64,
    pub(crate) swaps: AtomicU64,
    pub(crate) conflicts: AtomicU64,
    /// Lock acquisitions that had to wait. Written by the waiting threads, so a `fetch_add`;
    /// only on contention, which is slow anyway.
    pub(crate) contended: AtomicU64,
}

/// Map-wide counters of rare events.
#[derive(Default)]
pub(crate) struct MapProbes {
    pub(crate) committed: AtomicU64,
    pub(crate) aborted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) snapshots: AtomicU64,
    pub(crate) verifications: AtomicU64,
    /// The longest a writer spent serving a pass, in nanoseconds.
    pub(crate) longest_stall: AtomicU64,
    /// Failed verifications, and their violations by kind.
    pub(crate) failures: Mutex<Failures>,
}

/// What failed verifications found.
#[derive(Default)]
pub(crate) struct Failures {
    pub(crate) runs: u64,
    pub(crate) by_kind: Vec<(&'static str, u64)>,
}

impl MapProbes {
    /// Counts one event (RMW: any thread may report it).
    #[inline]
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stalled(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.longest_stall.fetch_max(nanos, Ordering::Relaxed);
    }

    pub(crate) fn verification_failed(&self, kinds: impl IntoIterator<Item = &'static str>) {
        let mut failures = self.failures.lock();
        failures.runs += 1;
        for kind in kinds {
            match failures.by_kind.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => *n += 1,
                None => failures.by_kind.push((kind, 1)),
            }
        }
    }
}
