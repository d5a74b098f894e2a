//! The `metrics` integration publishes each probe under its documented name and labels.
#![cfg(feature = "metrics")]

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};

use mapsafe_core::{ShardedMap, VersionedMode};

fn value<'s>(
    snapshot: &'s [(
        CompositeKey,
        Option<metrics::Unit>,
        Option<metrics::SharedString>,
        DebugValue,
    )],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'s DebugValue> {
    snapshot.iter().find_map(|(key, _, _, value)| {
        let k = key.key();
        let matches = k.name() == name
            && labels.iter().all(|(l, v)| {
                k.labels()
                    .any(|label| label.key() == *l && label.value() == *v)
            });
        matches.then_some(value)
    })
}

#[test]
fn probes_are_published_with_their_names_and_map_label() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let map: ShardedMap<(u64, u64), VersionedMode> = ShardedMap::with_shards(4);
    let rev = map.compare_and_swap(0, (1, 1)).unwrap();
    assert!(map.compare_and_swap(rev + 1, (1, 2)).is_err());
    let _ = map.insert((2, 2));
    let _ = map.remove(&2);
    metrics::with_local_recorder(&recorder, || map.stats().publish_metrics("orders"));
    let snapshot = snapshotter.snapshot().into_vec();
    let counter = |name: &str, labels: &[(&str, &str)]| match value(&snapshot, name, labels) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name} {labels:?}: {other:?}"),
    };
    let m = ("map", "orders");
    assert_eq!(counter("mapsafe_writes_total", &[m, ("kind", "insert")]), 2);
    assert_eq!(counter("mapsafe_writes_total", &[m, ("kind", "remove")]), 1);
    assert_eq!(
        counter("mapsafe_compare_total", &[m, ("outcome", "success")]),
        1
    );
    assert_eq!(
        counter("mapsafe_compare_total", &[m, ("outcome", "conflict")]),
        1
    );
    assert_eq!(counter("mapsafe_verification_failures_total", &[m]), 0);
    match value(&snapshot, "mapsafe_records", &[m]) {
        Some(DebugValue::Gauge(g)) => assert_eq!(g.into_inner(), 1.0),
        other => panic!("mapsafe_records: {other:?}"),
    }
    assert!(
        snapshot
            .iter()
            .all(|(key, ..)| key.key().name().starts_with("mapsafe_")
                && matches!(key.kind(), MetricKind::Counter | MetricKind::Gauge))
    );
}
