use mapsafe::concurrent_map;

#[concurrent_map(consistency_test = make_order)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

fn make_order(key: u64, nonce: u64) -> (u64, u64) {
    (key, nonce)
}

fn main() {}
