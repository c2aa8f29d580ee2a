//! The field-level edits an IAM write is made of, so changes of different kinds take effect
//! independently (see `iam::state`).
//!
//! A write is split into edits of the world: an entity created or deleted, a field of an
//! entity set, a field of an account set. When a change is due, its edits are applied to the
//! world in effect. Kinds own disjoint fields (access keys, trust policies, policies,
//! boundaries, group membership, the entities themselves), so a fast change never drags a
//! slow one along, and a later change of one kind never undoes an earlier one of another.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::world::World;

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
    pub(crate) fn between(before: &World, after: &World) -> Self {
        let mut edits = Vec::new();
        let (Ok(before), Ok(after)) = (serde_json::to_value(before), serde_json::to_value(after))
        else {
            return Self(edits);
        };
        let accounts = |w: &Value| -> HashMap<String, Map<String, Value>> {
            w.get("accounts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| {
                    let a = a.as_object()?;
                    Some((a.get("id")?.as_str()?.to_owned(), a.clone()))
                })
                .collect()
        };
        let organizations = |w: &Value| w.get("organizations").cloned();
        if organizations(&before) != organizations(&after) {
            let value = organizations(&after).unwrap_or_else(|| Value::Array(Vec::new()));
            edits.push(Edit::Organizations(value));
        }
        let old = accounts(&before);
        for (id, new) in accounts(&after) {
            let Some(old) = old.get(&id) else { continue };
            for (field, value) in &new {
                let collection = COLLECTIONS.iter().find(|(c, _)| c == field);
                match collection {
                    Some((collection, key)) => {
                        diff_collection(&mut edits, &id, collection, key, old.get(field), value);
                    }
                    None if old.get(field) != Some(value) => edits.push(Edit::Account {
                        account: id.clone(),
                        field: field.clone(),
                        value: value.clone(),
                    }),
                    None => {}
                }
            }
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
    /// the world does not have.
    pub(crate) fn apply(&self, world: &World) -> Result<World, NotYet> {
        let mut value = serde_json::to_value(world).map_err(|_| NotYet)?;
        for edit in &self.0 {
            apply_edit(&mut value, edit).ok_or(NotYet)?;
        }
        serde_json::from_value(value).map_err(|_| NotYet)
    }
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

/// The account object with this id.
fn account_mut<'a>(world: &'a mut Value, id: &str) -> Option<&'a mut Map<String, Value>> {
    world
        .get_mut("accounts")?
        .as_array_mut()?
        .iter_mut()
        .filter_map(Value::as_object_mut)
        .find(|a| a.get("id").and_then(Value::as_str) == Some(id))
}

fn collection_mut<'a>(
    world: &'a mut Value,
    account: &str,
    collection: &str,
) -> Option<(&'a mut Vec<Value>, &'static str)> {
    let (_, key) = COLLECTIONS.iter().find(|(c, _)| *c == collection)?;
    let items = account_mut(world, account)?
        .entry(collection)
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()?;
    Some((items, key))
}

fn position(items: &[Value], key: &str, name: &str) -> Option<usize> {
    items
        .iter()
        .position(|i| i.get(key).and_then(Value::as_str) == Some(name))
}

/// Applies one edit; `None` when what it edits is missing.
fn apply_edit(world: &mut Value, edit: &Edit) -> Option<()> {
    match edit {
        Edit::Organizations(value) => {
            world
                .as_object_mut()?
                .insert("organizations".to_owned(), value.clone());
        }
        Edit::Account {
            account,
            field,
            value,
        } => {
            account_mut(world, account)?.insert(field.clone(), value.clone());
        }
        Edit::Entity {
            account,
            collection,
            key: name,
            value,
        } => {
            let (items, key) = collection_mut(world, account, collection)?;
            let at = position(items, key, name);
            match (at, value) {
                (Some(i), Some(v)) => items[i] = v.clone(),
                (None, Some(v)) => items.push(v.clone()),
                (Some(i), None) => {
                    items.remove(i);
                }
                (None, None) => return None,
            }
        }
        Edit::Field {
            account,
            collection,
            key: name,
            field,
            value,
        } => {
            let (items, key) = collection_mut(world, account, collection)?;
            let at = position(items, key, name)?;
            let item = items.get_mut(at)?.as_object_mut()?;
            match value {
                Some(v) => item.insert(field.clone(), v.clone()),
                None => item.remove(field),
            };
        }
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
