//! What the maps `#[concurrent_map]` generates call at run time, so that the expansion stays a
//! thin typed shell: anything written here is written once, not once per record type.
//!
//! Not a public API: the facade re-exports it under its hidden `__private` module.

use core::fmt::{self, Debug, Formatter, Write};

use crate::{Mode, Record, ShardedMap};
// The engine's mode of a versioned map: the one line to follow if it is renamed.
use crate::VersionedMode;

/// The mode of a versioned map, and the way from a map of that mode to the engine's versioned
/// methods. Every generated map has the versioned methods (`version`, `get_versioned`,
/// `compare_and_swap`, ...) behind a bound on this trait, so that calling one on a plain map says
/// what to change instead of "no method named ...". Implemented for the versioned mode only,
/// and only here.
#[diagnostic::on_unimplemented(
    message = "this method exists only on versioned maps: add `versioned` to \
               `#[concurrent_map(...)]`",
    label = "called on a plain map",
    note = "a plain map stamps no revisions, so it has none of `version`, `get_versioned`, \
            `compare_and_swap`, `compare_and_remove`; `#[concurrent_map(versioned)]` adds them"
)]
pub trait VersionedOnly: Mode + Sized + sealed::Sealed {
    /// The same map, typed as the versioned engine it is.
    fn versioned<R: Record, S>(map: &ShardedMap<R, Self, S>) -> &ShardedMap<R, VersionedMode, S>;
}

impl VersionedOnly for VersionedMode {
    #[inline(always)]
    fn versioned<R: Record, S>(map: &ShardedMap<R, Self, S>) -> &ShardedMap<R, Self, S> {
        map
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::VersionedMode {}
}

/// Formats `engine` with its own `Debug`, under the name `name`: a generated map shows what the
/// engine shows (its size, shard count and, versioned, its revision), named as the user knows it.
///
/// # Example
///
/// ```
/// use core::fmt;
///
/// use mapsafe_core::ShardedMap;
/// use mapsafe_core::generated::fmt_named;
///
/// struct Named(ShardedMap<(u8, u8)>);
/// impl fmt::Debug for Named {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         fmt_named("PairMap", &self.0, f)
///     }
/// }
/// let map = Named(ShardedMap::with_shards(4));
/// assert_eq!(format!("{map:?}"), "PairMap { len: 0, shards: 4, .. }");
/// ```
pub fn fmt_named(name: &str, engine: &impl Debug, f: &mut Formatter<'_>) -> fmt::Result {
    let mut renamed = Renamed {
        out: f,
        name,
        named: false,
    };
    if renamed.out.alternate() {
        write!(renamed, "{engine:#?}")
    } else {
        write!(renamed, "{engine:?}")
    }
}

/// Passes text through, except that the leading type name becomes `name`.
struct Renamed<'f, 'o, 'n> {
    out: &'f mut Formatter<'o>,
    name: &'n str,
    /// Whether the leading type name has been replaced yet.
    named: bool,
}

impl Write for Renamed<'_, '_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if self.named {
            return self.out.write_str(text);
        }
        // A type name may come in several pieces; everything up to the first character that
        // cannot be part of a path is the name.
        match text.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
            None => Ok(()),
            Some(end) => {
                self.named = true;
                self.out.write_str(self.name)?;
                self.out.write_str(&text[end..])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value whose `Debug` writes its name in pieces, as a hand-written `Debug` may.
    struct Pieces;
    impl Debug for Pieces {
        fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
            f.write_str("Sharded")?;
            f.write_str("Map")?;
            f.debug_struct("").field("len", &3).finish()
        }
    }

    struct Named<T>(&'static str, T);
    impl<T: Debug> Debug for Named<T> {
        fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
            fmt_named(self.0, &self.1, f)
        }
    }

    #[test]
    fn the_engines_fields_are_kept_under_the_new_name() {
        let map = crate::ShardedMap::<(u8, u8), crate::VersionedMode>::with_shards(2);
        let _ = map.insert((1, 1));
        assert_eq!(
            format!("{:?}", Named("OrderMap", &map)),
            "OrderMap { len: 1, shards: 2, version: 1, .. }"
        );
        assert_eq!(
            format!("{:#?}", Named("OrderMap", &map)),
            "OrderMap {\n    len: 1,\n    shards: 2,\n    version: 1,\n    ..\n}"
        );
    }

    #[test]
    fn a_versioned_map_reaches_its_versioned_methods() {
        let map = crate::ShardedMap::<(u8, u8), VersionedMode>::with_shards(2);
        let _ = map.insert((1, 1));
        assert_eq!(VersionedMode::versioned(&map).version(), 1);
    }

    #[test]
    fn a_name_written_in_pieces_is_replaced_whole() {
        assert_eq!(
            format!("{:?}", Named("Orders", Pieces)),
            "Orders { len: 3 }"
        );
    }
}
