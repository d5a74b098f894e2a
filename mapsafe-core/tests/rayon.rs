//! The `rayon` feature: snapshots iterated in parallel, maps collected and extended from
//! parallel iterators. `cargo test -p mapsafe-core --features rayon --test rayon`.
#![cfg(feature = "rayon")]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use mapsafe_core::{ShardedMap, VersionedMode};
use rayon::prelude::*;

type Plain64 = ShardedMap<(u64, u64)>;

const N: u64 = 100_000;

#[test]
fn parallel_collect_of_100k_records_holds_each_one() {
    let map: Plain64 = (0..N).into_par_iter().map(|i| (i, i * 2)).collect();
    assert_eq!(map.len(), N as usize);
    assert!((0..N).all(|i| map.get(&i) == Some((i, i * 2))));
    map.verify_consistency().unwrap();
}

#[test]
fn parallel_sum_over_a_snapshot_equals_the_sequential_sum() {
    let map: Plain64 = (0..N).map(|i| (i, i.wrapping_mul(0x9e37_79b9))).collect();
    let snapshot = map.snapshot();
    let sequential: u64 = snapshot.iter().map(|&(_, v)| v).sum();
    let by_ref: u64 = snapshot.par_iter().map(|&(_, v)| v).sum();
    assert_eq!(by_ref, sequential);
    let by_value: u64 = snapshot.into_par_iter().map(|(_, v)| v).sum();
    assert_eq!(by_value, sequential);
}

#[test]
fn parallel_iteration_yields_every_record_once() {
    let map: ShardedMap<(u64, String)> = (0..10_000).map(|i| (i, i.to_string())).collect();
    let snapshot = map.snapshot();
    assert_eq!(snapshot.par_iter().opt_len(), Some(10_000));

    let mut by_ref: Vec<u64> = snapshot.par_iter().map(|(k, _)| *k).collect();
    by_ref.sort_unstable();
    assert_eq!(by_ref, (0..10_000).collect::<Vec<_>>());

    let mut by_value: Vec<(u64, String)> = snapshot.clone().into_par_iter().collect();
    by_value.sort_unstable();
    assert!(
        by_value
            .iter()
            .enumerate()
            .all(|(i, (k, v))| *k == i as u64 && *v == i.to_string())
    );
    assert_eq!(by_value.len(), 10_000);
}

#[test]
fn parallel_extend_through_an_arc_keeps_one_record_per_key() {
    let map = Arc::new(Plain64::new());
    let _ = map.insert((0, u64::MAX));
    // Every key 0..1000 offered ten times, with ten different values.
    let mut shared = &*map;
    shared.par_extend((0..10 * 1000).into_par_iter().map(|i| (i % 1000, i)));
    assert_eq!(map.len(), 1000);
    for key in 0..1000 {
        let (_, value) = map.get(&key).unwrap();
        assert_eq!(
            value % 1000,
            key,
            "key {key} holds a value offered for another key"
        );
    }

    let mut owned = Plain64::new();
    owned.par_extend((0..N).into_par_iter().map(|i| (i, i)));
    assert_eq!(owned.len(), N as usize);
}

#[test]
fn parallel_collect_into_a_versioned_map_stamps_each_write_once() {
    let map: ShardedMap<(u64, u64), VersionedMode> =
        (0..10_000).into_par_iter().map(|i| (i, i)).collect();
    assert_eq!(map.version(), 10_000);
    let mut revisions: Vec<u64> = map.snapshot().iter_versioned().map(|v| v.version).collect();
    revisions.sort_unstable();
    assert_eq!(revisions, (1..=10_000).collect::<Vec<_>>());
}

/// Extending a map from inside one of its closures must panic on the calling thread: the
/// inserts would run on rayon's threads and wait forever for the lock the closure holds. Run
/// under a deadline so a regression fails instead of hanging.
#[test]
fn parallel_extend_from_inside_a_closure_panics_instead_of_deadlocking() {
    let map = Arc::new(Plain64::new());
    let _ = map.insert((1, 1));
    let (tx, rx) = mpsc::channel();
    let inner = Arc::clone(&map);
    thread::spawn(move || {
        let result = catch_unwind(AssertUnwindSafe(|| {
            inner.update(&1, |_| {
                let mut shared = &*inner;
                shared.par_extend((10..20_u64).into_par_iter().map(|i| (i, i)));
            })
        }));
        let message = result.err().and_then(|e| e.downcast::<String>().ok());
        let _ = tx.send(message);
    });
    let message = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("par_extend inside update deadlocked instead of panicking");
    let message = message.expect("par_extend inside update did not panic");
    assert!(
        message.contains("`par_extend` was called on a map from inside `update`"),
        "{message}"
    );
    // The map is untouched and usable afterwards.
    assert_eq!(map.len(), 1);
    let mut shared = &*map;
    shared.par_extend((10..20_u64).into_par_iter().map(|i| (i, i)));
    assert_eq!(map.len(), 11);
}
