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
    let writer = thread::spawn(|| {
        let _ = orders.insert(Order { id: 1, status: 0 });
    });
    writer.join().unwrap();
    println!("{}", orders.len());
}
