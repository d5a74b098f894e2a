use mapsafe::concurrent_map;

#[concurrent_map(hasher = NotAHasher)]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

pub struct NotAHasher;

fn main() {}
