//! Point-in-time passes over every shard: what `snapshot` (copying) and `verify_consistency`
//! (checking) are built on.
//!
//! A pass fixes its instant with one atomic step on the map's clock (see `clock.rs`), holding
//! no shard lock. It then visits the shards one at a time, each under its read lock, never
//! holding one while it waits for another. A writer whose ticket shows that the pass's instant
//! came first hands its shard to the pass before changing it (work-before-write). So every shard
//! is seen exactly as it was at the instant, no call waits for more than one shard's worth of
//! the pass's work, and the pass adds no lock-order cycle to any program.
//!
//! A panic in the pass's work (a record's `Clone`) fails the pass and only the pass: a writer
//! that was serving it goes on with its own write, and the pass's caller panics with the
//! original payload once every shard is released and the pass is closed.

use core::any::Any;
use core::hash::BuildHasher;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use crate::map::ShardedMap;
use crate::probes::MapProbes;
use crate::record::{Mode, Record};
use crate::shard::{Debt, ShardView};
use crate::sync::Mutex;

/// Pass ids, unique in the process (a shard's served mark must never match a later pass).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The shared state of one pass: a result slot per shard.
struct Pass<R: Record, M: Mode, T> {
    id: u64,
    /// Set (under the registry lock, before any writer can look the pass up) once the instant
    /// is fixed.
    threshold: AtomicU64,
    failed: AtomicBool,
    failure: Mutex<Option<Box<dyn Any + Send>>>,
    slots: Box<[Mutex<Option<T>>]>,
    work: fn(ShardView<'_, R, M>) -> T,
}

impl<R: Record, M: Mode, T: Send> Debt<R, M> for Pass<R, M, T> {
    fn id(&self) -> u64 {
        self.id
    }

    fn threshold(&self) -> u64 {
        // Relaxed: set under the registry lock, which every caller took to find the pass.
        self.threshold.load(Ordering::Relaxed)
    }

    fn serve(&self, shard: ShardView<'_, R, M>) {
        // Acquire pairs with the Release below: a thread that sees the failure sees its payload.
        if self.failed.load(Ordering::Acquire) {
            return;
        }
        let mut slot = self.slots[shard.idx].lock();
        if slot.is_some() {
            return;
        }
        match panic::catch_unwind(AssertUnwindSafe(|| (self.work)(shard))) {
            Ok(result) => *slot = Some(result),
            Err(payload) => {
                self.failure.lock().get_or_insert(payload);
                self.failed.store(true, Ordering::Release);
            }
        }
    }
}

/// Ends a pass when dropped (also on unwind): clears the clock's flag, then unregisters it, so
/// no writer serves it again and its partial results are freed with it.
struct Closing<'a, R: Record, M: Mode, S> {
    map: &'a ShardedMap<R, M, S>,
}

impl<R: Record, M: Mode, S> Drop for Closing<'_, R, M, S> {
    fn drop(&mut self) {
        let shared = &self.map.shared;
        shared.clock.close();
        *shared.open.lock() = None;
    }
}

impl<R: Record, M: Mode, S: BuildHasher> ShardedMap<R, M, S> {
    /// Counts a pass in the map's probes.
    pub(crate) fn count_pass(&self, counter: fn(&MapProbes) -> &AtomicU64) {
        if M::PROBED {
            MapProbes::count(counter(&self.shared().probes));
        }
    }

    /// Runs `work` on every shard as it was at one instant and returns the results in shard
    /// order with the map's revision at that instant (0 on a plain map). The caller is inside
    /// its re-entrancy scope.
    ///
    /// # Panics
    ///
    /// With the work's own panic payload if the work panicked on any shard (whichever thread
    /// ran it); the map is left unchanged and unlocked.
    pub(crate) fn run_pass<T: Send + 'static>(
        &self,
        work: fn(ShardView<'_, R, M>) -> T,
    ) -> (Vec<T>, u64) {
        let shared = self.shared();
        let _one_at_a_time = shared.gate.lock();
        let pass = Arc::new(Pass {
            // Relaxed: only uniqueness matters, which the RMW gives.
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            threshold: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
            slots: (0..self.shards.len()).map(|_| Mutex::new(None)).collect(),
            work,
        });
        let closing = Closing { map: self };
        let threshold = {
            // Writers that see the flag look the pass up under this lock, so they find it
            // with its threshold set.
            let mut open = shared.open.lock();
            *open = Some(pass.clone() as Arc<dyn Debt<R, M>>);
            // Relaxed: the clock's Release below publishes it to every writer that sees the flag.
            shared.open_id.store(pass.id, Ordering::Relaxed);
            let threshold = if M::VERSIONED {
                shared.clock.open_versioned()
            } else {
                shared.clock.open_plain()
            };
            pass.threshold.store(threshold, Ordering::Relaxed);
            threshold
        };
        for slot in self.shards.iter() {
            if pass.failed.load(Ordering::Acquire) {
                break;
            }
            let table = slot.read();
            // Relaxed: under the shard's read lock, which orders it with writers' stores.
            if slot.served.load(Ordering::Relaxed) != pass.id {
                self.serve(&*pass, slot, &table);
            }
        }
        drop(closing);
        if let Some(payload) = pass.failure.lock().take() {
            panic::resume_unwind(payload);
        }
        let results = pass
            .slots
            .iter()
            .map(|slot| {
                slot.lock()
                    .take()
                    .expect("mapsafe bug: a point-in-time pass finished with a shard unserved")
            })
            .collect();
        (results, if M::VERSIONED { threshold } else { 0 })
    }
}
