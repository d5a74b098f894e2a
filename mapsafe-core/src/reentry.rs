//! Detects a call into a map from inside one of its own operations, which could deadlock.
//!
//! While an operation holds a shard lock, user code may run under it: the operation's closure
//! (`read`, `update`, `retain`, `entry`, a transaction, ...) or a record's `Clone`, `Hash`, `Eq`
//! or `Drop`. A second call on the same map from there could need the same lock (a certain
//! deadlock for a write lock, a likely one for a read lock behind a queued writer), so every
//! locking operation enters a [`Scope`] for its map before it locks, and entering a scope for a
//! map this thread is already inside panics instead.
//!
//! The innermost scope is one thread-local word: the map's id (its address) with the operation
//! in the top byte. Entering a scope that is not nested in another is one load and one store,
//! leaving it one store; only operations nested inside closures of other maps touch the `Vec`
//! of outer ones. (The re-entrancy check is on every locking call, so its cost is measured:
//! `scripts/callgrind-ops.sh`.)

use core::sync::atomic::AtomicU64;
use std::cell::{Cell, RefCell};

use crate::sync::thread_local;

/// A map operation that takes a lock, named in re-entrancy messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Op {
    Capacity,
    Clear,
    Clone,
    CompareAndRemove,
    CompareAndSwap,
    ContainsKey,
    Entry,
    ForEach,
    Get,
    GetOrInsertWith,
    GetVersioned,
    Insert,
    LoadOrStore,
    ParExtend,
    Read,
    Remove,
    Reserve,
    Retain,
    ShrinkToFit,
    Snapshot,
    Transaction,
    Update,
    VerifyConsistency,
}

impl Op {
    const ALL: [Op; 23] = [
        Op::Capacity,
        Op::Clear,
        Op::Clone,
        Op::CompareAndRemove,
        Op::CompareAndSwap,
        Op::ContainsKey,
        Op::Entry,
        Op::ForEach,
        Op::Get,
        Op::GetOrInsertWith,
        Op::GetVersioned,
        Op::Insert,
        Op::LoadOrStore,
        Op::ParExtend,
        Op::Read,
        Op::Remove,
        Op::Reserve,
        Op::Retain,
        Op::ShrinkToFit,
        Op::Snapshot,
        Op::Transaction,
        Op::Update,
        Op::VerifyConsistency,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Capacity => "capacity",
            Op::Clear => "clear",
            Op::Clone => "clone",
            Op::CompareAndRemove => "compare_and_remove",
            Op::CompareAndSwap => "compare_and_swap",
            Op::ContainsKey => "contains_key",
            Op::Entry => "entry",
            Op::ForEach => "for_each",
            Op::Get => "get",
            Op::GetOrInsertWith => "get_or_insert_with",
            Op::GetVersioned => "get_versioned",
            Op::Insert => "insert",
            Op::LoadOrStore => "load_or_store",
            Op::ParExtend => "par_extend",
            Op::Read => "read",
            Op::Remove => "remove",
            Op::Reserve => "reserve",
            Op::Retain => "retain",
            Op::ShrinkToFit => "shrink_to_fit",
            Op::Snapshot => "snapshot",
            Op::Transaction => "transaction",
            Op::Update => "update",
            Op::VerifyConsistency => "verify_consistency",
        }
    }
}

/// The operation's code lives in the top byte; map ids are addresses, below 2^56 on every
/// platform Rust supports in user space (and never 0).
const ID_BITS: u32 = 56;
const ID_MASK: usize = (1 << ID_BITS) - 1;

/// `id` must be below 2^56 (it is an address). No mask: this runs on every locking call.
#[inline(always)]
fn pack(id: usize, op: Op) -> usize {
    debug_assert!(id <= ID_MASK, "a map's address above 2^56");
    id | ((op as usize) << ID_BITS)
}

fn unpack(word: usize) -> (usize, Op) {
    (word & ID_MASK, Op::ALL[word >> ID_BITS])
}

thread_local! {
    /// The innermost running operation, packed; 0 when none.
    static INNERMOST: Cell<usize> = const { Cell::new(0) };
    /// The operations the innermost one is nested in, outermost first (packed).
    static OUTER: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks a map as running an operation on this thread until dropped (also on unwind).
pub(crate) struct Scope {
    /// The enclosing operation (packed), 0 if none.
    enclosing: usize,
}

/// Enters a scope for `op` on map `id`.
///
/// # Panics
///
/// If this thread is already inside an operation on map `id`, with a message naming both
/// operations and pointing at the caller's line; `refused` gives the counter of such calls
/// (`None`: not counted). It is only called on a nested entry, so the common case does not
/// load it.
#[inline(always)]
#[track_caller]
pub(crate) fn enter<'a>(
    id: usize,
    op: Op,
    refused: impl FnOnce() -> Option<&'a AtomicU64>,
) -> Scope {
    let enclosing = INNERMOST.with(Cell::get);
    if enclosing != 0 {
        return enter_nested(enclosing, id, op, refused());
    }
    INNERMOST.with(|c| c.set(pack(id, op)));
    Scope { enclosing: 0 }
}

#[cold]
#[inline(never)]
#[track_caller]
fn enter_nested(enclosing: usize, id: usize, op: Op, refused: Option<&AtomicU64>) -> Scope {
    let id = id & ID_MASK;
    let (innermost, innermost_op) = unpack(enclosing);
    let outer = if innermost == id {
        Some(innermost_op)
    } else {
        OUTER.with(|outer| {
            outer
                .borrow()
                .iter()
                .rev()
                .map(|&word| unpack(word))
                .find(|(map, _)| *map == id)
                .map(|(_, op)| op)
        })
    };
    if let Some(outer) = outer {
        if let Some(refused) = refused {
            // Relaxed: a probe counter (see `probes`).
            refused.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
        let (op, outer) = (op.name(), outer.name());
        panic!(
            "mapsafe: `{op}` was called on a map from inside `{outer}` on the same map (from its \
             closure, or from a record's `Clone`, `Hash`, `Eq` or `Drop` that `{outer}` runs \
             under its lock); the lock is held, so this call would deadlock. Finish `{outer}` \
             first, then call `{op}` (return what you need from the closure)"
        );
    }
    OUTER.with(|outer| outer.borrow_mut().push(enclosing));
    INNERMOST.with(|c| c.set(pack(id, op)));
    Scope { enclosing }
}

impl Drop for Scope {
    #[inline(always)]
    fn drop(&mut self) {
        if self.enclosing == 0 {
            INNERMOST.with(|c| c.set(0));
        } else {
            leave_nested();
        }
    }
}

#[cold]
#[inline(never)]
fn leave_nested() {
    let enclosing = OUTER.with(|outer| outer.borrow_mut().pop()).unwrap_or(0);
    INNERMOST.with(|c| c.set(enclosing));
}
