//! The write protocol: what every write does under its shard's write lock, after deciding to
//! change the shard and before changing it (see `clock` for why this fixes every write on one
//! side of a point-in-time pass's instant).
//!
//! A write takes its ticket; if the ticket came after an open pass fixed its instant and the
//! shard was not handed to that pass yet, the write first serves the pass (hands it the shard
//! as it still is). The hot path is one atomic on the clock and a test; serving is cold, out of
//! line, and type-erased behind [`Settle`] so that entries and transactions, which do not know
//! the map's hasher, share it.

use core::sync::atomic::Ordering;

use hashbrown::hash_table::{OccupiedEntry, VacantEntry};

use crate::clock::Ticket;
use crate::probes::Probe;
use crate::record::{Mode, Record};
use crate::shard::{Entry, ShardSlot, Shared, Table, no_rehash};

/// A write's ticket: `n` fresh revisions on a versioned map, an observation of the clock on a
/// plain one.
#[inline(always)]
pub(crate) fn take_ticket<R: Record, M: Mode>(shared: &Shared<R, M>, n: u64) -> Ticket {
    if M::VERSIONED {
        shared.clock.take_revisions(n)
    } else {
        shared.clock.observe()
    }
}

/// The write protocol for a change to the entry just `found` under `slot`'s write lock: takes
/// the ticket (`n` fresh revisions on a versioned map). Hot path: no pass is owed and the entry
/// is handed back as it is, so the write probes the table once. Cold path: serve the pass
/// first, then take the entry again by its bucket.
#[inline(always)]
pub(crate) fn begin_write_at<'t, R: Record, M: Mode>(
    shared: &Shared<R, M>,
    slot: &ShardSlot<R, M>,
    settle: &(impl Settle<R, M> + ?Sized),
    found: OccupiedEntry<'t, Entry<R, M>>,
    n: u64,
) -> (OccupiedEntry<'t, Entry<R, M>>, Ticket) {
    let ticket = take_ticket(shared, n);
    if owes(shared, slot, ticket) {
        return (settle_at(slot, settle, found, ticket), ticket);
    }
    (found, ticket)
}

#[cold]
#[inline(never)]
fn settle_at<'t, R: Record, M: Mode>(
    slot: &ShardSlot<R, M>,
    settle: &(impl Settle<R, M> + ?Sized),
    found: OccupiedEntry<'t, Entry<R, M>>,
    ticket: Ticket,
) -> OccupiedEntry<'t, Entry<R, M>> {
    let bucket = found.bucket_index();
    let table = found.into_table();
    settle.settle(slot, table, ticket);
    table
        .get_bucket_entry(bucket)
        .ok()
        .expect("mapsafe bug: a served pass moved an entry")
}

/// Stores `record` in the `vacant` slot its key's probe ended on (the caller made room), under
/// the write protocol; returns the stored entry and the write's revision. If a pass is owed, it
/// is served first and the record is stored by a second probe.
#[inline(always)]
pub(crate) fn store_vacant<'t, R: Record, M: Mode>(
    shared: &Shared<R, M>,
    slot: &ShardSlot<R, M>,
    settle: &(impl Settle<R, M> + ?Sized),
    vacant: VacantEntry<'t, Entry<R, M>>,
    hash: u64,
    record: R,
) -> (OccupiedEntry<'t, Entry<R, M>>, u64) {
    let ticket = take_ticket(shared, 1);
    slot.note(Probe::Inserts, 1);
    let entry = Entry {
        revision: M::revision(ticket.first),
        record,
    };
    let stored = if owes(shared, slot, ticket) {
        let table = vacant.into_table();
        settle.settle(slot, table, ticket);
        table.insert_unique(hash, entry, no_rehash)
    } else {
        vacant.insert(entry)
    };
    (stored, ticket.first)
}

/// The fast check of the write protocol, under `slot`'s write lock: if the ticket shows an open
/// pass that this shard has not been handed to, let `settle` decide and serve it.
#[inline(always)]
pub(crate) fn settle_if_owed<R: Record, M: Mode>(
    shared: &Shared<R, M>,
    slot: &ShardSlot<R, M>,
    table: &Table<R, M>,
    ticket: Ticket,
    settle: &dyn Settle<R, M>,
) {
    if owes(shared, slot, ticket) {
        settle.settle(slot, table, ticket);
    }
}

/// `true` if a write with this ticket, under `slot`'s write lock, may owe the open pass its
/// shard (the caller then lets [`Settle`] decide).
#[inline(always)]
fn owes<R: Record, M: Mode>(shared: &Shared<R, M>, slot: &ShardSlot<R, M>, ticket: Ticket) -> bool {
    // `served` is written under the shard's lock, which the caller holds (Relaxed). `open_id`'s
    // Acquire pairs with the clock's Release in the pass that set it.
    ticket.during_pass()
        && slot.served.load(Ordering::Relaxed) != shared.open_id.load(Ordering::Acquire)
}

/// The slow half of the write protocol, type-erased so that entries and transactions (which do
/// not know the hasher) can call it.
pub(crate) trait Settle<R: Record, M: Mode> {
    /// Serves the open pass if the ticket came after its instant and the shard was not handed
    /// to it yet.
    fn settle(&self, slot: &ShardSlot<R, M>, table: &Table<R, M>, ticket: Ticket);
}
