//! `stats()`: the map's probes, summed into a report.

use core::fmt;
use core::hash::BuildHasher;
use core::sync::atomic::Ordering;
use std::time::Duration;

use crate::map::ShardedMap;
use crate::probes::{PROBES, Probe};
use crate::record::{Mode, Record};

/// What has happened to a map since it was created, from `stats()`: sizes, writes by kind,
/// outcomes of the conditional operations, contention, passes and verification.
///
/// Reading it takes no lock. Each counter is exact; counters read while other threads write
/// form a recent picture rather than one instant.
///
/// # Example
///
/// ```
/// use mapsafe_core::{ShardedMap, VersionedMode};
///
/// let map: ShardedMap<(u32, u32), VersionedMode> = ShardedMap::with_shards(4);
/// let rev = map.compare_and_swap(0, (1, 1)).unwrap();
/// assert!(map.compare_and_swap(rev + 9, (1, 2)).is_err());
/// let stats = map.stats();
/// assert_eq!((stats.swaps, stats.conflicts, stats.len), (1, 1, 1));
/// println!("{stats}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MapStats {
    /// Records in the map.
    pub len: usize,
    /// Shards.
    pub shards: usize,
    /// Records in the emptiest shard.
    pub min_shard_len: usize,
    /// Records in the fullest shard.
    pub max_shard_len: usize,
    /// Records stored by `insert`, a storing `load_or_store` or `get_or_insert_with`, an
    /// entry's `insert`, or a transaction (each replaced or new record counts once).
    pub inserts: u64,
    /// In-place writes: `update`, an entry's `get_mut`/`or_insert` on a present record.
    pub updates: u64,
    /// Records removed, by `remove`, `remove_if`, `compare_and_remove`, `retain`, `clear`, an
    /// entry or a transaction.
    pub removes: u64,
    /// `load_or_store`/`get_or_insert_with` calls that found the key (stored nothing).
    pub loads_found: u64,
    /// `load_or_store`/`get_or_insert_with` calls that stored.
    pub loads_stored: u64,
    /// Successful `compare_and_swap` and `compare_and_remove` calls.
    pub swaps: u64,
    /// Refused `compare_and_swap` and `compare_and_remove` calls (the revision had moved).
    pub conflicts: u64,
    /// Transactions that committed (returned `Ok`).
    pub transactions_committed: u64,
    /// Transactions that returned `Err` or panicked, writing nothing.
    pub transactions_aborted: u64,
    /// Calls into the map from inside one of its own operations, refused with a panic.
    pub reentries_refused: u64,
    /// Lock acquisitions that had to wait because another thread held the lock.
    pub contended: u64,
    /// The shard whose lock had to be waited for most, and how often (`None`: never).
    pub most_contended_shard: Option<(usize, u64)>,
    /// Snapshots and clones taken (point-in-time copying passes).
    pub snapshots: u64,
    /// `verify_consistency` runs.
    pub verifications: u64,
    /// The longest any writer spent handing its shard to a pass before writing.
    pub longest_pass_stall: Duration,
    /// `verify_consistency` runs that found a violation.
    pub verification_failures: u64,
    /// The violations those runs found, by kind (`WrongShard`, `Unreachable`, ...).
    pub violations_by_kind: Vec<(&'static str, u64)>,
}

impl fmt::Display for MapStats {
    /// A multi-line summary, one topic a line, for logs and incident notes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "size:          {} records in {} shards (shard sizes {}..={})",
            self.len, self.shards, self.min_shard_len, self.max_shard_len
        )?;
        writeln!(
            f,
            "writes:        {} inserts, {} updates, {} removes",
            self.inserts, self.updates, self.removes
        )?;
        writeln!(
            f,
            "get-or-insert: {} found, {} stored",
            self.loads_found, self.loads_stored
        )?;
        writeln!(
            f,
            "compare-and-*: {} succeeded, {} conflicts",
            self.swaps, self.conflicts
        )?;
        writeln!(
            f,
            "transactions:  {} committed, {} aborted",
            self.transactions_committed, self.transactions_aborted
        )?;
        write!(f, "contention:    {} waits for a lock", self.contended)?;
        match self.most_contended_shard {
            Some((shard, n)) => writeln!(f, ", most on shard {shard} ({n})")?,
            None => writeln!(f)?,
        }
        writeln!(
            f,
            "passes:        {} snapshots, {} verifications; longest writer stall {:?}",
            self.snapshots, self.verifications, self.longest_pass_stall
        )?;
        write!(
            f,
            "safety:        {} re-entrant calls refused, {} failed verifications",
            self.reentries_refused, self.verification_failures
        )?;
        for (kind, n) in &self.violations_by_kind {
            write!(f, "\n                 {n} x {kind}")?;
        }
        Ok(())
    }
}

impl<R: Record, M: Mode, S: BuildHasher> ShardedMap<R, M, S> {
    /// What has happened to the map since it was created: sizes, writes by kind, outcomes of
    /// the conditional operations, transactions, contention, passes and verification. Takes no
    /// lock (O(shards) relaxed loads), so it is safe to call from a metrics exporter at any rate.
    pub fn stats(&self) -> MapStats {
        // Relaxed: each counter's own value is all a report needs (see the module docs).
        let load = |c: &core::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let mut counts = [0u64; PROBES];
        for slot in self.shards.iter() {
            for (count, n) in counts.iter_mut().zip(slot.pending.read(&slot.probes)) {
                *count += n;
            }
        }
        let count = |probe: Probe| counts[probe as usize];
        let sizes = self.shards.iter().map(|s| s.len.load(Ordering::Relaxed));
        let most_contended_shard = self
            .shards
            .iter()
            .enumerate()
            .map(|(i, s)| (i, load(&s.probes.contended)))
            .filter(|&(_, n)| n > 0)
            .max_by_key(|&(i, n)| (n, core::cmp::Reverse(i)));
        let probes = &self.shared().probes;
        let failures = probes.failures.lock();
        MapStats {
            len: self.len(),
            shards: self.shard_count(),
            min_shard_len: sizes.clone().min().unwrap_or(0),
            max_shard_len: sizes.max().unwrap_or(0),
            inserts: count(Probe::Inserts),
            updates: count(Probe::Updates),
            removes: count(Probe::Removes),
            loads_found: count(Probe::Found),
            loads_stored: count(Probe::Stored),
            swaps: count(Probe::Swaps),
            conflicts: count(Probe::Conflicts),
            transactions_committed: load(&probes.committed),
            transactions_aborted: load(&probes.aborted),
            reentries_refused: load(&probes.refused),
            contended: self.shards.iter().map(|s| load(&s.probes.contended)).sum(),
            most_contended_shard,
            snapshots: load(&probes.snapshots),
            verifications: load(&probes.verifications),
            longest_pass_stall: Duration::from_nanos(load(&probes.longest_stall)),
            verification_failures: failures.runs,
            violations_by_kind: failures.by_kind.clone(),
        }
    }
}
