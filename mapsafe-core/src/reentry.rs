//! Detects a call into a map from inside one of its own closures, which would deadlock.
//!
//! While a `read`, `update` or `retain` closure runs, this thread holds a shard lock. A second
//! call on the same map from inside it could need the same lock (a guaranteed deadlock for a
//! write lock, and a likely one for a read lock behind a queued writer), so every operation
//! first checks this thread's list of maps whose closures are running and panics instead.

use std::cell::{Cell, RefCell};

thread_local! {
    /// How many map closures are running on this thread; the fast path only reads this.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Which maps, and under which operation.
    static ACTIVE: RefCell<Vec<(usize, &'static str)>> = const { RefCell::new(Vec::new()) };
}

/// Panics if a closure of map `id` is running on this thread.
#[inline(always)]
pub(crate) fn check(id: usize, op: &'static str) {
    if DEPTH.get() != 0 {
        check_slow(id, op);
    }
}

#[cold]
#[inline(never)]
fn check_slow(id: usize, op: &'static str) {
    let outer = ACTIVE.with_borrow(|active| {
        active
            .iter()
            .rev()
            .find(|(map, _)| *map == id)
            .map(|(_, outer)| *outer)
    });
    if let Some(outer) = outer {
        panic!(
            "mapsafe: `{op}` was called on a map from inside a `{outer}` closure on the same map; \
             the closure holds a shard lock, so this call would deadlock. Finish the closure \
             first, then call `{op}` (return what you need from the closure)"
        );
    }
}

/// Marks map `id` as running a closure of `op` until dropped (also on unwind).
pub(crate) struct ClosureScope(());

impl ClosureScope {
    #[inline]
    pub(crate) fn enter(id: usize, op: &'static str) -> Self {
        ACTIVE.with_borrow_mut(|active| active.push((id, op)));
        DEPTH.set(DEPTH.get() + 1);
        ClosureScope(())
    }
}

impl Drop for ClosureScope {
    #[inline]
    fn drop(&mut self) {
        DEPTH.set(DEPTH.get() - 1);
        ACTIVE.with_borrow_mut(|active| {
            active.pop();
        });
    }
}
