//! A three-member cluster that loses the member under the client mid-run: calls succeed or
//! return an `EtcdError` (never panic, never half-apply a transaction), and a watch sees every
//! change exactly once, in order, across the failure.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use mapsafe_etcd::local::LocalCluster;
use mapsafe_etcd::{Change, EtcdMap};
use support::{Order, connect, order, within};

/// Kills member 0 (the one every client prefers) after `after`, restarts it a second later.
fn kill_and_restart(cluster: &mut LocalCluster, after: Duration) {
    std::thread::sleep(after);
    cluster.kill(0);
    std::thread::sleep(Duration::from_secs(1));
    cluster.restart(0);
}

#[test]
fn transfers_stay_whole_while_a_member_dies_and_every_failure_is_an_error() {
    let Some(mut cluster) = LocalCluster::start_or_skip(3) else {
        return;
    };
    within(110, move || {
        const ACCOUNTS: u64 = 6;
        const TOTAL: i64 = 600;
        let map = connect(&cluster, "accounts/");
        for id in 0..ACCOUNTS {
            let _ = map
                .insert(order(id, "account", TOTAL / ACCOUNTS as i64))
                .unwrap();
        }
        let (committed, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for thread in 0..3_u64 {
                let (map, committed, failed, stop) = (&map, &committed, &failed, &stop);
                s.spawn(move || {
                    let mut i = thread;
                    while !stop.load(Ordering::SeqCst) {
                        i += 1;
                        let (from, to) = (i % ACCOUNTS, (i * 7 + 1) % ACCOUNTS);
                        if from == to {
                            continue;
                        }
                        let moved = map.transaction(&[&from, &to], |tx| {
                            let _ = tx.update(&from, |o| *o.qty -= 1);
                            let _ = tx.update(&to, |o| *o.qty += 1);
                            Ok::<_, ()>(())
                        });
                        match moved {
                            Ok(Ok(())) => committed.fetch_add(1, Ordering::Relaxed),
                            Ok(Err(())) => unreachable!("the closure never refuses"),
                            Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                });
            }
            kill_and_restart(&mut cluster, Duration::from_millis(500));
            std::thread::sleep(Duration::from_millis(500));
            stop.store(true, Ordering::SeqCst);
        });
        let snapshot = map.snapshot().unwrap();
        let sum: i64 = snapshot.iter().map(|o| o.qty).sum();
        println!(
            "{} transfers committed, {} returned an error (outcome unknown), sum {sum}",
            committed.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed)
        );
        assert_eq!(snapshot.len(), ACCOUNTS as usize);
        assert_eq!(sum, TOTAL, "a transfer was half applied");
        assert!(committed.load(Ordering::Relaxed) > 0);
        let report = map.verify_consistency().unwrap().unwrap();
        assert_eq!(report.entries, ACCOUNTS as usize);
    });
}

#[test]
fn a_watch_sees_every_change_once_in_order_across_a_member_failure() {
    let Some(mut cluster) = LocalCluster::start_or_skip(3) else {
        return;
    };
    within(110, move || {
        let writer = connect(&cluster, "watched/");
        let watcher = connect(&cluster, "watched/");
        let from = writer.version().unwrap() + 1;
        let done = AtomicBool::new(false);
        let (seen, reopened) = std::thread::scope(|s| {
            let watching = s.spawn(|| {
                let mut seen: Vec<Change<Order>> = Vec::new();
                let mut watch = watcher.watch(from);
                for change in watch.by_ref() {
                    // A member failure may surface as an error item; the watch goes on.
                    let Ok(change) = change else { continue };
                    let last =
                        matches!(&change, Change::Put { record, .. } if record.status == "end");
                    seen.push(change);
                    if last {
                        break;
                    }
                }
                (seen, watch.reopened())
            });
            let writing = s.spawn(|| {
                let mut i = 0_u64;
                while !done.load(Ordering::SeqCst) {
                    i += 1;
                    // Errors are outcomes unknown: the ground truth below is etcd's history.
                    let _ = writer.insert(order(i % 10, "put", i as i64));
                    if i % 3 == 0 {
                        let _ = writer.remove(&((i + 5) % 10));
                    }
                }
                // The end marker, written until it certainly landed.
                while writer.compare_and_swap(0, order(1_000, "end", 0)).is_err() {
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
            kill_and_restart(&mut cluster, Duration::from_millis(400));
            std::thread::sleep(Duration::from_millis(400));
            done.store(true, Ordering::SeqCst);
            writing.join().unwrap();
            watching.join().unwrap()
        });
        // The same history, read afterwards on the healthy cluster by a fresh watch: equal
        // lists that both end at the end marker leave no room for a skipped change.
        let fresh = connect(&cluster, "watched/");
        let truth: Vec<Change<Order>> = fresh
            .watch(from)
            .take(seen.len())
            .map(Result::unwrap)
            .collect();
        println!(
            "{} changes from revision {from} to {}, watched across the failure (stream reopened {reopened} time(s))",
            seen.len(),
            seen.last().unwrap().revision()
        );
        assert!(seen.len() > 10, "too few changes to prove anything");
        assert!(
            reopened >= 1,
            "the watch never lost its member: the test proved nothing"
        );
        assert!(
            seen.windows(2).all(|w| w[0].revision() < w[1].revision()),
            "changes out of order or repeated"
        );
        assert_eq!(seen, truth, "the watch skipped or repeated a change");
    });
}

/// The map is shareable between threads, as the docs promise (a compile-time check).
#[test]
fn etcd_map_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<EtcdMap<Order>>();
}
