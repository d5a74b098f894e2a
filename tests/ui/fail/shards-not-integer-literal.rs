use mapsafe::concurrent_map;

#[concurrent_map(shards = SHARDS)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

const SHARDS: usize = 32;

fn main() {}
