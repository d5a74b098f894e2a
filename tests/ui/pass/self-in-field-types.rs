#[mapsafe::concurrent_map]
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    #[key]
    pub id: u64,
    pub children: Vec<Self>,
}

fn main() {
    let nodes = NodeMap::new();
    let _ = nodes.insert(Node {
        id: 1,
        children: Vec::new(),
    });
    let _ = nodes.update(&1, |n| {
        n.children.push(Node {
            id: 2,
            children: Vec::new(),
        })
    });
    assert_eq!(nodes.read(&1, |n| n.children.len()), Some(1));
}
