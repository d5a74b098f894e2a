//! The runtime behaviour of the API `#[concurrent_map]` generates: every method, lookups by a
//! borrowed form of the key, and the semantics of versioned maps.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use mapsafe::{Conflict, Entry, LoadOrStore, Versioned, concurrent_map};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Placed,
    Shipped,
    Delivered,
}

#[concurrent_map(shards = 32, versioned)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: Status,
    pub updated_at: u64,
}

fn order(id: u64, status: Status, updated_at: u64) -> Order {
    Order {
        id,
        status,
        updated_at,
    }
}

#[concurrent_map(shards = 4)]
#[derive(Clone, Debug, PartialEq)]
struct User {
    #[key]
    name: String,
    visits: u32,
}

fn user(name: &str, visits: u32) -> User {
    User {
        name: name.to_string(),
        visits,
    }
}

#[test]
fn constructors_honour_the_shards_argument() {
    assert_eq!(OrderMap::new().shard_count(), 32);
    assert_eq!(OrderMap::with_capacity(1000).shard_count(), 32);
    assert_eq!(OrderMap::default().shard_count(), 32);
    assert_eq!(UserMap::new().shard_count(), 4);
    assert!(OrderMap::new().is_empty());
}

#[test]
fn the_default_shard_count_comes_from_the_runtime() {
    #[concurrent_map]
    #[derive(Clone)]
    struct Plain {
        #[key]
        k: u8,
    }
    assert_eq!(
        PlainMap::new().shard_count(),
        mapsafe::default_shard_count()
    );
    assert!(mapsafe::default_shard_count().is_power_of_two());
}

#[test]
fn insert_get_read_remove_round_trip() {
    let map = OrderMap::new();
    assert_eq!(map.insert(order(1, Status::Placed, 10)), None);
    assert_eq!(
        map.insert(order(1, Status::Shipped, 11)),
        Some(order(1, Status::Placed, 10))
    );
    assert_eq!(map.len(), 1);
    assert!(map.contains_key(&1));
    assert!(!map.contains_key(&2));
    assert_eq!(map.get(&1), Some(order(1, Status::Shipped, 11)));
    assert_eq!(map.get(&2), None);
    assert_eq!(map.read(&1, |o| o.updated_at), Some(11));
    assert_eq!(map.read(&2, |o| o.updated_at), None);
    assert_eq!(map.remove(&1), Some(order(1, Status::Shipped, 11)));
    assert_eq!(map.remove(&1), None);
    assert!(map.is_empty());
}

#[test]
fn string_keys_are_looked_up_by_str() {
    let users = UserMap::new();
    assert_eq!(users.insert(user("ada", 1)), None);
    assert!(users.contains_key("ada"));
    assert_eq!(users.get("ada"), Some(user("ada", 1)));
    assert_eq!(users.read("ada", |u| u.visits), Some(1));
    assert_eq!(users.update("ada", |u| *u.visits += 1), Some(()));
    assert_eq!(users.get(&"ada".to_string()).map(|u| u.visits), Some(2));
    assert_eq!(users.remove("ada"), Some(user("ada", 2)));
    assert!(!users.contains_key("ada"));
}

#[test]
fn update_changes_every_field_but_the_key_and_reports_absence() {
    let map = OrderMap::new();
    let _ = map.insert(order(7, Status::Placed, 1));
    let out = map.update(&7, |o| {
        *o.status = Status::Delivered;
        *o.updated_at = 5;
        "done"
    });
    assert_eq!(out, Some("done"));
    assert_eq!(map.get(&7), Some(order(7, Status::Delivered, 5)));
    assert_eq!(map.update(&8, |o| *o.updated_at = 9), None);
    assert!(!map.contains_key(&8));
}

#[test]
fn load_or_store_stores_once_and_hands_back_the_offer() {
    let map = OrderMap::new();
    assert!(map.load_or_store(order(1, Status::Placed, 1)).is_stored());
    match map.load_or_store(order(1, Status::Shipped, 2)) {
        LoadOrStore::Loaded { current, offered } => {
            assert_eq!(current, order(1, Status::Placed, 1));
            assert_eq!(offered, order(1, Status::Shipped, 2));
        }
        LoadOrStore::Stored => panic!("the key was present"),
    }
    assert_eq!(map.get(&1), Some(order(1, Status::Placed, 1)));
}

#[test]
fn retain_and_clear_remove_records() {
    let map = OrderMap::new();
    for id in 0..100 {
        let _ = map.insert(order(id, Status::Placed, id));
    }
    map.retain(|o| o.id % 2 == 0);
    assert_eq!(map.len(), 50);
    assert!(map.contains_key(&0) && !map.contains_key(&1));
    map.clear();
    assert!(map.is_empty());
    assert_eq!(map.len(), 0);
}

#[test]
fn snapshot_is_an_owned_copy_with_every_iterator() {
    let map = OrderMap::new();
    for id in 0..10 {
        let _ = map.insert(order(id, Status::Placed, id));
    }
    let snapshot = map.snapshot();
    map.clear();
    assert_eq!(snapshot.len(), 10);
    assert!(!snapshot.is_empty());
    let by_ref: HashSet<u64> = snapshot.iter().map(|o| o.id).collect();
    let by_ref_loop: HashSet<u64> = (&snapshot).into_iter().map(|o| o.id).collect();
    let owned: HashSet<u64> = snapshot.into_iter().map(|o| o.id).collect();
    assert_eq!(by_ref, (0..10).collect());
    assert_eq!(by_ref, by_ref_loop);
    assert_eq!(by_ref, owned);
}

#[test]
fn every_write_takes_a_fresh_increasing_revision() {
    let map = OrderMap::new();
    assert_eq!(map.version(), 0);
    let _ = map.insert(order(1, Status::Placed, 1));
    assert_eq!(map.version(), 1);
    assert!(map.load_or_store(order(2, Status::Placed, 1)).is_stored());
    assert_eq!(map.version(), 2);
    assert!(map.load_or_store(order(2, Status::Shipped, 2)).is_loaded());
    assert_eq!(
        map.version(),
        2,
        "a load that stores nothing is not a write"
    );
    assert_eq!(map.update(&1, |o| *o.updated_at = 2), Some(()));
    assert_eq!(map.version(), 3);
    assert_eq!(map.get_versioned(&1).map(|v| v.version), Some(3));
    assert_eq!(map.remove(&2).map(|o| o.id), Some(2));
    assert_eq!(map.version(), 4);
    let _ = map.insert(order(5, Status::Placed, 1));
    map.retain(|o| o.id != 5);
    assert_eq!(map.version(), 6);
    map.clear();
    assert_eq!(map.version(), 7, "clear stamps every record it removes");
}

#[test]
fn compare_and_swap_refuses_stale_writes_and_hands_the_record_back() {
    let map = OrderMap::new();
    assert_eq!(
        map.compare_and_swap(1, order(1, Status::Placed, 1)),
        Err(Conflict {
            actual: 0,
            offered: order(1, Status::Placed, 1)
        })
    );
    let first = map
        .compare_and_swap(0, order(1, Status::Placed, 1))
        .unwrap();
    let seen = map.get_versioned(&1).unwrap();
    assert_eq!(
        seen,
        Versioned {
            version: first,
            value: order(1, Status::Placed, 1)
        }
    );
    let _ = map.insert(order(1, Status::Shipped, 2));
    let conflict = map
        .compare_and_swap(seen.version, order(1, Status::Delivered, 3))
        .unwrap_err();
    assert_eq!(conflict.actual, map.version());
    assert_eq!(conflict.offered, order(1, Status::Delivered, 3));
    let now = map.get_versioned(&1).unwrap();
    let next = map
        .compare_and_swap(now.version, order(1, Status::Delivered, 3))
        .unwrap();
    assert!(next > now.version);
    assert_eq!(map.version(), next);
    assert_eq!(map.get_versioned(&9), None);
}

#[test]
fn snapshot_version_marks_the_writes_it_holds() {
    let map = OrderMap::new();
    let _ = map.insert(order(1, Status::Placed, 1));
    let _ = map.insert(order(2, Status::Placed, 1));
    let snapshot = map.snapshot();
    let _ = map.insert(order(3, Status::Placed, 1));
    assert_eq!(snapshot.version(), 2);
    assert_eq!(snapshot.len(), 2);
    assert_eq!(map.version(), 3);
}

#[test]
fn verify_consistency_reports_size_and_shards() {
    let map = OrderMap::new();
    for id in 0..64 {
        let _ = map.insert(order(id, Status::Placed, id));
    }
    let report = map.verify_consistency().expect("consistent");
    assert_eq!(report.entries, 64);
    assert_eq!(report.shards, 32);
    assert_eq!(report.version, Some(64));
    assert!(report.min_shard_len <= 2 && report.max_shard_len >= 2);
    let plain = UserMap::new();
    let _ = plain.insert(user("ada", 1));
    assert_eq!(plain.verify_consistency().unwrap().version, None);
}

#[test]
fn debug_shows_size_and_shards_not_records() {
    let map = OrderMap::new();
    let _ = map.insert(order(1, Status::Placed, 1));
    assert_eq!(
        format!("{map:?}"),
        "OrderMap { len: 1, shards: 32, version: 1, .. }"
    );
    assert_eq!(
        format!("{:?}", UserMap::new()),
        "UserMap { len: 0, shards: 4, .. }"
    );
    let seen = map.update(&1, |o| format!("{o:?}"));
    assert_eq!(seen.as_deref(), Some("OrderMut { .. }"));
}

#[test]
fn calling_the_map_from_its_own_closure_panics_instead_of_deadlocking() {
    let map = OrderMap::new();
    let _ = map.insert(order(1, Status::Placed, 1));
    let reentered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        map.read(&1, |_| map.len() + usize::from(map.contains_key(&1)))
    }));
    assert!(reentered.is_err());
    // The map is unlocked and usable after the panic.
    assert_eq!(map.update(&1, |o| *o.updated_at = 2), Some(()));
}

#[test]
fn threads_sharing_through_arc_lose_no_update() {
    let map = Arc::new(UserMap::new());
    let _ = map.insert(user("ada", 0));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let map = Arc::clone(&map);
            thread::spawn(move || {
                for _ in 0..1000 {
                    assert_eq!(map.update("ada", |u| *u.visits += 1), Some(()));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(map.read("ada", |u| u.visits), Some(4000));
}

#[test]
fn scoped_threads_can_share_a_borrowed_map() {
    let map = OrderMap::new();
    thread::scope(|s| {
        for t in 0..4_u64 {
            let map = &map;
            s.spawn(move || {
                for i in 0..100 {
                    let _ = map.insert(order(t * 1000 + i, Status::Placed, i));
                }
            });
        }
    });
    assert_eq!(map.len(), 400);
    assert_eq!(map.version(), 400);
}

#[test]
fn a_custom_hasher_and_name_are_used() {
    #[concurrent_map(name = Registry, hasher = std::hash::RandomState, shards = 2)]
    #[derive(Clone, Debug, PartialEq)]
    struct Entry {
        #[key]
        key: (u32, String),
        note: String,
    }
    let map = Registry::new();
    let _ = map.insert(Entry {
        key: (1, "a".into()),
        note: "x".into(),
    });
    assert_eq!(map.shard_count(), 2);
    assert_eq!(
        map.read(&(1, "a".to_string()), |e| e.note.clone()),
        Some("x".into())
    );
    assert_eq!(format!("{map:?}"), "Registry { len: 1, shards: 2, .. }");
}

#[test]
fn the_macro_agrees_with_the_runtime_on_the_largest_shard_count() {
    #[concurrent_map(shards = 1024)]
    struct Wide {
        #[key]
        k: u8,
    }
    assert_eq!(WideMap::new().shard_count(), mapsafe::MAX_SHARDS);
}

#[test]
fn a_record_without_clone_gets_every_method_that_does_not_copy() {
    #[concurrent_map(versioned)]
    struct Counter {
        #[key]
        name: &'static str,
        hits: u64,
    }
    let map = CounterMap::new();
    assert!(map.insert(Counter { name: "a", hits: 0 }).is_none());
    assert_eq!(
        map.update("a", |c| {
            *c.hits += 1;
            *c.hits
        }),
        Some(1)
    );
    assert_eq!(map.read("a", |c| c.hits), Some(1));
    assert!(
        map.compare_and_swap(1, Counter { name: "a", hits: 5 })
            .is_err()
    );
    assert_eq!(map.remove("a").map(|c| c.hits), Some(1));
}

#[test]
fn fields_under_cfg_follow_their_cfg() {
    #[concurrent_map]
    struct Tagged {
        #[key]
        id: u32,
        #[cfg(not(test))]
        never: Vec<u8>,
        #[cfg(test)]
        always: u32,
    }
    let map = TaggedMap::new();
    let _ = map.insert(Tagged { id: 1, always: 2 });
    assert_eq!(
        map.update(&1, |t| {
            *t.always += 1;
            *t.always
        }),
        Some(3)
    );
}

#[concurrent_map(versioned, consistency_test = make_line)]
#[derive(Clone, Debug, PartialEq)]
struct OrderLine {
    #[key]
    id: (u64, u32),
    quantity: u64,
}

fn make_line(key: u64, nonce: u64) -> OrderLine {
    OrderLine {
        id: (key, 7),
        quantity: nonce,
    }
}

#[test]
fn consistency_test_argument_generates_a_test_with_a_deterministic_name() {
    // Also run by the harness on its own; calling it by name proves the name.
    order_line_map_consistency();
}

fn set_quantity(line: OrderLineMut<'_>, nonce: u64) {
    *line.quantity = nonce;
}

#[test]
fn the_public_checker_runs_on_a_generated_map_with_an_updater() {
    use mapsafe::check::{Checker, Config};

    let checker = Checker::new(make_line)
        .updater(set_quantity)
        .name("OrderLineMap")
        .config(Config::new().threads(3).ops_per_thread(200).seed(11));
    let report = checker
        .run_seeds(OrderLineMap::new, 2)
        .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(report.runs, 2);
}

/// Runs `f` on another thread and fails if it takes longer than `limit` (a deadlock would
/// otherwise hang the test run).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|e| panic!("no answer within {limit:?} ({e}): a deadlock or a panic"))
}

#[test]
fn entry_inserts_modifies_and_removes_through_one_call() {
    let users = UserMap::new();
    let vacant = users.entry("ada", |e| {
        let occupied = e.is_occupied();
        *e.or_insert_with(|| user("ada", 0)).visits += 1;
        occupied
    });
    assert!(!vacant);
    users.entry("ada", |e| {
        let _ = e.and_modify(|u| *u.visits += 10);
    });
    assert_eq!(users.get("ada"), Some(user("ada", 11)));
    let removed = users.entry("ada", |e| match e {
        Entry::Occupied(o) if o.get().visits > 10 => Some(o.remove()),
        _ => None,
    });
    assert_eq!(removed, Some(user("ada", 11)));
    let inserted = users.entry("bob", |e| match e {
        Entry::Vacant(v) => *v.insert(user("bob", 3)).visits,
        Entry::Occupied(_) => panic!("bob was never inserted"),
    });
    assert_eq!(inserted, 3);
    assert_eq!(users.len(), 1);
}

#[test]
fn entry_changes_to_a_present_record_share_one_revision() {
    let map = OrderMap::new();
    let _ = map.insert(order(1, Status::Placed, 1));
    let seen = map.entry(&1, |e| match e {
        Entry::Occupied(mut o) => {
            *o.get_mut().status = Status::Shipped;
            *o.get_mut().updated_at = 2;
            o.version()
        }
        Entry::Vacant(_) => panic!("order 1 is present"),
    });
    assert_eq!(seen, 2, "the first change took a fresh revision");
    assert_eq!(map.version(), 2, "the second change shared it");
    assert_eq!(
        map.get_versioned(&1),
        Some(Versioned {
            version: 2,
            value: order(1, Status::Shipped, 2)
        })
    );
}

#[test]
fn get_or_insert_with_makes_a_record_only_for_an_absent_key() {
    let map = OrderMap::new();
    let mut made = 0;
    for _ in 0..3 {
        let got = map.get_or_insert_with(&4, || {
            made += 1;
            order(4, Status::Placed, 9)
        });
        assert_eq!(got, order(4, Status::Placed, 9));
    }
    assert_eq!(made, 1);
    assert_eq!(map.version(), 1, "only the storing call is a write");
    let users = UserMap::new();
    let _ = users.insert(user("ada", 5));
    assert_eq!(
        users.get_or_insert_with("ada", || user("ada", 0)),
        user("ada", 5)
    );
}

#[test]
fn get_or_insert_with_from_many_threads_makes_one_record() {
    let made = within(Duration::from_secs(30), || {
        let map = Arc::new(UserMap::new());
        let made = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (map, made) = (Arc::clone(&map), Arc::clone(&made));
                thread::spawn(move || {
                    for _ in 0..100 {
                        let got = map.get_or_insert_with("ada", || {
                            made.fetch_add(1, Ordering::Relaxed);
                            user("ada", 1)
                        });
                        assert_eq!(got, user("ada", 1));
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        made.load(Ordering::Relaxed)
    });
    assert_eq!(made, 1);
}

#[test]
fn remove_if_removes_only_when_the_predicate_holds() {
    let map = OrderMap::new();
    let _ = map.insert(order(1, Status::Placed, 1));
    assert_eq!(map.remove_if(&1, |o| o.status == Status::Delivered), None);
    assert!(map.contains_key(&1));
    assert_eq!(map.version(), 1, "a refused removal is not a write");
    assert_eq!(
        map.remove_if(&1, |o| o.status == Status::Placed),
        Some(order(1, Status::Placed, 1))
    );
    assert_eq!(map.version(), 2);
    assert_eq!(map.remove_if(&1, |_| true), None);
    let users = UserMap::new();
    let _ = users.insert(user("ada", 2));
    assert_eq!(
        users.remove_if("ada", |u| u.visits == 2),
        Some(user("ada", 2))
    );
}

#[test]
fn compare_and_remove_refuses_a_stale_revision() {
    let map = OrderMap::new();
    let rev = map
        .compare_and_swap(0, order(1, Status::Placed, 1))
        .unwrap();
    assert_eq!(map.compare_and_remove(rev + 1, &1), Err(rev));
    assert!(map.contains_key(&1));
    assert_eq!(
        map.compare_and_remove(rev, &1),
        Ok(Versioned {
            version: rev + 1,
            value: order(1, Status::Placed, 1)
        })
    );
    assert_eq!(
        map.compare_and_remove(rev, &1),
        Err(0),
        "absent: revision 0"
    );
}

#[test]
fn a_transaction_writes_all_or_nothing() {
    let map = OrderMap::new();
    let _ = map.insert(order(1, Status::Placed, 1));
    let _ = map.insert(order(2, Status::Placed, 1));
    let before = map.version();
    let refused: Result<(), &str> = map.transaction(&[&1, &2], |tx| {
        let _ = tx.update(&1, |o| *o.status = Status::Shipped);
        Err("changed my mind")
    });
    assert_eq!(refused, Err("changed my mind"));
    assert_eq!(map.get(&1), Some(order(1, Status::Placed, 1)));
    assert_eq!(
        map.version(),
        before,
        "an aborted transaction takes no revision"
    );
    let moved = map.transaction(&[&1, &2, &3], |tx| {
        let shipped = tx.get(&1).map(|o| o.updated_at);
        let _ = tx.update(&1, |o| *o.status = Status::Shipped);
        let _ = tx.remove(&2);
        let _ = tx.insert(order(3, Status::Delivered, 4));
        Ok::<_, ()>(shipped)
    });
    assert_eq!(moved, Ok(Some(1)));
    assert_eq!(map.version(), before + 3, "one revision per changed key");
    let revisions: HashSet<u64> = [1, 3]
        .iter()
        .map(|k| map.get_versioned(k).unwrap().version)
        .collect();
    assert_eq!(revisions.len(), 2, "each changed key has its own revision");
    assert!(
        revisions
            .iter()
            .all(|r| (before + 1..=before + 3).contains(r))
    );
    assert!(!map.contains_key(&2));
    let users = UserMap::new();
    let _ = users.insert(user("ada", 1));
    let total = users.transaction(&["ada", "bob"], |tx| {
        let _ = tx.insert(user("bob", 2));
        Ok::<_, ()>(tx.get("ada").unwrap().visits + tx.get("bob").unwrap().visits)
    });
    assert_eq!(total, Ok(3));
}

#[test]
fn for_each_visits_every_record_once() {
    let map = OrderMap::new();
    for id in 0..50 {
        let _ = map.insert(order(id, Status::Placed, id));
    }
    let mut seen = Vec::new();
    map.for_each(|o| seen.push(o.id));
    seen.sort_unstable();
    assert_eq!(seen, (0..50).collect::<Vec<_>>());
}

#[test]
fn capacity_grows_with_reserve_and_shrinks_to_fit() {
    let users = UserMap::new();
    users.reserve(1000);
    assert!(users.capacity() >= 1000, "{}", users.capacity());
    for i in 0..10 {
        let _ = users.insert(user(&i.to_string(), i));
    }
    users.shrink_to_fit();
    assert!(users.capacity() < 1000, "{}", users.capacity());
    assert!(users.capacity() >= 10);
    assert_eq!(users.len(), 10);
}

#[test]
fn stats_count_what_happened_to_the_map() {
    let map = OrderMap::new();
    let rev = map
        .compare_and_swap(0, order(1, Status::Placed, 1))
        .unwrap();
    assert!(
        map.compare_and_swap(rev + 5, order(1, Status::Shipped, 2))
            .is_err()
    );
    let _ = map.insert(order(2, Status::Placed, 1));
    assert_eq!(map.update(&2, |o| *o.updated_at = 3), Some(()));
    let _ = map.remove_if(&2, |_| true);
    let _ = map.transaction(&[&1], |_| Err::<(), _>(()));
    let stats = map.stats();
    assert_eq!(stats.len, 1);
    assert_eq!(stats.shards, 32);
    assert_eq!((stats.swaps, stats.conflicts), (1, 1));
    assert_eq!((stats.updates, stats.removes), (1, 1));
    assert_eq!(
        (stats.transactions_committed, stats.transactions_aborted),
        (0, 1)
    );
    let _ = map.clone();
    assert_eq!(map.stats().snapshots, 1, "a clone is a pass");
}

#[test]
fn a_clone_is_a_point_in_time_copy_that_keeps_revisions() {
    let map = OrderMap::new();
    let _ = map.insert(order(1, Status::Placed, 1));
    let _ = map.insert(order(2, Status::Placed, 1));
    let copy = map.clone();
    let _ = map.insert(order(3, Status::Placed, 1));
    assert_eq!(copy.len(), 2);
    assert_eq!(copy.shard_count(), 32);
    assert_eq!(copy.version(), 2);
    assert_eq!(copy.get_versioned(&2).map(|v| v.version), Some(2));
    let _ = copy.insert(order(4, Status::Placed, 1));
    assert_eq!(
        copy.version(),
        3,
        "the copy's clock goes on from the original's"
    );
    assert!(!map.contains_key(&4));
    let users = UserMap::new();
    let _ = users.insert(user("ada", 1));
    assert_eq!(users.clone().get("ada"), Some(user("ada", 1)));
}

#[test]
fn maps_are_collected_extended_and_consumed_as_iterators() {
    let users: UserMap = [user("ada", 1), user("bob", 2), user("ada", 3)]
        .into_iter()
        .collect();
    assert_eq!(
        users.shard_count(),
        4,
        "collecting keeps the map's shard count"
    );
    assert_eq!(
        users.get("ada"),
        Some(user("ada", 3)),
        "the later record wins"
    );
    let mut users = users;
    users.extend([user("cy", 4)]);
    let shared = Arc::new(users);
    let mut by_ref = &*shared;
    by_ref.extend([user("dee", 5)]);
    let users = Arc::try_unwrap(shared).unwrap();
    let mut names: Vec<String> = users.into_iter().map(|u| u.name).collect();
    names.sort();
    assert_eq!(names, ["ada", "bob", "cy", "dee"]);
    let orders: OrderMap = (0..5).map(|id| order(id, Status::Placed, id)).collect();
    assert_eq!(
        orders.version(),
        5,
        "every collected record takes a revision"
    );
}

#[cfg(feature = "serde")]
mod serde_records {
    use super::{Order, Status, User};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    // As `#[derive(Serialize, Deserialize)]` would, without the derive crate: a record as a tuple.
    impl Serialize for User {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            (&self.name, self.visits).serialize(s)
        }
    }
    impl<'de> Deserialize<'de> for User {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let (name, visits) = Deserialize::deserialize(d)?;
            Ok(User { name, visits })
        }
    }
    impl Serialize for Order {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            (self.id, self.status as u8, self.updated_at).serialize(s)
        }
    }
    impl<'de> Deserialize<'de> for Order {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let (id, status, updated_at): (u64, u8, u64) = Deserialize::deserialize(d)?;
            let status = [Status::Placed, Status::Shipped, Status::Delivered][usize::from(status)];
            Ok(Order {
                id,
                status,
                updated_at,
            })
        }
    }
}

#[cfg(feature = "serde")]
#[test]
fn a_map_round_trips_through_json() {
    let users = UserMap::new();
    let _ = users.insert(user("ada", 1));
    let _ = users.insert(user("bob", 2));
    let json = serde_json::to_string(&users).unwrap();
    let back: UserMap = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back.shard_count(),
        4,
        "deserializing keeps the map's shard count"
    );
    assert_eq!(back.len(), 2);
    assert_eq!(back.get("ada"), Some(user("ada", 1)));
    assert_eq!(back.get("bob"), Some(user("bob", 2)));
    let twice = serde_json::from_str::<UserMap>(r#"[["ada",1],["ada",2]]"#).unwrap_err();
    assert!(twice.to_string().contains(r#""ada""#), "{twice}");
    let orders: OrderMap = serde_json::from_str("[[1,0,5],[2,1,6]]").unwrap();
    assert_eq!(orders.version(), 2, "fresh revisions, in input order");
    assert_eq!(orders.get_versioned(&2).map(|v| v.version), Some(2));
    assert_eq!(orders.get(&2), Some(order(2, Status::Shipped, 6)));
}

#[cfg(feature = "rayon")]
#[test]
fn a_map_is_collected_and_extended_from_rayon_threads() {
    use rayon::iter::{IntoParallelIterator, ParallelExtend, ParallelIterator};

    let orders: OrderMap = (0..1000u64)
        .into_par_iter()
        .map(|id| order(id, Status::Placed, id))
        .collect();
    assert_eq!(orders.len(), 1000);
    assert_eq!(orders.shard_count(), 32);
    assert_eq!(orders.version(), 1000);
    let mut shared = &orders;
    shared.par_extend(
        (1000..1500u64)
            .into_par_iter()
            .map(|id| order(id, Status::Placed, id)),
    );
    let mut owned = orders.clone();
    owned.par_extend(
        (0..10u64)
            .into_par_iter()
            .map(|id| order(id, Status::Shipped, id)),
    );
    assert_eq!(orders.len(), 1500);
    assert_eq!(owned.len(), 1500);
    assert_eq!(owned.get(&3), Some(order(3, Status::Shipped, 3)));
    let total: u64 = orders
        .snapshot()
        .into_par_iter()
        .map(|o| o.updated_at)
        .sum();
    assert_eq!(total, (0..1500u64).sum::<u64>());
}
