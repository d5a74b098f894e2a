//! The consistency checker: drives a map from several threads with a seeded mix of every
//! operation, records the history, and decides whether it is linearizable.
//!
//! # What it runs
//!
//! [`Config::threads`] threads, released together by a barrier, each issue
//! [`Config::ops_per_thread`] calls chosen by a seeded generator: `get`, `contains_key`,
//! `insert`, `load_or_store`, `update`, `remove`, `compare_and_swap` (versioned maps, usually
//! after a `get_versioned`), `retain`, `snapshot`, `version`/`len` and, rarely, `clear`; and, on
//! a map that offers them (each is probed once before the run), `get_or_insert_with`,
//! `remove_if`, `compare_and_remove`, `entry` in each shape, and transactions over 2 to 4 keys
//! (mostly hot ones) that read every key, then insert, update or remove some and commit or
//! abort. Keys
//! are built to collide: a few *hot* keys forced into one shard, some *warm* keys, and a *cold*
//! range that keeps growing so shards resize under load. Every call is bracketed by two tickets
//! from one `SeqCst` counter, taken just before the call and just after it returns. After the
//! workers join, every key is read again, a final snapshot and `len()` are taken, and
//! `verify_consistency` runs.
//!
//! # What it checks
//!
//! - **Per key** (linearizability is local, so keys are checked apart): some order of the key's
//!   calls agrees with real time (a call that returned before another was called comes first)
//!   and with every result, replayed on a sequential model of one entry. A small Wing-Gong search
//!   with memoisation decides it (as porcupine does). Every write carries a unique value
//!   (`make(key, nonce)` with a fresh nonce), so each read names the write it saw.
//! - **Versioned maps**: the revision each write was given is its order — the search only places
//!   reads — and revisions must be unique and agree with real time and with every `version()`.
//!   Each snapshot must equal the replay of the writes with revision ≤ its version.
//! - **Snapshots, both modes**: a snapshot showing write B must show every write that returned
//!   before B was called (a torn snapshot fails this).
//! - **Transactions**: no call sees an aborted transaction's write; a committed transaction's
//!   revisions are consecutive, with no other write or version between; and one order of all
//!   the calls on the keys transactions touch, each transaction and snapshot one step, fits a
//!   model of those keys together (so no call sees a transaction in part).
//! - **At quiescence**: the final reads and snapshot fit the histories, `len()` matches the
//!   snapshot, and `verify_consistency` passes.
//!
//! A failure is a [`CheckFailure`]: its `Display` names the class, the offending call with its
//! thread, tickets, arguments and result, the calls that bound it, the key's surrounding
//! history, the shortest offending history found, the seed, and the command that reruns the
//! workload. The shortest history is the recorded one shrunk (other keys' calls, reads and the
//! calls before and after a quiet instant dropped) as long as it still fails the same check on
//! its own, using only reductions under which that failure implies the recorded history's.
//!
//! # Configuration
//!
//! From code ([`Config`]) or from the environment, which wins: `MAPSAFE_SEED` (decimal or `0x`
//! hex), `MAPSAFE_OPS` (calls per thread), `MAPSAFE_THREADS`.
//!
//! A seed fixes every thread's sequence of calls. Which key numbers are hot depends on the map's
//! hasher (they are the ones that share a shard), so with the default, randomly seeded hasher the
//! hot keys differ from map to map; the interleaving is always the operating system's.
//!
//! # Example
//!
//! ```
//! use mapsafe_core::check::{Checker, Config};
//! use mapsafe_core::{VersionedMode, ShardedMap};
//!
//! // `make(key, nonce)`: a record whose key comes from `key` and whose contents from `nonce`.
//! let checker = Checker::new(|key, nonce| (key, nonce))
//!     .config(Config::new().threads(2).ops_per_thread(100).seed(7));
//! let map: ShardedMap<(u64, u64), VersionedMode> = ShardedMap::with_shards(4);
//! let report = checker.run(&map).expect("the engine is linearizable");
//! assert_eq!(report.runs, 1);
//! println!("{report}");
//! ```

mod analyse;
mod history;
mod report;
mod rng;
mod search;
mod shrink;
mod target;
mod workload;

use core::fmt::Debug;
use std::time::{Duration, Instant};

pub use report::{CheckFailure, CheckReport, FailureClass};
#[doc(hidden)]
pub use target::{EditFn, EntryOutcome, KeyOf, KeyRevision, Target, TxnBody, TxnOps, TxnOutcome};
pub use workload::Updater;

use crate::map::{AsEngine, ShardedMap};
use crate::record::Record;
use analyse::{Analysis, Tally};
use workload::Workload;

/// The workload's shape: seed, threads, calls per thread, key space.
///
/// # Example
///
/// ```
/// use mapsafe_core::check::Config;
///
/// let config = Config::new().seed(42).threads(3).ops_per_thread(500);
/// assert_eq!((config.seed, config.threads, config.ops_per_thread), (42, 3, 500));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Seeds every thread's sequence of calls.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// Calls per worker thread.
    pub ops_per_thread: usize,
    /// Keys forced into one shard, where most calls go.
    pub hot_keys: usize,
    /// Keys spread over the shards, with moderate traffic.
    pub warm_keys: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0x4d41_5053_4146_4521,
            threads: 4,
            ops_per_thread: 150,
            hot_keys: 4,
            warm_keys: 12,
        }
    }
}

impl Config {
    /// The defaults: 4 threads x 150 calls, 4 hot and 12 warm keys, a fixed seed.
    pub fn new() -> Self {
        Self::default()
    }

    /// The defaults, overridden by `MAPSAFE_SEED`, `MAPSAFE_OPS` and `MAPSAFE_THREADS`.
    pub fn from_env() -> Self {
        Self::default().env_overrides()
    }

    /// This configuration, overridden by `MAPSAFE_SEED`, `MAPSAFE_OPS` and `MAPSAFE_THREADS`
    /// where they are set.
    ///
    /// # Panics
    ///
    /// If one of them is set but is not a number.
    pub fn env_overrides(mut self) -> Self {
        if let Some(seed) = env_number("MAPSAFE_SEED") {
            self.seed = seed;
        }
        if let Some(ops) = env_number("MAPSAFE_OPS") {
            self.ops_per_thread = ops as usize;
        }
        if let Some(threads) = env_number("MAPSAFE_THREADS") {
            self.threads = (threads as usize).max(1);
        }
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the number of worker threads (at least 1).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Sets the number of calls per worker thread.
    pub fn ops_per_thread(mut self, ops: usize) -> Self {
        self.ops_per_thread = ops;
        self
    }

    /// Sets the number of hot keys (forced into one shard).
    pub fn hot_keys(mut self, keys: usize) -> Self {
        self.hot_keys = keys;
        self
    }

    /// Sets the number of warm keys.
    pub fn warm_keys(mut self, keys: usize) -> Self {
        self.warm_keys = keys;
        self
    }
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    match parse_number(&text) {
        Some(n) => Some(n),
        None => panic!("mapsafe::check: {name}={text:?} is not a number"),
    }
}

/// Decimal or `0x` hex, `_` separators allowed (as the failure report prints seeds).
fn parse_number(text: &str) -> Option<u64> {
    let text = text.trim().replace('_', "");
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Runs the consistency checker on a map. See the [module docs](self).
///
/// # Example
///
/// With an `update` that edits the record (it must be a pure function of the old record and the
/// nonce), so that lost updates change what later reads see:
///
/// ```
/// use mapsafe_core::check::{Checker, Config};
/// use mapsafe_core::ShardedMap;
///
/// fn bump(value: &mut u64, nonce: u64) {
///     *value = value.rotate_left(5) ^ nonce;
/// }
///
/// let checker = Checker::new(|key, nonce| (key, nonce))
///     .updater(bump)
///     .name("pairs")
///     .config(Config::new().threads(2).ops_per_thread(60));
/// let report = checker.run_seeds(ShardedMap::<(u64, u64)>::new, 3).unwrap();
/// assert_eq!(report.runs, 3);
/// ```
#[derive(Debug, Clone)]
pub struct Checker<R: Record> {
    config: Config,
    make: fn(u64, u64) -> R,
    updater: Option<Updater<R>>,
    name: String,
}

impl<R: Record + Clone + PartialEq + Debug> Checker<R> {
    /// A checker whose records come from `make(key, nonce)`: the record's key must be derived
    /// from `key` (different `key`, different keys) and its other contents must differ for
    /// different `nonce`. The configuration comes from [`Config::from_env`].
    pub fn new(make: fn(u64, u64) -> R) -> Self {
        Checker {
            config: Config::from_env(),
            make,
            updater: None,
            name: core::any::type_name::<R>().to_string(),
        }
    }

    /// Uses this configuration; the environment still overrides it.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config.env_overrides();
        self
    }

    /// Makes `update` edit records with `edit(view, nonce)`. Without it, `update` changes nothing
    /// but the revision (the checker cannot write through an unknown view type).
    pub fn updater(mut self, edit: Updater<R>) -> Self {
        self.updater = Some(edit);
        self
    }

    /// Names the map in failure reports.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Runs one workload on `map`, which must be empty.
    ///
    /// # Panics
    ///
    /// If `map` is not empty.
    pub fn run<T>(&self, map: &T) -> Result<CheckReport, CheckFailure>
    where
        T: AsEngine<Record = R> + Sync,
        ShardedMap<R, T::Mode, T::Hasher>: Target<Record = R>,
    {
        self.run_once(map, |m: &T| m.engine(), self.config.seed)
            .map(|tally| summarise(&[tally], self.config.seed))
    }

    /// Runs `runs` workloads, each on a fresh map from `new_map`, with seeds `seed`, `seed + 1`,
    /// ...; stops at the first failure.
    pub fn run_seeds<T>(
        &self,
        new_map: impl Fn() -> T,
        runs: usize,
    ) -> Result<CheckReport, CheckFailure>
    where
        T: AsEngine<Record = R> + Sync,
        ShardedMap<R, T::Mode, T::Hasher>: Target<Record = R>,
    {
        self.run_while(new_map, |done, _| done < runs.max(1))
    }

    /// Runs workloads with successive seeds on fresh maps until `budget` has elapsed (at least
    /// one); stops at the first failure.
    pub fn run_for<T>(
        &self,
        new_map: impl Fn() -> T,
        budget: Duration,
    ) -> Result<CheckReport, CheckFailure>
    where
        T: AsEngine<Record = R> + Sync,
        ShardedMap<R, T::Mode, T::Hasher>: Target<Record = R>,
    {
        self.run_while(new_map, |done, elapsed| done == 0 || elapsed < budget)
    }

    fn run_while<T>(
        &self,
        new_map: impl Fn() -> T,
        go_on: impl Fn(usize, Duration) -> bool,
    ) -> Result<CheckReport, CheckFailure>
    where
        T: AsEngine<Record = R> + Sync,
        ShardedMap<R, T::Mode, T::Hasher>: Target<Record = R>,
    {
        let start = Instant::now();
        let mut tallies = Vec::new();
        let mut seed = self.config.seed;
        while go_on(tallies.len(), start.elapsed()) {
            let map = new_map();
            tallies.push(self.run_once(&map, |m: &T| m.engine(), seed)?);
            seed = seed.wrapping_add(1);
        }
        Ok(summarise(&tallies, seed.wrapping_sub(1)))
    }

    /// Runs one workload with `seed` on any [`Target`] (the checker's own tests use this to
    /// drive deliberately broken engines).
    #[doc(hidden)]
    pub fn run_target<T>(&self, target: &T, seed: u64) -> Result<CheckReport, CheckFailure>
    where
        T: Target<Record = R> + Sync,
    {
        self.run_once(target, |t: &T| t, seed)
            .map(|tally| summarise(&[tally], seed))
    }

    fn run_once<H, T>(
        &self,
        host: &H,
        engine: fn(&H) -> &T,
        seed: u64,
    ) -> Result<Tally, CheckFailure>
    where
        H: Sync,
        T: Target<Record = R> + ?Sized,
    {
        assert_eq!(
            engine(host).len(),
            0,
            "mapsafe::check: the map under test must start empty"
        );
        let config = Config {
            seed,
            ..self.config.clone()
        };
        let workload = Workload::new(engine(host), config.clone(), self.make, self.updater);
        let recorded = workload.run(host, engine);
        let mut analysis = Analysis::new(&recorded, T::VERSIONED, self.make, self.updater);
        analysis.run().map_err(|finding| {
            let shrunk = shrink::shrink(&recorded, &finding, T::VERSIONED, self.make, self.updater);
            report::failure(&analysis, finding, shrunk.as_ref(), &self.name, config)
        })
    }
}

fn summarise(tallies: &[Tally], last_seed: u64) -> CheckReport {
    CheckReport {
        runs: tallies.len(),
        calls: tallies.iter().map(|t| t.events).sum(),
        overlapping_calls: tallies.iter().map(|t| t.overlapping).sum(),
        snapshots: tallies.iter().map(|t| t.snapshots).sum(),
        keys: tallies.iter().map(|t| t.keys).max().unwrap_or(0),
        longest_key_history: tallies
            .iter()
            .map(|t| t.longest_key_history)
            .max()
            .unwrap_or(0),
        undecided_keys: tallies.iter().map(|t| t.undecided_keys).sum(),
        last_seed,
    }
}

/// Entry point of the test `#[concurrent_map(consistency_test = make)]` generates.
///
/// `new_map` builds an empty map; `make(key, nonce)` builds a record whose key is derived from
/// `key` and whose other contents differ for different `nonce`. Runs the checker with successive
/// seeds for about a second (4 threads x 150 calls each, unless the `MAPSAFE_*` variables say
/// otherwise), each run ending with the quiescent reads, `len()` and `verify_consistency`, and
/// panics with the failure report on the first violation.
#[doc(hidden)]
pub fn generated_consistency_test<T>(
    map_name: &str,
    new_map: fn() -> T,
    make: fn(u64, u64) -> T::Record,
) where
    T: AsEngine + Sync,
    T::Record: Clone + PartialEq + Debug,
    // Always holds: `Mode` is sealed, and both modes implement `Target` for every hasher.
    ShardedMap<T::Record, T::Mode, T::Hasher>: Target<Record = T::Record>,
{
    let checker = Checker::new(make).name(map_name);
    match checker.run_for(new_map, Duration::from_millis(1000)) {
        Ok(report) => println!("{map_name}: {report}"),
        Err(failure) => panic!("{failure}"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::target::Target;
    use super::workload::Workload;
    use super::{Config, generated_consistency_test, parse_number};
    use crate::{Plain, ShardedMap, VersionedMode};

    #[test]
    fn seeds_parse_in_decimal_and_in_the_hex_reports_print() {
        assert_eq!(parse_number("42"), Some(42));
        assert_eq!(parse_number(" 0x4d41_5053 "), Some(0x4d41_5053));
        assert_eq!(parse_number("0XfF"), Some(255));
        assert_eq!(parse_number("forty"), None);
    }

    #[test]
    fn a_seed_fixes_the_workload() {
        use std::hash::{BuildHasherDefault, DefaultHasher as SipHasher};
        type Fixed = BuildHasherDefault<SipHasher>;
        let history = |seed: u64| {
            let map: ShardedMap<(u64, String), Plain, Fixed> =
                ShardedMap::with_shards_capacity_and_hasher(8, 0, Fixed::default());
            let config = Config::new().threads(1).ops_per_thread(200).seed(seed);
            let workload = Workload::new(&map, config, make, None);
            let recorded = workload.run(&map, |m| m);
            let lines: Vec<String> = recorded
                .events
                .iter()
                .map(|e| e.render(false, None, &|_| None))
                .collect();
            lines
        };
        assert_eq!(history(5), history(5));
        assert_ne!(history(5), history(6));
    }

    #[test]
    fn hot_keys_share_one_shard_and_warm_keys_do_not_collide_with_them() {
        let map: ShardedMap<(u64, String)> = ShardedMap::with_shards(64);
        let workload = Workload::new(&map, Config::new().hot_keys(5), make, None);
        assert_eq!(workload.hot.len(), 5);
        let shard = Target::shard_of(&map, &workload.hot[0]);
        assert!(
            workload
                .hot
                .iter()
                .all(|k| Target::shard_of(&map, k) == shard)
        );
        assert!(workload.warm.iter().all(|k| !workload.hot.contains(k)));
    }

    fn make(key: u64, nonce: u64) -> (u64, String) {
        (key, format!("record {nonce:#x}"))
    }

    #[test]
    fn generated_test_entry_point_passes_on_the_engine_within_its_budget() {
        for versioned in [false, true] {
            let start = Instant::now();
            if versioned {
                generated_consistency_test("pairs", ShardedMap::<_, VersionedMode>::new, make);
            } else {
                generated_consistency_test("pairs", ShardedMap::<_, Plain>::new, make);
            }
            let took = start.elapsed();
            println!("generated consistency test (versioned: {versioned}) took {took:?}");
            // The generated test stops starting new runs after about a second; this bound only
            // catches a budget that is not enforced (a loaded CI machine can take a few seconds
            // for the run in progress and the quiescent checks), not a slow machine.
            assert!(
                took.as_secs_f64() < 30.0,
                "the generated test took {took:?}"
            );
        }
    }
}
