//! AWS Organizations in the store: each member account's place in its organization and the
//! service control policies (SCPs) from the root down to it, parsed and resolved once when
//! the store is built, so a request only walks the chain its identity already holds.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

use sha2::{Digest, Sha256};

use super::IdentityPolicy;
use crate::partition::Partition;
use crate::policy::Policy;
use crate::policy::eval::Levels;
use crate::policy::parse::parse_identity_value;
use crate::world::{AccountSpec, FULL_AWS_ACCESS, OrgUnitSpec, OrganizationSpec, WorldError};

/// An account's membership of an organization.
#[derive(Debug)]
pub(crate) struct Membership {
    /// `o-…` (`aws:PrincipalOrgID`).
    pub(crate) org_id: String,
    /// `o-…/r-…/ou-…/`: the path to the account's parent (`aws:PrincipalOrgPaths`).
    pub(crate) path: String,
    /// The SCPs that apply to its principals; `None` for the management account.
    pub(crate) scps: Option<Arc<Scps>>,
}

/// The SCPs of a member account, level by level from the root to the account itself.
#[derive(Debug)]
pub(crate) struct Scps {
    /// Every level's policies, root first.
    pub(crate) policies: Vec<IdentityPolicy>,
    /// The end of each level in `policies`.
    pub(crate) ends: Vec<usize>,
    /// Whether any of them reads the request context.
    pub(crate) uses_context: bool,
}

impl Scps {
    /// The levels, for evaluation.
    pub(crate) fn levels(&self) -> Levels<'_, IdentityPolicy> {
        Levels {
            policies: &self.policies,
            ends: &self.ends,
        }
    }
}

/// The path of service-linked roles: SCPs do not apply to them.
pub(crate) const SERVICE_LINKED_PATH: &str = "/aws-service-role/";

/// `FullAWSAccess`, the AWS managed SCP: allows everything.
static FULL_AWS_ACCESS_POLICY: LazyLock<Arc<Policy>> = LazyLock::new(|| {
    let document = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    });
    parse_identity_value(&document)
        .map(Arc::new)
        .unwrap_or_else(|e| unreachable!("FullAWSAccess is a valid policy: {e}"))
});

/// The memberships of every account in an organization, by account id.
pub(crate) fn memberships(
    organizations: &[OrganizationSpec],
    accounts: &[AccountSpec],
) -> Result<HashMap<String, Arc<Membership>>, WorldError> {
    let mut out = HashMap::new();
    let mut org_ids = HashSet::new();
    for spec in organizations {
        let ctx = format!("organization of {}", spec.management_account);
        let partition = accounts
            .iter()
            .find(|a| a.id == spec.management_account)
            .and_then(|a| Partition::from_id(&a.partition))
            .ok_or_else(|| {
                invalid(
                    &ctx,
                    "the management account is not an account of the world",
                )
            })?;
        let org_id = match &spec.id {
            Some(id) => {
                check_id(id, "o-", 10, 32).map_err(|m| invalid(&ctx, m))?;
                id.clone()
            }
            None => format!("o-{}", derived(&spec.management_account, 10)),
        };
        if !org_ids.insert(org_id.clone()) {
            return Err(invalid(
                &ctx,
                format!("organization id `{org_id}` is used twice"),
            ));
        }
        let adding = Adding {
            partition,
            accounts,
            policies: org_policies(spec, partition, &org_id, &ctx)?,
            org_id,
            ctx,
        };
        let root_id = match &spec.root.id {
            Some(id) => {
                check_id(id, "r-", 4, 32).map_err(|m| invalid(&adding.ctx, m))?;
                id.clone()
            }
            None => format!("r-{}", derived(&adding.org_id, 4)),
        };
        let mut placed = HashMap::new();
        let path = format!("{}/{root_id}/", adding.org_id);
        let root_suffix = root_id.trim_start_matches("r-").to_owned();
        adding.unit(&spec.root, &path, &root_suffix, &[], &mut placed)?;
        if !placed.contains_key(&spec.management_account) {
            // The management account is always a member: under the root unless placed.
            let root_scps = adding.attached(&spec.root.policies, &adding.ctx)?;
            placed.insert(spec.management_account.clone(), (path, vec![root_scps]));
        }
        for (account, (path, levels)) in placed {
            if out.contains_key(&account) {
                let message = format!("account {account} is in two organizations");
                return Err(invalid(&adding.ctx, message));
            }
            let scps = (account != spec.management_account).then(|| Arc::new(chain(levels)));
            let membership = Membership {
                org_id: adding.org_id.clone(),
                path,
                scps,
            };
            out.insert(account, Arc::new(membership));
        }
    }
    Ok(out)
}

/// Where each placed account sits: the path to its parent and its SCPs, level by level.
type Placed = HashMap<String, (String, Vec<Vec<IdentityPolicy>>)>;

/// The organization being added.
struct Adding<'a> {
    partition: Partition,
    accounts: &'a [AccountSpec],
    /// Its SCPs by name, `FullAWSAccess` included.
    policies: HashMap<String, IdentityPolicy>,
    org_id: String,
    ctx: String,
}

impl Adding<'_> {
    /// Places the accounts of `unit` (at `path`, with the levels above it in `above`) and
    /// its child units.
    fn unit(
        &self,
        unit: &OrgUnitSpec,
        path: &str,
        root_suffix: &str,
        above: &[Vec<IdentityPolicy>],
        placed: &mut Placed,
    ) -> Result<(), WorldError> {
        let ctx = format!("{}, unit {}", self.ctx, unit.name);
        let mut levels = above.to_vec();
        levels.push(self.attached(&unit.policies, &ctx)?);
        for account in &unit.accounts {
            let ctx = format!("{ctx}, account {}", account.id);
            let spec = (self.accounts.iter().find(|a| a.id == account.id))
                .ok_or_else(|| invalid(&ctx, "not an account of the world"))?;
            if Partition::from_id(&spec.partition) != Some(self.partition) {
                let message = format!(
                    "the account is not in the organization's partition {}",
                    self.partition
                );
                return Err(invalid(&ctx, message));
            }
            let mut own = levels.clone();
            own.push(self.attached(&account.policies, &ctx)?);
            if placed
                .insert(account.id.clone(), (path.to_owned(), own))
                .is_some()
            {
                return Err(invalid(&ctx, "the account is placed twice"));
            }
        }
        for child in &unit.units {
            let id = match &child.id {
                Some(id) => {
                    let ctx = format!("{ctx}, unit {}", child.name);
                    let prefix = format!("ou-{root_suffix}-");
                    check_id(id, &prefix, 8, 32).map_err(|m| invalid(&ctx, m))?;
                    id.clone()
                }
                None => format!(
                    "ou-{root_suffix}-{}",
                    derived(&format!("{path}{}", child.name), 8)
                ),
            };
            self.unit(child, &format!("{path}{id}/"), root_suffix, &levels, placed)?;
        }
        Ok(())
    }

    /// The SCPs attached by `names` (at least one, as AWS requires).
    fn attached(&self, names: &[String], ctx: &str) -> Result<Vec<IdentityPolicy>, WorldError> {
        if names.is_empty() {
            let message =
                "at least one service control policy must be attached (FullAWSAccess by default)";
            return Err(invalid(ctx, message));
        }
        names
            .iter()
            .map(|name| {
                self.policies.get(name).cloned().ok_or_else(|| {
                    invalid(
                        ctx,
                        format!("`{name}` is not a service control policy of the organization"),
                    )
                })
            })
            .collect()
    }
}

/// The organization's SCPs by name: its own, and `FullAWSAccess`.
fn org_policies(
    spec: &OrganizationSpec,
    partition: Partition,
    org_id: &str,
    ctx: &str,
) -> Result<HashMap<String, IdentityPolicy>, WorldError> {
    let full = Arc::clone(&FULL_AWS_ACCESS_POLICY);
    let mut out = HashMap::from([(
        FULL_AWS_ACCESS.to_owned(),
        IdentityPolicy::managed(
            format!(
                "arn:{partition}:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
            ),
            full,
        ),
    )]);
    for policy in &spec.policies {
        let ctx = format!("{ctx}, policy {}", policy.name);
        let id = match &policy.id {
            Some(id) => {
                check_id(id, "p-", 8, 128).map_err(|m| invalid(&ctx, m))?;
                id.clone()
            }
            None => format!("p-{}", derived(&format!("{org_id}/{}", policy.name), 8)),
        };
        let arn = format!(
            "arn:{partition}:organizations::{}:policy/{org_id}/service_control_policy/{id}",
            spec.management_account
        );
        let parsed = super::account::parse(&policy.document, &ctx)?;
        if out
            .insert(policy.name.clone(), IdentityPolicy::managed(arn, parsed))
            .is_some()
        {
            return Err(invalid(
                &ctx,
                "the policy name is used twice in the organization",
            ));
        }
    }
    Ok(out)
}

/// The levels as one chain.
fn chain(levels: Vec<Vec<IdentityPolicy>>) -> Scps {
    let mut policies = Vec::new();
    let mut ends = Vec::with_capacity(levels.len());
    for level in levels {
        policies.extend(level);
        ends.push(policies.len());
    }
    let uses_context = policies.iter().any(|p| p.policy.uses_context());
    Scps {
        policies,
        ends,
        uses_context,
    }
}

/// `n` lowercase letters and digits derived from `seed`, the same for the same world.
fn derived(seed: &str, n: usize) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(n)
        .map(|b| ALPHABET[usize::from(b % 36)] as char)
        .collect()
}

/// Checks an Organizations id: `prefix` and `min..=max` lowercase letters, digits (and `_`
/// for policies).
fn check_id(id: &str, prefix: &str, min: usize, max: usize) -> Result<(), String> {
    let rest = id.strip_prefix(prefix).unwrap_or("");
    let ok = (min..=max).contains(&rest.len())
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || (prefix == "p-" && b == b'_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not a valid id (`{prefix}` and {min} to {max} lowercase letters or digits)"
        ))
    }
}

fn invalid(context: &str, message: impl Into<String>) -> WorldError {
    WorldError::Invalid {
        context: context.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn memberships_of(yaml: &str) -> Result<HashMap<String, Arc<Membership>>, WorldError> {
        let world = World::from_yaml(yaml)?;
        memberships(&world.organizations, &world.accounts)
    }

    const ACCOUNTS: &str = "accounts:\n  - id: '111111111111'\n  - id: '222222222222'\n  - id: '333333333333'\n    partition: aws-us-gov\n";

    #[test]
    fn members_get_their_chain_and_paths_and_the_management_account_none() {
        let yaml = format!(
            "{ACCOUNTS}organizations:\n  - id: o-exampleorg1\n    management_account: '111111111111'\n    policies:\n      - {{name: Deny, document: {{Statement: [{{Effect: Deny, Action: 'iam:PassRole', Resource: '*'}}]}}}}\n    root:\n      id: r-ab12\n      units:\n        - name: Workloads\n          id: ou-ab12-workload1\n          policies: [FullAWSAccess, Deny]\n          accounts: [{{id: '222222222222'}}]\n"
        );
        let m = memberships_of(&yaml).unwrap_or_else(|e| panic!("{e}"));
        let member = &m["222222222222"];
        assert_eq!(member.org_id, "o-exampleorg1");
        assert_eq!(member.path, "o-exampleorg1/r-ab12/ou-ab12-workload1/");
        let scps = member.scps.as_ref().unwrap_or_else(|| panic!("no SCPs"));
        assert_eq!(scps.ends, vec![1, 3, 4]);
        let arn = scps.policies[2].arn.as_deref().unwrap_or_default();
        assert!(
            arn.starts_with(
                "arn:aws:organizations::111111111111:policy/o-exampleorg1/service_control_policy/p-"
            ),
            "{arn}"
        );
        assert_eq!(
            scps.policies[0].arn.as_deref(),
            Some("arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess")
        );
        let management = &m["111111111111"];
        assert!(management.scps.is_none());
        assert_eq!(management.path, "o-exampleorg1/r-ab12/");
    }

    #[test]
    fn inconsistent_organizations_are_refused() {
        let cases = [
            (
                "management_account: '999999999999'",
                "not an account of the world",
            ),
            (
                "management_account: '111111111111'\n    root: {accounts: [{id: '333333333333'}]}",
                "partition aws",
            ),
            (
                "management_account: '111111111111'\n    root: {policies: []}",
                "at least one service control policy",
            ),
            (
                "management_account: '111111111111'\n    root: {accounts: [{id: '222222222222', policies: [Nope]}]}",
                "`Nope` is not a service control policy",
            ),
            (
                "management_account: '111111111111'\n    id: o-x",
                "not a valid id",
            ),
        ];
        for (org, expected) in cases {
            let yaml = format!("{ACCOUNTS}organizations:\n  - {org}\n");
            let msg = memberships_of(&yaml)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(msg.contains(expected), "{org}: {msg}");
        }
    }
}
