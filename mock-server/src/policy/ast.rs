//! The parsed policy: statements with their effect, actions, resources and conditions.
//! Patterns are compiled here, once, when a policy is stored; only elements that contain
//! policy variables (`${aws:username}`) are completed per request.

use crate::policy::condition::Condition;
use crate::policy::context::Context;
use crate::policy::variables;
use crate::wildcard::Pattern;

/// A parsed IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) statements: Vec<Statement>,
}

impl Policy {
    /// Whether evaluating it reads the request context (a condition or a policy variable).
    pub(crate) fn uses_context(&self) -> bool {
        self.statements.iter().any(|s| {
            !s.conditions.is_empty()
                || s.resources
                    .patterns
                    .iter()
                    .any(|p| matches!(p, ResourcePattern::Templated(_)))
        })
    }
}

impl AsRef<Policy> for Policy {
    fn as_ref(&self) -> &Policy {
        self
    }
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) actions: Matchers<ActionPattern>,
    pub(crate) resources: Matchers<ResourcePattern>,
    pub(crate) conditions: Vec<Condition>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// `Action`/`Resource` (listed patterns) or `NotAction`/`NotResource` (everything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matchers<P> {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<P>,
}

/// Something a request value is matched against.
pub(crate) trait Matches {
    /// `Some(true)` on a match; `None` when a policy variable it needs is not in `ctx`
    /// (such an element matches nothing).
    fn matches(&self, value: &str, ctx: &Context) -> Option<bool>;
}

impl<P: Matches> Matchers<P> {
    /// Whether `value` is covered: listed by `Action`/`Resource`, or not listed by
    /// `NotAction`/`NotResource`. An element whose variables are missing lists nothing.
    pub(crate) fn covers(&self, value: &str, ctx: &Context) -> bool {
        let listed = self
            .patterns
            .iter()
            .any(|p| p.matches(value, ctx) == Some(true));
        listed != self.negated
    }
}

/// An action pattern (`ec2:Describe*`), matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActionPattern(pub(crate) Pattern);

impl Matches for ActionPattern {
    fn matches(&self, value: &str, _: &Context) -> Option<bool> {
        Some(self.0.matches(value))
    }
}

/// A resource pattern, or, with policy variables, a template completed from the request
/// context. Resource ARNs match as one wildcard string: IAM lets a `*` that ends an ARN
/// segment run past the colons (`arn:aws:ec2:*` covers every EC2 ARN), and `?` is one
/// character. (`ArnLike` conditions match part by part instead: see `condition.rs`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourcePattern {
    Fixed(Pattern),
    Templated(String),
}

impl ResourcePattern {
    pub(crate) fn compile(raw: &str) -> Self {
        if variables::has_variables(raw) {
            ResourcePattern::Templated(raw.to_owned())
        } else {
            ResourcePattern::Fixed(Pattern::exact_case(raw))
        }
    }
}

impl Matches for ResourcePattern {
    fn matches(&self, value: &str, ctx: &Context) -> Option<bool> {
        match self {
            ResourcePattern::Fixed(p) => Some(p.matches(value)),
            ResourcePattern::Templated(raw) => {
                let completed = variables::substitute(raw, ctx)?;
                Some(Pattern::exact_case(&completed).matches(value))
            }
        }
    }
}
