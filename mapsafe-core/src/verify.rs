//! `verify_consistency`: the map's invariants, checked over a consistent cut.

use core::fmt;
use core::hash::BuildHasher;

use crate::map::ShardedMap;
use crate::record::{Mode, Record};
use crate::reentry::Op;
use crate::shard::ShardView;

/// A healthy map's vital signs, from `verify_consistency`.
///
/// # Example
///
/// ```
/// use mapsafe_core::ShardedMap;
///
/// let map: ShardedMap<(u32, u32)> = ShardedMap::with_shards(4);
/// for i in 0..100 {
///     let _ = map.insert((i, i));
/// }
/// let report = map.verify_consistency().expect("a fresh map is consistent");
/// assert_eq!(report.entries, 100);
/// assert_eq!(report.shards, 4);
/// assert!(report.min_shard_len <= 25 && report.max_shard_len >= 25);
/// println!("{report}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsistencyReport {
    /// Records in the map at the cut.
    pub entries: usize,
    /// Number of shards.
    pub shards: usize,
    /// Records in the emptiest shard.
    pub min_shard_len: usize,
    /// Records in the fullest shard: far above `entries / shards` means a hot shard.
    pub max_shard_len: usize,
    /// The map's revision at the cut (versioned maps only).
    pub version: Option<u64>,
}

impl fmt::Display for ConsistencyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "consistent: {} records in {} shards (shard sizes {}..={}, mean {:.1})",
            self.entries,
            self.shards,
            self.min_shard_len,
            self.max_shard_len,
            self.entries as f64 / self.shards as f64
        )?;
        if let Some(version) = self.version {
            write!(f, ", at revision {version}")?;
        }
        Ok(())
    }
}

/// What `verify_consistency` found wrong: every violated invariant, with its shard and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyError {
    violations: Vec<Violation>,
}

impl ConsistencyError {
    /// Every violation found, in shard order.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
}

impl fmt::Display for ConsistencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "map is inconsistent: {} violation(s)",
            self.violations.len()
        )?;
        for violation in &self.violations {
            write!(f, "\n  - {violation}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConsistencyError {}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// The shard where it was found.
    pub shard: usize,
    /// The stored key, formatted with `Debug` (`None` for shard-wide violations).
    pub key: Option<String>,
    /// What is wrong.
    pub kind: ViolationKind,
}

/// The invariants `verify_consistency` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The key now hashes to another shard: its hash changed after insertion.
    WrongShard {
        /// The shard the key hashes to now.
        expected: usize,
    },
    /// The key hashes to this shard but a lookup by it does not find the record: its hash (or
    /// its `Eq`) changed after insertion, so the record is unreachable.
    Unreachable,
    /// Another record with an equal key is found first, so this one is shadowed: a key (or its
    /// equality) changed after insertion so that two records now claim the same key.
    DuplicateKey,
    /// The shard's published size (what `len()` adds up) differs from its table.
    LenMismatch {
        /// Records in the table.
        counted: usize,
        /// Size published for `len()`.
        published: usize,
    },
    /// An entry's revision is newer than the map's latest revision.
    RevisionAhead {
        /// The entry's revision.
        revision: u64,
        /// The map's `version()`.
        version: u64,
    },
    /// Two entries carry the same revision.
    DuplicateRevision {
        /// The shared revision.
        revision: u64,
        /// The other entry's shard.
        other_shard: usize,
        /// The other entry's key, formatted with `Debug`.
        other_key: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {}", self.shard)?;
        if let Some(key) = &self.key {
            write!(f, ", key {key}")?;
        }
        f.write_str(": ")?;
        match &self.kind {
            ViolationKind::WrongShard { expected } => write!(
                f,
                "filed in the wrong shard (its key now hashes to shard {expected}); \
                 the key's hash changed after insertion"
            ),
            ViolationKind::Unreachable => f.write_str(
                "unreachable by its own key; the key's hash or equality changed after insertion",
            ),
            ViolationKind::DuplicateKey => f.write_str(
                "shadowed by another record with an equal key; a key changed after insertion",
            ),
            ViolationKind::LenMismatch { counted, published } => write!(
                f,
                "holds {counted} records but publishes {published} to len()"
            ),
            ViolationKind::RevisionAhead { revision, version } => write!(
                f,
                "revision {revision} is newer than the map's version {version}"
            ),
            ViolationKind::DuplicateRevision {
                revision,
                other_shard,
                other_key,
            } => write!(
                f,
                "revision {revision} is also carried by key {other_key} in shard {other_shard}"
            ),
        }
    }
}

/// What checking one shard found.
struct ShardFindings<K> {
    /// Records in the shard.
    len: usize,
    violations: Vec<Violation>,
    /// Versioned maps: each entry's revision and key, for the map-wide uniqueness check.
    revisions: Vec<(u64, K)>,
}

/// `verify_consistency`'s work on one shard, as it was at the pass's instant.
fn check_shard<R: Record, M: Mode>(shard: ShardView<'_, R, M>) -> ShardFindings<R::Key> {
    let ShardView {
        idx,
        table,
        published_len,
        place,
    } = shard;
    let mut violations = Vec::new();
    let mut revisions = Vec::new();
    if table.len() != published_len {
        violations.push(Violation {
            shard: idx,
            key: None,
            kind: ViolationKind::LenMismatch {
                counted: table.len(),
                published: published_len,
            },
        });
    }
    for entry in table.iter() {
        let record_key = entry.record.key();
        let (hash, expected) = place(record_key);
        // A lookup by the record's own key must find exactly this entry: not finding it means
        // the key (or its hash) changed after insertion; finding another means two records now
        // claim one key.
        let kind = if expected != idx {
            Some(ViolationKind::WrongShard { expected })
        } else {
            match table.find(hash, |e| e.record.key() == record_key) {
                None => Some(ViolationKind::Unreachable),
                Some(found) if !core::ptr::eq(found, entry) => Some(ViolationKind::DuplicateKey),
                Some(_) => None,
            }
        };
        if let Some(kind) = kind {
            violations.push(Violation {
                shard: idx,
                key: Some(format!("{record_key:?}")),
                kind,
            });
        }
        if M::VERSIONED {
            revisions.push((M::number(entry.revision), record_key.clone()));
        }
    }
    ShardFindings {
        len: table.len(),
        violations,
        revisions,
    }
}

impl<R: Record, M: Mode, S: BuildHasher> ShardedMap<R, M, S> {
    /// Checks the map's invariants over a consistent cut (the map as it was at one instant, so
    /// no write is half-done and there are no false alarms while other threads write):
    ///
    /// 1. every record sits in the shard its key hashes to, and a lookup by its key finds it;
    /// 2. every record is the one a lookup by its own key finds (no two records claim one key);
    /// 3. each shard's size published for `len()` equals its table's size;
    /// 4. versioned: every revision is ≤ `version()`, and no two entries share one.
    ///
    /// It fixes its instant as [`snapshot`](Self::snapshot) does and checks one shard at a time,
    /// so a call waits at most for one shard's check, never for the whole map. It costs O(records), plus a sort of the revisions on a versioned map.
    ///
    /// # Example
    ///
    /// ```
    /// use mapsafe_core::ShardedMap;
    ///
    /// let map: ShardedMap<(String, u32)> = ShardedMap::new();
    /// let _ = map.insert(("a".into(), 1));
    /// assert_eq!(map.verify_consistency().unwrap().entries, 1);
    /// ```
    #[must_use = "the result says whether the map is consistent"]
    #[track_caller]
    pub fn verify_consistency(&self) -> Result<ConsistencyReport, ConsistencyError> {
        let _scope = self.scope(Op::VerifyConsistency);
        self.count_pass(|p| &p.verifications);
        let (findings, version) = self.run_pass(check_shard::<R, M>);
        let mut violations = Vec::new();
        let mut revisions = Vec::new();
        let mut sizes = Vec::with_capacity(findings.len());
        for (idx, found) in findings.into_iter().enumerate() {
            violations.extend(found.violations);
            for (revision, key) in found.revisions {
                if revision > version {
                    violations.push(Violation {
                        shard: idx,
                        key: Some(format!("{key:?}")),
                        kind: ViolationKind::RevisionAhead { revision, version },
                    });
                }
                revisions.push((revision, idx, key));
            }
            sizes.push(found.len);
        }
        revisions.sort_unstable_by_key(|(revision, _, _)| *revision);
        for pair in revisions.windows(2) {
            let ((rev_a, shard_a, key_a), (rev_b, shard_b, key_b)) = (&pair[0], &pair[1]);
            if rev_a == rev_b {
                violations.push(Violation {
                    shard: *shard_b,
                    key: Some(format!("{key_b:?}")),
                    kind: ViolationKind::DuplicateRevision {
                        revision: *rev_b,
                        other_shard: *shard_a,
                        other_key: format!("{key_a:?}"),
                    },
                });
            }
        }
        if violations.is_empty() {
            Ok(ConsistencyReport {
                entries: sizes.iter().sum(),
                shards: sizes.len(),
                min_shard_len: sizes.iter().copied().min().unwrap_or(0),
                max_shard_len: sizes.iter().copied().max().unwrap_or(0),
                version: M::VERSIONED.then_some(version),
            })
        } else {
            if M::PROBED {
                self.shared()
                    .probes
                    .verification_failed(violations.iter().map(|v| v.kind.name()));
            }
            Err(ConsistencyError { violations })
        }
    }
}

impl ViolationKind {
    /// The kind's name, as in the enum (`"WrongShard"`, ...), for counters and logs.
    pub fn name(&self) -> &'static str {
        match self {
            ViolationKind::WrongShard { .. } => "WrongShard",
            ViolationKind::Unreachable => "Unreachable",
            ViolationKind::DuplicateKey => "DuplicateKey",
            ViolationKind::LenMismatch { .. } => "LenMismatch",
            ViolationKind::RevisionAhead { .. } => "RevisionAhead",
            ViolationKind::DuplicateRevision { .. } => "DuplicateRevision",
        }
    }
}

#[cfg(test)]
mod tests {
    //! Invariants no public operation can break, broken by hand to prove they are checked.

    use super::*;
    use crate::VersionedMode;
    use core::sync::atomic::Ordering;

    type Map = ShardedMap<(u64, u64), VersionedMode>;

    fn map_with(n: u64) -> Map {
        let map = Map::with_shards(2);
        for i in 0..n {
            let _ = map.insert((i, i));
        }
        map
    }

    fn kinds(map: &Map) -> Vec<ViolationKind> {
        let err = map.verify_consistency().unwrap_err();
        err.violations().iter().map(|v| v.kind.clone()).collect()
    }

    #[test]
    fn catches_a_published_len_that_disagrees_with_the_table() {
        let map = map_with(10);
        map.shards[1].len.fetch_add(3, Ordering::Relaxed);
        let counted = map.shards[1].read().len();
        assert_eq!(
            kinds(&map),
            [ViolationKind::LenMismatch {
                counted,
                published: counted + 3
            }]
        );
    }

    #[test]
    fn catches_a_revision_newer_than_the_map() {
        let map = map_with(3);
        let mut shard = map
            .shards
            .iter()
            .find(|s| s.len.load(Ordering::Relaxed) > 0)
            .unwrap()
            .lock
            .write();
        shard.iter_mut().next().unwrap().revision = 42;
        drop(shard);
        assert_eq!(
            kinds(&map),
            [ViolationKind::RevisionAhead {
                revision: 42,
                version: 3
            }]
        );
    }

    #[test]
    fn catches_two_entries_sharing_a_revision() {
        let map = map_with(20);
        for slot in map.shards.iter() {
            for entry in slot.lock.write().iter_mut() {
                // Key 1 was written at revision 2; give key 0 the same.
                if entry.record.0 == 0 {
                    entry.revision = 2;
                }
            }
        }
        let err = map.verify_consistency().unwrap_err();
        assert_eq!(err.violations().len(), 1, "{err}");
        assert!(
            matches!(
                &err.violations()[0].kind,
                ViolationKind::DuplicateRevision { revision: 2, .. }
            ),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("revision 2 is also carried by key")
        );
    }
}
