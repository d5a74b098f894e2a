//! mapsafe: typed sharded concurrent maps that are safe by construction.
#![forbid(unsafe_code)]

pub use mapsafe_core::*;
