use mapsafe::concurrent_map;

#[concurrent_map]
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    #[key]
    pub name: String,
    pub visits: u32,
}

#[concurrent_map]
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    #[key]
    pub at: (i32, i32),
    pub alive: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sku {
    pub vendor: String,
    pub code: u32,
}

#[concurrent_map]
#[derive(Clone, Debug, PartialEq)]
pub struct Stock {
    #[key]
    pub sku: Sku,
    pub count: u32,
}

fn main() {
    let users = UserMap::new();
    let _ = users.insert(User {
        name: "ada".into(),
        visits: 1,
    });
    assert_eq!(users.read("ada", |u| u.visits), Some(1));

    let cells = CellMap::new();
    let _ = cells.insert(Cell {
        at: (1, 2),
        alive: true,
    });
    assert!(cells.contains_key(&(1, 2)));

    let stock = StockMap::new();
    let sku = Sku {
        vendor: "acme".into(),
        code: 7,
    };
    let _ = stock.insert(Stock {
        sku: sku.clone(),
        count: 3,
    });
    awkward_names::check();
    assert_eq!(
        stock.update(&sku, |s| {
            *s.count -= 1;
            *s.count
        }),
        Some(2)
    );
}

mod awkward_names {
    // A record and a key named like the generic parameters of the generated methods.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct Q(pub u8);

    #[mapsafe::concurrent_map]
    #[derive(Clone, Debug, PartialEq)]
    pub struct T {
        #[key]
        pub id: Q,
        pub n: u8,
    }

    pub fn check() {
        let map = TMap::new();
        let _ = map.insert(T { id: Q(1), n: 2 });
        assert_eq!(map.read(&Q(1), |t| t.n), Some(2));
    }
}
