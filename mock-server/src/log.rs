//! The request log: one entry per AWS request, newest kept, oldest dropped past a bound, so
//! memory stays flat however long a server runs. Entries never hold secrets: only the
//! action, principal ARN, decision and error code, no parameters, tokens or signatures.
//!
//! A bounded lock-free queue: requests push without taking a lock. The request path stores a
//! compact [`Record`] (no time formatting, static strings where it can); readers of the log
//! pay for turning it into [`LoggedRequest`]s.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use crossbeam_queue::ArrayQueue;
use serde::{Deserialize, Serialize};

use crate::iam::store::Identity;
use crate::policy::Policy;
use crate::policy::eval::{self, Evaluation, Layer};
use crate::service::Endpoint;

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
    pub decision: Decision,
    /// The statement that decided it: the one that allowed or explicitly denied it
    /// (`arn:aws:iam::aws:policy/ReadOnlyAccess Statement[0]`, with its Sid when it has one),
    /// or the one missing (`missing: an Allow in the identity-based policies`). Empty when no
    /// policy was evaluated (unsigned calls, the root user, actions every caller may call).
    #[serde(default)]
    pub statement: String,
    /// Whether a service control policy of the caller's organization decided it (denied:
    /// no change to the caller's own policies would allow it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub service_control_policy: bool,
    /// The AWS error code, when it failed.
    pub error_code: String,
    /// The HTTP status.
    pub status: u16,
    /// Further authorizations the call was allowed, besides `iam_action` on `resource`
    /// (RunInstances: the subnet, groups, instance, `iam:PassRole`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_allowed: Vec<Authorized>,
}

/// What became of a logged request; written `allowed`, `denied` or `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Served: authorized, or needing no authorization.
    Allowed,
    /// Refused by authorization.
    Denied,
    /// Failed otherwise (a signature, a parameter, a fault, a delegate's error).
    Error,
}

impl Decision {
    /// How the log writes it: `allowed`, `denied` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::Error => "error",
        }
    }
}

impl std::fmt::Display for Decision {
    /// As [`Decision::as_str`], padded to the formatter's width.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// An IAM action on a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Authorized {
    /// The IAM action, such as `ec2:RunInstances`.
    pub action: String,
    /// The resource.
    pub resource: String,
}

/// What the request path records of one request.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) time: SystemTime,
    /// `None`: the request could not be routed.
    pub(crate) service: Option<Endpoint>,
    /// The action asked for: the table's name for a known action, else the request's text.
    pub(crate) action: Cow<'static, str>,
    pub(crate) iam_action: &'static str,
    pub(crate) resource: String,
    pub(crate) region: String,
    pub(crate) principal: Arc<str>,
    pub(crate) decision: Decision,
    pub(crate) decider: Option<Decider>,
    pub(crate) error_code: Option<Cow<'static, str>>,
    pub(crate) status: u16,
    /// Further allowed (action, resource) pairs.
    pub(crate) also_allowed: Vec<(&'static str, String)>,
}

/// What decided an authorization, held as shared pointers so the request path does not
/// format anything; described when the log is read.
#[derive(Debug, Clone)]
pub(crate) enum Decider {
    /// This statement allowed the request, or denied it explicitly.
    Statement {
        policy: Arc<str>,
        document: Arc<Policy>,
        index: usize,
        /// A service control policy's statement.
        scp: bool,
    },
    /// Nothing in this layer allowed it.
    Missing(Missing),
}

/// Where an `Allow` was missing.
#[derive(Debug, Clone)]
pub(crate) enum Missing {
    /// The service control policies of the caller's organization, at some level.
    Organization,
    /// The identity-based policies.
    Identity,
    /// The permissions boundary, by name.
    Boundary(Option<Arc<str>>),
    /// The session policies.
    Session,
    /// The trust policy of the role named.
    Trust(Arc<str>),
    /// The role itself: it does not exist, or has not propagated yet.
    Role(Arc<str>),
}

impl Decider {
    /// The statement behind an evaluation of `caller`'s policies: for an allow, the first
    /// identity-based statement that allowed it.
    pub(crate) fn of(evaluation: &Evaluation, caller: &Identity) -> Option<Self> {
        let at = match evaluation.decision {
            eval::Decision::Allow => evaluation
                .allowed_by
                .iter()
                .find(|s| s.layer == Layer::Identity)?,
            eval::Decision::ExplicitDeny(ref at) => at,
            eval::Decision::ImplicitDeny(layer) => {
                return Some(Self::Missing(match layer {
                    Layer::Organization => Missing::Organization,
                    Layer::Identity => Missing::Identity,
                    Layer::Boundary => Missing::Boundary(
                        caller
                            .layer(Layer::Boundary)
                            .and_then(|b| b.first())
                            .map(|p| Arc::clone(&p.label)),
                    ),
                    Layer::Session => Missing::Session,
                }));
            }
        };
        let policy = caller.layer(at.layer)?.get(at.policy)?;
        Some(Self::Statement {
            policy: Arc::clone(&policy.label),
            document: Arc::clone(&policy.policy),
            index: at.statement,
            scp: at.layer == Layer::Organization,
        })
    }

    /// Whether a service control policy decided (by a statement, or by allowing nothing).
    fn by_organization(&self) -> bool {
        matches!(
            self,
            Self::Statement { scp: true, .. } | Self::Missing(Missing::Organization)
        )
    }

    fn describe(&self) -> String {
        match self {
            Self::Statement {
                policy,
                document,
                index,
                ..
            } => match document
                .statements
                .get(*index)
                .and_then(|s| s.sid.as_deref())
            {
                Some(sid) => format!("{policy} Statement[{index}] (Sid {sid})"),
                None => format!("{policy} Statement[{index}]"),
            },
            Self::Missing(Missing::Organization) => {
                "missing: an Allow in the service control policies at every level of the organization".to_owned()
            }
            Self::Missing(Missing::Identity) => {
                "missing: an Allow in the identity-based policies".to_owned()
            }
            Self::Missing(Missing::Boundary(Some(b))) => {
                format!("missing: an Allow in the permissions boundary {b}")
            }
            Self::Missing(Missing::Boundary(None)) => {
                "missing: an Allow in the permissions boundary".to_owned()
            }
            Self::Missing(Missing::Session) => {
                "missing: an Allow in the session policies".to_owned()
            }
            Self::Missing(Missing::Role(role)) => {
                format!("missing: the role {role} (it does not exist, or has not propagated yet)")
            }
            Self::Missing(Missing::Trust(role)) => {
                format!("missing: an Allow for the caller in the trust policy of {role}")
            }
        }
    }
}

impl Record {
    fn logged(&self, seq: u64) -> LoggedRequest {
        LoggedRequest {
            seq,
            time: crate::times::rfc3339(self.time),
            service: self
                .service
                .map(Endpoint::name)
                .unwrap_or_default()
                .to_owned(),
            action: self.action.to_string(),
            iam_action: self.iam_action.to_owned(),
            resource: self.resource.clone(),
            region: self.region.clone(),
            principal: self.principal.to_string(),
            decision: self.decision,
            statement: self
                .decider
                .as_ref()
                .map(Decider::describe)
                .unwrap_or_default(),
            service_control_policy: self.decider.as_ref().is_some_and(Decider::by_organization),
            error_code: self.error_code.as_deref().unwrap_or_default().to_owned(),
            status: self.status,
            also_allowed: self
                .also_allowed
                .iter()
                .map(|(action, resource)| Authorized {
                    action: (*action).to_owned(),
                    resource: resource.clone(),
                })
                .collect(),
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

    /// The `seq` the next entry gets: how many were ever recorded.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_written_as_before() {
        for (decision, text) in [
            (Decision::Allowed, "allowed"),
            (Decision::Denied, "denied"),
            (Decision::Error, "error"),
        ] {
            let json = serde_json::to_string(&decision).unwrap_or_default();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<Decision>(&json).ok(), Some(decision));
            assert_eq!(
                (decision.as_str(), format!("{decision:<8}|")),
                (text, format!("{text:<8}|"))
            );
        }
    }
}
