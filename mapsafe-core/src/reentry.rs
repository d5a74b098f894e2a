//! Detects a call into a map from inside one of its own operations, which could deadlock.
//!
//! While an operation holds a shard lock, user code may run under it: the operation's closure
//! (`read`, `update`, `retain`, `entry`, a transaction, ...) or a record's `Clone`, `Hash`, `Eq`
//! or `Drop`. A second call on the same map from there could need the same lock (a certain
//! deadlock for a write lock, a likely one for a read lock behind a queued writer), so every
//! locking operation enters a [`Scope`] for its map before it locks, and entering a scope for a
//! map this thread is already inside panics instead.
//!
//! The innermost scope lives in two `Cell`s, so entering and leaving a scope that is not nested
//! in another costs a few thread-local loads and stores; only operations nested inside closures
//! of other maps touch the `Vec` of outer ones.

use core::sync::atomic::AtomicU64;
use std::cell::{Cell, RefCell};

use crate::sync::thread_local;

/// A map id and the operation running on it.
type Active = (usize, &'static str);

/// Map ids are addresses of live maps, never 0.
const NONE: Active = (0, "");

thread_local! {
    /// The map of the innermost running operation, or 0.
    static INNERMOST: Cell<usize> = const { Cell::new(0) };
    /// The innermost running operation.
    static INNERMOST_OP: Cell<&'static str> = const { Cell::new("") };
    /// The operations the innermost one is nested in, outermost first.
    static OUTER: RefCell<Vec<Active>> = const { RefCell::new(Vec::new()) };
}

/// Marks map `id` as running `op` on this thread until dropped (also on unwind).
pub(crate) struct Scope {
    nested: bool,
}

/// Enters a scope for `op` on map `id`.
///
/// # Panics
///
/// If this thread is already inside an operation on map `id`, with a message naming both
/// operations and pointing at the caller's line; `refused` counts such calls (`None`: not
/// counted).
#[inline(always)]
#[track_caller]
pub(crate) fn enter(id: usize, op: &'static str, refused: Option<&AtomicU64>) -> Scope {
    let enclosing = INNERMOST.with(Cell::get);
    if enclosing != 0 {
        return enter_nested(enclosing, id, op, refused);
    }
    INNERMOST.with(|c| c.set(id));
    INNERMOST_OP.with(|c| c.set(op));
    Scope { nested: false }
}

#[cold]
#[inline(never)]
#[track_caller]
fn enter_nested(
    enclosing: usize,
    id: usize,
    op: &'static str,
    refused: Option<&AtomicU64>,
) -> Scope {
    let outer = if enclosing == id {
        Some(INNERMOST_OP.with(Cell::get))
    } else {
        OUTER.with(|outer| {
            outer
                .borrow()
                .iter()
                .rev()
                .find(|(map, _)| *map == id)
                .map(|(_, outer)| *outer)
        })
    };
    if let Some(outer) = outer {
        if let Some(refused) = refused {
            refused.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
        panic!(
            "mapsafe: `{op}` was called on a map from inside `{outer}` on the same map (from its \
             closure, or from a record's `Clone`, `Hash`, `Eq` or `Drop` that `{outer}` runs \
             under its lock); the lock is held, so this call would deadlock. Finish `{outer}` \
             first, then call `{op}` (return what you need from the closure)"
        );
    }
    let enclosing_op = INNERMOST_OP.with(|c| c.replace(op));
    INNERMOST.with(|c| c.set(id));
    OUTER.with(|outer| outer.borrow_mut().push((enclosing, enclosing_op)));
    Scope { nested: true }
}

impl Drop for Scope {
    #[inline(always)]
    fn drop(&mut self) {
        let enclosing = if self.nested {
            OUTER.with(|outer| outer.borrow_mut().pop()).unwrap_or(NONE)
        } else {
            NONE
        };
        INNERMOST.with(|c| c.set(enclosing.0));
        INNERMOST_OP.with(|c| c.set(enclosing.1));
    }
}
