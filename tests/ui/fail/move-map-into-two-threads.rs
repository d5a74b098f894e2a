use mapsafe::concurrent_map;

#[concurrent_map]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: u8,
}

use std::thread;

fn main() {
    let orders = OrderMap::new();
    let a = thread::spawn(move || orders.len());
    let b = thread::spawn(move || orders.len());
    println!("{:?} {:?}", a.join(), b.join());
}
