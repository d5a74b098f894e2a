//! `verify_consistency` for a map in etcd: every value under the prefix is a record filed under
//! its own key, at a revision etcd has issued.

use core::fmt;

use mapsafe_core::Record;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::EtcdError;
use crate::map::EtcdMap;

/// A passed verification: how many records, at which revision.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsistencyReport {
    /// Records under the prefix at the cut.
    pub entries: usize,
    /// The revision the cut was read at.
    pub version: u64,
}

impl fmt::Display for ConsistencyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "consistent: {} records in etcd, at revision {}",
            self.entries, self.version
        )
    }
}

/// What `verify_consistency` found wrong, every violation with its etcd key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyError {
    violations: Vec<Violation>,
}

impl ConsistencyError {
    /// Every violation found, in etcd key order.
    #[must_use]
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
}

impl fmt::Display for ConsistencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "map in etcd is inconsistent: {} violation(s)",
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
    /// The etcd key, as text.
    pub key: String,
    /// What is wrong.
    pub kind: ViolationKind,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ViolationKind::Undecodable { reason } => write!(
                f,
                "etcd key {:?} holds a value that is not a record of this map: {reason}",
                self.key
            ),
            ViolationKind::WrongKey { expected } => write!(
                f,
                "etcd key {:?} holds a record whose key belongs under {expected:?}",
                self.key
            ),
            ViolationKind::RevisionAhead { revision, version } => write!(
                f,
                "etcd key {:?} carries revision {revision}, above the store's {version}",
                self.key
            ),
        }
    }
}

/// The invariants `verify_consistency` checks in etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The value does not decode as a record (another writer under the prefix, or an older
    /// record type).
    Undecodable {
        /// The decoder's message.
        reason: String,
    },
    /// The record's key, encoded, is not the etcd key it is stored under.
    WrongKey {
        /// The etcd key its key encodes to.
        expected: String,
    },
    /// The record's `mod_revision` is above the revision of the read (etcd would be broken).
    RevisionAhead {
        /// The record's revision.
        revision: u64,
        /// The revision of the read.
        version: u64,
    },
}

impl<R> EtcdMap<R>
where
    R: Record + Clone + Serialize + DeserializeOwned,
    R::Key: Serialize + DeserializeOwned,
{
    /// Checks, over one read at one revision, that every value under the prefix decodes as a
    /// record, is stored under the etcd key its own key encodes to, and carries a revision not
    /// above the read's. (The in-process check that no two entries share a revision does not
    /// apply: etcd gives every key of one transaction the same revision.)
    ///
    /// # Errors
    ///
    /// The outer `Err` is an [`EtcdError`] (the check could not run); the inner one lists the
    /// violations found.
    pub fn verify_consistency(
        &self,
    ) -> Result<Result<ConsistencyReport, ConsistencyError>, EtcdError> {
        let range = self.transport.scan(&self.prefix, &self.prefix_end, 0)?;
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let mut violations = Vec::new();
        for kv in &range.kvs {
            let kind = match self.decode(kv) {
                Err(err) => Some(ViolationKind::Undecodable {
                    reason: match err {
                        EtcdError::Undecodable { reason, .. } => reason,
                        other => other.to_string(),
                    },
                }),
                Ok(record) => {
                    let expected = self.etcd_key(record.key());
                    if expected != kv.key {
                        Some(ViolationKind::WrongKey {
                            expected: text(&expected),
                        })
                    } else if kv.mod_revision > range.revision {
                        Some(ViolationKind::RevisionAhead {
                            revision: kv.mod_revision,
                            version: range.revision,
                        })
                    } else {
                        None
                    }
                }
            };
            if let Some(kind) = kind {
                violations.push(Violation {
                    key: text(&kv.key),
                    kind,
                });
            }
        }
        Ok(if violations.is_empty() {
            Ok(ConsistencyReport {
                entries: range.kvs.len(),
                version: range.revision,
            })
        } else {
            Err(ConsistencyError { violations })
        })
    }
}
