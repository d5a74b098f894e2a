use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Reading {
    #[key]
    pub celsius: f64,
    pub station: String,
}

fn main() {}
