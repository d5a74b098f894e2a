use mapsafe::concurrent_map;

#[concurrent_map]
pub struct Reading<K> {
    #[key]
    pub at: K,
    pub value: u32,
}

fn main() {
    let readings = ReadingMap::<f64>::new();
    let _ = readings.len();
}
