fn main() {
    #[mapsafe::concurrent_map]
    #[derive(Clone, Debug, PartialEq)]
    struct Local {
        #[key]
        id: u32,
        hits: u32,
    }

    let map = LocalMap::new();
    let _ = map.insert(Local { id: 1, hits: 0 });
    let _ = map.update(&1, |l| *l.hits += 1);
    assert_eq!(map.get(&1), Some(Local { id: 1, hits: 1 }));
}
