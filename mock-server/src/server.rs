//! `MockServer`: an isolated fake AWS on a loopback port, started in-process, stopped when
//! dropped (the wiremock model).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::{Clock, Listener};
use crate::control::ControlToken;
use crate::delegates::{self, Delegate, Delegates, eks};
use crate::faults::{FaultError, FaultRule};
use crate::log::LoggedRequest;
use crate::pipeline::{self, Site};
use crate::propagation::{Propagation, PropagationError};
use crate::report::Report;
use crate::state::State;
use crate::sts::oidc::{OidcError, OidcToken};
use crate::transport;
use crate::world::{DelegateSpec, OrganizationSpec, World, WorldError};

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The world is inconsistent.
    #[error("invalid world")]
    World(#[from] WorldError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The directory for delegate token files could not be made.
    #[error("cannot create the delegate files directory")]
    Files(#[source] std::io::Error),
    /// A non-loopback address was asked for without allowing it.
    #[error(
        "refusing to listen on non-loopback address {0}: allow it explicitly (`allow_non_loopback`, `--allow-non-loopback`)"
    )]
    NotLoopback(SocketAddr),
}

/// Configures a [`MockServer`] before it starts.
#[derive(Debug)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct MockServerBuilder {
    world: World,
    clock: Clock,
    listen: SocketAddr,
    allow_non_loopback: bool,
    idle_timeout: Duration,
    propagation: Option<Propagation>,
    propagation_delay: Option<Duration>,
    control_token: Option<ControlToken>,
}

impl MockServerBuilder {
    /// Serves this world instead of the default one.
    pub fn world(mut self, world: World) -> Self {
        self.world = world;
        self
    }

    /// Uses this clock (for example [`Clock::virtual_at`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Listens on this address (default `127.0.0.1:0`, a random free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Allows a non-loopback listen address. Off by default: the server accepts any
    /// request signed with the world's well-known keys.
    pub fn allow_non_loopback(mut self, allow: bool) -> Self {
        self.allow_non_loopback = allow;
        self
    }

    /// Protects the control API: every `/_mock/` call but `GET /_mock/health` must send
    /// `Authorization: Bearer TOKEN` or gets a 401. For a server others can reach (a
    /// container, a shared server); the AWS APIs and delegate endpoints are unaffected.
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        self.control_token = Some(ControlToken::new(token.into()));
        self
    }

    /// Closes connections that send nothing (no request head, or a stalled body) for this
    /// long (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Delays IAM changes before they take effect for authentication, STS and
    /// authorization, as AWS does ("up to 5 minutes"); IAM reads see them at once. Default
    /// none. Measured on the server clock, so a virtual clock can skip the wait.
    ///
    /// Sets the delay of every kind of change without its own; the world's (or
    /// [`propagation`](Self::propagation)'s) per-kind delays and jitter stay.
    pub fn propagation_delay(mut self, delay: Duration) -> Self {
        self.propagation_delay = Some(delay);
        self
    }

    /// Sets how IAM changes propagate (a delay per kind of change, seeded jitter) in place of
    /// the world's settings.
    pub fn propagation(mut self, propagation: Propagation) -> Self {
        self.propagation = Some(propagation);
        self
    }

    /// Binds the listener and starts serving on the current Tokio runtime.
    ///
    /// Fails when the world is inconsistent, the address cannot be bound, or it is not a
    /// loopback address and that was not allowed.
    pub async fn start(self) -> Result<MockServer, StartError> {
        if !self.listen.ip().is_loopback() && !self.allow_non_loopback {
            return Err(StartError::NotLoopback(self.listen));
        }
        // The builder's settings win over the world's.
        let mut propagation = self
            .propagation
            .or_else(|| self.world.propagation.clone())
            .unwrap_or_default();
        if let Some(delay) = self.propagation_delay {
            propagation.delay_seconds = delay.as_secs_f64();
        }
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: self.listen,
            source,
        })?;
        let state = Arc::new(State::new(self.world, self.clock, propagation)?);
        let delegates =
            Arc::new(Delegates::new(format!("http://{addr}")).map_err(StartError::Files)?);
        delegates
            .ports
            .start(&state, self.idle_timeout)
            .map_err(|source| StartError::Bind {
                addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                source,
            })?;
        delegates.world_changed(&state);
        let told = Arc::clone(&delegates);
        state.on_world_change(Box::new(move |state| told.world_changed(state)));
        // Delegate token files follow the clock: when a test moves it, and every few
        // seconds of real time.
        let (weak, files) = (Arc::downgrade(&state), Arc::downgrade(&delegates));
        let on_move: Arc<Listener> = Arc::new(move |_| {
            if let (Some(state), Some(delegates)) = (weak.upgrade(), files.upgrade()) {
                eks::refresh(&state, &delegates.files);
            }
        });
        state.clock.on_move(&on_move);
        tokio::spawn(refresh_files(
            Arc::downgrade(&state),
            Arc::downgrade(&delegates),
        ));
        let site = Arc::new(Site {
            state,
            delegates,
            control_token: self.control_token,
        });
        let (shutdown, stop) = watch::channel(false);
        let idle = self.idle_timeout;
        let serving = Arc::clone(&site);
        tokio::spawn(transport::accept_loop(
            listener,
            stop,
            idle,
            move |req, peer| pipeline::handle(Arc::clone(&serving), req, idle, peer),
        ));
        tracing::info!(%addr, "trustbench mock server listening");
        Ok(MockServer {
            addr,
            site,
            shutdown,
            _on_move: on_move,
        })
    }
}

/// A running fake of AWS STS, IAM and EC2 on a loopback port. Each server has its own
/// world, clock and port, so tests using separate servers run in parallel. Dropping it stops
/// the listener and closes its connections.
pub struct MockServer {
    addr: SocketAddr,
    site: Arc<Site>,
    shutdown: watch::Sender<bool>,
    /// Refreshes delegate files when the clock moves (the clock holds it weakly).
    _on_move: Arc<Listener>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Starts a server with the default world on a random loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound (the machine is out of ports), as wiremock does.
    pub async fn start() -> MockServer {
        match Self::builder().start().await {
            Ok(server) => server,
            Err(e) => panic!("trustbench: cannot start the mock server: {e}"),
        }
    }

    /// A builder for a server with a non-default world, clock or address.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder {
            world: World::default_world(),
            clock: Clock::real(),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            allow_non_loopback: false,
            idle_timeout: Duration::from_secs(60),
            propagation: None,
            propagation_delay: None,
            control_token: None,
        }
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL to give SDK clients, e.g. `http://127.0.0.1:49152`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's clock.
    pub fn clock(&self) -> &Clock {
        &self.site.state.clock
    }

    /// The request log, oldest first (at most the last 10,000 AWS requests). Entries hold
    /// no secrets.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.site.state.requests.snapshot()
    }

    /// The least-privilege report over the request log: per principal, the policy that
    /// would have allowed what it did, and what it was denied.
    pub fn least_privilege_report(&self) -> Report {
        crate::report::least_privilege(&self.site.state.requests.snapshot())
    }

    /// Adds a fault rule: matching AWS calls fail as it says (see [`FaultRule`]).
    pub fn add_fault(&self, rule: FaultRule) -> Result<(), FaultError> {
        self.site.state.faults.add(rule)
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.site.state.faults.clear();
    }

    /// Adds a delegate (an EC2 instance, ECS task or EKS pod; see [`DelegateSpec`]),
    /// replacing one of the same name. Fails, changing nothing, when it is invalid.
    pub fn add_delegate(&self, spec: DelegateSpec) -> Result<(), WorldError> {
        delegates::add(&self.site.state, spec)
    }

    /// Every delegate with the environment a process on it sees (its credential source
    /// pointing at this server).
    pub fn delegates(&self) -> Vec<Delegate> {
        delegates::list(&self.site.state, &self.site.delegates)
    }

    /// The environment of the delegate `name`, if it exists.
    pub fn delegate_env(&self, name: &str) -> Option<std::collections::BTreeMap<String, String>> {
        self.delegates()
            .into_iter()
            .find(|d| d.name == name)
            .map(|d| d.env)
    }

    /// Back to a fresh server, as `POST /_mock/reset` does: the world it started with (or
    /// last loaded) with its propagation and fault settings, EC2 started over, an empty
    /// request log, and the clock as it started (a virtual clock at its start time, a
    /// real-time one without offset). Fails only if the loaded world no longer builds.
    pub fn reset(&self) -> Result<(), WorldError> {
        self.site.state.reset(false)
    }

    /// [`reset`](Self::reset), but the clock stays where it is (`{"keep_clock": true}`).
    pub fn reset_keeping_clock(&self) -> Result<(), WorldError> {
        self.site.state.reset(true)
    }

    /// Replaces the world (with its propagation and fault settings) at once, as `POST
    /// /_mock/world` does; it becomes what [`reset`](Self::reset) returns to. Fails,
    /// changing nothing, when the world is inconsistent.
    pub fn load_world(&self, world: World) -> Result<(), WorldError> {
        self.site.state.load_world(world)
    }

    /// Replaces the organizations (their trees and service control policies), as `POST
    /// /_mock/organizations` does: IAM reads see them at once ([`world`](Self::world)), calls
    /// after the `organizations` propagation delay. Fails, changing nothing, when they do not
    /// fit the world.
    pub fn set_organizations(
        &self,
        organizations: Vec<OrganizationSpec>,
    ) -> Result<(), WorldError> {
        self.site.state.set_organizations(organizations)
    }

    /// The world as IAM reads see it now (every IAM write included, propagated or not).
    pub fn world(&self) -> World {
        World::clone(&self.site.state.iam.world())
    }

    /// Mints an ID token of a built-in OIDC issuer (an EKS cluster's, say), signed with the
    /// issuer's key and dated by the server clock, as `POST /_mock/oidc/token` does. Fails
    /// when the issuer is not an https URL or the lifetime is out of range.
    pub fn mint_oidc_token(&self, token: &OidcToken) -> Result<String, OidcError> {
        self.site.state.mint_token(token)
    }

    /// The `seq` the next logged request gets (how many were ever logged, cleared ones
    /// included): requests logged from now on have a `seq` at least this.
    pub fn next_request_seq(&self) -> u64 {
        self.site.state.requests.next_seq()
    }

    /// Empties the request log (`DELETE /_mock/requests`).
    pub fn clear_requests(&self) {
        self.site.state.requests.clear();
    }

    /// The fault rules in force (`GET /_mock/faults`).
    pub fn faults(&self) -> Vec<FaultRule> {
        self.site.state.faults.list()
    }

    /// How IAM changes propagate now (`GET /_mock/propagation`).
    pub fn propagation(&self) -> Propagation {
        self.site.state.iam.propagation()
    }

    /// Changes how later IAM changes propagate.
    pub fn set_propagation(&self, propagation: Propagation) -> Result<(), PropagationError> {
        propagation.validate()?;
        self.site.state.iam.set_propagation(propagation);
        Ok(())
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.site.delegates.ports.close_all();
    }
}

/// Refreshes delegate files every few seconds while the server lives (real-time clocks
/// move without being told).
async fn refresh_files(state: Weak<State>, delegates: Weak<Delegates>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        match (state.upgrade(), delegates.upgrade()) {
            (Some(state), Some(delegates)) => eks::refresh(&state, &delegates.files),
            _ => return,
        }
    }
}
