//! Deciding, in AWS's order: an explicit `Deny` in any policy wins; otherwise an identity-based
//! policy must allow, and so must the permissions boundary and the session policies when
//! there are any (they only ever narrow). The result says which statements decided it, for
//! denial messages, the request log and the policy simulator.

use crate::policy::ast::{Effect, Policy, Statement};
use crate::policy::context::Context;

/// What was asked: an action on a resource, with the request's condition keys.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) action: &'a str,
    pub(crate) resource: &'a str,
    pub(crate) context: &'a Context,
}

/// The policy layers that take part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    /// User, group and role policies, inline and managed.
    Identity,
    /// The permissions boundary of the user or role.
    Boundary,
    /// Session policies passed to AssumeRole and friends.
    Session,
}

/// A statement, by layer, policy index and statement index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatementRef {
    pub(crate) layer: Layer,
    pub(crate) policy: usize,
    pub(crate) statement: usize,
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Every layer allowed it and nothing denied it.
    Allow,
    /// This `Deny` statement matched.
    ExplicitDeny(StatementRef),
    /// This layer allowed nothing that covers the request.
    ImplicitDeny(Layer),
}

/// A decision and the `Allow` statements that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evaluation {
    pub(crate) decision: Decision,
    pub(crate) allowed_by: Vec<StatementRef>,
}

/// Evaluates the layers for one request. `boundary` and `session` are `None` when the
/// principal has no boundary or the session no session policy.
pub(crate) fn evaluate<I, B, S>(
    identity: &[I],
    boundary: Option<&[B]>,
    session: Option<&[S]>,
    req: &Request<'_>,
) -> Evaluation
where
    I: AsRef<Policy>,
    B: AsRef<Policy>,
    S: AsRef<Policy>,
{
    let mut allowed_by = Vec::new();
    let mut missing = None;
    let layers: [(Layer, Option<Vec<&Policy>>); 3] = [
        (
            Layer::Identity,
            Some(identity.iter().map(AsRef::as_ref).collect()),
        ),
        (
            Layer::Boundary,
            boundary.map(|b| b.iter().map(AsRef::as_ref).collect()),
        ),
        (
            Layer::Session,
            session.map(|s| s.iter().map(AsRef::as_ref).collect()),
        ),
    ];
    for (layer, policies) in layers {
        let Some(policies) = policies else { continue };
        let before = allowed_by.len();
        for (p, policy) in policies.iter().enumerate() {
            for (s, statement) in policy.statements.iter().enumerate() {
                if !applies(statement, req) {
                    continue;
                }
                let at = StatementRef {
                    layer,
                    policy: p,
                    statement: s,
                };
                match statement.effect {
                    Effect::Deny => {
                        return Evaluation {
                            decision: Decision::ExplicitDeny(at),
                            allowed_by,
                        };
                    }
                    Effect::Allow => allowed_by.push(at),
                }
            }
        }
        if allowed_by.len() == before && missing.is_none() {
            missing = Some(layer);
        }
    }
    let decision = match missing {
        Some(layer) => Decision::ImplicitDeny(layer),
        None => Decision::Allow,
    };
    Evaluation {
        decision,
        allowed_by,
    }
}

/// The condition keys that statements covering the request's action and resource read and
/// the request's context lacks (the simulator's `MissingContextValues`), sorted.
pub(crate) fn missing_context_keys<'p>(
    policies: impl IntoIterator<Item = &'p Policy>,
    req: &Request<'_>,
) -> Vec<String> {
    let mut keys: Vec<String> = policies
        .into_iter()
        .flat_map(|p| &p.statements)
        .filter(|s| {
            s.actions.covers(req.action, req.context)
                && s.resources.covers(req.resource, req.context)
        })
        .flat_map(|s| &s.conditions)
        .filter(|c| req.context.get(&c.key).is_none())
        .map(|c| c.name.clone())
        .collect();
    keys.sort();
    keys.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    keys
}

/// Whether a statement covers the request: action, resource and every condition.
fn applies(s: &Statement, req: &Request<'_>) -> bool {
    s.actions.covers(req.action, req.context)
        && s.resources.covers(req.resource, req.context)
        && s.conditions.iter().all(|c| c.holds(req.context))
}

#[cfg(test)]
mod tests;
