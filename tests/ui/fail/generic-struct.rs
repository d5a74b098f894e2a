use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Order<S> {
    #[key]
    pub id: u64,
    pub status: S,
}

fn main() {}
