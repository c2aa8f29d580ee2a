//! The parsed policy: statements with their effect, actions and resources.

use crate::wildcard::Pattern;

/// A parsed IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) statements: Vec<Statement>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) actions: Matchers,
    pub(crate) resources: Matchers,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// `Action`/`Resource` (listed patterns) or `NotAction`/`NotResource` (everything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matchers {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<Pattern>,
}

impl Matchers {
    /// Whether `value` is covered.
    pub(crate) fn covers(&self, value: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(value)) != self.negated
    }
}
