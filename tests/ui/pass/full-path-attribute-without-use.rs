#[mapsafe::concurrent_map(shards = 8)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

fn main() {
    let orders = OrderMap::new();
    let _ = orders.insert(Order { id: 1, status: 0 });
    assert_eq!(orders.get(&1), Some(Order { id: 1, status: 0 }));
}
