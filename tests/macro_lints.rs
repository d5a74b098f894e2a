//! The expansion under the strictest lint sets a user may have, checked by
//! `cargo clippy --all-targets -- -D warnings` (the ui pass case checks the rustc lints only).
#![deny(
    warnings,
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::all,
    clippy::pedantic
)]

use mapsafe::concurrent_map;

/// A versioned record with a custom hasher, a tuple key and a `Self` field.
#[concurrent_map(shards = 16, versioned, name = Catalogue, hasher = std::hash::RandomState)]
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Its key.
    #[key]
    pub sku: (u32, String),
    /// Its variants.
    pub variants: Vec<Self>,
    #[cfg(test)]
    price: u64,
}

/// A generic record with a const parameter and a where-clause.
#[concurrent_map(versioned)]
#[derive(Clone, Debug)]
pub struct Cached<V, const N: usize>
where
    V: Clone,
{
    /// Its key.
    #[key]
    pub id: u64,
    /// Its values.
    pub values: [V; N],
}

/// A record that is neither `Clone` nor `Debug` and has nothing but its key.
#[concurrent_map]
pub(crate) struct Tag {
    #[key]
    pub(crate) name: &'static str,
}

#[test]
fn strictly_linted_maps_work() {
    let catalogue = Catalogue::new();
    let _ = catalogue.insert(Item {
        sku: (1, "a".into()),
        variants: Vec::new(),
        price: 3,
    });
    assert_eq!(
        catalogue.update(&(1, "a".to_string()), |item| {
            *item.price += 1;
            *item.price
        }),
        Some(4)
    );
    let cached = CachedMap::<String, 2>::new();
    let _ = cached.insert(Cached {
        id: 1,
        values: ["a".into(), "b".into()],
    });
    assert_eq!(cached.read(&1, |c| c.values.len()), Some(2));
    let tags = TagMap::new();
    assert!(tags.insert(Tag { name: "x" }).is_none());
    assert!(tags.contains_key("x"));
    assert_eq!(tags.update("x", |_| ()), Some(()));
}
