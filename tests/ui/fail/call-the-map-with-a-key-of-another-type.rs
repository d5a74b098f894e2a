use mapsafe::concurrent_map;

#[concurrent_map]
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    #[key]
    pub name: String,
    pub visits: u32,
}

fn main() {
    let users = UserMap::new();
    let _ = users.get(&42_u64);
}
