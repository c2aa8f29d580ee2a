//! The field-level edits an IAM write is made of, so changes of different kinds take effect
//! independently (see `iam::state`).
//!
//! A write is split into edits of the world: an entity created or deleted, a field of an
//! entity set, a field of an account set. When a change is due, its edits are applied to the
//! world in effect. Kinds own disjoint fields (access keys, trust policies, policies,
//! boundaries, group membership, the entities themselves), so a fast change never drags a
//! slow one along, and a later change of one kind never undoes an earlier one of another.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::world::{AccountSpec, Entities, Keyed, World, changed, select};

/// The keyed collections of an account, with the field that names their items.
const COLLECTIONS: [(&str, &str); 6] = [
    ("users", "name"),
    ("groups", "name"),
    ("roles", "name"),
    ("policies", "name"),
    ("instance_profiles", "name"),
    ("open_id_connect_providers", "url"),
];

/// One field-level edit of a world. Its values can hold secrets (access keys), so its
/// `Debug` shows only where it applies.
#[derive(Clone, PartialEq)]
enum Edit {
    /// A field of the account itself (root access keys, opted-in regions) set.
    Account {
        account: String,
        field: String,
        value: Value,
    },
    /// The organizations replaced (service control policies, trees).
    Organizations(Value),
    /// An entity created (with all its fields) or deleted (`None`).
    Entity {
        account: String,
        collection: &'static str,
        key: String,
        value: Option<Value>,
    },
    /// One field of an existing entity set (`None`: removed).
    Field {
        account: String,
        collection: &'static str,
        key: String,
        field: String,
        value: Option<Value>,
    },
}

impl std::fmt::Debug for Edit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Edit::Account { account, field, .. } => write!(f, "account {account}.{field}"),
            Edit::Organizations(_) => f.write_str("organizations"),
            Edit::Entity {
                account,
                collection,
                key,
                value,
            } => write!(
                f,
                "{} {account}/{collection}/{key}",
                if value.is_some() { "create" } else { "delete" }
            ),
            Edit::Field {
                account,
                collection,
                key,
                field,
                ..
            } => write!(f, "set {account}/{collection}/{key}.{field}"),
        }
    }
}

impl Edit {
    /// The entity it applies to (`None`: the account itself).
    fn entity(&self) -> Option<(&str, &str, &str)> {
        match self {
            Edit::Account { .. } | Edit::Organizations(_) => None,
            Edit::Entity {
                account,
                collection,
                key,
                ..
            }
            | Edit::Field {
                account,
                collection,
                key,
                ..
            } => Some((account, collection, key)),
        }
    }
}

/// The edits that turn one world into another: what an IAM write changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Change(Vec<Edit>);

/// An edit that needs something the world in effect does not have yet (an entity created by
/// a change still waiting, or a policy it names).
#[derive(Debug, PartialEq)]
pub(crate) struct NotYet;

impl Change {
    /// The edits from `before` to `after`. Accounts are compared by id; accounts added or
    /// removed are not IAM writes and are ignored. Organizations are replaced as a whole.
    /// Only the entities that changed are looked at (see [`changed`]).
    pub(crate) fn between(before: &World, after: &World) -> Self {
        let mut edits = Vec::new();
        if before.organizations != after.organizations {
            let value = serde_json::to_value(&after.organizations)
                .unwrap_or_else(|_| Value::Array(Vec::new()));
            edits.push(Edit::Organizations(value));
        }
        let old: HashMap<&str, &AccountSpec> =
            before.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
        for new in &after.accounts {
            let Some(old) = old.get(new.id.as_str()) else {
                continue;
            };
            let (shell_old, shell_new) = (shell(old), shell(new));
            for (field, value) in &shell_new {
                if shell_old.get(field) != Some(value) {
                    edits.push(Edit::Account {
                        account: new.id.clone(),
                        field: field.clone(),
                        value: value.clone(),
                    });
                }
            }
            let id = &new.id;
            diff(&mut edits, id, "users", &old.users, &new.users);
            diff(&mut edits, id, "groups", &old.groups, &new.groups);
            diff(&mut edits, id, "roles", &old.roles, &new.roles);
            diff(&mut edits, id, "policies", &old.policies, &new.policies);
            let (was, is) = (&old.instance_profiles, &new.instance_profiles);
            diff(&mut edits, id, "instance_profiles", was, is);
            let (was, is) = (
                &old.open_id_connect_providers,
                &new.open_id_connect_providers,
            );
            diff(&mut edits, id, "open_id_connect_providers", was, is);
        }
        Self(edits)
    }

    /// Whether the two changes edit any entity in common.
    pub(crate) fn touches(&self, other: &Change) -> bool {
        self.0.iter().filter_map(Edit::entity).any(|ours| {
            other
                .0
                .iter()
                .filter_map(Edit::entity)
                .any(|theirs| theirs == ours)
        })
    }

    /// Whether this change creates or deletes an entity `later` edits: then `later` must not
    /// take effect before it (it would edit the entity this change then replaces).
    pub(crate) fn recreates_what(&self, later: &Change) -> bool {
        self.0
            .iter()
            .filter(|e| matches!(e, Edit::Entity { .. }))
            .filter_map(Edit::entity)
            .any(|ours| {
                later
                    .0
                    .iter()
                    .filter_map(Edit::entity)
                    .any(|theirs| theirs == ours)
            })
    }

    /// Applies the edits to `world`, or fails (changing nothing) when one needs an entity
    /// the world does not have. The result shares every entity the edits leave alone.
    pub(crate) fn apply(&self, world: &World) -> Result<World, NotYet> {
        let mut world = world.clone();
        for edit in &self.0 {
            apply_edit(&mut world, edit).ok_or(NotYet)?;
        }
        Ok(world)
    }
}

/// An account's own fields (not its entities), as JSON.
fn shell(account: &AccountSpec) -> Map<String, Value> {
    let mut shell = account.clone();
    clear_entities(&mut shell);
    let mut fields = match serde_json::to_value(shell) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    for (collection, _) in COLLECTIONS {
        fields.remove(collection);
    }
    fields
}

fn clear_entities(account: &mut AccountSpec) {
    account.users.clear();
    account.groups.clear();
    account.roles.clear();
    account.policies.clear();
    account.instance_profiles.clear();
    account.open_id_connect_providers.clear();
}

/// The edits of one collection: those of the entities that changed, as JSON.
fn diff<T: Keyed + PartialEq + Serialize>(
    edits: &mut Vec<Edit>,
    account: &str,
    collection: &'static str,
    old: &Entities<T>,
    new: &Entities<T>,
) {
    let keys = changed(old, new);
    if keys.is_empty() {
        return;
    }
    let json = |items: &Entities<T>| {
        let items = select(items, &keys).into_iter();
        Value::Array(items.filter_map(|i| serde_json::to_value(i).ok()).collect())
    };
    let key = COLLECTIONS
        .iter()
        .find(|(c, _)| *c == collection)
        .map_or("name", |(_, k)| k);
    diff_collection(
        edits,
        account,
        collection,
        key,
        Some(&json(old)),
        &json(new),
    );
}

/// Items of a keyed collection by their key.
fn keyed<'a>(items: Option<&'a Value>, key: &str) -> BTreeMap<&'a str, &'a Map<String, Value>> {
    items
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let item = item.as_object()?;
            Some((item.get(key)?.as_str()?, item))
        })
        .collect()
}

fn diff_collection(
    edits: &mut Vec<Edit>,
    account: &str,
    collection: &'static str,
    key: &str,
    old: Option<&Value>,
    new: &Value,
) {
    let old = keyed(old, key);
    let new = keyed(Some(new), key);
    let entity = |name: &str, value: Option<Value>| Edit::Entity {
        account: account.to_owned(),
        collection,
        key: name.to_owned(),
        value,
    };
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        edits.push(entity(name, None));
    }
    for (name, item) in &new {
        let Some(before) = old.get(name) else {
            edits.push(entity(name, Some(Value::Object((*item).clone()))));
            continue;
        };
        let fields = item
            .keys()
            .chain(before.keys().filter(|f| !item.contains_key(*f)));
        for field in fields {
            let value = item.get(field);
            if before.get(field) != value {
                edits.push(Edit::Field {
                    account: account.to_owned(),
                    collection,
                    key: (*name).to_owned(),
                    field: field.clone(),
                    value: value.cloned(),
                });
            }
        }
    }
}

/// Applies one edit; `None` when what it edits is missing.
fn apply_edit(world: &mut World, edit: &Edit) -> Option<()> {
    let account_of = |world: &World, id: &str| world.accounts.iter().position(|a| a.id == id);
    match edit {
        Edit::Organizations(value) => {
            world.organizations = serde_json::from_value(value.clone()).ok()?;
        }
        Edit::Account {
            account,
            field,
            value,
        } => {
            let at = account_of(world, account)?;
            let target = world.accounts.get_mut(at)?;
            let mut fields = shell(target);
            fields.insert(field.clone(), value.clone());
            let mut edited: AccountSpec = serde_json::from_value(Value::Object(fields)).ok()?;
            std::mem::swap(&mut edited, target);
            // `edited` now holds the entities, which the edit leaves alone.
            target.users = edited.users;
            target.groups = edited.groups;
            target.roles = edited.roles;
            target.policies = edited.policies;
            target.instance_profiles = edited.instance_profiles;
            target.open_id_connect_providers = edited.open_id_connect_providers;
        }
        Edit::Entity {
            account,
            collection,
            ..
        }
        | Edit::Field {
            account,
            collection,
            ..
        } => {
            let at = account_of(world, account)?;
            let a = world.accounts.get_mut(at)?;
            match *collection {
                "users" => edit_entity(&mut a.users, edit)?,
                "groups" => edit_entity(&mut a.groups, edit)?,
                "roles" => edit_entity(&mut a.roles, edit)?,
                "policies" => edit_entity(&mut a.policies, edit)?,
                "instance_profiles" => edit_entity(&mut a.instance_profiles, edit)?,
                "open_id_connect_providers" => {
                    edit_entity(&mut a.open_id_connect_providers, edit)?;
                }
                _ => return None,
            }
        }
    }
    Some(())
}

/// Applies an entity edit to its collection: the entity edited goes through JSON.
fn edit_entity<T>(items: &mut Entities<T>, edit: &Edit) -> Option<()>
where
    T: Keyed + Clone + Serialize + DeserializeOwned,
{
    let (_, _, name) = edit.entity()?;
    let at = items.iter().position(|e| e.key() == name);
    match (edit, at) {
        (Edit::Entity { value: Some(v), .. }, Some(i)) => {
            items.set(i, serde_json::from_value(v.clone()).ok()?);
        }
        (Edit::Entity { value: Some(v), .. }, None) => {
            items.push_back(serde_json::from_value(v.clone()).ok()?);
        }
        (Edit::Entity { value: None, .. }, Some(i)) => {
            items.remove(i);
        }
        (Edit::Field { field, value, .. }, Some(i)) => {
            let mut item = serde_json::to_value(items.get(i)?).ok()?;
            let fields = item.as_object_mut()?;
            match value {
                Some(v) => fields.insert(field.clone(), v.clone()),
                None => fields.remove(field),
            };
            items.set(i, serde_json::from_value(item).ok()?);
        }
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn world(yaml: &str) -> World {
        World::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}"))
    }

    const BASE: &str = "accounts:\n  - id: '111111111111'\n    users:\n      - name: a\n      - name: b\n        tags: {team: x}\n    roles:\n      - name: r\n        trust_policy: {Version: '2012-10-17', Statement: []}\n";

    #[test]
    fn a_change_is_the_fields_it_touched() {
        let before = world(BASE);
        let mut after = before.clone();
        after.accounts[0].users[0].groups.push("g".into());
        after.accounts[0].users.remove(1);
        after.accounts[0].opted_in_regions.push("af-south-1".into());
        let change = Change::between(&before, &after);
        assert_eq!(change.0.len(), 3, "{change:?}");
        assert_eq!(change.apply(&before), Ok(after));
    }

    #[test]
    fn changes_to_different_fields_commute() {
        let base = world(BASE);
        let mut keys = base.clone();
        keys.accounts[0].users[0]
            .tags
            .insert("k".into(), "v".into());
        let mut boundary = keys.clone();
        boundary.accounts[0].users[0].permissions_boundary =
            Some("arn:aws:iam::aws:policy/X".into());
        let first = Change::between(&base, &keys);
        let second = Change::between(&keys, &boundary);
        // The second change, made later, takes effect first.
        let early = second.apply(&base).unwrap_or_else(|_| panic!("applies"));
        assert!(early.accounts[0].users[0].tags.is_empty());
        assert!(early.accounts[0].users[0].permissions_boundary.is_some());
        assert_eq!(first.apply(&early), Ok(boundary));
    }

    #[test]
    fn an_edit_of_an_entity_not_yet_created_waits() {
        let base = world(BASE);
        let mut created = base.clone();
        let mut user = created.accounts[0].users[0].clone();
        user.name = "c".into();
        created.accounts[0].users.push_back(user);
        let mut tagged = created.clone();
        tagged.accounts[0].users[2]
            .tags
            .insert("k".into(), "v".into());
        assert_eq!(Change::between(&created, &tagged).apply(&base), Err(NotYet));
    }

    /// One random IAM-like edit of account 0: create, delete, tag, key or bound user `n`.
    fn mutate(world: &mut World, op: u8, n: u8) {
        let users = &mut world.accounts[0].users;
        let name = format!("u{}", n % 4);
        let at = users.iter().position(|u| u.name == name);
        match (op % 5, at) {
            (0, None) => {
                let mut user = users[0].clone();
                user.name = name;
                user.tags.clear();
                users.push_back(user);
            }
            (1, Some(i)) if users.len() > 1 => {
                users.remove(i);
            }
            (2, Some(i)) => {
                users[i].tags.insert(format!("t{n}"), "v".into());
            }
            (3, Some(i)) => users[i].access_keys.push(crate::world::AccessKeySpec {
                id: format!("AKIAPROPTEST{n:08}"),
                secret: "s".into(),
                status: crate::world::KeyStatus::Active,
                created: None,
            }),
            (4, Some(i)) => {
                users[i].permissions_boundary = Some(format!("arn:aws:iam::aws:policy/P{n}"))
            }
            _ => {}
        }
    }

    proptest::proptest! {
        #[test]
        fn replaying_every_change_in_order_rebuilds_the_final_world(
            ops in proptest::collection::vec((0u8..5, 0u8..8), 0..24),
        ) {
            let base = world(BASE);
            let mut worlds = vec![base.clone()];
            for (op, n) in ops {
                let mut next = worlds[worlds.len() - 1].clone();
                mutate(&mut next, op, n);
                worlds.push(next);
            }
            let mut replayed = base;
            for pair in worlds.windows(2) {
                replayed = Change::between(&pair[0], &pair[1])
                    .apply(&replayed)
                    .unwrap_or_else(|_| panic!("a change did not apply in order"));
            }
            proptest::prop_assert_eq!(&replayed, &worlds[worlds.len() - 1]);
        }
    }
}
