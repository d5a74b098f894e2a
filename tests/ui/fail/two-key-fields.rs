use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Order {
    #[key]
    pub id: u64,
    #[key]
    pub status: u8,
}

fn main() {}
