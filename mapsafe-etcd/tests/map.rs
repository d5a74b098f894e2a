//! `EtcdMap`'s methods against a real single-member etcd, each with the meaning the in-process
//! versioned map gives it.

mod support;

use mapsafe_etcd::local::LocalCluster;
use mapsafe_etcd::{Change, Conflict, EtcdError, EtcdMap, LoadOrStore, Versioned};
use support::{Order, connect, order, within};

#[test]
fn single_key_methods_mean_what_they_mean_in_process() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(60, move || {
        let map = connect(&cluster, "orders/");
        let start = map.version().unwrap();
        assert!(start >= 1, "a fresh etcd is at revision 1");
        assert_eq!(map.len().unwrap(), 0);
        assert_eq!(map.get(&1).unwrap(), None);

        assert_eq!(map.insert(order(1, "placed", 1)).unwrap(), None);
        let seen = map.get_versioned(&1).unwrap().unwrap();
        assert_eq!(seen.value, order(1, "placed", 1));
        assert_eq!(seen.version, start + 1, "one write, one revision");
        assert_eq!(map.version().unwrap(), seen.version);
        assert!(map.contains_key(&1).unwrap());
        assert!(!map.contains_key(&2).unwrap());

        assert_eq!(
            map.insert(order(1, "paid", 1)).unwrap(),
            Some(order(1, "placed", 1)),
            "insert returns the record it replaced"
        );

        match map.load_or_store(order(1, "other", 9)).unwrap() {
            LoadOrStore::Loaded { current, offered } => {
                assert_eq!(current, order(1, "paid", 1));
                assert_eq!(offered, order(1, "other", 9));
            }
            LoadOrStore::Stored => panic!("key 1 is present"),
        }
        let before = map.version().unwrap();
        assert!(
            map.load_or_store(order(2, "placed", 5))
                .unwrap()
                .is_stored()
        );
        assert_eq!(map.version().unwrap(), before + 1);

        let doubled = map.update(&2, |o| {
            *o.qty *= 2;
            *o.qty
        });
        assert_eq!(doubled.unwrap(), Some(10));
        assert_eq!(map.get(&2).unwrap().unwrap().qty, 10);
        assert_eq!(map.update(&99, |o| *o.qty += 1).unwrap(), None, "absent");

        assert_eq!(map.remove(&2).unwrap(), Some(order(2, "placed", 10)));
        assert_eq!(map.remove(&2).unwrap(), None);
        assert_eq!(map.len().unwrap(), 1);
    });
}

#[test]
fn concurrent_updates_retry_on_conflict_and_lose_no_increment() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(110, move || {
        let map = connect(&cluster, "counter/");
        let _ = map.insert(order(1, "counter", 0)).unwrap();
        let runs = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                let (map, runs) = (&map, &runs);
                s.spawn(move || {
                    for _ in 0..25 {
                        let bumped = map.update(&1, |o| {
                            runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            *o.qty += 1;
                        });
                        assert_eq!(bumped.unwrap(), Some(()));
                    }
                });
            }
        });
        assert_eq!(
            map.get(&1).unwrap().unwrap().qty,
            100,
            "an increment was lost"
        );
        let runs = runs.into_inner();
        println!("100 updates ran their closure {runs} times");
        assert!(runs >= 100);
    });
}

#[test]
fn an_update_that_always_meets_a_conflict_gives_up_with_conflict_exhausted() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(60, move || {
        let map = connect(&cluster, "contended/").with_attempts(3);
        let rival = connect(&cluster, "contended/");
        let _ = map.insert(order(1, "placed", 0)).unwrap();
        let mut runs = 0;
        // Another client writes the key between every read and write of this update.
        let err = map
            .update(&1, |o| {
                runs += 1;
                *o.qty += 1;
                let _ = rival.insert(order(1, "rival", -runs)).unwrap();
            })
            .unwrap_err();
        assert_eq!(
            err,
            EtcdError::ConflictExhausted {
                operation: "update",
                attempts: 3
            }
        );
        assert_eq!(runs, 3, "one closure run per attempt");
        assert_eq!(
            map.get(&1).unwrap(),
            Some(order(1, "rival", -3)),
            "no update landed"
        );
    });
}

#[test]
fn compare_and_swap_refuses_a_stale_revision_and_hands_the_record_back() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(60, move || {
        let map = connect(&cluster, "cas/");
        let first = map
            .compare_and_swap(0, order(7, "placed", 1))
            .unwrap()
            .unwrap();
        let refused = map.compare_and_swap(0, order(7, "again", 1)).unwrap();
        assert_eq!(
            refused,
            Err(Conflict {
                actual: first,
                offered: order(7, "again", 1)
            })
        );
        let second = map
            .compare_and_swap(first, order(7, "paid", 1))
            .unwrap()
            .unwrap();
        assert!(second > first);
        let stale = map.compare_and_swap(first, order(7, "lost", 1)).unwrap();
        assert_eq!(stale.unwrap_err().actual, second);

        assert_eq!(map.compare_and_remove(first, &7).unwrap(), Err(second));
        assert_eq!(map.compare_and_remove(0, &7).unwrap(), Err(second));
        let removed = map.compare_and_remove(second, &7).unwrap().unwrap();
        assert_eq!(removed.value, order(7, "paid", 1));
        assert!(removed.version > second, "the removal has its own revision");
        assert_eq!(map.compare_and_remove(second, &7).unwrap(), Err(0));
        assert_eq!(
            map.compare_and_swap(5, order(8, "x", 0))
                .unwrap()
                .unwrap_err()
                .actual,
            0,
            "absent keys are at revision 0"
        );
    });
}

#[test]
fn transaction_commits_every_write_at_one_revision_or_none() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(60, move || {
        let map = connect(&cluster, "stock/");
        let _ = map.insert(order(1, "from", 10)).unwrap();
        let _ = map.insert(order(2, "to", 0)).unwrap();
        let move_five = |map: &EtcdMap<Order>| {
            map.transaction(&[&1, &2], |tx| {
                let have = tx.get(&1).map_or(0, |o| o.qty);
                if have < 5 || !tx.contains_key(&2) {
                    return Err(have);
                }
                let _ = tx.update(&1, |o| *o.qty -= 5);
                let _ = tx.update(&2, |o| *o.qty += 5);
                Ok(tx.version_of(&1))
            })
        };
        let before = map.version().unwrap();
        assert!(move_five(&map).unwrap().is_ok());
        assert!(move_five(&map).unwrap().is_ok());
        assert_eq!(move_five(&map).unwrap(), Err(0), "nothing left to move");
        let a = map.get_versioned(&1).unwrap().unwrap();
        let b = map.get_versioned(&2).unwrap().unwrap();
        assert_eq!((a.value.qty, b.value.qty), (0, 10));
        assert_eq!(
            a.version, b.version,
            "etcd gives one revision per transaction"
        );
        assert_eq!(
            map.version().unwrap(),
            before + 2,
            "the refused one wrote nothing"
        );
    });
}

#[test]
fn transaction_touching_an_undeclared_key_panics_and_writes_nothing() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(60, move || {
        let map = connect(&cluster, "undeclared/");
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            map.transaction(&[&1], |tx| {
                let _ = tx.insert(order(1, "a", 1));
                let _ = tx.insert(order(2, "b", 1));
                Ok::<_, ()>(())
            })
        }));
        let payload = attempt.expect_err("touching key 2 must panic");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains("not among its declared keys"), "{message}");
        assert_eq!(
            map.len().unwrap(),
            0,
            "the declared key's write was not sent either"
        );
    });
}

#[test]
fn snapshots_are_point_in_time_and_read_the_past_until_compaction() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(60, move || {
        let map = connect(&cluster, "snap/");
        for id in 0..5 {
            let _ = map.insert(order(id, "placed", id as i64)).unwrap();
        }
        let then = map.snapshot().unwrap();
        assert_eq!(then.len(), 5);
        let _ = map.remove(&0).unwrap();
        let _ = map.insert(order(9, "late", 0)).unwrap();
        let now = map.snapshot().unwrap();
        assert!(now.version() > then.version());
        assert!(!now.contains_key(&0) && now.contains_key(&9));
        assert_eq!(now.get(&3), Some(&order(3, "placed", 3)));

        let past = map.snapshot_at(then.version()).unwrap();
        assert_eq!(past, then, "snapshot_at reads the same records as then");
        assert_eq!(past.version(), then.version());
        let ids: Vec<u64> = past.iter().map(|o| o.id).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4]);

        // Records are kept sorted by their etcd key (the key as JSON), with their revisions.
        let versions: Vec<Versioned<&Order>> = now.iter_versioned().collect();
        let ids: Vec<u64> = versions.iter().map(|v| v.value.id).collect();
        assert_eq!(ids, [1, 2, 3, 4, 9]);
        assert!(versions.iter().all(|v| v.version <= now.version()));

        compact(&cluster, now.version());
        assert_eq!(
            map.snapshot_at(then.version()).unwrap_err(),
            EtcdError::Compacted {
                revision: then.version()
            }
        );
        assert!(map.snapshot_at(now.version()).is_ok());
        assert!(
            matches!(
                map.snapshot_at(now.version() + 1_000),
                Err(EtcdError::Rejected { .. })
            ),
            "a future revision is refused"
        );
    });
}

#[test]
fn a_snapshot_larger_than_one_page_is_still_one_revision() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(110, move || {
        let map = connect(&cluster, "paged/");
        let fill = |ids: std::ops::Range<u64>| {
            std::thread::scope(|s| {
                for part in 0..4 {
                    let (map, ids) = (&map, ids.clone());
                    s.spawn(move || {
                        for id in ids.filter(|id| id % 4 == part) {
                            let _ = map.insert(order(id, "placed", 0)).unwrap();
                        }
                    });
                }
            });
        };
        // More than two pages of the scan (500 pairs each).
        fill(0..1_100);
        let then = map.version().unwrap();
        fill(1_100..1_200);
        for id in 0..10 {
            let _ = map.remove(&id).unwrap();
        }
        let past = map.snapshot_at(then).unwrap();
        let mut ids: Vec<u64> = past.iter().map(|o| o.id).collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            (0..1_100).collect::<Vec<_>>(),
            "pages read at different revisions"
        );
        let now = map.snapshot().unwrap();
        assert_eq!(now.len(), 1_190);
        assert_eq!(map.len().unwrap(), 1_190);
    });
}

#[test]
fn retain_and_clear_remove_what_they_say_and_verify_passes() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(60, move || {
        let map = connect(&cluster, "bulk/");
        let other = connect(&cluster, "bulkother/");
        for id in 0..10 {
            let _ = map.insert(order(id, "placed", id as i64)).unwrap();
        }
        let _ = other.insert(order(1, "elsewhere", 0)).unwrap();
        map.retain(|o| o.qty % 2 == 0).unwrap();
        let left: Vec<u64> = map.snapshot().unwrap().iter().map(|o| o.id).collect();
        assert_eq!(left, [0, 2, 4, 6, 8]);
        let report = map.verify_consistency().unwrap().unwrap();
        assert_eq!(report.entries, 5);
        map.clear().unwrap();
        assert!(map.is_empty().unwrap());
        assert_eq!(other.len().unwrap(), 1, "another prefix is untouched");
    });
}

#[test]
fn undecodable_values_are_errors_naming_the_key_and_verify_lists_them() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(60, move || {
        let map = connect(&cluster, "mixed/");
        let _ = map.insert(order(1, "ok", 1)).unwrap();
        // Another program writes a foreign value and a record filed under the wrong key.
        let raw: EtcdMap<(String, String)> =
            EtcdMap::connect(&LocalCluster::endpoint_strs(&cluster.endpoints()), "mixed/").unwrap();
        let _ = raw.insert(("x".into(), "y".into())).unwrap();
        match map.snapshot().unwrap_err() {
            EtcdError::Undecodable { key, .. } => assert_eq!(key, "mixed/\"x\""),
            other => panic!("expected Undecodable, got {other:?}"),
        }
        assert_eq!(
            map.get(&1).unwrap(),
            Some(order(1, "ok", 1)),
            "other keys still read"
        );
        let err = map.verify_consistency().unwrap().unwrap_err();
        assert_eq!(err.violations().len(), 1);
        assert!(err.to_string().contains("mixed/\\\"x\\\""), "{err}");
    });
}

#[test]
fn unreachable_endpoints_are_unavailable_errors_not_panics() {
    within(30, || {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let err = EtcdMap::<Order>::connect(&[endpoint.as_str()], "x/").unwrap_err();
        assert!(matches!(err, EtcdError::Unavailable { .. }), "{err:?}");
        assert!(err.to_string().contains("unavailable"));
        let bad = EtcdMap::<Order>::connect(&["https://127.0.0.1:1"], "x/").unwrap_err();
        assert!(matches!(bad, EtcdError::InvalidEndpoint { .. }), "{bad:?}");
    });
}

#[test]
fn a_member_that_accepts_but_never_answers_is_a_timeout() {
    within(30, || {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", silent.local_addr().unwrap());
        // Accept connections and hold them open without a word.
        std::thread::spawn(move || {
            let held: Vec<_> = silent.incoming().collect();
            drop(held);
        });
        let started = std::time::Instant::now();
        let timeout = std::time::Duration::from_millis(300);
        let err = EtcdMap::<Order>::connect_with_timeout(&[endpoint.as_str()], "x/", timeout)
            .unwrap_err();
        assert!(matches!(err, EtcdError::Timeout { .. }), "{err:?}");
        assert!(err.is_transient());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
    });
}

#[test]
fn a_watch_yields_every_change_from_its_revision_in_order() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(60, move || {
        let map = connect(&cluster, "watched/");
        let from = map.version().unwrap() + 1;
        let _ = map.insert(order(1, "placed", 1)).unwrap();
        let _ = map.insert(order(2, "placed", 1)).unwrap();
        let _ = map.remove(&1).unwrap();
        let changes: Vec<Change<Order>> = map.watch(from).take(3).map(Result::unwrap).collect();
        assert_eq!(
            changes,
            [
                Change::Put {
                    record: order(1, "placed", 1),
                    revision: from
                },
                Change::Put {
                    record: order(2, "placed", 1),
                    revision: from + 1
                },
                Change::Delete {
                    key: 1,
                    revision: from + 2
                },
            ]
        );
        compact(&cluster, from + 2);
        let mut stale = map.watch(from);
        assert!(matches!(
            stale.next(),
            Some(Err(EtcdError::Compacted { .. }))
        ));
        assert!(stale.next().is_none(), "a compacted watch ends");
    });
}

/// Compacts etcd's history up to `revision`, as an operator would.
fn compact(cluster: &LocalCluster, revision: u64) {
    use std::io::{Read, Write};
    let endpoint = &cluster.endpoints()[0];
    let authority = endpoint.trim_start_matches("http://");
    let body = format!("{{\"revision\":\"{revision}\",\"physical\":true}}");
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "POST /v3/kv/compaction HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "compaction failed: {answer}"
    );
}
