use mapsafe::concurrent_map;

#[concurrent_map(versioned)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

#[concurrent_map(shards = 4)]
#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    #[key]
    pub id: u64,
    pub name: String,
}

fn main() {
    let orders = OrderMap::new();
    let customers = CustomerMap::new();
    let _ = orders.insert(Order { id: 1, status: 0 });
    let _ = customers.insert(Customer {
        id: 1,
        name: "ada".into(),
    });
    assert_eq!(orders.version(), 1);
    assert_eq!(customers.shard_count(), 4);
}
