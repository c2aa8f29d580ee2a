//! Deciding: explicit deny beats allow beats implicit deny.

use crate::policy::ast::{Effect, Policy};

/// The outcome of evaluating a set of policies for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// A statement allowed it and none denied it.
    Allow,
    /// A `Deny` statement of the policy at this index (in the order given) matched.
    ExplicitDeny(usize),
    /// Nothing allowed it.
    ImplicitDeny,
}

/// Evaluates identity policies for `action` on `resource`.
pub(crate) fn evaluate<'a>(
    policies: impl IntoIterator<Item = &'a Policy>,
    action: &str,
    resource: &str,
) -> Decision {
    let mut allowed = false;
    for (index, policy) in policies.into_iter().enumerate() {
        for s in &policy.statements {
            if s.actions.covers(action) && s.resources.covers(resource) {
                match s.effect {
                    Effect::Deny => return Decision::ExplicitDeny(index),
                    Effect::Allow => allowed = true,
                }
            }
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse::parse_identity_policy;

    fn policy(json: &str) -> Policy {
        parse_identity_policy(json).unwrap_or_else(|e| panic!("test policy: {e}"))
    }

    #[test]
    fn explicit_deny_beats_allow() {
        let allow = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        );
        let deny = policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:Describe*","Resource":"*"}]}"#,
        );
        assert_eq!(
            evaluate([&allow], "ec2:DescribeRegions", "*"),
            Decision::Allow
        );
        assert_eq!(
            evaluate([&allow, &deny], "ec2:DescribeRegions", "*"),
            Decision::ExplicitDeny(1)
        );
        assert_eq!(
            evaluate([&deny], "sts:GetCallerIdentity", "*"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn not_action_allows_everything_else() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#,
        );
        assert_eq!(evaluate([&p], "ec2:DescribeRegions", "*"), Decision::Allow);
        assert_eq!(
            evaluate([&p], "iam:CreateUser", "*"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn no_policies_is_implicit_deny() {
        assert_eq!(
            evaluate([], "ec2:DescribeRegions", "*"),
            Decision::ImplicitDeny
        );
    }
}
