//! The assembled state of one server: IAM, EC2, STS session keys and issuers, the request
//! log, the clock and fault rules, and what changes them all at once (loading a world,
//! resetting). Every connection and every port of a server shares one `State`; the
//! services read it, the server, the pipeline, the control API and the delegates hold it.
//!
//! Whoever keeps something derived from the world (the delegates' token files and instance
//! metadata ports) registers with [`State::on_world_change`] and is told after every load,
//! reset or declared delegate, so the state needs to know nothing of them.

use std::sync::{Arc, OnceLock};

use crate::clock::Clock;
use crate::ec2::{self, model::Ec2};
use crate::error::AwsError;
use crate::faults::{Faults, RuleSet};
use crate::iam::state::Iam;
use crate::iam::store::{Identity, Store};
use crate::log::RequestLog;
use crate::propagation::{ChangeKind, Propagation};
use crate::sts::oidc::{Issuers, OidcError, OidcToken};
use crate::sts::session::SessionKeys;
use crate::wire::RequestIds;
use crate::world::{OrganizationSpec, World, WorldError};

/// Told after the world changed as a whole (loaded, reset) or gained a delegate.
pub(crate) type WorldListener = Box<dyn Fn(&State) + Send + Sync>;

/// Shared by every connection of one server.
pub(crate) struct State {
    pub(crate) iam: Iam,
    pub(crate) ec2: Ec2,
    pub(crate) sessions: SessionKeys,
    pub(crate) issuers: Issuers,
    pub(crate) requests: RequestLog,
    /// Who unsigned calls run as.
    pub(crate) anonymous: Arc<Identity>,
    pub(crate) clock: Clock,
    pub(crate) request_ids: RequestIds,
    pub(crate) faults: Faults,
    on_world_change: OnceLock<WorldListener>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("iam", &self.iam)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl State {
    /// A server's state for `world`, before anything listens: every check of the world
    /// (fault rules, propagation, delegates, EC2 resources, IAM consistency) happens here.
    pub(crate) fn new(
        world: World,
        clock: Clock,
        propagation: Propagation,
    ) -> Result<Self, WorldError> {
        let rules = RuleSet::new(&world.faults)?;
        propagation.validate()?;
        let world = crate::world::delegates::prepared(world)?;
        ec2::model::validate(&world)?;
        let iam = Iam::new(world, clock.clone(), propagation)?;
        let faults = Faults::default();
        faults.replace(rules);
        Ok(State {
            iam,
            ec2: Ec2::default(),
            sessions: SessionKeys::new(),
            issuers: Issuers::new(),
            requests: RequestLog::new(),
            anonymous: Arc::new(Identity::anonymous()),
            clock,
            request_ids: RequestIds::new(),
            faults,
            on_world_change: OnceLock::new(),
        })
    }

    /// Runs `listener` after every later world change (load, reset, declared delegate).
    /// One listener per state: the server's.
    pub(crate) fn on_world_change(&self, listener: WorldListener) {
        if self.on_world_change.set(listener).is_err() {
            tracing::error!("a second world-change listener was refused");
        }
    }

    /// Tells the listener the world changed.
    pub(crate) fn world_changed(&self) {
        if let Some(listener) = self.on_world_change.get() {
            listener(self);
        }
    }

    /// Replaces the world and its settings (propagation delay, fault rules) at once, or
    /// changes nothing when it is invalid. It becomes what `reset` returns to.
    pub(crate) fn load_world(&self, world: World) -> Result<(), WorldError> {
        let rules = RuleSet::new(&world.faults)?;
        let propagation = world.propagation.clone();
        if let Some(p) = &propagation {
            p.validate()?;
        }
        let world = crate::world::delegates::prepared(world)?;
        ec2::model::validate(&world)?;
        self.iam.load(world)?;
        self.ec2.clear();
        self.apply(rules, propagation);
        self.world_changed();
        Ok(())
    }

    /// Replaces the organizations (their trees and service control policies). Like an IAM
    /// write, IAM reads see it at once and it takes effect after the `organizations`
    /// propagation delay. Nothing changes when they do not fit the world.
    pub(crate) fn set_organizations(
        &self,
        organizations: Vec<OrganizationSpec>,
    ) -> Result<(), WorldError> {
        let mut refused = None;
        let written = self.iam.write(ChangeKind::Organizations, |world| {
            world.organizations = organizations;
            Store::build(world).map(drop).map_err(|e| {
                let error =
                    AwsError::new(http::StatusCode::BAD_REQUEST, "InvalidWorld", e.to_string());
                refused = Some(e);
                error
            })
        });
        match (written, refused) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(WorldError::Invalid {
                context: "organizations".into(),
                message: e.message.to_string(),
            }),
        }
    }

    /// Back to a fresh server: the loaded world and its settings, an empty request log,
    /// and (unless `keep_clock`) the clock as it started (see [`Clock::reset`]).
    pub(crate) fn reset(&self, keep_clock: bool) -> Result<(), WorldError> {
        let loaded = self.iam.reset()?;
        self.ec2.clear();
        self.apply(RuleSet::new(&loaded.faults)?, loaded.propagation.clone());
        self.requests.clear();
        if !keep_clock {
            self.clock.reset();
        }
        self.world_changed();
        Ok(())
    }

    /// Mints an ID token of a built-in OIDC issuer, dated by the server clock.
    pub(crate) fn mint_token(&self, request: &OidcToken) -> Result<String, OidcError> {
        let now = time::OffsetDateTime::from(self.clock.now()).unix_timestamp();
        self.issuers.mint_token(request, now)
    }

    fn apply(&self, rules: RuleSet, propagation: Option<Propagation>) {
        self.faults.replace(rules);
        if let Some(p) = propagation {
            self.iam.set_propagation(p);
        }
    }
}
