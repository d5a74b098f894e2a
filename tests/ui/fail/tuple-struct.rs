use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Order(#[key] u64, u8);

fn main() {}
