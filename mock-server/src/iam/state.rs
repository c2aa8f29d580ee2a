//! The IAM state of a server: the world as IAM reads it, and the indexed store that
//! authentication and authorization read.
//!
//! Both are immutable snapshots behind `ArcSwap`, so every request reads them without a lock.
//! A write (CreateUser, AttachUserPolicy, …) takes the writers' mutex, applies a change to a
//! copy of the world, rebuilds and validates the store from it, and publishes both; a write
//! that fails leaves everything as it was. Worlds are small and writes rare (tests set up
//! their identities), so rebuilding keeps one source of truth and no incremental indexes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, Guard};

use crate::clock::Clock;
use crate::error::AwsError;
use crate::iam::store::Store;
use crate::service::Service;
use crate::world::{World, WorldError};

/// One server's IAM: world and store snapshots, and the writers' lock.
///
/// Propagation (AWS: a change "might take up to 5 minutes to take effect"): a write is
/// visible to IAM reads at once, but its store only takes effect for authentication, STS
/// and authorization once the server clock reaches the write time plus the delay. Until
/// then the previous store answers. Stores waiting to take effect queue in time order;
/// requests promote the ones that are due, without a lock when none is waiting.
#[derive(Debug)]
pub(crate) struct Iam {
    /// The world `reset` returns to: the one the server started with or last loaded.
    loaded: ArcSwap<World>,
    world: ArcSwap<World>,
    store: ArcSwap<Store>,
    /// Stores built by writes, each with the instant it takes effect.
    pending: ArcSwap<Vec<(SystemTime, Arc<Store>)>>,
    writers: Mutex<()>,
    clock: Clock,
    /// The propagation delay in milliseconds.
    delay_ms: AtomicU64,
}

impl Iam {
    /// Starts from a world, stamping entities without a creation date with the clock's now.
    ///
    /// Fails when the world is inconsistent.
    pub(crate) fn new(mut world: World, clock: Clock, delay: Duration) -> Result<Self, WorldError> {
        stamp_creation_dates(&mut world, &creation_stamp(&clock));
        let store = Store::build(&world)?;
        Ok(Self {
            loaded: ArcSwap::from_pointee(world.clone()),
            world: ArcSwap::from_pointee(world),
            store: ArcSwap::from_pointee(store),
            pending: ArcSwap::from_pointee(Vec::new()),
            writers: Mutex::new(()),
            clock,
            delay_ms: AtomicU64::new(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
        })
    }

    /// The propagation delay.
    pub(crate) fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.load(Ordering::Relaxed))
    }

    /// Sets the propagation delay for later writes.
    pub(crate) fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The store in effect now (authentication, STS, authorization).
    pub(crate) fn store(&self) -> Guard<Arc<Store>> {
        let pending = self.pending.load();
        if pending
            .first()
            .is_some_and(|(at, _)| *at <= self.clock.now())
        {
            self.promote();
        }
        self.store.load()
    }

    /// Makes the due stores take effect (the latest due one wins).
    fn promote(&self) {
        let _writer = self
            .writers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = self.clock.now();
        let pending = self.pending.load_full();
        let due = pending.iter().take_while(|(at, _)| *at <= now).count();
        if due == 0 {
            return;
        }
        if let Some((_, store)) = pending.get(due - 1) {
            store.carry_last_use(&self.store.load());
            self.store.store(Arc::clone(store));
        }
        self.pending.store(Arc::new(pending[due..].to_vec()));
    }

    /// Replaces the whole world at once (no propagation delay: a control operation, not an
    /// IAM write) and makes it the one `reset` returns to. Nothing changes when it is
    /// inconsistent.
    pub(crate) fn load(&self, mut world: World) -> Result<(), WorldError> {
        stamp_creation_dates(&mut world, &creation_stamp(&self.clock));
        let store = Store::build(&world)?;
        let _writer = self
            .writers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.loaded.store(Arc::new(world.clone()));
        self.replace(world, store);
        Ok(())
    }

    /// Returns to the loaded world: IAM writes, pending changes and access-key last use are
    /// forgotten.
    /// Returns the world it went back to.
    pub(crate) fn reset(&self) -> Result<Arc<World>, WorldError> {
        let _writer = self
            .writers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let loaded = self.loaded.load_full();
        let store = Store::build(&loaded)?;
        self.replace(World::clone(&loaded), store);
        Ok(loaded)
    }

    /// Publishes a world and its store, dropping pending changes. Holds the writer lock.
    fn replace(&self, world: World, store: Store) {
        self.pending.store(Arc::new(Vec::new()));
        self.store.store(Arc::new(store));
        self.world.store(Arc::new(world));
    }

    /// The world snapshot (IAM reads).
    pub(crate) fn world(&self) -> Guard<Arc<World>> {
        self.world.load()
    }

    /// Applies `change` to a copy of the world and publishes it with its rebuilt store.
    /// Nothing changes when `change` fails.
    pub(crate) fn write<T>(
        &self,
        change: impl FnOnce(&mut World) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        // A panic in another writer cannot leave a half-applied world (changes are made on a
        // copy), so a poisoned lock is safe to take over.
        let _writer = self
            .writers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = World::clone(&self.world.load());
        let out = change(&mut next)?;
        let store = Store::build(&next).map_err(|e| {
            tracing::error!(error = %e, "an IAM write produced an inconsistent world");
            AwsError::internal(Service::Iam)
        })?;
        self.world.store(Arc::new(next));
        let delay = self.delay();
        if delay.is_zero() && self.pending.load().is_empty() {
            store.carry_last_use(&self.store.load());
            self.store.store(Arc::new(store));
        } else {
            let mut pending = Vec::clone(&self.pending.load());
            // Changes take effect in the order they were made: a later write never
            // overtakes an earlier one still waiting (its world includes that one's change).
            let at = pending
                .last()
                .map_or(self.clock.now() + delay, |(last, _)| {
                    (*last).max(self.clock.now() + delay)
                });
            pending.push((at, Arc::new(store)));
            self.pending.store(Arc::new(pending));
        }
        Ok(out)
    }
}

/// The clock's now to the second, RFC 3339: the creation date of entities a world leaves undated.
fn creation_stamp(clock: &Clock) -> String {
    let now = time::OffsetDateTime::from(clock.now());
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn stamp_creation_dates(world: &mut World, created: &str) {
    for account in &mut world.accounts {
        for user in &mut account.users {
            user.created.get_or_insert_with(|| created.to_owned());
            for key in &mut user.access_keys {
                key.created.get_or_insert_with(|| created.to_owned());
            }
        }
        for key in &mut account.root_access_keys {
            key.created.get_or_insert_with(|| created.to_owned());
        }
        for policy in &mut account.policies {
            policy.created.get_or_insert_with(|| created.to_owned());
        }
        for group in &mut account.groups {
            group.created.get_or_insert_with(|| created.to_owned());
        }
        for role in &mut account.roles {
            role.created.get_or_insert_with(|| created.to_owned());
        }
        for profile in &mut account.instance_profiles {
            profile.created.get_or_insert_with(|| created.to_owned());
        }
        for provider in &mut account.open_id_connect_providers {
            provider.created.get_or_insert_with(|| created.to_owned());
        }
    }
}
