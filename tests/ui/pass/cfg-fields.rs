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

// Every non-key field is configured out of this build: the view still holds its lifetime.
#[mapsafe::concurrent_map(name = Tags)]
#[derive(Clone, Debug, PartialEq)]
pub struct Tag {
    #[key]
    pub name: String,
    #[cfg(any())]
    pub colour: u32,
    #[cfg(all(any(), not(any())))]
    pub weight: u16,
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
    let tags = Tags::new();
    let _ = tags.insert(Tag { name: "x".into() });
    assert_eq!(tags.update("x", |_| "seen"), Some("seen"));
    assert_eq!(tags.get("x"), Some(Tag { name: "x".into() }));
}
