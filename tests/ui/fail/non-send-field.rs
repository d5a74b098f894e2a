use std::rc::Rc;

use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Order {
    #[key]
    pub id: u64,
    pub notes: Rc<String>,
}

fn main() {}
