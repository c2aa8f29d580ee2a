//! The request log: one entry per AWS request, newest kept, oldest dropped past a bound, so
//! memory stays flat however long a server runs. Entries never hold secrets: only the
//! action, principal ARN, decision and error code, no parameters, tokens or signatures.
//!
//! A bounded lock-free queue: requests push without taking a lock. The request path stores a
//! compact [`Record`] (no time formatting, static strings where it can); readers of the log
//! pay for turning it into [`LoggedRequest`]s.

use std::borrow::Cow;
use std::time::SystemTime;

use crossbeam_queue::ArrayQueue;
use serde::{Deserialize, Serialize};

/// How many entries a server keeps.
pub(crate) const CAPACITY: usize = 10_000;

/// One logged request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// Order of arrival.
    pub seq: u64,
    /// When it was served (RFC 3339, server clock).
    pub time: String,
    /// `sts`, `iam` or `ec2` (empty when it could not be routed).
    pub service: String,
    /// The `Action`, when there was one.
    pub action: String,
    /// The IAM action it needs, such as `ec2:DescribeRegions`.
    pub iam_action: String,
    /// The resource it was authorized against.
    pub resource: String,
    /// The region of the signature's scope.
    pub region: String,
    /// Who sent it (empty when unauthenticated).
    pub principal: String,
    /// `allowed`, `denied` (authorization refused), or `error`.
    pub decision: String,
    /// The AWS error code, when it failed.
    pub error_code: String,
    /// The HTTP status.
    pub status: u16,
}

/// What the request path records of one request.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) time: SystemTime,
    pub(crate) service: &'static str,
    pub(crate) action: String,
    pub(crate) iam_action: &'static str,
    pub(crate) resource: String,
    pub(crate) region: String,
    pub(crate) principal: String,
    pub(crate) decision: &'static str,
    pub(crate) error_code: Option<Cow<'static, str>>,
    pub(crate) status: u16,
}

impl Record {
    fn logged(&self, seq: u64) -> LoggedRequest {
        LoggedRequest {
            seq,
            time: timestamp(self.time),
            service: self.service.to_owned(),
            action: self.action.clone(),
            iam_action: self.iam_action.to_owned(),
            resource: self.resource.clone(),
            region: self.region.clone(),
            principal: self.principal.clone(),
            decision: self.decision.to_owned(),
            error_code: self.error_code.as_deref().unwrap_or_default().to_owned(),
            status: self.status,
        }
    }
}

/// The log of one server.
#[derive(Debug)]
pub(crate) struct RequestLog {
    entries: ArrayQueue<(u64, Record)>,
    next: std::sync::atomic::AtomicU64,
}

impl RequestLog {
    pub(crate) fn new() -> Self {
        Self {
            entries: ArrayQueue::new(CAPACITY),
            next: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Records an entry, dropping the oldest when full.
    pub(crate) fn push(&self, record: Record) {
        let seq = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = self.entries.force_push((seq, record));
    }

    /// The entries, oldest first (the log keeps them).
    pub(crate) fn snapshot(&self) -> Vec<LoggedRequest> {
        let mut out = Vec::with_capacity(self.entries.len());
        while let Some(e) = self.entries.pop() {
            out.push(e);
        }
        for e in &out {
            let _ = self.entries.force_push(e.clone());
        }
        // Requests served meanwhile were queued among the re-pushed ones.
        out.sort_by_key(|(seq, _)| *seq);
        out.iter().map(|(seq, r)| r.logged(*seq)).collect()
    }

    /// Empties the log.
    pub(crate) fn clear(&self) {
        while self.entries.pop().is_some() {}
    }
}

/// RFC 3339 for log times.
fn timestamp(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
