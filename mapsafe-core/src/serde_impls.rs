//! The `serde` feature: maps and snapshots serialize as a sequence of records; maps deserialize
//! from one, refusing a key seen twice.

use core::fmt;
use core::hash::BuildHasher;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, Error, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeSeq, Serializer};

use crate::map::ShardedMap;
use crate::record::{Mode, Record};
use crate::snapshot::Snapshot;
use crate::stats::MapStats;

impl<R: Record + Serialize, M: Mode, S> Serialize for Snapshot<R, M, S> {
    /// Serializes the records as a sequence, in no particular order. Revisions are not
    /// written.
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    ///
    /// let map: ShardedMap<(u32, String)> = ShardedMap::new();
    /// let _ = map.insert((7, "seven".to_string()));
    /// let json = serde_json::to_string(&map.snapshot()).unwrap();
    /// assert_eq!(json, r#"[[7,"seven"]]"#);
    /// ```
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for record in self {
            seq.serialize_element(record)?;
        }
        seq.end()
    }
}

impl<R, M, S> Serialize for ShardedMap<R, M, S>
where
    R: Record + Clone + Serialize,
    M: Mode,
    S: BuildHasher + Clone,
{
    /// Serializes the records as a sequence, in no particular order, taken in one
    /// point-in-time pass: the output holds exactly the records the map held at one instant,
    /// however many threads write meanwhile. The pass is a [`snapshot`](ShardedMap::snapshot)
    /// (with its bounded stall and its copy of every record), so no shard lock is held while
    /// the serializer writes.
    ///
    /// # Panics
    ///
    /// As `snapshot` does: if called from inside an operation on this map.
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    ///
    /// let map: ShardedMap<(String, u32)> = ShardedMap::new();
    /// let _ = map.insert(("pears".to_string(), 10));
    /// assert_eq!(serde_json::to_string(&map).unwrap(), r#"[["pears",10]]"#);
    /// ```
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        self.snapshot().serialize(serializer)
    }
}

impl<'de, R, M, S> Deserialize<'de> for ShardedMap<R, M, S>
where
    R: Record + Deserialize<'de>,
    M: Mode,
    S: BuildHasher + Default,
{
    /// Reads a sequence of records into a new map with the default shard count. A key that
    /// appears twice is an error naming the key, rather than a record silently lost.
    ///
    /// A versioned map starts afresh: its records get new revisions `1..=n` in input order,
    /// whatever revisions the map that was serialized had (they are not serialized).
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::{ShardedMap, VersionedMode};
    ///
    /// let map: ShardedMap<(String, u32), VersionedMode> =
    ///     serde_json::from_str(r#"[["pears",10],["plums",4]]"#).unwrap();
    /// assert_eq!(map.get("plums"), Some(("plums".to_string(), 4)));
    /// assert_eq!(map.version(), 2);
    ///
    /// let twice = serde_json::from_str::<ShardedMap<(String, u32)>>(r#"[["pears",1],["pears",2]]"#);
    /// assert!(twice.unwrap_err().to_string().contains(r#"duplicate key "pears""#));
    /// ```
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = ShardedMap::new();
        (&map).deserialize(deserializer)?;
        Ok(map)
    }
}

impl<'de, R, M, S> DeserializeSeed<'de> for &ShardedMap<R, M, S>
where
    R: Record + Deserialize<'de>,
    M: Mode,
    S: BuildHasher,
{
    type Value = ();

    /// Reads a sequence of records into this map, keeping its shard count and hasher: how a
    /// map built with [`with_shards_capacity_and_hasher`](ShardedMap::with_shards_capacity_and_hasher)
    /// is filled from serialized records. A record whose key the map already holds (from the
    /// input or from before) is an error naming the key; the records read before it stay in
    /// the map.
    ///
    /// # Example
    ///
    /// ```
    /// use serde::de::DeserializeSeed;
    /// use mapsafe_core::ShardedMap;
    ///
    /// let map: ShardedMap<(u32, u32)> = ShardedMap::with_shards(4);
    /// let mut json = serde_json::Deserializer::from_str("[[1, 10], [2, 20]]");
    /// (&map).deserialize(&mut json).unwrap();
    /// assert_eq!((map.len(), map.shard_count()), (2, 4));
    /// ```
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(RecordsVisitor(self))
    }
}

/// Inserts a sequence of records into a map, failing on the first key the map already holds.
struct RecordsVisitor<'a, R: Record, M: Mode, S>(&'a ShardedMap<R, M, S>);

impl<'de, R, M, S> Visitor<'de> for RecordsVisitor<'_, R, M, S>
where
    R: Record + Deserialize<'de>,
    M: Mode,
    S: BuildHasher,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of records, each with a different key")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut records: A) -> Result<(), A::Error> {
        // A size hint comes from the input: cap what it may make us allocate up front.
        self.0.reserve(records.size_hint().unwrap_or(0).min(4096));
        while let Some(record) = records.next_element::<R>()? {
            if let Some(earlier) = self.0.insert(record) {
                return Err(A::Error::custom(format_args!(
                    "duplicate key {:?} in the records: each key may appear once; \
                     remove or merge the repeated records",
                    earlier.key()
                )));
            }
        }
        Ok(())
    }
}

impl Serialize for MapStats {
    /// A struct of the figures, with field names as in [`MapStats`]; the longest pass stall in
    /// seconds (`longest_pass_stall_secs`) and the violations as a `kind -> count` map.
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        use serde::ser::SerializeStruct;
        struct Kinds<'a>(&'a [(&'static str, u64)]);
        impl Serialize for Kinds<'_> {
            fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (kind, n) in self.0 {
                    map.serialize_entry(kind, n)?;
                }
                map.end()
            }
        }
        let mut s = serializer.serialize_struct("MapStats", 21)?;
        s.serialize_field("len", &self.len)?;
        s.serialize_field("shards", &self.shards)?;
        s.serialize_field("min_shard_len", &self.min_shard_len)?;
        s.serialize_field("max_shard_len", &self.max_shard_len)?;
        s.serialize_field("inserts", &self.inserts)?;
        s.serialize_field("updates", &self.updates)?;
        s.serialize_field("removes", &self.removes)?;
        s.serialize_field("loads_found", &self.loads_found)?;
        s.serialize_field("loads_stored", &self.loads_stored)?;
        s.serialize_field("swaps", &self.swaps)?;
        s.serialize_field("conflicts", &self.conflicts)?;
        s.serialize_field("transactions_committed", &self.transactions_committed)?;
        s.serialize_field("transactions_aborted", &self.transactions_aborted)?;
        s.serialize_field("reentries_refused", &self.reentries_refused)?;
        s.serialize_field("contended", &self.contended)?;
        s.serialize_field("most_contended_shard", &self.most_contended_shard)?;
        s.serialize_field("snapshots", &self.snapshots)?;
        s.serialize_field("verifications", &self.verifications)?;
        s.serialize_field(
            "longest_pass_stall_secs",
            &self.longest_pass_stall.as_secs_f64(),
        )?;
        s.serialize_field("verification_failures", &self.verification_failures)?;
        s.serialize_field("violations_by_kind", &Kinds(&self.violations_by_kind))?;
        s.end()
    }
}
