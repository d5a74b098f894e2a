//! A session store, as a web service keeps one: the example to copy.
//!
//! - **login** creates a session only if the token is new (`get_or_insert_with`: the session is
//!   built once, even when two requests race);
//! - **requests** touch their session (`update`: the expiry moves, the key cannot);
//! - **a janitor thread** expires sessions, each only if it is still expired when removed
//!   (`remove_if`: a request that touched it in between keeps it alive);
//! - **metrics** count live sessions without copying one (`for_each`);
//! - **a restart** bulk-loads sessions (`collect`) and, with the `serde` feature, exports them
//!   as JSON from one point-in-time snapshot.
//!
//! ```text
//! cargo run --release --example sessions
//! cargo run --release --example sessions --features serde   # also the JSON export
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use mapsafe::concurrent_map;

/// One logged-in user's session.
#[concurrent_map(shards = 16)]
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Session {
    #[key]
    pub token: u64,
    pub user: String,
    /// The logical time after which the session is expired.
    pub expires_at: u64,
}

const LIFETIME: u64 = 100;
const USERS: u64 = 2_000;

fn main() {
    let sessions = Arc::new(SessionMap::new());
    // The service's clock: every request advances it.
    let clock = Arc::new(AtomicU64::new(0));
    let built = AtomicU64::new(0);

    // Two request handlers, racing on the same tokens.
    thread::scope(|s| {
        for handler in 0..2u64 {
            let (sessions, clock, built) = (&sessions, &clock, &built);
            s.spawn(move || {
                for request in 0..20_000u64 {
                    let now = clock.fetch_add(1, Ordering::Relaxed);
                    let token = (request * 7 + handler * 13) % USERS;
                    // Log in if needed: the session is built at most once per token.
                    let session = sessions.get_or_insert_with(&token, || {
                        built.fetch_add(1, Ordering::Relaxed);
                        Session {
                            token,
                            user: format!("user-{token}"),
                            expires_at: now + LIFETIME,
                        }
                    });
                    debug_assert_eq!(session.token, token);
                    // Every request keeps its session alive.
                    let _ = sessions.update(&token, |s| *s.expires_at = now + LIFETIME);
                }
            });
        }
        // The janitor: removes a session only if it is still expired at the moment of removal.
        let (sessions, clock) = (&sessions, &clock);
        s.spawn(move || {
            for _ in 0..50 {
                let now = clock.load(Ordering::Relaxed);
                let mut expired = Vec::new();
                sessions.for_each(|s| {
                    if s.expires_at < now {
                        expired.push(s.token);
                    }
                });
                for token in expired {
                    let _ = sessions.remove_if(&token, |s| s.expires_at < now);
                }
                thread::yield_now();
            }
        });
    });

    let now = clock.load(Ordering::Relaxed);
    let mut live = 0;
    sessions.for_each(|s| live += u64::from(s.expires_at >= now));
    println!(
        "{} logins built a session for {USERS} tokens (the janitor expired some, so some logged in again), {} in the store, {live} live at time {now}",
        built.load(Ordering::Relaxed),
        sessions.len()
    );

    // A restart: bulk-load what the old process had.
    let reloaded: SessionMap = sessions.snapshot().into_iter().collect();
    assert_eq!(reloaded.len(), sessions.len());
    println!("reloaded {} sessions with collect()", reloaded.len());

    export(&reloaded);
    println!(
        "{}",
        reloaded
            .verify_consistency()
            .expect("the store is consistent")
    );
}

/// Writes the store as JSON from one point-in-time pass, and reads it back.
#[cfg(feature = "serde")]
fn export(sessions: &SessionMap) {
    let json = serde_json::to_string(sessions).expect("sessions serialize");
    let back: SessionMap = serde_json::from_str(&json).expect("and read back");
    assert_eq!(back.len(), sessions.len());
    println!(
        "exported {} sessions as {} bytes of JSON and read them back",
        back.len(),
        json.len()
    );
}

#[cfg(not(feature = "serde"))]
fn export(_: &SessionMap) {
    println!("(run with --features serde to export the sessions as JSON)");
}
