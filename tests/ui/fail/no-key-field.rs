use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Order {
    pub id: u64,
    pub status: u8,
}

// The struct is still emitted, so code that uses it resolves.
fn main() {
    let order = Order { id: 1, status: 0 };
    let _ = (order.id, order.status);
}
