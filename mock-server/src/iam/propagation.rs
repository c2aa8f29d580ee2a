//! IAM propagation: how long each kind of IAM change takes to reach authentication, STS and
//! authorization ("might take up to 5 minutes to take effect"), and the field-level edits a
//! change is made of, so changes of different kinds take effect independently.
//!
//! A write is split into edits of the world: an entity created or deleted, a field of an
//! entity set, a field of an account set. When a change is due, its edits are applied to the
//! world in effect. Kinds own disjoint fields (access keys, trust policies, policies,
//! boundaries, group membership, the entities themselves), so a fast change never drags a
//! slow one along, and a later change of one kind never undoes an earlier one of another.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::world::World;

/// The kinds of IAM change, each of which may have its own propagation delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Users, groups, roles, instance profiles and OIDC providers created, changed (tags,
    /// description, session duration, profile roles, client ids) or deleted: a created role
    /// becoming assumable.
    Entities,
    /// Access keys created, deactivated, activated or deleted.
    AccessKeys,
    /// Trust policy updates (`UpdateAssumeRolePolicy`).
    TrustPolicies,
    /// Managed policies attached or detached, inline policies put or deleted, managed policies
    /// created, deleted or given a new default version.
    Policies,
    /// Permissions boundaries put or deleted.
    Boundaries,
    /// Users added to or removed from groups.
    GroupMembership,
}

/// How IAM changes propagate: a delay per kind of change, plus a seeded jitter.
///
/// A change takes effect after its kind's delay (or `delay_seconds` when its kind has none)
/// plus a jitter drawn uniformly from `[0, jitter_seconds)` with `seed`, so a run with the
/// same seed and the same writes is the same. Changes of one kind take effect in the order
/// they were made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Propagation {
    /// The delay of every kind without its own, in seconds.
    #[serde(default)]
    pub delay_seconds: f64,
    /// Delays of particular kinds, in seconds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kinds: BTreeMap<ChangeKind, f64>,
    /// The most jitter added to each change's delay, in seconds.
    #[serde(default)]
    pub jitter_seconds: f64,
    /// The seed of the jitter draws.
    #[serde(default)]
    pub seed: u64,
}

/// The longest delay or jitter accepted: one day.
const MAX_SECONDS: f64 = 86_400.0;

/// A propagation setting out of range.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("propagation: `{field}` must be a number of seconds from 0 to 86400, got {value}")]
pub struct PropagationError {
    field: String,
    value: f64,
}

impl Propagation {
    /// The same delay for every kind, no jitter.
    pub fn uniform(delay: Duration) -> Self {
        Self {
            delay_seconds: delay.as_secs_f64(),
            ..Self::default()
        }
    }

    /// Checks every delay and the jitter are within 0 to 86400 seconds.
    pub fn validate(&self) -> Result<(), PropagationError> {
        let fields = [
            ("delay_seconds".to_owned(), self.delay_seconds),
            ("jitter_seconds".to_owned(), self.jitter_seconds),
        ];
        let kinds = self.kinds.iter().map(|(kind, s)| {
            let name = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            (format!("kinds.{name}"), *s)
        });
        match fields
            .into_iter()
            .chain(kinds)
            .find(|(_, s)| !(s.is_finite() && (0.0..=MAX_SECONDS).contains(s)))
        {
            Some((field, value)) => Err(PropagationError { field, value }),
            None => Ok(()),
        }
    }

    /// Whether every change takes effect at once.
    pub(crate) fn is_immediate(&self) -> bool {
        self.delay_seconds == 0.0
            && self.jitter_seconds == 0.0
            && self.kinds.values().all(|s| *s == 0.0)
    }

    /// The delay of the `index`-th change since the world was loaded, of kind `kind`.
    pub(crate) fn delay(&self, kind: ChangeKind, index: u64) -> Duration {
        let base = self.kinds.get(&kind).copied().unwrap_or(self.delay_seconds);
        let jitter = self.jitter_seconds * crate::seeded::draw(self.seed, index);
        Duration::try_from_secs_f64(base + jitter).unwrap_or(Duration::ZERO)
    }
}

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
            Edit::Account { .. } => None,
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
    /// removed are not IAM writes and are ignored.
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
        created.accounts[0].users.push(user);
        let mut tagged = created.clone();
        tagged.accounts[0].users[2]
            .tags
            .insert("k".into(), "v".into());
        assert_eq!(Change::between(&created, &tagged).apply(&base), Err(NotYet));
    }

    #[test]
    fn jitter_is_seeded_and_bounded_and_kinds_have_their_own_delay() {
        let p = Propagation {
            delay_seconds: 10.0,
            kinds: BTreeMap::from([(ChangeKind::AccessKeys, 2.0)]),
            jitter_seconds: 5.0,
            seed: 42,
        };
        let delays: Vec<Duration> = (0..50).map(|i| p.delay(ChangeKind::Policies, i)).collect();
        assert!(
            delays
                .iter()
                .all(|d| (10.0..15.0).contains(&d.as_secs_f64()))
        );
        assert!(delays.windows(2).any(|w| w[0] != w[1]), "the jitter varies");
        assert_eq!(
            delays,
            (0..50)
                .map(|i| p.delay(ChangeKind::Policies, i))
                .collect::<Vec<_>>()
        );
        assert!((2.0..7.0).contains(&p.delay(ChangeKind::AccessKeys, 0).as_secs_f64()));
        let other = Propagation {
            seed: 43,
            ..p.clone()
        };
        assert_ne!(
            delays,
            (0..50)
                .map(|i| other.delay(ChangeKind::Policies, i))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        let mut p = Propagation::uniform(Duration::from_secs(300));
        assert_eq!(p.validate(), Ok(()));
        p.kinds.insert(ChangeKind::TrustPolicies, -1.0);
        let e = p
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("kinds.trust_policies"), "{e}");
        p.kinds.clear();
        p.jitter_seconds = f64::NAN;
        assert!(p.validate().is_err());
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
                users.push(user);
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
