//! The `serde` feature: maps and snapshots round-trip through JSON as a sequence of records.
//! `cargo test -p mapsafe-core --features serde --test serde`.
#![cfg(feature = "serde")]

use std::collections::BTreeMap;
use std::hash::RandomState;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use mapsafe_core::{Plain, ShardedMap, VersionedMode};
use serde::de::DeserializeSeed;

type Plain64 = ShardedMap<(u64, u64)>;
type Versioned64 = ShardedMap<(u64, u64), VersionedMode>;

/// The records of `json` (a sequence of `[key, value]`), keyed, to compare without order.
fn records_of(json: &str) -> BTreeMap<u64, u64> {
    let records: Vec<(u64, u64)> = serde_json::from_str(json).unwrap();
    let n = records.len();
    let keyed: BTreeMap<u64, u64> = records.into_iter().collect();
    assert_eq!(keyed.len(), n, "a key was written twice: {json}");
    keyed
}

#[test]
fn plain_map_round_trips_through_json() {
    let map: Plain64 = (0..1000).map(|i| (i, i * 3)).collect();
    let json = serde_json::to_string(&map).unwrap();
    assert_eq!(records_of(&json), (0..1000).map(|i| (i, i * 3)).collect());

    let back: Plain64 = serde_json::from_str(&json).unwrap();
    assert_eq!(back.snapshot(), map.snapshot());
}

#[test]
fn versioned_map_round_trips_with_fresh_revisions() {
    let map = Versioned64::new();
    for i in 0..100 {
        let _ = map.insert((i, i));
    }
    // Rewrite some records so the source's revisions are not simply 1..=100.
    for i in 0..50 {
        let _ = map.insert((i, i + 1000));
    }
    assert_eq!(map.version(), 150);
    let json = serde_json::to_string(&map).unwrap();

    let back: Versioned64 = serde_json::from_str(&json).unwrap();
    let expected: BTreeMap<u64, u64> = (0..100)
        .map(|i| (i, if i < 50 { i + 1000 } else { i }))
        .collect();
    let snapshot = back.snapshot();
    assert_eq!(
        snapshot.iter().copied().collect::<BTreeMap<u64, u64>>(),
        expected
    );
    // One write per record, in input order: revisions 1..=100, each used once.
    assert_eq!(back.version(), 100);
    let mut revisions: Vec<u64> = snapshot.iter_versioned().map(|v| v.version).collect();
    revisions.sort_unstable();
    assert_eq!(revisions, (1..=100).collect::<Vec<_>>());
}

#[test]
fn string_keyed_map_round_trips_and_is_looked_up_by_str() {
    let map: ShardedMap<(String, Vec<u32>)> = ShardedMap::new();
    let _ = map.insert(("pears".to_string(), vec![1, 2]));
    let _ = map.insert(("plums \"ripe\"".to_string(), vec![]));
    let json = serde_json::to_string(&map).unwrap();

    let back: ShardedMap<(String, Vec<u32>)> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back.get("pears"), Some(("pears".to_string(), vec![1, 2])));
    assert_eq!(back.read("plums \"ripe\"", |(_, v)| v.len()), Some(0));
    assert_eq!(back.snapshot(), map.snapshot());
}

#[test]
fn snapshot_serializes_as_the_map_does() {
    let map: Plain64 = (0..64).map(|i| (i, i)).collect();
    let snapshot = map.snapshot();
    map.clear();
    let json = serde_json::to_string(&snapshot).unwrap();
    assert_eq!(records_of(&json), (0..64).map(|i| (i, i)).collect());
    assert_eq!(serde_json::to_string(&map).unwrap(), "[]");
}

#[test]
fn a_key_seen_twice_is_an_error_naming_it() {
    let err = serde_json::from_str::<ShardedMap<(String, u32)>>(
        r#"[["pears", 1], ["plums", 2], ["pears", 3]]"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "duplicate key \"pears\" in the records: each key may appear once; remove or merge the \
         repeated records at line 1 column 42"
    );

    let err = serde_json::from_str::<Versioned64>("[[7, 1], [7, 1]]").unwrap_err();
    assert!(err.to_string().starts_with("duplicate key 7 "), "{err}");
}

#[test]
fn deserializing_into_a_map_keeps_its_shards_and_hasher() {
    let map: ShardedMap<(u64, u64), Plain, RandomState> =
        ShardedMap::with_shards_capacity_and_hasher(4, 0, RandomState::new());
    let _ = map.insert((0, 0));
    let mut json = serde_json::Deserializer::from_str("[[1, 10], [2, 20]]");
    (&map).deserialize(&mut json).unwrap();
    assert_eq!(map.shard_count(), 4);
    assert_eq!(map.get(&2), Some((2, 20)));
    assert_eq!(map.len(), 3);

    // A key the map held before the input counts as seen.
    let mut json = serde_json::Deserializer::from_str("[[3, 30], [0, 1]]");
    let err = (&map).deserialize(&mut json).unwrap_err();
    assert!(err.to_string().starts_with("duplicate key 0 "), "{err}");
    assert_eq!(map.get(&3), Some((3, 30)), "records before the error stay");
}

#[test]
fn input_that_is_not_a_sequence_says_what_is_expected() {
    let err = serde_json::from_str::<Plain64>(r#"{"1": 2}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected a sequence of records, each with a different key"),
        "{err}"
    );
}

/// One writer inserts keys 0, 1, 2, ... in order, so at every instant the map holds exactly the
/// keys below some `n`. A serialization that walked the shards without one point in time could
/// catch a later key in one shard after missing an earlier key in another. No randomness: the
/// schedule is the only thing that varies between runs.
#[test]
fn serializing_under_a_writer_takes_one_point_in_time() {
    const KEYS: u64 = 200_000;
    let map = Plain64::with_shards(64);
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..KEYS {
                let _ = map.insert((i, i));
            }
            done.store(true, Ordering::Release);
        });
        let mut checked = 0;
        while !done.load(Ordering::Acquire) || checked == 0 {
            let json = serde_json::to_string(&map).unwrap();
            let records = records_of(&json);
            let n = records.len() as u64;
            assert!(
                records.keys().copied().eq(0..n),
                "serialized {n} records that are not the keys 0..{n}"
            );
            checked += 1;
        }
        println!("checked {checked} serializations");
    });
}

#[test]
fn stats_serialize_with_their_field_names() {
    let map: mapsafe_core::ShardedMap<(u64, u64)> = mapsafe_core::ShardedMap::with_shards(2);
    let _ = map.insert((1, 1));
    let _ = map.insert((1, 2));
    let json = serde_json::to_value(map.stats()).unwrap();
    assert_eq!(json["len"], 1);
    assert_eq!(json["inserts"], 2);
    assert_eq!(json["shards"], 2);
    assert_eq!(json["violations_by_kind"], serde_json::json!({}));
}
