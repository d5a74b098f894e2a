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
    let mut kept = None;
    let _ = orders.update(&1, |order| kept = Some(order));
    let _ = orders.remove(&1);
    println!("{kept:?}");
}
