//! The wire: etcd's JSON gateway (`/v3/kv/*`, `/v3/watch`) over a small blocking HTTP/1.1 client
//! on `std::net::TcpStream`, with failover between members. Nothing outside this file knows
//! about HTTP, JSON field names or base64.
//!
//! Retry rule: a request that was never sent (the connection was refused) moves on to the next
//! member; a read that failed after it was sent does too; a write that failed after it was sent
//! is an error, because etcd may have applied it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::EtcdError;

/// How long to wait for a connection, and for each request's answer, unless configured.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Pairs per answer when reading a whole prefix.
pub(crate) const PAGE: u64 = 500;

/// One stored key-value pair at some revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kv {
    pub(crate) key: Vec<u8>,
    pub(crate) value: Vec<u8>,
    pub(crate) create_revision: u64,
    pub(crate) mod_revision: u64,
}

/// A range read: the pairs found and the store revision it was served at.
#[derive(Debug)]
pub(crate) struct Range {
    pub(crate) revision: u64,
    pub(crate) kvs: Vec<Kv>,
    pub(crate) count: u64,
}

/// What a compare in a transaction looks at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// `mod_revision` (0 for an absent key).
    Mod,
    /// `create_revision` (0 for an absent key).
    Create,
}

/// How a compare relates the key's field to the given revision.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Relation {
    Equal,
    Less,
}

/// One compare of a transaction.
#[derive(Debug, Clone)]
pub(crate) struct Compare {
    pub(crate) key: Vec<u8>,
    pub(crate) target: Target,
    pub(crate) relation: Relation,
    pub(crate) revision: u64,
}

/// One operation of a transaction's branch.
#[derive(Debug, Clone)]
pub(crate) enum TxnOp {
    Get(Vec<u8>),
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// A transaction's answer: whether the compares held, the revision, and one response per op of
/// the branch that ran (`Kv`s for a get, the previous pair for a delete).
#[derive(Debug)]
pub(crate) struct TxnResult {
    pub(crate) succeeded: bool,
    pub(crate) revision: u64,
    pub(crate) responses: Vec<Vec<Kv>>,
}

/// One event of a watch.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) delete: bool,
    pub(crate) kv: Kv,
}

/// One message of a watch stream.
#[derive(Debug)]
pub(crate) enum WatchMessage {
    Events(Vec<Event>),
    /// The start revision is gone; etcd keeps history from `compact_revision` on.
    Compacted {
        compact_revision: u64,
    },
}

#[derive(Debug)]
struct Endpoint {
    url: String,
    addr: SocketAddr,
    /// Idle keep-alive connections.
    idle: Mutex<Vec<TcpStream>>,
}

/// A client for the members of one etcd cluster.
#[derive(Debug)]
pub(crate) struct Transport {
    endpoints: Vec<Endpoint>,
    /// The member tried first; moves on when it fails.
    preferred: AtomicUsize,
    timeout: Duration,
    /// The highest store revision any answer carried: every write that completed before a call
    /// started has a revision at most this.
    seen_revision: AtomicU64,
}

/// How a request failed.
enum Failure {
    /// Nothing was sent: safe to try another member.
    NotSent(String),
    /// Sent, but the answer did not come: etcd may have applied it.
    Lost { timed_out: bool, detail: String },
    /// etcd answered with an error.
    Answered(EtcdError),
}

impl Transport {
    /// Parses `http://host:port` endpoints and resolves them.
    pub(crate) fn new(endpoints: &[&str], timeout: Duration) -> Result<Self, EtcdError> {
        if endpoints.is_empty() {
            return Err(EtcdError::InvalidEndpoint {
                endpoint: String::new(),
                reason: "no endpoints given; pass every member's `http://host:port`".into(),
            });
        }
        let parsed = endpoints
            .iter()
            .map(|&url| {
                let invalid = |reason: &str| EtcdError::InvalidEndpoint {
                    endpoint: url.to_string(),
                    reason: reason.to_string(),
                };
                let rest = url.strip_prefix("http://").ok_or_else(|| {
                    invalid(
                        "expected `http://host:port` (the JSON gateway; https is not supported)",
                    )
                })?;
                let authority = rest.trim_end_matches('/');
                let addr = authority
                    .to_socket_addrs()
                    .map_err(|e| invalid(&format!("cannot resolve `{authority}`: {e}")))?
                    .next()
                    .ok_or_else(|| invalid("the host resolves to no address"))?;
                Ok(Endpoint {
                    url: format!("http://{authority}"),
                    addr,
                    idle: Mutex::new(Vec::new()),
                })
            })
            .collect::<Result<Vec<_>, EtcdError>>()?;
        Ok(Transport {
            endpoints: parsed,
            preferred: AtomicUsize::new(0),
            timeout,
            seen_revision: AtomicU64::new(0),
        })
    }

    /// The timeout of one request.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The highest store revision seen in any answer so far.
    pub(crate) fn seen_revision(&self) -> u64 {
        self.seen_revision.load(Ordering::SeqCst)
    }

    /// The endpoints, for messages.
    fn names(&self) -> String {
        let names: Vec<&str> = self.endpoints.iter().map(|e| e.url.as_str()).collect();
        names.join(", ")
    }

    fn connect(&self, endpoint: &Endpoint) -> io::Result<TcpStream> {
        let stream = TcpStream::connect_timeout(&endpoint.addr, self.timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        Ok(stream)
    }

    /// An idle connection that the member has not closed, or a new one.
    fn connection(&self, endpoint: &Endpoint) -> io::Result<TcpStream> {
        loop {
            let idle = endpoint
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop();
            let Some(stream) = idle else {
                return self.connect(endpoint);
            };
            // A member that restarted closed its side: a peek sees the end of the stream.
            stream.set_nonblocking(true)?;
            let mut probe = [0_u8; 1];
            let alive =
                matches!(stream.peek(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
            stream.set_nonblocking(false)?;
            if alive {
                return Ok(stream);
            }
        }
    }

    /// One POST of a JSON body to one member; the answer's JSON.
    fn post_once(&self, endpoint: &Endpoint, path: &str, body: &[u8]) -> Result<Value, Failure> {
        let mut stream = self
            .connection(endpoint)
            .map_err(|e| Failure::NotSent(format!("{}: {e}", endpoint.url)))?;
        let lost = |e: io::Error| Failure::Lost {
            timed_out: matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            detail: format!("{}: {e}", endpoint.url),
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            endpoint.addr,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        stream.write_all(&request).map_err(lost)?;
        let mut reader = BufReader::new(stream);
        let (status, chunked, length, close) = read_head(&mut reader).map_err(lost)?;
        let body = if chunked {
            let mut body = Vec::new();
            while let Some(chunk) = read_chunk(&mut reader).map_err(lost)? {
                body.extend_from_slice(&chunk);
            }
            body
        } else if let Some(length) = length {
            let mut body = vec![0; length];
            reader.read_exact(&mut body).map_err(lost)?;
            body
        } else {
            let mut body = Vec::new();
            reader.read_to_end(&mut body).map_err(lost)?;
            body
        };
        if !close && reader.buffer().is_empty() {
            let stream = reader.into_inner();
            endpoint
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(stream);
        }
        let value: Value = serde_json::from_slice(&body).map_err(|e| Failure::Lost {
            timed_out: false,
            detail: format!("{}: the answer is not JSON ({e})", endpoint.url),
        })?;
        if status != 200 {
            return Err(Failure::Answered(gateway_error(&value, status)));
        }
        // An answer without a header revision leaves it as it was (`fetch_max` of 0).
        self.seen_revision
            .fetch_max(header_revision(&value), Ordering::SeqCst);
        Ok(value)
    }

    /// POSTs to the preferred member, failing over as the retry rule allows.
    fn post(&self, path: &str, body: &Value, write: bool) -> Result<Value, EtcdError> {
        let body = body.to_string().into_bytes();
        let deadline = Instant::now() + self.timeout;
        let mut tried = Vec::new();
        let mut timed_out = None;
        let count = self.endpoints.len();
        let mut round = 0_u32;
        loop {
            for step in 0..count {
                let at = (self.preferred.load(Ordering::Relaxed) + step) % count;
                let endpoint = &self.endpoints[at];
                match self.post_once(endpoint, path, &body) {
                    Ok(value) => {
                        self.preferred.store(at, Ordering::Relaxed);
                        return Ok(value);
                    }
                    Err(failure) => {
                        self.forget(endpoint);
                        self.preferred.store((at + 1) % count, Ordering::Relaxed);
                        match failure {
                            Failure::NotSent(detail) => {
                                timed_out = None;
                                tried.push(detail);
                            }
                            Failure::Lost { timed_out, detail } if write => {
                                return Err(if timed_out {
                                    EtcdError::Timeout {
                                        endpoint: endpoint.url.clone(),
                                        timeout: self.timeout,
                                    }
                                } else {
                                    EtcdError::Unavailable {
                                        endpoints: endpoint.url.clone(),
                                        detail: format!(
                                            "{detail} (the write may have been applied)"
                                        ),
                                    }
                                });
                            }
                            Failure::Lost {
                                timed_out: late,
                                detail,
                            } => {
                                timed_out = late.then(|| endpoint.url.clone());
                                tried.push(detail);
                            }
                            Failure::Answered(err) if err.is_transient() && !write => {
                                tried.push(format!("{}: {err}", endpoint.url));
                            }
                            Failure::Answered(err) => return Err(err),
                        }
                    }
                }
            }
            if Instant::now() >= deadline {
                if let Some(endpoint) = timed_out {
                    return Err(EtcdError::Timeout {
                        endpoint,
                        timeout: self.timeout,
                    });
                }
                return Err(EtcdError::Unavailable {
                    endpoints: self.names(),
                    detail: tried.last().cloned().unwrap_or_default(),
                });
            }
            // Every member failed this round: let an election or a restart finish.
            round += 1;
            std::thread::sleep(Duration::from_millis(20 * u64::from(round.min(10))));
        }
    }

    /// Drops the idle connections of a member that just failed.
    fn forget(&self, endpoint: &Endpoint) {
        endpoint
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Reads `[key, range_end)` (just `key` when `range_end` is `None`) at `revision` (0: the
    /// latest). `count_only` returns no pairs, only the count.
    pub(crate) fn range(
        &self,
        key: &[u8],
        range_end: Option<&[u8]>,
        revision: u64,
        count_only: bool,
    ) -> Result<Range, EtcdError> {
        self.range_page(key, range_end, revision, count_only, 0)
            .map(|(range, _more)| range)
    }

    /// Every pair in `[key, range_end)` at one revision, read in pages of [`PAGE`] so that no
    /// answer outgrows etcd's message limits: the first page at `revision` (0: the latest), the
    /// others at the revision the first was served at. `Range::revision` is that revision.
    pub(crate) fn scan(
        &self,
        key: &[u8],
        range_end: &[u8],
        revision: u64,
    ) -> Result<Range, EtcdError> {
        let (mut all, mut more) = self.range_page(key, Some(range_end), revision, false, PAGE)?;
        let at = if revision == 0 {
            all.revision
        } else {
            revision
        };
        while more {
            let Some(last) = all.kvs.last() else { break };
            let mut next = last.key.clone();
            next.push(0);
            let (page, again) = self.range_page(&next, Some(range_end), at, false, PAGE)?;
            all.kvs.extend(page.kvs);
            more = again;
        }
        all.revision = at;
        all.count = all.kvs.len() as u64;
        Ok(all)
    }

    /// One page of a range: at most `limit` pairs (0: no limit), and whether more follow.
    fn range_page(
        &self,
        key: &[u8],
        range_end: Option<&[u8]>,
        revision: u64,
        count_only: bool,
        limit: u64,
    ) -> Result<(Range, bool), EtcdError> {
        let mut body = json!({ "key": encode(key) });
        if let Some(end) = range_end {
            body["range_end"] = json!(encode(end));
        }
        if revision > 0 {
            body["revision"] = json!(revision.to_string());
        }
        if count_only {
            body["count_only"] = json!(true);
        }
        if limit > 0 {
            body["limit"] = json!(limit.to_string());
        }
        let answer = self
            .post("/v3/kv/range", &body, false)
            .map_err(|err| err.at_revision(revision))?;
        let more = answer.get("more").and_then(Value::as_bool).unwrap_or(false);
        let range = Range {
            revision: header_revision(&answer),
            kvs: kvs(answer.get("kvs"))?,
            count: answer.get("count").and_then(int).unwrap_or(0),
        };
        Ok((range, more))
    }

    /// Stores `value` under `key`; the write's revision and the pair it replaced.
    pub(crate) fn put(&self, key: &[u8], value: &[u8]) -> Result<(u64, Option<Kv>), EtcdError> {
        let body = json!({ "key": encode(key), "value": encode(value), "prev_kv": true });
        let answer = self.post("/v3/kv/put", &body, true)?;
        let prev = match answer.get("prev_kv") {
            Some(kv) => Some(parse_kv(kv)?),
            None => None,
        };
        Ok((header_revision(&answer), prev))
    }

    /// Deletes `[key, range_end)`; the revision and the pairs removed.
    pub(crate) fn delete(
        &self,
        key: &[u8],
        range_end: Option<&[u8]>,
    ) -> Result<(u64, Vec<Kv>), EtcdError> {
        let mut body = json!({ "key": encode(key), "prev_kv": true });
        if let Some(end) = range_end {
            body["range_end"] = json!(encode(end));
        }
        let answer = self.post("/v3/kv/deleterange", &body, true)?;
        Ok((header_revision(&answer), kvs(answer.get("prev_kvs"))?))
    }

    /// One transaction. A transaction without puts or deletes is a read and may fail over.
    pub(crate) fn txn(
        &self,
        compares: &[Compare],
        success: &[TxnOp],
        failure: &[TxnOp],
    ) -> Result<TxnResult, EtcdError> {
        let compare: Vec<Value> = compares
            .iter()
            .map(|c| {
                let (target, field) = match c.target {
                    Target::Mod => ("MOD", "mod_revision"),
                    Target::Create => ("CREATE", "create_revision"),
                };
                let result = match c.relation {
                    Relation::Equal => "EQUAL",
                    Relation::Less => "LESS",
                };
                json!({
                    "key": encode(&c.key),
                    "target": target,
                    "result": result,
                    field: c.revision.to_string(),
                })
            })
            .collect();
        let ops = |ops: &[TxnOp]| -> Vec<Value> {
            ops.iter()
                .map(|op| match op {
                    TxnOp::Get(key) => json!({ "request_range": { "key": encode(key) } }),
                    TxnOp::Put(key, value) => json!({
                        "request_put": { "key": encode(key), "value": encode(value) }
                    }),
                    TxnOp::Delete(key) => json!({
                        "request_delete_range": { "key": encode(key), "prev_kv": true }
                    }),
                })
                .collect()
        };
        let write = success
            .iter()
            .chain(failure)
            .any(|op| !matches!(op, TxnOp::Get(_)));
        let body = json!({ "compare": compare, "success": ops(success), "failure": ops(failure) });
        let answer = self.post("/v3/kv/txn", &body, write)?;
        let mut responses = Vec::new();
        if let Some(list) = answer.get("responses").and_then(Value::as_array) {
            for response in list {
                let kv = if let Some(range) = response.get("response_range") {
                    kvs(range.get("kvs"))?
                } else if let Some(delete) = response.get("response_delete_range") {
                    kvs(delete.get("prev_kvs"))?
                } else {
                    Vec::new()
                };
                responses.push(kv);
            }
        }
        Ok(TxnResult {
            succeeded: answer
                .get("succeeded")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            revision: header_revision(&answer),
            responses,
        })
    }

    /// Opens a watch on `[key, range_end)` from `start_revision` on one member, trying each in
    /// turn; the stream and the member's index.
    pub(crate) fn watch(
        &self,
        key: &[u8],
        range_end: &[u8],
        start_revision: u64,
    ) -> Result<WatchStream, EtcdError> {
        let body = json!({
            "create_request": {
                "key": encode(key),
                "range_end": encode(range_end),
                "start_revision": start_revision.to_string(),
            }
        })
        .to_string();
        let count = self.endpoints.len();
        let mut last = String::new();
        for step in 0..count {
            let at = (self.preferred.load(Ordering::Relaxed) + step) % count;
            let endpoint = &self.endpoints[at];
            match self.open_watch(endpoint, &body) {
                Ok(stream) => return Ok(stream),
                Err(detail) => {
                    self.preferred.store((at + 1) % count, Ordering::Relaxed);
                    last = detail;
                }
            }
        }
        Err(EtcdError::Unavailable {
            endpoints: self.names(),
            detail: last,
        })
    }

    fn open_watch(&self, endpoint: &Endpoint, body: &str) -> Result<WatchStream, String> {
        let fail = |e: io::Error| format!("{}: {e}", endpoint.url);
        let mut stream = self.connect(endpoint).map_err(fail)?;
        let request = format!(
            "POST /v3/watch HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            endpoint.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(fail)?;
        let mut reader = BufReader::new(stream);
        let (status, chunked, ..) = read_head(&mut reader).map_err(fail)?;
        if status != 200 || !chunked {
            return Err(format!(
                "{}: the watch was refused (HTTP {status})",
                endpoint.url
            ));
        }
        let mut watch = WatchStream {
            reader,
            pending: Vec::new(),
            endpoint: endpoint.url.clone(),
        };
        // The first message confirms the watch was created.
        match watch.next_message() {
            Ok(Some(Value::Object(result))) if result.contains_key("created") => {
                // From here on a quiet watch is not an error; a member that dies closes the
                // connection, which ends the stream.
                watch
                    .reader
                    .get_ref()
                    .set_read_timeout(None)
                    .map_err(fail)?;
                Ok(watch)
            }
            Ok(other) => Err(format!(
                "{}: unexpected first watch message {other:?}",
                endpoint.url
            )),
            Err(e) => Err(format!("{}: {e}", endpoint.url)),
        }
    }
}

/// An open watch stream on one member.
#[derive(Debug)]
pub(crate) struct WatchStream {
    reader: BufReader<TcpStream>,
    /// Bytes of a message that spans chunks.
    pending: Vec<u8>,
    endpoint: String,
}

impl WatchStream {
    /// The member this stream reads from.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Waits for the next batch of events. `Ok(None)` when the member ended the stream.
    /// Blocks until something arrives: a quiet watch is not an error.
    pub(crate) fn next(&mut self) -> io::Result<Option<WatchMessage>> {
        loop {
            let Some(result) = self.next_message()? else {
                return Ok(None);
            };
            if result.get("canceled").and_then(Value::as_bool) == Some(true) {
                let compact_revision = result.get("compact_revision").and_then(int).unwrap_or(0);
                return Ok(Some(WatchMessage::Compacted { compact_revision }));
            }
            let Some(list) = result.get("events").and_then(Value::as_array) else {
                continue; // progress notifications and the like
            };
            let mut events = Vec::with_capacity(list.len());
            for event in list {
                let delete = event.get("type").and_then(Value::as_str) == Some("DELETE");
                let kv = event
                    .get("kv")
                    .map(parse_kv)
                    .transpose()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?
                    .ok_or_else(|| {
                        io::Error::new(io::ErrorKind::InvalidData, "event without kv")
                    })?;
                events.push(Event { delete, kv });
            }
            return Ok(Some(WatchMessage::Events(events)));
        }
    }

    /// The next `result` object of the stream (one JSON document per line).
    fn next_message(&mut self) -> io::Result<Option<Value>> {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let mut value: Value = serde_json::from_slice(&line)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                if let Some(error) = value.get("error") {
                    return Err(io::Error::other(error.to_string()));
                }
                return Ok(value.get_mut("result").map(Value::take));
            }
            match read_chunk(&mut self.reader)? {
                Some(chunk) => self.pending.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }
}

/// Reads a response's status line and headers: status, chunked, content length, close.
fn read_head(reader: &mut impl BufRead) -> io::Result<(u16, bool, Option<usize>, bool)> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the member closed the connection",
        ));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed status line"))?;
    let (mut chunked, mut length, mut close) = (false, None, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the member closed the connection",
            ));
        }
        let header = line.trim_end();
        if header.is_empty() {
            return Ok((status, chunked, length, close));
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "content-length" => length = value.parse().ok(),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
}

/// One chunk of a chunked body; `None` after the last.
fn read_chunk(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let size = line.trim_end().split(';').next().unwrap_or("");
    let size = usize::from_str_radix(size.trim(), 16)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "malformed chunk size"))?;
    if size == 0 {
        // Trailers end with an empty line.
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                return Ok(None);
            }
        }
    }
    let mut chunk = vec![0; size + 2];
    reader.read_exact(&mut chunk)?;
    chunk.truncate(size);
    Ok(Some(chunk))
}

/// The gateway's error body (`{"error", "code", "message"}`) as an `EtcdError`.
fn gateway_error(body: &Value, status: u16) -> EtcdError {
    let message = body
        .get("message")
        .or_else(|| body.get("error"))
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_string();
    let code = body.get("code").and_then(Value::as_u64).unwrap_or(0) as u32;
    if message.contains("required revision has been compacted") {
        // The requested revision is filled in by the caller that knows it.
        return EtcdError::Compacted { revision: 0 };
    }
    EtcdError::Rejected {
        code,
        status,
        message,
    }
}

/// The header's revision.
fn header_revision(answer: &Value) -> u64 {
    answer
        .get("header")
        .and_then(|h| h.get("revision"))
        .and_then(int)
        .unwrap_or(0)
}

/// An int64 field: the gateway writes them as strings, omits them when 0.
fn int(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

#[derive(Deserialize)]
struct RawKv {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    create_revision: Value,
    #[serde(default)]
    mod_revision: Value,
}

fn parse_kv(value: &Value) -> Result<Kv, EtcdError> {
    let raw = RawKv::deserialize(value).map_err(|e| EtcdError::Rejected {
        code: 0,
        status: 200,
        message: format!("unexpected key-value shape from the gateway: {e}"),
    })?;
    let bytes = |field: &str, text: &str| {
        decode(text).ok_or_else(|| EtcdError::Rejected {
            code: 0,
            status: 200,
            message: format!("the gateway sent a `{field}` that is not base64"),
        })
    };
    Ok(Kv {
        key: bytes("key", &raw.key)?,
        value: bytes("value", &raw.value)?,
        create_revision: int(&raw.create_revision).unwrap_or(0),
        mod_revision: int(&raw.mod_revision).unwrap_or(0),
    })
}

fn kvs(list: Option<&Value>) -> Result<Vec<Kv>, EtcdError> {
    match list.and_then(Value::as_array) {
        Some(list) => list.iter().map(parse_kv).collect(),
        None => Ok(Vec::new()),
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as the gateway expects for `bytes` fields.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional); `None` on any other character.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .trim_end_matches('=')
        .bytes()
        .map(|c| ALPHABET.iter().position(|&a| a == c).map(|p| p as u8))
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        if group.len() == 1 {
            return None;
        }
        let n = group
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
        for i in 0..group.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::{decode, encode, read_chunk, read_head};

    #[test]
    fn chunked_bodies_reassemble_across_chunk_boundaries_and_stop_at_the_last_chunk() {
        let wire = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\n\r\n\
                    7\r\n{\"a\":1}\r\n3;ext=1\r\n\n{\"\r\n5\r\nb\":2}\r\n0\r\nX-Trailer: t\r\n\r\n";
        let mut reader = Cursor::new(wire.as_bytes());
        assert_eq!(read_head(&mut reader).unwrap(), (200, true, None, false));
        let mut body = Vec::new();
        while let Some(chunk) = read_chunk(&mut reader).unwrap() {
            body.extend_from_slice(&chunk);
        }
        assert_eq!(body, b"{\"a\":1}\n{\"b\":2}");
    }

    #[test]
    fn heads_report_length_and_close_and_refuse_a_truncated_answer() {
        let wire = "HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\nConnection: close\r\n\r\n";
        let head = read_head(&mut Cursor::new(wire.as_bytes())).unwrap();
        assert_eq!(head, (400, false, Some(12), true));
        assert!(read_head(&mut Cursor::new(&b"HTTP/1.1 200 OK\r\nContent-"[..])).is_err());
        assert!(read_head(&mut Cursor::new(&b""[..])).is_err());
    }

    #[test]
    fn base64_round_trips_every_length_and_matches_the_standard_alphabet() {
        assert_eq!(encode(b"a/1"), "YS8x");
        assert_eq!(encode(b"{\"x\":1}"), "eyJ4IjoxfQ==");
        assert_eq!(encode(&[0xff, 0xfe]), "//4=");
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(
                decode(&encode(&bytes)).as_deref(),
                Some(&bytes[..]),
                "{len}"
            );
        }
        assert_eq!(decode("not base64!"), None);
    }
}
