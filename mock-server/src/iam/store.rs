//! The validated, indexed world the request path reads.
//!
//! Built once from a [`World`](crate::world::World): every policy is parsed here, never on a
//! request; access keys are indexed by id; each identity carries its own list of parsed
//! policies. The store is immutable and shared through an `ArcSwap`, so requests read it
//! without a lock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::iam::managed;
use crate::partition::{OptIn, Partition, Region};
use crate::policy::Policy;
use crate::policy::context::Context;
use crate::policy::eval::Layer;
use crate::policy::parse::{parse_identity_policy, parse_identity_value};
use crate::policy::trust::TrustPolicy;
use crate::world::{AccessKeySpec, AccountSpec, KeyStatus, World, WorldError};

/// Everything authentication and authorization need.
#[derive(Debug, Default)]
pub(crate) struct Store {
    accounts: HashMap<String, Account>,
    keys: HashMap<String, Arc<AccessKey>>,
    roles: HashMap<String, Arc<Role>>,
    /// Customer managed policies by ARN (for session `PolicyArns`).
    managed: HashMap<String, IdentityPolicy>,
    /// Users and root users by ARN (for GetSessionToken sessions).
    principals: HashMap<String, Arc<Identity>>,
    /// IAM OIDC providers by ARN: their client ids (audiences).
    oidc_providers: HashMap<String, Vec<String>>,
    /// Instance profiles by `ACCOUNT/NAME` (what instance metadata serves).
    instance_profiles: HashMap<String, InstanceProfile>,
}

/// An instance profile, as instance metadata sees it.
#[derive(Debug)]
pub(crate) struct InstanceProfile {
    pub(crate) arn: String,
    /// `AIPA…`
    pub(crate) id: String,
    /// The role it holds, if any.
    pub(crate) role_arn: Option<String>,
}

/// A role, ready for STS: its trust policy and permissions, parsed.
#[derive(Debug)]
pub(crate) struct Role {
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) account: String,
    pub(crate) partition: Partition,
    /// `AROA…`
    pub(crate) role_id: String,
    pub(crate) max_session_duration: u32,
    pub(crate) trust: TrustPolicy,
    pub(crate) policies: Vec<IdentityPolicy>,
    pub(crate) boundary: Option<Vec<IdentityPolicy>>,
    pub(crate) tags: std::collections::BTreeMap<String, String>,
}

/// An account and what it has enabled.
#[derive(Debug)]
pub(crate) struct Account {
    opted_in: HashSet<String>,
    /// The account's plain `DescribeRegions` answer (no filters), rendered on first use.
    pub(crate) default_regions: std::sync::OnceLock<Arc<str>>,
}

impl Account {
    /// Whether the account may use the region (opt-in regions must be enabled).
    pub(crate) fn region_enabled(&self, region: &Region) -> bool {
        region.opt_in == OptIn::NotRequired || self.opted_in.contains(region.name)
    }
}

/// Who a request is from.
#[derive(Debug)]
pub(crate) struct Identity {
    pub(crate) account: String,
    pub(crate) partition: Partition,
    pub(crate) arn: String,
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
    /// Whether any of its policies (or its boundary) reads the request context
    /// (conditions, variables); when none does, requests skip building it.
    pub(crate) policies_use_context: bool,
}

impl Identity {
    /// The policies of one layer of its authorization (`None`: it has no such layer).
    pub(crate) fn layer(&self, layer: Layer) -> Option<&[IdentityPolicy]> {
        match layer {
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
            arn,
            user_id,
            kind,
            policies,
            boundary: None,
            session_policies: None,
            context,
            policies_use_context,
        }
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

/// A derived signing key and the date and region it is for.
pub(crate) struct CachedSigningKey {
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) key: [u8; 32],
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

impl Store {
    /// Validates and indexes a world.
    ///
    /// Fails on the first inconsistency: a bad account id or partition, an unknown region,
    /// a duplicate account or access key, an invalid name, or a policy that does not parse or
    /// cannot be found.
    pub(crate) fn build(world: &World) -> Result<Self, WorldError> {
        let mut store = Store::default();
        for spec in &world.accounts {
            store.add_account(spec)?;
        }
        Ok(store)
    }

    /// Keeps what `previous` knew of its keys' last use (a rebuilt store starts empty).
    pub(crate) fn carry_last_use(&self, previous: &Store) {
        for (id, key) in &self.keys {
            if let Some(old) = previous.keys.get(id) {
                key.last_used.store(old.last_used.load_full());
            }
        }
    }

    /// A managed policy by ARN: a customer one of any account, or an AWS one.
    pub(crate) fn managed_policy(&self, arn: &str, partition: Partition) -> Option<IdentityPolicy> {
        if let Some(p) = self.managed.get(arn) {
            return Some(p.clone());
        }
        let m = managed::find(arn, partition)?;
        Some(IdentityPolicy::managed(m.arn(partition), m.parsed.clone()?))
    }

    /// The instance profile `name` of `account`, if it exists.
    pub(crate) fn instance_profile(&self, account: &str, name: &str) -> Option<&InstanceProfile> {
        self.instance_profiles.get(&format!("{account}/{name}"))
    }

    /// The client ids of the IAM OIDC provider with this ARN, if it exists.
    pub(crate) fn oidc_provider(&self, arn: &str) -> Option<&[String]> {
        self.oidc_providers.get(arn).map(Vec::as_slice)
    }

    /// The IAM user or root user with this ARN.
    pub(crate) fn principal(&self, arn: &str) -> Option<&Arc<Identity>> {
        self.principals.get(arn)
    }

    /// The role with this ARN.
    pub(crate) fn role(&self, arn: &str) -> Option<&Arc<Role>> {
        self.roles.get(arn)
    }

    /// The access key with this id.
    pub(crate) fn access_key(&self, id: &str) -> Option<&Arc<AccessKey>> {
        self.keys.get(id)
    }

    /// The account with this id.
    pub(crate) fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    fn add_account(&mut self, spec: &AccountSpec) -> Result<(), WorldError> {
        let ctx = format!("account {}", spec.id);
        let invalid = |context: &str, message: String| WorldError::Invalid {
            context: context.to_owned(),
            message,
        };
        if spec.id.len() != 12 || !spec.id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(&ctx, "the account id must be 12 digits".into()));
        }
        if self.accounts.contains_key(&spec.id) {
            return Err(invalid(&ctx, "the account is declared twice".into()));
        }
        let partition = Partition::from_id(&spec.partition).ok_or_else(|| {
            invalid(
                &ctx,
                format!(
                    "unknown partition `{}` (aws, aws-us-gov or aws-cn)",
                    spec.partition
                ),
            )
        })?;
        for region in &spec.opted_in_regions {
            match Region::find(region) {
                Some(r) if r.partition == partition => {}
                _ => {
                    return Err(invalid(
                        &ctx,
                        format!("`{region}` is not a region of partition {partition}"),
                    ));
                }
            }
        }
        let customer = customer_policies(spec, partition)?;
        for (key, policy) in &customer {
            if key.starts_with("arn:") {
                self.managed.insert(key.clone(), policy.clone());
            }
        }
        let root = Arc::new(Identity::new(
            spec.id.clone(),
            partition,
            format!("arn:{partition}:iam::{}:root", spec.id),
            spec.id.clone(),
            IdentityKind::Root,
            Vec::new(),
        ));
        for key in &spec.root_access_keys {
            self.add_key(key, &root, &format!("{ctx}, root"))?;
        }
        self.principals.insert(root.arn.clone(), Arc::clone(&root));
        // Each group's policies, parsed once for all its members.
        let mut groups: HashMap<&str, Vec<IdentityPolicy>> = HashMap::new();
        for group in &spec.groups {
            let gctx = format!("{ctx}, group {}", group.name);
            check_name(&group.name, 128).map_err(|m| invalid(&gctx, m))?;
            check_path(&group.path).map_err(|m| invalid(&gctx, m))?;
            let mut policies = attached(
                &group.managed_policies,
                &customer,
                partition,
                &spec.id,
                &gctx,
            )?;
            for (name, doc) in &group.inline_policies {
                policies.push(inline(&format!("group/{}", group.name), name, doc, &gctx)?);
            }
            if groups.insert(group.name.as_str(), policies).is_some() {
                return Err(invalid(&gctx, "group names must be unique".into()));
            }
        }
        let mut names = HashSet::new();
        for user in &spec.users {
            let uctx = format!("{ctx}, user {}", user.name);
            check_name(&user.name, 64).map_err(|m| invalid(&uctx, m))?;
            check_path(&user.path).map_err(|m| invalid(&uctx, m))?;
            if !names.insert(user.name.to_ascii_lowercase()) {
                return Err(invalid(
                    &uctx,
                    "user names must be unique (case-insensitively)".into(),
                ));
            }
            let mut policies = attached(
                &user.managed_policies,
                &customer,
                partition,
                &spec.id,
                &uctx,
            )?;
            for (name, doc) in &user.inline_policies {
                policies.push(inline(&format!("user/{}", user.name), name, doc, &uctx)?);
            }
            for group in &user.groups {
                let group_policies = groups.get(group.as_str()).ok_or_else(|| {
                    invalid(
                        &uctx,
                        format!("group `{group}` is not a group of the account"),
                    )
                })?;
                policies.extend(group_policies.iter().cloned());
            }
            let boundary = match &user.permissions_boundary {
                Some(arn) => Some(attached(
                    std::slice::from_ref(arn),
                    &customer,
                    partition,
                    &spec.id,
                    &uctx,
                )?),
                None => None,
            };
            let identity = Arc::new(
                Identity::new(
                    spec.id.clone(),
                    partition,
                    format!(
                        "arn:{partition}:iam::{}:user{}{}",
                        spec.id, user.path, user.name
                    ),
                    unique_id("AIDA", &spec.id, &user.name),
                    IdentityKind::User {
                        name: user.name.clone(),
                    },
                    policies,
                )
                .with_boundary(boundary)
                .with_tags(&user.tags),
            );
            for key in &user.access_keys {
                self.add_key(key, &identity, &uctx)?;
            }
            self.principals
                .insert(identity.arn.clone(), Arc::clone(&identity));
        }
        let mut role_names = HashSet::new();
        for role in &spec.roles {
            let rctx = format!("{ctx}, role {}", role.name);
            check_name(&role.name, 64).map_err(|m| invalid(&rctx, m))?;
            check_path(&role.path).map_err(|m| invalid(&rctx, m))?;
            if !role_names.insert(role.name.to_ascii_lowercase()) {
                return Err(invalid(
                    &rctx,
                    "role names must be unique (case-insensitively)".into(),
                ));
            }
            if !(3600..=43200).contains(&role.max_session_duration) {
                return Err(invalid(
                    &rctx,
                    "max_session_duration must be 3600 to 43200 seconds".into(),
                ));
            }
            let trust = match &role.trust_policy {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let trust = crate::policy::trust::parse_trust_policy(&trust)
                .map_err(|m| invalid(&rctx, format!("trust_policy: {m}")))?;
            let mut policies = attached(
                &role.managed_policies,
                &customer,
                partition,
                &spec.id,
                &rctx,
            )?;
            for (name, doc) in &role.inline_policies {
                policies.push(inline(&format!("role/{}", role.name), name, doc, &rctx)?);
            }
            let boundary = match &role.permissions_boundary {
                Some(arn) => Some(attached(
                    std::slice::from_ref(arn),
                    &customer,
                    partition,
                    &spec.id,
                    &rctx,
                )?),
                None => None,
            };
            let arn = format!(
                "arn:{partition}:iam::{}:role{}{}",
                spec.id, role.path, role.name
            );
            self.roles.insert(
                arn.clone(),
                Arc::new(Role {
                    arn,
                    name: role.name.clone(),
                    account: spec.id.clone(),
                    partition,
                    role_id: unique_id("AROA", &spec.id, &role.name),
                    max_session_duration: role.max_session_duration,
                    trust,
                    policies,
                    boundary,
                    tags: role.tags.clone(),
                }),
            );
        }
        for profile in &spec.instance_profiles {
            let pctx = format!("{ctx}, instance profile {}", profile.name);
            check_name(&profile.name, 128).map_err(|m| invalid(&pctx, m))?;
            check_path(&profile.path).map_err(|m| invalid(&pctx, m))?;
            if profile.roles.len() > 1 {
                return Err(invalid(
                    &pctx,
                    "an instance profile holds at most one role".into(),
                ));
            }
            if let Some(role) = profile
                .roles
                .iter()
                .find(|r| !spec.roles.iter().any(|s| &&s.name == r))
            {
                return Err(invalid(
                    &pctx,
                    format!("role `{role}` is not a role of the account"),
                ));
            }
            let role_arn = profile.roles.first().and_then(|name| {
                spec.roles
                    .iter()
                    .find(|r| &r.name == name)
                    .map(|r| format!("arn:{partition}:iam::{}:role{}{}", spec.id, r.path, r.name))
            });
            self.instance_profiles.insert(
                format!("{}/{}", spec.id, profile.name),
                InstanceProfile {
                    arn: format!(
                        "arn:{partition}:iam::{}:instance-profile{}{}",
                        spec.id, profile.path, profile.name
                    ),
                    id: unique_id("AIPA", &spec.id, &profile.name),
                    role_arn,
                },
            );
        }
        for provider in &spec.open_id_connect_providers {
            let host_path = provider
                .url
                .trim_start_matches("https://")
                .trim_end_matches('/');
            self.oidc_providers.insert(
                format!("arn:{partition}:iam::{}:oidc-provider/{host_path}", spec.id),
                provider.client_ids.clone(),
            );
            if !provider.url.starts_with("https://") {
                return Err(invalid(
                    &ctx,
                    format!(
                        "OIDC provider URL `{}` must start with https://",
                        provider.url
                    ),
                ));
            }
        }
        self.accounts.insert(
            spec.id.clone(),
            Account {
                opted_in: spec.opted_in_regions.iter().cloned().collect(),
                default_regions: std::sync::OnceLock::new(),
            },
        );
        Ok(())
    }

    fn add_key(
        &mut self,
        key: &AccessKeySpec,
        identity: &Arc<Identity>,
        ctx: &str,
    ) -> Result<(), WorldError> {
        let invalid = |message: String| WorldError::Invalid {
            context: format!("{ctx}, access key {}", key.id),
            message,
        };
        let id_ok =
            (16..=128).contains(&key.id.len()) && key.id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !id_ok {
            return Err(invalid(
                "an access key id is 16 to 128 letters and digits".into(),
            ));
        }
        if key.secret.is_empty() {
            return Err(invalid("the secret must not be empty".into()));
        }
        if self.keys.contains_key(&key.id) {
            return Err(invalid("the access key id is used twice".into()));
        }
        self.keys.insert(
            key.id.clone(),
            Arc::new(AccessKey {
                secret: key.secret.clone(),
                active: key.status == KeyStatus::Active,
                identity: Arc::clone(identity),
                signing_cache: Default::default(),
                last_used: ArcSwapOption::empty(),
            }),
        );
        Ok(())
    }
}

fn customer_policies(
    spec: &AccountSpec,
    partition: Partition,
) -> Result<HashMap<String, IdentityPolicy>, WorldError> {
    let mut out = HashMap::new();
    for p in &spec.policies {
        let ctx = format!("account {}, policy {}", spec.id, p.name);
        let invalid = |message: String| WorldError::Invalid {
            context: ctx.clone(),
            message,
        };
        check_name(&p.name, 128).map_err(invalid)?;
        check_path(&p.path).map_err(invalid)?;
        if out.contains_key(&p.name) {
            return Err(invalid(
                "the policy name is used twice in the account".into(),
            ));
        }
        let arn = format!(
            "arn:{partition}:iam::{}:policy{}{}",
            spec.id, p.path, p.name
        );
        let attached = IdentityPolicy::managed(arn.clone(), parse(&p.document, &ctx)?);
        out.insert(p.name.clone(), attached.clone());
        out.insert(arn, attached);
    }
    Ok(out)
}

/// Resolves attached managed policies: customer ones by name or ARN, AWS ones by name or ARN.
fn attached(
    refs: &[String],
    customer: &HashMap<String, IdentityPolicy>,
    partition: Partition,
    account: &str,
    ctx: &str,
) -> Result<Vec<IdentityPolicy>, WorldError> {
    refs.iter()
        .map(|r| {
            if let Some(p) = customer.get(r) {
                return Ok(p.clone());
            }
            match managed::find(r, partition).and_then(|m| m.parsed.clone().map(|p| (m, p))) {
                Some((m, policy)) => Ok(IdentityPolicy::managed(m.arn(partition), policy)),
                None => Err(WorldError::Invalid {
                    context: ctx.to_owned(),
                    message: format!(
                        "managed policy `{r}` is neither a policy of account {account} nor an AWS managed policy"
                    ),
                }),
            }
        })
        .collect()
}

/// The inline policy `name` of `owner` (`user/NAME`, `group/NAME`, `role/NAME`).
fn inline(owner: &str, name: &str, doc: &Value, ctx: &str) -> Result<IdentityPolicy, WorldError> {
    let ctx = format!("{ctx}, inline policy {name}");
    Ok(IdentityPolicy::unnamed(
        format!("inline policy {name} of {owner}"),
        parse(doc, &ctx)?,
    ))
}

fn parse(doc: &Value, ctx: &str) -> Result<Arc<Policy>, WorldError> {
    let parsed = match doc {
        Value::String(text) => parse_identity_policy(text),
        other => parse_identity_value(other),
    };
    parsed.map(Arc::new).map_err(|source| WorldError::Policy {
        context: ctx.to_owned(),
        source,
    })
}

/// IAM names: 1..=max of `[\w+=,.@-]`.
fn check_name(name: &str, max: usize) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid IAM name (1 to {max} of letters, digits and _+=,.@-)"
        ))
    }
}

/// IAM paths: `/` or `/…/`, at most 512 characters.
fn check_path(path: &str) -> Result<(), String> {
    let ok = path.starts_with('/')
        && path.ends_with('/')
        && path.len() <= 512
        && path.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{path}` is not a valid IAM path (must start and end with /)"
        ))
    }
}

/// A stable IAM unique id (`AIDA…`, `AROA…`): the prefix and 17 characters of base32 from
/// the account and name, so the same world always has the same ids.
pub(crate) fn unique_id(prefix: &str, account: &str, name: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(format!("{prefix}:{account}:{name}").as_bytes());
    let mut out = String::with_capacity(prefix.len() + 17);
    out.push_str(prefix);
    out.extend(
        digest
            .iter()
            .take(17)
            .map(|b| ALPHABET[usize::from(b % 32)] as char),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(yaml: &str) -> Result<Store, WorldError> {
        Store::build(&World::from_yaml(yaml)?)
    }

    #[test]
    fn the_documented_world_example_builds() {
        let readme = include_str!("../../../docs/worlds.md");
        let start = readme.find("## World files").and_then(|w| {
            readme[w..]
                .find("```yaml\n")
                .map(|i| w + i + "```yaml\n".len())
        });
        let start = start.unwrap_or_else(|| panic!("no world example in docs/worlds.md"));
        let end = readme[start..]
            .find("```")
            .map(|e| start + e)
            .unwrap_or(readme.len());
        let world = World::from_yaml(&readme[start..end])
            .and_then(crate::world::delegates::prepared)
            .unwrap_or_else(|e| panic!("docs/worlds.md world: {e}"));
        Store::build(&world).unwrap_or_else(|e| panic!("docs/worlds.md world: {e}"));
    }

    #[test]
    fn trust_policies_are_checked_like_iam_does() {
        let yaml = "accounts:\n  - id: '444444444444'\n    roles:\n      - name: r\n        trust_policy: {Statement: {Effect: Allow, Action: 'sts:AssumeRole', Resource: '*', Principal: '*'}}\n";
        let msg = build(yaml).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("Has prohibited field Resource"), "{msg}");
    }

    #[test]
    fn the_default_world_builds() {
        let store = Store::build(&World::default_world()).unwrap_or_else(|e| panic!("{e}"));
        let key = store
            .access_key("AKIAGOVCLOUDEXAMPLE1")
            .map(|k| k.identity.arn.clone());
        assert_eq!(
            key.as_deref(),
            Some("arn:aws-us-gov:iam::333333333333:user/admin")
        );
    }

    #[test]
    fn duplicate_access_keys_are_refused() {
        let yaml = "accounts:\n  - id: '444444444444'\n    users:\n      - name: a\n        access_keys: [{id: AKIAEXAMPLEDUPLICATE, secret: x}]\n      - name: b\n        access_keys: [{id: AKIAEXAMPLEDUPLICATE, secret: y}]\n";
        let msg = build(yaml).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("used twice"), "{msg}");
    }

    #[test]
    fn unknown_managed_policies_are_refused() {
        let yaml = "accounts:\n  - id: '444444444444'\n    users:\n      - name: a\n        managed_policies: [NoSuchPolicy]\n";
        let msg = build(yaml).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("NoSuchPolicy"), "{msg}");
    }

    #[test]
    fn policy_errors_say_where() {
        let yaml = "accounts:\n  - id: '444444444444'\n    users:\n      - name: a\n        inline_policies:\n          p1: {Statement: [{Effect: Allow, Resource: '*'}]}\n";
        let err = build(yaml).err();
        let text = err.as_ref().map(|e| {
            format!(
                "{e}: {}",
                std::error::Error::source(e)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            )
        });
        assert_eq!(
            text.as_deref(),
            Some(
                "world: account 444444444444, user a, inline policy p1: statement 0, field `Action`: one of `Action` or `NotAction` is required"
            )
        );
    }

    #[test]
    fn opted_in_regions_must_belong_to_the_partition() {
        let yaml = "accounts:\n  - id: '444444444444'\n    partition: aws-us-gov\n    opted_in_regions: [af-south-1]\n";
        match build(yaml) {
            Err(WorldError::Invalid { context, message }) => assert_eq!(
                (context.as_str(), message.as_str()),
                (
                    "account 444444444444",
                    "`af-south-1` is not a region of partition aws-us-gov"
                )
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn unique_ids_are_stable_and_prefixed() {
        let a = unique_id("AIDA", "111111111111", "admin");
        assert_eq!(a, unique_id("AIDA", "111111111111", "admin"));
        assert_eq!(a.len(), 21);
        assert!(a.starts_with("AIDA"));
    }
}
