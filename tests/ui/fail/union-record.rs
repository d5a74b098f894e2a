use mapsafe::concurrent_map;

#[concurrent_map]
pub union Order {
    id: u64,
    status: u8,
}

fn main() {}
