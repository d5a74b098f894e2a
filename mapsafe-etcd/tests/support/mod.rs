//! What the etcd tests share: a record type, and a deadline for every test body.

#![allow(dead_code)] // each test binary uses its own part

use std::sync::mpsc;
use std::time::Duration;

use mapsafe::concurrent_map;
use mapsafe_etcd::EtcdMap;
use mapsafe_etcd::local::LocalCluster;
use serde::{Deserialize, Serialize};

/// An order, as the in-process examples use it.
#[concurrent_map(versioned)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: String,
    pub qty: i64,
}

pub fn order(id: u64, status: &str, qty: i64) -> Order {
    Order {
        id,
        status: status.to_string(),
        qty,
    }
}

/// Runs `body` on its own thread and fails the test if it has not finished within `secs`
/// (a hung etcd call must fail, not hang CI), stopping every etcd member the process started.
/// Keep `secs` under the checker's own watchdog (120 s), which aborts the process. A panic in `body` fails the test with its message.
pub fn within<T: Send + 'static>(secs: u64, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, wait) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let out = body();
        let _ = done.send(());
        out
    });
    match wait.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => worker.join().expect("the test body panicked"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(out) => out,
            Err(payload) => std::panic::resume_unwind(payload),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // The hung thread still owns its cluster: stop the members, or they outlive us.
            mapsafe_etcd::local::stop_all();
            panic!("the test did not finish within {secs} s: an etcd call hung")
        }
    }
}

/// An `EtcdMap` of orders on every member of `cluster`, under `prefix`.
pub fn connect(cluster: &LocalCluster, prefix: &str) -> EtcdMap<Order> {
    let endpoints = cluster.endpoints();
    EtcdMap::connect(&LocalCluster::endpoint_strs(&endpoints), prefix).expect("etcd answers")
}
