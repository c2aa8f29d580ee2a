//! The IAM state of a server: the world as IAM reads it, and the indexed store that
//! authentication and authorization read.
//!
//! Both are immutable snapshots behind `ArcSwap`, so every request reads them without a lock.
//! A write (CreateUser, AttachUserPolicy, …) takes the writers' mutex (readers never take
//! it), applies a change to a copy of the world, updates and validates the store for it, and
//! publishes both; a write that fails leaves everything as it was. The world's entities and
//! the store's indexes are persistent collections: the copy shares everything the write
//! leaves alone, and the store indexes again (parses again) only the entities the write
//! touched and those that depend on them (`Store::updated`), so a write costs what it
//! changes whatever the size of the world. Pending changes (propagation) take effect the
//! same way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::{ArcSwap, Guard};
use http::StatusCode;

use crate::clock::Clock;
use crate::error::AwsError;
use crate::iam::change::Change;
use crate::iam::store::Store;
use crate::propagation::{ChangeKind, Propagation};
use crate::service::Service;
use crate::world::{Entities, UserSpec, World, WorldError};

/// One server's IAM: world and store snapshots, and the writers' lock.
///
/// Propagation (AWS: a change "might take up to 5 minutes to take effect"): a write is
/// visible to IAM reads at once, but takes effect for authentication, STS and authorization
/// only once the server clock reaches the write time plus its kind's delay (see
/// `propagation`). Until then the store in effect answers. Requests check one atomic (the
/// earliest instant a waiting change is due) and take the writers' lock only when a change
/// is due.
#[derive(Debug)]
pub(crate) struct Iam {
    /// The world `reset` returns to: the one the server started with or last loaded.
    loaded: ArcSwap<World>,
    /// The world IAM reads see: every write, at once.
    world: ArcSwap<World>,
    /// The store in effect.
    store: ArcSwap<Store>,
    /// When the earliest waiting change is due, in nanoseconds since the epoch (`u64::MAX`:
    /// none waits).
    next_due: AtomicU64,
    writers: Mutex<Writers>,
    clock: Clock,
}

/// What only writers touch.
#[derive(Debug)]
struct Writers {
    settings: Propagation,
    /// The world in effect (what `store` was built from).
    effective: Arc<World>,
    /// The store of the world IAM reads see, which validates each write; the store in
    /// effect itself once nothing is pending.
    latest: Arc<Store>,
    /// Changes waiting to take effect, in the order they were made.
    pending: Vec<Pending>,
    /// Changes made since the world was loaded (the index of the next jitter draw).
    made: u64,
}

/// A change waiting to take effect.
#[derive(Debug)]
struct Pending {
    due: SystemTime,
    kind: ChangeKind,
    change: Change,
}

/// Nanoseconds since the epoch (saturating; the clock cannot go before 1970).
fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Iam {
    /// Starts from a world, stamping entities without a creation date with the clock's now.
    ///
    /// Fails when the world is inconsistent.
    pub(crate) fn new(
        mut world: World,
        clock: Clock,
        settings: Propagation,
    ) -> Result<Self, WorldError> {
        stamp_creation_dates(&mut world, &creation_stamp(&clock));
        let store = Arc::new(Store::build(&world)?);
        let world = Arc::new(world);
        Ok(Self {
            loaded: ArcSwap::new(Arc::clone(&world)),
            world: ArcSwap::new(Arc::clone(&world)),
            store: ArcSwap::new(Arc::clone(&store)),
            next_due: AtomicU64::new(u64::MAX),
            writers: Mutex::new(Writers {
                settings,
                effective: world,
                latest: store,
                pending: Vec::new(),
                made: 0,
            }),
            clock,
        })
    }

    fn writers(&self) -> std::sync::MutexGuard<'_, Writers> {
        // A panic in another writer cannot leave a half-applied world (changes are made on
        // copies and published at the end), so a poisoned lock is safe to take over.
        self.writers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The propagation settings.
    pub(crate) fn propagation(&self) -> Propagation {
        self.writers().settings.clone()
    }

    /// Sets the propagation of later writes.
    pub(crate) fn set_propagation(&self, settings: Propagation) {
        self.writers().settings = settings;
    }

    /// The store in effect now (authentication, STS, authorization).
    pub(crate) fn store(&self) -> Guard<Arc<Store>> {
        if self.next_due.load(Ordering::Acquire) <= nanos(self.clock.now()) {
            self.promote(&mut self.writers());
        }
        self.store.load()
    }

    /// Makes the due changes take effect, in the order they were made. A due change waits
    /// (until the later of the two is due) behind an earlier waiting change of its kind, or
    /// one that creates or deletes an entity it edits; one that does not apply to the world
    /// in effect (it needs something still waiting) waits for every earlier change. Once
    /// nothing waits, the world in effect is the one IAM reads see.
    fn promote(&self, writers: &mut Writers) {
        let now = self.clock.now();
        let mut effective = Arc::clone(&writers.effective);
        let mut waiting: Vec<Pending> = Vec::with_capacity(writers.pending.len());
        let in_effect = self.store.load_full();
        let mut built: Option<Store> = None;
        for mut p in std::mem::take(&mut writers.pending) {
            let blocker = waiting
                .iter()
                .filter(|w| w.kind == p.kind || w.change.recreates_what(&p.change))
                .map(|w| w.due)
                .max();
            if let Some(blocked_until) = blocker {
                p.due = p.due.max(blocked_until);
            }
            if p.due > now {
                waiting.push(p);
                continue;
            }
            let store = built.as_ref().unwrap_or(&in_effect);
            match p
                .change
                .apply(&effective)
                .ok()
                .and_then(|w| store.updated(&effective, &w).ok().map(|s| (w, s)))
            {
                Some((world, store)) => {
                    effective = Arc::new(world);
                    built = Some(store);
                }
                None => match waiting.iter().map(|w| w.due).max() {
                    Some(later) => {
                        p.due = later;
                        waiting.push(p);
                    }
                    None => tracing::warn!(
                        kind = ?p.kind,
                        "an IAM change no longer applies to the world in effect; the world IAM reads see takes effect"
                    ),
                },
            }
        }
        if waiting.is_empty() {
            // Everything has taken effect: the world in effect is the one IAM reads see
            // (a safety net against any edit that did not replay exactly).
            let world = self.world.load_full();
            if !Arc::ptr_eq(&world, &effective) {
                let store = built.as_ref().unwrap_or(&in_effect);
                match store.updated(&effective, &world) {
                    Ok(store) => {
                        effective = world;
                        built = Some(store);
                    }
                    Err(e) => tracing::error!(error = %e, "the IAM world does not build"),
                }
            }
        }
        if let Some(store) = built {
            self.store.store(Arc::new(store));
            writers.effective = effective;
        }
        if waiting.is_empty() && Arc::ptr_eq(&writers.effective, &self.world.load()) {
            // Nothing pending: the store in effect is the store of the world IAM reads see.
            writers.latest = self.store.load_full();
        }
        let next = waiting.iter().map(|p| nanos(p.due)).min();
        writers.pending = waiting;
        self.next_due
            .store(next.unwrap_or(u64::MAX), Ordering::Release);
    }

    /// Replaces the whole world at once (no propagation delay: a control operation, not an
    /// IAM write) and makes it the one `reset` returns to. Nothing changes when it is
    /// inconsistent.
    pub(crate) fn load(&self, mut world: World) -> Result<(), WorldError> {
        stamp_creation_dates(&mut world, &creation_stamp(&self.clock));
        let store = Arc::new(Store::build(&world)?);
        let world = Arc::new(world);
        let mut writers = self.writers();
        self.loaded.store(Arc::clone(&world));
        self.replace(&mut writers, world, store);
        Ok(())
    }

    /// Returns to the loaded world: IAM writes, pending changes and access-key last use are
    /// forgotten.
    /// Returns the world it went back to.
    pub(crate) fn reset(&self) -> Result<Arc<World>, WorldError> {
        let mut writers = self.writers();
        let loaded = self.loaded.load_full();
        let store = Arc::new(Store::build(&loaded)?);
        self.replace(&mut writers, Arc::clone(&loaded), store);
        Ok(loaded)
    }

    /// Publishes a world and its store, dropping pending changes.
    fn replace(&self, writers: &mut Writers, world: Arc<World>, store: Arc<Store>) {
        writers.pending.clear();
        writers.made = 0;
        writers.effective = Arc::clone(&world);
        writers.latest = Arc::clone(&store);
        self.next_due.store(u64::MAX, Ordering::Release);
        self.store.store(store);
        self.world.store(world);
    }

    /// The world snapshot (IAM reads).
    pub(crate) fn world(&self) -> Guard<Arc<World>> {
        self.world.load()
    }

    /// Applies `change` (a change of kind `kind`) to a copy of the world and publishes it
    /// to IAM reads; it takes effect after the kind's delay. Nothing changes when `change`
    /// fails.
    pub(crate) fn write<T>(
        &self,
        kind: ChangeKind,
        change: impl FnOnce(&mut World) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        let mut writers = self.writers();
        let before = self.world.load_full();
        let mut next = World::clone(&before);
        let out = change(&mut next)?;
        let store = writers.latest.updated(&before, &next).map_err(|e| {
            tracing::error!(error = %e, "an IAM write produced an inconsistent world");
            AwsError::internal(Service::Iam)
        })?;
        let next = Arc::new(next);
        self.world.store(Arc::clone(&next));
        let store = Arc::new(store);
        writers.latest = Arc::clone(&store);
        let index = writers.made;
        writers.made += 1;
        if writers.settings.is_immediate() && writers.pending.is_empty() {
            self.store.store(store);
            writers.effective = next;
            return Ok(out);
        }
        let mut due = self.clock.now() + writers.settings.delay(kind, index);
        // Changes of one kind take effect in the order they were made.
        if let Some(last) = writers
            .pending
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.due)
            .max()
        {
            due = due.max(last);
        }
        writers.pending.push(Pending {
            due,
            kind,
            change: Change::between(&before, &next),
        });
        self.promote(&mut writers);
        Ok(out)
    }

    /// Applies `change` at once, for IAM reads and in effect alike: a control operation (a
    /// delegate a test declares), not an IAM write, so it does not propagate. IAM changes
    /// still waiting keep waiting; when `change` needs one of them (it names a role still
    /// propagating), it takes effect with it. Nothing changes when `change` fails.
    pub(crate) fn write_now(
        &self,
        change: impl FnOnce(&mut World) -> Result<(), AwsError>,
    ) -> Result<(), AwsError> {
        let mut writers = self.writers();
        let before = self.world.load_full();
        let mut next = World::clone(&before);
        change(&mut next)?;
        // What the change makes (a delegate's instance profile) is created now.
        stamp_creation_dates(&mut next, &creation_stamp(&self.clock));
        let store = (writers.latest.updated(&before, &next))
            .map_err(|e| AwsError::new(StatusCode::BAD_REQUEST, "InvalidWorld", e.to_string()))?;
        let next = Arc::new(next);
        self.world.store(Arc::clone(&next));
        let store = Arc::new(store);
        writers.latest = Arc::clone(&store);
        let in_effect = if writers.pending.is_empty() {
            Some((next, store))
        } else {
            let edits = Change::between(&before, &next);
            // An entity a waiting change also edits (a profile being deleted) must not be
            // overtaken by it: then this change waits behind those, in order.
            let behind = writers
                .pending
                .iter()
                .filter(|p| p.change.touches(&edits))
                .map(|p| p.due)
                .max();
            let applied = match behind {
                Some(_) => None,
                None => edits.apply(&writers.effective).ok().and_then(|w| {
                    let store = self.store.load().updated(&writers.effective, &w).ok()?;
                    Some((Arc::new(w), Arc::new(store)))
                }),
            };
            if applied.is_none() {
                // Behind the changes it touches; or, when it needs one still waiting (a
                // role still propagating) without naming which, behind the last of them.
                let due = behind.or_else(|| writers.pending.iter().map(|p| p.due).max());
                writers.pending.push(Pending {
                    due: due.unwrap_or_else(|| self.clock.now()),
                    kind: ChangeKind::Entities,
                    change: edits,
                });
            }
            applied
        };
        if let Some((world, store)) = in_effect {
            self.store.store(store);
            writers.effective = world;
        }
        Ok(())
    }
}

/// The clock's now to the second, RFC 3339: the creation date of entities a world leaves undated.
fn creation_stamp(clock: &Clock) -> String {
    crate::times::iso(clock.now())
}

/// Dates the entities a world leaves undated (what a world file or a control write adds).
/// Entities are edited only when undated, so a copied world keeps sharing the rest.
fn stamp_creation_dates(world: &mut World, created: &str) {
    let date = |d: &mut Option<String>| {
        d.get_or_insert_with(|| created.to_owned());
    };
    for account in &mut world.accounts {
        let undated =
            |u: &UserSpec| u.created.is_none() || u.access_keys.iter().any(|k| k.created.is_none());
        stamp(&mut account.users, undated, |user| {
            date(&mut user.created);
            user.access_keys
                .iter_mut()
                .for_each(|k| date(&mut k.created));
        });
        account
            .root_access_keys
            .iter_mut()
            .for_each(|k| date(&mut k.created));
        stamp(
            &mut account.policies,
            |p| p.created.is_none(),
            |p| date(&mut p.created),
        );
        stamp(
            &mut account.groups,
            |g| g.created.is_none(),
            |g| date(&mut g.created),
        );
        stamp(
            &mut account.roles,
            |r| r.created.is_none(),
            |r| date(&mut r.created),
        );
        let profiles = &mut account.instance_profiles;
        stamp(profiles, |p| p.created.is_none(), |p| date(&mut p.created));
        let providers = &mut account.open_id_connect_providers;
        stamp(providers, |p| p.created.is_none(), |p| date(&mut p.created));
        for region in account.ec2.values_mut() {
            region.images.iter_mut().for_each(|i| date(&mut i.created));
            region
                .instances
                .iter_mut()
                .for_each(|i| date(&mut i.launched));
        }
    }
}

/// Applies `fill` to the entities that are `undated`.
fn stamp<T: Clone>(items: &mut Entities<T>, undated: impl Fn(&T) -> bool, fill: impl Fn(&mut T)) {
    let at: Vec<usize> = (items.iter().enumerate())
        .filter(|(_, item)| undated(item))
        .map(|(at, _)| at)
        .collect();
    for i in at {
        if let Some(item) = items.get_mut(i) {
            fill(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::propagation::{ChangeKind, Propagation};

    const WORLD: &str = "accounts:\n  - id: '111111111111'\n    users: [{name: u}]\n    roles: [{name: r, trust_policy: {Version: '2012-10-17', Statement: []}}]\n";

    fn iam(kinds: &[(ChangeKind, f64)]) -> (Iam, Clock) {
        let clock = Clock::virtual_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000));
        let settings = Propagation {
            kinds: kinds.iter().copied().collect::<BTreeMap<_, _>>(),
            ..Propagation::default()
        };
        let world = World::from_yaml(WORLD).unwrap_or_else(|e| panic!("{e}"));
        let iam = Iam::new(world, clock.clone(), settings).unwrap_or_else(|e| panic!("{e}"));
        (iam, clock)
    }

    /// The world in effect, once everything due has been promoted.
    fn effective(iam: &Iam) -> Arc<World> {
        let _ = iam.store();
        Arc::clone(&iam.writers().effective)
    }

    fn write(iam: &Iam, kind: ChangeKind, change: impl FnOnce(&mut World)) {
        iam.write(kind, |w| {
            change(w);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
    }

    #[test]
    fn a_control_write_waits_behind_a_pending_change_to_the_same_entity() {
        let (iam, clock) = iam(&[(ChangeKind::Entities, 10.0), (ChangeKind::Policies, 60.0)]);
        let profile = crate::world::InstanceProfileSpec {
            name: "p".into(),
            path: "/".into(),
            roles: vec!["r".into()],
            created: None,
        };
        let again = profile.clone();
        write(&iam, ChangeKind::Entities, |w| {
            w.accounts[0].instance_profiles.push_back(profile)
        });
        clock.advance(Duration::from_secs(10));
        assert_eq!(effective(&iam).accounts[0].instance_profiles.len(), 1);
        // The profile is deleted (due in 10 s), something slow waits too (60 s), and a
        // delegate declared now re-creates the profile at once for IAM reads.
        write(&iam, ChangeKind::Entities, |w| {
            w.accounts[0].instance_profiles.clear()
        });
        write(&iam, ChangeKind::Policies, |w| {
            w.accounts[0].users[0]
                .managed_policies
                .push("AdministratorAccess".into())
        });
        iam.write_now(|w| {
            w.accounts[0].instance_profiles.push_back(again);
            Ok(())
        })
        .expect("a valid control write");
        // The deletion must not overtake it: once the deletion is due, the profile is back.
        clock.advance(Duration::from_secs(10));
        let profiles = &effective(&iam).accounts[0].instance_profiles;
        assert_eq!(profiles.len(), 1, "the deletion overtook the control write");
        assert!(
            profiles[0].created.is_some(),
            "the re-created profile has no date"
        );
    }

    #[test]
    fn a_deferred_change_is_not_overtaken_by_a_later_one_of_its_kind() {
        let (iam, clock) = iam(&[
            (ChangeKind::Policies, 100.0),
            (ChangeKind::Boundaries, 10.0),
        ]);
        write(&iam, ChangeKind::Policies, |w| {
            w.accounts[0].policies.push_back(crate::world::ManagedPolicySpec {
                name: "P".into(),
                path: "/".into(),
                document: serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
                created: None,
                default_version_id: "v1".into(),
                other_versions: Vec::new(),
            });
        });
        write(&iam, ChangeKind::Boundaries, |w| {
            w.accounts[0].users[0].permissions_boundary =
                Some("arn:aws:iam::111111111111:policy/P".into());
        });
        clock.advance(Duration::from_secs(5));
        write(&iam, ChangeKind::Boundaries, |w| {
            w.accounts[0].users[0].permissions_boundary =
                Some("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess".into());
        });
        clock.advance(Duration::from_secs(15));
        let _ = effective(&iam);
        clock.advance(Duration::from_secs(100));
        assert_eq!(
            effective(&iam).accounts[0].users[0]
                .permissions_boundary
                .as_deref(),
            Some("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
        );
        assert_eq!(*effective(&iam), **iam.world());
    }

    #[test]
    fn an_edit_of_a_recreated_entity_waits_for_the_recreation() {
        let (iam, clock) = iam(&[(ChangeKind::Entities, 300.0), (ChangeKind::Policies, 0.0)]);
        let role = World::from_yaml(WORLD)
            .map(|w| w.accounts[0].roles[0].clone())
            .unwrap_or_else(|e| panic!("{e}"));
        write(&iam, ChangeKind::Entities, |w| w.accounts[0].roles.clear());
        write(&iam, ChangeKind::Entities, move |w| {
            w.accounts[0].roles.push_back(role)
        });
        write(&iam, ChangeKind::Policies, |w| {
            w.accounts[0].roles[0]
                .managed_policies
                .push("AdministratorAccess".into());
        });
        assert!(
            effective(&iam).accounts[0].roles[0]
                .managed_policies
                .is_empty()
        );
        clock.advance(Duration::from_secs(300));
        assert_eq!(
            effective(&iam).accounts[0].roles[0].managed_policies,
            vec!["AdministratorAccess".to_owned()]
        );
        assert_eq!(*effective(&iam), **iam.world());
    }
}
