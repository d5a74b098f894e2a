//! [mapsafe](https://docs.rs/mapsafe)'s records, vocabulary and consistency checker on an etcd
//! cluster.
//!
//! A service that keeps its records in a `#[concurrent_map(versioned)]` map and then grows to
//! several processes keeps the same record type and the same calls with [`EtcdMap`]: `get`,
//! `get_versioned`, `insert`, `load_or_store`, `update`, `remove`, `compare_and_swap`,
//! `compare_and_remove`, `transaction`, `snapshot`, `version`, `verify_consistency`, each
//! returning `Result<_, EtcdError>` around the in-process return type. etcd already has
//! mapsafe's revision model: a record's revision is its `mod_revision`, a compare-and-swap is a
//! transaction comparing it, a snapshot is a read at one revision, and [`EtcdMap::watch`] yields
//! the changes from a revision on.
//!
//! The transport is etcd's JSON gateway over a small blocking HTTP/1.1 client: building needs
//! nothing but crates.io (no protoc, no system libraries, no async runtime).
//!
//! Records must be serde types (the record is stored as JSON under `prefix` + its key as JSON).
//!
//! Where etcd makes a method mean something slightly different, its docs say so. In short:
//! `update`, `transaction` and `retain` are optimistic and may run their closures more than once;
//! etcd gives one revision per transaction (so keys written together share it); an
//! [`EtcdError`] on a write means its outcome is unknown.
//!
//! The proof carries over: [`EtcdMap::run_checker`] runs mapsafe's consistency checker through
//! etcd, and this crate's tests do so on one member and on three members while the member under
//! the client is killed and restarted. [`local::LocalCluster`] starts throwaway members for such
//! tests.
//!
//! ```no_run
//! use mapsafe::{Conflict, concurrent_map};
//! use mapsafe_etcd::EtcdMap;
//! use serde::{Deserialize, Serialize};
//!
//! #[concurrent_map(versioned)]
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
//! pub struct Account {
//!     #[key]
//!     pub owner: String,
//!     pub balance: i64,
//! }
//!
//! # fn main() -> Result<(), mapsafe_etcd::EtcdError> {
//! let accounts: EtcdMap<Account> =
//!     EtcdMap::connect(&["http://127.0.0.1:2379", "http://127.0.0.1:22379"], "accounts/")?;
//! let _ = accounts.insert(Account { owner: "ada".into(), balance: 100 })?;
//! // Read, decide, write back only if nobody wrote in between: the lost update's cure.
//! let seen = accounts.get_versioned("ada")?.expect("stored above");
//! let mut next = seen.value.clone();
//! next.balance -= 30;
//! match accounts.compare_and_swap(seen.version, next)? {
//!     Ok(revision) => println!("written at revision {revision}"),
//!     Err(Conflict { actual, .. }) => println!("someone wrote at {actual}: re-read and retry"),
//! }
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

mod check;
mod error;
pub mod local;
mod map;
mod snapshot;
mod transport;
mod txn;
mod verify;
mod watch;

pub use error::EtcdError;
pub use map::{DEFAULT_ATTEMPTS, EtcdMap};
pub use mapsafe_core::{Conflict, LoadOrStore, Versioned};
pub use snapshot::Snapshot;
pub use txn::Txn;
pub use verify::{ConsistencyError, ConsistencyReport, Violation, ViolationKind};
pub use watch::{Change, Watch};
