//! Bytes for an empty map and per record, against dashmap and the other peers, counted by a
//! global allocator that tracks live heap bytes. Each map holds `u64 -> u64` records and is
//! built as users build it (`new()`, default shard count and hasher).
//!
//! ```text
//! cargo bench --bench memory
//! ```
//!
//! "empty" is `size_of` the map plus the heap it allocates in `new()`; "per record" is the heap
//! the map holds after `n` inserts, less the empty map's heap, divided by `n`. Hash tables grow
//! by doubling, so the per-record figure swings with where `n` falls between two growths: it is
//! given at several sizes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap as StdHashMap;
use std::mem::size_of;
use std::sync::atomic::{AtomicIsize, Ordering};

mod common;
use common::{Entry, EntryMap, VersionedEntry, VersionedEntryMap};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's own arguments, so `Counting` upholds
// exactly the contract `System` does; the counter is a side effect that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// A map under test: how to build an empty one and how to insert `k`.
trait Measured {
    const NAME: &'static str;
    fn empty() -> Self;
    fn put(&self, k: u64);
}

impl Measured for EntryMap {
    const NAME: &'static str = "mapsafe";
    fn empty() -> Self {
        EntryMap::new()
    }
    fn put(&self, k: u64) {
        let _ = self.insert(Entry { k, v: k });
    }
}

impl Measured for VersionedEntryMap {
    const NAME: &'static str = "mapsafe-versioned";
    fn empty() -> Self {
        VersionedEntryMap::new()
    }
    fn put(&self, k: u64) {
        let _ = self.insert(VersionedEntry { k, v: k });
    }
}

impl Measured for dashmap::DashMap<u64, u64> {
    const NAME: &'static str = "dashmap";
    fn empty() -> Self {
        dashmap::DashMap::new()
    }
    fn put(&self, k: u64) {
        self.insert(k, k);
    }
}

impl Measured for scc::HashMap<u64, u64> {
    const NAME: &'static str = "scc";
    fn empty() -> Self {
        scc::HashMap::new()
    }
    fn put(&self, k: u64) {
        let _ = self.insert_sync(k, k);
    }
}

impl Measured for papaya::HashMap<u64, u64> {
    const NAME: &'static str = "papaya";
    fn empty() -> Self {
        papaya::HashMap::new()
    }
    fn put(&self, k: u64) {
        self.pin().insert(k, k);
    }
}

impl Measured for parking_lot::RwLock<StdHashMap<u64, u64>> {
    const NAME: &'static str = "rwlock-std";
    fn empty() -> Self {
        parking_lot::RwLock::new(StdHashMap::new())
    }
    fn put(&self, k: u64) {
        self.write().insert(k, k);
    }
}

const SIZES: [u64; 3] = [10_000, 100_000, 1_000_000];

fn row<T: Measured>() {
    let before = live();
    let map = T::empty();
    let empty_heap = live() - before;
    let mut cells = Vec::new();
    let mut inserted = 0;
    for n in SIZES {
        while inserted < n {
            map.put(inserted);
            inserted += 1;
        }
        let per_record = (live() - before - empty_heap) as f64 / n as f64;
        cells.push(format!("{per_record:.1}"));
    }
    drop(map);
    println!(
        "| {} | {} | {} | {} | {} |",
        T::NAME,
        size_of::<T>(),
        empty_heap,
        size_of::<T>() as isize + empty_heap,
        cells.join(" | ")
    );
}

/// The counter must see exactly what is allocated and freed, or every figure below is wrong.
fn check_the_counter() {
    let before = live();
    let mut v: Vec<u8> = Vec::with_capacity(1000);
    assert_eq!(live() - before, 1000, "alloc not counted");
    v.reserve_exact(3000);
    assert_eq!(live() - before, 3000, "realloc not counted");
    drop(v);
    assert_eq!(live(), before, "dealloc not counted");
    let zeroed = vec![0_u64; 100];
    assert_eq!(live() - before, 800, "alloc_zeroed not counted");
    drop(zeroed);
    assert_eq!(live(), before);
}

fn main() {
    check_the_counter();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "## memory, `u64 -> u64` records ({cores} hardware threads: default shard counts follow them)\n"
    );
    println!(
        "| map | size_of (B) | empty map heap (B) | empty map total (B) | per record at {} | at {} | at {} |",
        SIZES[0], SIZES[1], SIZES[2]
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    row::<EntryMap>();
    row::<VersionedEntryMap>();
    row::<dashmap::DashMap<u64, u64>>();
    row::<scc::HashMap<u64, u64>>();
    row::<papaya::HashMap<u64, u64>>();
    row::<parking_lot::RwLock<StdHashMap<u64, u64>>>();
    after_mass_removal();
}

/// Shards never shrink on their own (as std's and hashbrown's maps): the heap after filling
/// 1,000,000 records and removing 99% of them, then after `shrink_to_fit`.
fn after_mass_removal() {
    let before = live();
    let map = EntryMap::new();
    for k in 0..1_000_000 {
        map.put(k);
    }
    let full = live() - before;
    map.retain(|e| e.k % 100 == 0);
    let removed = live() - before;
    map.shrink_to_fit();
    let shrunk = live() - before;
    let mb = |b: isize| format!("{:.1} MB", b as f64 / 1e6);
    println!("\n## after removing 99% of 1,000,000 records (`retain`), then `shrink_to_fit`\n");
    println!("| state | records | heap |");
    println!("|---|---:|---:|");
    println!("| full | 1000000 | {} |", mb(full));
    println!("| after removing 99% | {} | {} |", map.len(), mb(removed));
    println!("| after `shrink_to_fit` | {} | {} |", map.len(), mb(shrunk));
}
