//! Point-in-time passes over every shard: what `snapshot` (copying) and `verify_consistency`
//! (checking) are built on.
//!
//! A pass fixes its instant by write-locking every shard in turn and marking it, which does no
//! per-record work. It then processes the shards one at a time under a read lock. A writer that
//! reaches a shard the pass has not processed yet processes it first, on the pass's behalf
//! (work-before-write), so every shard is seen exactly as it was at the instant, while no writer
//! ever waits for more than one shard's worth of work.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::map::Table;
use crate::record::{Mode, Record};
use crate::sync::Mutex;

/// One shard as a pass sees it.
pub(crate) struct ShardView<'a, R: Record, M: Mode> {
    /// The shard's index.
    pub(crate) idx: usize,
    /// Its records.
    pub(crate) table: &'a Table<R, M>,
    /// The size it publishes for `len()`.
    pub(crate) published_len: usize,
    /// A key's hash and the shard it belongs in, by the map's hasher.
    pub(crate) place: &'a dyn Fn(&R::Key) -> (u64, usize),
}

/// Work owed to a pass in progress, left in every shard it has marked. Type-erased so that
/// writers, whose records need not be `Clone`, can still serve a snapshot (whose records must
/// be).
pub(crate) trait PendingPass<R: Record, M: Mode>: Send + Sync {
    /// Processes the shard unless it was processed already or the pass is over.
    fn serve(&self, shard: ShardView<'_, R, M>);
}

/// The shared state of one pass: a result slot per shard.
pub(crate) struct Pass<R: Record, M: Mode, T> {
    /// Cleared once the pass has all its results (or gave up, on a panic): a shard still marked
    /// with a closed pass is then just unmarked by its next writer.
    open: AtomicBool,
    slots: Box<[Mutex<Option<T>>]>,
    work: fn(ShardView<'_, R, M>) -> T,
}

impl<R: Record, M: Mode, T> Pass<R, M, T> {
    pub(crate) fn new(shards: usize, work: fn(ShardView<'_, R, M>) -> T) -> Self {
        Pass {
            open: AtomicBool::new(true),
            slots: (0..shards).map(|_| Mutex::new(None)).collect(),
            work,
        }
    }

    /// Ends the pass: writers that still find it in a shard skip the work.
    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::Release);
    }

    /// Closes the pass when dropped (also on unwind), so a pass whose work panicked never leaves
    /// writers working for nobody.
    pub(crate) fn close_on_drop(&self) -> impl Drop + '_ {
        struct Close<'a, R: Record, M: Mode, T>(&'a Pass<R, M, T>);
        impl<R: Record, M: Mode, T> Drop for Close<'_, R, M, T> {
            fn drop(&mut self) {
                self.0.close();
            }
        }
        Close(self)
    }

    /// Every shard's result, in shard order. Call after every shard was served.
    pub(crate) fn take_results(&self) -> Vec<T> {
        self.slots
            .iter()
            .map(|slot| {
                slot.lock()
                    .take()
                    .expect("mapsafe bug: a point-in-time pass finished with a shard unserved")
            })
            .collect()
    }
}

impl<R: Record, M: Mode, T: Send> PendingPass<R, M> for Pass<R, M, T> {
    fn serve(&self, shard: ShardView<'_, R, M>) {
        if !self.open.load(Ordering::Acquire) {
            return;
        }
        let mut slot = self.slots[shard.idx].lock();
        if slot.is_none() {
            *slot = Some((self.work)(shard));
        }
    }
}
