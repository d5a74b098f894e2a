use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Order {
    #[key]
    pub id: u64,
    pub note: str,
}

fn main() {}
