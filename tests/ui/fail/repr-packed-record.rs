use mapsafe::concurrent_map;

#[concurrent_map]
#[derive(Clone, Debug)]
#[repr(C, packed)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u32,
}

fn main() {}
