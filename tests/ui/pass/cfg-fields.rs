#[mapsafe::concurrent_map]
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    #[cfg(any())]
    pub never: std::rc::Rc<u8>,
    #[cfg(not(any()))]
    pub always: u8,
}

fn main() {
    let orders = OrderMap::new();
    let _ = orders.insert(Order { id: 1, always: 2 });
    assert_eq!(
        orders.update(&1, |o| {
            *o.always += 1;
            *o.always
        }),
        Some(3)
    );
}
