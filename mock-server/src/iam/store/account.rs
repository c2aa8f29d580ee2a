//! Adding an account of a world to the store, and its entities one at a time: a function
//! per kind of entity. A whole account is added in the order its checks report the first
//! error (the account itself, its customer managed policies, the root user and its keys,
//! groups, users and their keys, roles, instance profiles, OIDC providers); an IAM write adds
//! again only the entities it touched (`update`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use serde_json::Value;

use super::{
    AccessKey, Account, Identity, IdentityKind, IdentityPolicy, InstanceProfile, Membership, Role,
    SERVICE_LINKED_PATH, Store, unique_id,
};
use crate::iam::managed;
use crate::partition::{Partition, Region};
use crate::policy::Policy;
use crate::policy::parse::{parse_identity_policy, parse_identity_value};
use crate::world::{
    AccessKeySpec, AccountSpec, GroupSpec, InstanceProfileSpec, KeyStatus, ManagedPolicySpec,
    OidcProviderSpec, RoleSpec, UserSpec, WorldError,
};

/// Parsed policies by name.
pub(super) type Parsed<V> = imbl::HashMap<String, V>;

/// What entities are added with: their account's spec and its index in the store
/// (partition, organization, parsed customer managed policies and groups).
pub(super) struct Adding<'a> {
    pub(super) spec: &'a AccountSpec,
    pub(super) account: &'a Account,
    /// `account ID`, where every error's context starts.
    pub(super) ctx: String,
}

impl<'a> Adding<'a> {
    pub(super) fn new(spec: &'a AccountSpec, account: &'a Account) -> Self {
        Self {
            spec,
            account,
            ctx: format!("account {}", spec.id),
        }
    }

    /// The ARN of an IAM resource of the account (`user/NAME`, `role/PATH/NAME`).
    pub(super) fn arn(&self, resource: &str) -> String {
        crate::arn::iam(self.account.partition, &self.spec.id, resource)
    }

    /// An entity's managed policies, then its inline ones (`owner`: `user/NAME`, …).
    fn policies(
        &self,
        managed: &[String],
        inline_policies: &BTreeMap<String, Value>,
        owner: &str,
        ctx: &str,
    ) -> Result<Vec<IdentityPolicy>, WorldError> {
        let mut policies = self.attached(managed, ctx)?;
        for (name, doc) in inline_policies {
            policies.push(inline(owner, name, doc, ctx)?);
        }
        Ok(policies)
    }

    /// An entity's permissions boundary, if it has one.
    fn boundary(
        &self,
        arn: Option<&String>,
        ctx: &str,
    ) -> Result<Option<Vec<IdentityPolicy>>, WorldError> {
        arn.map(|arn| self.attached(std::slice::from_ref(arn), ctx))
            .transpose()
    }

    /// Resolves attached managed policies: customer ones by name or ARN, AWS ones by name or
    /// ARN.
    fn attached(&self, refs: &[String], ctx: &str) -> Result<Vec<IdentityPolicy>, WorldError> {
        let partition = self.account.partition;
        refs.iter()
            .map(|r| {
                if let Some(p) = self.account.customer_policy(r) {
                    return Ok(p.clone());
                }
                match managed::find(r, partition).and_then(|m| m.parsed.clone().map(|p| (m, p))) {
                    Some((m, policy)) => Ok(IdentityPolicy::managed(m.arn(partition), policy)),
                    None => Err(WorldError::Invalid {
                        context: ctx.to_owned(),
                        message: format!(
                            "managed policy `{r}` is neither a policy of account {} nor an AWS managed policy",
                            self.spec.id
                        ),
                    }),
                }
            })
            .collect()
    }
}

impl Store {
    /// Validates and indexes one account and everything in it.
    pub(super) fn add_account(
        &mut self,
        spec: &AccountSpec,
        membership: Option<Arc<Membership>>,
    ) -> Result<(), WorldError> {
        let partition = self.check_account(spec)?;
        let mut account = Account {
            opted_in: spec.opted_in_regions.iter().cloned().collect(),
            default_regions: std::sync::OnceLock::new(),
            partition,
            membership,
            customer: Parsed::new(),
            groups: Parsed::new(),
        };
        for policy in &spec.policies {
            add_customer_policy(&mut account, &spec.id, policy)?;
        }
        self.add_root(&Adding::new(spec, &account))?;
        let mut groups = Vec::new();
        for group in &spec.groups {
            groups.push(group_policies(&Adding::new(spec, &account), group)?);
        }
        for group in groups {
            add_group(&mut account, &spec.id, group)?;
        }
        let adding = Adding::new(spec, &account);
        let mut names = HashSet::new();
        for user in &spec.users {
            self.add_user(&adding, user, |n| names.insert(n.to_ascii_lowercase()))?;
        }
        let mut names = HashSet::new();
        for role in &spec.roles {
            self.add_role(&adding, role, |n| names.insert(n.to_ascii_lowercase()))?;
        }
        for profile in &spec.instance_profiles {
            self.add_instance_profile(&adding, profile)?;
        }
        for provider in &spec.open_id_connect_providers {
            self.add_oidc_provider(&adding, provider)?;
        }
        self.accounts.insert(spec.id.clone(), Arc::new(account));
        Ok(())
    }

    /// Checks the account's id, that it is new, its partition and its opted-in regions.
    fn check_account(&self, spec: &AccountSpec) -> Result<Partition, WorldError> {
        let ctx = format!("account {}", spec.id);
        if spec.id.len() != 12 || !spec.id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(&ctx, "the account id must be 12 digits"));
        }
        if self.accounts.contains_key(&spec.id) {
            return Err(invalid(&ctx, "the account is declared twice"));
        }
        let partition = Partition::from_id(&spec.partition).ok_or_else(|| {
            let name = &spec.partition;
            let message = format!("unknown partition `{name}` (aws, aws-us-gov or aws-cn)");
            invalid(&ctx, message)
        })?;
        for region in &spec.opted_in_regions {
            if Region::find(region).is_none_or(|r| r.partition != partition) {
                let message = format!("`{region}` is not a region of partition {partition}");
                return Err(invalid(&ctx, message));
            }
        }
        Ok(partition)
    }

    /// The root user and its access keys.
    fn add_root(&mut self, account: &Adding<'_>) -> Result<(), WorldError> {
        let id = &account.spec.id;
        let root = Arc::new(
            Identity::new(
                id.clone(),
                account.account.partition,
                account.arn("root"),
                id.clone(),
                IdentityKind::Root,
                Vec::new(),
            )
            .with_organization(account.account.membership.as_ref(), false),
        );
        for key in &account.spec.root_access_keys {
            self.add_key(key, &root, &format!("{}, root", account.ctx))?;
        }
        self.principals.insert(root.arn.to_string(), root);
        Ok(())
    }

    /// A user and its access keys; `unique` says whether its name is unique in the account
    /// (case-insensitively).
    pub(super) fn add_user(
        &mut self,
        account: &Adding<'_>,
        user: &UserSpec,
        unique: impl FnOnce(&str) -> bool,
    ) -> Result<(), WorldError> {
        let ctx = format!("{}, user {}", account.ctx, user.name);
        check_name(&user.name, 64).map_err(|m| invalid(&ctx, m))?;
        check_path(&user.path).map_err(|m| invalid(&ctx, m))?;
        if !unique(&user.name) {
            let message = "user names must be unique (case-insensitively)";
            return Err(invalid(&ctx, message));
        }
        let identity = Arc::new(user_identity(account, user, &ctx)?);
        for key in &user.access_keys {
            self.add_key(key, &identity, &ctx)?;
        }
        self.principals.insert(identity.arn.to_string(), identity);
        Ok(())
    }

    /// A role; `unique` says whether its name is unique in the account (case-insensitively).
    pub(super) fn add_role(
        &mut self,
        account: &Adding<'_>,
        role: &RoleSpec,
        unique: impl FnOnce(&str) -> bool,
    ) -> Result<(), WorldError> {
        let ctx = format!("{}, role {}", account.ctx, role.name);
        check_name(&role.name, 64).map_err(|m| invalid(&ctx, m))?;
        check_path(&role.path).map_err(|m| invalid(&ctx, m))?;
        if !unique(&role.name) {
            let message = "role names must be unique (case-insensitively)";
            return Err(invalid(&ctx, message));
        }
        let role = self::role(account, role, &ctx)?;
        self.roles.insert(role.arn.clone(), Arc::new(role));
        Ok(())
    }

    /// An instance profile, with at most one role of the account.
    pub(super) fn add_instance_profile(
        &mut self,
        account: &Adding<'_>,
        profile: &InstanceProfileSpec,
    ) -> Result<(), WorldError> {
        let spec = account.spec;
        let ctx = format!("{}, instance profile {}", account.ctx, profile.name);
        check_name(&profile.name, 128).map_err(|m| invalid(&ctx, m))?;
        check_path(&profile.path).map_err(|m| invalid(&ctx, m))?;
        if profile.roles.len() > 1 {
            let message = "an instance profile holds at most one role";
            return Err(invalid(&ctx, message));
        }
        let role_of = |name: &String| spec.roles.iter().find(|r| &r.name == name);
        if let Some(role) = profile.roles.iter().find(|r| role_of(r).is_none()) {
            let message = format!("role `{role}` is not a role of the account");
            return Err(invalid(&ctx, message));
        }
        let role_arn = (profile.roles.first().and_then(role_of))
            .map(|r| account.arn(&format!("role{}{}", r.path, r.name)));
        self.instance_profiles.insert(
            profile_key(&spec.id, profile),
            Arc::new(InstanceProfile {
                arn: account.arn(&format!("instance-profile{}{}", profile.path, profile.name)),
                id: unique_id("AIPA", &spec.id, &profile.name),
                role_arn,
            }),
        );
        Ok(())
    }

    /// An IAM OIDC provider: its client ids by ARN.
    pub(super) fn add_oidc_provider(
        &mut self,
        account: &Adding<'_>,
        provider: &OidcProviderSpec,
    ) -> Result<(), WorldError> {
        if !provider.url.starts_with("https://") {
            let url = &provider.url;
            let message = format!("OIDC provider URL `{url}` must start with https://");
            return Err(invalid(&account.ctx, message));
        }
        self.oidc_providers
            .insert(provider_arn(account, provider), provider.client_ids.clone());
        Ok(())
    }

    /// Indexes an access key of `identity`, checking its id and secret and that it is new.
    fn add_key(
        &mut self,
        key: &AccessKeySpec,
        identity: &Arc<Identity>,
        ctx: &str,
    ) -> Result<(), WorldError> {
        let ctx = format!("{ctx}, access key {}", key.id);
        let id_ok =
            (16..=128).contains(&key.id.len()) && key.id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !id_ok {
            let message = "an access key id is 16 to 128 letters and digits";
            return Err(invalid(&ctx, message));
        }
        if key.secret.is_empty() {
            return Err(invalid(&ctx, "the secret must not be empty"));
        }
        if self.keys.contains_key(&key.id) {
            return Err(invalid(&ctx, "the access key id is used twice"));
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

/// Where the store indexes an instance profile: `ACCOUNT/NAME`.
pub(super) fn profile_key(account: &str, profile: &InstanceProfileSpec) -> String {
    format!("{account}/{}", profile.name)
}

/// The ARN of an IAM OIDC provider.
pub(super) fn provider_arn(account: &Adding<'_>, provider: &OidcProviderSpec) -> String {
    let host_path = (provider.url.trim_start_matches("https://")).trim_end_matches('/');
    account.arn(&format!("oidc-provider/{host_path}"))
}

/// A group's name and policies, checking its name and path.
pub(super) fn group_policies(
    account: &Adding<'_>,
    group: &GroupSpec,
) -> Result<(String, Vec<IdentityPolicy>), WorldError> {
    let ctx = format!("{}, group {}", account.ctx, group.name);
    check_name(&group.name, 128).map_err(|m| invalid(&ctx, m))?;
    check_path(&group.path).map_err(|m| invalid(&ctx, m))?;
    let owner = format!("group/{}", group.name);
    let policies = account.policies(
        &group.managed_policies,
        &group.inline_policies,
        &owner,
        &ctx,
    )?;
    Ok((group.name.clone(), policies))
}

/// Indexes a group's policies, checking its name is unique in the account.
pub(super) fn add_group(
    account: &mut Account,
    id: &str,
    (name, policies): (String, Vec<IdentityPolicy>),
) -> Result<(), WorldError> {
    if account.groups.contains_key(&name) {
        let ctx = format!("account {id}, group {name}");
        return Err(invalid(&ctx, "group names must be unique"));
    }
    account.groups.insert(name, policies);
    Ok(())
}

/// A user: its own policies, then its groups', its boundary and tags.
fn user_identity(account: &Adding<'_>, user: &UserSpec, ctx: &str) -> Result<Identity, WorldError> {
    let owner = format!("user/{}", user.name);
    let mut policies =
        account.policies(&user.managed_policies, &user.inline_policies, &owner, ctx)?;
    for group in &user.groups {
        let group_policies = account.account.groups.get(group).ok_or_else(|| {
            invalid(
                ctx,
                format!("group `{group}` is not a group of the account"),
            )
        })?;
        policies.extend(group_policies.iter().cloned());
    }
    let boundary = account.boundary(user.permissions_boundary.as_ref(), ctx)?;
    let id = &account.spec.id;
    let identity = Identity::new(
        id.clone(),
        account.account.partition,
        account.arn(&format!("user{}{}", user.path, user.name)),
        unique_id("AIDA", id, &user.name),
        IdentityKind::User {
            name: user.name.clone(),
        },
        policies,
    );
    Ok(identity
        .with_boundary(boundary)
        .with_tags(&user.tags)
        .with_organization(account.account.membership.as_ref(), false))
}

/// A role: its session duration and trust policy checked, its policies parsed.
fn role(account: &Adding<'_>, role: &RoleSpec, ctx: &str) -> Result<Role, WorldError> {
    if !(3600..=43200).contains(&role.max_session_duration) {
        let message = "max_session_duration must be 3600 to 43200 seconds";
        return Err(invalid(ctx, message));
    }
    let trust = match &role.trust_policy {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let trust = crate::policy::trust::parse_trust_policy(&trust)
        .map_err(|m| invalid(ctx, format!("trust_policy: {m}")))?;
    let owner = format!("role/{}", role.name);
    let policies = account.policies(&role.managed_policies, &role.inline_policies, &owner, ctx)?;
    let boundary = account.boundary(role.permissions_boundary.as_ref(), ctx)?;
    Ok(Role {
        arn: account.arn(&format!("role{}{}", role.path, role.name)),
        name: role.name.clone(),
        account: account.spec.id.clone(),
        partition: account.account.partition,
        role_id: unique_id("AROA", &account.spec.id, &role.name),
        max_session_duration: role.max_session_duration,
        trust,
        policies,
        boundary,
        tags: role.tags.clone(),
        organization: account.account.membership.clone(),
        service_linked: role.path == SERVICE_LINKED_PATH,
    })
}

/// A world error in `context`.
fn invalid(context: &str, message: impl Into<String>) -> WorldError {
    WorldError::Invalid {
        context: context.to_owned(),
        message: message.into(),
    }
}

/// Parses and indexes a customer managed policy of the account by name, checking
/// its name and path and that its name is new.
pub(super) fn add_customer_policy(
    account: &mut Account,
    id: &str,
    p: &ManagedPolicySpec,
) -> Result<(), WorldError> {
    let ctx = format!("account {id}, policy {}", p.name);
    let invalid = |message: String| WorldError::Invalid {
        context: ctx.clone(),
        message,
    };
    check_name(&p.name, 128).map_err(invalid)?;
    check_path(&p.path).map_err(invalid)?;
    if account.customer.contains_key(&p.name) {
        return Err(invalid(
            "the policy name is used twice in the account".into(),
        ));
    }
    let arn = customer_policy_arn(account.partition, id, p);
    let attached = IdentityPolicy::managed(arn.clone(), parse(&p.document, &ctx)?);
    account.customer.insert(p.name.clone(), attached);
    Ok(())
}

/// The ARN of a customer managed policy.
pub(super) fn customer_policy_arn(
    partition: Partition,
    account: &str,
    p: &ManagedPolicySpec,
) -> String {
    crate::arn::iam_entity(partition, account, "policy", &p.path, &p.name)
}

/// The inline policy `name` of `owner` (`user/NAME`, `group/NAME`, `role/NAME`).
fn inline(owner: &str, name: &str, doc: &Value, ctx: &str) -> Result<IdentityPolicy, WorldError> {
    let ctx = format!("{ctx}, inline policy {name}");
    Ok(IdentityPolicy::unnamed(
        format!("inline policy {name} of {owner}"),
        parse(doc, &ctx)?,
    ))
}

pub(super) fn parse(doc: &Value, ctx: &str) -> Result<Arc<Policy>, WorldError> {
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
