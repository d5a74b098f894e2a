use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Order<'a> {
    #[key]
    pub id: u64,
    pub customer: &'a str,
}

fn main() {}
