use mapsafe::{Entry, concurrent_map};

#[concurrent_map]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

fn main() {
    let orders = OrderMap::new();
    let _ = orders.insert(Order { id: 1, status: 0 });
    let escaped = orders.entry(&1, |e| match e {
        Entry::Occupied(o) => Some(o),
        Entry::Vacant(_) => None,
    });
    drop(escaped.map(|o| o.remove()));
}
