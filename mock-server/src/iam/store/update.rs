//! A store for a world an IAM write changed, from the store before: only the entities the
//! write touched, and those that depend on them (the users of a changed group, the holders
//! of a changed managed policy, the instance profiles of a changed role), are checked,
//! parsed and indexed again. Everything else is shared with the store before, so a write
//! costs what it changed, not the size of the world.
//!
//! What a write touched is found by comparing the two worlds' entities: a world copied for
//! a write shares every entity it leaves alone ([`Entities`] is persistent), so unchanged
//! entities are the same in memory and are skipped without being compared.

use std::collections::HashMap;
use std::sync::Arc;

use super::account::{
    Adding, add_customer_policy, add_group, customer_policy_arn, group_policies, profile_key,
    provider_arn,
};
use super::{AccessKey, Store};
use crate::world::{AccountSpec, Keyed, World, WorldError, changed, dedup, select};

impl Store {
    /// The store of `after`, from this one (the store of `before`). Fails, as
    /// [`Store::build`] does, when what changed is inconsistent.
    ///
    /// A change of accounts themselves (added, removed, their partition, regions or root
    /// keys) or of organizations builds the whole store again: those are control
    /// operations (loading a world), not IAM writes.
    pub(crate) fn updated(&self, before: &World, after: &World) -> Result<Store, WorldError> {
        let same_accounts = before.accounts.len() == after.accounts.len()
            && (before.accounts.iter().zip(&after.accounts)).all(|(a, b)| {
                a.id == b.id
                    && a.partition == b.partition
                    && a.opted_in_regions == b.opted_in_regions
                    && a.root_access_keys == b.root_access_keys
            });
        if !same_accounts || before.organizations != after.organizations {
            let store = Store::build(after)?;
            store.carry_last_use(self);
            return Ok(store);
        }
        let mut store = self.clone();
        for (old, new) in before.accounts.iter().zip(&after.accounts) {
            store.update_account(old, new)?;
        }
        Ok(store)
    }

    /// Indexes again what changed from `old` to `new` (one account, same id).
    fn update_account(&mut self, old: &AccountSpec, new: &AccountSpec) -> Result<(), WorldError> {
        let name = |e: &dyn Keyed| e.key().to_owned();
        let mut policies = changed(&old.policies, &new.policies);
        let mut groups = changed(&old.groups, &new.groups);
        let mut users = changed(&old.users, &new.users);
        let mut roles = changed(&old.roles, &new.roles);
        let mut profiles = changed(&old.instance_profiles, &new.instance_profiles);
        let providers = changed(
            &old.open_id_connect_providers,
            &new.open_id_connect_providers,
        );
        if [&policies, &groups, &users, &roles, &profiles, &providers]
            .iter()
            .all(|c| c.is_empty())
        {
            return Ok(());
        }
        let Some(account) = self.accounts.get(&new.id) else {
            return Err(WorldError::Invalid {
                context: format!("account {}", new.id),
                message: "the account is not indexed".into(),
            });
        };
        let mut account = super::Account::clone(account);
        let id = &new.id;

        // Customer managed policies, and every user, group and role that holds one of them.
        if !policies.is_empty() {
            let mut references = Vec::new();
            for name in &policies {
                if let Some(gone) = account.customer.remove(name) {
                    references.extend(gone.arn);
                }
            }
            for p in select(&new.policies, &policies) {
                add_customer_policy(&mut account, id, p)?;
                references.push(customer_policy_arn(account.partition, id, p));
            }
            references.append(&mut policies);
            let holds = |managed: &[String], boundary: Option<&String>| {
                (managed.iter().chain(boundary)).any(|r| references.contains(r))
            };
            let holders = |e: &dyn Holder| holds(e.managed(), e.boundary());
            groups.extend(new.groups.iter().filter(|g| holders(*g)).map(|g| name(g)));
            users.extend(new.users.iter().filter(|u| holders(*u)).map(|u| name(u)));
            roles.extend(new.roles.iter().filter(|r| holders(*r)).map(|r| name(r)));
        }

        // Groups, and their members.
        dedup(&mut groups);
        if !groups.is_empty() {
            for name in &groups {
                account.groups.remove(name);
            }
            let mut parsed = Vec::new();
            for group in select(&new.groups, &groups) {
                parsed.push(group_policies(&Adding::new(new, &account), group)?);
            }
            for group in parsed {
                add_group(&mut account, id, group)?;
            }
            let member = |u: &crate::world::UserSpec| u.groups.iter().any(|g| groups.contains(g));
            users.extend(new.users.iter().filter(|u| member(u)).map(|u| name(u)));
        }

        // Users and their keys: the old entries go first, so a key may move between users.
        dedup(&mut users);
        let mut replaced: HashMap<String, Arc<AccessKey>> = HashMap::new();
        let before = Adding::new(old, &account);
        for user in select(&old.users, &users) {
            for key in &user.access_keys {
                if let Some(gone) = self.keys.remove(&key.id) {
                    replaced.insert(key.id.clone(), gone);
                }
            }
            self.principals
                .remove(&before.arn(&format!("user{}{}", user.path, user.name)));
        }
        let adding = Adding::new(new, &account);
        for user in select(&new.users, &users) {
            let unique = |n: &str| {
                new.users
                    .iter()
                    .filter(|u| u.name.eq_ignore_ascii_case(n))
                    .count()
                    == 1
            };
            self.add_user(&adding, user, unique)?;
            for key in &user.access_keys {
                if let (Some(now), Some(was)) = (self.keys.get(&key.id), replaced.get(&key.id)) {
                    now.last_used.store(was.last_used.load_full());
                }
            }
        }

        // Roles, and the instance profiles that hold them.
        dedup(&mut roles);
        for role in select(&old.roles, &roles) {
            self.roles
                .remove(&before.arn(&format!("role{}{}", role.path, role.name)));
        }
        for role in select(&new.roles, &roles) {
            let unique = |n: &str| {
                new.roles
                    .iter()
                    .filter(|r| r.name.eq_ignore_ascii_case(n))
                    .count()
                    == 1
            };
            self.add_role(&adding, role, unique)?;
        }
        if !roles.is_empty() {
            let holds =
                |p: &crate::world::InstanceProfileSpec| p.roles.iter().any(|r| roles.contains(r));
            profiles.extend(
                new.instance_profiles
                    .iter()
                    .filter(|p| holds(p))
                    .map(|p| name(p)),
            );
        }

        dedup(&mut profiles);
        for profile in select(&old.instance_profiles, &profiles) {
            self.instance_profiles.remove(&profile_key(id, profile));
        }
        for profile in select(&new.instance_profiles, &profiles) {
            self.add_instance_profile(&adding, profile)?;
        }

        for provider in select(&old.open_id_connect_providers, &providers) {
            self.oidc_providers.remove(&provider_arn(&before, provider));
        }
        for provider in select(&new.open_id_connect_providers, &providers) {
            self.add_oidc_provider(&adding, provider)?;
        }

        self.accounts.insert(id.clone(), Arc::new(account));
        Ok(())
    }
}

/// An entity that holds managed policies (users, groups, roles).
trait Holder {
    fn managed(&self) -> &[String];
    fn boundary(&self) -> Option<&String>;
}

impl Holder for crate::world::UserSpec {
    fn managed(&self) -> &[String] {
        &self.managed_policies
    }
    fn boundary(&self) -> Option<&String> {
        self.permissions_boundary.as_ref()
    }
}

impl Holder for crate::world::RoleSpec {
    fn managed(&self) -> &[String] {
        &self.managed_policies
    }
    fn boundary(&self) -> Option<&String> {
        self.permissions_boundary.as_ref()
    }
}

impl Holder for crate::world::GroupSpec {
    fn managed(&self) -> &[String] {
        &self.managed_policies
    }
    fn boundary(&self) -> Option<&String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::store::{Identity, IdentityPolicy};

    const BASE: &str = "accounts:\n  - id: '111111111111'\n    policies:\n      - {name: P0, document: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: 's3:GetObject', Resource: '*'}]}}\n      - {name: P1, path: /team/, document: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: 'ec2:*', Resource: '*'}]}}\n    groups:\n      - {name: g0, managed_policies: [P0]}\n      - {name: g1}\n    users:\n      - {name: u0, groups: [g0], access_keys: [{id: AKIAUPDATETEST00000, secret: s}]}\n      - {name: u1, managed_policies: [P1]}\n    roles:\n      - {name: r0, managed_policies: [P0], trust_policy: {Version: '2012-10-17', Statement: []}}\n      - {name: r1, trust_policy: {Version: '2012-10-17', Statement: []}}\n    instance_profiles: [{name: ip0, roles: [r0]}]\n  - id: '222222222222'\n    users: [{name: u0, managed_policies: [AdministratorAccess]}]\n";

    fn labels(policies: &[IdentityPolicy]) -> String {
        let each = policies
            .iter()
            .map(|p| format!("{}={:?}", p.label, p.policy));
        each.collect::<Vec<_>>().join(", ")
    }

    fn identity(i: &Identity) -> String {
        let boundary = i.boundary.as_deref().map(labels);
        format!("{} [{}] {boundary:?}", i.arn, labels(&i.policies))
    }

    /// Everything the store indexes, as sorted lines.
    fn summary(store: &Store) -> Vec<String> {
        let mut out = Vec::new();
        for (id, key) in &store.keys {
            let owner = identity(&key.identity);
            out.push(format!("key {id} {} {owner}", key.active));
        }
        for (arn, p) in &store.principals {
            out.push(format!("principal {arn} {}", identity(p)));
        }
        for (arn, r) in &store.roles {
            let boundary = r.boundary.as_deref().map(labels);
            let trust = format!("{:?}", r.trust);
            let policies = labels(&r.policies);
            out.push(format!("role {arn} [{policies}] {boundary:?} {trust}"));
        }
        for (key, p) in &store.instance_profiles {
            out.push(format!("profile {key} {} {:?}", p.arn, p.role_arn));
        }
        for (arn, ids) in &store.oidc_providers {
            out.push(format!("provider {arn} {ids:?}"));
        }
        for (id, a) in &store.accounts {
            for (name, p) in &a.customer {
                out.push(format!(
                    "customer {id} {name} {}",
                    labels(std::slice::from_ref(p))
                ));
            }
            for (name, g) in &a.groups {
                out.push(format!("group {id} {name} [{}]", labels(g)));
            }
        }
        out.sort();
        out
    }

    /// One random IAM-like edit of account 0.
    fn mutate(world: &mut World, op: u8, n: u8) {
        let account = &mut world.accounts[0];
        let user = format!("u{}", n % 4);
        let policy = format!("P{}", n % 3);
        let at = account.users.iter().position(|u| u.name == user);
        let doc = |action: &str| serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]});
        match (op % 10, at) {
            (0, None) => {
                let spec = serde_json::json!({"name": user, "groups": ["g0"], "access_keys": [{"id": format!("AKIAUPDATETEST{n:05}"), "secret": "s"}]});
                account
                    .users
                    .push_back(serde_json::from_value(spec).unwrap_or_else(|e| panic!("{e}")));
            }
            (1, Some(i)) => {
                account.users.remove(i);
            }
            (2, Some(i)) => account.users[i].managed_policies.push(policy),
            (3, _) => {
                if let Some(p) = crate::world::find_mut(&mut account.policies, |p| p.name == policy)
                {
                    p.document = doc(&format!("s3:Put{n}"));
                }
            }
            (4, _) => account.groups[usize::from(n % 2)].managed_policies = vec![policy],
            (5, Some(i)) => account.users[i].groups = vec![format!("g{}", n % 2)],
            (6, Some(i)) => account.users[i].permissions_boundary = Some(policy),
            (7, _) => {
                let role = &mut account.roles[usize::from(n % 2)];
                role.inline_policies
                    .insert(format!("i{n}"), doc("iam:GetRole"));
            }
            (8, _) if !account.policies.iter().any(|p| p.name == policy) => {
                let spec =
                    serde_json::json!({"name": policy, "document": doc("sts:GetCallerIdentity")});
                account
                    .policies
                    .push_back(serde_json::from_value(spec).unwrap_or_else(|e| panic!("{e}")));
            }
            (8, _) => crate::world::remove_where(&mut account.policies, |p| p.name == policy),
            (9, Some(i)) => account.users[i]
                .tags
                .insert("team".into(), format!("t{n}"))
                .map_or((), drop),
            _ => account.instance_profiles[0].roles = vec![format!("r{}", n % 2)],
        }
    }

    proptest::proptest! {
        #[test]
        fn an_updated_store_is_the_store_built_from_scratch(
            ops in proptest::collection::vec((0u8..11, 0u8..8), 1..24),
        ) {
            let mut world = World::from_yaml(BASE).unwrap_or_else(|e| panic!("{e}"));
            let mut store = Store::build(&world).unwrap_or_else(|e| panic!("{e}"));
            for (op, n) in ops {
                let mut next = world.clone();
                mutate(&mut next, op, n);
                let built = Store::build(&next);
                let updated = store.updated(&world, &next);
                proptest::prop_assert_eq!(built.is_ok(), updated.is_ok(), "op {} {}: {:?}", op, n, built.as_ref().err());
                if let (Ok(built), Ok(updated)) = (built, updated) {
                    proptest::prop_assert_eq!(summary(&built), summary(&updated), "op {} {}", op, n);
                    let contexts = |s: &Store| -> std::collections::BTreeMap<String, crate::policy::context::Context> {
                        s.principals.iter().map(|(arn, p)| (arn.clone(), p.context.clone())).collect()
                    };
                    proptest::prop_assert_eq!(contexts(&built), contexts(&updated));
                    store = updated;
                    world = next;
                }
            }
        }
    }

    #[test]
    fn a_key_keeps_its_last_use_when_its_user_changes() {
        let world = World::from_yaml(BASE).unwrap_or_else(|e| panic!("{e}"));
        let store = Store::build(&world).unwrap_or_else(|e| panic!("{e}"));
        let key = "AKIAUPDATETEST00000";
        let used = |s: &Store| s.keys.get(key).and_then(|k| k.last_used.load_full());
        if let Some(k) = store.keys.get(key) {
            k.record_use(1, "us-east-1", "sts");
        }
        let mut next = world.clone();
        next.accounts[0].users[0]
            .tags
            .insert("k".into(), "v".into());
        let updated = store
            .updated(&world, &next)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !Arc::ptr_eq(&store.keys[key], &updated.keys[key]),
            "the user was indexed again"
        );
        assert_eq!(used(&updated), used(&store));
        assert!(used(&updated).is_some());
        // Untouched entries are shared, not rebuilt.
        let role = "arn:aws:iam::111111111111:role/r0";
        assert!(Arc::ptr_eq(&store.roles[role], &updated.roles[role]));
    }
}
