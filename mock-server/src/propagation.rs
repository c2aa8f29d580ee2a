//! IAM propagation settings: how long each kind of IAM change takes to reach
//! authentication, STS and authorization ("might take up to 5 minutes to take effect"), per
//! kind of change, with a seeded jitter. What a change is made of, and when it takes effect,
//! is `iam::change` and `iam::state`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The kinds of IAM change, each of which may have its own propagation delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Users, groups, roles, instance profiles and OIDC providers created, changed (tags,
    /// description, session duration, profile roles, client ids) or deleted: a created role
    /// becoming assumable.
    Entities,
    /// Access keys created, deactivated, activated or deleted.
    AccessKeys,
    /// Trust policy updates (`UpdateAssumeRolePolicy`).
    TrustPolicies,
    /// Managed policies attached or detached, inline policies put or deleted, managed policies
    /// created, deleted or given a new default version.
    Policies,
    /// Permissions boundaries put or deleted.
    Boundaries,
    /// Users added to or removed from groups.
    GroupMembership,
    /// Organizations changed (`POST /_mock/organizations`): service control policies edited,
    /// attached or detached, accounts moved.
    Organizations,
}

/// How IAM changes propagate: a delay per kind of change, plus a seeded jitter.
///
/// A change takes effect after its kind's delay (or `delay_seconds` when its kind has none)
/// plus a jitter drawn uniformly from `[0, jitter_seconds)` with `seed`, so a run with the
/// same seed and the same writes is the same. Changes of one kind take effect in the order
/// they were made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Propagation {
    /// The delay of every kind without its own, in seconds.
    #[serde(default)]
    pub delay_seconds: f64,
    /// Delays of particular kinds, in seconds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kinds: BTreeMap<ChangeKind, f64>,
    /// The most jitter added to each change's delay, in seconds.
    #[serde(default)]
    pub jitter_seconds: f64,
    /// The seed of the jitter draws.
    #[serde(default)]
    pub seed: u64,
}

/// The longest delay or jitter accepted: one day.
const MAX_SECONDS: f64 = 86_400.0;

/// A propagation setting out of range.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("propagation: `{field}` must be a number of seconds from 0 to 86400, got {value}")]
pub struct PropagationError {
    field: String,
    value: f64,
}

impl Propagation {
    /// The same delay for every kind, no jitter.
    pub fn uniform(delay: Duration) -> Self {
        Self {
            delay_seconds: delay.as_secs_f64(),
            ..Self::default()
        }
    }

    /// Checks every delay and the jitter are within 0 to 86400 seconds.
    pub fn validate(&self) -> Result<(), PropagationError> {
        let fields = [
            ("delay_seconds".to_owned(), self.delay_seconds),
            ("jitter_seconds".to_owned(), self.jitter_seconds),
        ];
        let kinds = self.kinds.iter().map(|(kind, s)| {
            let name = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            (format!("kinds.{name}"), *s)
        });
        match fields
            .into_iter()
            .chain(kinds)
            .find(|(_, s)| !(s.is_finite() && (0.0..=MAX_SECONDS).contains(s)))
        {
            Some((field, value)) => Err(PropagationError { field, value }),
            None => Ok(()),
        }
    }

    /// Whether every change takes effect at once.
    pub(crate) fn is_immediate(&self) -> bool {
        self.delay_seconds == 0.0
            && self.jitter_seconds == 0.0
            && self.kinds.values().all(|s| *s == 0.0)
    }

    /// The delay of the `index`-th change since the world was loaded, of kind `kind`.
    pub(crate) fn delay(&self, kind: ChangeKind, index: u64) -> Duration {
        let base = self.kinds.get(&kind).copied().unwrap_or(self.delay_seconds);
        let jitter = self.jitter_seconds * crate::seeded::draw(self.seed, index);
        Duration::try_from_secs_f64(base + jitter).unwrap_or(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;

    #[test]
    fn jitter_is_seeded_and_bounded_and_kinds_have_their_own_delay() {
        let p = Propagation {
            delay_seconds: 10.0,
            kinds: BTreeMap::from([(ChangeKind::AccessKeys, 2.0)]),
            jitter_seconds: 5.0,
            seed: 42,
        };
        let delays: Vec<Duration> = (0..50).map(|i| p.delay(ChangeKind::Policies, i)).collect();
        assert!(
            delays
                .iter()
                .all(|d| (10.0..15.0).contains(&d.as_secs_f64()))
        );
        assert!(delays.windows(2).any(|w| w[0] != w[1]), "the jitter varies");
        assert_eq!(
            delays,
            (0..50)
                .map(|i| p.delay(ChangeKind::Policies, i))
                .collect::<Vec<_>>()
        );
        assert!((2.0..7.0).contains(&p.delay(ChangeKind::AccessKeys, 0).as_secs_f64()));
        let other = Propagation {
            seed: 43,
            ..p.clone()
        };
        assert_ne!(
            delays,
            (0..50)
                .map(|i| other.delay(ChangeKind::Policies, i))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        let mut p = Propagation::uniform(Duration::from_secs(300));
        assert_eq!(p.validate(), Ok(()));
        p.kinds.insert(ChangeKind::TrustPolicies, -1.0);
        let e = p
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("kinds.trust_policies"), "{e}");
        p.kinds.clear();
        p.jitter_seconds = f64::NAN;
        assert!(p.validate().is_err());
    }
}
