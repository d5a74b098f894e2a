//! The map's clock: one atomic word that orders every write against the point-in-time passes.
//!
//! The low 63 bits are the revision counter on a versioned map (the latest revision issued) and
//! the sequence number of the latest pass on a plain map. The top bit, [`PASS`], is set while a
//! pass has fixed its instant and not yet finished.
//!
//! A write takes a [`Ticket`] while it holds its shard's write lock, after deciding to change the
//! shard and before changing it: a versioned write takes its revisions with one `fetch_add`,
//! which also reads the flag; a plain write only loads the word. A pass fixes its instant by
//! setting the flag in one atomic step. So every write falls on one side of the instant by the
//! order of those two operations on one word: a ticket taken before it saw no flag (or an older
//! pass), and the pass will find the write done when it reaches the shard (it takes the lock
//! after the writer); a ticket taken after it sees the flag, and the writer serves the pass
//! (hands it the shard as it still is) before changing anything. On a versioned map the same
//! step also fixes the pass's version: revisions taken before the flag are at most that number,
//! revisions taken after are above it, so a snapshot holds exactly the writes up to its version.

use core::sync::atomic::{AtomicU64, Ordering};

/// Set in the clock while a pass has fixed its instant and not yet finished.
pub(crate) const PASS: u64 = 1 << 63;

/// What a write learned from the clock when it took its ticket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticket {
    /// The clock word as the write saw it (before its own increment).
    pub(crate) seen: u64,
    /// The first of the write's fresh revisions (versioned), else 0.
    pub(crate) first: u64,
}

impl Ticket {
    /// `true` if a pass was open when the ticket was taken: the write may owe it its shard.
    #[inline(always)]
    pub(crate) fn during_pass(self) -> bool {
        self.seen & PASS != 0
    }

    /// The clock's counter part as the write saw it.
    #[inline(always)]
    pub(crate) fn count(self) -> u64 {
        self.seen & !PASS
    }
}

/// The clock word.
#[derive(Debug, Default)]
pub(crate) struct Clock(AtomicU64);

impl Clock {
    /// A plain write's ticket. Acquire pairs with the Release of [`Clock::open_plain`], so a
    /// writer that sees the flag also sees the pass it announces.
    #[inline(always)]
    pub(crate) fn observe(&self) -> Ticket {
        Ticket {
            seen: self.0.load(Ordering::Acquire),
            first: 0,
        }
    }

    /// A versioned write's ticket, with `n` fresh revisions. AcqRel: Acquire pairs with the
    /// pass's `fetch_or` as in [`Clock::observe`]; Release orders the write's earlier effects
    /// before any later reader of the counter.
    #[inline(always)]
    pub(crate) fn take_revisions(&self, n: u64) -> Ticket {
        let seen = self.0.fetch_add(n, Ordering::AcqRel);
        Ticket {
            seen,
            first: (seen & !PASS) + 1,
        }
    }

    /// The latest revision issued (versioned maps). Acquire pairs with the writers' `fetch_add`.
    #[inline(always)]
    pub(crate) fn revision(&self) -> u64 {
        self.0.load(Ordering::Acquire) & !PASS
    }

    /// Fixes a pass's instant on a versioned map and returns its version. AcqRel: Release
    /// publishes the pass (registered before this call) to every writer whose ticket sees the
    /// flag; Acquire makes every write with a lower revision visible to the pass.
    pub(crate) fn open_versioned(&self) -> u64 {
        self.0.fetch_or(PASS, Ordering::AcqRel) & !PASS
    }

    /// Fixes a pass's instant on a plain map and returns its sequence number. Only passes write
    /// a plain map's clock, and they run one at a time, so a store suffices. Release pairs with
    /// the Acquire of [`Clock::observe`].
    pub(crate) fn open_plain(&self) -> u64 {
        let seq = (self.0.load(Ordering::Relaxed) & !PASS) + 1;
        self.0.store(seq | PASS, Ordering::Release);
        seq
    }

    /// Starts a new map's clock at `revision` (a clone of a versioned map); the map is not
    /// shared yet.
    pub(crate) fn set_revision(&self, revision: u64) {
        self.0.store(revision, Ordering::Relaxed);
    }

    /// Ends the open pass: tickets taken from now on owe it nothing.
    pub(crate) fn close(&self) {
        self.0.fetch_and(!PASS, Ordering::AcqRel);
    }
}
