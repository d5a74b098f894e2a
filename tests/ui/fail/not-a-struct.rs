use mapsafe::concurrent_map;

#[concurrent_map]
fn order() {}

fn main() {}
