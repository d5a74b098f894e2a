//! One generic record, two maps: `CacheEntryMap<String>` and `CacheEntryMap<Vec<u8>>`, with a
//! bound, a where-clause, a const parameter with a default and a generic key.
use std::fmt::Debug;
use std::hash::Hash;

use mapsafe::concurrent_map;

#[concurrent_map(shards = 4, versioned)]
#[derive(Clone, Debug, PartialEq)]
pub struct CacheEntry<V: Clone, const TRIES: usize = 3>
where
    V: Debug,
{
    #[key]
    pub id: u64,
    pub value: V,
    pub hits: [u32; TRIES],
}

#[concurrent_map]
#[derive(Clone, Debug, PartialEq)]
pub struct Tagged<K: Hash + Eq + Clone + Debug, V> {
    #[key]
    pub key: K,
    pub value: Option<V>,
    pub next: Option<Box<Self>>,
}

fn main() {
    let names: CacheEntryMap<String> = CacheEntryMap::new();
    let _ = names.insert(CacheEntry { id: 1, value: "ada".to_string(), hits: [0; 3] });
    assert_eq!(names.update(&1, |e| e.value.push('!')), Some(()));
    assert_eq!(names.get(&1).map(|e| e.value), Some("ada!".to_string()));

    let blobs = CacheEntryMap::<Vec<u8>, 1>::with_capacity(8);
    let _ = blobs.insert(CacheEntry { id: 1, value: vec![1, 2], hits: [7] });
    let seen = blobs.get_versioned(&1).expect("present");
    assert!(blobs.compare_and_swap(seen.version, seen.value).is_ok());
    assert_eq!(blobs.read(&1, |e| e.value.len() + e.hits.len()), Some(3));
    assert_eq!(blobs.version(), 2);

    let tags: TaggedMap<String, u8> = TaggedMap::default();
    let _ = tags.insert(Tagged { key: "a".into(), value: Some(1), next: None });
    assert!(tags.contains_key("a"));
    assert_eq!(tags.update("a", |t| *t.value = None), Some(()));
    assert!(tags.verify_consistency().is_ok());
    println!("{names:?} {blobs:?} {tags:?}");
}
