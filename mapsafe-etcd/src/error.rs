//! What can go wrong between the map and etcd.

use std::time::Duration;

/// A failed call to etcd. Each variant is something the caller can act on, and its message says
/// what to do.
///
/// **A write that returns an error has an unknown outcome**: the request may have reached etcd
/// and been applied before the answer was lost, as with any networked store. Read the key back
/// (its `mod_revision` tells whether your write landed) before deciding to retry; retries are the
/// caller's decision, never done silently for writes.
///
/// # Example
///
/// ```
/// use mapsafe_etcd::EtcdError;
///
/// let err = EtcdError::Compacted { revision: 3 };
/// assert!(err.to_string().contains("compacted"));
/// assert!(!err.is_transient());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EtcdError {
    /// No member answered: connections were refused or dropped, or the cluster has no leader.
    #[error(
        "etcd is unavailable ({detail}; tried {endpoints}): check that a majority of the members \
         is running and reachable; a write that failed this way may have been applied, so read \
         the key back before retrying"
    )]
    Unavailable {
        /// The members tried.
        endpoints: String,
        /// The last failure seen.
        detail: String,
    },
    /// A member accepted the request but did not answer in time; a write may have been applied.
    #[error(
        "etcd at {endpoint} did not answer within {timeout:?}: the member is overloaded or cut \
         off; a write that failed this way may have been applied, so read the key back before \
         retrying, or connect with a longer timeout"
    )]
    Timeout {
        /// The member that did not answer.
        endpoint: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The revision asked for has been compacted away (etcd keeps history only since its last
    /// compaction).
    #[error(
        "revision {revision} has been compacted: etcd no longer keeps that history; read at the \
         latest revision (a fresh snapshot) or watch from a revision after the compaction"
    )]
    Compacted {
        /// The revision that was asked for.
        revision: u64,
    },
    /// An optimistic call (`update`, `transaction`, `retain`) found its keys changed by other
    /// writers on every attempt.
    #[error(
        "`{operation}` gave up after {attempts} attempts: other writers changed its keys between \
         every read and write; retry later, or spread the writes over more keys"
    )]
    ConflictExhausted {
        /// The method that gave up.
        operation: &'static str,
        /// How many times it read, decided and tried to write.
        attempts: u32,
    },
    /// A value under the map's prefix is not a record of this map (written by another program,
    /// or by an older version of the record type).
    #[error(
        "the value under etcd key {key:?} does not decode as a record of this map ({reason}): \
         remove or rewrite it, or use a prefix that only this map writes"
    )]
    Undecodable {
        /// The etcd key, as text (lossy where it is not UTF-8).
        key: String,
        /// What the decoder said.
        reason: String,
    },
    /// An endpoint passed to `connect` is not a `http://host:port` URL that resolves.
    #[error("invalid etcd endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Why it was refused.
        reason: String,
    },
    /// etcd answered with an error other than the ones above (for example a request too large,
    /// or a revision in the future).
    #[error(
        "etcd refused the request: {message} (HTTP {status}, gRPC code {code}); see etcd's \
         documentation for that error"
    )]
    Rejected {
        /// The gRPC status code.
        code: u32,
        /// The HTTP status of the gateway's answer.
        status: u16,
        /// etcd's message.
        message: String,
    },
}

impl EtcdError {
    /// `true` for errors that may go away on their own (unavailable, timeout, and etcd's "no
    /// leader" or "timed out" answers while the cluster elects one).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            EtcdError::Unavailable { .. } | EtcdError::Timeout { .. } => true,
            // gRPC Unavailable, DeadlineExceeded, Aborted.
            EtcdError::Rejected { code, .. } => matches!(code, 14 | 4 | 10),
            _ => false,
        }
    }

    /// Fills in the revision of a `Compacted` error raised by a read at `revision`.
    pub(crate) fn at_revision(self, revision: u64) -> Self {
        match self {
            EtcdError::Compacted { .. } => EtcdError::Compacted { revision },
            other => other,
        }
    }
}
