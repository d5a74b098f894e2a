//! Every read-decide-write in one call: `entry`, `get_or_insert_with`, `remove_if`,
//! `compare_and_remove` and transactions, branch by branch, then under concurrent threads
//! (seeded; each test prints its seed).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use mapsafe_core::check::Target;
use mapsafe_core::{Entry, Plain, ShardedMap, Versioned, VersionedMode};

type Words = ShardedMap<(String, u64), Plain>;
type Stock = ShardedMap<(u64, i64), VersionedMode>;

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A seed from `MAPSAFE_SEED` or the clock, printed so a failure can be rerun.
fn seed(test: &str) -> u64 {
    let seed = std::env::var("MAPSAFE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("{test}: MAPSAFE_SEED={seed}");
    seed
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

// ----- entry --------------------------------------------------------------------------------

#[test]
fn entry_sees_occupied_and_vacant_slots_and_writes_through_both() {
    let words = Words::with_shards(4);
    assert!(!words.entry("cat", |e| e.is_occupied()));
    words.entry("cat", |e| *e.or_insert(("cat".into(), 1)) += 10);
    assert_eq!(words.get("cat"), Some(("cat".into(), 11)));
    words.entry("cat", |e| *e.or_insert(("cat".into(), 1)) += 10);
    assert_eq!(words.get("cat"), Some(("cat".into(), 21)));
    let old = words.entry("cat", |e| match e {
        Entry::Occupied(mut o) => o.insert(("cat".into(), 5)),
        Entry::Vacant(_) => unreachable!(),
    });
    assert_eq!(old, ("cat".into(), 21));
    let removed = words.entry("cat", |e| match e {
        Entry::Occupied(o) => Some(o.remove()),
        Entry::Vacant(_) => None,
    });
    assert_eq!(removed, Some(("cat".into(), 5)));
    assert!(words.is_empty());
    // and_modify only touches present records.
    words.entry("dog", |e| {
        e.and_modify(|n| *n += 1)
            .or_insert_with(|| ("dog".into(), 0));
    });
    words.entry("dog", |e| {
        e.and_modify(|n| *n += 1)
            .or_insert_with(|| ("dog".into(), 0));
    });
    assert_eq!(words.get("dog"), Some(("dog".into(), 1)));
    assert_eq!(words.len(), 1);
    words.verify_consistency().unwrap();
}

#[test]
fn entry_with_a_record_for_another_key_panics_and_stores_nothing() {
    let words = Words::with_shards(4);
    let message = catch_unwind(AssertUnwindSafe(|| {
        words.entry("cat", |e| {
            let _ = e.or_insert(("dog".into(), 1));
        })
    }))
    .map(drop)
    .map_err(panic_message)
    .unwrap_err();
    assert!(
        message.contains("\"cat\"") && message.contains("\"dog\""),
        "{message}"
    );
    assert!(words.is_empty());
    let _ = words.insert(("cat".into(), 1));
    let message = catch_unwind(AssertUnwindSafe(|| {
        words.entry("cat", |e| {
            if let Entry::Occupied(mut o) = e {
                o.insert(("dog".into(), 2));
            }
        })
    }))
    .map_err(panic_message)
    .unwrap_err();
    assert!(message.contains("\"dog\""), "{message}");
    assert_eq!(words.get("cat"), Some(("cat".into(), 1)));
    words.verify_consistency().unwrap();
}

#[test]
fn entry_writes_take_fresh_revisions_and_reads_take_none() {
    let stock = Stock::with_shards(2);
    stock.entry(&1, |e| *e.or_insert((1, 5)) += 1);
    assert_eq!(
        stock.version(),
        1,
        "an insert and the view it hands back are one write"
    );
    stock.entry(&1, |e| *e.or_insert((1, 5)) += 1);
    assert_eq!(
        stock.version(),
        2,
        "the view of an occupied slot is a write"
    );
    let seen = stock.entry(&1, |e| match e {
        Entry::Occupied(o) => o.version(),
        Entry::Vacant(_) => 0,
    });
    assert_eq!(seen, 2);
    assert_eq!(
        stock.version(),
        2,
        "a read through the entry takes no revision"
    );
    assert!(!stock.entry(&2, |e| e.is_occupied()));
    assert_eq!(stock.version(), 2);
    assert_eq!(stock.get_versioned(&1).unwrap().version, 2);
    // Several changes through one entry are one write: one revision.
    stock.entry(&1, |e| {
        *e.and_modify(|n| *n += 1).or_insert((1, 0)) += 1;
    });
    assert_eq!(stock.version(), 3);
    assert_eq!(stock.get(&1), Some((1, 9)));
}

#[test]
fn a_panic_inside_entry_keeps_what_was_written_and_unlocks() {
    let words = Words::with_shards(1);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        words.entry("cat", |e| {
            *e.or_insert(("cat".into(), 1)) += 1;
            panic!("boom");
        })
    }));
    assert_eq!(words.get("cat"), Some(("cat".into(), 2)));
    words.verify_consistency().unwrap();
}

// ----- get_or_insert_with, remove_if, compare_and_remove ----------------------------------------

#[test]
fn get_or_insert_with_runs_make_only_when_absent() {
    let stock = Stock::with_shards(2);
    let mut made = 0;
    let first = stock.get_or_insert_with(&1, || {
        made += 1;
        (1, 10)
    });
    let second = stock.get_or_insert_with(&1, || {
        made += 1;
        (1, 20)
    });
    assert_eq!((first, second, made), ((1, 10), (1, 10), 1));
    assert_eq!(stock.version(), 1, "finding the key takes no revision");
    // A panicking make stores nothing; a wrong key panics and stores nothing.
    assert!(
        catch_unwind(AssertUnwindSafe(
            || stock.get_or_insert_with(&2, || panic!("no"))
        ))
        .is_err()
    );
    let message = catch_unwind(AssertUnwindSafe(|| stock.get_or_insert_with(&3, || (4, 0))))
        .map_err(panic_message)
        .unwrap_err();
    assert!(
        message.contains("key 3") && message.contains("key 4"),
        "{message}"
    );
    assert_eq!(stock.len(), 1);
    assert_eq!(stock.version(), 1);
}

#[test]
fn remove_if_removes_only_when_the_predicate_holds() {
    let stock = Stock::with_shards(2);
    let _ = stock.insert((1, 10));
    assert_eq!(stock.remove_if(&1, |r| r.1 > 10), None);
    assert_eq!(stock.remove_if(&2, |_| true), None);
    assert_eq!(stock.version(), 1, "a refusal takes no revision");
    assert!(catch_unwind(AssertUnwindSafe(|| stock.remove_if(&1, |_| panic!("no")))).is_err());
    assert_eq!(stock.len(), 1, "a panicking predicate removes nothing");
    assert_eq!(stock.remove_if(&1, |r| r.1 == 10), Some((1, 10)));
    assert_eq!(stock.version(), 2);
    assert!(stock.is_empty());
}

#[test]
fn compare_and_remove_checks_the_revision() {
    let stock = Stock::with_shards(2);
    assert_eq!(stock.compare_and_remove(0, &1), Err(0));
    let rev = stock.compare_and_swap(0, (1, 10)).unwrap();
    assert_eq!(stock.compare_and_remove(rev + 5, &1), Err(rev));
    assert_eq!(stock.version(), rev, "a refusal takes no revision");
    assert_eq!(
        stock.compare_and_remove(rev, &1),
        Ok(Versioned {
            version: rev + 1,
            value: (1, 10)
        })
    );
    assert_eq!(stock.version(), rev + 1);
    assert!(stock.is_empty());
}

// ----- transactions -------------------------------------------------------------------------

#[test]
fn a_transaction_commits_all_its_writes_or_none() {
    let stock = Stock::with_shards(8);
    let _ = stock.insert((1, 10));
    let _ = stock.insert((2, 0));
    let before = stock.version();
    let out: Result<(), &str> = stock.transaction(&[&1, &2, &3], |tx| {
        assert_eq!(tx.version_of(&1), 1);
        let _ = tx.update(&1, |n| *n -= 4);
        let _ = tx.update(&2, |n| *n += 4);
        assert_eq!(tx.insert((3, 99)), None);
        assert_eq!(
            tx.get(&1),
            Some(&(1, 6)),
            "reads see the transaction's own writes"
        );
        Ok(())
    });
    assert_eq!(out, Ok(()));
    let revisions: Vec<u64> = [1, 2, 3]
        .iter()
        .map(|k| stock.get_versioned(k).unwrap().version)
        .collect();
    let mut sorted = revisions.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![before + 1, before + 2, before + 3],
        "consecutive revisions"
    );
    assert_eq!(stock.version(), before + 3);
    // Err: nothing written, no revision.
    let out: Result<(), &str> = stock.transaction(&[&1, &2], |tx| {
        let _ = tx.update(&1, |n| *n = 0);
        assert_eq!(tx.remove(&2), Some((2, 4)));
        Err("changed my mind")
    });
    assert_eq!(out, Err("changed my mind"));
    // Panic: nothing written.
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        stock.transaction(&[&1], |tx| -> Result<(), ()> {
            let _ = tx.update(&1, |n| *n = -1);
            panic!("boom")
        })
    }));
    assert!(panicked.is_err());
    assert_eq!(stock.version(), before + 3);
    assert_eq!(stock.get(&1), Some((1, 6)));
    assert_eq!(stock.get(&2), Some((2, 4)));
    // A read-only transaction takes no revision.
    let seen = stock.transaction(&[&1], |tx| Ok::<_, ()>(tx.get(&1).cloned()));
    assert_eq!(seen, Ok(Some((1, 6))));
    assert_eq!(stock.version(), before + 3);
    stock.verify_consistency().unwrap();
}

#[test]
fn a_transaction_touching_an_undeclared_key_panics_and_writes_nothing() {
    let stock = Stock::with_shards(1);
    let _ = stock.insert((1, 10));
    let _ = stock.insert((2, 10));
    let message = catch_unwind(AssertUnwindSafe(|| {
        stock.transaction(&[&1], |tx| {
            let _ = tx.update(&1, |n| *n = 0);
            let _ = tx.update(&2, |n| *n = 0);
            Ok::<_, ()>(())
        })
    }))
    .map_err(panic_message)
    .unwrap_err();
    assert!(message.contains("key 2"), "{message}");
    let message = catch_unwind(AssertUnwindSafe(|| {
        stock.transaction(&[&1], |tx| Ok::<_, ()>(tx.insert((7, 0))))
    }))
    .map_err(panic_message)
    .unwrap_err();
    assert!(message.contains("key 7"), "{message}");
    assert_eq!(stock.get(&1), Some((1, 10)));
    assert_eq!(stock.len(), 2);
    assert_eq!(stock.version(), 2);
}

#[test]
fn calling_the_map_inside_a_transaction_panics() {
    let stock = Stock::with_shards(1);
    let message = catch_unwind(AssertUnwindSafe(|| {
        stock.transaction(&[&1], |_| Ok::<_, ()>(stock.get(&1)))
    }))
    .map_err(panic_message)
    .unwrap_err();
    assert!(message.contains("inside `transaction`"), "{message}");
    assert!(stock.is_empty());
}

// ----- under concurrency --------------------------------------------------------------------

#[test]
fn a_word_count_through_entry_loses_no_increment() {
    let seed = seed("a_word_count_through_entry_loses_no_increment");
    let words = Arc::new(Words::with_shards(4));
    let threads = 4;
    let per_thread = 5_000;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let words = words.clone();
            thread::spawn(move || {
                let mut state = seed ^ (t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                for _ in 0..per_thread {
                    let word = format!("w{}", next(&mut state) % 16);
                    words.entry(word.as_str(), |e| {
                        *e.or_insert_with(|| (word.clone(), 0)) += 1
                    });
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut total = 0;
    words.for_each(|(_, n)| total += n);
    assert_eq!(total, (threads * per_thread) as u64, "seed {seed}");
}

#[test]
fn get_or_insert_with_computes_each_key_once_under_races() {
    let seed = seed("get_or_insert_with_computes_each_key_once_under_races");
    let map = Arc::new(ShardedMap::<(u64, u64), Plain>::with_shards(8));
    let made = Arc::new(AtomicUsize::new(0));
    let keys = 2_000u64;
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (map, made, barrier) = (map.clone(), made.clone(), barrier.clone());
            thread::spawn(move || {
                let mut state = seed.wrapping_add(t) | 1;
                barrier.wait();
                for _ in 0..keys * 2 {
                    let k = next(&mut state) % keys;
                    let (_, v) = map.get_or_insert_with(&k, || {
                        made.fetch_add(1, Ordering::Relaxed);
                        (k, k * 7)
                    });
                    assert_eq!(v, k * 7);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(made.load(Ordering::Relaxed), map.len(), "seed {seed}");
}

/// Moves stock between two keys in different shards while snapshots audit the total: a
/// transaction is never seen half done, where two updates would be.
#[test]
fn snapshots_never_see_a_transaction_half_done() {
    let seed = seed("snapshots_never_see_a_transaction_half_done");
    let stock = Arc::new(Stock::with_shards(8));
    let a = 0u64;
    let b = (1..)
        .find(|k| stock.shard_of(k) != stock.shard_of(&a))
        .unwrap();
    let _ = stock.insert((a, 1_000));
    let _ = stock.insert((b, 1_000));
    let movers: Vec<_> = (0..2)
        .map(|t| {
            let stock = stock.clone();
            thread::spawn(move || {
                let mut state = seed.wrapping_add(t) | 1;
                for _ in 0..2_000 {
                    let (from, to) = if next(&mut state) % 2 == 0 {
                        (a, b)
                    } else {
                        (b, a)
                    };
                    let _ = stock.transaction(&[&from, &to], |tx| {
                        let have = tx.get(&from).map_or(0, |r| r.1);
                        if have < 3 {
                            return Err(());
                        }
                        let _ = tx.update(&from, |n| *n -= 3);
                        let _ = tx.update(&to, |n| *n += 3);
                        Ok(())
                    });
                }
            })
        })
        .collect();
    let mut audits = 0;
    while movers.iter().any(|m| !m.is_finished()) {
        let snapshot = stock.snapshot();
        let total: i64 = snapshot.iter().map(|r| r.1).sum();
        assert_eq!(
            total, 2_000,
            "a snapshot saw a transfer half done (seed {seed})"
        );
        assert_eq!(stock.len(), 2);
        audits += 1;
    }
    for m in movers {
        m.join().unwrap();
    }
    assert!(audits > 0);
    let total: i64 = stock.snapshot().iter().map(|r| r.1).sum();
    assert_eq!(total, 2_000);
    stock.verify_consistency().unwrap();
}
