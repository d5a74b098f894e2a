//! The runtime engine of [mapsafe](https://docs.rs/mapsafe): a sharded concurrent map of records
//! that carry their own key, with optional etcd-style revisions, point-in-time snapshots and a
//! consistency verifier.
//!
//! Most users never name this crate: `#[mapsafe::concurrent_map]` generates a typed map that
//! wraps [`ShardedMap`]. It can also be used directly with `(K, V)` pairs:
//!
//! ```
//! use mapsafe_core::{ShardedMap, VersionedMode};
//!
//! let stock: ShardedMap<(&str, u32), VersionedMode> = ShardedMap::new();
//! let rev = stock.compare_and_swap(0, ("pears", 10)).unwrap();
//! let seen = stock.get_versioned("pears").unwrap();
//! assert_eq!(seen.version, rev);
//! // Another writer moves first...
//! let _ = stock.insert(("pears", 7));
//! // ...so our decision, based on the old value, is refused instead of lost.
//! assert!(stock.compare_and_swap(seen.version, ("pears", 9)).is_err());
//! ```
#![warn(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

pub mod check;
mod clock;
mod convert;
mod entry;
#[doc(hidden)]
pub mod generated;
mod hasher;
mod map;
#[cfg(feature = "metrics")]
mod metrics;
mod pass;
mod probes;
mod protocol;
#[cfg(feature = "rayon")]
pub mod rayon;
mod record;
mod reentry;
#[cfg(feature = "serde")]
mod serde_impls;
mod shard;
mod snapshot;
mod stats;
mod sync;
mod txn;
mod types;
mod verify;
mod versioned;

pub use entry::{Entry, OccupiedEntry, VacantEntry};
pub use hasher::DefaultHasher;
#[doc(hidden)]
pub use map::AsEngine;
pub use map::{MAX_SHARDS, ShardedMap, default_shard_count};
pub use record::{Mode, Plain, Record, VersionedMode};
#[doc(hidden)]
pub use record::{UnprobedPlain, UnprobedVersioned};
pub use snapshot::{IntoIter, Iter, Snapshot};
pub use stats::MapStats;
pub use txn::Txn;
pub use types::{Conflict, LoadOrStore, Versioned};
pub use verify::{ConsistencyError, ConsistencyReport, Violation, ViolationKind};
