mod shop {
    use mapsafe::concurrent_map;

    #[concurrent_map]
    #[derive(Clone, Debug, PartialEq)]
    pub struct Order {
        #[key]
        pub id: u64,
        pub status: u8,
    }

    #[concurrent_map]
    #[derive(Clone, Debug, PartialEq)]
    pub(crate) struct Invoice {
        #[key]
        pub(crate) id: u64,
        pub(crate) total: u64,
    }

    #[concurrent_map]
    #[derive(Clone, Debug, PartialEq)]
    struct Secret {
        #[key]
        id: u64,
        value: u64,
    }

    pub fn secrets_len() -> usize {
        let secrets = SecretMap::new();
        let _ = secrets.insert(Secret { id: 1, value: 2 });
        let _ = secrets.update(&1, |s| *s.value += 1);
        secrets.len()
    }
}

fn main() {
    let orders: shop::OrderMap = shop::OrderMap::new();
    let _ = orders.insert(shop::Order { id: 1, status: 0 });
    let _ = orders.update(&1, |order: shop::OrderMut<'_>| *order.status = 1);
    let invoices = shop::InvoiceMap::new();
    let _ = invoices.insert(shop::Invoice { id: 1, total: 3 });
    let _ = invoices.update(&1, |invoice| *invoice.total += 1);
    assert_eq!(shop::secrets_len(), 1);
}
