//! Deciding, in AWS's order: an explicit `Deny` in any policy wins; otherwise the service
//! control policies of the caller's organization must allow at every level from the root to
//! the account, an identity-based policy must allow, and so must the permissions boundary
//! and the session policies when there are any (they only ever narrow). The result says
//! which statements decided it, for denial messages, the request log and the policy
//! simulator.

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
    /// The service control policies of the caller's organization (they never grant).
    Organization,
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

impl Evaluation {
    /// Whether this layer refused it (explicitly or by allowing nothing).
    pub(crate) fn denied_by(&self, layer: Layer) -> bool {
        match self.decision {
            Decision::Allow => false,
            Decision::ExplicitDeny(at) => at.layer == layer,
            Decision::ImplicitDeny(missing) => missing == layer,
        }
    }
}

/// Service control policies, level by level from the organization's root to the account:
/// `policies` in that order, `ends[i]` the end of level `i` in it. Every level must allow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Levels<'a, O> {
    pub(crate) policies: &'a [O],
    pub(crate) ends: &'a [usize],
}

/// Evaluates the layers for one request. `organization` is `None` when no service control
/// policy applies (no organization, its management account, a service-linked role);
/// `identity` is `None` when no identity-based policy is needed (the root user, a caller a
/// trust policy names itself); `boundary` and `session` are `None` when the principal has
/// no boundary or the session no session policy.
pub(crate) fn evaluate<O, I, B, S>(
    organization: Option<Levels<'_, O>>,
    identity: Option<&[I]>,
    boundary: Option<&[B]>,
    session: Option<&[S]>,
    req: &Request<'_>,
) -> Evaluation
where
    O: AsRef<Policy>,
    I: AsRef<Policy>,
    B: AsRef<Policy>,
    S: AsRef<Policy>,
{
    let mut allowed_by = Vec::new();
    let mut missing = None;
    if let Some(levels) = organization {
        match guardrails(levels, req) {
            Err(at) => {
                return Evaluation {
                    decision: Decision::ExplicitDeny(at),
                    allowed_by,
                };
            }
            Ok(false) => missing = Some(Layer::Organization),
            Ok(true) => {}
        }
    }
    for layer in [Layer::Identity, Layer::Boundary, Layer::Session] {
        // Layer by layer, so that a `Deny` ends the evaluation where it is found.
        let outcome = match layer {
            Layer::Identity => identity.map(|i| scan(layer, i, req, &mut allowed_by)),
            Layer::Boundary => boundary.map(|b| scan(layer, b, req, &mut allowed_by)),
            Layer::Session => session.map(|s| scan(layer, s, req, &mut allowed_by)),
            Layer::Organization => None,
        };
        match outcome {
            Some(Err(at)) => {
                return Evaluation {
                    decision: Decision::ExplicitDeny(at),
                    allowed_by,
                };
            }
            Some(Ok(false)) if missing.is_none() => missing = Some(layer),
            _ => {}
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

/// One layer's verdict: `Err` with the first `Deny` statement that matches, else whether an
/// `Allow` did (those are added to `allowed_by`).
fn scan<P: AsRef<Policy>>(
    layer: Layer,
    policies: &[P],
    req: &Request<'_>,
    allowed_by: &mut Vec<StatementRef>,
) -> Result<bool, StatementRef> {
    let before = allowed_by.len();
    for (p, policy) in policies.iter().enumerate() {
        for (s, statement) in policy.as_ref().statements.iter().enumerate() {
            if !applies(statement, req) {
                continue;
            }
            let at = StatementRef {
                layer,
                policy: p,
                statement: s,
            };
            match statement.effect {
                Effect::Deny => return Err(at),
                Effect::Allow => allowed_by.push(at),
            }
        }
    }
    Ok(allowed_by.len() > before)
}

/// The service control policies' verdict: `Err` with the first `Deny` statement that
/// matches, else whether every level has an `Allow` that does. Their allows are not
/// reported: SCPs never grant.
fn guardrails<O: AsRef<Policy>>(
    levels: Levels<'_, O>,
    req: &Request<'_>,
) -> Result<bool, StatementRef> {
    let mut every_level = true;
    let mut start = 0;
    for &end in levels.ends {
        let mut level_allows = false;
        for (p, policy) in levels.policies.iter().enumerate().take(end).skip(start) {
            for (s, statement) in policy.as_ref().statements.iter().enumerate() {
                if !applies(statement, req) {
                    continue;
                }
                match statement.effect {
                    Effect::Deny => {
                        return Err(StatementRef {
                            layer: Layer::Organization,
                            policy: p,
                            statement: s,
                        });
                    }
                    Effect::Allow => level_allows = true,
                }
            }
        }
        every_level &= level_allows;
        start = end;
    }
    Ok(every_level)
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
