//! The `metrics` integration: a map's probes as counters and gauges of the `metrics` facade, so
//! any exporter (Prometheus, StatsD, ...) picks them up.
//!
//! Probes are counted inside the map at no cost to the `metrics` recorder; publishing copies the
//! current totals into it (`Counter::absolute`, `Gauge::set`), so call it on a timer or before
//! each scrape. Every metric is named `mapsafe_*` and carries a `map` label.

use metrics::{counter, gauge};

use crate::stats::MapStats;

impl MapStats {
    /// Publishes these figures through the `metrics` facade, labelled `map = name`:
    ///
    /// | metric | labels | what |
    /// |---|---|---|
    /// | `mapsafe_records`, `mapsafe_shards` | | gauges: size |
    /// | `mapsafe_shard_records_min`, `mapsafe_shard_records_max` | | gauges: skew |
    /// | `mapsafe_writes_total` | `kind` = insert, update, remove | counters |
    /// | `mapsafe_get_or_insert_total` | `outcome` = found, stored | counters |
    /// | `mapsafe_compare_total` | `outcome` = success, conflict | compare-and-swap/remove |
    /// | `mapsafe_transactions_total` | `outcome` = committed, aborted | counters |
    /// | `mapsafe_reentries_refused_total` | | re-entrant calls refused with a panic |
    /// | `mapsafe_lock_waits_total` | | lock acquisitions that had to wait |
    /// | `mapsafe_lock_waits_hottest_shard` | | gauge: waits on the most contended shard |
    /// | `mapsafe_passes_total` | `kind` = snapshot, verification | counters |
    /// | `mapsafe_pass_stall_max_seconds` | | gauge: longest writer stall a pass caused |
    /// | `mapsafe_verification_failures_total` | | failed `verify_consistency` runs |
    /// | `mapsafe_violations_total` | `kind` = WrongShard, ... | violations they found |
    ///
    /// Alert on `mapsafe_verification_failures_total` and `mapsafe_reentries_refused_total`
    /// (bugs), and watch `mapsafe_compare_total{outcome="conflict"}` and
    /// `mapsafe_lock_waits_total` (contention).
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    ///
    /// let sessions: ShardedMap<(u64, u64)> = ShardedMap::new();
    /// let _ = sessions.insert((1, 10));
    /// // With a recorder installed (e.g. metrics-exporter-prometheus), this shows up as
    /// // mapsafe_writes_total{map="sessions",kind="insert"} 1
    /// sessions.stats().publish_metrics("sessions");
    /// ```
    pub fn publish_metrics(&self, name: &str) {
        let map = name.to_owned();
        gauge!("mapsafe_records", "map" => map.clone()).set(self.len as f64);
        gauge!("mapsafe_shards", "map" => map.clone()).set(self.shards as f64);
        gauge!("mapsafe_shard_records_min", "map" => map.clone()).set(self.min_shard_len as f64);
        gauge!("mapsafe_shard_records_max", "map" => map.clone()).set(self.max_shard_len as f64);
        for (kind, n) in [
            ("insert", self.inserts),
            ("update", self.updates),
            ("remove", self.removes),
        ] {
            counter!("mapsafe_writes_total", "map" => map.clone(), "kind" => kind).absolute(n);
        }
        for (outcome, n) in [("found", self.loads_found), ("stored", self.loads_stored)] {
            counter!("mapsafe_get_or_insert_total", "map" => map.clone(), "outcome" => outcome)
                .absolute(n);
        }
        for (outcome, n) in [("success", self.swaps), ("conflict", self.conflicts)] {
            counter!("mapsafe_compare_total", "map" => map.clone(), "outcome" => outcome)
                .absolute(n);
        }
        for (outcome, n) in [
            ("committed", self.transactions_committed),
            ("aborted", self.transactions_aborted),
        ] {
            counter!("mapsafe_transactions_total", "map" => map.clone(), "outcome" => outcome)
                .absolute(n);
        }
        counter!("mapsafe_reentries_refused_total", "map" => map.clone())
            .absolute(self.reentries_refused);
        counter!("mapsafe_lock_waits_total", "map" => map.clone()).absolute(self.contended);
        gauge!("mapsafe_lock_waits_hottest_shard", "map" => map.clone())
            .set(self.most_contended_shard.map_or(0, |(_, n)| n) as f64);
        for (kind, n) in [
            ("snapshot", self.snapshots),
            ("verification", self.verifications),
        ] {
            counter!("mapsafe_passes_total", "map" => map.clone(), "kind" => kind).absolute(n);
        }
        gauge!("mapsafe_pass_stall_max_seconds", "map" => map.clone())
            .set(self.longest_pass_stall.as_secs_f64());
        counter!("mapsafe_verification_failures_total", "map" => map.clone())
            .absolute(self.verification_failures);
        for &(kind, n) in &self.violations_by_kind {
            counter!("mapsafe_violations_total", "map" => map.clone(), "kind" => kind).absolute(n);
        }
    }
}
