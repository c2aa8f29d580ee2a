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
use crate::world::{AccountSpec, Entities, World, WorldError};

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
        let name = |e: &dyn Named| e.key().to_owned();
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
                    references.extend(gone.arn.clone());
                    gone.arn.iter().for_each(|arn| {
                        account.customer.remove(arn);
                    });
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

/// An entity with a key unique in its collection (a name; a URL for OIDC providers).
trait Named {
    fn key(&self) -> &str;
}

/// An entity that holds managed policies (users, groups, roles).
trait Holder {
    fn managed(&self) -> &[String];
    fn boundary(&self) -> Option<&String>;
}

macro_rules! named {
    ($($spec:ident . $field:ident),*) => {$(
        impl Named for crate::world::$spec {
            fn key(&self) -> &str {
                &self.$field
            }
        }
    )*};
}
named!(
    UserSpec.name,
    GroupSpec.name,
    RoleSpec.name,
    ManagedPolicySpec.name,
    InstanceProfileSpec.name,
    OidcProviderSpec.url
);

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

/// The keys of the entities created, changed or deleted from `old` to `new`: at least those
/// (a key may be named that did not change, never one missed).
///
/// Writes change entities in place, append or remove them; the two sequences are walked
/// side by side. An entity shared in memory is unchanged without a look; one with the same
/// key is compared; otherwise the old one is taken as removed.
fn changed<T: Named + PartialEq>(old: &Entities<T>, new: &Entities<T>) -> Vec<String> {
    let mut keys = Vec::new();
    if old.ptr_eq(new) {
        return keys;
    }
    let (mut old, mut new) = (old.iter().peekable(), new.iter().peekable());
    while let (Some(a), Some(b)) = (old.peek(), new.peek()) {
        if std::ptr::eq(*a, *b) || a == b {
            new.next();
        } else if a.key() == b.key() {
            keys.push(b.key().to_owned());
            new.next();
        } else {
            keys.push(a.key().to_owned());
        }
        old.next();
    }
    keys.extend(old.chain(new).map(|e| e.key().to_owned()));
    dedup(&mut keys);
    keys
}

fn dedup(keys: &mut Vec<String>) {
    keys.sort_unstable();
    keys.dedup();
}

/// The entities with these keys.
fn select<'a, T: Named>(items: &'a Entities<T>, keys: &[String]) -> Vec<&'a T> {
    if keys.is_empty() {
        return Vec::new();
    }
    items
        .iter()
        .filter(|e| keys.iter().any(|k| k == e.key()))
        .collect()
}
