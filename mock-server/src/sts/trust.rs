//! Every trust decision: may this caller assume this role?
//!
//! AWS's rules, as the IAM documentation states them:
//! - the role's trust policy must allow the caller (principal, action, conditions such as
//!   `sts:ExternalId`), and no statement may deny it;
//! - if the trust policy names the caller itself (its user ARN, role ARN or session ARN, or
//!   `*`) and the caller is in the role's account, that is enough;
//! - if it names the caller's account (`123456789012` or `arn:aws:iam::123456789012:root`),
//!   or the caller is in another account, the caller's own policies must also allow
//!   `sts:AssumeRole` on the role;
//! - principals of another partition never match.
//!
//! The answer is a plain [`TrustVerdict`]; `sts::api` acts on it. AWS never says which check
//! failed, so neither does the error.

use crate::iam::store::{Identity, IdentityKind, Role};
use crate::policy::ast::Effect;
use crate::policy::context::Context;
use crate::policy::trust::{Principal, Principals};

/// What the trust policy says of a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrustVerdict {
    /// Trusted; `identity_policy_needed` says whether the caller's own policies must also
    /// allow `sts:AssumeRole` on the role.
    Trusted { identity_policy_needed: bool },
    /// Not trusted (no statement allows, or one denies).
    Refused,
}

/// Evaluates the role's trust policy for `action` by `caller`, with `context` holding the
/// request's condition keys (`sts:ExternalId`, `sts:RoleSessionName`, …).
pub(crate) fn decide(
    role: &Role,
    caller: &Identity,
    action: &str,
    context: &Context,
) -> TrustVerdict {
    if caller.kind == IdentityKind::Anonymous {
        return TrustVerdict::Refused;
    }
    let mut allowed = None::<bool>;
    for statement in &role.trust.statements {
        if !statement.actions.covers(action, context) {
            continue;
        }
        let Some(specific) = matches(&statement.principals, caller, role) else {
            continue;
        };
        if !statement.conditions.iter().all(|c| c.holds(context)) {
            continue;
        }
        match statement.effect {
            Effect::Deny => return TrustVerdict::Refused,
            // A statement naming the caller itself outweighs one naming its account.
            Effect::Allow => allowed = Some(allowed.unwrap_or(false) || specific),
        }
    }
    match allowed {
        None => TrustVerdict::Refused,
        Some(specific) => TrustVerdict::Trusted {
            identity_policy_needed: !(specific && caller.account == role.account),
        },
    }
}

/// `Some(specific)` when the principals cover the caller: `specific` is true when they name
/// the caller itself rather than its account.
fn matches(principals: &Principals, caller: &Identity, role: &Role) -> Option<bool> {
    let found = principals
        .entries
        .iter()
        .find_map(|p| entry_matches(p, caller, role));
    if principals.negated {
        // NotPrincipal: everyone but the listed ones, as a grant to the account.
        return found.is_none().then_some(false);
    }
    found
}

fn entry_matches(principal: &Principal, caller: &Identity, role: &Role) -> Option<bool> {
    if caller.partition != role.partition {
        return None;
    }
    match principal {
        Principal::Any => Some(true),
        Principal::Aws(value) => {
            let partition = caller.partition;
            if *value == caller.account || crate::arn::is_root(value, partition, &caller.account) {
                return Some(false);
            }
            let itself = match &caller.kind {
                IdentityKind::User { .. } | IdentityKind::Root => **value == *caller.arn,
                // A role ARN covers every session of the role; a session ARN just that one.
                IdentityKind::AssumedRole { role_arn, .. } => {
                    value == role_arn || **value == *caller.arn
                }
                IdentityKind::Anonymous | IdentityKind::FederatedUser { .. } => false,
            };
            itself.then_some(true)
        }
        Principal::Service(_) | Principal::Federated(_) => None,
    }
}

/// Whether the role trusts a web identity from `provider_arn` (a `Federated` principal, or
/// `*`) for `sts:AssumeRoleWithWebIdentity`, with conditions on the token's claims
/// (`ISSUER_HOST_PATH:sub`, `:aud`, …) in `context`. No identity policy is involved.
pub(crate) fn trusts_web_identity(role: &Role, provider_arn: &str, context: &Context) -> bool {
    trusts(
        role,
        "sts:AssumeRoleWithWebIdentity",
        context,
        |p| matches!(p, Principal::Federated(f) if f == provider_arn),
    )
}

/// Whether the role trusts the AWS service `service` (`ec2.amazonaws.com` for instance
/// profiles, `ecs-tasks.amazonaws.com` for task roles) to assume it, with conditions such as
/// `aws:SourceAccount` in `context`. `*` does not cover a service.
pub(crate) fn trusts_service(role: &Role, service: &str, context: &Context) -> bool {
    trusts(
        role,
        "sts:AssumeRole",
        context,
        |p| matches!(p, Principal::Service(s) if s == service),
    )
}

/// Whether a statement allows `action` for a principal `listed` accepts (or `*`, for web
/// identities) and none denies it.
fn trusts(
    role: &Role,
    action: &str,
    context: &Context,
    listed: impl Fn(&Principal) -> bool,
) -> bool {
    let mut allowed = false;
    for statement in &role.trust.statements {
        if !statement.actions.covers(action, context) {
            continue;
        }
        let named = statement.principals.entries.iter().any(|p| {
            listed(p) || (matches!(p, Principal::Any) && action == "sts:AssumeRoleWithWebIdentity")
        });
        if named == statement.principals.negated
            || !statement.conditions.iter().all(|c| c.holds(context))
        {
            continue;
        }
        match statement.effect {
            Effect::Deny => return false,
            Effect::Allow => allowed = true,
        }
    }
    allowed
}
