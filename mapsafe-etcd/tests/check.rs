//! mapsafe's consistency checker, unchanged, against `EtcdMap`: a single member, and a
//! three-member cluster whose member under the client is killed and restarted mid-run.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mapsafe_core::check::{CheckReport, Checker, Config};
use mapsafe_etcd::local::LocalCluster;
use support::{Order, OrderMut, connect, within};

/// A distinct order per key, with contents that differ per nonce.
fn make(key: u64, nonce: u64) -> Order {
    Order {
        id: key,
        status: format!("n{nonce:x}"),
        qty: nonce as i64,
    }
}

/// The checker's `update`: a pure function of the old record and the nonce, so a lost update
/// shows in every later read.
fn bump(order: OrderMut<'_>, nonce: u64) {
    *order.qty = order.qty.rotate_left(5) ^ nonce as i64;
}

fn checker(threads: usize, ops: usize) -> Checker<Order> {
    Checker::new(make)
        .updater(bump)
        .name("EtcdMap<Order>")
        .config(Config::new().threads(threads).ops_per_thread(ops))
}

/// `seed`, unless `MAPSAFE_SEED` says otherwise (as the checker's failure report suggests).
fn seed_or_env(seed: u64) -> u64 {
    Config::new().seed(seed).env_overrides().seed
}

fn assert_checked(report: &CheckReport) {
    assert!(report.calls > 0 && report.snapshots > 0, "{report}");
    assert!(
        report.overlapping_calls > 0,
        "no call overlapped another: the run checked no concurrency ({report})"
    );
}

#[test]
fn checker_finds_single_member_etcd_linearizable() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    within(110, move || {
        let checker = checker(4, 150);
        let first = seed_or_env(0x4d41_5053_0001);
        for seed in [first, first + 1] {
            let map = connect(&cluster, &format!("check-{seed:x}/"));
            let started = Instant::now();
            match map.run_checker(&checker, seed) {
                Ok(report) => {
                    println!(
                        "single member, seed {seed:#x}: {report} in {:?}",
                        started.elapsed()
                    );
                    assert_checked(&report);
                }
                Err(failure) => panic!("{failure}"),
            }
        }
    });
}

#[test]
fn checker_finds_a_cluster_linearizable_while_a_member_dies_and_returns() {
    let Some(mut cluster) = LocalCluster::start_or_skip(3) else {
        return;
    };
    within(110, move || {
        let checker = checker(4, 800);
        let seed = seed_or_env(0x4d41_5053_00c1);
        // The client prefers the first endpoint: kill that member, so calls in flight lose
        // their answers and the client must fail over.
        let map = connect(&cluster, "check-cluster/");
        let running = AtomicBool::new(true);
        let (outcome, restarted) = std::thread::scope(|s| {
            let killer = s.spawn(|| {
                std::thread::sleep(Duration::from_millis(700));
                if !running.load(Ordering::SeqCst) {
                    return None;
                }
                cluster.kill(0);
                std::thread::sleep(Duration::from_millis(1000));
                cluster.restart(0);
                running.load(Ordering::SeqCst).then(Instant::now)
            });
            let started = Instant::now();
            let outcome = map.run_checker(&checker, seed);
            running.store(false, Ordering::SeqCst);
            let restarted = killer.join().expect("the killer thread panicked");
            (outcome.map(|r| (r, started.elapsed())), restarted)
        });
        match outcome {
            Ok((report, took)) => {
                println!(
                    "three members, member 0 killed and restarted mid-run, seed {seed:#x}: \
                     {report} in {took:?}; {} writes had lost answers and were resolved",
                    map.resolved_writes()
                );
                assert_checked(&report);
                assert!(
                    restarted.is_some(),
                    "the run ended before the member was killed and restarted; raise the \
                     operations per thread"
                );
            }
            Err(failure) => panic!("{failure}"),
        }
    });
}
