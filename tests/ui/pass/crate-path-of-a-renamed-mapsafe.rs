//! A crate that reaches mapsafe under other names: renamed, and re-exported from a module.
pub extern crate mapsafe as renamed;

mod vendored {
    pub use renamed as store;
}

#[renamed::concurrent_map(crate = renamed, versioned)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

#[vendored::store::concurrent_map(crate = crate::vendored::store)]
#[derive(Clone, Debug, PartialEq)]
pub struct Tag {
    #[key]
    pub name: String,
}

fn main() {
    let orders = OrderMap::new();
    let _ = orders.insert(Order { id: 1, status: 0 });
    let seen = orders.get_versioned(&1).expect("present");
    assert!(orders.compare_and_swap(seen.version, seen.value).is_ok());
    let tags = TagMap::new();
    assert!(tags.load_or_store(Tag { name: "a".into() }).is_stored());
    println!("{orders:?} {tags:?}");
}
