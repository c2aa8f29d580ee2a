//! Adding one account of a world to the store: a function per kind of entity, called in
//! the order their checks report the first error (the account itself, its customer managed
//! policies, the root user and its keys, groups, users and their keys, roles, instance
//! profiles, OIDC providers).

use std::collections::{BTreeMap, HashMap, HashSet};
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
use crate::world::{AccessKeySpec, AccountSpec, KeyStatus, RoleSpec, UserSpec, WorldError};

/// Each group's policies by group name, parsed once for all its members.
type Groups<'a> = HashMap<&'a str, Vec<IdentityPolicy>>;

/// The account being added: its spec, partition and customer managed policies.
struct Adding<'a> {
    spec: &'a AccountSpec,
    partition: Partition,
    /// Customer managed policies by name and by ARN.
    customer: HashMap<String, IdentityPolicy>,
    /// `account ID`, where every error's context starts.
    ctx: String,
    /// Its organization, if any.
    membership: Option<Arc<Membership>>,
}

impl Adding<'_> {
    /// The ARN of an IAM resource of the account (`user/NAME`, `role/PATH/NAME`).
    fn arn(&self, resource: &str) -> String {
        crate::arn::iam(self.partition, &self.spec.id, resource)
    }

    /// An entity's managed policies, then its inline ones (`owner`: `user/NAME`, …).
    fn policies(
        &self,
        managed: &[String],
        inline_policies: &BTreeMap<String, Value>,
        owner: &str,
        ctx: &str,
    ) -> Result<Vec<IdentityPolicy>, WorldError> {
        let mut policies = attached(managed, &self.customer, self.partition, &self.spec.id, ctx)?;
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
        arn.map(|arn| {
            let refs = std::slice::from_ref(arn);
            attached(refs, &self.customer, self.partition, &self.spec.id, ctx)
        })
        .transpose()
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
        let account = Adding {
            spec,
            partition,
            customer: customer_policies(spec, partition)?,
            ctx: format!("account {}", spec.id),
            membership,
        };
        self.add_managed_policies(&account);
        self.add_root(&account)?;
        let groups = group_policies(&account)?;
        self.add_users(&account, &groups)?;
        self.add_roles(&account)?;
        self.add_instance_profiles(&account)?;
        self.add_oidc_providers(&account)?;
        self.accounts.insert(
            spec.id.clone(),
            Account {
                opted_in: spec.opted_in_regions.iter().cloned().collect(),
                default_regions: std::sync::OnceLock::new(),
            },
        );
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

    /// Indexes the account's customer managed policies by ARN.
    fn add_managed_policies(&mut self, account: &Adding<'_>) {
        for (key, policy) in &account.customer {
            if key.starts_with("arn:") {
                self.managed.insert(key.clone(), policy.clone());
            }
        }
    }

    /// The root user and its access keys.
    fn add_root(&mut self, account: &Adding<'_>) -> Result<(), WorldError> {
        let id = &account.spec.id;
        let root = Arc::new(
            Identity::new(
                id.clone(),
                account.partition,
                account.arn("root"),
                id.clone(),
                IdentityKind::Root,
                Vec::new(),
            )
            .with_organization(account.membership.as_ref(), false),
        );
        for key in &account.spec.root_access_keys {
            self.add_key(key, &root, &format!("{}, root", account.ctx))?;
        }
        self.principals.insert(root.arn.clone(), root);
        Ok(())
    }

    /// The users and their access keys.
    fn add_users(&mut self, account: &Adding<'_>, groups: &Groups<'_>) -> Result<(), WorldError> {
        let mut names = HashSet::new();
        for user in &account.spec.users {
            let ctx = format!("{}, user {}", account.ctx, user.name);
            check_name(&user.name, 64).map_err(|m| invalid(&ctx, m))?;
            check_path(&user.path).map_err(|m| invalid(&ctx, m))?;
            if !names.insert(user.name.to_ascii_lowercase()) {
                let message = "user names must be unique (case-insensitively)";
                return Err(invalid(&ctx, message));
            }
            let identity = Arc::new(user_identity(account, user, groups, &ctx)?);
            for key in &user.access_keys {
                self.add_key(key, &identity, &ctx)?;
            }
            self.principals.insert(identity.arn.clone(), identity);
        }
        Ok(())
    }

    /// The roles.
    fn add_roles(&mut self, account: &Adding<'_>) -> Result<(), WorldError> {
        let mut names = HashSet::new();
        for role in &account.spec.roles {
            let ctx = format!("{}, role {}", account.ctx, role.name);
            check_name(&role.name, 64).map_err(|m| invalid(&ctx, m))?;
            check_path(&role.path).map_err(|m| invalid(&ctx, m))?;
            if !names.insert(role.name.to_ascii_lowercase()) {
                let message = "role names must be unique (case-insensitively)";
                return Err(invalid(&ctx, message));
            }
            let role = self::role(account, role, &ctx)?;
            self.roles.insert(role.arn.clone(), Arc::new(role));
        }
        Ok(())
    }

    /// The instance profiles, each with at most one role of the account.
    fn add_instance_profiles(&mut self, account: &Adding<'_>) -> Result<(), WorldError> {
        let spec = account.spec;
        for profile in &spec.instance_profiles {
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
                format!("{}/{}", spec.id, profile.name),
                InstanceProfile {
                    arn: account.arn(&format!("instance-profile{}{}", profile.path, profile.name)),
                    id: unique_id("AIPA", &spec.id, &profile.name),
                    role_arn,
                },
            );
        }
        Ok(())
    }

    /// The IAM OIDC providers: their client ids by ARN.
    fn add_oidc_providers(&mut self, account: &Adding<'_>) -> Result<(), WorldError> {
        for provider in &account.spec.open_id_connect_providers {
            if !provider.url.starts_with("https://") {
                let url = &provider.url;
                let message = format!("OIDC provider URL `{url}` must start with https://");
                return Err(invalid(&account.ctx, message));
            }
            let host_path = (provider.url.trim_start_matches("https://")).trim_end_matches('/');
            self.oidc_providers.insert(
                account.arn(&format!("oidc-provider/{host_path}")),
                provider.client_ids.clone(),
            );
        }
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

/// The groups' policies by name, checking their names and paths.
fn group_policies<'a>(account: &Adding<'a>) -> Result<Groups<'a>, WorldError> {
    let mut groups = Groups::new();
    for group in &account.spec.groups {
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
        if groups.insert(group.name.as_str(), policies).is_some() {
            return Err(invalid(&ctx, "group names must be unique"));
        }
    }
    Ok(groups)
}

/// A user: its own policies, then its groups', its boundary and tags.
fn user_identity(
    account: &Adding<'_>,
    user: &UserSpec,
    groups: &Groups<'_>,
    ctx: &str,
) -> Result<Identity, WorldError> {
    let owner = format!("user/{}", user.name);
    let mut policies =
        account.policies(&user.managed_policies, &user.inline_policies, &owner, ctx)?;
    for group in &user.groups {
        let group_policies = groups.get(group.as_str()).ok_or_else(|| {
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
        account.partition,
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
        .with_organization(account.membership.as_ref(), false))
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
        partition: account.partition,
        role_id: unique_id("AROA", &account.spec.id, &role.name),
        max_session_duration: role.max_session_duration,
        trust,
        policies,
        boundary,
        tags: role.tags.clone(),
        organization: account.membership.clone(),
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
        let arn = crate::arn::iam_entity(partition, &spec.id, "policy", &p.path, &p.name);
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
