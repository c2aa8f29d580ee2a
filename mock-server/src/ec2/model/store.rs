//! The regional stores: each (account, region) has its own [`Resources`] behind its own
//! lock, seeded on first use; calls in one region never wait for another's. Loading or
//! resetting the world starts EC2 over.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use crate::partition::Region;
use crate::world::{DelegateSpec, World};

use super::region::Resources;
use super::seed::{add_delegate_instance, seed};

/// Each account's regions in use, by region code.
type Regions = HashMap<String, HashMap<&'static str, Arc<RwLock<Resources>>>>;

/// EC2 across accounts and regions.
#[derive(Debug, Default)]
pub(crate) struct Ec2 {
    regions: RwLock<Regions>,
    /// Counts world loads and resets: a region seeded from a world read before one is not
    /// kept.
    generation: AtomicU64,
}

impl Ec2 {
    /// The current generation, to read before the world a region is seeded from.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The resources of `account` in `region`, built from `world` (read at `generation`)
    /// on first use.
    pub(crate) fn region(
        &self,
        world: &World,
        generation: u64,
        account: &str,
        region: &'static Region,
        now: SystemTime,
    ) -> Arc<RwLock<Resources>> {
        if let Some(r) = self.existing(account, region.name) {
            return r;
        }
        let seeded = Arc::new(RwLock::new(seed(world, account, region, now)));
        let mut regions = self.regions.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation() != generation {
            // The world changed meanwhile: answer from this one, keep nothing of it.
            return seeded;
        }
        Arc::clone(
            regions
                .entry(account.to_owned())
                .or_default()
                .entry(region.name)
                .or_insert(seeded),
        )
    }

    /// The resources of `account` in `region`, if they are in use.
    fn existing(&self, account: &str, region: &str) -> Option<Arc<RwLock<Resources>>> {
        self.regions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(account)?
            .get(region)
            .cloned()
    }

    /// Starts over (a world was loaded or reset).
    pub(crate) fn clear(&self) {
        let mut regions = self.regions.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        regions.clear();
    }

    /// Makes an `ec2` delegate added at run time an instance of its region, if that region
    /// is already in use (otherwise it is found when the region is first used).
    pub(crate) fn add_delegate(&self, delegate: &DelegateSpec, now: SystemTime) {
        if let Some(resources) = self.existing(&delegate.account, &delegate.region) {
            let mut r = resources.write().unwrap_or_else(PoisonError::into_inner);
            add_delegate_instance(&mut r, delegate, now);
        }
    }
}
