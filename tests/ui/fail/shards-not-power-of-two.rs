use mapsafe::concurrent_map;

#[concurrent_map(shards = 24)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

// The struct and the map are still generated (with the default shard count), so code that uses
// them reports nothing more than the bad argument.
fn main() {
    let orders = OrderMap::new();
    let _ = orders.insert(Order { id: 1, status: 0 });
    let _ = orders.update(&1, |order| *order.status = 1);
}
