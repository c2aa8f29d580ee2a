//! The validated, indexed world the request path reads.
//!
//! Built once from a [`World`](crate::world::World): every policy is parsed here, never on a
//! request; access keys are indexed by id; each identity carries its own list of parsed
//! policies. The store is immutable and shared through an `ArcSwap`, so requests read it
//! without a lock.
//!
//! `identity` holds who a request is from and the keys that say so; `account` adds one
//! account of a world, a function per kind of entity.

mod account;
mod identity;
mod organization;
mod update;

use std::collections::HashSet;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::iam::managed;
use crate::partition::{OptIn, Partition, Region};
use crate::policy::trust::TrustPolicy;
use crate::world::{World, WorldError};

pub(crate) use identity::{AccessKey, CachedSigningKey, Identity, IdentityKind, IdentityPolicy};
pub(crate) use organization::{Membership, SERVICE_LINKED_PATH, Scps};

/// Everything authentication and authorization need. Its maps are persistent (structurally
/// shared): a copy costs nothing, and an IAM write replaces only the entries it touched
/// (see `update`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Store {
    accounts: imbl::HashMap<String, Arc<Account>>,
    keys: imbl::HashMap<String, Arc<AccessKey>>,
    roles: imbl::HashMap<String, Arc<Role>>,
    /// Users and root users by ARN (for GetSessionToken sessions).
    principals: imbl::HashMap<String, Arc<Identity>>,
    /// IAM OIDC providers by ARN: their client ids (audiences).
    oidc_providers: imbl::HashMap<String, Vec<String>>,
    /// Instance profiles by `ACCOUNT/NAME` (what instance metadata serves).
    instance_profiles: imbl::HashMap<String, Arc<InstanceProfile>>,
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
    /// Its account's organization, if any.
    pub(crate) organization: Option<Arc<Membership>>,
    /// A service-linked role (path `/aws-service-role/`): SCPs do not apply to it.
    pub(crate) service_linked: bool,
}

impl Role {
    /// The unique id of one of its sessions (`AROA…:SESSION`, `aws:userid`).
    pub(crate) fn session_id(&self, session: &str) -> String {
        [self.role_id.as_str(), ":", session].concat()
    }

    /// The ARN of one of its sessions (`arn:…:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    pub(crate) fn session_arn(&self, session: &str) -> String {
        crate::arn::assumed_role(self.partition, &self.account, &self.name, session)
    }
}

/// An account and what it has enabled, and what its entities are indexed with.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    opted_in: HashSet<String>,
    /// The account's plain `DescribeRegions` answer (no filters), rendered on first use.
    pub(crate) default_regions: std::sync::OnceLock<Arc<str>>,
    partition: Partition,
    /// Its organization, if any.
    membership: Option<Arc<Membership>>,
    /// Its customer managed policies by name, parsed once when stored.
    customer: account::Parsed<IdentityPolicy>,
    /// Its groups' policies by group name, parsed once for all their members.
    groups: account::Parsed<Vec<IdentityPolicy>>,
}

impl Account {
    /// A customer managed policy of the account, by name or by ARN.
    fn customer_policy(&self, reference: &str) -> Option<&IdentityPolicy> {
        if !reference.starts_with("arn:") {
            return self.customer.get(reference);
        }
        let name = reference.rsplit('/').next()?;
        (self.customer.get(name)).filter(|p| p.arn.as_deref() == Some(reference))
    }

    /// Whether the account may use the region (opt-in regions must be enabled).
    pub(crate) fn region_enabled(&self, region: &Region) -> bool {
        region.opt_in == OptIn::NotRequired || self.opted_in.contains(region.name)
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
        let mut memberships = organization::memberships(&world.organizations, &world.accounts)?;
        for spec in &world.accounts {
            store.add_account(spec, memberships.remove(&spec.id))?;
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
        let customer = (arn.starts_with("arn:"))
            .then(|| arn.split(':').nth(4))
            .flatten()
            .and_then(|account| self.accounts.get(account)?.customer_policy(arn));
        if let Some(p) = customer {
            return Some(p.clone());
        }
        let m = managed::find(arn, partition)?;
        Some(IdentityPolicy::managed(m.arn(partition), m.parsed.clone()?))
    }

    /// The instance profile `name` of `account`, if it exists.
    pub(crate) fn instance_profile(&self, account: &str, name: &str) -> Option<&InstanceProfile> {
        self.instance_profiles
            .get(&format!("{account}/{name}"))
            .map(Arc::as_ref)
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
        self.accounts.get(id).map(Arc::as_ref)
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
        let readme = include_str!("../../../../docs/worlds.md");
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
