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
    let mut escaped = None;
    let _ = orders.transaction(&[&1], |tx| {
        escaped = Some(tx);
        Ok::<(), ()>(())
    });
    drop(escaped);
}
