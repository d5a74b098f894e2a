use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Order {
    #[key]
    #[key]
    pub id: u64,
    pub status: u8,
}

fn main() {}
