// `crate = ...` is the path every generated item names mapsafe by, so a wrong one fails there.
mod not_mapsafe {}

#[mapsafe::concurrent_map(crate = crate::not_mapsafe)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

fn main() {}
