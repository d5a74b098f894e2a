use mapsafe::concurrent_map;

#[concurrent_map(shards = -8)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

fn main() {}
