use mapsafe::concurrent_map;

#[concurrent_map(consistency_test = make_order)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

fn make_order(key: u32) -> Order {
    Order {
        id: key.into(),
        status: 0,
    }
}

fn main() {}
