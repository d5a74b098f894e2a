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
    let escaped = orders.entry(&1, |e| e);
    let _ = escaped.or_insert(Order { id: 1, status: 0 });
}
