//! What the engine stores: records that carry their own key, and the versioning mode.

use core::fmt::Debug;
use core::hash::Hash;

/// A value that can live in a [`ShardedMap`](crate::ShardedMap): it carries its own key, and it
/// can hand out a mutable view that cannot reach that key.
///
/// `#[concurrent_map]` implements this for the annotated struct (the view is the generated
/// `{Struct}Mut`). The engine implements it for `(K, V)` pairs, keyed by `.0`, with `&mut V` as
/// the view, so the engine can be used directly and in tests.
///
/// # Example
///
/// ```
/// use mapsafe_core::Record;
///
/// let mut pair = (7_u64, "seven".to_string());
/// assert_eq!(*pair.key(), 7);
/// pair.as_mut().push('!');
/// assert_eq!(pair.1, "seven!");
/// ```
pub trait Record: Send + Sync + 'static {
    /// The key the record is filed under.
    type Key: Hash + Eq + Clone + Debug + Send + Sync + 'static;

    /// What an `update` closure receives: mutable access to everything but the key.
    type Mut<'a>
    where
        Self: 'a;

    /// The record's key.
    fn key(&self) -> &Self::Key;

    /// A mutable view of every field except the key.
    fn as_mut(&mut self) -> Self::Mut<'_>;
}

impl<K, V> Record for (K, V)
where
    K: Hash + Eq + Clone + Debug + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    type Key = K;
    type Mut<'a> = &'a mut V;

    #[inline]
    fn key(&self) -> &K {
        &self.0
    }

    #[inline]
    fn as_mut(&mut self) -> &mut V {
        &mut self.1
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Plain {}
    impl Sealed for super::VersionedMode {}
    impl Sealed for super::UnprobedPlain {}
    impl Sealed for super::UnprobedVersioned {}
}

/// Whether a map is versioned (stamps its writes with revisions) or plain. Sealed: the two
/// modes are [`Plain`] and [`VersionedMode`].
pub trait Mode: sealed::Sealed + Send + Sync + 'static {
    /// What each entry stores about its last write: nothing, or its revision.
    type Revision: Copy + Send + Sync + Debug + PartialEq + 'static;
    /// `true` for [`VersionedMode`].
    const VERSIONED: bool;
    /// Whether the map counts its probes (`stats()`); off only in the benchmark-only modes
    /// that measure what the probes cost.
    #[doc(hidden)]
    const PROBED: bool = true;
    /// The stored form of a revision (nothing for [`Plain`]).
    fn revision(revision: u64) -> Self::Revision;
    /// The revision a stored form carries (0 for [`Plain`]).
    fn number(revision: Self::Revision) -> u64;
}

/// The mode of a plain map: writes carry no revision and touch no shared counter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

/// The mode of a versioned map: every write takes the next value of one map-wide revision
/// counter.
#[derive(Debug, Clone, Copy, Default)]
pub struct VersionedMode;

/// The two stored forms of a revision: nothing (plain) or the number (versioned).
macro_rules! mode {
    ($mode:ty, plain, probed: $probed:expr) => {
        impl Mode for $mode {
            type Revision = ();
            const VERSIONED: bool = false;
            const PROBED: bool = $probed;
            #[inline(always)]
            fn revision(_: u64) {}
            #[inline(always)]
            fn number(_: ()) -> u64 {
                0
            }
        }
    };
    ($mode:ty, versioned, probed: $probed:expr) => {
        impl Mode for $mode {
            type Revision = u64;
            const VERSIONED: bool = true;
            const PROBED: bool = $probed;
            #[inline(always)]
            fn revision(revision: u64) -> u64 {
                revision
            }
            #[inline(always)]
            fn number(revision: u64) -> u64 {
                revision
            }
        }
    };
}

mode!(Plain, plain, probed: true);
mode!(VersionedMode, versioned, probed: true);
mode!(UnprobedPlain, plain, probed: false);
mode!(UnprobedVersioned, versioned, probed: false);

/// [`Plain`] with the probes compiled out: for measuring what they cost, side by side in one
/// benchmark. Not for users (`stats()` reads zeros).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct UnprobedPlain;

/// [`VersionedMode`] with the probes compiled out, as [`UnprobedPlain`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct UnprobedVersioned;
