//! Result and view types returned by map operations.

use core::fmt;

/// The outcome of `load_or_store`: either the key was present and nothing was stored, or the
/// offered record was stored.
///
/// Ignoring it is a bug (the classic lost update of get-or-insert), so it is `#[must_use]`.
///
/// # Example
///
/// ```
/// use mapsafe_core::{LoadOrStore, ShardedMap};
///
/// let map: ShardedMap<(u32, &str)> = ShardedMap::new();
/// assert!(map.load_or_store((1, "first")).is_stored());
/// match map.load_or_store((1, "second")) {
///     LoadOrStore::Loaded { current, offered } => {
///         assert_eq!(current, (1, "first"));
///         assert_eq!(offered, (1, "second"));
///     }
///     LoadOrStore::Stored => unreachable!(),
/// }
/// ```
#[must_use = "the key may already be present: `Loaded` hands back the stored record and your unstored one"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOrStore<V> {
    /// The key was present. `current` is the stored record; `offered` is handed back unstored.
    Loaded {
        /// The record the map holds.
        current: V,
        /// The record that was offered and not stored.
        offered: V,
    },
    /// The key was absent; the offered record is now stored.
    Stored,
}

impl<V> LoadOrStore<V> {
    /// `true` when the key was present and nothing was stored.
    #[must_use]
    pub fn is_loaded(&self) -> bool {
        matches!(self, LoadOrStore::Loaded { .. })
    }

    /// `true` when the offered record was stored.
    #[must_use]
    pub fn is_stored(&self) -> bool {
        matches!(self, LoadOrStore::Stored)
    }
}

/// A record together with the revision of its last write, from `get_versioned`.
///
/// # Example
///
/// ```
/// use mapsafe_core::{VersionedMode, ShardedMap, Versioned};
///
/// let map: ShardedMap<(u32, &str), VersionedMode> = ShardedMap::new();
/// let _ = map.insert((1, "a"));
/// assert_eq!(map.get_versioned(&1), Some(Versioned { version: 1, value: (1, "a") }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Versioned<V> {
    /// The revision of the write that produced `value`.
    pub version: u64,
    /// The record.
    pub value: V,
}

/// A failed `compare_and_swap`: the key's revision was not the expected one. The offered record
/// is handed back unstored, so nothing is lost; re-read and retry.
///
/// # Example
///
/// ```
/// use mapsafe_core::{Conflict, VersionedMode, ShardedMap};
///
/// let map: ShardedMap<(u32, &str), VersionedMode> = ShardedMap::new();
/// let rev = map.compare_and_swap(0, (1, "a")).unwrap();
/// let err = map.compare_and_swap(0, (1, "b")).unwrap_err();
/// assert_eq!(err, Conflict { actual: rev, offered: (1, "b") });
/// ```
#[must_use = "a conflict hands back the record that was not stored"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict<V> {
    /// The key's revision at the time of the attempt; 0 when the key was absent.
    pub actual: u64,
    /// The record that was offered and not stored.
    pub offered: V,
}

impl<V> fmt::Display for Conflict<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.actual == 0 {
            write!(
                f,
                "compare_and_swap conflict: the key is absent; re-read and retry"
            )
        } else {
            write!(
                f,
                "compare_and_swap conflict: the key is at revision {}; re-read and retry",
                self.actual
            )
        }
    }
}

impl<V: fmt::Debug> std::error::Error for Conflict<V> {}
