//! `Watch`: the changes under a map's prefix from a revision on, across member failures.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use mapsafe_core::Record;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::EtcdError;
use crate::map::EtcdMap;
use crate::transport::{WatchMessage, WatchStream};

/// One change under the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<R: Record> {
    /// A record was stored (insert, update, swap, transaction) at `revision`.
    Put {
        /// The record as stored.
        record: R,
        /// The write's revision.
        revision: u64,
    },
    /// The record under `key` was removed at `revision`.
    Delete {
        /// The removed record's key.
        key: R::Key,
        /// The removal's revision.
        revision: u64,
    },
}

impl<R: Record> Change<R> {
    /// The change's revision.
    #[must_use]
    pub fn revision(&self) -> u64 {
        match self {
            Change::Put { revision, .. } | Change::Delete { revision, .. } => *revision,
        }
    }
}

/// The changes under an [`EtcdMap`]'s prefix from a revision on (inclusive), in revision order;
/// from [`EtcdMap::watch`].
///
/// `next()` blocks until the next change arrives. When the member serving the watch fails, the
/// watch is opened again on another member from the revision after the last change it yielded,
/// so no change is skipped or repeated; while no member can be reached, `next()` yields
/// [`EtcdError::Unavailable`] once per connect timeout and keeps trying on the next call. A start
/// revision that etcd has compacted is an [`EtcdError::Compacted`] item, after which the
/// iterator ends (never a silent gap). The changes of one etcd transaction share its revision.
pub struct Watch<'m, R: Record> {
    map: &'m EtcdMap<R>,
    stream: Option<WatchStream>,
    /// The revision the watch resumes from.
    next_revision: u64,
    queue: VecDeque<Result<Change<R>, EtcdError>>,
    ended: bool,
    /// How many times a member ended the stream and the watch was opened again.
    reopened: u32,
}

impl<R: Record> core::fmt::Debug for Watch<'_, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Watch")
            .field("next_revision", &self.next_revision)
            .field("member", &self.stream.as_ref().map(WatchStream::endpoint))
            .finish_non_exhaustive()
    }
}

impl<'m, R> Watch<'m, R>
where
    R: Record + Clone + Serialize + DeserializeOwned,
    R::Key: Serialize + DeserializeOwned,
{
    pub(crate) fn new(map: &'m EtcdMap<R>, from_revision: u64) -> Self {
        Watch {
            map,
            stream: None,
            next_revision: from_revision,
            queue: VecDeque::new(),
            ended: false,
            reopened: 0,
        }
    }

    /// The revision the watch would resume from: one past the last change it yielded.
    #[must_use]
    pub fn next_revision(&self) -> u64 {
        self.next_revision
    }

    /// How many times the serving member ended the stream and the watch resumed on a member.
    #[doc(hidden)]
    #[must_use]
    pub fn reopened(&self) -> u32 {
        self.reopened
    }

    /// Opens the stream on some member, retrying until the map's timeout.
    fn open(&mut self) -> Result<(), EtcdError> {
        let deadline = Instant::now() + self.map.transport.timeout();
        let mut pause = Duration::from_millis(20);
        loop {
            match self.map.transport.watch(
                &self.map.prefix,
                &self.map.prefix_end,
                self.next_revision,
            ) {
                Ok(stream) => {
                    self.stream = Some(stream);
                    return Ok(());
                }
                Err(err) if Instant::now() >= deadline => return Err(err),
                Err(_) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(250));
                }
            }
        }
    }

    fn change(&self, delete: bool, kv: &crate::transport::Kv) -> Result<Change<R>, EtcdError> {
        let revision = kv.mod_revision;
        if delete {
            let suffix = &kv.key[self.map.prefix.len().min(kv.key.len())..];
            let key = serde_json::from_slice(suffix).map_err(|e| EtcdError::Undecodable {
                key: String::from_utf8_lossy(&kv.key).into_owned(),
                reason: format!("the key does not decode: {e}"),
            })?;
            Ok(Change::Delete { key, revision })
        } else {
            Ok(Change::Put {
                record: self.map.decode(kv)?,
                revision,
            })
        }
    }
}

impl<R> Iterator for Watch<'_, R>
where
    R: Record + Clone + Serialize + DeserializeOwned,
    R::Key: Serialize + DeserializeOwned,
{
    type Item = Result<Change<R>, EtcdError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.ended {
                return None;
            }
            if self.stream.is_none() {
                if let Err(err) = self.open() {
                    return Some(Err(err));
                }
            }
            let stream = self.stream.as_mut().expect("opened above");
            match stream.next() {
                Ok(Some(WatchMessage::Events(events))) => {
                    // Every event of a revision comes in one message, so resuming after the
                    // last one never splits a transaction.
                    for event in &events {
                        if event.kv.mod_revision < self.next_revision {
                            continue; // already yielded before a failover
                        }
                        let change = self.change(event.delete, &event.kv);
                        self.queue.push_back(change);
                    }
                    if let Some(last) = events.last() {
                        self.next_revision = self.next_revision.max(last.kv.mod_revision + 1);
                    }
                }
                Ok(Some(WatchMessage::Compacted { compact_revision })) => {
                    let _ = compact_revision;
                    self.ended = true;
                    self.stream = None;
                    return Some(Err(EtcdError::Compacted {
                        revision: self.next_revision,
                    }));
                }
                // The member ended the stream or failed: resume on another from the next
                // revision.
                Ok(None) | Err(_) => {
                    self.stream = None;
                    self.reopened += 1;
                }
            }
        }
    }
}
