//! mapsafe: typed sharded concurrent maps that are safe by construction.
//!
//! Annotate a plain struct with [`#[concurrent_map]`](macro@concurrent_map) and mark its key
//! field with `#[key]`: beside the struct you get `{Struct}Map`, a sharded concurrent map of those
//! records, and `{Struct}Mut<'a>`, the view an `update` closure receives (a `&mut` to every field
//! except the key, so an update can never move a record to another key).
//!
//! Every method takes `&self` and none returns a guard or a reference into the live map: reads
//! return owned values or run a closure under the shard's lock. Ignoring the answer of a
//! get-or-insert ([`LoadOrStore`]) or of a compare-and-swap is a `#[must_use]` warning, and a
//! versioned map turns lost updates into [`Conflict`]s.
//!
//! A word count from several threads: [`entry`](ShardedMap::entry) reads, decides and writes
//! one key in one call, so no count is lost.
//!
//! ```
//! use std::sync::Arc;
//! use std::thread;
//!
//! use mapsafe::concurrent_map;
//!
//! #[concurrent_map]
//! pub struct Word {
//!     #[key]
//!     pub word: String,
//!     pub count: u64,
//! }
//!
//! let text = "the cat saw the dog and the dog saw the cat";
//! let words = Arc::new(WordMap::new());
//! let handles: Vec<_> = (0..4)
//!     .map(|_| {
//!         let words = Arc::clone(&words);
//!         thread::spawn(move || {
//!             for word in text.split_whitespace() {
//!                 words.entry(word, |e| *e.or_insert_with(|| Word { word: word.to_owned(), count: 0 }).count += 1);
//!             }
//!         })
//!     })
//!     .collect();
//! for handle in handles {
//!     handle.join().unwrap();
//! }
//! assert_eq!(words.len(), 5);
//! assert_eq!(words.read("the", |w| w.count), Some(4 * 4));
//! assert_eq!(words.read("and", |w| w.count), Some(4));
//! ```
//!
//! A versioned map of accounts: atomic updates, compare-and-swap, get-or-insert, snapshots.
//!
//! ```
//! use std::sync::Arc;
//! use std::thread;
//!
//! use mapsafe::{LoadOrStore, concurrent_map};
//!
//! #[concurrent_map(shards = 8, versioned)]
//! #[derive(Clone, Debug, PartialEq)]
//! pub struct Account {
//!     #[key]
//!     pub owner: String,
//!     pub balance: i64,
//! }
//!
//! let accounts = Arc::new(AccountMap::new());
//! assert!(accounts.load_or_store(Account { owner: "ada".into(), balance: 0 }).is_stored());
//!
//! // Four threads deposit at once; `update` is atomic per record, so no deposit is lost.
//! let handles: Vec<_> = (0..4)
//!     .map(|_| {
//!         let accounts = Arc::clone(&accounts);
//!         thread::spawn(move || {
//!             for _ in 0..100 {
//!                 let deposited = accounts.update("ada", |account| *account.balance += 1);
//!                 assert!(deposited.is_some(), "ada's account exists");
//!             }
//!         })
//!     })
//!     .collect();
//! for handle in handles {
//!     handle.join().unwrap();
//! }
//! assert_eq!(accounts.read("ada", |account| account.balance), Some(400));
//!
//! // Read, decide, write back only if nobody wrote in between.
//! let seen = accounts.get_versioned("ada").unwrap();
//! let mut next = seen.value.clone();
//! next.balance -= 50;
//! assert!(accounts.compare_and_swap(seen.version, next).is_ok());
//! // A second write based on the same stale read is refused, not lost.
//! let stale = accounts.compare_and_swap(seen.version, seen.value).unwrap_err();
//! assert_eq!(stale.offered.balance, 400);
//!
//! // A get-or-insert says whether it stored.
//! match accounts.load_or_store(Account { owner: "ada".into(), balance: 7 }) {
//!     LoadOrStore::Loaded { current, .. } => assert_eq!(current.balance, 350),
//!     LoadOrStore::Stored => unreachable!("ada was already there"),
//! }
//!
//! let snapshot = accounts.snapshot();
//! assert_eq!(snapshot.len(), 1);
//! assert_eq!(snapshot.version(), accounts.version());
//! println!("{}", accounts.verify_consistency().unwrap());
//! ```
//!
//! A [`transaction`](ShardedMap::transaction) changes several records at one instant, or none:
//!
//! ```
//! #[mapsafe::concurrent_map(versioned)]
//! #[derive(Clone, Debug)]
//! struct Stock {
//!     #[key]
//!     place: String,
//!     units: u32,
//! }
//!
//! let stock = StockMap::new();
//! let _ = stock.insert(Stock { place: "shelf".into(), units: 10 });
//! let _ = stock.insert(Stock { place: "store".into(), units: 0 });
//! let mv = |n: u32| {
//!     stock.transaction(&["shelf", "store"], |tx| {
//!         if tx.get("shelf").is_none_or(|shelf| shelf.units < n) {
//!             return Err("not enough on the shelf");
//!         }
//!         let _ = tx.update("shelf", |shelf| *shelf.units -= n);
//!         let _ = tx.update("store", |store| *store.units += n);
//!         Ok(n)
//!     })
//! };
//! assert_eq!(mv(4), Ok(4));
//! assert_eq!(mv(7), Err("not enough on the shelf")); // nothing moved
//! assert_eq!(stock.read("shelf", |s| s.units), Some(6));
//! assert_eq!(stock.read("store", |s| s.units), Some(4));
//! ```
//!
//! # Features
//!
//! - `serde`: every generated map is `Serialize` (a sequence of records, taken as one snapshot)
//!   and `Deserialize` (a key seen twice is an error), when its record is.
//! - `rayon`: snapshots have `par_iter()` and `into_par_iter()`, and every generated map is
//!   `FromParallelIterator` and `ParallelExtend`.
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! #[mapsafe::concurrent_map]
//! #[derive(Clone, Debug, PartialEq)]
//! struct Word {
//!     #[key]
//!     word: String,
//!     count: u64,
//! }
//! // As `#[derive(Serialize, Deserialize)]` would, written out: a record as a pair.
//! impl serde::Serialize for Word {
//!     fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
//!         serde::Serialize::serialize(&(&self.word, self.count), s)
//!     }
//! }
//! impl<'de> serde::Deserialize<'de> for Word {
//!     fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
//!         let (word, count) = serde::Deserialize::deserialize(d)?;
//!         Ok(Word { word, count })
//!     }
//! }
//!
//! let words = WordMap::new();
//! let _ = words.insert(Word { word: "cat".into(), count: 2 });
//! let json = serde_json::to_string(&words).unwrap();
//! assert_eq!(json, r#"[["cat",2]]"#);
//! let back: WordMap = serde_json::from_str(&json).unwrap();
//! assert_eq!(back.get("cat"), words.get("cat"));
//! assert!(serde_json::from_str::<WordMap>(r#"[["cat",1],["cat",2]]"#).is_err());
//! # }
//! ```
//!
//! ```
//! # #[cfg(feature = "rayon")] {
//! use rayon::prelude::*;
//!
//! #[mapsafe::concurrent_map]
//! #[derive(Clone, Debug)]
//! struct Sale {
//!     #[key]
//!     id: u32,
//!     cents: u64,
//! }
//!
//! let sales: SaleMap = (0..1000).into_par_iter().map(|id| Sale { id, cents: 5 }).collect();
//! let total: u64 = sales.snapshot().par_iter().map(|sale| sale.cents).sum();
//! assert_eq!(total, 5000);
//! # }
//! ```
//!
//! The runtime behind the generated maps is [`ShardedMap`], which can also be used directly with
//! `(K, V)` pairs.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

// Lets the expansion's `::mapsafe::__private` paths resolve inside this crate's own tests too.
extern crate self as mapsafe;

/// Turns a struct with named fields into a typed sharded concurrent map.
///
/// Mark exactly one field `#[key]`. Beside the struct (which stays as written, minus `#[key]`)
/// the attribute generates, with the struct's visibility:
///
/// - `{Struct}Map`: the map, one record per key. Every method takes `&self` and none returns a
///   guard or a reference into the map: `new`, `with_capacity`, `Default`, `len`, `is_empty`,
///   `shard_count`, `contains_key`, `get`, `read`, `for_each`, `insert`, `load_or_store`,
///   `get_or_insert_with`, `entry`, `update`, `remove`, `remove_if`, `transaction`, `retain`,
///   `clear`, `snapshot`, `capacity`, `reserve`, `shrink_to_fit`, `stats`,
///   `verify_consistency`, and on versioned maps `version`, `get_versioned`,
///   `compare_and_swap` and `compare_and_remove`. Lookups take any `&Q` the key borrows as
///   (`&str` for a `String` key). `get`, `load_or_store`, `get_or_insert_with`, `transaction`,
///   `snapshot` and `get_versioned` copy records and exist only when the struct is `Clone`.
///   The map is `Clone` (a point-in-time copy) when the struct is, `FromIterator`, `Extend`
///   and `IntoIterator`; with the `serde` feature `Serialize`/`Deserialize` when the struct
///   is, with `rayon` `FromParallelIterator`/`ParallelExtend`.
/// - `{Struct}Mut<'a>`: what an `update` closure receives, a `&'a mut` to every field except
///   the key (each with its field's visibility), so an update cannot move a record to another key.
///
/// # Arguments
///
/// | argument | meaning | default |
/// |---|---|---|
/// | `shards = N` | number of shards: an integer literal, a power of two in `1..=1024` | four per hardware thread |
/// | `versioned` | stamp every write with the map's next revision; adds `version`, `get_versioned`, `compare_and_swap`, `compare_and_remove` | off |
/// | `name = Ident` | name of the generated map | `{Struct}Map` |
/// | `hasher = Path` | a `BuildHasher + Default + Clone + Send + Sync` type | [`DefaultHasher`] |
/// | `consistency_test = path` | emit `#[cfg(test)] #[test] fn {struct_snake}_map_consistency()`, which runs the [`check`] checker on the map with records from `path: fn(key: u64, nonce: u64) -> Struct` | none |
/// | `crate = path` | the path the expansion names mapsafe by, for a crate that re-exports or renames it (as serde's `crate = "..."`; a string is accepted too) | `::mapsafe` |
///
/// # Generic records
///
/// A record may have type and const parameters, with bounds and a where-clause: the map and the
/// view take the same parameters (`CacheEntry<V>` gives `CacheEntryMap<V>` and
/// `CacheEntryMut<'a, V>`), so one record serves several maps. The macro adds what the map
/// needs: each type parameter `Send + Sync + 'static`, the key `Hash + Eq + Clone + Debug +
/// Send + Sync`; a map used with an argument that breaks one fails to compile where it is used.
/// Lifetime parameters are refused: the map owns its records and shares them between threads,
/// so a record cannot borrow.
///
/// ```
/// #[mapsafe::concurrent_map]
/// #[derive(Clone, Debug)]
/// struct CacheEntry<V> {
///     #[key]
///     id: u64,
///     value: V,
/// }
///
/// let names: CacheEntryMap<String> = CacheEntryMap::new();
/// let sizes: CacheEntryMap<usize> = CacheEntryMap::new();
/// let _ = names.insert(CacheEntry { id: 1, value: "ada".to_string() });
/// let _ = sizes.insert(CacheEntry { id: 1, value: 3 });
/// assert_eq!(names.read(&1, |e| e.value.len()), sizes.get(&1).map(|e| e.value));
/// ```
///
/// # Errors
///
/// Misuse is a compile error at the offending token, never a panic: unknown or duplicate
/// arguments, a bad `shards`, a value given to `versioned`, no or several `#[key]` fields,
/// `#[key]` with arguments or under `#[cfg]`, enums, unions, tuple and unit structs, lifetime
/// parameters, `#[repr(packed)]`, `consistency_test` on a generic record. Records that cannot
/// live in a concurrent map (a field that is not `Send` or `Sync`, a key that is not
/// `Hash + Eq + Clone + Debug`, a hasher that is not `Send + Sync`) are reported at the field or
/// the argument, with a message that says what to change. Other `#[cfg]` fields are supported.
///
/// # Example
///
/// ```
/// #[mapsafe::concurrent_map]
/// #[derive(Clone, Debug)]
/// struct Session {
///     #[key]
///     token: u64,
///     user: String,
/// }
///
/// let sessions = SessionMap::new();
/// assert!(sessions.insert(Session { token: 7, user: "ada".into() }).is_none());
/// assert_eq!(sessions.read(&7, |s| s.user.len()), Some(3));
/// assert!(sessions.update(&7, |s| s.user.push_str(" lovelace")).is_some());
/// assert_eq!(sessions.get(&7).map(|s| s.user), Some("ada lovelace".to_string()));
/// ```
pub use mapsafe_macros::concurrent_map;

/// The consistency checker that `consistency_test = ...` runs, for use with your own thread
/// counts, operation counts and seeds on any generated map.
pub use mapsafe_core::check;

pub use mapsafe_core::{
    Conflict, ConsistencyError, ConsistencyReport, DefaultHasher, Entry, IntoIter, Iter,
    LoadOrStore, MAX_SHARDS, MapStats, Mode, OccupiedEntry, Plain, Record, ShardedMap, Snapshot,
    Txn, VacantEntry, Versioned, VersionedMode, Violation, ViolationKind, default_shard_count,
};

/// Parallel iteration of snapshots (`par_iter()`, `into_par_iter()`), with the `rayon` feature.
#[cfg(feature = "rayon")]
pub use mapsafe_core::rayon;

/// What the code generated by `#[concurrent_map]` names. Not a public API: it may change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use mapsafe_core::check::generated_consistency_test;
    pub use mapsafe_core::generated::{VersionedOnly, fmt_named};
    pub use mapsafe_core::{
        AsEngine, Conflict, ConsistencyError, ConsistencyReport, DefaultHasher, Entry, IntoIter,
        LoadOrStore, MapStats, Plain, Record, ShardedMap, Snapshot, Txn, Versioned, VersionedMode,
        default_shard_count,
    };

    #[cfg(feature = "rayon")]
    pub use ::rayon;
    #[cfg(feature = "serde")]
    pub use ::serde;

    // The expansion wraps its serde and rayon impls in these: a `#[cfg(feature = ...)]` in
    // generated code would test the user's crate's features, not this crate's.
    /// Expands its items only with this crate's `serde` feature.
    #[cfg(feature = "serde")]
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __mapsafe_if_serde {
        ($($item:item)*) => { $($item)* };
    }
    /// Expands its items only with this crate's `serde` feature.
    #[cfg(not(feature = "serde"))]
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __mapsafe_if_serde {
        ($($item:item)*) => {};
    }
    /// Expands its items only with this crate's `rayon` feature.
    #[cfg(feature = "rayon")]
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __mapsafe_if_rayon {
        ($($item:item)*) => { $($item)* };
    }
    /// Expands its items only with this crate's `rayon` feature.
    #[cfg(not(feature = "rayon"))]
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __mapsafe_if_rayon {
        ($($item:item)*) => {};
    }
    pub use crate::{__mapsafe_if_rayon as if_rayon, __mapsafe_if_serde as if_serde};

    use core::fmt::Debug;
    use core::hash::{BuildHasher, Hash};

    // The traits below are the compile-time checks of the expansion. Each is implemented for
    // every type that meets the requirement, so only its `on_unimplemented` message matters: it
    // is what the user reads, pointed at the type they wrote. They are sealed so that nobody
    // can implement them for a type that does not meet the requirement.
    mod sealed {
        pub trait Sealed {}
        impl<T: ?Sized> Sealed for T {}
    }

    /// A record's fields must be `Send`: the map hands records between threads.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not `Send`, so it cannot be a field of a mapsafe record",
        label = "this field's type is not `Send`",
        note = "a `#[concurrent_map]` record is moved between threads: use a thread-safe type \
                (e.g. `Arc` instead of `Rc`)"
    )]
    pub trait FieldIsSend: sealed::Sealed {}
    impl<T: ?Sized + Send> FieldIsSend for T {}

    /// A record's fields must be `Sync`: the map lets several threads read a record at once.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not `Sync`, so it cannot be a field of a mapsafe record",
        label = "this field's type is not `Sync`",
        note = "a `#[concurrent_map]` record is read from several threads at once: use a \
                thread-safe type (e.g. `Mutex` or an atomic instead of `Cell` or `RefCell`)"
    )]
    pub trait FieldIsSync: sealed::Sealed {}
    impl<T: ?Sized + Sync> FieldIsSync for T {}

    /// A record's fields must have a size known at compile time: the map stores records inline.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` has no size known at compile time, so it cannot be a field of a \
                   mapsafe record",
        label = "this field's type is unsized",
        note = "a `#[concurrent_map]` record is stored by value: own the data through a sized \
                type (e.g. `String` for `str`, `Vec<T>` for `[T]`, `Box<dyn Trait + Send + Sync>`)"
    )]
    pub trait FieldIsSized: sealed::Sealed {}
    impl<T> FieldIsSized for T {}

    /// The `#[key]` field's type must be usable as a hash-map key that the verifier can name.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a mapsafe key: the `#[key]` field must be \
                   `Hash + Eq + Clone + Debug`",
        label = "this `#[key]` type is missing a trait the map needs",
        note = "derive them: `#[derive(Clone, Debug, PartialEq, Eq, Hash)]`; `Debug` is how \
                `verify_consistency` names a broken key"
    )]
    pub trait KeyType: sealed::Sealed {}
    impl<T: Hash + Eq + Clone + Debug> KeyType for T {}

    /// What the map needs of each type parameter of a generic record; the macro adds it to the
    /// map's bounds, so a use with a parameter that breaks it gets this message, once.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a type argument of a mapsafe record: it must be \
                   `Send + Sync + 'static`",
        label = "not `Send + Sync + 'static`",
        note = "a `#[concurrent_map]` map owns its records and shares them between threads: use \
                owned, thread-safe types (e.g. `String` for `&str`, `Arc` for `Rc`, `Mutex` for \
                `RefCell`)"
    )]
    pub trait RecordParam: sealed::Sealed + Send + Sync + 'static {}
    impl<T: Send + Sync + 'static> RecordParam for T {}

    /// What the map needs of the `#[key]` field's type (the engine's `Record::Key` bounds).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a mapsafe key: the `#[key]` field must be \
                   `Hash + Eq + Clone + Debug + Send + Sync + 'static`",
        label = "this key type is missing a trait the map needs",
        note = "derive them: `#[derive(Clone, Debug, PartialEq, Eq, Hash)]`; `Debug` is how \
                `verify_consistency` names a broken key"
    )]
    pub trait RecordKey:
        sealed::Sealed + Hash + Eq + Clone + Debug + Send + Sync + 'static
    {
    }
    impl<T: Hash + Eq + Clone + Debug + Send + Sync + 'static> RecordKey for T {}

    /// The `hasher = ...` type must build hashers, be constructible and cloneable, and be
    /// shared by the threads that share the map.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be the hasher of a mapsafe map: it must be \
                   `BuildHasher + Default + Clone + Send + Sync`",
        label = "given in `hasher = ...`",
        note = "use e.g. `std::hash::RandomState` or \
                `std::hash::BuildHasherDefault<YourHasher>`"
    )]
    pub trait MapHasher: sealed::Sealed {}
    impl<T: BuildHasher + Default + Clone> MapHasher for T {}

    // `Send` and `Sync` are checked apart from `MapHasher`: for a hasher that holds, say, an
    // `Rc`, rustc would report the `Rc` instead of `MapHasher`'s message. The probe below picks
    // `thread_safety` at compile time (by autoref: the first impl wins where its bound holds)
    // and the answer's type carries the message.

    /// Asks whether `T` is `Send + Sync`: `(&HasherProbe::<T>::NEW).thread_safety()`.
    #[allow(missing_debug_implementations)]
    pub struct HasherProbe<T: ?Sized>(
        core::marker::PhantomData<fn() -> core::marker::PhantomData<T>>,
    );
    impl<T: ?Sized> HasherProbe<T> {
        /// The probe.
        pub const NEW: Self = HasherProbe(core::marker::PhantomData);
    }
    /// The probe's answer for a `Send + Sync` hasher.
    #[derive(Debug)]
    pub struct HasherIsThreadSafe;
    /// The probe's answer for any other hasher.
    #[derive(Debug)]
    pub struct HasherIsNotThreadSafe;
    /// Chosen where `T: Send + Sync`.
    pub trait ThreadSafeHasher {
        /// The answer.
        fn thread_safety(&self) -> HasherIsThreadSafe {
            HasherIsThreadSafe
        }
    }
    impl<T: ?Sized + Send + Sync> ThreadSafeHasher for HasherProbe<T> {}
    /// Chosen otherwise (one autoref further).
    pub trait NotThreadSafeHasher {
        /// The answer.
        fn thread_safety(&self) -> HasherIsNotThreadSafe {
            HasherIsNotThreadSafe
        }
    }
    impl<T: ?Sized> NotThreadSafeHasher for &HasherProbe<T> {}
    /// The probe's answer must be yes.
    #[diagnostic::on_unimplemented(
        message = "the hasher of a mapsafe map must be `Send + Sync`",
        label = "this hasher is not `Send + Sync`",
        note = "every thread that uses the map hashes with it: hold its state in thread-safe \
                types (e.g. `Arc` instead of `Rc`, an atomic instead of `Cell`), or use \
                `std::hash::RandomState`"
    )]
    pub trait HasherSendSync {}
    impl HasherSendSync for HasherIsThreadSafe {}
    /// Compiles only if the probe said `Send + Sync`.
    pub fn assert_hasher_send_sync<A: HasherSendSync>(_: A) {}

    /// The `consistency_test = ...` function must build a record from `(key, nonce)`.
    #[diagnostic::on_unimplemented(
        message = "`consistency_test` must name a `fn(key: u64, nonce: u64) -> {R}`",
        label = "expected a `fn(u64, u64) -> {R}`, found `{Self}`",
        note = "the checker calls it as `make(key, nonce)`: a record whose key is derived from \
                `key` and whose other fields differ for different `nonce`"
    )]
    pub trait MakeRecord<R>: sealed::Sealed {}
    impl<R, F: Fn(u64, u64) -> R> MakeRecord<R> for F {}

    /// Compiles only if `T` is `Send`.
    pub const fn assert_field_send<T: ?Sized + FieldIsSend>() {}
    /// Compiles only if `T` is `Sync`.
    pub const fn assert_field_sync<T: ?Sized + FieldIsSync>() {}
    /// Compiles only if `T` is `Sized`.
    pub const fn assert_field_sized<T: ?Sized + FieldIsSized>() {}
    /// Compiles only if `T` can be a key.
    pub const fn assert_key<T: KeyType>() {}
    /// Compiles only if `T` can be a hasher.
    pub const fn assert_hasher<T: MapHasher>() {}
    /// The checker compares and prints records.
    #[diagnostic::on_unimplemented(
        message = "`consistency_test` needs `{Self}: Clone + PartialEq + Debug`",
        label = "the consistency checker clones, compares and prints `{Self}` records",
        note = "derive them on the record: `#[derive(Clone, Debug, PartialEq)]`"
    )]
    pub trait CheckableRecord: sealed::Sealed {}
    impl<T: Clone + PartialEq + Debug> CheckableRecord for T {}

    /// Compiles only if the checker can handle records `R`.
    pub const fn assert_checkable_record<R: CheckableRecord>() {}
    /// Compiles only if `f` can be a `consistency_test` function for records `R`.
    pub const fn assert_make_record<R, F: MakeRecord<R>>(_: &F) {}
}

/// The README's Rust examples, compiled and run as doctests so they cannot go stale.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
