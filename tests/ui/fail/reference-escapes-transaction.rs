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
    let _ = orders.insert(Order { id: 1, status: 0 });
    let escaped = orders.transaction(&[&1], |tx| Ok::<_, ()>(tx.get(&1)));
    drop(escaped);
}
