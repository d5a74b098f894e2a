//! Runtime probes: what happened to a map, counted as it happens and read without a lock.
//!
//! Per-shard counters are written only by the thread holding the shard's write lock, so a
//! write is a plain load and store (no atomic read-modify-write), and on the cache line the
//! lock already owns: small counts in 8-bit lanes beside the lock, flushed every 128 writes or
//! so into 64-bit totals on the shard's second line ([`Pending`]). (Counting straight into the
//! second line cost a second line transfer per write whenever the shard moved between cores:
//! 9-13% of write-heavy throughput at two threads.) Lock contention is counted only when a
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

/// A kind of write a shard counts.
#[derive(Clone, Copy, Debug)]
#[repr(u8)]
pub(crate) enum Probe {
    Inserts,
    Updates,
    Removes,
    Found,
    Stored,
    Swaps,
    Conflicts,
}

/// How many kinds of [`Probe`] there are.
pub(crate) const PROBES: usize = 7;

/// The low-order part of a shard's write counters, on the lock's own cache line (which every
/// write owns already): one 8-bit lane per [`Probe`] and, in the top byte, an epoch that is odd
/// while the lanes are being flushed. A write adds to its lane (a load, an add, a test and a
/// store, under the write lock); when a lane reaches 128 the writer flushes every lane into the
/// 64-bit [`ShardProbes::totals`] on the shard's second line, so that line is written once per
/// 128 or more writes instead of on every one.
#[derive(Default)]
pub(crate) struct Pending(AtomicU64);

const LANE_BITS: u32 = 8;
/// Set in a lane when it must be flushed.
const LANE_FULL: u64 = 0x80;
const EPOCH_SHIFT: u32 = 56;
const LANES: u64 = (1 << EPOCH_SHIFT) - 1;

impl Pending {
    /// Adds `n` of `probe`; the caller holds the shard's write lock.
    #[inline(always)]
    pub(crate) fn add(&self, probe: Probe, n: u64, totals: &ShardProbes) {
        let shift = probe as u32 * LANE_BITS;
        // Relaxed: only the lock holder writes the word (the lock orders its writes); readers
        // synchronise through the epoch (see `read`).
        let word = self.0.load(Ordering::Relaxed);
        let added = word.wrapping_add(n << shift);
        if n < LANE_FULL && added & (LANE_FULL << shift) == 0 {
            self.0.store(added, Ordering::Relaxed);
        } else {
            self.flush(word, probe, n, totals);
        }
    }

    /// Moves every lane, and `n` of `probe`, into `totals`, inside an odd epoch.
    #[cold]
    #[inline(never)]
    fn flush(&self, word: u64, probe: Probe, n: u64, totals: &ShardProbes) {
        let epoch = word >> EPOCH_SHIFT;
        // The odd epoch and the Release fence before the totals' stores pair with `read`'s
        // Acquire fence; the even epoch's Release store with its Acquire load.
        self.0.store(
            (epoch.wrapping_add(1) << EPOCH_SHIFT) | (word & LANES),
            Ordering::Relaxed,
        );
        core::sync::atomic::fence(Ordering::Release);
        for (i, total) in totals.totals.iter().enumerate() {
            let lane = (word >> (i as u32 * LANE_BITS)) & 0xff;
            bump(total, lane + if i == probe as usize { n } else { 0 });
        }
        self.0
            .store(epoch.wrapping_add(2) << EPOCH_SHIFT, Ordering::Release);
    }

    /// Every counter's value at one moment (lanes plus totals), without a lock.
    pub(crate) fn read(&self, totals: &ShardProbes) -> [u64; PROBES] {
        loop {
            let before = self.0.load(Ordering::Acquire);
            if (before >> EPOCH_SHIFT) & 1 == 0 {
                let mut counts = [0; PROBES];
                for (i, (count, total)) in counts.iter_mut().zip(&totals.totals).enumerate() {
                    *count =
                        total.load(Ordering::Relaxed) + ((before >> (i as u32 * LANE_BITS)) & 0xff);
                }
                core::sync::atomic::fence(Ordering::Acquire);
                let after = self.0.load(Ordering::Relaxed);
                if after >> EPOCH_SHIFT == before >> EPOCH_SHIFT {
                    // No flush in between: the totals are those of `before`'s moment.
                    return counts;
                }
            }
            core::hint::spin_loop();
        }
    }
}

/// One shard's flushed write counters and its contention count (its own cache line).
#[derive(Default)]
#[repr(align(64))]
pub(crate) struct ShardProbes {
    /// Per [`Probe`], what the lanes of [`Pending`] flushed.
    pub(crate) totals: [AtomicU64; PROBES],
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

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Probe; PROBES] = [
        Probe::Inserts,
        Probe::Updates,
        Probe::Removes,
        Probe::Found,
        Probe::Stored,
        Probe::Swaps,
        Probe::Conflicts,
    ];

    #[test]
    fn lanes_and_totals_add_up_to_every_count_across_flushes() {
        let (pending, totals) = (Pending::default(), ShardProbes::default());
        let mut expected = [0u64; PROBES];
        for i in 0..100_000u64 {
            let probe = ALL[(i % 7) as usize];
            // Mostly ones, sometimes a batch larger than a lane holds (`retain`, `clear`).
            let n = if i % 101 == 0 { i % 700 } else { 1 };
            pending.add(probe, n, &totals);
            expected[probe as usize] += n;
            if i % 997 == 0 {
                assert_eq!(pending.read(&totals), expected, "after {i} adds");
            }
        }
        assert_eq!(pending.read(&totals), expected);
    }

    #[test]
    fn a_reader_never_sees_a_count_go_back_while_lanes_flush() {
        // One writer (as the lock holder) counts; a reader must see every count only grow and
        // never pass the writer's: a torn flush would show totals without lanes or both.
        let (pending, totals) = (Pending::default(), ShardProbes::default());
        let done = core::sync::atomic::AtomicU64::new(0);
        const N: u64 = 300_000;
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 1..=N {
                    pending.add(Probe::Updates, 1, &totals);
                    pending.add(Probe::Removes, 2, &totals);
                    done.store(i, Ordering::Release);
                }
            });
            let mut last = [0u64; PROBES];
            while done.load(Ordering::Acquire) < N {
                let before = done.load(Ordering::Acquire);
                let now = pending.read(&totals);
                let updates = now[Probe::Updates as usize];
                assert!(updates >= before, "{updates} < {before} adds already done");
                assert!(updates <= N && now[Probe::Removes as usize] <= 2 * N);
                for (a, b) in last.iter().zip(&now) {
                    assert!(b >= a, "a count went back: {last:?} then {now:?}");
                }
                last = now;
            }
        });
        let now = pending.read(&totals);
        assert_eq!(
            (now[Probe::Updates as usize], now[Probe::Removes as usize]),
            (N, 2 * N)
        );
    }
}
