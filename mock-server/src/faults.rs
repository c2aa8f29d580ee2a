//! Fault injection: rules that make matching AWS calls fail the way AWS and networks do
//! (throttling with each service's own code, internal errors, unavailability, latency, a
//! dropped connection, a truncated body), so a connector's retry and timeout handling can be
//! tested. Rules are set through `POST /_mock/faults` or [`crate::MockServer::add_fault`].
//!
//! The request path loads the rule list without a lock and skips everything when it is
//! empty. "First N calls" counts with an atomic; a probability draws from a hash of the
//! rule's seed and the call's index among the matching ones, so a run is reproducible.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::error::AwsError;
use crate::service::{Endpoint, Service};
use crate::wildcard::Pattern;

/// One fault rule: which calls it matches and what happens to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// `sts`, `iam` or `ec2`, or a delegate endpoint: `imds` (instance metadata) or `ecs`
    /// (container credentials); any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The `Action`, such as `AssumeRole`; for delegate endpoints `GetToken` (the IMDSv2
    /// token), `GetCredentials` or `GetMetadata`; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The caller's ARN (for delegate endpoints: the delegate's name), `*` and `?`
    /// wildcards allowed; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The region of the signature's scope (the delegate's region); any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Only the first N matching calls fail; all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// Each matching call fails with this probability (0 to 1); always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// The seed of the probability draws.
    #[serde(default)]
    pub seed: u64,
    /// What happens.
    pub effect: FaultEffect,
}

/// What a fault does to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultEffect {
    /// The service's throttling error: `Throttling` (400) for STS and IAM,
    /// `RequestLimitExceeded` (503) for EC2.
    Throttle,
    /// An internal error (500): `InternalError` (EC2), `ServiceFailure` (IAM),
    /// `InternalFailure` (STS).
    InternalError,
    /// Unavailable (503): `Unavailable` (EC2), `ServiceUnavailable` (STS, IAM).
    ServiceUnavailable,
    /// The call is served normally after this many milliseconds (real time).
    Latency(u64),
    /// The connection is closed without an answer.
    DropConnection,
    /// The answer's headers announce the whole body but only half of it is sent.
    TruncateBody,
}

/// Why a rule was refused.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The service is not one the server plays.
    #[error("unknown service `{0}`: use sts, iam, ec2, imds or ecs")]
    Service(String),
    /// The probability is not between 0 and 1.
    #[error("probability must be between 0 and 1")]
    Probability,
    /// A latency over a minute.
    #[error("latency must be at most 60000 ms")]
    Latency,
}

/// A stored rule with its counter.
#[derive(Debug)]
struct Active {
    rule: FaultRule,
    principal: Option<Pattern>,
    matched: AtomicU64,
}

/// What the call being served sees of a request.
pub(crate) struct Target<'a> {
    /// `sts`, `iam`, `ec2`, or a delegate endpoint: `imds`, `ecs`.
    pub(crate) service: &'a str,
    pub(crate) action: &'a str,
    pub(crate) principal: &'a str,
    pub(crate) region: &'a str,
}

/// Checked rules, ready to replace a server's.
#[derive(Debug)]
pub(crate) struct RuleSet(Vec<Arc<Active>>);

impl RuleSet {
    /// Checks every rule.
    pub(crate) fn new(rules: &[FaultRule]) -> Result<Self, FaultError> {
        rules
            .iter()
            .cloned()
            .map(checked)
            .collect::<Result<_, _>>()
            .map(RuleSet)
    }
}

/// The rules of one server.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: ArcSwap<Vec<Arc<Active>>>,
}

impl Faults {
    /// Adds a rule after checking it.
    pub(crate) fn add(&self, rule: FaultRule) -> Result<(), FaultError> {
        let active = checked(rule)?;
        self.rules.rcu(|rules| {
            let mut next = Vec::clone(rules);
            next.push(Arc::clone(&active));
            next
        });
        Ok(())
    }

    /// Replaces every rule (counters start again).
    pub(crate) fn replace(&self, rules: RuleSet) {
        self.rules.store(Arc::new(rules.0));
    }

    /// The rules, in the order they apply.
    pub(crate) fn list(&self) -> Vec<FaultRule> {
        self.rules.load().iter().map(|a| a.rule.clone()).collect()
    }

    /// Removes every rule.
    pub(crate) fn clear(&self) {
        self.rules.store(Arc::new(Vec::new()));
    }

    /// The effect of the first rule that matches and fires for this call, if any.
    pub(crate) fn strike(&self, target: &Target<'_>) -> Option<FaultEffect> {
        let rules = self.rules.load();
        rules
            .iter()
            .find_map(|a| a.fires(target).then_some(a.rule.effect))
    }
}

/// A rule ready to apply, or why it cannot be.
fn checked(rule: FaultRule) -> Result<Arc<Active>, FaultError> {
    if let Some(s) = &rule.service
        && !Endpoint::ALL.iter().any(|e| e.name() == s)
    {
        return Err(FaultError::Service(s.clone()));
    }
    if rule.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        return Err(FaultError::Probability);
    }
    if matches!(rule.effect, FaultEffect::Latency(ms) if ms > 60_000) {
        return Err(FaultError::Latency);
    }
    Ok(Arc::new(Active {
        principal: rule.principal.as_deref().map(Pattern::exact_case),
        rule,
        matched: AtomicU64::new(0),
    }))
}

impl Active {
    fn fires(&self, t: &Target<'_>) -> bool {
        let r = &self.rule;
        let matches = r.service.as_deref().is_none_or(|s| s == t.service)
            && r.action.as_deref().is_none_or(|a| a == t.action)
            && self
                .principal
                .as_ref()
                .is_none_or(|p| p.matches(t.principal))
            && r.region.as_deref().is_none_or(|g| g == t.region);
        if !matches {
            return false;
        }
        let index = self.matched.fetch_add(1, Ordering::Relaxed);
        if r.first.is_some_and(|n| index >= n) {
            return false;
        }
        r.probability
            .is_none_or(|p| crate::seeded::draw(r.seed, index) < p)
    }
}

impl FaultEffect {
    /// The AWS error this effect answers with, for the error effects.
    pub(crate) fn error(self, service: Service) -> Option<AwsError> {
        let (status, code, message) = match (self, service) {
            (FaultEffect::Throttle, Service::Ec2) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "RequestLimitExceeded",
                "Request limit exceeded.",
            ),
            (FaultEffect::Throttle, _) => (StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded"),
            (FaultEffect::InternalError, _) => return Some(AwsError::internal(service)),
            (FaultEffect::ServiceUnavailable, Service::Ec2) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                "The server is overloaded and can't handle the request.",
            ),
            (FaultEffect::ServiceUnavailable, _) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "Service is unable to handle request.",
            ),
            _ => return None,
        };
        Some(AwsError::new(status, code, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target<'static> {
        Target {
            service: "sts",
            action: "AssumeRole",
            principal: "arn:aws:iam::111111111111:user/ci",
            region: "us-east-1",
        }
    }

    fn rule(effect: FaultEffect) -> FaultRule {
        FaultRule {
            service: None,
            action: None,
            principal: None,
            region: None,
            first: None,
            probability: None,
            seed: 0,
            effect,
        }
    }

    #[test]
    fn first_n_then_served() {
        let faults = Faults::default();
        let mut r = rule(FaultEffect::Throttle);
        r.first = Some(2);
        r.principal = Some("arn:aws:iam::*:user/ci".into());
        faults.add(r).unwrap_or_else(|e| panic!("{e}"));
        let hits: Vec<_> = (0..4).map(|_| faults.strike(&target())).collect();
        assert_eq!(
            hits,
            [
                Some(FaultEffect::Throttle),
                Some(FaultEffect::Throttle),
                None,
                None
            ]
        );
    }

    #[test]
    fn non_matching_calls_are_not_counted() {
        let faults = Faults::default();
        let mut r = rule(FaultEffect::InternalError);
        r.action = Some("GetCallerIdentity".into());
        r.first = Some(1);
        faults.add(r).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(faults.strike(&target()), None);
        let gci = Target {
            action: "GetCallerIdentity",
            ..target()
        };
        assert_eq!(faults.strike(&gci), Some(FaultEffect::InternalError));
        assert_eq!(faults.strike(&gci), None);
    }

    #[test]
    fn bad_rules_are_refused() {
        let faults = Faults::default();
        let mut r = rule(FaultEffect::Throttle);
        r.service = Some("s3".into());
        assert!(faults.add(r).is_err());
        let mut r = rule(FaultEffect::Throttle);
        r.probability = Some(1.5);
        assert!(faults.add(r).is_err());
        assert!(faults.add(rule(FaultEffect::Latency(61_000))).is_err());
        assert!(faults.list().is_empty());
    }
}
