mod orders {
    use mapsafe::concurrent_map;

    #[concurrent_map]
    #[derive(Clone, Debug, PartialEq)]
    pub struct Order {
        #[key]
        pub id: u64,
        status: u8,
    }

    impl Order {
        pub fn new(id: u64) -> Self {
            Order { id, status: 0 }
        }
    }
}

fn main() {
    let orders = orders::OrderMap::new();
    let _ = orders.insert(orders::Order::new(1));
    let _ = orders.update(&1, |order| *order.status = 9);
}
