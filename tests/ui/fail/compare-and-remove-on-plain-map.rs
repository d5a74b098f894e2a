use mapsafe::concurrent_map;

#[concurrent_map]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

fn main() {
    let orders = OrderMap::new();
    let _ = orders.compare_and_remove(0, &1);
}
