//! Throwaway etcd clusters on 127.0.0.1 for tests, examples and benchmarks: each member an
//! `etcd` child process on free ports with a temporary data directory, stopped and deleted on
//! drop.
//!
//! ```no_run
//! use mapsafe_etcd::local::LocalCluster;
//!
//! let Some(cluster) = LocalCluster::start_or_skip(3) else { return };
//! println!("members at {:?}", cluster.endpoints());
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that makes a missing `etcd` a failure instead of a skip (CI sets
/// it to `required`).
pub const REQUIRED_VAR: &str = "MAPSAFE_ETCD";

/// Every running member this process started (pid) and every cluster directory not yet
/// deleted, so that [`stop_all`] can clean up when a cluster's owner cannot (a test whose
/// thread hangs never drops its cluster, and child processes outlive their parent).
static LIVE: Mutex<(Vec<u32>, Vec<PathBuf>)> = Mutex::new((Vec::new(), Vec::new()));

fn live() -> std::sync::MutexGuard<'static, (Vec<u32>, Vec<PathBuf>)> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Kills every member any [`LocalCluster`] of this process still runs, and deletes their
/// directories. For a test harness that gives up on a hung test: call it before failing, or
/// the members outlive the test process.
pub fn stop_all() {
    let (pids, dirs) = std::mem::take(&mut *live());
    for pid in pids {
        let _ = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The `etcd` binary on `PATH`, if any.
#[must_use]
pub fn etcd_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("etcd"))
        .find(|candidate| candidate.is_file())
}

/// One member: its process (while running) and what it takes to start it again.
#[derive(Debug)]
struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
    child: Option<Child>,
}

/// A cluster of `etcd` processes on 127.0.0.1, stopped and deleted on drop.
#[derive(Debug)]
pub struct LocalCluster {
    binary: PathBuf,
    dir: PathBuf,
    initial_cluster: String,
    members: Vec<Member>,
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("mapsafe-etcd: no free port on 127.0.0.1")
}

impl LocalCluster {
    /// Starts `members` members, or returns `None` after printing "skipped: etcd not installed"
    /// when there is no `etcd` on `PATH`.
    ///
    /// # Panics
    ///
    /// When `etcd` is missing and `MAPSAFE_ETCD=required`, or when the cluster does not become
    /// healthy within 30 s (the panic shows the members' logs).
    #[must_use]
    pub fn start_or_skip(members: usize) -> Option<LocalCluster> {
        let Some(binary) = etcd_binary() else {
            if std::env::var(REQUIRED_VAR).is_ok_and(|v| v == "required") {
                panic!(
                    "etcd is not installed but {REQUIRED_VAR}=required: install it \
                     (`apt-get install etcd-server` on Debian) or unset {REQUIRED_VAR}"
                );
            }
            println!("skipped: etcd not installed (install `etcd-server` to run this test)");
            return None;
        };
        Some(LocalCluster::start(binary, members))
    }

    /// Starts `members` members of `binary`.
    ///
    /// # Panics
    ///
    /// When the cluster does not become healthy within 30 s.
    #[must_use]
    pub fn start(binary: PathBuf, members: usize) -> LocalCluster {
        static RUN: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mapsafe-etcd-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mapsafe-etcd: cannot create a temporary directory");
        live().1.push(dir.clone());
        let members: Vec<Member> = (0..members.max(1))
            .map(|i| Member {
                name: format!("m{i}"),
                client_port: free_port(),
                peer_port: free_port(),
                data_dir: dir.join(format!("m{i}")),
                child: None,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = LocalCluster {
            binary,
            dir,
            initial_cluster,
            members,
        };
        for i in 0..cluster.members.len() {
            cluster.spawn(i);
        }
        cluster.wait_healthy(Duration::from_secs(30));
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let m = &self.members[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", m.name)))
            .expect("mapsafe-etcd: cannot create a log file");
        let client = format!("http://127.0.0.1:{}", m.client_port);
        let peer = format!("http://127.0.0.1:{}", m.peer_port);
        let child = Command::new(&self.binary)
            .arg("--name")
            .arg(&m.name)
            .arg("--data-dir")
            .arg(&m.data_dir)
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-state", "new"])
            .args(["--initial-cluster-token", "mapsafe-etcd"])
            // Fast elections, so a test that kills the leader waits a fraction of a second.
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .stdin(Stdio::null())
            .stdout(
                log.try_clone()
                    .expect("mapsafe-etcd: cannot share the log file"),
            )
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("mapsafe-etcd: cannot start {}: {e}", self.binary.display())
            });
        live().0.push(child.id());
        self.members[i].child = Some(child);
    }

    /// Every member's client URL (`http://127.0.0.1:port`), running or not.
    #[must_use]
    pub fn endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| format!("http://127.0.0.1:{}", m.client_port))
            .collect()
    }

    /// [`endpoints`](Self::endpoints) as `&str`s, the form `EtcdMap::connect` takes.
    #[must_use]
    pub fn endpoint_strs(endpoints: &[String]) -> Vec<&str> {
        endpoints.iter().map(String::as_str).collect()
    }

    /// Kills member `i` at once (SIGKILL: no clean shutdown) and waits for it to exit.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            live().0.retain(|&pid| pid != child.id());
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data directory and ports, and waits until it is healthy.
    ///
    /// # Panics
    ///
    /// When it does not become healthy within 30 s.
    pub fn restart(&mut self, i: usize) {
        if self.members[i].child.is_none() {
            self.spawn(i);
        }
        self.wait_healthy(Duration::from_secs(30));
    }

    /// Waits until every running member answers `/health` with `"health":"true"`.
    fn wait_healthy(&mut self, budget: Duration) {
        let deadline = Instant::now() + budget;
        for i in 0..self.members.len() {
            if self.members[i].child.is_none() {
                continue;
            }
            while !healthy(self.members[i].client_port) {
                if let Some(Ok(Some(status))) = self.members[i].child.as_mut().map(Child::try_wait)
                {
                    panic!(
                        "mapsafe-etcd: etcd member {i} exited ({status}):\n{}",
                        self.logs()
                    );
                }
                if Instant::now() >= deadline {
                    panic!(
                        "mapsafe-etcd: etcd member {i} not healthy after {budget:?}:\n{}",
                        self.logs()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The tail of every member's log.
    #[must_use]
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for m in &self.members {
            let text = std::fs::read_to_string(self.dir.join(format!("{}.log", m.name)))
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {} (last 20 lines)\n", m.name));
            for line in &lines[lines.len().saturating_sub(20)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// The cluster's temporary directory (data directories and logs).
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        live().1.retain(|dir| *dir != self.dir);
    }
}

/// `GET /health` answers `"health":"true"`.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}
