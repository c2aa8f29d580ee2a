//! Who a request is from ([`Identity`]), the policies that apply to it, and the long-term
//! access keys that authenticate it: what authentication and authorization read from the
//! store on every request.

use std::sync::Arc;

use arc_swap::ArcSwapOption;

use super::organization::{Membership, Scps};
use crate::partition::Partition;
use crate::policy::Policy;
use crate::policy::context::Context;
use crate::policy::eval::Layer;

/// Who a request is from.
#[derive(Debug)]
pub(crate) struct Identity {
    pub(crate) account: String,
    pub(crate) partition: Partition,
    pub(crate) arn: Arc<str>,
    pub(crate) user_id: String,
    pub(crate) kind: IdentityKind,
    /// Every identity-based policy that applies, parsed.
    pub(crate) policies: Vec<IdentityPolicy>,
    /// The condition keys that describe this principal (`aws:username`, `aws:userid`,
    /// `aws:PrincipalArn`, …), built once.
    pub(crate) context: Context,
    /// The permissions boundary: identity policies only count as far as it allows.
    pub(crate) boundary: Option<Vec<IdentityPolicy>>,
    /// Session policies of a role session: they narrow it further.
    pub(crate) session_policies: Option<Vec<IdentityPolicy>>,
    /// Whether any of its policies (or its boundary, session policies or SCPs) reads the
    /// request context (conditions, variables); when none does, requests skip building it.
    pub(crate) policies_use_context: bool,
    /// Its account's organization, if any.
    pub(crate) organization: Option<Arc<Membership>>,
    /// The service control policies that apply to it: none outside an organization, in its
    /// management account, or for a service-linked role.
    pub(crate) scps: Option<Arc<Scps>>,
}

impl Identity {
    /// The policies of one layer of its authorization (`None`: it has no such layer).
    pub(crate) fn layer(&self, layer: Layer) -> Option<&[IdentityPolicy]> {
        match layer {
            Layer::Organization => self.scps.as_deref().map(|s| s.policies.as_slice()),
            Layer::Identity => Some(&self.policies),
            Layer::Boundary => self.boundary.as_deref(),
            Layer::Session => self.session_policies.as_deref(),
        }
    }

    pub(crate) fn new(
        account: String,
        partition: Partition,
        arn: String,
        user_id: String,
        kind: IdentityKind,
        policies: Vec<IdentityPolicy>,
    ) -> Self {
        let mut context = Context::default();
        context.set("aws:PrincipalArn", arn.clone());
        context.set("aws:PrincipalAccount", account.clone());
        context.set("aws:userid", user_id.clone());
        match &kind {
            IdentityKind::Root => context.set("aws:PrincipalType", "Account"),
            IdentityKind::User { name } => {
                context.set("aws:PrincipalType", "User");
                context.set("aws:username", name.clone());
            }
            IdentityKind::Anonymous => {}
            IdentityKind::FederatedUser { .. } => context.set("aws:PrincipalType", "FederatedUser"),
            IdentityKind::AssumedRole { role_arn, .. } => {
                context.set("aws:PrincipalType", "AssumedRole");
                // For role sessions aws:PrincipalArn is the role, not the session.
                context.set("aws:PrincipalArn", role_arn.clone());
            }
        }
        let policies_use_context = policies.iter().any(|p| p.policy.uses_context());
        Self {
            account,
            partition,
            arn: arn.into(),
            user_id,
            kind,
            policies,
            boundary: None,
            session_policies: None,
            context,
            policies_use_context,
            organization: None,
            scps: None,
        }
    }

    /// Puts it in its account's organization: the organization keys of its requests
    /// (`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`) and, unless `exempt` (a
    /// service-linked role), the account's SCPs.
    pub(crate) fn with_organization(
        mut self,
        membership: Option<&Arc<Membership>>,
        exempt: bool,
    ) -> Self {
        let Some(membership) = membership else {
            return self;
        };
        self.context
            .set("aws:PrincipalOrgID", membership.org_id.clone());
        self.context
            .set_values("aws:PrincipalOrgPaths", vec![membership.path.clone()]);
        if !exempt && let Some(scps) = &membership.scps {
            self.policies_use_context |= scps.uses_context;
            self.scps = Some(Arc::clone(scps));
        }
        self.organization = Some(Arc::clone(membership));
        self
    }

    pub(crate) fn with_tags(mut self, tags: &std::collections::BTreeMap<String, String>) -> Self {
        for (key, value) in tags {
            self.context
                .set(&format!("aws:PrincipalTag/{key}"), value.clone());
        }
        self
    }

    /// Who unsigned calls run as: no account, no policies, allowed nothing.
    pub(crate) fn anonymous() -> Self {
        Self::new(
            String::new(),
            Partition::Aws,
            "anonymous".into(),
            "anonymous".into(),
            IdentityKind::Anonymous,
            Vec::new(),
        )
    }

    /// Adds session policies (a role session's `Policy`/`PolicyArns`).
    pub(crate) fn with_session_policies(mut self, policies: Option<Vec<IdentityPolicy>>) -> Self {
        self.policies_use_context |= policies.iter().flatten().any(|p| p.policy.uses_context());
        self.session_policies = policies;
        self
    }

    /// Sets a multivalued condition key of the principal.
    pub(crate) fn with_values(mut self, key: &str, values: Vec<String>) -> Self {
        self.context.set_values(key, values);
        self
    }

    /// Sets a condition key of the principal.
    pub(crate) fn with_key(mut self, key: &str, value: impl Into<String>) -> Self {
        self.context.set(key, value);
        self
    }

    pub(crate) fn with_boundary(mut self, boundary: Option<Vec<IdentityPolicy>>) -> Self {
        self.policies_use_context |= boundary.iter().flatten().any(|p| p.policy.uses_context());
        self.boundary = boundary;
        self
    }
}

/// An identity-based policy as attached: managed ones have an ARN, inline ones do not.
#[derive(Debug, Clone)]
pub(crate) struct IdentityPolicy {
    pub(crate) arn: Option<String>,
    /// What the request log calls it: the ARN, or `inline policy NAME of user/NAME`.
    pub(crate) label: Arc<str>,
    pub(crate) policy: Arc<Policy>,
}

impl IdentityPolicy {
    /// A managed policy.
    pub(crate) fn managed(arn: String, policy: Arc<Policy>) -> Self {
        Self {
            label: arn.as_str().into(),
            arn: Some(arn),
            policy,
        }
    }

    /// A policy with no ARN (inline, or a session's), named by `label`.
    pub(crate) fn unnamed(label: String, policy: Arc<Policy>) -> Self {
        Self {
            arn: None,
            label: label.into(),
            policy,
        }
    }
}

impl AsRef<Policy> for IdentityPolicy {
    fn as_ref(&self) -> &Policy {
        &self.policy
    }
}

/// The kind of principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdentityKind {
    /// The account root user: allowed everything by identity policy.
    Root,
    /// An IAM user.
    User {
        /// The user name.
        name: String,
    },
    /// No credentials (unsigned calls such as AssumeRoleWithWebIdentity).
    Anonymous,
    /// A federated user (GetFederationToken) of an IAM user.
    FederatedUser {
        /// The IAM user's ARN.
        user_arn: String,
    },
    /// A role session (AssumeRole).
    AssumedRole {
        /// The role's ARN.
        role_arn: String,
        /// Whether the session was assumed by another role session (role chaining).
        chained: bool,
    },
}

/// A long-term access key.
pub(crate) struct AccessKey {
    pub(crate) secret: String,
    pub(crate) active: bool,
    pub(crate) identity: Arc<Identity>,
    /// The last SigV4 signing key derived for each service (indexed by `Service::index`):
    /// a client signs one service with one date and region until midnight or a region
    /// change, so one slot per service saves four HMACs per request without growing.
    pub(crate) signing_cache: [ArcSwapOption<CachedSigningKey>; 3],
    /// When, where and for what the key last authenticated a request (to the minute, so it
    /// is written about once a minute, not per request).
    pub(crate) last_used: ArcSwapOption<LastUse>,
}

/// What GetAccessKeyLastUsed reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LastUse {
    /// Unix minutes.
    pub(crate) minute: i64,
    pub(crate) region: String,
    pub(crate) service: &'static str,
}

impl AccessKey {
    /// Notes a successful authentication.
    pub(crate) fn record_use(&self, minute: i64, region: &str, service: &'static str) {
        let current = self.last_used.load();
        let same = current
            .as_ref()
            .is_some_and(|u| u.minute == minute && u.region == region && u.service == service);
        if !same {
            self.last_used.store(Some(Arc::new(LastUse {
                minute,
                region: region.to_owned(),
                service,
            })));
        }
    }
}

/// A derived signing key (as HMAC keyed with it) and the date and region it is for.
pub(crate) struct CachedSigningKey {
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) key: crate::auth::sigv4::HmacSha256,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("secret", &crate::redact::REDACTED)
            .field("active", &self.active)
            .field("identity", &self.identity.arn)
            .finish_non_exhaustive()
    }
}
