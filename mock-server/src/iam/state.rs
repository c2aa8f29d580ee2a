//! The IAM state of a server: the world as IAM reads it, and the indexed store that
//! authentication and authorization read.
//!
//! Both are immutable snapshots behind `ArcSwap`, so every request reads them without a lock.
//! A write (CreateUser, AttachUserPolicy, …) takes the writers' mutex, applies a change to a
//! copy of the world, rebuilds and validates the store from it, and publishes both; a write
//! that fails leaves everything as it was. Worlds are small and writes rare (tests set up
//! their identities), so rebuilding keeps one source of truth and no incremental indexes.

use std::sync::{Arc, Mutex};

use arc_swap::{ArcSwap, Guard};

use crate::error::AwsError;
use crate::iam::store::Store;
use crate::world::{World, WorldError};

/// One server's IAM: world and store snapshots, and the writers' lock.
#[derive(Debug)]
pub(crate) struct Iam {
    world: ArcSwap<World>,
    store: ArcSwap<Store>,
    writers: Mutex<()>,
}

impl Iam {
    /// Starts from a world, stamping entities without a creation date with `created`.
    ///
    /// Fails when the world is inconsistent.
    pub(crate) fn new(mut world: World, created: &str) -> Result<Self, WorldError> {
        stamp_creation_dates(&mut world, created);
        let store = Store::build(&world)?;
        Ok(Self {
            world: ArcSwap::from_pointee(world),
            store: ArcSwap::from_pointee(store),
            writers: Mutex::new(()),
        })
    }

    /// The store snapshot (authentication, authorization).
    pub(crate) fn store(&self) -> Guard<Arc<Store>> {
        self.store.load()
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
            AwsError::new(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceFailure",
                "The request processing has failed because of an unknown error, exception or failure.",
            )
        })?;
        store.carry_last_use(&self.store.load());
        self.world.store(Arc::new(next));
        self.store.store(Arc::new(store));
        Ok(out)
    }
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
