use mapsafe::concurrent_map;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OrderId(u64);

#[concurrent_map]
pub struct Order {
    #[key]
    pub id: OrderId,
    pub status: u8,
}

fn main() {}
