//! The checker against the real engine: no false alarm over many seeds, in both modes.

use std::time::Instant;

use mapsafe_core::check::{Checker, Config};
use mapsafe_core::{Plain, ShardedMap, VersionedMode};

fn make(key: u64, nonce: u64) -> (u64, u64) {
    (key, nonce)
}

fn bump(value: &mut u64, nonce: u64) {
    *value = value.rotate_left(7) ^ nonce;
}

fn seeds() -> usize {
    std::env::var("MAPSAFE_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

#[test]
fn real_engine_passes_many_seeds_plain() {
    let checker = Checker::new(make)
        .updater(bump)
        .name("ShardedMap<(u64, u64)>");
    let start = Instant::now();
    let report = checker
        .run_seeds(|| ShardedMap::<(u64, u64), Plain>::with_shards(8), seeds())
        .unwrap_or_else(|failure| panic!("{failure}"));
    println!("plain: {report} in {:?}", start.elapsed());
}

#[test]
fn real_engine_passes_many_seeds_versioned() {
    let checker = Checker::new(make)
        .updater(bump)
        .name("ShardedMap<(u64, u64), VersionedMode>");
    let start = Instant::now();
    let report = checker
        .run_seeds(
            || ShardedMap::<(u64, u64), VersionedMode>::with_shards(8),
            seeds(),
        )
        .unwrap_or_else(|failure| panic!("{failure}"));
    println!("versioned: {report} in {:?}", start.elapsed());
}

#[test]
fn real_engine_passes_without_an_updater() {
    let checker = Checker::new(make).config(Config::new().seed(99));
    let report = checker
        .run_seeds(
            || ShardedMap::<(u64, u64), VersionedMode>::with_shards(2),
            20,
        )
        .unwrap_or_else(|failure| panic!("{failure}"));
    println!("{report}");
}
