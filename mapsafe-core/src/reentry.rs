//! Detects a call into a map from inside one of its own closures, which would deadlock.
//!
//! While a `read`, `update` or `retain` closure runs, this thread holds a shard lock. A second
//! call on the same map from inside it could need the same lock (a guaranteed deadlock for a
//! write lock, and a likely one for a read lock behind a queued writer), so every operation
//! first checks this thread's list of maps whose closures are running and panics instead.
//!
//! The innermost running closure lives in two `Cell`s, so entering and leaving a closure that is
//! not nested in another costs two plain thread-local stores; only closures nested inside
//! closures of other maps touch the `Vec` of outer ones.

use std::cell::{Cell, RefCell};

/// A map id and the operation whose closure is running on it.
type Active = (usize, &'static str);

/// Map ids are addresses of live maps, never 0.
const NONE: Active = (0, "");

thread_local! {
    /// The map of the innermost running closure, or 0; the fast path only reads this.
    static INNERMOST: Cell<usize> = const { Cell::new(0) };
    /// The operation of the innermost running closure.
    static INNERMOST_OP: Cell<&'static str> = const { Cell::new("") };
    /// The closures the innermost one is nested in, outermost first.
    static OUTER: RefCell<Vec<Active>> = const { RefCell::new(Vec::new()) };
}

/// Panics if a closure of map `id` is running on this thread.
#[inline(always)]
pub(crate) fn check(id: usize, op: &'static str) {
    let innermost = INNERMOST.get();
    if innermost != 0 {
        check_slow(innermost, id, op);
    }
}

#[cold]
#[inline(never)]
fn check_slow(innermost: usize, id: usize, op: &'static str) {
    let outer = if innermost == id {
        Some(INNERMOST_OP.get())
    } else {
        OUTER.with_borrow(|outer| {
            outer
                .iter()
                .rev()
                .find(|(map, _)| *map == id)
                .map(|(_, outer)| *outer)
        })
    };
    if let Some(outer) = outer {
        panic!(
            "mapsafe: `{op}` was called on a map from inside a `{outer}` closure on the same map; \
             the closure holds a shard lock, so this call would deadlock. Finish the closure \
             first, then call `{op}` (return what you need from the closure)"
        );
    }
}

/// Marks map `id` as running a closure of `op` until dropped (also on unwind).
pub(crate) struct ClosureScope {
    nested: bool,
}

impl ClosureScope {
    #[inline(always)]
    pub(crate) fn enter(id: usize, op: &'static str) -> Self {
        let enclosing = INNERMOST.replace(id);
        let enclosing_op = INNERMOST_OP.replace(op);
        let nested = enclosing != 0;
        if nested {
            OUTER.with_borrow_mut(|outer| outer.push((enclosing, enclosing_op)));
        }
        ClosureScope { nested }
    }
}

impl Drop for ClosureScope {
    #[inline(always)]
    fn drop(&mut self) {
        let enclosing = if self.nested {
            OUTER.with_borrow_mut(Vec::pop).unwrap_or(NONE)
        } else {
            NONE
        };
        INNERMOST.set(enclosing.0);
        INNERMOST_OP.set(enclosing.1);
    }
}
