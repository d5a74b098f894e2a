use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Order;

fn main() {}
