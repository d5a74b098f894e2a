//! The test harness itself: a test that hangs while it owns a cluster still stops its members.
//! (Alone in its binary: `stop_all` stops every member of the process.)

mod support;

use std::net::TcpStream;
use std::time::Duration;

use mapsafe_etcd::local::LocalCluster;
use support::within;

#[test]
fn a_hung_test_fails_and_its_etcd_members_do_not_outlive_it() {
    let Some(cluster) = LocalCluster::start_or_skip(1) else {
        return;
    };
    let endpoint = cluster.endpoints()[0]
        .trim_start_matches("http://")
        .to_string();
    assert!(TcpStream::connect(&endpoint).is_ok(), "the member is up");
    let hung = std::panic::catch_unwind(|| {
        within(2, move || {
            let _owned = cluster;
            std::thread::sleep(Duration::from_secs(3_600));
        })
    });
    assert!(hung.is_err(), "a test over its deadline must fail");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        TcpStream::connect(&endpoint).is_err(),
        "the hung test's etcd member is still running"
    );
}
