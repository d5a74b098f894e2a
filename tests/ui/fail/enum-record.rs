use mapsafe::concurrent_map;

#[concurrent_map]
pub enum Order {
    Placed { id: u64 },
    Shipped { id: u64 },
}

fn main() {}
