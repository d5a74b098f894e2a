//! The records every bench stores: a `u64` key and a `u64` value, in the maps
//! `#[concurrent_map]` generates, exactly as a user would declare them.

use mapsafe::concurrent_map;

/// A record of the plain map `EntryMap`.
#[concurrent_map]
#[derive(Clone, Debug)]
pub struct Entry {
    #[key]
    pub k: u64,
    pub v: u64,
}

/// The same record, in the versioned map `VersionedEntryMap`.
#[concurrent_map(versioned)]
#[derive(Clone, Debug)]
pub struct VersionedEntry {
    #[key]
    pub k: u64,
    pub v: u64,
}
